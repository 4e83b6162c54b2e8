// Command minimal is the smallest program memdbg must read: it calls nothing
// that reads MemStats, so the linker drops runtime.readmemstats_m (whose code
// memdbg's stripped-build reader once needed to find runtime.memstats), and
// it dies inside a recursion whose frames each hold a heap node in the same
// stack slot (roots that only the frame's depth tells apart).
//
// It also holds two slices whose fronts it cut off (s = s[k:]): only an
// interior pointer reaches their backing arrays; a node only an
// atomic.Pointer global holds; a table a constructor returns after
// filling it in a loop (kept in a frame word across the loop's calls); and
// a node only a sync.Map global holds.
//
// MEMDBG_ORACLE: where it writes {"Nodes": [address of each frame's node,
// innermost first], "Trimmed": {address of a backing array: its type},
// "Atomic": {address of the node: "main.node"}, "Looped": {address of the
// table: "main.table"}, "SyncMap": {address of the node: "main.node"}}
// before it sends itself SIGABRT (run with GOTRACEBACK=crash for a core).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

type node struct {
	buf  []byte
	next *node
}

const depth = 5

var sink *node

var current atomic.Pointer[node]

// Backing arrays of make([]T, n) that only their trimmed slices reach.
var (
	trimmedIDs   = make([]uint64, 2079)
	trimmedNodes = make([]*node, 50)
	trimmed      = map[string]string{
		fmt.Sprintf("%#x", uintptr(unsafe.Pointer(&trimmedIDs[0]))):   "[2079]uint64",
		fmt.Sprintf("%#x", uintptr(unsafe.Pointer(&trimmedNodes[0]))): "[50]*main.node",
	}
)

// nodes: each frame's node, innermost first (written before the last call returns).
var nodes []string

type table struct {
	rows [16]*node
}

//go:noinline
func newTable() *table {
	t := &table{}
	for i := range t.rows {
		t.rows[i] = &node{buf: make([]byte, i+1)}
	}
	return t
}

var tbl = newTable()

var registry sync.Map

//go:noinline
func walk(n int, parent *node) *node {
	me := &node{buf: make([]byte, 64+n), next: parent}
	if n == 0 {
		nodes = append(nodes, fmt.Sprintf("%#x", uintptr(unsafe.Pointer(me))))
		for p := parent; p != nil; p = p.next {
			nodes = append(nodes, fmt.Sprintf("%#x", uintptr(unsafe.Pointer(p))))
		}
		atomicNode := map[string]string{fmt.Sprintf("%#x", uintptr(unsafe.Pointer(current.Load()))): "main.node"}
		looped := map[string]string{fmt.Sprintf("%#x", uintptr(unsafe.Pointer(tbl))): "main.table"}
		registered, _ := registry.Load("node")
		syncMap := map[string]string{fmt.Sprintf("%#x", uintptr(unsafe.Pointer(registered.(*node)))): "main.node"}
		b, err := json.Marshal(map[string]any{"Nodes": nodes, "Trimmed": trimmed, "Atomic": atomicNode,
			"Looped": looped, "SyncMap": syncMap})
		if err != nil || os.WriteFile(os.Getenv("MEMDBG_ORACLE"), b, 0o644) != nil {
			os.Exit(1)
		}
		syscall.Kill(os.Getpid(), syscall.SIGABRT)
		return me
	}
	r := walk(n-1, me)
	sink = me
	return r
}

func main() {
	trimmedIDs = trimmedIDs[9:]
	for i := range trimmedNodes {
		trimmedNodes[i] = &node{}
	}
	trimmedNodes = trimmedNodes[3:]
	current.Store(&node{buf: make([]byte, 8)})
	registry.Store("node", &node{buf: make([]byte, 24)})
	walk(depth-1, nil)
}
