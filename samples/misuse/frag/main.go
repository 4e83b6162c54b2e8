// frag: churn of 256 B records of which only every 32nd survives: the spans
// of that size class stay in use but nearly empty.
// Oracle: ElemSize, Allocated, Kept.
package main

import (
	"runtime"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type Rec [256]byte

const (
	nRecs = 40000
	every = 32
)

var kept []*Rec

//go:noinline
func churn() {
	kept = make([]*Rec, 0, nRecs/every)
	for i := 0; i < nRecs; i++ {
		r := new(Rec)
		if i%every == 0 {
			kept = append(kept, r)
		}
	}
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	churn()
	oracle.Scrub()
	harness.Settle()
	oracle.U64("ElemSize", 256)
	oracle.U64("Allocated", nRecs)
	oracle.U64("Kept", nRecs/every)
	harness.Finish()
}
