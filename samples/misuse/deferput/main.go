// deferput: a handler takes a buffer from a sync.Pool and releases it with
// a deferred Put, but the reply it returns still points into the buffer, and
// the reply is kept (main.lastReply): the pool will hand the buffer to the
// next caller while the reply still reads it.
// Oracle: Buffer, Reply, BodyField, Pool, Holder.
package main

import (
	"runtime"
	"sync"
	"unsafe"

	"memdbg.example/kit/oracle"
	"misuse/harness"
)

type Buffer struct{ b [4096]byte }

type Reply struct {
	id   int64
	body []byte
}

var (
	bufPool   = sync.Pool{New: func() any { return new(Buffer) }}
	lastReply *Reply
)

//go:noinline
func handle(id int64) *Reply {
	buf := bufPool.Get().(*Buffer)
	defer bufPool.Put(buf) // the misuse: released on return while the reply still uses it
	n := copy(buf.b[:], "reply body")
	return &Reply{id: id, body: buf.b[:n]}
}

func main() {
	runtime.LockOSThread()
	harness.Begin()
	harness.Settle()
	lastReply = handle(1)
	oracle.Scrub()
	harness.Mark()
	oracle.U64("Buffer", uint64(uintptr(unsafe.Pointer(unsafe.SliceData(lastReply.body)))))
	oracle.U64("Reply", uint64(uintptr(unsafe.Pointer(lastReply))))
	oracle.U64("BodyField", uint64(uintptr(unsafe.Pointer(&lastReply.body))))
	harness.Global("Pool", "main.bufPool", unsafe.Pointer(&bufPool), unsafe.Sizeof(bufPool))
	harness.Global("Holder", "main.lastReply", unsafe.Pointer(&lastReply), unsafe.Sizeof(lastReply))
	harness.Finish()
}
