// Package oracle is what the Go samples share to record what they made: a
// JSON document built without allocating (into a buffer made up front), the
// files it goes to, and the ending that leaves a core behind.
//
// MEMDBG_SAMPLE_MODE says how a sample ends: crash (a kernel core),
// stop (SIGSTOP, for gcore) or check (no core: prove nothing allocated).
// MEMDBG_ORACLE names the oracle file; a heap dump goes beside it.
package oracle

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"memdbg.example/kit/threads"
)

var (
	// Mode is MEMDBG_SAMPLE_MODE: crash, stop or check.
	Mode string
	// Buf is the document; samples may append to it directly for pieces of their own.
	Buf        []byte
	sample     string
	experiment string // GOEXPERIMENT the program was built with (read up front: it allocates)
	sink       uintptr
)

// Fail prints one line naming the sample and exits 1 (only before the oracle is taken: it allocates).
func Fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, sample+": "+format+"\n", args...)
	os.Exit(1)
}

// Begin reads the mode, opens the oracle file and, with dump, a "heapdump"
// file in the same directory, and allocates the buffer.
func Begin(name string, capacity int, dump bool) (oracleFd, dumpFd int) {
	sample = name
	Mode = os.Getenv("MEMDBG_SAMPLE_MODE")
	switch Mode {
	case "crash":
		debug.SetTraceback("crash")
	case "stop", "check":
	default:
		Fail("MEMDBG_SAMPLE_MODE must be crash, stop or check (got %q)", Mode)
	}
	path := os.Getenv("MEMDBG_ORACLE")
	if path == "" {
		path = "oracle.json"
	}
	flags := syscall.O_WRONLY | syscall.O_CREAT | syscall.O_TRUNC | syscall.O_CLOEXEC
	var err error
	if oracleFd, err = syscall.Open(path, flags, 0o644); err != nil {
		Fail("open %s: %v", path, err)
	}
	if dump {
		dir := ""
		for i := len(path) - 1; i >= 0; i-- {
			if path[i] == '/' {
				dir = path[:i+1]
				break
			}
		}
		if dumpFd, err = syscall.Open(dir+"heapdump", flags, 0o644); err != nil {
			Fail("open heapdump: %v", err)
		}
	}
	Buf = make([]byte, 0, capacity)
	experiment = buildExperiment()
	return oracleFd, dumpFd
}

func buildExperiment() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" {
				return s.Value
			}
		}
	}
	return ""
}

//go:noinline
func sum(b []uintptr) uintptr {
	var s uintptr
	for _, w := range b {
		s += w
	}
	return s
}

// AwaitIdle waits, after a GC, until the heap's idle pages stop moving: the
// background sweeper returns the GC's work buffers (32 KiB spans) to the heap
// a little after the GC ends, which on a loaded machine can fall between the
// oracle and the core.  Bounded to about 2 s.
func AwaitIdle() {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	for i, steady := 0, 0; i < 400 && steady < 4; i++ {
		time.Sleep(5 * time.Millisecond)
		runtime.ReadMemStats(&b)
		if b.HeapIdle == a.HeapIdle && b.HeapSys == a.HeapSys {
			steady++
		} else {
			steady = 0
		}
		a = b
	}
}

// Scrub zeroes 16 KiB of stack below its caller, so no stale pointer stays there.
//
//go:noinline
func Scrub() {
	var b [2048]uintptr
	for i := range b {
		b[i] = 0
	}
	sink += sum(b[:])
}

// Sep separates a value from the one before it, unless it is the first in its object or array.
func Sep() {
	if n := len(Buf); n > 0 {
		switch Buf[n-1] {
		case '{', '[', ' ':
		default:
			Buf = append(Buf, ',', '\n')
		}
	}
}

// PutStr appends s quoted; control characters become '?'.
func PutStr(s string) {
	Buf = append(Buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			Buf = append(Buf, '\\', c)
		case c < 0x20:
			Buf = append(Buf, '?')
		default:
			Buf = append(Buf, c)
		}
	}
	Buf = append(Buf, '"')
}

func Key(k string) {
	Sep()
	PutStr(k)
	Buf = append(Buf, ':', ' ')
}

func U64(k string, v uint64)    { Key(k); Buf = strconv.AppendUint(Buf, v, 10) }
func I64(k string, v int64)     { Key(k); Buf = strconv.AppendInt(Buf, v, 10) }
func Str(k string, v string)    { Key(k); PutStr(v) }
func Bool(k string, v bool)     { Key(k); Buf = strconv.AppendBool(Buf, v) }
func Float(k string, v float64) { Key(k); Buf = strconv.AppendFloat(Buf, v, 'g', -1, 64) }

// Open starts an object or array ('{' or '['), as a value of its own; Close ends it.
func Open(c byte)  { Sep(); Buf = append(Buf, c) }
func Close(c byte) { Buf = append(Buf, c) }

// Elem appends a number as an array element.
func Elem(v uint64) { Sep(); Buf = strconv.AppendUint(Buf, v, 10) }

func U64s(k string, v []uint64) {
	Key(k)
	Open('[')
	for _, x := range v {
		Elem(x)
	}
	Close(']')
}

// Process records what the program ran as: GOMAXPROCS, the Go version, GOEXPERIMENT, the mode and the pid.
func Process() {
	I64("GOMAXPROCS", int64(runtime.GOMAXPROCS(0)))
	Str("GoVersion", runtime.Version())
	Str("GOEXPERIMENT", experiment)
	Str("Mode", Mode)
	I64("Pid", int64(syscall.Getpid()))
}

// Addrs records addresses as an array of numbers.
func Addrs(k string, ps []uintptr) {
	Key(k)
	Open('[')
	for _, p := range ps {
		Elem(uint64(p))
	}
	Close(']')
}

// MemStats records the MemStats fields the tests compare, BySize included.
func MemStats(k string, m *runtime.MemStats) {
	Key(k)
	Open('{')
	U64("Alloc", m.Alloc)
	U64("TotalAlloc", m.TotalAlloc)
	U64("Sys", m.Sys)
	U64("Mallocs", m.Mallocs)
	U64("Frees", m.Frees)
	U64("HeapAlloc", m.HeapAlloc)
	U64("HeapSys", m.HeapSys)
	U64("HeapIdle", m.HeapIdle)
	U64("HeapInuse", m.HeapInuse)
	U64("HeapReleased", m.HeapReleased)
	U64("HeapObjects", m.HeapObjects)
	U64("StackInuse", m.StackInuse)
	U64("NumGC", uint64(m.NumGC))
	BySize(m)
	Close('}')
}

// BySize records MemStats.BySize: per size class, its size and counts.
func BySize(m *runtime.MemStats) {
	Key("BySize")
	Open('[')
	for i := range m.BySize {
		Open('{')
		U64("Size", uint64(m.BySize[i].Size))
		U64("Mallocs", m.BySize[i].Mallocs)
		U64("Frees", m.BySize[i].Frees)
		Close('}')
	}
	Close(']')
}

// Write ends the document with a newline and writes it to fd; false when
// that failed or the buffer was too small (it would have grown, allocating).
func Write(fd int) bool {
	Buf = append(Buf, '\n')
	return len(Buf) < cap(Buf) && threads.WriteAll(fd, Buf)
}

// End leaves the core: with ok, a crash (SIGABRT to this thread, so the Go
// handler runs here and dumps core) or a stop that repeats whenever the
// process is continued, so the heap never changes.  Without ok it says why
// on stderr and exits 3: no core, since the oracle would not describe it.
func End(ok bool, why string) {
	if !ok {
		syscall.Write(2, []byte(sample+": "+why+"\n"))
		syscall.Exit(3)
	}
	self := syscall.Getpid()
	if Mode == "crash" {
		syscall.Tgkill(self, syscall.Gettid(), syscall.SIGABRT)
		for {
		}
	}
	for {
		syscall.Kill(self, syscall.SIGSTOP)
	}
}
