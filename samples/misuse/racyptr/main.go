// racyptr: an unsafe.Pointer handed from one goroutine to another without
// synchronisation, as a uintptr in a shared message: the producer stores the
// address and returns, the GC (which cannot see a uintptr) collects the
// object, and the consumer, still waiting, holds an address of free memory.
// Oracle: Msg, DataField, Blob.
package main

import (
	"runtime"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type Blob struct{ v [24]int64 }

// Msg is shared by both goroutines; data is written and read with no lock,
// channel or atomic between them.
type Msg struct {
	seq  int64
	data uintptr
}

var (
	start  = make(chan struct{})
	msgAt  uint64 // for the oracle only (not uintptr: the findings would report them)
	blobAt uint64
)

//go:noinline
func newBlob() *Blob { return new(Blob) }

//go:noinline
func produce(m *Msg) {
	b := newBlob()
	b.v[0] = 42
	m.data = uintptr(unsafe.Pointer(b))
	m.seq = 1
	blobAt = uint64(m.data)
}

//go:noinline
func consume(m *Msg) {
	<-start // never closed: the consumer is still waiting when the core is taken
	b := (*Blob)(unsafe.Pointer(m.data))
	println(b.v[0], m.seq)
}

//go:noinline
func launch() {
	m := &Msg{}
	msgAt = uint64(uintptr(unsafe.Pointer(m)))
	done := make(chan struct{})
	go consume(m)
	go func() {
		produce(m)
		close(done)
	}()
	<-done
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	launch()
	oracle.Scrub()
	harness.Settle()
	oracle.U64("Msg", msgAt)
	oracle.U64("DataField", msgAt+uint64(unsafe.Offsetof(Msg{}.data)))
	oracle.U64("Blob", blobAt)
	harness.Finish()
}
