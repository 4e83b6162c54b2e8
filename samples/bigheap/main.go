// bigheap builds a large Go heap for memdbg's benchmark (setup/bench.py) and
// then stops so that a core can be taken.  Everything it allocates stays
// reachable from globals.
//
// The heap has two parts:
//
//   - objects: N small objects of 64, 80, 96, 112 and 128 bytes (average 96),
//     half pointerful (kept on linked lists), half pointer-free (kept in
//     32 KiB index chunks), for benchmarks of per-object analyses;
//   - mixed: whatever the byte budget leaves, spread evenly (in bytes) over
//     sizes 16 B..32 KiB, half scan and half noscan, plus about a tenth in
//     large objects (40 KiB..4 MiB).
//
// Flags (environment variables in brackets take effect when the flag is not
// given):
//
//	-heap BYTES     total live heap to aim for [BIGHEAP_BYTES], default 1.2 GiB;
//	                suffixes K, M, G (powers of 1024) are accepted
//	-objects N      number of small objects [BIGHEAP_OBJECTS], default 10000000
//	-mode MODE      crash: SIGABRT itself (GOTRACEBACK=crash) -> kernel core;
//	                stop: SIGSTOP itself (again whenever continued), for gcore;
//	                none: print the summary and exit [BIGHEAP_MODE], default crash
//
// Before stopping it prints one JSON line on stdout describing what it made
// (and the runtime's MemStats figures at that point).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// Pointerful small objects of 64..128 bytes; next links them.
type obj64 struct {
	next *obj64
	pad  [7]int64
}
type obj80 struct {
	next *obj80
	pad  [9]int64
}
type obj96 struct {
	next *obj96
	pad  [11]int64
}
type obj112 struct {
	next *obj112
	pad  [13]int64
}
type obj128 struct {
	next *obj128
	pad  [15]int64
}

// Pointer-free small objects of the same sizes.
type (
	raw64  [64]byte
	raw80  [80]byte
	raw96  [96]byte
	raw112 [112]byte
	raw128 [128]byte
)

// indexChunk is how many pointers one index chunk holds (4096*8 = 32 KiB).
const indexChunk = 4096

var (
	// The small objects.
	list64   *obj64
	list80   *obj80
	list96   *obj96
	list112  *obj112
	list128  *obj128
	rawIndex [][]any // chunks of pointers to raw* objects

	// The mixed part.
	mixedNoscan [][]byte
	mixedScan   [][]*byte
	largeNoscan [][]byte
	largeScan   [][]*byte

	nObjects, nMixed, nLarge int
	objectBytes, mixedBytes  uint64
	largeBytes               uint64
)

func parseBytes(s string) (uint64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mul := 1.0
	for suf, m := range map[string]float64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			s, mul = strings.TrimSuffix(s, suf), m
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad byte count %q", s)
	}
	return uint64(f * mul), nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// makeObjects allocates n small objects, cycling through the five sizes and
// alternating pointerful and pointer-free.
func makeObjects(n int) {
	var chunk []any
	for i := 0; i < n; i++ {
		size := 64 + 16*((i/2)%5)
		objectBytes += uint64(size)
		if i%2 == 0 {
			switch size {
			case 64:
				list64 = &obj64{next: list64}
			case 80:
				list80 = &obj80{next: list80}
			case 96:
				list96 = &obj96{next: list96}
			case 112:
				list112 = &obj112{next: list112}
			default:
				list128 = &obj128{next: list128}
			}
			continue
		}
		if chunk == nil {
			chunk = make([]any, 0, indexChunk/2) // any is two words: 32 KiB
		}
		switch size {
		case 64:
			chunk = append(chunk, new(raw64))
		case 80:
			chunk = append(chunk, new(raw80))
		case 96:
			chunk = append(chunk, new(raw96))
		case 112:
			chunk = append(chunk, new(raw112))
		default:
			chunk = append(chunk, new(raw128))
		}
		if len(chunk) == cap(chunk) {
			rawIndex = append(rawIndex, chunk)
			chunk = nil
		}
	}
	if chunk != nil {
		rawIndex = append(rawIndex, chunk)
	}
	nObjects = n
}

// mixedSizes: finer steps for small sizes, so that the bytes given to each
// size land in many small spans.
func mixedSizes() []int {
	var s []int
	step := 16
	for n := 16; n <= 32768; n += step {
		s = append(s, n)
		switch n {
		case 512:
			step = 64
		case 1024:
			step = 128
		case 2048:
			step = 256
		case 4096:
			step = 512
		case 8192:
			step = 1024
		case 16384:
			step = 2048
		}
	}
	return s
}

func makeMixed(budget uint64) {
	large := budget / 10
	small := budget - large
	sizes := mixedSizes()
	per := small / uint64(len(sizes))
	for _, size := range sizes {
		for used := uint64(0); used+uint64(size) <= per; used += uint64(size) {
			if nMixed%2 == 0 {
				mixedNoscan = append(mixedNoscan, make([]byte, size))
			} else {
				mixedScan = append(mixedScan, make([]*byte, size/8))
			}
			nMixed++
			mixedBytes += uint64(size)
		}
	}
	for i, size := 0, 40<<10; largeBytes+uint64(size) <= large; i++ {
		if i%2 == 0 {
			largeNoscan = append(largeNoscan, make([]byte, size))
		} else {
			largeScan = append(largeScan, make([]*byte, size/8))
		}
		nLarge++
		largeBytes += uint64(size)
		size += 24 << 10
		if size > 4<<20 {
			size = 40 << 10
		}
	}
}

func main() {
	heapFlag := flag.String("heap", envOr("BIGHEAP_BYTES", "1.2G"), "total live heap bytes (K, M, G suffixes)")
	objFlag := flag.Int("objects", 0, "number of small 64..128 B objects (default 10000000)")
	modeFlag := flag.String("mode", envOr("BIGHEAP_MODE", "crash"), "crash, stop or none")
	flag.Parse()
	heap, err := parseBytes(*heapFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigheap:", err)
		os.Exit(2)
	}
	nobj := *objFlag
	objSet := false
	flag.Visit(func(f *flag.Flag) { objSet = objSet || f.Name == "objects" })
	if !objSet {
		nobj, err = strconv.Atoi(envOr("BIGHEAP_OBJECTS", "10000000"))
		if err != nil || nobj < 0 {
			fmt.Fprintln(os.Stderr, "bigheap: bad BIGHEAP_OBJECTS")
			os.Exit(2)
		}
	}
	mode := *modeFlag
	switch mode {
	case "crash":
		debug.SetTraceback("crash")
	case "stop", "none":
	default:
		fmt.Fprintf(os.Stderr, "bigheap: -mode must be crash, stop or none (got %q)\n", mode)
		os.Exit(2)
	}

	// No GC while building: everything stays live anyway.
	debug.SetGCPercent(-1)
	makeObjects(nobj)
	// Index chunks: len(rawIndex) * 32 KiB, plus the object bytes.
	used := objectBytes + uint64(len(rawIndex))*(indexChunk*8)
	if used < heap {
		makeMixed(heap - used)
	}
	runtime.GC()
	debug.SetGCPercent(100)
	debug.FreeOSMemory()

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf(`{"go":%q,"objects":%d,"object_bytes":%d,"mixed":%d,"mixed_bytes":%d,"large":%d,"large_bytes":%d,`+
		`"heap_alloc":%d,"heap_inuse":%d,"heap_objects":%d,"num_gc":%d,"pid":%d}`+"\n",
		runtime.Version(), nObjects, objectBytes, nMixed, mixedBytes, nLarge, largeBytes,
		ms.HeapAlloc, ms.HeapInuse, ms.HeapObjects, ms.NumGC, os.Getpid())
	os.Stdout.Sync()

	self := syscall.Getpid()
	switch mode {
	case "crash":
		// Aimed at this very thread, so the Go handler runs here and dumps core.
		runtime.LockOSThread()
		syscall.Tgkill(self, syscall.Gettid(), syscall.SIGABRT)
		for {
		}
	case "stop":
		for {
			syscall.Kill(self, syscall.SIGSTOP)
		}
	}
}
