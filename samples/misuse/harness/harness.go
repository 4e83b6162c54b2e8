// Package harness is how every misuse sample begins and ends: the oracle
// (package oracle, written without allocating once the scenario is built)
// and the ending (crash for a kernel core, stop for gcore, check to prove
// nothing allocated).
//
// A scenario builds its heap, calls Settle (a GC and a full sweep), records
// addresses with oracle.U64/Str/U64s into the buffer Begin allocated, and
// calls Finish.  Addresses are recorded as the program holds its pointers.
package harness

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"unsafe"

	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
)

var (
	oracleFd int
	dumpFd   int
	before   runtime.MemStats
	after    runtime.MemStats
)

// Begin opens the oracle and the heap dump, and allocates the oracle's buffer (16 KiB: no large object).
func Begin() {
	threads.Spare()
	oracle.Scrub()
	oracleFd, dumpFd = oracle.Begin("misuse", 16<<10, true)
	oracle.Open('{')
}

// Settle runs a GC (which sweeps fully), writes the heap dump
// (runtime/debug.WriteHeapDump, "heapdump" next to the oracle: the runtime's
// own view of the roots; the goroutines are parked where the core finds
// them), waits for the heap to settle and starts counting allocations (on
// go1.22 one object was sometimes allocated just after the dump, 1%).
func Settle() {
	runtime.GC()
	debug.WriteHeapDump(uintptr(dumpFd))
	oracle.AwaitIdle()
	Mark()
}

// Mark starts counting allocations without a GC (for what a GC would undo, like pool contents).
func Mark() {
	runtime.ReadMemStats(&before)
}

// Finish writes the oracle and crashes, stops, or checks that nothing allocated since Settle.
func Finish() {
	oracle.Scrub()
	runtime.ReadMemStats(&after)
	oracle.U64("NumGC", uint64(after.NumGC))
	oracle.Close('}')
	ok := oracle.Write(oracleFd) && threads.Close(oracleFd) && threads.Close(dumpFd)
	moved := before.Mallocs != after.Mallocs || before.NumGC != after.NumGC
	if oracle.Mode == "check" {
		if !ok {
			oracle.Fail("writing the oracle failed")
		}
		if moved {
			oracle.Fail("allocated after Settle: Mallocs %d -> %d, NumGC %d -> %d", before.Mallocs, after.Mallocs,
				before.NumGC, after.NumGC)
		}
		fmt.Println("ok")
		return
	}
	oracle.End(ok && !moved, "oracle write failed or the heap moved after Settle")
}

// Global records a holder global: its name (key) and where it is (key+"At", key+"Size"), which a build
// without symbols names by section and offset.
func Global(key, name string, p unsafe.Pointer, size uintptr) {
	oracle.Str(key, name)
	oracle.U64(key+"At", uint64(uintptr(p)))
	oracle.U64(key+"Size", uint64(size))
}
