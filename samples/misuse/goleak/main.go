// goleak: 150 goroutines blocked forever on a channel nobody sends on and
// nothing else can reach (startLeaks made it and returned: only the blocked
// goroutines' own closures hold it); each one's closure keeps an 8 KiB
// buffer alive.
// Oracle: Goroutines, Buffers (every buffer's address), Function, BufSize.
package main

import (
	"runtime"
	"sync"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

const (
	nLeaks  = 150
	bufSize = 8192
)

var (
	bufs    [nLeaks]uint64
	started sync.WaitGroup
	sinkB   byte
)

//go:noinline
func startLeaks() {
	never := make(chan int)
	for i := 0; i < nLeaks; i++ {
		data := make([]byte, bufSize)
		bufs[i] = uint64(uintptr(unsafe.Pointer(&data[0])))
		go func() {
			started.Done()
			v := <-never
			sinkB += data[v]
		}()
	}
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	started.Add(nLeaks)
	startLeaks()
	started.Wait()
	oracle.Scrub()
	harness.Settle()
	oracle.U64("Goroutines", nLeaks)
	oracle.U64("BufSize", bufSize)
	oracle.U64s("Buffers", bufs[:])
	oracle.Str("Function", "main.startLeaks.func1")
	harness.Finish()
}
