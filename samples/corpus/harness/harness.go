// Package harness is how every corpus program ends: the real server or
// library has run under load in this process, and Finish leaves a kernel
// core whose heap the heap dump and the oracle describe exactly.
//
// A real server keeps goroutines of its own (timers, heartbeats, network
// read loops) that may run at any moment, so Finish
//
//   - runs the program on one P from then on (GOMAXPROCS 1): nothing runs
//     while this goroutine holds it and is not preempted;
//   - collects the garbage (runtime.GC sweeps fully) and waits for the
//     heap's idle pages to settle (oracle.AwaitIdle);
//   - yields once (whatever is due runs now), reads MemStats, records the
//     oracle and reads MemStats again, starting over if anything allocated
//     in between; all this takes far less than the 10 ms after which sysmon
//     would preempt it;
//   - writes the heap dump (the world is stopped meanwhile), and raises
//     SIGABRT with a raw system call straight after: between the dump and
//     the core there is no preemption point, so no other goroutine runs and
//     the core holds the heap exactly as dumped.  The dump's own MemStats
//     record (read inside the dump) is then the runtime's figure for the
//     core, and only this goroutine's stack differs from the dump's frames.
package harness

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"

	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
)

// MaxAttempts bounds the retries when the heap moved while the oracle was recorded.
const MaxAttempts = 50

type figure struct {
	name  string
	value int64
}

var (
	oracleFd, dumpFd int
	modules          []string         // "path version" of every module linked in
	figures          []figure         // what the load made, recorded by the program
	before, after    runtime.MemStats // around the oracle's recording
	numGoroutine     int
	attempts         int
)

// Begin opens the oracle and heap dump files (kit/oracle) and records the
// module versions linked in, while allocating is still fine.
func Begin(name string) {
	oracleFd, dumpFd = oracle.Begin(name, 1<<20, true)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			v := m.Version
			if m.Replace != nil {
				v += " => " + m.Replace.Path + " " + m.Replace.Version
			}
			modules = append(modules, m.Path+" "+v)
		}
	}
	figures = make([]figure, 0, 64)
}

// Figure records one figure of the load (connections made, messages stored...).
func Figure(name string, value int64) {
	figures = append(figures, figure{name, value})
}

func sameHeap(a, b *runtime.MemStats) bool {
	return a.Mallocs == b.Mallocs && a.Frees == b.Frees && a.HeapAlloc == b.HeapAlloc &&
		a.TotalAlloc == b.TotalAlloc && a.NumGC == b.NumGC && a.StackInuse == b.StackInuse &&
		a.HeapInuse == b.HeapInuse && a.HeapIdle == b.HeapIdle && a.HeapSys == b.HeapSys
}

// Finish records the oracle, dumps the heap and leaves the core (see the
// package comment); it does not return.  Check mode (no core) reports how
// many tries recording the oracle took, and exits.
func Finish() {
	runtime.LockOSThread()
	runtime.GOMAXPROCS(1)
	threads.Spare()
	runtime.GC()
	oracle.AwaitIdle()
	pid, tid := uintptr(syscall.Getpid()), uintptr(syscall.Gettid())
	// ---- no heap allocation from here on ----
	for attempts = 1; ; attempts++ {
		runtime.Gosched()
		runtime.ReadMemStats(&before)
		numGoroutine = runtime.NumGoroutine()
		oracle.Buf = oracle.Buf[:0]
		encode()
		if !threads.Rewind(oracleFd) || !oracle.Write(oracleFd) {
			oracle.End(false, "writing the oracle failed")
		}
		runtime.ReadMemStats(&after)
		if sameHeap(&before, &after) {
			break
		}
		if attempts == MaxAttempts {
			oracle.End(false, "the heap kept changing while the oracle was recorded")
		}
	}
	debug.WriteHeapDump(uintptr(dumpFd))
	// Not one function call with a preemption check until the core: RawSyscall is nosplit.
	switch oracle.Mode {
	case "crash":
		syscall.RawSyscall(syscall.SYS_TGKILL, pid, tid, uintptr(syscall.SIGABRT))
		for {
		}
	case "stop":
		for {
			syscall.RawSyscall(syscall.SYS_KILL, pid, uintptr(syscall.SIGSTOP), 0)
		}
	}
	fmt.Printf("ok: %d attempts, HeapAlloc %d, %d goroutines, %d bytes of oracle\n",
		attempts, after.HeapAlloc, numGoroutine, len(oracle.Buf))
	os.Exit(0)
}

func encode() {
	m := &before
	oracle.Open('{')
	oracle.Key("MemStats")
	oracle.Open('{')
	for _, f := range []struct {
		name string
		v    uint64
	}{
		{"Alloc", m.Alloc}, {"TotalAlloc", m.TotalAlloc}, {"Sys", m.Sys}, {"Mallocs", m.Mallocs},
		{"Frees", m.Frees}, {"HeapAlloc", m.HeapAlloc}, {"HeapSys", m.HeapSys}, {"HeapIdle", m.HeapIdle},
		{"HeapInuse", m.HeapInuse}, {"HeapReleased", m.HeapReleased}, {"HeapObjects", m.HeapObjects},
		{"StackInuse", m.StackInuse}, {"StackSys", m.StackSys}, {"MSpanInuse", m.MSpanInuse},
		{"MSpanSys", m.MSpanSys}, {"MCacheInuse", m.MCacheInuse}, {"MCacheSys", m.MCacheSys},
		{"BuckHashSys", m.BuckHashSys}, {"GCSys", m.GCSys}, {"OtherSys", m.OtherSys},
		{"NextGC", m.NextGC}, {"NumGC", uint64(m.NumGC)}, {"NumForcedGC", uint64(m.NumForcedGC)},
	} {
		oracle.U64(f.name, f.v)
	}
	oracle.BySize(m)
	oracle.Close('}')
	oracle.I64("NumGoroutine", int64(numGoroutine))
	oracle.Process()
	oracle.Str("HeapDump", "heapdump")
	oracle.I64("Attempts", int64(attempts))
	oracle.Key("Load")
	oracle.Open('{')
	for _, f := range figures {
		oracle.I64(f.name, f.value)
	}
	oracle.Close('}')
	oracle.Key("Modules")
	oracle.Open('[')
	for _, s := range modules {
		oracle.Sep()
		oracle.PutStr(s)
	}
	oracle.Close(']')
	oracle.Close('}')
}
