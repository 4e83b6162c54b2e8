// nats runs a real NATS server (github.com/nats-io/nats-server/v2, with
// JetStream on file storage) in this process, drives it over loopback TCP
// with real clients (github.com/nats-io/nats.go): connections, plain
// subscriptions, request/reply, a file-backed stream, a memory stream, a
// key-value bucket and a durable pull consumer; then it leaves a kernel core
// with its oracle and heap dump (samples/corpus/harness).
//
// Environment: MEMDBG_SAMPLE_MODE and MEMDBG_ORACLE as every sample
// (samples/kit/oracle); the JetStream store goes to ./jetstream.
package main

import (
	"fmt"
	"math/rand"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"memdbg.example/corpus/harness"
	"memdbg.example/kit/oracle"
)

const (
	conns        = 24   // client connections
	subsPerConn  = 64   // plain subscriptions on each
	coreMsgs     = 4000 // messages published to those subscriptions
	requests     = 1000 // request/reply round trips
	streamMsgs   = 20000
	memStreamMsg = 4000
	kvKeys       = 1500
	fetched      = 3000 // messages the pull consumer fetches and acks
)

// Everything the load made stays reachable from here, as a server's clients would.
var (
	srv      *server.Server
	clients  []*nats.Conn
	subs     []*nats.Subscription
	received atomic.Int64
	pull     *nats.Subscription
	kv       nats.KeyValue
)

func check(err error, what string) {
	if err != nil {
		oracle.Fail("%s: %v", what, err)
	}
}

func payload(r *rand.Rand, min, max int) []byte {
	b := make([]byte, min+r.Intn(max-min))
	for i := range b {
		b[i] = 'a' + byte(r.Intn(26))
	}
	return b
}

func startServer() {
	opts := &server.Options{
		ServerName: "memdbg-corpus",
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   "jetstream",
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: 1 << 20,
	}
	var err error
	srv, err = server.NewServer(opts)
	check(err, "server.NewServer")
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		oracle.Fail("the server did not accept connections within 10 s")
	}
}

func connect() {
	for i := 0; i < conns; i++ {
		nc, err := nats.Connect(srv.ClientURL(), nats.Name(fmt.Sprintf("load-%d", i)))
		check(err, "nats.Connect")
		clients = append(clients, nc)
		for j := 0; j < subsPerConn; j++ {
			s, err := nc.Subscribe(fmt.Sprintf("load.%d.%d", i, j), func(m *nats.Msg) { received.Add(1) })
			check(err, "Subscribe")
			subs = append(subs, s)
		}
		// one queue subscriber per connection answers requests
		s, err := nc.QueueSubscribe("svc.echo", "workers", func(m *nats.Msg) { m.Respond(m.Data) })
		check(err, "QueueSubscribe")
		subs = append(subs, s)
		check(nc.Flush(), "Flush")
	}
}

func publishCore(r *rand.Rand) {
	for i := 0; i < coreMsgs; i++ {
		nc := clients[i%conns]
		check(nc.Publish(fmt.Sprintf("load.%d.%d", r.Intn(conns), r.Intn(subsPerConn)), payload(r, 32, 512)), "Publish")
	}
	for i := 0; i < requests; i++ {
		_, err := clients[i%conns].Request("svc.echo", payload(r, 16, 128), 5*time.Second)
		check(err, "Request")
	}
	for _, nc := range clients {
		check(nc.Flush(), "Flush")
	}
	deadline := time.Now().Add(10 * time.Second)
	for received.Load() < coreMsgs && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if received.Load() != coreMsgs {
		oracle.Fail("received %d of %d core messages", received.Load(), coreMsgs)
	}
}

func jetStream(r *rand.Rand) {
	js, err := clients[0].JetStream(nats.PublishAsyncMaxPending(512))
	check(err, "JetStream")
	_, err = js.AddStream(&nats.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}, Storage: nats.FileStorage})
	check(err, "AddStream EVENTS")
	_, err = js.AddStream(&nats.StreamConfig{Name: "RECENT", Subjects: []string{"recent.>"}, Storage: nats.MemoryStorage})
	check(err, "AddStream RECENT")
	for i := 0; i < streamMsgs; i++ {
		_, err := js.PublishAsync(fmt.Sprintf("events.%d.%d", i%97, i), payload(r, 64, 640))
		check(err, "PublishAsync")
	}
	for i := 0; i < memStreamMsg; i++ {
		_, err := js.PublishAsync(fmt.Sprintf("recent.%d", i%31), payload(r, 32, 256))
		check(err, "PublishAsync")
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		oracle.Fail("JetStream publishes not acknowledged within 30 s")
	}
	kv, err = js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "config", History: 3})
	check(err, "CreateKeyValue")
	for i := 0; i < kvKeys; i++ {
		_, err := kv.Put(fmt.Sprintf("svc.%d.setting", i), payload(r, 16, 200))
		check(err, "kv.Put")
	}
	pull, err = js.PullSubscribe("events.>", "reader", nats.AckExplicit())
	check(err, "PullSubscribe")
	for n := 0; n < fetched; {
		msgs, err := pull.Fetch(250, nats.MaxWait(5*time.Second))
		check(err, "Fetch")
		for _, m := range msgs {
			check(m.Ack(), "Ack")
		}
		n += len(msgs)
	}
	info, err := js.StreamInfo("EVENTS")
	check(err, "StreamInfo")
	if info.State.Msgs != streamMsgs {
		oracle.Fail("EVENTS holds %d messages, want %d", info.State.Msgs, streamMsgs)
	}
	harness.Figure("StreamBytes", int64(info.State.Bytes))
}

func main() {
	harness.Begin("nats")
	if err := os.RemoveAll("jetstream"); err != nil {
		oracle.Fail("%v", err)
	}
	r := rand.New(rand.NewSource(1))
	startServer()
	connect()
	publishCore(r)
	jetStream(r)
	for _, nc := range clients {
		check(nc.Flush(), "Flush")
	}
	time.Sleep(200 * time.Millisecond) // acks and flushes settle
	harness.Figure("Connections", conns)
	harness.Figure("Subscriptions", int64(len(subs)))
	harness.Figure("ServerSubscriptions", int64(srv.NumSubscriptions()))
	harness.Figure("CoreMessages", coreMsgs)
	harness.Figure("Requests", requests)
	harness.Figure("StreamMessages", streamMsgs)
	harness.Figure("MemoryStreamMessages", memStreamMsg)
	harness.Figure("KVKeys", kvKeys)
	harness.Figure("Fetched", fetched)
	harness.Finish()
}
