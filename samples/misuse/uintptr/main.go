// uintptr: object addresses kept as uintptr (invisible to the GC): one in a
// field of a live table whose object is still held elsewhere (live), one in a
// field whose object was collected (free slot), one in a uintptr global whose
// object was collected; and after the last GC a real pointer made from a
// stale uintptr (a dangling pointer into a free slot).
// Oracle: Table, LiveField, LiveBlob, FreeField, FreeBlob, Global, GlobalBlob,
// Holder, Dangling {Field, Value}.
package main

import (
	"runtime"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type Blob struct{ v [12]int64 }

type Entry struct {
	id  int64
	ptr uintptr // the misuse: an address the GC cannot see
}

type Table struct {
	live  Entry
	freed Entry
}

type Holder struct {
	id   int64
	blob *Blob
}

var (
	table  *Table
	keep   *Blob // keeps the live blob alive the proper way
	hidden uintptr
	holder *Holder
)

// newBlob allocates on the heap: a pointer converted to uintptr at once does
// not escape, and the compiler would put the Blob on the stack.
//
//go:noinline
func newBlob() *Blob { return new(Blob) }

//go:noinline
func build() {
	table = &Table{}
	keep = &Blob{}
	table.live = Entry{1, uintptr(unsafe.Pointer(keep))}
	table.freed = Entry{2, uintptr(unsafe.Pointer(newBlob()))}
	hidden = uintptr(unsafe.Pointer(newBlob()))
	holder = &Holder{id: 3}
}

//go:noinline
func dangle() {
	holder.blob = (*Blob)(unsafe.Pointer(table.freed.ptr))
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	build()
	oracle.Scrub()
	harness.Settle()
	dangle()
	t := uintptr(unsafe.Pointer(table))
	oracle.U64("Table", uint64(t))
	oracle.U64("LiveField", uint64(uintptr(unsafe.Pointer(&table.live.ptr))))
	oracle.U64("LiveBlob", uint64(table.live.ptr))
	oracle.U64("FreeField", uint64(uintptr(unsafe.Pointer(&table.freed.ptr))))
	oracle.U64("FreeBlob", uint64(table.freed.ptr))
	oracle.U64("GlobalBlob", uint64(hidden))
	harness.Global("Holder", "main.table", unsafe.Pointer(&table), unsafe.Sizeof(table))
	harness.Global("Global", "main.hidden", unsafe.Pointer(&hidden), unsafe.Sizeof(hidden))
	harness.Global("DanglingHolder", "main.holder", unsafe.Pointer(&holder), unsafe.Sizeof(holder))
	oracle.U64("DanglingField", uint64(uintptr(unsafe.Pointer(&holder.blob))))
	oracle.U64("DanglingValue", uint64(table.freed.ptr))
	harness.Finish()
}
