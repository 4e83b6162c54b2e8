// Package time's timers, which samples/goheap does not make: setup/go-layout.sh
// reads the layouts of runtime.timeTimer (go1.23+) and of time.Timer and
// time.Ticker (go1.22: runtimeTimer inside them) from this program's DWARF.
// memdbg types the timers that the P's timer heaps and timer channels point
// into by them. It is built, never run for the table; run, it stops its timers.
package main

import (
	"fmt"
	"time"
)

func main() {
	t := time.NewTimer(time.Hour)
	k := time.NewTicker(time.Hour)
	f := time.AfterFunc(time.Hour, func() {})
	fmt.Println(t.Stop(), f.Stop())
	k.Stop()
}
