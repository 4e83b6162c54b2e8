// growth leaks known amounts per step, for memdbg's diff and watch
// (tests/test_growth.py).
//
// MEMDBG_GROWTH=dump (the default) runs two steps.  Each step plants, unless
// MEMDBG_GROWTH_FLAT=1 (then nothing is retained, only garbage made):
//
//	main.registry  a map (made with room for all entries, so its tables never
//	               grow) gains 1000 *Record (64 B)
//	leakyWorker    50 more goroutines blocked receiving from main.leakCh, each
//	               holding one *Session (128 B) in a local
//	main.bufPool   20 *Chunk (2048 B) Put after the step's GC (the previous
//	               step's move to the victim cache at that GC and stay)
//	main.payloads  200 more 3000-byte payloads ([]byte, 3072 B slots) in a slice
//	               made with room for all of them
//
// then collects the garbage it made (runtime.GC), reads runtime.ReadMemStats,
// writes the step's oracle (MEMDBG_ORACLE for step 1, MEMDBG_ORACLE2 for step 2:
// MemStats and the sample's own counts) without allocating (again, until a
// ReadMemStats after the write agrees with it), and stops
// (SIGSTOP) so a core can be taken; continued after step 1 once the file
// MEMDBG_GROWTH_NEXT names exists (it stops again otherwise), it runs step 2;
// after step 2 it stays stopped (kit/oracle's End).
//
// MEMDBG_GROWTH=watch runs ticks of MEMDBG_GROWTH_TICK_MS (default 10 ms):
// each keeps MEMDBG_GROWTH_LEAK bytes (default 65536, in 4 KiB payloads, by the
// clock when the ticks are unbounded, so the leak is linear in time) and
// makes four times as much garbage, so the GC runs often and the heap goal
// follows the live heap.  With MEMDBG_GROWTH_TICKS > 0 it stops after that
// many ticks, collects, and prints its live-heap figures as one JSON line on
// stdout; with 0 it grows until it is killed (by the OOM killer of a cgroup
// with a memory limit).
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
)

type Record struct { // 64 B: class 64
	ID   uint64
	Next *Record
	Data [48]byte
}

type Session struct { // 128 B: class 128
	ID    uint64
	Owner *Record
	Buf   [112]byte
}

type Chunk struct { // 2048 B: class 2048
	Next *Chunk
	B    [2040]byte
}

const (
	recordsPerStep  = 1000
	workersPerStep  = 50
	chunksPerStep   = 20
	payloadsPerStep = 200
	payloadLen      = 3000
	steps           = 2
)

var (
	registry = make(map[uint64]*Record, steps*recordsPerStep)
	leakCh   = make(chan struct{})
	bufPool  sync.Pool
	payloads = make([][]byte, 0, steps*payloadsPerStep)
	sink     []*Record // garbage made between steps

	nRecords, nWorkers, nPooled, nPayloads int
	started                                = make(chan struct{})
)

//go:noinline
func newSession(id uint64) *Session { return &Session{ID: id} }

//go:noinline
func leakyWorker(id uint64) {
	s := newSession(id)
	started <- struct{}{}
	<-leakCh
	s.Buf[0]++ // s stays live across the receive
}

func garbage(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, &Record{ID: uint64(i)})
	}
	sink = nil
}

func plant() {
	for i := 0; i < recordsPerStep; i++ {
		id := uint64(nRecords)
		registry[id] = &Record{ID: id}
		nRecords++
	}
	for i := 0; i < workersPerStep; i++ {
		go leakyWorker(uint64(nWorkers))
		<-started
		nWorkers++
	}
	for i := 0; i < payloadsPerStep; i++ {
		payloads = append(payloads, make([]byte, payloadLen))
		nPayloads++
	}
}

//go:noinline
func fillPool() {
	for i := 0; i < chunksPerStep; i++ {
		bufPool.Put(&Chunk{})
		nPooled++
	}
}

// global records a global that holds growth: its name (key) and where it is (key+"At", key+"Size"),
// which a build without symbols names by section and offset.
func global(key, name string, p unsafe.Pointer, size uintptr) {
	oracle.Str(key, name)
	oracle.U64(key+"At", uint64(uintptr(p)))
	oracle.U64(key+"Size", uint64(size))
}

func dumpStep(step int, fd int, flat bool, m *runtime.MemStats) {
	oracle.Buf = oracle.Buf[:0]
	oracle.Open('{')
	oracle.Process()
	oracle.I64("Step", int64(step))
	oracle.Bool("Flat", flat)
	oracle.I64("Records", int64(nRecords))
	oracle.I64("Workers", int64(nWorkers))
	oracle.I64("Pooled", int64(nPooled))
	oracle.I64("Payloads", int64(nPayloads))
	oracle.I64("NumGoroutine", int64(runtime.NumGoroutine()))
	oracle.U64("RecordSize", uint64(unsafe.Sizeof(Record{})))
	oracle.U64("SessionSize", uint64(unsafe.Sizeof(Session{})))
	oracle.U64("ChunkSize", uint64(unsafe.Sizeof(Chunk{})))
	oracle.U64("PayloadLen", payloadLen)
	global("Registry", "main.registry", unsafe.Pointer(&registry), unsafe.Sizeof(registry))
	global("PayloadSlice", "main.payloads", unsafe.Pointer(&payloads), unsafe.Sizeof(payloads))
	global("BufPool", "main.bufPool", unsafe.Pointer(&bufPool), unsafe.Sizeof(bufPool))
	oracle.MemStats("MemStats", m)
	oracle.Close('}')
	if !oracle.Write(fd) {
		oracle.End(false, "cannot write the oracle")
	}
}

// sameFigures: the MemStats fields the tests hold a core to agree.
func sameFigures(a, b *runtime.MemStats) bool {
	return a.Alloc == b.Alloc && a.TotalAlloc == b.TotalAlloc && a.Sys == b.Sys && a.Mallocs == b.Mallocs &&
		a.Frees == b.Frees && a.HeapSys == b.HeapSys && a.HeapIdle == b.HeapIdle && a.HeapInuse == b.HeapInuse &&
		a.HeapReleased == b.HeapReleased && a.HeapObjects == b.HeapObjects && a.StackInuse == b.StackInuse &&
		a.NumGC == b.NumGC
}

// MEMDBG_GROWTH_NEXT as a C string: a global, so the same root holds it in both cores; and its
// address, which access(2) is called with: converting the pointer in the call would keep it in a
// temporary of dump's frame, live at the first stop and not at the second.
var (
	nextPath     *byte
	nextPathAddr uintptr
)

func dump() {
	fd1, _ := oracle.Begin("growth", 1<<16, false)
	path2 := os.Getenv("MEMDBG_ORACLE2")
	if path2 == "" {
		path2 = "oracle.2.json"
	}
	fd2, err := syscall.Open(path2, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		oracle.Fail("open %s: %v", path2, err)
	}
	flat := os.Getenv("MEMDBG_GROWTH_FLAT") == "1"
	// Step 2 starts only once this file exists, not on any SIGCONT: gdb's gcore
	// continues a stopped process while it attaches to its threads one by one, and
	// a thread not yet attached would run step 2 into the first core.
	nextPath, err = syscall.BytePtrFromString(os.Getenv("MEMDBG_GROWTH_NEXT"))
	if err != nil {
		oracle.Fail("MEMDBG_GROWTH_NEXT: %v", err)
	}
	nextPathAddr = uintptr(unsafe.Pointer(nextPath))
	runtime.LockOSThread() // every Put from one P
	threads.Spare()
	var m, again runtime.MemStats
	for step := 1; step <= steps; step++ {
		garbage(5000)
		if !flat {
			plant()
		}
		runtime.GC()
		if !flat {
			fillPool()
		}
		oracle.Scrub()
		runtime.ReadMemStats(&m)
		fd := fd1
		if step == 2 {
			fd = fd2
		}
		// The runtime's background work can move the heap's figures while the oracle is written (on a
		// fresh machine once: HeapSys and HeapIdle 32 KiB more in the core): it is written again until
		// a read after it agrees.
		for try := 0; ; try++ {
			dumpStep(step, fd, flat, &m)
			runtime.ReadMemStats(&again)
			if sameFigures(&m, &again) || try == 10 {
				break
			}
			m = again
			if !threads.Rewind(fd) {
				oracle.End(false, "cannot rewind the oracle")
			}
		}
		if !threads.Close(fd) {
			oracle.End(false, "cannot close the oracle")
		}
		for step < steps { // a core is taken; continued with MEMDBG_GROWTH_NEXT made, on to the next step
			syscall.Kill(syscall.Getpid(), syscall.SIGSTOP)
			if _, _, e := syscall.RawSyscall(syscall.SYS_ACCESS, nextPathAddr, 0, 0); e == 0 {
				break
			}
		}
	}
	oracle.End(true, "")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// touched is a 4 KiB payload with every page under it written, as real data would be
// (fresh pages from the OS are zero: untouched, they would never count in the RSS).
func touched() []byte {
	b := make([]byte, 4096)
	for i := 0; i < len(b); i += 512 {
		b[i] = 1
	}
	return b
}

func watch() {
	leak := envInt("MEMDBG_GROWTH_LEAK", 65536)
	tick := time.Duration(envInt("MEMDBG_GROWTH_TICK_MS", 10)) * time.Millisecond
	ticks := envInt("MEMDBG_GROWTH_TICKS", 0)
	var kept [][]byte
	var junk [][]byte
	start := time.Now()
	for i := 0; ticks == 0 || i < ticks; i++ {
		// Leak by the clock (leak bytes per tick of wall time) when ticks == 0, so a slower
		// loop (a longer GC) does not slow the leak; by the tick count otherwise.
		want := (i + 1) * leak / 4096
		if ticks == 0 {
			want = int(time.Since(start)/tick+1) * leak / 4096
		}
		for len(kept) < want {
			kept = append(kept, touched())
		}
		junk = junk[:0]
		for b := 0; b < 4*leak; b += 4096 {
			junk = append(junk, touched())
		}
		time.Sleep(tick)
	}
	junk = nil
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	out, _ := json.Marshal(map[string]uint64{
		"Kept":         uint64(len(kept)),
		"HeapAlloc":    m.HeapAlloc,
		"HeapObjects":  m.HeapObjects,
		"NumGoroutine": uint64(runtime.NumGoroutine()),
	})
	os.Stdout.Write(append(out, '\n'))
	runtime.KeepAlive(kept)
}

func main() {
	switch mode := os.Getenv("MEMDBG_GROWTH"); mode {
	case "", "dump":
		dump()
	case "watch":
		watch()
	default:
		os.Stderr.WriteString("growth: MEMDBG_GROWTH must be dump or watch\n")
		os.Exit(2)
	}
}
