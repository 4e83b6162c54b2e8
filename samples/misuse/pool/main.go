// pool: a sync.Pool left holding 32 KiB buffers after a burst (residue), put
// after the last GC; one of them is still used after its Put (main.afterPut).
// Oracle: Items (addresses put), ItemSize, AfterPut, Holder.
package main

import (
	"runtime"
	"sync"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

const (
	nItems   = 8
	itemSize = 32768
)

type Buf [itemSize]byte

var (
	thePool  sync.Pool
	items    [nItems]uint64
	afterPut *Buf
)

//go:noinline
func burst() {
	var held [nItems]*Buf
	for i := range held {
		held[i] = new(Buf)
		items[i] = uint64(uintptr(unsafe.Pointer(held[i])))
	}
	afterPut = held[0]
	for i := range held {
		thePool.Put(held[i])
		held[i] = nil
	}
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	harness.Settle()
	burst()
	oracle.Scrub()
	harness.Mark()
	oracle.U64("ItemSize", itemSize)
	oracle.U64s("Items", items[:])
	oracle.U64("AfterPut", uint64(uintptr(unsafe.Pointer(afterPut))))
	harness.Global("Holder", "main.thePool", unsafe.Pointer(&thePool), unsafe.Sizeof(thePool))
	harness.Global("AfterPutHolder", "main.afterPut", unsafe.Pointer(&afterPut), unsafe.Sizeof(afterPut))
	harness.Finish()
}
