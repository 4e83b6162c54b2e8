// cgoheap: a Go program whose C side builds samples/glibc/glheap.c's glibc heap
// (four C threads, three non-main arenas) and records mallinfo2() and
// malloc_info() right before the core, as glheap does alone.  The Go heap
// holds ordinary objects meanwhile, so both heaps are in one target.
package main

/*
#cgo CFLAGS: -O1 -DGLHEAP_CGO
#cgo LDFLAGS: -lpthread
#include "../glheap.c"
*/
import "C"

import "runtime"

var keep [][]byte

func main() {
	for i := 0; i < 1000; i++ {
		keep = append(keep, make([]byte, 100+i))
	}
	runtime.GC()
	C.glheap_main()
}
