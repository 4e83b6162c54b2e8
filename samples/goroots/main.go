// goroots: stack roots exactly as the GC sees them (tests/test_roots.py).
//
// Three goroutines park for good, each with one object on its stack:
//
//	dead-object  deadObject: a local whose address is taken (a stack object)
//	             holds the only pointer to a DeadObj; it is passed to a callee
//	             and never used again.  Parked, the slot still holds the
//	             pointer, but the stack map says the local is dead and no live
//	             pointer reaches the stack object: the GC does not scan it.
//	live-object  liveObject: the same with a LiveObj, but the local is used
//	             again after the wait: live in the stack map, a root.
//	dead-spill   deadSpill: a *SpillObj kept in a register across two calls is
//	             spilled to the frame; after the second call it is dead, and
//	             its spill slot still holds it while the goroutine is parked.
//
// Each scenario runs twice, through the same functions (so at the same pcs):
// round 1 before the last GC, with a finalizer on each object, asks the
// runtime itself: after GCs, the finalizer of an object the GC does not see
// from the stack runs (Collected), the others do not.  Round 1 then returns;
// round 2 parks after the last GC, so its objects are still allocated in the
// core: dead ones as garbage, the live one held by its goroutine's frame.
//
// Addresses are recorded as uint64, not uintptr (a uintptr holding an
// object's address is a finding).  The sample writes
// runtime/debug.WriteHeapDump ("heapdump", next to the oracle) and the oracle
// without allocating, then crashes, stops or checks (see kit/oracle).
package main

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
	"unsafe"

	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
)

type DeadObj struct {
	v    [6]int64
	next *DeadObj
}

type LiveObj struct {
	v    [6]int64
	next *LiveObj
}

type SpillObj struct {
	v    [6]int64
	next *SpillObj
}

// Locals of these types are address-taken: stack objects.
type deadBox struct {
	p *DeadObj
	n int64
}

type liveBox struct {
	p *LiveObj
	n int64
}

// The boxes' type descriptors exist (so DWARF gives their variables a
// runtime type, and a variable could seed its object's type).
var boxTypes = []any{deadBox{}, liveBox{}}

const (
	scDead = iota
	scLive
	scSpill
	nScenarios
)

var scenarioNames = [nScenarios]string{"dead-object", "live-object", "dead-spill"}
var scenarioFuncs = [nScenarios]string{"main.deadObject", "main.liveObject", "main.deadSpill"}

// round is one run of the three scenarios.
type round struct {
	final  bool          // round 1 sets finalizers
	parked chan struct{} // each goroutine says it is about to park
	block  chan struct{} // closed to end round 1; never for round 2
	addrs  [nScenarios]uint64
	goids  [nScenarios]int64
}

var (
	collected [nScenarios]atomic.Bool
	verdict   [nScenarios]bool // collected, read before round 1 ends
	sink      int64
	rounds    [2]*round

	oracleFd, dumpFd       int
	beforeStats, dumpStats runtime.MemStats
	setupStats, afterStats runtime.MemStats
	numGoroutine           int
)

// goid reads the goroutine id from runtime.Stack's first line ("goroutine N [").
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	var id int64
	for _, c := range b[len("goroutine "):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}

//go:noinline
func newDead(r *round) *DeadObj {
	o := &DeadObj{}
	o.v[0] = 1
	r.addrs[scDead] = uint64(uintptr(unsafe.Pointer(o)))
	if r.final {
		runtime.SetFinalizer(o, func(*DeadObj) { collected[scDead].Store(true) })
	}
	return o
}

//go:noinline
func newLive(r *round) *LiveObj {
	o := &LiveObj{}
	o.v[0] = 2
	r.addrs[scLive] = uint64(uintptr(unsafe.Pointer(o)))
	if r.final {
		runtime.SetFinalizer(o, func(*LiveObj) { collected[scLive].Store(true) })
	}
	return o
}

//go:noinline
func newSpill(r *round) *SpillObj {
	o := &SpillObj{}
	o.v[0] = 3
	r.addrs[scSpill] = uint64(uintptr(unsafe.Pointer(o)))
	if r.final {
		runtime.SetFinalizer(o, func(*SpillObj) { collected[scSpill].Store(true) })
	}
	return o
}

//go:noinline
func fillDead(b *deadBox) { b.n = b.p.v[0] + 1; sink += b.n }

//go:noinline
func fillLive(b *liveBox) { b.n = b.p.v[0] + 1; sink += b.n }

//go:noinline
func use(p *SpillObj) { sink += p.v[0] }

// deadObject: b is dead once fillDead returns; its stack slot keeps the pointer.
//
//go:noinline
func deadObject(r *round) {
	oracle.Scrub()
	r.goids[scDead] = goid()
	var b deadBox
	b.p = newDead(r)
	fillDead(&b)
	r.parked <- struct{}{}
	<-r.block
}

// liveObject: b is used after the wait, so it stays live across it.
//
//go:noinline
func liveObject(r *round) {
	oracle.Scrub()
	r.goids[scLive] = goid()
	var b liveBox
	b.p = newLive(r)
	fillLive(&b)
	r.parked <- struct{}{}
	<-r.block
	fillLive(&b)
}

// deadSpill: p is spilled across the first call and dead after the second.
//
//go:noinline
func deadSpill(r *round) {
	oracle.Scrub()
	r.goids[scSpill] = goid()
	p := newSpill(r)
	use(p)
	use(p)
	r.parked <- struct{}{}
	<-r.block
}

// start runs the three scenarios and returns once each goroutine has parked.
//
//go:noinline
func start(final bool) *round {
	r := &round{final: final, parked: make(chan struct{}), block: make(chan struct{})}
	go deadObject(r)
	go liveObject(r)
	go deadSpill(r)
	for i := 0; i < nScenarios; i++ {
		<-r.parked
	}
	time.Sleep(20 * time.Millisecond) // from the send to the receive that parks them
	return r
}

// askRuntime runs GCs until the finalizers of round 1's dead objects have run.
func askRuntime() {
	for i := 0; i < 50 && !(collected[scDead].Load() && collected[scSpill].Load()); i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	runtime.GC()
	time.Sleep(5 * time.Millisecond)
}

func encodeOracle() {
	oracle.Buf = append(oracle.Buf, '{')
	oracle.MemStats("MemStats", &dumpStats)
	oracle.I64("NumGoroutine", int64(numGoroutine))
	oracle.Process()
	oracle.Str("HeapDump", "heapdump")
	oracle.I64("BoxTypes", int64(len(boxTypes)))
	oracle.Key("Scenarios")
	oracle.Buf = append(oracle.Buf, '[')
	for i := 0; i < nScenarios; i++ {
		oracle.Open('{')
		oracle.Str("Name", scenarioNames[i])
		oracle.Str("Func", scenarioFuncs[i])
		oracle.I64("Goroutine", rounds[1].goids[i])
		oracle.U64("Addr", rounds[1].addrs[i])
		oracle.Bool("Live", i == scLive)
		oracle.Bool("Collected", verdict[i])
		oracle.Close('}')
	}
	oracle.Close(']')
	oracle.Close('}')
}

//go:noinline
func setup() {
	oracleFd, dumpFd = oracle.Begin("goroots", 64<<10, true)
	threads.Spare()
	rounds[0] = start(true)
	askRuntime()
	for i := range verdict {
		verdict[i] = collected[i].Load()
	}
	close(rounds[0].block)
	time.Sleep(10 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&setupStats)
	rounds[1] = start(false)
}

func main() {
	oracle.Scrub()
	runtime.LockOSThread()
	setup()
	oracle.Scrub()

	// ---- no heap allocation from here on ----
	runtime.ReadMemStats(&beforeStats)
	debug.WriteHeapDump(uintptr(dumpFd))
	runtime.ReadMemStats(&dumpStats)
	numGoroutine = runtime.NumGoroutine()
	encodeOracle()
	ok := oracle.Write(oracleFd) && threads.Close(oracleFd) && threads.Close(dumpFd)
	dumpAllocated := beforeStats.Mallocs != dumpStats.Mallocs || beforeStats.Frees != dumpStats.Frees
	gcAfterSetup := dumpStats.NumGC != setupStats.NumGC
	oracle.Scrub()
	if oracle.Mode == "check" {
		runtime.ReadMemStats(&afterStats)
		switch {
		case !ok:
			oracle.Fail("writing the oracle or the heap dump failed")
		case dumpAllocated:
			oracle.Fail("WriteHeapDump allocated: Mallocs %d -> %d", beforeStats.Mallocs, dumpStats.Mallocs)
		case gcAfterSetup:
			oracle.Fail("a GC ran after setup (NumGC %d -> %d)", setupStats.NumGC, dumpStats.NumGC)
		case afterStats.Mallocs != dumpStats.Mallocs:
			oracle.Fail("allocated after the heap dump: Mallocs %d -> %d", dumpStats.Mallocs, afterStats.Mallocs)
		case !verdict[scDead] || !verdict[scSpill] || verdict[scLive]:
			oracle.Fail("the runtime disagrees with the scenarios: collected dead %v live %v spill %v",
				verdict[scDead], verdict[scLive], verdict[scSpill])
		}
		println("ok")
		return
	}
	oracle.End(ok && !dumpAllocated && !gcAfterSetup, "oracle write failed, or the heap moved after setup")
}
