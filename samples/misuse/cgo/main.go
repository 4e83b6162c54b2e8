// cgo: C code keeps Go pointers in malloc'd memory after the call returns
// (against the cgo pointer rules): one object Go still holds (live), one Go
// dropped (collected: the C copy dangles).  Needs CGO_ENABLED=1 and gcc.
// Oracle: Box (the malloc'd block), LiveObj, FreeObj, LiveHolder.
package main

/*
#include <stdlib.h>
#include <stdint.h>

static void **box;

static uintptr_t keep(void *live, void *dropped)
{
	box = malloc(4 * sizeof(void *));
	if (!box)
		return 0;
	box[0] = live;
	box[1] = dropped;
	box[2] = 0;
	box[3] = 0;
	return (uintptr_t)box;
}
*/
import "C"

import (
	"runtime"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type Payload struct{ v [10]int64 }

var (
	liveObj           *Payload
	boxAddr           uint64
	liveAddr, dropped uint64
)

//go:noinline
func hand() {
	liveObj = &Payload{}
	d := &Payload{}
	liveAddr = uint64(uintptr(unsafe.Pointer(liveObj)))
	dropped = uint64(uintptr(unsafe.Pointer(d)))
	boxAddr = uint64(C.keep(unsafe.Pointer(liveObj), unsafe.Pointer(d)))
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	hand()
	oracle.Scrub()
	harness.Settle()
	oracle.U64("Box", boxAddr)
	oracle.U64("LiveObj", liveAddr)
	oracle.U64("FreeObj", dropped)
	oracle.Str("LiveHolder", "main.liveObj")
	harness.Finish()
}
