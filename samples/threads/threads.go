// Package threads makes the Go runtime start its spare threads early.
//
// A new M allocates its runtime.m and two runtime.g (g0 and gsignal) on the
// heap. The samples take their oracle (MemStats, the heap dump) and then make
// syscalls until the core is taken; if sysmon hands a P off during one of
// them and no idle M exists, the runtime starts one, and the core holds three
// objects the oracle does not (seen on go1.22 and go1.23).
package threads

import (
	"runtime"
	"sync"
	"syscall"
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
