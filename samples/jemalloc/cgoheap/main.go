// cgoheap: a Go program whose C side allocates from jemalloc (linked with
// -ljemalloc, so C.malloc is jemalloc's), with pointers both ways: Go objects
// hold C blocks, and C blocks hold a C chain.  It writes the addresses to
// $MEMDBG_ORACLE and aborts (kernel core) or stops itself.  For heap-block and
// find-refs across two heaps in one process.
package main

/*
#cgo LDFLAGS: -ljemalloc
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct cnode { struct cnode *next; char pad[56]; };

static struct cnode *cchain(int n, struct cnode **out)
{
	struct cnode *prev = NULL;
	for (int i = n - 1; i >= 0; i--) {
		struct cnode *c = malloc(sizeof(*c));
		memset(c, 0, sizeof(*c));
		c->next = prev;
		prev = c;
		out[i] = c;
	}
	return prev;
}

static void stop(int crash) { if (crash) abort(); for (;;) raise(SIGSTOP); }
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"os"
	"unsafe"
)

// gonode lives in the Go heap and holds a C block.
type gonode struct {
	next  *gonode
	cblk  uintptr
	label [32]byte
}

var (
	goHead *gonode
	cHead  *C.struct_cnode
	keep   []*gonode
)

func main() {
	mode, oracle := os.Getenv("MEMDBG_SAMPLE_MODE"), os.Getenv("MEMDBG_ORACLE")
	if mode == "" || oracle == "" {
		fmt.Fprintln(os.Stderr, "usage: MEMDBG_SAMPLE_MODE=stop|crash MEMDBG_ORACLE=PATH cgoheap")
		os.Exit(2)
	}
	const n = 50
	cnodes := (*[n]*C.struct_cnode)(C.malloc(C.size_t(n * unsafe.Sizeof(uintptr(0)))))
	cHead = C.cchain(n, &cnodes[0])
	var prev *gonode
	for i := n - 1; i >= 0; i-- {
		g := &gonode{next: prev, cblk: uintptr(unsafe.Pointer(cnodes[i]))}
		keep = append(keep, g)
		prev = g
	}
	goHead = prev
	out := map[string]any{"go": []string{}, "c": []string{}}
	for g := goHead; g != nil; g = g.next {
		out["go"] = append(out["go"].([]string), fmt.Sprintf("%#x", uintptr(unsafe.Pointer(g))))
		out["c"] = append(out["c"].([]string), fmt.Sprintf("%#x", g.cblk))
	}
	b, _ := json.Marshal(out)
	if err := os.WriteFile(oracle, b, 0o644); err != nil {
		panic(err)
	}
	C.stop(C.int(map[bool]int{true: 1, false: 0}[mode == "crash"]))
}
