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
	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
	"runtime"
	"runtime/debug"
	"sync"
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

	dumpStats, beforeStats, setupStats, afterStats runtime.MemStats
	gcBeforeVictim, gcAfterVictim                  uint32
	oracleFd, dumpFd                               int
)

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
		oracle.Fail("%s: %d objects in the pool, want %d", r.name, r.nentries, 1+len(shared))
	}
	p := r.entries[0].p
	for i := 0; i < r.nentries; i++ {
		e := &r.entries[i]
		want, slot := private, "private"
		if i > 0 {
			want, slot = shared[i-1], "shared"
		}
		if e.p != p || e.cache != cache || e.slot != slot || e.addr != want {
			oracle.Fail("%s: object %d is %#x on P%d %s %s, want %#x on P%d %s %s", r.name, i, e.addr, e.p,
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

// ---- the oracle ----

func encodePool(r *poolRecord) {
	oracle.Open('{')
	oracle.Str("Name", r.name)
	oracle.U64("Addr", uint64(r.addr))
	oracle.U64("Local", uint64(r.local))
	oracle.U64("LocalSize", uint64(r.localSize))
	oracle.U64("Victim", uint64(r.victim))
	oracle.U64("VictimSize", uint64(r.vicSize))
	oracle.Addrs("Internals", r.internals[:r.ninternal])
	oracle.Key("Entries")
	oracle.Buf = append(oracle.Buf, '[')
	for i := 0; i < r.nentries; i++ {
		e := &r.entries[i]
		oracle.Open('{')
		oracle.I64("P", int64(e.p))
		oracle.Str("Cache", e.cache)
		oracle.Str("Slot", e.slot)
		oracle.U64("Addr", uint64(e.addr))
		oracle.Str("Type", typeOf(e.addr))
		oracle.Close('}')
	}
	oracle.Close(']')
	oracle.Close('}')
}

func encodeOracle() {
	oracle.Buf = append(oracle.Buf, '{')
	oracle.MemStats("MemStats", &dumpStats)
	oracle.Process()
	oracle.Str("HeapDump", "heapdump")
	oracle.Key("Pools")
	oracle.Buf = append(oracle.Buf, '[')
	for i := range pools {
		encodePool(&pools[i])
	}
	oracle.Close(']')
	oracle.U64("AlsoHeld", uint64(sharedAddrs[alsoIx]))
	oracle.Addrs("Payloads", payloadAddrs[:])
	oracle.U64("Holder", uint64(holderAddr))
	oracle.Key("Churn")
	oracle.Open('{')
	oracle.Key("Kept")
	oracle.Open('{')
	oracle.U64("24", uint64(len(keepA)))
	oracle.U64("288", uint64(len(keepB)))
	oracle.U64("1024", uint64(len(keepC)))
	oracle.Close('}')
	oracle.U64("Allocated", nChurn)
	oracle.U64("Big", uint64(bigAddr))
	oracle.U64("BigSize", bigSize)
	oracle.Close('}')
	oracle.Close('}')
}

// ---- main ----

//go:noinline
func setup() {
	oracleFd, dumpFd = oracle.Begin("gopool", 256<<10, true)
	if unsafe.Sizeof(poolMirror{}) != unsafe.Sizeof(sync.Pool{}) {
		oracle.Fail("sync.Pool is %d bytes, the mirror %d: sync/pool.go changed", unsafe.Sizeof(sync.Pool{}),
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
		oracle.Fail("victimPool: a local cache after the last GC")
	}
}

func main() {
	oracle.Scrub()
	runtime.LockOSThread()
	setup()
	oracle.AwaitIdle()
	oracle.Scrub()

	// ---- no heap allocation from here on ----
	runtime.ReadMemStats(&beforeStats)
	debug.WriteHeapDump(uintptr(dumpFd))
	runtime.ReadMemStats(&dumpStats)
	encodeOracle()
	ok := oracle.Write(oracleFd) && threads.Close(dumpFd)
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
		oracle.Buf = oracle.Buf[:0]
		encodeOracle()
		ok = threads.Rewind(oracleFd) && oracle.Write(oracleFd)
	}
	ok = ok && threads.Close(oracleFd)
	gcAfterSetup := dumpStats.NumGC != setupStats.NumGC
	dumpAllocated := beforeStats.Mallocs != dumpStats.Mallocs || beforeStats.Frees != dumpStats.Frees ||
		beforeStats.HeapAlloc != dumpStats.HeapAlloc || beforeStats.TotalAlloc != dumpStats.TotalAlloc
	oracle.Scrub()

	if oracle.Mode == "check" {
		runtime.ReadMemStats(&afterStats)
		if !ok {
			oracle.Fail("writing the oracle or the heap dump failed (oracle %d of %d bytes)", len(oracle.Buf), cap(oracle.Buf))
		}
		if gcAfterSetup {
			oracle.Fail("a GC ran after the last one of setup (NumGC %d -> %d)", setupStats.NumGC, dumpStats.NumGC)
		}
		if gcAfterVictim != gcBeforeVictim+1 {
			oracle.Fail("FreeOSMemory ran %d GCs, want 1", gcAfterVictim-gcBeforeVictim)
		}
		if dumpAllocated {
			oracle.Fail("WriteHeapDump allocated: Mallocs %d -> %d", beforeStats.Mallocs, dumpStats.Mallocs)
		}
		a, b := &dumpStats, &afterStats
		if a.Mallocs != b.Mallocs || a.Frees != b.Frees || a.HeapAlloc != b.HeapAlloc ||
			a.HeapIdle != b.HeapIdle || a.HeapReleased != b.HeapReleased {
			oracle.Fail("MemStats changed after the heap dump: Mallocs %d -> %d, Frees %d -> %d, HeapAlloc %d -> %d, "+
				"HeapIdle %d -> %d, HeapReleased %d -> %d", a.Mallocs, b.Mallocs, a.Frees, b.Frees,
				a.HeapAlloc, b.HeapAlloc, a.HeapIdle, b.HeapIdle, a.HeapReleased, b.HeapReleased)
		}
		fmt.Printf("ok: no allocation from the heap dump on (Mallocs %d, HeapAlloc %d, %d bytes of oracle; "+
			"pools on P%d, victim on P%d)\n", dumpStats.Mallocs, dumpStats.HeapAlloc, len(oracle.Buf),
			pools[1].entries[0].p, pools[2].entries[0].p)
		return
	}
	oracle.End(ok && !gcAfterSetup && !dumpAllocated,
		"oracle/heap dump write failed, a GC ran after setup, or the heap dump allocated")
}
