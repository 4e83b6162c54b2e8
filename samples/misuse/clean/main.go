// clean: an ordinary program (a small map, a few workers waiting for work,
// some structs and buffers): findings must be empty.
package main

import (
	"runtime"
	"sync"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type Item struct {
	name string
	next *Item
	n    [4]int64
}

var (
	index   map[string]*Item
	list    *Item
	work    chan int
	ready   sync.WaitGroup
	buffers [][]byte
)

//go:noinline
func build() {
	index = make(map[string]*Item)
	for i := 0; i < 100; i++ {
		it := &Item{name: string(rune('a'+i%26)) + string(rune('a'+i/26)), next: list}
		list = it
		index[it.name] = it
	}
	for i := 0; i < 8; i++ {
		buffers = append(buffers, make([]byte, 4096))
	}
	work = make(chan int)
	ready.Add(4)
	for i := 0; i < 4; i++ {
		go func() {
			ready.Done()
			for range work {
			}
		}()
	}
	ready.Wait()
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	build()
	oracle.Scrub()
	harness.Settle()
	oracle.Str("Scenario", "clean")
	harness.Finish()
}
