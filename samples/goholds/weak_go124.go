//go:build go1.24

package main

import (
	"unsafe"
	"weak"
)

// WeakOnly is referred to only by a weak pointer (weak is go1.24+).
type WeakOnly struct{ v [4]int64 }

var weakRoot weak.Pointer[WeakOnly]

// makeWeak allocates a WeakOnly (after the last GC, so it is still allocated)
// and keeps only a weak pointer to it.
//
//go:noinline
func makeWeak() uintptr {
	w := &WeakOnly{}
	w.v[0] = 4
	weakRoot = weak.Make(w)
	return uintptr(unsafe.Pointer(w))
}
