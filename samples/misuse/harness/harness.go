// Package harness is what every misuse sample shares: the oracle, written
// without allocating once the scenario is built, and the ending (crash for a
// kernel core, stop for gcore, check to prove nothing allocated).
//
// A scenario builds its heap, calls Settle (a GC and a full sweep), records
// addresses with U64/Str/List into a buffer allocated up front, and calls
// Finish.  Addresses are recorded as the program holds its pointers.
package harness

import (
	"fmt"
	"memdbg.example/threads"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
)

var (
	mode     string
	oracleFd int
	buf      []byte
	first    = true
	before   runtime.MemStats
	after    runtime.MemStats
	sink     uintptr
)

//go:noinline
func sum(b []uintptr) uintptr {
	var s uintptr
	for _, w := range b {
		s += w
	}
	return s
}

// Scrub zeroes 16 KiB of stack below the caller, so no stale pointer stays there.
//
//go:noinline
func Scrub() {
	var b [2048]uintptr
	for i := range b {
		b[i] = 0
	}
	sink += sum(b[:])
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "misuse: "+format+"\n", args...)
	os.Exit(1)
}

// Begin opens the oracle and allocates its buffer (16 KiB: no large object).
func Begin() {
	threads.Spare()
	Scrub()
	mode = os.Getenv("MEMDBG_SAMPLE_MODE")
	switch mode {
	case "crash":
		debug.SetTraceback("crash")
	case "stop", "check":
	default:
		fail("MEMDBG_SAMPLE_MODE must be crash, stop or check (got %q)", mode)
	}
	path := os.Getenv("MEMDBG_ORACLE")
	if path == "" {
		path = "oracle.json"
	}
	var err error
	oracleFd, err = syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		fail("open %s: %v", path, err)
	}
	buf = make([]byte, 0, 16<<10)
	buf = append(buf, '{')
}

// Settle runs a GC (which sweeps fully) and starts counting allocations.
func Settle() {
	runtime.GC()
	Mark()
}

// Mark starts counting allocations without a GC (for what a GC would undo, like pool contents).
func Mark() {
	runtime.ReadMemStats(&before)
}

func key(k string) {
	if !first {
		buf = append(buf, ',')
	}
	first = false
	buf = append(buf, '"')
	buf = append(buf, k...)
	buf = append(buf, '"', ':')
}

func U64(k string, v uint64) { key(k); buf = strconv.AppendUint(buf, v, 10) }

func Str(k string, s string) {
	key(k)
	buf = append(buf, '"')
	buf = append(buf, s...)
	buf = append(buf, '"')
}

func List(k string, vs []uint64) {
	key(k)
	buf = append(buf, '[')
	for i, v := range vs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendUint(buf, v, 10)
	}
	buf = append(buf, ']')
}

// Finish writes the oracle and crashes, stops, or checks that nothing allocated since Settle.
func Finish() {
	Scrub()
	runtime.ReadMemStats(&after)
	key("NumGC")
	buf = strconv.AppendUint(buf, uint64(after.NumGC), 10)
	buf = append(buf, '}', '\n')
	ok := len(buf) < cap(buf) && threads.WriteAll(oracleFd, buf) && threads.Close(oracleFd)
	moved := before.Mallocs != after.Mallocs || before.NumGC != after.NumGC
	if mode == "check" {
		if !ok {
			fail("writing the oracle failed")
		}
		if moved {
			fail("allocated after Settle: Mallocs %d -> %d, NumGC %d -> %d", before.Mallocs, after.Mallocs,
				before.NumGC, after.NumGC)
		}
		fmt.Println("ok")
		return
	}
	if !ok || moved {
		syscall.Write(2, []byte("misuse: oracle write failed or the heap moved after Settle\n"))
		syscall.Exit(3)
	}
	self := syscall.Getpid()
	if mode == "crash" {
		syscall.Tgkill(self, syscall.Gettid(), syscall.SIGABRT)
		for {
		}
	}
	for {
		syscall.Kill(self, syscall.SIGSTOP)
	}
}

// Addr is the address a pointer holds, for the oracle.
func Addr(p uintptr) uint64 { return uint64(p) }
