// goholds builds heap objects whose ownership is known by construction, for
// memdbg's who-holds, retained and top-retainers (tests/test_holds.py):
//
//	chain     main.chainRoot -> Hop1 -> Hop2 -> Hop3 -> Hop4 -> Hop5 (.next each)
//	twin      one Twin (with a TwinChild) held by two globals, main.twinA and main.twinB
//	cycle     main.cycleRoot -> Cyc0 -> Cyc1 -> Cyc2 -> Cyc0 (.next each)
//	stack     a StackHeld held only by a local variable of main.holdOnStack, parked
//	finalizer a FinHeld held only by the closure that is the finalizer of a FinObj
//	pool      a PoolItem put into the global sync.Pool main.pool after the last GC
//	          (in the private slot of the P that ran the Put), a VictimItem put into
//	          main.victimPool before the last GC (so in its victim cache)
//	map       100 *Val values of main.valMap (map[string]*Val), keys "k0".."k99"
//	interface main.anyRoot (an `any`) holds a *Iface whose field `inner any` holds a
//	          boxed IfaceVal
//	tree      main.treeRoot -> Tree -> .kids ([1000]*Leaf) -> Leaf -> .data -> LeafData
//	garbage   Junk objects allocated after the last GC and dropped
//	weak      (go1.24+) a WeakOnly allocated after the last GC, referred to only by
//	          a weak.Pointer (main.weakRoot)
//
// and records in its oracle, for each scenario, the target, the roots memdbg
// should name, the expected shortest path, and for each retainer the set of
// objects only it holds (its dominator subtree): the test sums their slot
// sizes from the heap dump.
//
// Like samples/goobjects it writes runtime/debug.WriteHeapDump ("heapdump"
// next to the oracle), encodes the oracle without allocating and then
// crashes (MEMDBG_SAMPLE_MODE=crash), stops (stop) or verifies that nothing
// allocated from the heap dump on (check).
//
// Conservative stack scanning: memdbg scans goroutine stacks word by word, so
// a stale copy of a pointer in a dead slot of a live frame would be a root.
// The sample keeps its pointers off the stacks that stay alive: every stack
// is grown to its final size before any sample object exists, the work is
// done in callees that have returned, and oracle.Scrub() zeroes 16 KiB below the
// live frames before a goroutine parks and before the process stops.
package main

import (
	"fmt"
	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"unsafe"
)

// ---- the distinctive types (sizes on amd64; none is a tiny object) ----

type Hop1 struct {
	id   int64
	next *Hop2
	pad  int64
}

type Hop2 struct {
	id   int64
	next *Hop3
	pad  int64
}

type Hop3 struct {
	id   int64
	next *Hop4
	pad  int64
}

type Hop4 struct {
	id   int64
	next *Hop5
	pad  int64
}

// Hop5: 24 B, no pointers: the chain's target.
type Hop5 struct{ id, pad1, pad2 int64 }

type Twin struct {
	id    int64
	child *TwinChild
	pad   int64
}

type TwinChild struct{ v [4]int64 }

type Cyc struct {
	id   int64
	next *Cyc
	pad  int64
}

type StackHeld struct{ v [8]int64 }

// FinObj has a finalizer whose closure alone holds a FinHeld.
type FinObj struct{ v [4]int64 }

type FinHeld struct{ v [5]int64 }

type PoolItem struct{ v [6]int64 }

type VictimItem struct{ v [7]int64 }

type Val struct {
	id  int64
	tag [3]int64
}

type Iface struct {
	id    int64
	inner any
}

type IfaceVal struct{ a, b, c int64 }

type Junk struct {
	id   int64
	next *Junk
	pad  [2]int64
}

type Tree struct {
	name string
	kids []*Leaf
	id   int64
}

type Leaf struct {
	id   int64
	data *LeafData
	pad  [4]int64
}

type LeafData struct{ v [7]int64 }

const (
	nHops  = 5
	nCyc   = 3
	nVals  = 100
	nLeaf  = 1000
	nJunk  = 20
	leafIx = 7 // the leaf the tests follow
)

var mapKeys = [...]int{0, 7, 42, 99} // the map values the tests follow

var (
	// The roots.
	chainRoot        *Hop1
	twinA, twinB     *Twin
	cycleRoot        *Cyc
	finObj           *FinObj
	pool, victimPool sync.Pool
	valMap           map[string]*Val
	anyRoot          any
	treeRoot         *Tree
	junkSink         *Junk
	blockCh, readyCh chan struct{}

	// Addresses only (uintptr: not roots).
	hopAddrs                    [nHops]uintptr
	twinAddr, twinChildAddr     uintptr
	cycAddrs                    [nCyc]uintptr
	stackAddr                   uintptr
	stackGoid                   int64
	finObjAddr, finHeldAddr     uintptr
	finClosureAddr              uintptr
	finClosureFunc              string
	poolAddr, poolLocalAddr     uintptr
	poolP                       int
	poolSlot                    string
	victimAddr, victimLocalAddr uintptr
	victimP                     int
	victimSlot                  string
	valAddrs                    [nVals]uintptr
	ifaceAddr, ifaceValAddr     uintptr
	junkAddrs                   [nJunk]uintptr
	treeAddr, kidsAddr          uintptr
	leafAddrs, dataAddrs        [nLeaf]uintptr
	weakAddr                    uintptr // 0 before go1.24

	dumpStats, beforeStats, setupStats, afterStats runtime.MemStats
	gcBeforeVictim, gcAfterVictim                  uint32
	oracleFd, dumpFd                               int
	numGoroutine                                   int
)

// ---- stacks ----

// goid parses "goroutine N [" from runtime.Stack of the calling goroutine.
func goid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	s := buf[:n]
	const p = "goroutine "
	if len(s) < len(p) || string(s[:len(p)]) != p {
		return -1
	}
	var id int64
	i := len(p)
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		id = id*10 + int64(s[i]-'0')
	}
	if i == len(p) {
		return -1
	}
	return id
}

//go:noinline
func newStackHeld() *StackHeld {
	s := &StackHeld{}
	s.v[0] = 77
	return s
}

// holdOnStack keeps its StackHeld only in the local variable x while it waits.
//
//go:noinline
func holdOnStack() {
	oracle.Scrub() // grow the stack to its final size before x exists
	stackGoid = goid()
	x := newStackHeld()
	stackAddr = uintptr(unsafe.Pointer(x))
	oracle.Scrub()
	readyCh <- struct{}{}
	<-blockCh
	runtime.KeepAlive(x)
}

// ---- building ----

//go:noinline
func buildChain() {
	h5 := &Hop5{id: 5}
	h4 := &Hop4{id: 4, next: h5}
	h3 := &Hop3{id: 3, next: h4}
	h2 := &Hop2{id: 2, next: h3}
	h1 := &Hop1{id: 1, next: h2}
	chainRoot = h1
	hopAddrs = [nHops]uintptr{uintptr(unsafe.Pointer(h1)), uintptr(unsafe.Pointer(h2)),
		uintptr(unsafe.Pointer(h3)), uintptr(unsafe.Pointer(h4)), uintptr(unsafe.Pointer(h5))}
}

//go:noinline
func buildTwin() {
	t := &Twin{id: 2, child: &TwinChild{}}
	twinA, twinB = t, t
	twinAddr, twinChildAddr = uintptr(unsafe.Pointer(t)), uintptr(unsafe.Pointer(t.child))
}

//go:noinline
func buildCycle() {
	var c [nCyc]*Cyc
	for i := range c {
		c[i] = &Cyc{id: int64(i)}
	}
	for i := range c {
		c[i].next = c[(i+1)%nCyc]
		cycAddrs[i] = uintptr(unsafe.Pointer(c[i]))
	}
	cycleRoot = c[0]
}

//go:noinline
func newFinHeld() *FinHeld {
	f := &FinHeld{}
	f.v[0] = 5
	return f
}

var finSink *FinHeld

//go:noinline
func setupFinalizer() {
	o := &FinObj{}
	held := newFinHeld()
	fn := func(*FinObj) { finSink = held }
	runtime.SetFinalizer(o, fn)
	finObj = o
	finObjAddr = uintptr(unsafe.Pointer(o))
	finHeldAddr = uintptr(unsafe.Pointer(held))
	fv := *(*unsafe.Pointer)(unsafe.Pointer(&fn)) // the funcval: the closure object
	finClosureAddr = uintptr(fv)
	finClosureFunc = runtime.FuncForPC(*(*uintptr)(fv)).Name()
}

//go:noinline
func buildMap() {
	valMap = make(map[string]*Val, nVals) // sized up front: no growth in progress
	for i := 0; i < nVals; i++ {
		v := &Val{id: int64(i)}
		valMap["k"+strconv.Itoa(i)] = v
		valAddrs[i] = uintptr(unsafe.Pointer(v))
	}
}

// buildIface boxes an IfaceVal made of n (a constant would be boxed in rodata).
//
//go:noinline
func buildIface(n int64) {
	p := &Iface{id: n, inner: IfaceVal{a: n, b: n + 1, c: n + 2}}
	anyRoot = p
	ifaceAddr = uintptr(unsafe.Pointer(p))
	ifaceValAddr = uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&p.inner))[1])
}

//go:noinline
func buildTree() {
	t := &Tree{name: "tree", id: 1}
	t.kids = make([]*Leaf, nLeaf)
	for i := range t.kids {
		l := &Leaf{id: int64(i), data: &LeafData{}}
		l.data.v[0] = int64(i)
		t.kids[i] = l
		leafAddrs[i] = uintptr(unsafe.Pointer(l))
		dataAddrs[i] = uintptr(unsafe.Pointer(l.data))
	}
	treeRoot = t
	treeAddr = uintptr(unsafe.Pointer(t))
	kidsAddr = uintptr(unsafe.Pointer(&t.kids[0]))
}

//go:noinline
func startHolder() {
	blockCh = make(chan struct{})
	readyCh = make(chan struct{})
	go holdOnStack()
	<-readyCh
}

// ---- sync.Pool internals (sync/pool.go, unchanged go1.22..go1.26) ----

type poolMirror struct {
	noCopy     struct{}
	local      unsafe.Pointer
	localSize  uintptr
	victim     unsafe.Pointer
	victimSize uintptr
	New        func() any
}

type poolLocalMirror struct {
	private    any
	sharedHead unsafe.Pointer
	sharedTail unsafe.Pointer
	pad        [96]byte
}

// findInPool looks for target in the per-P array `arr` of n poolLocals:
// the P index and "private", or "shared" when a P's shared chain is non-empty
// and no private slot holds it; -1 when not found.
func findInPool(arr unsafe.Pointer, n uintptr, target uintptr) (int, string) {
	shared := -1
	for i := uintptr(0); i < n; i++ {
		l := (*poolLocalMirror)(unsafe.Add(arr, i*unsafe.Sizeof(poolLocalMirror{})))
		if uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&l.private))[1]) == target {
			return int(i), "private"
		}
		if l.sharedHead != nil && shared < 0 {
			shared = int(i)
		}
	}
	if shared >= 0 {
		return shared, "shared"
	}
	return -1, ""
}

//go:noinline
func putVictim() {
	v := &VictimItem{}
	v.v[0] = 9
	victimAddr = uintptr(unsafe.Pointer(v))
	victimPool.Put(v)
}

//go:noinline
func putPool() {
	p := &PoolItem{}
	p.v[0] = 8
	poolAddr = uintptr(unsafe.Pointer(p))
	pool.Put(p)
}

//go:noinline
func makeGarbage() {
	for i := 0; i < nJunk; i++ {
		junkSink = &Junk{id: int64(i), next: junkSink}
		junkAddrs[i] = uintptr(unsafe.Pointer(junkSink))
	}
	junkSink = nil
}

func buildHeap() {
	buildChain()
	buildTwin()
	buildCycle()
	setupFinalizer()
	buildMap()
	buildIface(int64(len(valMap)))
	buildTree()
	startHolder()
}

// ---- the oracle ----

// rootName: "goroutine N frame main.holdOnStack", "finalizer of 0x...", ...
// written straight into the buffer.
func putGoroutineRoot() {
	oracle.Buf = append(oracle.Buf, `"goroutine `...)
	oracle.Buf = strconv.AppendInt(oracle.Buf, stackGoid, 10)
	oracle.Buf = append(oracle.Buf, ` frame main.holdOnStack"`...)
}

func putFinalizerRoot() {
	oracle.Buf = append(oracle.Buf, `"finalizer of 0x`...)
	oracle.Buf = strconv.AppendUint(oracle.Buf, uint64(finObjAddr), 16)
	oracle.Buf = append(oracle.Buf, '"')
}

func putPoolRoot(name string, p int) {
	oracle.Buf = append(oracle.Buf, `"sync.Pool `...)
	oracle.Buf = append(oracle.Buf, name...)
	oracle.Buf = append(oracle.Buf, ", P"...)
	oracle.Buf = strconv.AppendInt(oracle.Buf, int64(p), 10)
	oracle.Buf = append(oracle.Buf, '"')
}

// Root name kinds for scenario().
const (
	rootGlobal = iota
	rootStack
	rootFinalizer
	rootPool
	rootVictim
	rootNone
)

func putRoot(kind int, global string) {
	oracle.Sep()
	switch kind {
	case rootStack:
		putGoroutineRoot()
	case rootFinalizer:
		putFinalizerRoot()
	case rootPool:
		putPoolRoot("main.pool", poolP)
	case rootVictim:
		putPoolRoot("main.victimPool", victimP)
	default:
		oracle.PutStr(global)
	}
}

// hop is one expected hop: address, type and via ("" = not checked).
type hop struct {
	addr uintptr
	typ  string
	via  string
}

func hops(hs ...hop) []hop { return hs }

// scenario writes one who-holds expectation:
//
//	Name, Target, Type, Status ("reachable", "garbage", "weak-only"),
//	RootKind, Roots (prefixes of root names: every path's root starts with one
//	of them, each of them starts some path's root), Paths (exact number of
//	distinct paths, -1 = not fixed), Hops (the shortest path, root's first
//	object first, target last), HopsExact (false: Hops is only the path's tail).
func scenario(name string, target uintptr, typ, status string, rootKind int, roots []string,
	npaths int, hs []hop, exact bool) {
	oracle.Open('{')
	oracle.Str("Name", name)
	oracle.U64("Target", uint64(target))
	oracle.Str("Type", typ)
	oracle.Str("Status", status)
	switch rootKind {
	case rootGlobal:
		oracle.Str("RootKind", "global")
	case rootStack:
		oracle.Str("RootKind", "stack")
	case rootFinalizer:
		oracle.Str("RootKind", "finalizer")
	case rootPool, rootVictim:
		oracle.Str("RootKind", "pool")
	default:
		oracle.Str("RootKind", "")
	}
	oracle.Key("Roots")
	oracle.Buf = append(oracle.Buf, '[')
	if rootKind != rootNone {
		if len(roots) == 0 {
			putRoot(rootKind, "")
		}
		for _, r := range roots {
			putRoot(rootKind, r)
		}
	}
	oracle.Close(']')
	oracle.I64("Paths", int64(npaths))
	oracle.Key("Hops")
	oracle.Buf = append(oracle.Buf, '[')
	for _, h := range hs {
		oracle.Open('{')
		oracle.U64("Addr", uint64(h.addr))
		oracle.Str("Type", h.typ)
		oracle.Str("Via", h.via)
		oracle.Close('}')
	}
	oracle.Close(']')
	oracle.Key("HopsExact")
	oracle.Buf = strconv.AppendBool(oracle.Buf, exact)
	oracle.Close('}')
}

// retained writes one retained-size expectation: Exclusive = the objects only
// Addr holds (itself included: its dominator subtree), Dominators = its
// dominators from the immediate one up (root excluded; null = not checked),
// Root = prefix of the root's name ("" = dominated by the root set only).
func retained(name string, addr uintptr, typ string, exclusive []uintptr, extra []uintptr,
	doms []uintptr, checkDoms bool, rootKind int, global string) {
	oracle.Open('{')
	oracle.Str("Name", name)
	oracle.U64("Addr", uint64(addr))
	oracle.Str("Type", typ)
	oracle.Key("Exclusive")
	oracle.Buf = append(oracle.Buf, '[')
	for _, p := range exclusive {
		oracle.Elem(uint64(p))
	}
	for _, p := range extra {
		oracle.Elem(uint64(p))
	}
	oracle.Close(']')
	oracle.Key("Dominators")
	if checkDoms {
		oracle.Buf = append(oracle.Buf, '[')
		for _, p := range doms {
			oracle.Elem(uint64(p))
		}
		oracle.Close(']')
	} else {
		oracle.Buf = append(oracle.Buf, "null"...)
	}
	oracle.Key("Root")
	if rootKind == rootNone {
		oracle.PutStr("")
	} else {
		putRoot(rootKind, global)
	}
	oracle.Close('}')
}

var (
	strChainRoot = []string{"main.chainRoot"}
	strTwins     = []string{"main.twinA", "main.twinB"}
	strCycleRoot = []string{"main.cycleRoot"}
	strValMap    = []string{"main.valMap"}
	strAnyRoot   = []string{"main.anyRoot"}
	strTreeRoot  = []string{"main.treeRoot"}
	strNone      = []string{}
	viaMapValue  [len(mapKeys)]string
	viaLeaf      string
	closureType  string
	treeExcl     [2 + 2*nLeaf]uintptr
)

// prepareStrings makes the strings the encoder needs (before the heap dump).
func prepareStrings() {
	for i, k := range mapKeys {
		viaMapValue[i] = `map value (key "k` + strconv.Itoa(k) + `")`
	}
	viaLeaf = "[" + strconv.Itoa(leafIx) + "]"
	closureType = "closure " + finClosureFunc
	treeExcl[0], treeExcl[1] = treeAddr, kidsAddr
	copy(treeExcl[2:], leafAddrs[:])
	copy(treeExcl[2+nLeaf:], dataAddrs[:])
}

func encodeOracle() {
	oracle.Buf = append(oracle.Buf, '{')
	oracle.MemStats("MemStats", &dumpStats)
	oracle.U64("HeapAlloc", dumpStats.HeapAlloc)
	oracle.U64("HeapObjects", dumpStats.HeapObjects)
	oracle.U64("NumGC", uint64(dumpStats.NumGC))
	oracle.I64("NumGoroutine", int64(numGoroutine))
	oracle.Process()
	oracle.Str("HeapDump", "heapdump")
	oracle.U64("GarbageNumGC", uint64(setupStats.NumGC))

	// Raw facts.
	oracle.Addrs("Chain", hopAddrs[:])
	oracle.Addrs("Cycle", cycAddrs[:])
	oracle.Key("Twin")
	oracle.Open('{')
	oracle.U64("Addr", uint64(twinAddr))
	oracle.U64("Child", uint64(twinChildAddr))
	oracle.Close('}')
	oracle.Key("Interface")
	oracle.Open('{')
	oracle.U64("Addr", uint64(ifaceAddr))
	oracle.U64("Boxed", uint64(ifaceValAddr))
	oracle.Close('}')
	oracle.Key("Stack")
	oracle.Open('{')
	oracle.I64("Goroutine", stackGoid)
	oracle.Str("Func", "main.holdOnStack")
	oracle.U64("Addr", uint64(stackAddr))
	oracle.Close('}')
	oracle.Key("Finalizer")
	oracle.Open('{')
	oracle.U64("Object", uint64(finObjAddr))
	oracle.U64("Closure", uint64(finClosureAddr))
	oracle.Str("ClosureFunc", finClosureFunc)
	oracle.U64("Held", uint64(finHeldAddr))
	oracle.Close('}')
	oracle.Key("Pool")
	oracle.Open('{')
	oracle.U64("Item", uint64(poolAddr))
	oracle.U64("Local", uint64(poolLocalAddr))
	oracle.I64("P", int64(poolP))
	oracle.Str("Slot", poolSlot)
	oracle.U64("VictimItem", uint64(victimAddr))
	oracle.U64("VictimLocal", uint64(victimLocalAddr))
	oracle.I64("VictimP", int64(victimP))
	oracle.Str("VictimSlot", victimSlot)
	oracle.Close('}')
	oracle.Key("Map")
	oracle.Open('{')
	oracle.Key("Keys")
	oracle.Buf = append(oracle.Buf, '[')
	for i := 0; i < nVals; i++ {
		oracle.Sep()
		oracle.Buf = append(oracle.Buf, `"k`...)
		oracle.Buf = strconv.AppendInt(oracle.Buf, int64(i), 10)
		oracle.Buf = append(oracle.Buf, '"')
	}
	oracle.Close(']')
	oracle.Addrs("Values", valAddrs[:])
	oracle.Close('}')
	oracle.Key("Tree")
	oracle.Open('{')
	oracle.U64("Root", uint64(treeAddr))
	oracle.U64("Kids", uint64(kidsAddr))
	oracle.Addrs("Leaves", leafAddrs[:])
	oracle.Addrs("Data", dataAddrs[:])
	oracle.Close('}')
	oracle.Addrs("Garbage", junkAddrs[:])
	oracle.U64("Weak", uint64(weakAddr))

	// who-holds expectations.
	oracle.Key("Holds")
	oracle.Buf = append(oracle.Buf, '[')
	scenario("chain", hopAddrs[4], "main.Hop5", "reachable", rootGlobal, strChainRoot, 1, hops(
		hop{hopAddrs[0], "main.Hop1", ""}, hop{hopAddrs[1], "main.Hop2", ".next"},
		hop{hopAddrs[2], "main.Hop3", ".next"}, hop{hopAddrs[3], "main.Hop4", ".next"},
		hop{hopAddrs[4], "main.Hop5", ".next"}), true)
	scenario("chain-hop3", hopAddrs[2], "main.Hop3", "reachable", rootGlobal, strChainRoot, 1, hops(
		hop{hopAddrs[0], "main.Hop1", ""}, hop{hopAddrs[1], "main.Hop2", ".next"},
		hop{hopAddrs[2], "main.Hop3", ".next"}), true)
	scenario("twin", twinAddr, "main.Twin", "reachable", rootGlobal, strTwins, 2, hops(
		hop{twinAddr, "main.Twin", ""}), true)
	scenario("twin-child", twinChildAddr, "main.TwinChild", "reachable", rootGlobal, strTwins, 2, hops(
		hop{twinAddr, "main.Twin", ""}, hop{twinChildAddr, "main.TwinChild", ".child"}), true)
	scenario("cycle", cycAddrs[2], "main.Cyc", "reachable", rootGlobal, strCycleRoot, 1, hops(
		hop{cycAddrs[0], "main.Cyc", ""}, hop{cycAddrs[1], "main.Cyc", ".next"},
		hop{cycAddrs[2], "main.Cyc", ".next"}), true)
	scenario("stack", stackAddr, "main.StackHeld", "reachable", rootStack, strNone, -1, hops(
		hop{stackAddr, "main.StackHeld", ""}), true)
	scenario("finalizer", finHeldAddr, "main.FinHeld", "reachable", rootFinalizer, strNone, 1, hops(
		hop{finClosureAddr, closureType, ""}, hop{finHeldAddr, "main.FinHeld", "closure var"}), true)
	scenario("pool", poolAddr, "main.PoolItem", "reachable", rootPool, strNone, 1, hops(
		hop{poolAddr, "main.PoolItem", ""}), false)
	scenario("pool-victim", victimAddr, "main.VictimItem", "reachable", rootVictim, strNone, 1, hops(
		hop{victimAddr, "main.VictimItem", ""}), false)
	for i, k := range mapKeys {
		scenario("map", valAddrs[k], "main.Val", "reachable", rootGlobal, strValMap, 1, hops(
			hop{valAddrs[k], "main.Val", viaMapValue[i]}), false)
	}
	scenario("interface", ifaceAddr, "main.Iface", "reachable", rootGlobal, strAnyRoot, 1, hops(
		hop{ifaceAddr, "main.Iface", ""}), true)
	scenario("interface-boxed", ifaceValAddr, "main.IfaceVal", "reachable", rootGlobal, strAnyRoot, 1, hops(
		hop{ifaceAddr, "main.Iface", ""}, hop{ifaceValAddr, "main.IfaceVal", ".inner"}), true)
	scenario("tree-leaf", leafAddrs[leafIx], "main.Leaf", "reachable", rootGlobal, strTreeRoot, 1, hops(
		hop{treeAddr, "main.Tree", ""}, hop{kidsAddr, "[1000]*main.Leaf", ".kids"},
		hop{leafAddrs[leafIx], "main.Leaf", viaLeaf}), true)
	scenario("tree-data", dataAddrs[leafIx], "main.LeafData", "reachable", rootGlobal, strTreeRoot, 1, hops(
		hop{treeAddr, "main.Tree", ""}, hop{kidsAddr, "[1000]*main.Leaf", ".kids"},
		hop{leafAddrs[leafIx], "main.Leaf", viaLeaf}, hop{dataAddrs[leafIx], "main.LeafData", ".data"}), true)
	for i := range junkAddrs {
		if i == 0 || i == nJunk-1 {
			scenario("garbage", junkAddrs[i], "main.Junk", "garbage", rootNone, strNone, 0, nil, true)
		}
	}
	if weakAddr != 0 {
		scenario("weak", weakAddr, "main.WeakOnly", "weak-only", rootNone, strNone, 0, nil, true)
	}
	oracle.Close(']')

	// retained expectations.
	oracle.Key("Retained")
	oracle.Buf = append(oracle.Buf, '[')
	retained("tree", treeAddr, "main.Tree", treeExcl[:], nil, nil, true, rootGlobal, "main.treeRoot")
	retained("tree-kids", kidsAddr, "[1000]*main.Leaf", treeExcl[1:], nil,
		[]uintptr{treeAddr}, true, rootGlobal, "main.treeRoot")
	retained("tree-leaf", leafAddrs[leafIx], "main.Leaf", leafAddrs[leafIx:leafIx+1], dataAddrs[leafIx:leafIx+1],
		[]uintptr{kidsAddr, treeAddr}, true, rootGlobal, "main.treeRoot")
	retained("twin", twinAddr, "main.Twin", []uintptr{twinAddr, twinChildAddr}, nil, nil, true, rootNone, "")
	retained("chain-hop1", hopAddrs[0], "main.Hop1", hopAddrs[0:], nil, nil, true, rootGlobal, "main.chainRoot")
	retained("chain-hop2", hopAddrs[1], "main.Hop2", hopAddrs[1:], nil,
		[]uintptr{hopAddrs[0]}, true, rootGlobal, "main.chainRoot")
	retained("chain-hop3", hopAddrs[2], "main.Hop3", hopAddrs[2:], nil,
		[]uintptr{hopAddrs[1], hopAddrs[0]}, true, rootGlobal, "main.chainRoot")
	retained("chain-hop4", hopAddrs[3], "main.Hop4", hopAddrs[3:], nil,
		[]uintptr{hopAddrs[2], hopAddrs[1], hopAddrs[0]}, true, rootGlobal, "main.chainRoot")
	retained("chain-hop5", hopAddrs[4], "main.Hop5", hopAddrs[4:], nil,
		[]uintptr{hopAddrs[3], hopAddrs[2], hopAddrs[1], hopAddrs[0]}, true, rootGlobal, "main.chainRoot")
	retained("cycle-0", cycAddrs[0], "main.Cyc", cycAddrs[0:], nil, nil, true, rootGlobal, "main.cycleRoot")
	retained("cycle-1", cycAddrs[1], "main.Cyc", cycAddrs[1:], nil,
		[]uintptr{cycAddrs[0]}, true, rootGlobal, "main.cycleRoot")
	retained("cycle-2", cycAddrs[2], "main.Cyc", cycAddrs[2:], nil,
		[]uintptr{cycAddrs[1], cycAddrs[0]}, true, rootGlobal, "main.cycleRoot")
	retained("stack", stackAddr, "main.StackHeld", []uintptr{stackAddr}, nil, nil, true, rootStack, "")
	retained("finalizer", finHeldAddr, "main.FinHeld", []uintptr{finHeldAddr}, nil,
		[]uintptr{finClosureAddr}, true, rootFinalizer, "")
	retained("finalizer-closure", finClosureAddr, closureType, []uintptr{finClosureAddr, finHeldAddr}, nil,
		nil, true, rootFinalizer, "")
	retained("interface", ifaceAddr, "main.Iface", []uintptr{ifaceAddr, ifaceValAddr}, nil,
		nil, true, rootGlobal, "main.anyRoot")
	retained("pool", poolAddr, "main.PoolItem", []uintptr{poolAddr}, nil, nil, false, rootPool, "")
	oracle.Close(']')
	oracle.Close('}')
}

// ---- main ----

// setup opens the files, builds the heap, collects, and makes what must be
// made after the last GC (the pool item, the garbage, the weak-only object).
//
//go:noinline
func setup() {
	oracleFd, dumpFd = oracle.Begin("goholds", 256<<10, true)
	if unsafe.Sizeof(poolMirror{}) != unsafe.Sizeof(sync.Pool{}) {
		oracle.Fail("sync.Pool is %d bytes, the mirror %d: sync/pool.go changed", unsafe.Sizeof(sync.Pool{}),
			unsafe.Sizeof(poolMirror{}))
	}

	buildHeap()
	if stackGoid <= 1 {
		oracle.Fail("could not read the holder goroutine's id (%d)", stackGoid)
	}
	threads.Spare()
	runtime.GC()
	// victimPool's item goes in now and moves to the victim cache at the next GC.
	putVictim()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcBeforeVictim = ms.NumGC
	debug.FreeOSMemory() // a GC (the last one), then the scavenger
	oracle.AwaitIdle()
	runtime.ReadMemStats(&ms)
	gcAfterVictim = ms.NumGC
	vp := (*poolMirror)(unsafe.Pointer(&victimPool))
	victimLocalAddr = uintptr(vp.victim)
	victimP, victimSlot = findInPool(vp.victim, vp.victimSize, victimAddr)
	if vp.local != nil || victimP < 0 {
		oracle.Fail("victimPool: item %#x not in its victim cache (local %p, victim P %d, GCs %d -> %d)",
			victimAddr, vp.local, victimP, gcBeforeVictim, gcAfterVictim)
	}
	runtime.ReadMemStats(&setupStats)

	putPool()
	pp := (*poolMirror)(unsafe.Pointer(&pool))
	poolLocalAddr = uintptr(pp.local)
	poolP, poolSlot = findInPool(pp.local, pp.localSize, poolAddr)
	if poolP < 0 || poolSlot != "private" {
		oracle.Fail("pool: item %#x not in a private slot (P %d, %q)", poolAddr, poolP, poolSlot)
	}
	makeGarbage()
	weakAddr = makeWeak()
	prepareStrings()
}

func main() {
	oracle.Scrub() // main's stack at its final size before any sample object exists
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
			oracle.Fail("WriteHeapDump allocated: Mallocs %d -> %d, Frees %d -> %d, HeapAlloc %d -> %d",
				beforeStats.Mallocs, dumpStats.Mallocs, beforeStats.Frees, dumpStats.Frees,
				beforeStats.HeapAlloc, dumpStats.HeapAlloc)
		}
		a, b := &dumpStats, &afterStats
		for _, f := range []struct {
			name string
			x, y uint64
		}{
			{"Mallocs", a.Mallocs, b.Mallocs}, {"TotalAlloc", a.TotalAlloc, b.TotalAlloc},
			{"HeapAlloc", a.HeapAlloc, b.HeapAlloc}, {"Frees", a.Frees, b.Frees},
			{"HeapObjects", a.HeapObjects, b.HeapObjects}, {"HeapInuse", a.HeapInuse, b.HeapInuse},
			{"StackInuse", a.StackInuse, b.StackInuse}, {"NumGC", uint64(a.NumGC), uint64(b.NumGC)},
		} {
			if f.x != f.y {
				oracle.Fail("MemStats.%s changed after the heap dump: %d -> %d", f.name, f.x, f.y)
			}
		}
		fmt.Printf("ok: no allocation from the heap dump on (Mallocs %d, HeapAlloc %d, %d bytes of oracle; "+
			"holder goroutine %d, pool P%d %s, victim P%d %s, finalizer closure %s, weak %#x)\n",
			dumpStats.Mallocs, dumpStats.HeapAlloc, len(oracle.Buf), stackGoid, poolP, poolSlot,
			victimP, victimSlot, finClosureFunc, weakAddr)
		return
	}
	oracle.End(ok && !gcAfterSetup && !dumpAllocated,
		"oracle/heap dump write failed, a GC ran after setup, or the heap dump allocated")
}
