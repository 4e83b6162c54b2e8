// Package threads keeps the Go runtime from starting threads once a sample
// has taken its oracle.
//
// A new M allocates its runtime.m and two runtime.g (g0 and gsignal) on the
// heap, and its signal stack from heap pages.  The samples take their oracle
// (MemStats, the heap dump) and then write it out; if sysmon hands the P off
// during a blocking syscall and no idle M exists, the runtime starts one, and
// the core no longer matches the oracle (seen on go1.22, go1.23 and go1.26).
// Spare makes idle Ms early; WriteAll, Close and Rewind make the writes raw
// system calls, which keep their P.
package threads

import (
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// Spare blocks GOMAXPROCS+2 goroutines in a syscall at once, so that as many
// Ms exist and, once they return, wait idle for the runtime to reuse.
func Spare() {
	n := runtime.GOMAXPROCS(0) + 2
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			ts := syscall.Timespec{Nsec: 20_000_000}
			syscall.Nanosleep(&ts, nil)
		}()
	}
	wg.Wait()
}

// WriteAll writes all of b to fd with raw system calls.  syscall.Write
// enters a blocking syscall, during which sysmon may hand the P to another M
// and so start one: after a sample's oracle nothing may do that.
func WriteAll(fd int, b []byte) bool {
	for len(b) > 0 {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])),
			uintptr(len(b)))
		if errno != 0 || n == 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

// Close closes fd with a raw system call (see WriteAll).
func Close(fd int) bool {
	_, _, errno := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
	return errno == 0
}

// Rewind empties the file open as fd and seeks to its start, with raw
// system calls (see WriteAll).
func Rewind(fd int) bool {
	_, _, errno := syscall.RawSyscall(syscall.SYS_FTRUNCATE, uintptr(fd), 0, 0)
	if errno != 0 {
		return false
	}
	_, _, errno = syscall.RawSyscall(syscall.SYS_LSEEK, uintptr(fd), 0, 0)
	return errno == 0
}
