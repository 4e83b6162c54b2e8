// large: objects over 32 KiB held by globals: three 1 MiB buffers in a cache
// slice and an 80000 B table.
// Oracle: Buffers, BufSize, Table, TableSize, BufHolder, TableHolder.
package main

import (
	"runtime"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type BigTable struct{ v [10000]int64 }

var (
	cache    [][]byte
	bigTable *BigTable
	bufAddrs [3]uint64
)

//go:noinline
func build() {
	cache = make([][]byte, 3)
	for i := range cache {
		cache[i] = make([]byte, 1<<20)
		bufAddrs[i] = uint64(uintptr(unsafe.Pointer(&cache[i][0])))
	}
	bigTable = &BigTable{}
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	build()
	oracle.Scrub()
	harness.Settle()
	oracle.U64s("Buffers", bufAddrs[:])
	oracle.U64("BufSize", 1<<20)
	oracle.U64("Table", uint64(uintptr(unsafe.Pointer(bigTable))))
	oracle.U64("TableSize", uint64(unsafe.Sizeof(BigTable{})))
	harness.Global("BufHolder", "main.cache", unsafe.Pointer(&cache), unsafe.Sizeof(cache))
	harness.Global("TableHolder", "main.bigTable", unsafe.Pointer(&bigTable), unsafe.Sizeof(bigTable))
	harness.Finish()
}
