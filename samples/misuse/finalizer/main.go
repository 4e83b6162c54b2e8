// finalizer: a finalizer whose closure keeps a 1 MiB buffer alive, and one
// whose closure captures its own object (so the object never becomes
// unreachable and the finalizer never runs).
// Oracle: Heavy (object with the heavy finalizer), HeavyBytes, Self.
package main

import (
	"runtime"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type Resource struct{ fd, pad int64 }

type Conn struct{ id, pad int64 }

var (
	resources   []*Resource
	heavy, self uint64
	sinkI       int64
)

//go:noinline
func build() {
	r := &Resource{fd: 7}
	big := make([]byte, 1<<20)
	runtime.SetFinalizer(r, func(*Resource) { sinkI += int64(big[0]) })
	resources = append(resources, r)
	heavy = uint64(uintptr(unsafe.Pointer(r)))

	c := &Conn{id: 9}
	runtime.SetFinalizer(c, func(*Conn) { sinkI += c.id })
	self = uint64(uintptr(unsafe.Pointer(c)))
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	build()
	oracle.Scrub()
	harness.Settle()
	oracle.U64("Heavy", heavy)
	oracle.U64("HeavyBytes", 1<<20)
	oracle.U64("Self", self)
	harness.Finish()
}
