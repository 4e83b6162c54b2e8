//go:build !go1.24

package main

// No weak package before go1.24: no weak-only scenario.
func makeWeak() uintptr { return 0 }
