// deadslice: a reflect.SliceHeader saved as the only record of a buffer
// (its Data is a uintptr, invisible to the GC); after the buffer is
// collected, unsafe.Slice over the header makes a real slice of free memory.
// Oracle: View, DataField, Buffer, Holder, SliceField.
package main

import (
	"reflect"
	"runtime"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type View struct {
	name int64
	hdr  reflect.SliceHeader
}

type Holder struct {
	id   int64
	data []byte
}

var (
	view   *View
	holder *Holder
)

//go:noinline
func newBuffer() []byte { return make([]byte, 1024) }

//go:noinline
func record() {
	b := newBuffer()
	b[0] = 1
	view = &View{name: 1, hdr: *(*reflect.SliceHeader)(unsafe.Pointer(&b))}
	holder = &Holder{id: 2}
}

//go:noinline
func revive() {
	holder.data = unsafe.Slice((*byte)(unsafe.Pointer(view.hdr.Data)), view.hdr.Len)
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	record()
	oracle.Scrub()
	harness.Settle()
	revive()
	oracle.U64("View", uint64(uintptr(unsafe.Pointer(view))))
	oracle.U64("DataField", uint64(uintptr(unsafe.Pointer(&view.hdr.Data))))
	oracle.U64("Buffer", uint64(view.hdr.Data))
	harness.Global("Holder", "main.view", unsafe.Pointer(&view), unsafe.Sizeof(view))
	harness.Global("SliceHolder", "main.holder", unsafe.Pointer(&holder), unsafe.Sizeof(holder))
	oracle.U64("SliceField", uint64(uintptr(unsafe.Pointer(&holder.data))))
	harness.Finish()
}
