// large: objects over 32 KiB held by globals: three 1 MiB buffers in a cache
// slice and an 80000 B table.
// Oracle: Buffers, BufSize, Table, TableSize, BufHolder, TableHolder.
package main

import (
	"runtime"
	"unsafe"

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
	harness.Scrub()
	harness.Settle()
	harness.List("Buffers", bufAddrs[:])
	harness.U64("BufSize", 1<<20)
	harness.U64("Table", uint64(uintptr(unsafe.Pointer(bigTable))))
	harness.U64("TableSize", uint64(unsafe.Sizeof(BigTable{})))
	harness.Str("BufHolder", "main.cache")
	harness.Str("TableHolder", "main.bigTable")
	harness.Finish()
}
