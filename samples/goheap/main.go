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
// the oracle is encoded with strconv.Append* into a buffer allocated up
// front and written with raw system calls (threads.WriteAll) to a file opened
// up front.
package main

import (
	"fmt"
	"memdbg.example/threads"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
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

	oracleBuf []byte
	oracleFd  int

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
	gomaxprocs                                                   int
	experiment                                                   string
	mode                                                         string
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

// ---- allocation-free JSON encoding into oracleBuf ----

func putStr(s string) {
	oracleBuf = append(oracleBuf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 {
			c = '?'
		}
		oracleBuf = append(oracleBuf, c)
	}
	oracleBuf = append(oracleBuf, '"')
}

func key(k string) {
	if n := len(oracleBuf); n > 0 && oracleBuf[n-1] != '{' && oracleBuf[n-1] != '[' {
		oracleBuf = append(oracleBuf, ',', '\n')
	}
	putStr(k)
	oracleBuf = append(oracleBuf, ':', ' ')
}

func u64(k string, v uint64) { key(k); oracleBuf = strconv.AppendUint(oracleBuf, v, 10) }
func i64(k string, v int64)  { key(k); oracleBuf = strconv.AppendInt(oracleBuf, v, 10) }
func str(k string, v string) { key(k); putStr(v) }
func boolean(k string, v bool) {
	key(k)
	oracleBuf = strconv.AppendBool(oracleBuf, v)
}

func u64list(k string, v []uint64) {
	key(k)
	oracleBuf = append(oracleBuf, '[')
	for i, x := range v {
		if i > 0 {
			oracleBuf = append(oracleBuf, ',')
		}
		oracleBuf = strconv.AppendUint(oracleBuf, x, 10)
	}
	oracleBuf = append(oracleBuf, ']')
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
	oracleBuf = append(oracleBuf, '{')
	u64("Alloc", m.Alloc)
	u64("TotalAlloc", m.TotalAlloc)
	u64("Sys", m.Sys)
	u64("Lookups", m.Lookups)
	u64("Mallocs", m.Mallocs)
	u64("Frees", m.Frees)
	u64("HeapAlloc", m.HeapAlloc)
	u64("HeapSys", m.HeapSys)
	u64("HeapIdle", m.HeapIdle)
	u64("HeapInuse", m.HeapInuse)
	u64("HeapReleased", m.HeapReleased)
	u64("HeapObjects", m.HeapObjects)
	u64("StackInuse", m.StackInuse)
	u64("StackSys", m.StackSys)
	u64("MSpanInuse", m.MSpanInuse)
	u64("MSpanSys", m.MSpanSys)
	u64("MCacheInuse", m.MCacheInuse)
	u64("MCacheSys", m.MCacheSys)
	u64("BuckHashSys", m.BuckHashSys)
	u64("GCSys", m.GCSys)
	u64("OtherSys", m.OtherSys)
	u64("NextGC", m.NextGC)
	u64("LastGC", m.LastGC)
	u64("PauseTotalNs", m.PauseTotalNs)
	u64list("PauseNs", m.PauseNs[:])
	u64list("PauseEnd", m.PauseEnd[:])
	u64("NumGC", uint64(m.NumGC))
	u64("NumForcedGC", uint64(m.NumForcedGC))
	key("GCCPUFraction")
	oracleBuf = strconv.AppendFloat(oracleBuf, m.GCCPUFraction, 'g', -1, 64)
	boolean("EnableGC", m.EnableGC)
	boolean("DebugGC", m.DebugGC)
	key("BySize")
	oracleBuf = append(oracleBuf, '[')
	for i := range m.BySize {
		if i > 0 {
			oracleBuf = append(oracleBuf, ',', '\n')
		}
		oracleBuf = append(oracleBuf, '{')
		u64("Size", uint64(m.BySize[i].Size))
		u64("Mallocs", m.BySize[i].Mallocs)
		u64("Frees", m.BySize[i].Frees)
		oracleBuf = append(oracleBuf, '}')
	}
	oracleBuf = append(oracleBuf, ']')

	i64("NumGoroutine", int64(numGoroutine))
	i64("GOMAXPROCS", int64(gomaxprocs))
	str("GoVersion", runtime.Version())
	str("GOEXPERIMENT", experiment)
	str("Mode", mode)
	i64("Pid", int64(syscall.Getpid()))

	// What the program itself made.
	key("Sample")
	oracleBuf = append(oracleBuf, '{')
	i64("Goroutines", int64(nBlockers))
	i64("NoscanSmallObjects", int64(nNoscanBySize))
	i64("ScanSmallObjects", int64(nScanBySize))
	i64("TinyStrings", numTinyStr)
	i64("TinyInt64s", numTinyInt)
	i64("ListNodes", listLen)
	i64("LargeObjects", int64(nLarge))
	i64("LargeScanObjects", int64(nLargeScan))
	i64("LargeNoscanObjects", int64(nLargeNoscan))
	i64("MapEntries", int64(mapEntries))
	i64("GarbageObjects", int64(nGarbage))
	u64("GarbageNumGC", uint64(setupStats.NumGC))
	// Addresses and sizes of a few known objects.
	key("Objects")
	oracleBuf = append(oracleBuf, '[')
	for i, b := range largeNoscan {
		if i > 0 {
			oracleBuf = append(oracleBuf, ',', '\n')
		}
		oracleBuf = append(oracleBuf, '{')
		str("Kind", "large-noscan")
		u64("Addr", uint64(uintptr(unsafe.Pointer(&b[0]))))
		u64("Len", uint64(len(b)))
		oracleBuf = append(oracleBuf, '}')
	}
	for _, p := range largeScan {
		oracleBuf = append(oracleBuf, ',', '\n', '{')
		str("Kind", "large-scan")
		u64("Addr", uint64(uintptr(unsafe.Pointer(p))))
		u64("Len", uint64(unsafe.Sizeof(*p)))
		oracleBuf = append(oracleBuf, '}')
	}
	oracleBuf = append(oracleBuf, ',', '\n', '{')
	str("Kind", "list-head")
	u64("Addr", uint64(uintptr(unsafe.Pointer(list))))
	u64("Len", uint64(unsafe.Sizeof(*list)))
	oracleBuf = append(oracleBuf, '}', ']')
	oracleBuf = append(oracleBuf, '}')

	oracleBuf = append(oracleBuf, '}', '\n')
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "goheap: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
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
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		fail("open %s: %v", path, err)
	}
	oracleFd = fd
	oracleBuf = make([]byte, 0, 1<<20)
	gomaxprocs = runtime.GOMAXPROCS(0)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" {
				experiment = s.Value
			}
		}
	}
	self := syscall.Getpid()
	runtime.LockOSThread()

	buildHeap()
	// Collect and sweep everything, and return free memory to the OS so
	// the background scavenger has nothing left to do before the stop.
	threads.Spare()
	runtime.GC()
	debug.FreeOSMemory()
	runtime.ReadMemStats(&setupStats)
	// Garbage: allocated after the last GC, so still counted as allocated.
	makeGarbage()

	// ---- no heap allocation from here on ----
	runtime.ReadMemStats(&dumpStats)
	n := runtime.NumGoroutine()
	encodeOracle(&dumpStats, n)
	ok := len(oracleBuf) < cap(oracleBuf) && threads.WriteAll(oracleFd, oracleBuf) && threads.Close(oracleFd)
	gcDuringGarbage := dumpStats.NumGC != setupStats.NumGC

	if mode == "check" {
		runtime.ReadMemStats(&afterStats)
		if !ok {
			fail("writing the oracle failed")
		}
		if gcDuringGarbage {
			fail("a GC ran while the garbage was made (NumGC %d -> %d)", setupStats.NumGC, dumpStats.NumGC)
		}
		if afterStats.Mallocs != dumpStats.Mallocs || afterStats.TotalAlloc != dumpStats.TotalAlloc ||
			afterStats.HeapAlloc != dumpStats.HeapAlloc {
			fail("the encoder allocated: Mallocs %d -> %d, TotalAlloc %d -> %d, HeapAlloc %d -> %d",
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
				fail("MemStats.%s changed after the oracle was taken: %d -> %d", f.name, f.x, f.y)
			}
		}
		for i := range a.BySize {
			if a.BySize[i] != b.BySize[i] {
				fail("MemStats.BySize[%d] changed after the oracle was taken", i)
			}
		}
		want := map[string]bool{}
		for _, f := range encodedFields {
			want[f] = true
		}
		t := reflect.TypeOf(dumpStats)
		for i := 0; i < t.NumField(); i++ {
			if !want[t.Field(i).Name] {
				fail("MemStats field %s is not encoded", t.Field(i).Name)
			}
		}
		fmt.Printf("ok: no allocation while encoding (Mallocs %d, HeapAlloc %d, %d bytes of oracle)\n",
			dumpStats.Mallocs, dumpStats.HeapAlloc, len(oracleBuf))
		return
	}
	if !ok || gcDuringGarbage {
		// No core: the oracle would not describe it.
		syscall.Write(2, []byte("goheap: oracle write failed or a GC ran during the garbage phase\n"))
		syscall.Exit(3)
	}
	if mode == "crash" {
		// Thread-directed, so the Go signal handler runs right here (on
		// the locked thread) and crashes with a core before anything else.
		syscall.Tgkill(self, syscall.Gettid(), syscall.SIGABRT)
		for {
		}
	}
	for {
		// Stop; stop again whenever continued, so the heap never changes.
		syscall.Kill(self, syscall.SIGSTOP)
	}
}
