// raft runs a real three-node Raft cluster (github.com/hashicorp/raft, its
// logs and stable state in BoltDB through github.com/hashicorp/raft-boltdb/v2
// and go.etcd.io/bbolt, file snapshots) in this process, the nodes talking
// over loopback TCP, with a replicated key-value map as the state machine.
// A small load generator of ours sets and deletes keys through a line
// protocol served on loopback (SET/DEL, answered once the leader has
// committed); then the program leaves a kernel core with its oracle and heap
// dump (samples/corpus/harness).
//
// Environment: MEMDBG_SAMPLE_MODE and MEMDBG_ORACLE as every sample
// (samples/kit/oracle); the nodes' data goes to ./raft-N.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"memdbg.example/corpus/harness"
	"memdbg.example/kit/oracle"
)

const (
	nodes    = 3
	clients  = 32    // load generator connections
	sets     = 12000 // SET commands (over all clients)
	deletes  = 1500  // DEL commands
	keySpace = 9000
)

// kv is the replicated state machine: a map of keys to values.
type kv struct {
	mu      sync.Mutex
	data    map[string][]byte
	applied uint64
}

const (
	opSet byte = 1
	opDel byte = 2
)

func command(op byte, key string, val []byte) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(key)+len(val))
	b = append(b, op)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return append(b, val...)
}

func (f *kv) Apply(l *raft.Log) interface{} {
	n, w := binary.Uvarint(l.Data[1:])
	key := string(l.Data[1+w : 1+w+int(n)])
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = l.Index
	switch l.Data[0] {
	case opSet:
		f.data[key] = append([]byte(nil), l.Data[1+w+int(n):]...)
	case opDel:
		delete(f.data, key)
	}
	return nil
}

type snapshot struct{ data map[string][]byte }

func (f *kv) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(map[string][]byte, len(f.data))
	for k, v := range f.data {
		c[k] = v
	}
	return &snapshot{c}, nil
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriter(sink)
	for k, v := range s.data {
		w.Write(command(opSet, k, v))
	}
	if err := w.Flush(); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() {}

func (f *kv) Restore(rc io.ReadCloser) error { return rc.Close() }

type node struct {
	raft  *raft.Raft
	fsm   *kv
	trans *raft.NetworkTransport
	store *raftboltdb.BoltStore
}

// Everything stays reachable from here.
var (
	cluster  [nodes]*node
	frontend net.Listener
	conns    []net.Conn
)

func check(err error, what string) {
	if err != nil {
		oracle.Fail("%s: %v", what, err)
	}
}

func config(id int) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(fmt.Sprintf("node-%d", id))
	c.SnapshotThreshold = 4096
	c.TrailingLogs = 2048
	c.SnapshotInterval = 500 * time.Millisecond
	c.Logger = hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Off})
	return c
}

func startCluster() {
	var servers []raft.Server
	for i := range cluster {
		t, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, 10*time.Second, io.Discard)
		check(err, "NewTCPTransport")
		cluster[i] = &node{trans: t, fsm: &kv{data: map[string][]byte{}}}
		servers = append(servers, raft.Server{ID: config(i).LocalID, Address: t.LocalAddr()})
	}
	for i, n := range cluster {
		dir := fmt.Sprintf("raft-%d", i)
		check(os.RemoveAll(dir), "RemoveAll")
		check(os.MkdirAll(dir, 0o755), "MkdirAll")
		var err error
		// NoSync: the load measures the heap, not the disk's fsync latency.
		n.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), NoSync: true})
		check(err, "raftboltdb.New")
		snaps, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
		check(err, "NewFileSnapshotStore")
		c := config(i)
		check(raft.BootstrapCluster(c, n.store, n.store, snaps, n.trans, raft.Configuration{Servers: servers}),
			"BootstrapCluster")
		n.raft, err = raft.NewRaft(c, n.fsm, n.store, n.store, snaps, n.trans)
		check(err, "NewRaft")
	}
}

func leader() *node {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range cluster {
			if n.raft.State() == raft.Leader {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	oracle.Fail("no leader elected within 30 s")
	return nil
}

// serve answers "SET key len\n<value>" and "DEL key\n" with "OK\n" once committed.
func serve(l *node) {
	var err error
	frontend, err = net.Listen("tcp", "127.0.0.1:0")
	check(err, "Listen")
	go func() {
		for {
			c, err := frontend.Accept()
			if err != nil {
				return
			}
			go handle(l, c)
		}
	}()
}

func handle(l *node, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		var op, key string
		var n int
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := fmt.Sscan(line, &op, &key, &n); err != nil && op != "DEL" {
			fmt.Fprintf(c, "ERR %v\n", err)
			continue
		}
		var cmd []byte
		if op == "SET" {
			val := make([]byte, n)
			if _, err := io.ReadFull(r, val); err != nil {
				return
			}
			cmd = command(opSet, key, val)
		} else {
			cmd = command(opDel, key, nil)
		}
		if err := l.raft.Apply(cmd, 10*time.Second).Error(); err != nil {
			fmt.Fprintf(c, "ERR %v\n", err)
			continue
		}
		io.WriteString(c, "OK\n")
	}
}

func load() {
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		c, err := net.Dial("tcp", frontend.Addr().String())
		check(err, "Dial")
		conns = append(conns, c)
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(i)))
			br := bufio.NewReader(c)
			for j := i; j < sets+deletes; j += clients {
				key := fmt.Sprintf("user/%05d/profile", r.Intn(keySpace))
				if j < sets {
					val := make([]byte, 64+r.Intn(960))
					r.Read(val)
					fmt.Fprintf(c, "SET %s %d\n", key, len(val))
					c.Write(val)
				} else {
					fmt.Fprintf(c, "DEL %s\n", key)
				}
				if line, err := br.ReadString('\n'); err != nil || line != "OK\n" {
					errs <- fmt.Errorf("reply %q: %v", line, err)
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	select {
	case err := <-errs:
		oracle.Fail("load: %v", err)
	default:
	}
}

// settle waits until every node applied what the leader committed.
func settle(l *node) {
	check(l.raft.Barrier(10*time.Second).Error(), "Barrier")
	want := l.raft.AppliedIndex()
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range cluster {
		for n.raft.AppliedIndex() < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
}

func main() {
	harness.Begin("raft")
	startCluster()
	l := leader()
	serve(l)
	load()
	settle(l)
	harness.Figure("Nodes", nodes)
	harness.Figure("Clients", clients)
	harness.Figure("Sets", sets)
	harness.Figure("Deletes", deletes)
	harness.Figure("LeaderKeys", int64(len(l.fsm.data)))
	harness.Figure("AppliedIndex", int64(l.raft.AppliedIndex()))
	harness.Figure("LastSnapshotIndex", int64(lastSnapshot(l)))
	harness.Finish()
}

func lastSnapshot(n *node) uint64 {
	var idx uint64
	fmt.Sscan(n.raft.Stats()["last_snapshot_index"], &idx)
	return idx
}
