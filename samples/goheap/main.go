// goheap builds a known Go heap, records the runtime's own view of it (an
// "oracle") and then stops so that a core can be taken or a debugger can
// attach.  memdbg's tests compare memdbg's figures with the oracle.
//
// Environment:
//
//	MEMDBG_SAMPLE_MODE  crash: SIGABRT itself (run with GOTRACEBACK=crash) -> kernel core
//	                    stop:  SIGSTOP itself (again whenever it is continued)
//	                    check: verify the oracle encoder does not allocate, exit 0/1
//	MEMDBG_ORACLE       where to write the oracle JSON (default: oracle.json)
//
// Between runtime.ReadMemStats and the stop nothing may allocate on the heap:
// the oracle is encoded (package oracle) into a buffer allocated up
// front and written with raw system calls (threads.WriteAll) to a file opened
// up front.
package main

import (
	"fmt"
	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"unsafe"
)

// node is a pointerful ("scan") object of 56 bytes.
type node struct {
	next *node
	val  int64
	name string
	data []byte
}

// bigScan is a large (> 32 KiB) object with pointers.
type bigScan struct {
	ptrs [4096]*node
	pad  [4096]int64
}

const (
	numGoroutines = 200
	numGarbage    = 3000
	numTinyStr    = 2000
	numTinyInt    = 1000
	listLen       = 5000
)

var (
	// The oracle: MemStats read once, right before the stop.
	dumpStats runtime.MemStats
	// Only used by MEMDBG_SAMPLE_MODE=check.
	setupStats runtime.MemStats
	afterStats runtime.MemStats

	oracleFd int

	// Everything below is kept reachable until the stop.
	noscanBySize [][]byte
	scanBySize   [][]*node
	tinyStrings  []string
	tinyInts     []*int64
	list         *node
	largeNoscan  [][]byte
	largeScan    []*bigScan
	largePtrs    [][]*node
	mapIntNode   map[int]*node
	mapStrBytes  map[string][]byte
	mapIntInt    map[int64]int64
	blockCh      chan struct{}
	sink         interface{}

	// Counts the program knows it made.
	nNoscanBySize, nScanBySize, nLarge, nLargeScan, nLargeNoscan int
	nGarbage, nBlockers                                          int
	mapEntries                                                   int
)

func sizes() []int {
	var s []int
	for n := 16; n <= 1024; n += 16 {
		s = append(s, n)
	}
	for n := 1024 + 256; n <= 32768; n += 256 {
		s = append(s, n)
	}
	return s
}

func count(size int) int {
	c := 32768 / size
	if c < 2 {
		c = 2
	}
	if c > 16 {
		c = 16
	}
	return c
}

//go:noinline
func blocker(depth int, wg *sync.WaitGroup) {
	var frame [16]int64 // some stack per frame
	frame[depth%16] = int64(depth)
	if depth > 0 {
		blocker(depth-1, wg)
		return
	}
	wg.Done()
	<-blockCh
	sink = frame[0] // never reached
}

func buildHeap() {
	// Small objects of every size class, noscan and scan.
	for _, sz := range sizes() {
		for i := 0; i < count(sz); i++ {
			b := make([]byte, sz)
			for j := range b {
				b[j] = byte(sz + j)
			}
			noscanBySize = append(noscanBySize, b)
			nNoscanBySize++
			p := make([]*node, sz/8)
			p[0] = &node{val: int64(sz)}
			scanBySize = append(scanBySize, p)
			nScanBySize++
		}
	}
	// Tiny objects (< 16 bytes, no pointers): string data and *int64.
	for i := 0; i < numTinyStr; i++ {
		tinyStrings = append(tinyStrings, strconv.Itoa(1000+i))
	}
	for i := 0; i < numTinyInt; i++ {
		v := new(int64)
		*v = int64(i)
		tinyInts = append(tinyInts, v)
	}
	// A linked list of scan objects.
	for i := 0; i < listLen; i++ {
		list = &node{next: list, val: int64(i), data: make([]byte, 24)}
	}
	// Large objects.
	for _, sz := range []int{33 << 10, 40 << 10, 100 << 10, 1 << 20, 4 << 20} {
		b := make([]byte, sz)
		b[0], b[sz-1] = 0xAB, 0xCD
		largeNoscan = append(largeNoscan, b)
		nLarge++
		nLargeNoscan++
	}
	for i := 0; i < 3; i++ {
		bs := &bigScan{}
		bs.ptrs[0] = list
		largeScan = append(largeScan, bs)
		nLarge++
		nLargeScan++
	}
	for _, n := range []int{5000, 8192, 20000} {
		p := make([]*node, n)
		p[n-1] = list
		largePtrs = append(largePtrs, p)
		nLarge++
		nLargeScan++
	}
	// Maps.
	mapIntNode = make(map[int]*node)
	for i := 0; i < 1000; i++ {
		mapIntNode[i] = &node{val: int64(i), name: "n" + strconv.Itoa(i)}
	}
	mapStrBytes = make(map[string][]byte)
	for i := 0; i < 300; i++ {
		mapStrBytes["key-"+strconv.Itoa(i)] = make([]byte, 100+i)
	}
	mapIntInt = make(map[int64]int64)
	for i := int64(0); i < 5000; i++ {
		mapIntInt[i] = i * i
	}
	mapEntries = len(mapIntNode) + len(mapStrBytes) + len(mapIntInt)
	// Goroutines blocked on a channel, with stacks of different depths.
	blockCh = make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < numGoroutines; i++ {
		wg.Add(1)
		go blocker(i%8, &wg)
		nBlockers++
	}
	wg.Wait()
}

//go:noinline
func makeGarbage() {
	for i := 0; i < numGarbage; i++ {
		if i%2 == 0 {
			sink = &node{val: int64(i)}
		} else {
			sink = make([]byte, 200)
		}
		nGarbage++
	}
	sink = nil
}

// encodedFields lists the MemStats fields encodeOracle writes; mode=check
// compares it with reflection so a field can't be forgotten.
var encodedFields = []string{
	"Alloc", "TotalAlloc", "Sys", "Lookups", "Mallocs", "Frees",
	"HeapAlloc", "HeapSys", "HeapIdle", "HeapInuse", "HeapReleased", "HeapObjects",
	"StackInuse", "StackSys", "MSpanInuse", "MSpanSys", "MCacheInuse", "MCacheSys",
	"BuckHashSys", "GCSys", "OtherSys", "NextGC", "LastGC", "PauseTotalNs",
	"PauseNs", "PauseEnd", "NumGC", "NumForcedGC", "GCCPUFraction", "EnableGC", "DebugGC",
	"BySize",
}

func encodeOracle(m *runtime.MemStats, numGoroutine int) {
	oracle.Open('{')
	oracle.U64("Alloc", m.Alloc)
	oracle.U64("TotalAlloc", m.TotalAlloc)
	oracle.U64("Sys", m.Sys)
	oracle.U64("Lookups", m.Lookups)
	oracle.U64("Mallocs", m.Mallocs)
	oracle.U64("Frees", m.Frees)
	oracle.U64("HeapAlloc", m.HeapAlloc)
	oracle.U64("HeapSys", m.HeapSys)
	oracle.U64("HeapIdle", m.HeapIdle)
	oracle.U64("HeapInuse", m.HeapInuse)
	oracle.U64("HeapReleased", m.HeapReleased)
	oracle.U64("HeapObjects", m.HeapObjects)
	oracle.U64("StackInuse", m.StackInuse)
	oracle.U64("StackSys", m.StackSys)
	oracle.U64("MSpanInuse", m.MSpanInuse)
	oracle.U64("MSpanSys", m.MSpanSys)
	oracle.U64("MCacheInuse", m.MCacheInuse)
	oracle.U64("MCacheSys", m.MCacheSys)
	oracle.U64("BuckHashSys", m.BuckHashSys)
	oracle.U64("GCSys", m.GCSys)
	oracle.U64("OtherSys", m.OtherSys)
	oracle.U64("NextGC", m.NextGC)
	oracle.U64("LastGC", m.LastGC)
	oracle.U64("PauseTotalNs", m.PauseTotalNs)
	oracle.U64s("PauseNs", m.PauseNs[:])
	oracle.U64s("PauseEnd", m.PauseEnd[:])
	oracle.U64("NumGC", uint64(m.NumGC))
	oracle.U64("NumForcedGC", uint64(m.NumForcedGC))
	oracle.Float("GCCPUFraction", m.GCCPUFraction)
	oracle.Bool("EnableGC", m.EnableGC)
	oracle.Bool("DebugGC", m.DebugGC)
	oracle.BySize(m)

	oracle.I64("NumGoroutine", int64(numGoroutine))
	oracle.Process()

	// What the program itself made.
	oracle.Key("Sample")
	oracle.Open('{')
	oracle.I64("Goroutines", int64(nBlockers))
	oracle.I64("NoscanSmallObjects", int64(nNoscanBySize))
	oracle.I64("ScanSmallObjects", int64(nScanBySize))
	oracle.I64("TinyStrings", numTinyStr)
	oracle.I64("TinyInt64s", numTinyInt)
	oracle.I64("ListNodes", listLen)
	oracle.I64("LargeObjects", int64(nLarge))
	oracle.I64("LargeScanObjects", int64(nLargeScan))
	oracle.I64("LargeNoscanObjects", int64(nLargeNoscan))
	oracle.I64("MapEntries", int64(mapEntries))
	oracle.I64("GarbageObjects", int64(nGarbage))
	oracle.U64("GarbageNumGC", uint64(setupStats.NumGC))
	// Addresses and sizes of a few known objects.
	oracle.Key("Objects")
	oracle.Open('[')
	for _, b := range largeNoscan {
		object("large-noscan", uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	}
	for _, p := range largeScan {
		object("large-scan", uintptr(unsafe.Pointer(p)), unsafe.Sizeof(*p))
	}
	object("list-head", uintptr(unsafe.Pointer(list)), unsafe.Sizeof(*list))
	oracle.Close(']')
	oracle.Close('}')
	oracle.Close('}')
}

func object(kind string, addr, size uintptr) {
	oracle.Open('{')
	oracle.Str("Kind", kind)
	oracle.U64("Addr", uint64(addr))
	oracle.U64("Len", uint64(size))
	oracle.Close('}')
}

func main() {
	oracleFd, _ = oracle.Begin("goheap", 1<<20, false)
	runtime.LockOSThread()

	buildHeap()
	// Collect and sweep everything, and return free memory to the OS so
	// the background scavenger has nothing left to do before the stop.
	threads.Spare()
	runtime.GC()
	debug.FreeOSMemory()
	oracle.AwaitIdle()
	runtime.ReadMemStats(&setupStats)
	// Garbage: allocated after the last GC, so still counted as allocated.
	makeGarbage()

	// ---- no heap allocation from here on ----
	runtime.ReadMemStats(&dumpStats)
	n := runtime.NumGoroutine()
	encodeOracle(&dumpStats, n)
	ok := oracle.Write(oracleFd) && threads.Close(oracleFd)
	gcDuringGarbage := dumpStats.NumGC != setupStats.NumGC

	if oracle.Mode == "check" {
		runtime.ReadMemStats(&afterStats)
		if !ok {
			oracle.Fail("writing the oracle failed")
		}
		if gcDuringGarbage {
			oracle.Fail("a GC ran while the garbage was made (NumGC %d -> %d)", setupStats.NumGC, dumpStats.NumGC)
		}
		if afterStats.Mallocs != dumpStats.Mallocs || afterStats.TotalAlloc != dumpStats.TotalAlloc ||
			afterStats.HeapAlloc != dumpStats.HeapAlloc {
			oracle.Fail("the encoder allocated: Mallocs %d -> %d, TotalAlloc %d -> %d, HeapAlloc %d -> %d",
				dumpStats.Mallocs, afterStats.Mallocs, dumpStats.TotalAlloc, afterStats.TotalAlloc,
				dumpStats.HeapAlloc, afterStats.HeapAlloc)
		}
		// Nothing else in the heap may move either (scavenger, sweeper, stacks).
		a, b := &dumpStats, &afterStats
		for _, f := range []struct {
			name string
			x, y uint64
		}{
			{"Frees", a.Frees, b.Frees}, {"HeapObjects", a.HeapObjects, b.HeapObjects},
			{"HeapInuse", a.HeapInuse, b.HeapInuse}, {"HeapIdle", a.HeapIdle, b.HeapIdle},
			{"HeapReleased", a.HeapReleased, b.HeapReleased}, {"HeapSys", a.HeapSys, b.HeapSys},
			{"StackInuse", a.StackInuse, b.StackInuse}, {"MSpanInuse", a.MSpanInuse, b.MSpanInuse},
			{"Sys", a.Sys, b.Sys}, {"NumGC", uint64(a.NumGC), uint64(b.NumGC)},
		} {
			if f.x != f.y {
				oracle.Fail("MemStats.%s changed after the oracle was taken: %d -> %d", f.name, f.x, f.y)
			}
		}
		for i := range a.BySize {
			if a.BySize[i] != b.BySize[i] {
				oracle.Fail("MemStats.BySize[%d] changed after the oracle was taken", i)
			}
		}
		want := map[string]bool{}
		for _, f := range encodedFields {
			want[f] = true
		}
		t := reflect.TypeOf(dumpStats)
		for i := 0; i < t.NumField(); i++ {
			if !want[t.Field(i).Name] {
				oracle.Fail("MemStats field %s is not encoded", t.Field(i).Name)
			}
		}
		fmt.Printf("ok: no allocation while encoding (Mallocs %d, HeapAlloc %d, %d bytes of oracle)\n",
			dumpStats.Mallocs, dumpStats.HeapAlloc, len(oracle.Buf))
		return
	}
	// The handler of a thread-directed SIGABRT runs on this locked thread, before anything else.
	oracle.End(ok && !gcDuringGarbage, "oracle write failed or a GC ran during the garbage phase")
}
