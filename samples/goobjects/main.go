// goobjects makes known numbers of heap objects of distinctive types, keeps
// them reachable through known roots (globals, one goroutine's stack, a
// finalizer, interfaces only), writes runtime/debug.WriteHeapDump next to
// the oracle, records what it made (per-type counts, a few addresses,
// NumGoroutine, MemStats) without allocating, and then stops so that a core
// can be taken.  memdbg's object-model tests (tests/test_objects.py) compare
// memdbg's objects and types with the heap dump and with these counts.
//
// Environment (as samples/goheap):
//
//	MEMDBG_SAMPLE_MODE  crash: SIGABRT itself (run with GOTRACEBACK=crash) -> kernel core
//	                    stop:  SIGSTOP itself (again whenever it is continued)
//	                    check: verify that neither the heap dump nor the oracle encoder
//	                           allocates, exit 0/1
//	MEMDBG_ORACLE       where to write the oracle JSON (default: oracle.json); the heap
//	                    dump goes to the file "heapdump" in the same directory
//
// From the heap dump on nothing may allocate on the heap: both files are
// opened up front, the oracle is encoded with strconv.Append* into a buffer
// allocated up front and written with raw system calls (threads.WriteAll).
// MemStats read right before and right after the dump must agree (checked in
// every mode).
package main

import (
	"encoding/binary"
	"fmt"
	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"unsafe"
)

// ---- the distinctive types (sizes on amd64) ----

// Alpha: 32 B, pointers (span heap bits).
type Alpha struct {
	id   int64
	next *Alpha
	name string
}

// Beta: 48 B, no pointers.
type Beta struct{ vals [6]int64 }

// Gamma: 328 B, pointers, <= 512 B: span heap bits, no malloc header.
type Gamma struct {
	a [40]int64
	p *Alpha
}

// Delta: 808 B, pointers, > 512 B: malloc header.
type Delta struct {
	buf   [100]int64
	owner *Alpha
}

// Epsilon: 1600 B, no pointers (noscan objects never get a malloc header).
type Epsilon struct{ data [200]int64 }

// Zeta: map values.
type Zeta struct {
	key    string
	weight int64
	peer   *Zeta
}

// Eta: held as *Eta in an `any` (direct interface: the pointer is the data word).
type Eta struct {
	p   *Alpha
	tag int64
}

// Theta: held by value in an `any` (indirect interface: boxed on the heap by convT).
type Theta struct{ x, y, z int64 }

// Shape / Kappa: a non-empty interface holding values (boxed, itab).
type Shape interface{ Area() int64 }

type Kappa struct {
	w, h  int64
	label *Alpha
}

func (k Kappa) Area() int64 { return k.w * k.h }

// Lambda: a variable captured by reference by the closures (moved to the heap).
type Lambda struct {
	hits int64
	last *Alpha
}

// Mu: buffered in a channel of pointers.
type Mu struct {
	seq  int64
	next *Mu
}

// Nu: buffered by value in a channel without pointers.
type Nu struct{ a, b, c int64 }

// Box: a generic type instantiated twice.
type Box[T any] struct {
	v    T
	next *Box[T]
}

// BigP: 40000 B, a large object with pointers (span largeType).
type BigP struct{ ptrs [5000]*Alpha }

// BigN: 65536 B, a large object without pointers.
type BigN struct{ words [8192]int64 }

// Tiny8: 8 B without pointers: the tiny allocator packs two per 16 B block.
type Tiny8 struct{ a, b uint32 }

// Xi: reachable only from a goroutine's stack variable.
type Xi struct {
	id  int64
	a   *Alpha
	pad [4]int64
}

// Omicron: has a finalizer; Pi: reachable only from that finalizer's closure.
type Omicron struct{ id, pad1, pad2, pad3 int64 }

type Pi struct {
	v    [5]int64
	self *Pi
}

// Rho: garbage, allocated after the last GC and dropped.
// Rho is garbage: nothing refers to it, so only its malloc header can type
// it (it is larger than 512 bytes for that reason; small garbage objects
// carry no type anywhere in the heap).
type Rho struct {
	a   int64
	p   *Rho
	pad [70]int64
}

// ---- shapes that mislead a typer that trusts any typed word (issue 10) ----

// Msg: a stored message; its payload is a noscan []byte whose first bytes
// happen to hold heap addresses (as a broker stores whatever a client sent).
type Msg struct {
	subj    string
	payload []byte
	seq     uint64
}

// Sub: 48 B, reachable only as the value of map[string]*Sub.
type Sub struct {
	subject string
	queue   []byte
	sid     int64
}

// Decoy is what a stale word typed by the wrong variable would make of a
// payload (payloadLen bytes): a map and a func where the payload has bytes.
// No object is a Decoy; decoyPayload and decoyStack point at a payload and a
// Msg through it, standing in for a dead stack slot's leftover pointer.
type Decoy struct {
	m   map[string]int
	f   func()
	pad [11]uint64
}

const (
	nMsg       = 200
	nSub       = 1200
	payloadLen = 104 // make([]byte, 104): a 112 B noscan slot, [104]uint8

	nAlpha        = 100
	nBeta         = 50
	nGamma        = 20
	nDelta        = 12
	nEpsilon      = 8
	nZeta         = 64
	nIntMap       = 1000
	nEta          = 16
	nTheta        = 16
	nKappa        = 10
	nClosure      = 6
	nMu           = 10
	nNu           = 5
	nBoxInt       = 30
	nBoxString    = 20
	nBigP         = 2
	nBigN         = 2
	nTiny         = 40
	nStrings      = 30
	nXi           = 3
	nOmicron      = 4
	nRho          = 25
	alphaConstLen = 64
	bigSliceLen   = 2000
)

var (
	// Roots in data/bss.
	alphaHead   *Alpha
	betas       []*Beta // make([]*Beta, n): [50]*main.Beta
	gammas      [nGamma]*Gamma
	deltas      [nDelta]*Delta
	epsilons    [nEpsilon]*Epsilon
	alphaSlice  []Alpha // make([]Alpha, n) with n a variable: [100]main.Alpha
	alphaConst  []Alpha // make([]Alpha, 64): [64]main.Alpha
	betaSlice   []Beta  // make([]Beta, 7): [7]main.Beta
	bigSlice    []Alpha // make([]Alpha, 2000): large, [2000]main.Alpha
	zetaMap     map[string]*Zeta
	intMap      map[int]int
	anys        []any   // nEta *Eta then nTheta Theta values
	shapes      []Shape // nKappa Kappa values
	closures    []func() int64
	muCh        chan *Mu
	nuCh        chan Nu
	boxInts     *Box[int]
	boxStrings  *Box[string]
	bigPs       [nBigP]*BigP
	bigNs       [nBigN]*BigN
	tinies      [nTiny]*Tiny8
	strs        [nStrings]string
	omicrons    [nOmicron]*Omicron
	blockCh     chan struct{}
	readyCh     chan struct{}
	sink        any
	sinkPi      *Pi
	msgs         map[string]*Msg
	subs         map[string]*Sub
	decoyPayload *Decoy  // points at msgs' first payload (noscan): never its type
	staleAddrs   [2]uintptr
	decoyCh      chan struct{}
	xiAddrs     [nXi]uintptr // addresses only: not roots
	piAddrs     [nOmicron]uintptr
	thetaAddrs  [nTheta]uintptr
	neverType   string
	firstMsg    uintptr // addresses only: the first Msg and Sub are reached through the maps
	firstSub    uintptr
	closureType string // the closures' type as the runtime names it (from the malloc header)
	closureSize uintptr
	sliceLen    = 100
	betaLen     = 7

	dumpStats, beforeStats, setupStats, afterStats runtime.MemStats
	oracleFd, dumpFd                               int
	numGoroutine                                   int
)

//go:noinline
func newXi(id int64) *Xi { return &Xi{id: id, a: alphaHead} }

//go:noinline
func newPi(i int64) *Pi {
	p := &Pi{}
	p.v[0] = i
	p.self = p
	return p
}

// stackHolder keeps its Xi only in a local variable while it waits.
//
//go:noinline
func stackHolder(i int) {
	x := newXi(int64(i))
	xiAddrs[i] = uintptr(unsafe.Pointer(x))
	readyCh <- struct{}{}
	<-blockCh
	runtime.KeepAlive(x)
}

// decoyHolder keeps a *Decoy to a Msg (a 48 B object with heap bits Decoy
// contradicts) and a uintptr (a non-pointer word) to a payload on its stack.
//
//go:noinline
func decoyHolder(m *Msg) {
	d := (*Decoy)(unsafe.Pointer(m))
	stale := uintptr(unsafe.Pointer(&m.payload[0]))
	staleAddrs[0], staleAddrs[1] = uintptr(unsafe.Pointer(d)), stale
	readyCh <- struct{}{}
	<-decoyCh
	runtime.KeepAlive(d)
	staleAddrs[1] = stale
}

//go:noinline
func makeClosure(i int64) func() int64 {
	// Five 128-byte arrays are captured by value (read-only, <= 128 B each)
	// and `hits` by reference, so the closure object is 8+5*128+8 = 656 B:
	// bigger than 512 B, so it carries a malloc header naming its type.
	var a, b, c, d, e [16]int64
	a[0], b[1], c[2], d[3], e[4] = i, i+1, i+2, i+3, i+4
	hits := Lambda{last: alphaHead}
	f := func() int64 {
		hits.hits++
		return a[0] + b[1] + c[2] + d[3] + e[4] + hits.hits
	}
	return f
}

// typeNameOfHeader reads the malloc header (the *_type word in front of an
// object bigger than 512 B with pointers) and names it with reflect.
func typeNameOfHeader(p unsafe.Pointer) (string, uintptr) {
	typ := *(*unsafe.Pointer)(unsafe.Add(p, -8))
	var e any
	(*[2]unsafe.Pointer)(unsafe.Pointer(&e))[0] = typ
	t := reflect.TypeOf(e)
	return t.String(), t.Size()
}

func buildHeap() {
	for i := 0; i < nAlpha; i++ {
		alphaHead = &Alpha{id: int64(i), next: alphaHead, name: "alpha"}
	}
	betas = make([]*Beta, nBeta)
	for i := range betas {
		betas[i] = &Beta{}
		betas[i].vals[0] = int64(i)
	}
	for i := range gammas {
		gammas[i] = &Gamma{p: alphaHead}
		gammas[i].a[0] = int64(i)
	}
	for i := range deltas {
		deltas[i] = &Delta{owner: alphaHead}
		deltas[i].buf[0] = int64(i)
	}
	for i := range epsilons {
		epsilons[i] = &Epsilon{}
		epsilons[i].data[0] = int64(i)
	}
	alphaSlice = make([]Alpha, sliceLen)
	alphaSlice[0].next = alphaHead
	alphaConst = make([]Alpha, alphaConstLen)
	alphaConst[1].next = alphaHead
	betaSlice = make([]Beta, betaLen)
	betaSlice[0].vals[0] = 1
	bigSlice = make([]Alpha, bigSliceLen)
	bigSlice[bigSliceLen-1].next = alphaHead

	zetaMap = make(map[string]*Zeta)
	var prev *Zeta
	for i := 0; i < nZeta; i++ {
		k := "zeta-" + strconv.Itoa(i)
		z := &Zeta{key: k, weight: int64(i), peer: prev}
		zetaMap[k] = z
		prev = z
	}
	intMap = make(map[int]int)
	for i := 0; i < nIntMap; i++ {
		intMap[i] = i * 3
	}

	anys = make([]any, 0, nEta+nTheta)
	for i := 0; i < nEta; i++ {
		anys = append(anys, &Eta{p: alphaHead, tag: int64(i)})
	}
	for i := 0; i < nTheta; i++ {
		anys = append(anys, Theta{x: int64(i) + 1000, y: 2, z: 3})
		thetaAddrs[i] = uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&anys[nEta+i]))[1])
	}
	shapes = make([]Shape, 0, nKappa)
	for i := 0; i < nKappa; i++ {
		shapes = append(shapes, Kappa{w: int64(i) + 1000, h: 7, label: alphaHead})
	}

	closures = make([]func() int64, 0, nClosure)
	for i := 0; i < nClosure; i++ {
		closures = append(closures, makeClosure(int64(i)))
	}
	fp := *(*unsafe.Pointer)(unsafe.Pointer(&closures[0]))
	closureType, closureSize = typeNameOfHeader(fp)

	muCh = make(chan *Mu, 16)
	for i := 0; i < nMu; i++ {
		muCh <- &Mu{seq: int64(i)}
	}
	nuCh = make(chan Nu, 8)
	for i := 0; i < nNu; i++ {
		nuCh <- Nu{a: int64(i)}
	}

	for i := 0; i < nBoxInt; i++ {
		boxInts = &Box[int]{v: i, next: boxInts}
	}
	for i := 0; i < nBoxString; i++ {
		boxStrings = &Box[string]{v: "box", next: boxStrings}
	}

	for i := range bigPs {
		bigPs[i] = &BigP{}
		bigPs[i].ptrs[0] = alphaHead
	}
	for i := range bigNs {
		bigNs[i] = &BigN{}
		bigNs[i].words[0] = int64(i)
	}
	for i := range tinies {
		tinies[i] = &Tiny8{a: uint32(i)}
	}
	for i := range strs {
		b := make([]byte, 40)
		for j := range b {
			b[j] = byte('a' + (i+j)%26)
		}
		strs[i] = string(b)
	}

	subs = make(map[string]*Sub)
	subList := make([]*Sub, 0, nSub)
	for i := 0; i < nSub; i++ {
		k := "sub." + strconv.Itoa(i)
		sb := &Sub{subject: k, sid: int64(i)}
		subs[k] = sb
		subList = append(subList, sb)
	}
	msgs = make(map[string]*Msg)
	var first *Msg
	for i := 0; i < nMsg; i++ {
		m := &Msg{subj: "msg." + strconv.Itoa(i), payload: make([]byte, payloadLen), seq: uint64(i)}
		// The payload's first words are heap addresses: where Decoy has its map and func.
		binary.LittleEndian.PutUint64(m.payload[0:], uint64(uintptr(unsafe.Pointer(subList[i]))))
		binary.LittleEndian.PutUint64(m.payload[8:], uint64(uintptr(unsafe.Pointer(subList[nSub-1-i]))))
		msgs[m.subj] = m
		if first == nil {
			first = m
		}
	}
	decoyPayload = (*Decoy)(unsafe.Pointer(&first.payload[0]))
	neverType = reflect.TypeOf(Decoy{}).String() // the binary has Decoy's type descriptor, as a real program's types do
	firstMsg, firstSub = uintptr(unsafe.Pointer(first)), uintptr(unsafe.Pointer(subList[0]))
	subList = nil

	blockCh = make(chan struct{})
	readyCh = make(chan struct{})
	decoyCh = make(chan struct{})
	go decoyHolder(first)
	<-readyCh
	for i := 0; i < nXi; i++ {
		go stackHolder(i)
		<-readyCh
	}

	for i := range omicrons {
		o := &Omicron{id: int64(i)}
		pi := newPi(int64(i))
		piAddrs[i] = uintptr(unsafe.Pointer(pi))
		runtime.SetFinalizer(o, func(o *Omicron) { sinkPi = pi })
		omicrons[i] = o
	}
}

//go:noinline
func makeGarbage() {
	for i := 0; i < nRho; i++ {
		sink = &Rho{a: int64(i)}
	}
	sink = nil
}

// ---- the oracle ----

// typ records one type the sample made: Count objects of exactly this type
// (as the runtime names it), Live of them reachable.  Exact is false where
// the count of heap objects is not a property of the program (tiny blocks).
func typ(name string, count, live int, size uintptr, exact bool, how string) {
	oracle.Open('{')
	oracle.Str("Type", name)
	oracle.I64("Count", int64(count))
	oracle.I64("Live", int64(live))
	oracle.U64("Size", uint64(size))
	oracle.Bool("Exact", exact)
	oracle.Str("How", how)
	oracle.Close('}')
}

func obj(kind, typeName string, p uintptr) {
	oracle.Open('{')
	oracle.Str("Kind", kind)
	oracle.Str("Type", typeName)
	oracle.U64("Addr", uint64(p))
	oracle.Close('}')
}

func encodeOracle() {
	oracle.Open('{')
	oracle.MemStats("MemStats", &dumpStats)
	// For convenience the goheap names at top level too.
	oracle.U64("HeapAlloc", dumpStats.HeapAlloc)
	oracle.U64("HeapObjects", dumpStats.HeapObjects)
	oracle.U64("HeapInuse", dumpStats.HeapInuse)
	oracle.U64("NumGC", uint64(dumpStats.NumGC))
	oracle.I64("NumGoroutine", int64(numGoroutine))
	oracle.Process()
	oracle.Str("HeapDump", "heapdump")
	oracle.U64("GarbageNumGC", uint64(setupStats.NumGC))

	oracle.Key("Types")
	oracle.Open('[')
	typ("main.Alpha", nAlpha, nAlpha, unsafe.Sizeof(Alpha{}), true, "linked list from a global, 32 B with pointers")
	typ("main.Beta", nBeta, nBeta, unsafe.Sizeof(Beta{}), true, "new, 48 B noscan, from a pointer slice")
	typ("[50]*main.Beta", 1, 1, unsafe.Sizeof([nBeta]*Beta{}), true, "make([]*Beta, 50)")
	typ("main.Gamma", nGamma, nGamma, unsafe.Sizeof(Gamma{}), true, "328 B with pointers, heap bits")
	typ("main.Delta", nDelta, nDelta, unsafe.Sizeof(Delta{}), true, "808 B with pointers, malloc header")
	typ("main.Epsilon", nEpsilon, nEpsilon, unsafe.Sizeof(Epsilon{}), true, "1600 B noscan")
	typ("[100]main.Alpha", 1, 1, unsafe.Sizeof([100]Alpha{}), true, "make([]Alpha, n), n a variable")
	typ("[64]main.Alpha", 1, 1, unsafe.Sizeof([alphaConstLen]Alpha{}), true, "make([]Alpha, 64)")
	typ("[7]main.Beta", 1, 1, unsafe.Sizeof([7]Beta{}), true, "make([]Beta, n) noscan")
	typ("[2000]main.Alpha", 1, 1, unsafe.Sizeof([bigSliceLen]Alpha{}), true, "make([]Alpha, 2000), large")
	typ("main.Zeta", nZeta, nZeta, unsafe.Sizeof(Zeta{}), true, "map[string]*Zeta values")
	typ("main.Eta", nEta, nEta, unsafe.Sizeof(Eta{}), true, "*Eta in an any (direct interface)")
	typ("main.Theta", nTheta, nTheta, unsafe.Sizeof(Theta{}), true, "Theta value in an any (boxed)")
	typ("main.Kappa", nKappa, nKappa, unsafe.Sizeof(Kappa{}), true, "Kappa value in a Shape (boxed, itab)")
	typ("[32]interface {}", 1, 1, unsafe.Sizeof([nEta + nTheta]any{}), true, "make([]any, 0, 32)")
	typ("[10]main.Shape", 1, 1, unsafe.Sizeof([nKappa]Shape{}), true, "make([]Shape, 0, 10)")
	typ("main.Lambda", nClosure, nClosure, unsafe.Sizeof(Lambda{}), true, "captured by reference by the closures")
	typ(closureType, nClosure, nClosure, closureSize, true, "closure objects (type from their malloc header)")
	typ("main.Mu", nMu, nMu, unsafe.Sizeof(Mu{}), true, "buffered in a chan *Mu")
	typ("[16]*main.Mu", 1, 1, unsafe.Sizeof([16]*Mu{}), true, "the buffer of make(chan *Mu, 16)")
	typ("main.Box[int]", nBoxInt, nBoxInt, unsafe.Sizeof(Box[int]{}), true, "generic, linked")
	typ("main.Box[string]", nBoxString, nBoxString, unsafe.Sizeof(Box[string]{}), true, "generic, linked")
	typ("main.BigP", nBigP, nBigP, unsafe.Sizeof(BigP{}), true, "large with pointers")
	typ("main.BigN", nBigN, nBigN, unsafe.Sizeof(BigN{}), true, "large noscan")
	typ("main.Xi", nXi, nXi, unsafe.Sizeof(Xi{}), true, "only from a goroutine's stack variable")
	typ("main.Omicron", nOmicron, nOmicron, unsafe.Sizeof(Omicron{}), true, "has a finalizer, from a global")
	typ("main.Pi", nOmicron, nOmicron, unsafe.Sizeof(Pi{}), true, "only from a finalizer's closure")
	typ("main.Rho", nRho, 0, unsafe.Sizeof(Rho{}), true, "garbage made after the last GC")
	typ("main.Tiny8", nTiny, nTiny, unsafe.Sizeof(Tiny8{}), false, "tiny allocator: two per 16 B block")
	typ("main.Msg", nMsg, nMsg, unsafe.Sizeof(Msg{}), true, "map[string]*Msg values; one also held as a *Decoy")
	typ("[104]uint8", nMsg, nMsg, payloadLen, true, "payloads (noscan) holding heap addresses; one under a *Decoy")
	typ("main.Sub", nSub, nSub, unsafe.Sizeof(Sub{}), true, "only map[string]*Sub values; payload bytes point at them")
	oracle.Close(']')

	oracle.Key("Sample")
	oracle.Open('{')
	oracle.I64("Goroutines", nXi)
	oracle.I64("ZetaMapEntries", int64(len(zetaMap)))
	oracle.I64("IntMapEntries", int64(len(intMap)))
	oracle.I64("Strings", nStrings)
	oracle.I64("StringLen", int64(len(strs[0])))
	oracle.I64("NuBuffered", int64(len(nuCh)))
	oracle.I64("MuBuffered", int64(len(muCh)))
	oracle.I64("Finalizers", nOmicron)
	oracle.Str("ClosureType", closureType)
	oracle.Str("NeverType", neverType)
	oracle.I64("AlphaArrays", 3)
	oracle.I64("AlphaArrayElements", int64(cap(alphaSlice)+cap(alphaConst)+cap(bigSlice)))
	oracle.Str("AlphaName", alphaHead.name)
	oracle.Str("String0", strs[0])
	oracle.U64("String0Addr", uint64(uintptr(unsafe.Pointer(unsafe.StringData(strs[0])))))
	oracle.U64("StaleWord", uint64(staleAddrs[1]))
	oracle.U64("ClosureSize", uint64(closureSize))
	oracle.Close('}')

	// Addresses (pointer values as the program holds them).
	oracle.Key("Objects")
	oracle.Open('[')
	obj("alpha-head", "main.Alpha", uintptr(unsafe.Pointer(alphaHead)))
	obj("alpha-head-next", "main.Alpha", uintptr(unsafe.Pointer(alphaHead.next)))
	obj("beta", "main.Beta", uintptr(unsafe.Pointer(betas[0])))
	obj("gamma", "main.Gamma", uintptr(unsafe.Pointer(gammas[0])))
	obj("delta", "main.Delta", uintptr(unsafe.Pointer(deltas[0])))
	obj("epsilon", "main.Epsilon", uintptr(unsafe.Pointer(epsilons[0])))
	obj("alpha-slice", "[100]main.Alpha", uintptr(unsafe.Pointer(&alphaSlice[0])))
	obj("big-slice", "[2000]main.Alpha", uintptr(unsafe.Pointer(&bigSlice[0])))
	obj("theta", "main.Theta", thetaAddrs[0])
	obj("closure", closureType, uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&closures[0]))))
	obj("box-int", "main.Box[int]", uintptr(unsafe.Pointer(boxInts)))
	obj("box-string", "main.Box[string]", uintptr(unsafe.Pointer(boxStrings)))
	obj("bigp", "main.BigP", uintptr(unsafe.Pointer(bigPs[0])))
	obj("bign", "main.BigN", uintptr(unsafe.Pointer(bigNs[0])))
	for i := range xiAddrs {
		obj("xi", "main.Xi", xiAddrs[i])
	}
	for i := range piAddrs {
		obj("pi", "main.Pi", piAddrs[i])
	}
	obj("omicron", "main.Omicron", uintptr(unsafe.Pointer(omicrons[0])))
	obj("msg-under-decoy", "main.Msg", staleAddrs[0])
	obj("payload-under-decoy", "[104]uint8", uintptr(unsafe.Pointer(decoyPayload)))
	obj("sub-in-payload", "main.Sub", firstSub)
	obj("msg", "main.Msg", firstMsg)
	oracle.Close(']')
	oracle.Close('}')
}

func main() {
	oracleFd, dumpFd = oracle.Begin("goobjects", 1<<20, true)
	runtime.LockOSThread()

	buildHeap()
	if closureSize != 8+5*128+8 {
		oracle.Fail("closure type %q has size %d, want %d (captures changed?)", closureType, closureSize, 8+5*128+8)
	}
	threads.Spare()
	runtime.GC()
	debug.FreeOSMemory()
	oracle.AwaitIdle()
	runtime.ReadMemStats(&setupStats)
	makeGarbage()

	// ---- no heap allocation from here on ----
	runtime.ReadMemStats(&beforeStats)
	debug.WriteHeapDump(uintptr(dumpFd))
	runtime.ReadMemStats(&dumpStats)
	numGoroutine = runtime.NumGoroutine()
	encodeOracle()
	ok := oracle.Write(oracleFd) && threads.Close(oracleFd) && threads.Close(dumpFd)
	gcDuringGarbage := dumpStats.NumGC != setupStats.NumGC
	dumpAllocated := beforeStats.Mallocs != dumpStats.Mallocs || beforeStats.Frees != dumpStats.Frees ||
		beforeStats.HeapAlloc != dumpStats.HeapAlloc || beforeStats.TotalAlloc != dumpStats.TotalAlloc

	if oracle.Mode == "check" {
		runtime.ReadMemStats(&afterStats)
		if !ok {
			oracle.Fail("writing the oracle or the heap dump failed")
		}
		if gcDuringGarbage {
			oracle.Fail("a GC ran while the garbage was made (NumGC %d -> %d)", setupStats.NumGC, dumpStats.NumGC)
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
		fmt.Printf("ok: no allocation from the heap dump on (Mallocs %d, HeapAlloc %d, %d bytes of oracle, closure %s)\n",
			dumpStats.Mallocs, dumpStats.HeapAlloc, len(oracle.Buf), closureType)
		return
	}
	oracle.End(ok && !gcDuringGarbage && !dumpAllocated,
		"oracle/heap dump write failed, a GC ran during the garbage phase, or the heap dump allocated")
}
