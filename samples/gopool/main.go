// gopool fills sync.Pools with known objects and fragments the heap with
// known survivors, for memdbg's pool-residue and frag (tests/test_pools.py,
// tests/test_frag.py):
//
//	main.privPool    one *PrivItem, in the private slot of the P that ran the Put
//	main.sharedPool  20 *SharedItem: one private, 19 in the shared chain (a dequeue
//	                 of 8, then one of 16); each item alone holds a 200-byte payload;
//	                 item 5 is also held by the global main.alsoHeld
//	main.victimPool  one *VictimPrivItem then 10 *VictimSharedItem put before the
//	                 last GC: after exactly that one GC they are its victim cache
//	main.holder.pool a pool inside a heap object (*Holder): 3 *HeldItem (1 private,
//	                 2 shared)
//	churn            4096 objects each of three size classes (24, 288 and 1024 B),
//	                 every other one kept (main.keepA/B/C), the rest garbage
//	                 collected by the last GC; one 33000-byte large object kept
//
// All Puts run on one goroutine locked to its thread; the sample reads the
// pools' internals (mirrors of sync/pool.go and poolqueue.go) to record on
// which P and where each item landed, and fails unless the layout is the
// expected one (all on one P).  Like samples/goholds it writes
// runtime/debug.WriteHeapDump ("heapdump" next to the oracle), reads
// runtime.ReadMemStats, encodes the oracle without allocating and then
// crashes (MEMDBG_SAMPLE_MODE=crash), stops (stop) or verifies that nothing
// allocated from the heap dump on (check).  Stacks are scrubbed so that
// memdbg's conservative stack scan sees no stale copy of a pooled pointer.
package main

import (
	"fmt"
	"memdbg.example/threads"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

// ---- the pooled types (sizes on amd64, none tiny, one type per pool slot kind) ----

type PrivItem struct{ v [5]int64 } // 40 B: class 48

type SharedItem struct { // 32 B: class 32
	id      int64
	payload []byte // 200 B (class 208), held only by the item
}

type VictimPrivItem struct{ v [9]int64 }    // 72 B: class 80
type VictimSharedItem struct{ v [11]int64 } // 88 B: class 96
type HeldItem struct{ v [13]int64 }         // 104 B: class 112

type Holder struct {
	name string
	pool sync.Pool
}

// ---- churn ----

type ChurnA struct{ v [3]int64 }  // 24 B, noscan
type ChurnB struct{ v [36]int64 } // 288 B, noscan
type ChurnC struct {              // 1024 B, scan
	next *ChurnC
	v    [127]int64
}

const (
	nChurn    = 4096
	nShared   = 20
	nVictimSh = 10
	nHeld     = 3
	alsoIx    = 5
	payloadSz = 200
	bigSize   = 33000
)

var (
	privPool, sharedPool, victimPool sync.Pool
	holder                           *Holder
	alsoHeld                         *SharedItem
	keepA                            []*ChurnA
	keepB                            []*ChurnB
	keepC                            []*ChurnC
	big                              []byte

	// Addresses only (uintptr: not roots).
	privAddr     uintptr
	sharedAddrs  [nShared]uintptr
	payloadAddrs [nShared]uintptr
	vPrivAddr    uintptr
	vSharedAddrs [nVictimSh]uintptr
	heldAddrs    [nHeld]uintptr
	holderAddr   uintptr
	bigAddr      uintptr

	scrubSink uintptr

	dumpStats, beforeStats, setupStats, afterStats runtime.MemStats
	gcBeforeVictim, gcAfterVictim                  uint32
	oracleBuf                                      []byte
	oracleFd, dumpFd                               int
	mode, experiment                               string
)

// ---- stacks ----

//go:noinline
func sumWords(b []uintptr) uintptr {
	var s uintptr
	for _, w := range b {
		s += w
	}
	return s
}

// scrub zeroes 16 KiB of stack below its caller and returns.
//
//go:noinline
func scrub() {
	var b [2048]uintptr
	for i := range b {
		b[i] = 0
	}
	scrubSink += sumWords(b[:])
}

// ---- building ----

//go:noinline
func churn() {
	keepA = make([]*ChurnA, 0, nChurn/2)
	keepB = make([]*ChurnB, 0, nChurn/2)
	keepC = make([]*ChurnC, 0, nChurn/2)
	for i := 0; i < nChurn; i++ {
		a, b, c := &ChurnA{}, &ChurnB{}, &ChurnC{}
		a.v[0], b.v[0], c.v[0] = int64(i), int64(i), int64(i)
		if i%2 == 0 {
			keepA = append(keepA, a)
			keepB = append(keepB, b)
			keepC = append(keepC, c)
		}
	}
	big = make([]byte, bigSize)
	bigAddr = uintptr(unsafe.Pointer(&big[0]))
}

//go:noinline
func putVictim() {
	p := &VictimPrivItem{}
	p.v[0] = 1
	vPrivAddr = uintptr(unsafe.Pointer(p))
	victimPool.Put(p)
	for i := range vSharedAddrs {
		s := &VictimSharedItem{}
		s.v[0] = int64(i)
		vSharedAddrs[i] = uintptr(unsafe.Pointer(s))
		victimPool.Put(s)
	}
}

//go:noinline
func putPools() {
	p := &PrivItem{}
	p.v[0] = 1
	privAddr = uintptr(unsafe.Pointer(p))
	privPool.Put(p)
	for i := range sharedAddrs {
		s := &SharedItem{id: int64(i), payload: make([]byte, payloadSz)}
		sharedAddrs[i] = uintptr(unsafe.Pointer(s))
		payloadAddrs[i] = uintptr(unsafe.Pointer(&s.payload[0]))
		if i == alsoIx {
			alsoHeld = s
		}
		sharedPool.Put(s)
	}
	holder = &Holder{name: "holder"}
	holderAddr = uintptr(unsafe.Pointer(holder))
	for i := range heldAddrs {
		h := &HeldItem{}
		h.v[0] = int64(i)
		heldAddrs[i] = uintptr(unsafe.Pointer(h))
		holder.pool.Put(h)
	}
}

// ---- sync.Pool internals (sync/pool.go, poolqueue.go; same layout go1.22..go1.26) ----

type poolMirror struct {
	noCopy     struct{}
	local      unsafe.Pointer
	localSize  uintptr
	victim     unsafe.Pointer
	victimSize uintptr
	New        func() any
}

type efaceMirror struct{ typ, val unsafe.Pointer }

type poolLocalMirror struct {
	private efaceMirror
	head    unsafe.Pointer
	tail    unsafe.Pointer
	pad     [96]byte
}

type poolChainEltMirror struct {
	headTail uint64
	vals     []efaceMirror
	next     unsafe.Pointer
	prev     unsafe.Pointer
}

// One pooled object as the walk found it.
type entry struct {
	p     int
	cache string // "local" or "victim"
	slot  string // "private" or "shared"
	addr  uintptr
}

type poolRecord struct {
	name      string
	addr      uintptr
	local     uintptr
	localSize uintptr
	victim    uintptr
	vicSize   uintptr
	entries   [64]entry
	nentries  int
	internals [64]uintptr // the poolLocal arrays, chain elements and their vals arrays
	ninternal int
}

var pools [4]poolRecord

func (r *poolRecord) add(p int, cache, slot string, addr uintptr) {
	if r.nentries < len(r.entries) {
		r.entries[r.nentries] = entry{p, cache, slot, addr}
	}
	r.nentries++
}

func (r *poolRecord) internal(a uintptr) {
	if r.ninternal < len(r.internals) {
		r.internals[r.ninternal] = a
	}
	r.ninternal++
}

// walkLocals records every object in the n poolLocals at arr: private, then
// the shared chain from tail to head, each dequeue's slots [tail, head).
func walkLocals(r *poolRecord, arr unsafe.Pointer, n uintptr, cache string) {
	if arr == nil {
		return
	}
	r.internal(uintptr(arr))
	for i := uintptr(0); i < n; i++ {
		l := (*poolLocalMirror)(unsafe.Add(arr, i*unsafe.Sizeof(poolLocalMirror{})))
		if l.private.typ != nil {
			r.add(int(i), cache, "private", uintptr(l.private.val))
		}
		for d := (*poolChainEltMirror)(l.tail); d != nil; d = (*poolChainEltMirror)(d.next) {
			r.internal(uintptr(unsafe.Pointer(d)))
			r.internal(uintptr(unsafe.Pointer(&d.vals[0])))
			head, tail := uint32(d.headTail>>32), uint32(d.headTail)
			for j := tail; j != head; j++ {
				v := d.vals[j&uint32(len(d.vals)-1)]
				if v.typ != nil {
					r.add(int(i), cache, "shared", uintptr(v.val))
				}
			}
		}
	}
}

//go:noinline
func record(r *poolRecord, name string, p *sync.Pool) {
	m := (*poolMirror)(unsafe.Pointer(p))
	r.name = name
	r.addr = uintptr(unsafe.Pointer(p))
	r.local, r.localSize = uintptr(m.local), m.localSize
	r.victim, r.vicSize = uintptr(m.victim), m.victimSize
	walkLocals(r, m.local, m.localSize, "local")
	walkLocals(r, m.victim, m.victimSize, "victim")
}

// expect fails unless pool r holds exactly the given objects on one P:
// private first, then shared in Put order.
func expect(r *poolRecord, cache string, private uintptr, shared []uintptr) {
	if r.nentries != 1+len(shared) || r.nentries > len(r.entries) || r.ninternal > len(r.internals) {
		fail("%s: %d objects in the pool, want %d", r.name, r.nentries, 1+len(shared))
	}
	p := r.entries[0].p
	for i := 0; i < r.nentries; i++ {
		e := &r.entries[i]
		want, slot := private, "private"
		if i > 0 {
			want, slot = shared[i-1], "shared"
		}
		if e.p != p || e.cache != cache || e.slot != slot || e.addr != want {
			fail("%s: object %d is %#x on P%d %s %s, want %#x on P%d %s %s", r.name, i, e.addr, e.p,
				e.cache, e.slot, want, p, cache, slot)
		}
	}
}

// typeOf names the type the sample put at addr.
func typeOf(addr uintptr) string {
	switch {
	case addr == privAddr:
		return "*main.PrivItem"
	case addr == vPrivAddr:
		return "*main.VictimPrivItem"
	}
	for _, a := range sharedAddrs {
		if a == addr {
			return "*main.SharedItem"
		}
	}
	for _, a := range vSharedAddrs {
		if a == addr {
			return "*main.VictimSharedItem"
		}
	}
	for _, a := range heldAddrs {
		if a == addr {
			return "*main.HeldItem"
		}
	}
	return "?"
}

// ---- allocation-free JSON encoding into oracleBuf ----

func sep() {
	if n := len(oracleBuf); n > 0 {
		switch oracleBuf[n-1] {
		case '{', '[', ' ':
		default:
			oracleBuf = append(oracleBuf, ',', '\n')
		}
	}
}

func putStr(s string) {
	oracleBuf = append(oracleBuf, '"')
	oracleBuf = append(oracleBuf, s...) // the sample's strings need no escaping
	oracleBuf = append(oracleBuf, '"')
}

func key(k string) {
	sep()
	putStr(k)
	oracleBuf = append(oracleBuf, ':', ' ')
}

func u64(k string, v uint64) { key(k); oracleBuf = strconv.AppendUint(oracleBuf, v, 10) }
func i64(k string, v int64)  { key(k); oracleBuf = strconv.AppendInt(oracleBuf, v, 10) }
func str(k string, v string) { key(k); putStr(v) }
func open(c byte)            { sep(); oracleBuf = append(oracleBuf, c) }
func close(c byte)           { oracleBuf = append(oracleBuf, c) }

func addrs(k string, ps []uintptr) {
	key(k)
	oracleBuf = append(oracleBuf, '[')
	for _, p := range ps {
		sep()
		oracleBuf = strconv.AppendUint(oracleBuf, uint64(p), 10)
	}
	close(']')
}

func memstats(name string, m *runtime.MemStats) {
	key(name)
	open('{')
	u64("Alloc", m.Alloc)
	u64("TotalAlloc", m.TotalAlloc)
	u64("Mallocs", m.Mallocs)
	u64("Frees", m.Frees)
	u64("HeapAlloc", m.HeapAlloc)
	u64("HeapSys", m.HeapSys)
	u64("HeapIdle", m.HeapIdle)
	u64("HeapInuse", m.HeapInuse)
	u64("HeapReleased", m.HeapReleased)
	u64("HeapObjects", m.HeapObjects)
	u64("NumGC", uint64(m.NumGC))
	key("BySize")
	oracleBuf = append(oracleBuf, '[')
	for i := range m.BySize {
		open('{')
		u64("Size", uint64(m.BySize[i].Size))
		u64("Mallocs", m.BySize[i].Mallocs)
		u64("Frees", m.BySize[i].Frees)
		close('}')
	}
	close(']')
	close('}')
}

func encodePool(r *poolRecord) {
	open('{')
	str("Name", r.name)
	u64("Addr", uint64(r.addr))
	u64("Local", uint64(r.local))
	u64("LocalSize", uint64(r.localSize))
	u64("Victim", uint64(r.victim))
	u64("VictimSize", uint64(r.vicSize))
	addrs("Internals", r.internals[:r.ninternal])
	key("Entries")
	oracleBuf = append(oracleBuf, '[')
	for i := 0; i < r.nentries; i++ {
		e := &r.entries[i]
		open('{')
		i64("P", int64(e.p))
		str("Cache", e.cache)
		str("Slot", e.slot)
		u64("Addr", uint64(e.addr))
		str("Type", typeOf(e.addr))
		close('}')
	}
	close(']')
	close('}')
}

func encodeOracle() {
	oracleBuf = append(oracleBuf, '{')
	memstats("MemStats", &dumpStats)
	i64("GOMAXPROCS", int64(runtime.GOMAXPROCS(0)))
	str("GoVersion", runtime.Version())
	str("GOEXPERIMENT", experiment)
	str("Mode", mode)
	i64("Pid", int64(syscall.Getpid()))
	str("HeapDump", "heapdump")
	key("Pools")
	oracleBuf = append(oracleBuf, '[')
	for i := range pools {
		encodePool(&pools[i])
	}
	close(']')
	u64("AlsoHeld", uint64(sharedAddrs[alsoIx]))
	addrs("Payloads", payloadAddrs[:])
	u64("Holder", uint64(holderAddr))
	key("Churn")
	open('{')
	key("Kept")
	open('{')
	u64("24", uint64(len(keepA)))
	u64("288", uint64(len(keepB)))
	u64("1024", uint64(len(keepC)))
	close('}')
	u64("Allocated", nChurn)
	u64("Big", uint64(bigAddr))
	u64("BigSize", bigSize)
	close('}')
	oracleBuf = append(oracleBuf, '}', '\n')
}

// ---- main ----

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gopool: "+format+"\n", args...)
	os.Exit(1)
}

func dir(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i+1]
		}
	}
	return ""
}

//go:noinline
func setup() {
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
	flags := syscall.O_WRONLY | syscall.O_CREAT | syscall.O_TRUNC | syscall.O_CLOEXEC
	var err error
	if oracleFd, err = syscall.Open(path, flags, 0o644); err != nil {
		fail("open %s: %v", path, err)
	}
	if dumpFd, err = syscall.Open(dir(path)+"heapdump", flags, 0o644); err != nil {
		fail("open heapdump: %v", err)
	}
	oracleBuf = make([]byte, 0, 256<<10)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" {
				experiment = s.Value
			}
		}
	}
	if unsafe.Sizeof(poolMirror{}) != unsafe.Sizeof(sync.Pool{}) {
		fail("sync.Pool is %d bytes, the mirror %d: sync/pool.go changed", unsafe.Sizeof(sync.Pool{}),
			unsafe.Sizeof(poolMirror{}))
	}

	churn()
	threads.Spare()
	runtime.GC()
	putVictim() // moves to the victim cache at the next GC, the last one
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcBeforeVictim = ms.NumGC
	debug.FreeOSMemory() // one GC, then the scavenger: released pages
	runtime.ReadMemStats(&ms)
	gcAfterVictim = ms.NumGC
	runtime.ReadMemStats(&setupStats)

	putPools()
	record(&pools[0], "main.privPool", &privPool)
	record(&pools[1], "main.sharedPool", &sharedPool)
	record(&pools[2], "main.victimPool", &victimPool)
	record(&pools[3], "main.Holder.pool", &holder.pool)
	expect(&pools[0], "local", privAddr, nil)
	expect(&pools[1], "local", sharedAddrs[0], sharedAddrs[1:])
	expect(&pools[2], "victim", vPrivAddr, vSharedAddrs[:])
	expect(&pools[3], "local", heldAddrs[0], heldAddrs[1:])
	if pools[2].local != 0 {
		fail("victimPool: a local cache after the last GC")
	}
}

func main() {
	scrub()
	self := syscall.Getpid()
	runtime.LockOSThread()
	setup()
	scrub()

	// ---- no heap allocation from here on ----
	runtime.ReadMemStats(&beforeStats)
	debug.WriteHeapDump(uintptr(dumpFd))
	runtime.ReadMemStats(&dumpStats)
	encodeOracle()
	ok := len(oracleBuf) < cap(oracleBuf) && threads.WriteAll(oracleFd, oracleBuf) && threads.Close(dumpFd)
	// Should the runtime still move pages after the dump (a thread's or a
	// stack's from heap pages), read MemStats again and rewrite the oracle
	// until it describes the heap as it stays.
	for i := 0; i < 3 && ok; i++ {
		runtime.ReadMemStats(&afterStats)
		if afterStats.HeapIdle == dumpStats.HeapIdle && afterStats.HeapReleased == dumpStats.HeapReleased &&
			afterStats.HeapSys == dumpStats.HeapSys {
			break
		}
		dumpStats = afterStats
		oracleBuf = oracleBuf[:0]
		encodeOracle()
		ok = len(oracleBuf) < cap(oracleBuf) && threads.Rewind(oracleFd) && threads.WriteAll(oracleFd, oracleBuf)
	}
	ok = ok && threads.Close(oracleFd)
	gcAfterSetup := dumpStats.NumGC != setupStats.NumGC
	dumpAllocated := beforeStats.Mallocs != dumpStats.Mallocs || beforeStats.Frees != dumpStats.Frees ||
		beforeStats.HeapAlloc != dumpStats.HeapAlloc || beforeStats.TotalAlloc != dumpStats.TotalAlloc
	scrub()

	if mode == "check" {
		runtime.ReadMemStats(&afterStats)
		if !ok {
			fail("writing the oracle or the heap dump failed (oracle %d of %d bytes)", len(oracleBuf), cap(oracleBuf))
		}
		if gcAfterSetup {
			fail("a GC ran after the last one of setup (NumGC %d -> %d)", setupStats.NumGC, dumpStats.NumGC)
		}
		if gcAfterVictim != gcBeforeVictim+1 {
			fail("FreeOSMemory ran %d GCs, want 1", gcAfterVictim-gcBeforeVictim)
		}
		if dumpAllocated {
			fail("WriteHeapDump allocated: Mallocs %d -> %d", beforeStats.Mallocs, dumpStats.Mallocs)
		}
		a, b := &dumpStats, &afterStats
		if a.Mallocs != b.Mallocs || a.Frees != b.Frees || a.HeapAlloc != b.HeapAlloc ||
			a.HeapIdle != b.HeapIdle || a.HeapReleased != b.HeapReleased {
			fail("MemStats changed after the heap dump: Mallocs %d -> %d, Frees %d -> %d, HeapAlloc %d -> %d, "+
				"HeapIdle %d -> %d, HeapReleased %d -> %d", a.Mallocs, b.Mallocs, a.Frees, b.Frees,
				a.HeapAlloc, b.HeapAlloc, a.HeapIdle, b.HeapIdle, a.HeapReleased, b.HeapReleased)
		}
		fmt.Printf("ok: no allocation from the heap dump on (Mallocs %d, HeapAlloc %d, %d bytes of oracle; "+
			"pools on P%d, victim on P%d)\n", dumpStats.Mallocs, dumpStats.HeapAlloc, len(oracleBuf),
			pools[1].entries[0].p, pools[2].entries[0].p)
		return
	}
	if !ok || gcAfterSetup || dumpAllocated {
		syscall.Write(2, []byte("gopool: oracle/heap dump write failed, a GC ran after setup, or the heap dump allocated\n"))
		syscall.Exit(3)
	}
	if mode == "crash" {
		syscall.Tgkill(self, syscall.Gettid(), syscall.SIGABRT)
		for {
		}
	}
	for {
		syscall.Kill(self, syscall.SIGSTOP)
	}
}
