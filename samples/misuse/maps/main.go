// maps: a long-lived map that only grows (sessions never deleted).
// Oracle: Map (the map header), MapType (as %T prints it), Entries, Holder.
package main

import (
	"fmt"
	"runtime"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type Session struct {
	id    int64
	user  *User
	stamp [4]int64
}

type User struct{ name [32]byte }

const nSessions = 5000

var registry map[int64]*Session

//go:noinline
func build() {
	registry = make(map[int64]*Session)
	for i := int64(0); i < nSessions; i++ {
		registry[i] = &Session{id: i, user: &User{}}
	}
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	build()
	mapType := fmt.Sprintf("%T", registry) // before Settle: it allocates
	oracle.Scrub()
	harness.Settle()
	oracle.U64("Map", uint64(*(*uintptr)(unsafe.Pointer(&registry))))
	oracle.Str("MapType", mapType)
	oracle.U64("Entries", nSessions)
	harness.Global("Holder", "main.registry", unsafe.Pointer(&registry), unsafe.Sizeof(registry))
	harness.Finish()
}
