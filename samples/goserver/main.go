// goserver: a healthy server under load, for findings (tests/test_server.py).
//
// In one process, on loopback: a TCP echo server with nClients connections,
// each served by a read loop (blocked reading: IO wait) and a write loop
// (blocked on its connection's out channel, which only the read loop
// holds); the client side of each connection has its own read loop; an
// HTTP server (net/http) with nHTTP keep-alive connections from an
// http.Client whose transport keeps them idle (per connection a server
// goroutine reading, and the transport's readLoop and writeLoop); a worker
// pool blocked on a job channel main still holds, and a goroutine waiting on
// a WaitGroup the workers hold; a time.Ticker loop; a sync.Cond waiter whose
// cond a global holds; a goroutine blocked on a mutex main holds.  None of
// them has leaked: findings must report nothing.
//
// MEMDBG_SERVER_LEAKS=N adds a true leak: fanOut starts N+1 goroutines that
// send their result on a channel only they hold, takes the first and
// returns; the other N are blocked on the send for good.
//
// Like the other samples it writes runtime/debug.WriteHeapDump ("heapdump"
// next to the oracle) and the oracle without allocating, then crashes
// (MEMDBG_SAMPLE_MODE=crash), stops (stop) or checks (check).
package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"memdbg.example/kit/oracle"
	"memdbg.example/kit/threads"
)

const (
	nClients = 200
	nHTTP    = 20
	nWorkers = 16
	nJobs    = 200
)

// conn is the server side of one echo connection.
type conn struct {
	c   net.Conn
	out chan []byte
}

// queue is what the cond waiter waits on.
type queue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	items []int
}

var (
	workQueue  *queue     // the cond's holder: a global
	stateMu    sync.Mutex // main holds it locked; one goroutine waits for it
	httpClient *http.Client
	ticks      atomic.Int64
	served     atomic.Int64
	jobsDone   atomic.Int64
	echoed     sync.WaitGroup
	leakSink   atomic.Int64

	nLeaks                 int
	oracleFd, dumpFd       int
	beforeStats, dumpStats runtime.MemStats
	setupStats, afterStats runtime.MemStats
	numGoroutine           int
)

// ---- the echo server ----

// readLoop reads lines and hands them to the write loop; only it holds out.
func (s *conn) readLoop() {
	r := bufio.NewReader(s.c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			close(s.out)
			return
		}
		s.out <- line
	}
}

func (s *conn) writeLoop() {
	for line := range s.out {
		if _, err := s.c.Write(line); err != nil {
			return
		}
	}
}

func echoServer(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s := &conn{c: c, out: make(chan []byte, 1)}
		go s.readLoop()
		go s.writeLoop()
	}
}

// echoClient says hello once, then keeps reading (as a subscriber would).
func echoClient(addr string, i int) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		oracle.Fail("dial %s: %v", addr, err)
	}
	go func() {
		r := bufio.NewReader(c)
		first := true
		for {
			if _, err := r.ReadBytes('\n'); err != nil {
				return
			}
			if first {
				echoed.Done()
				first = false
			}
		}
	}()
	if _, err := c.Write([]byte("hello " + strconv.Itoa(i) + "\n")); err != nil {
		oracle.Fail("write: %v", err)
	}
}

// ---- HTTP ----

func startHTTP() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		oracle.Fail("listen: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // so the requests overlap: one connection each
		served.Add(1)
		io.WriteString(w, "ok\n")
	})
	go (&http.Server{Handler: mux}).Serve(ln)
	httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * nHTTP}}
	return "http://" + ln.Addr().String() + "/"
}

func httpRequests(url string) {
	var wg sync.WaitGroup
	for i := 0; i < nHTTP; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := httpClient.Get(url)
			if err != nil {
				oracle.Fail("GET %s: %v", url, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
}

// ---- workers, ticker, cond, mutex ----

func startWorkers(jobs chan int) {
	var wg sync.WaitGroup
	for i := 0; i < nWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				jobsDone.Add(int64(j) & 1)
			}
		}()
	}
	go func() {
		wg.Wait() // until main closes jobs
		jobsDone.Add(1 << 32)
	}()
	for j := 0; j < nJobs; j++ {
		jobs <- j
	}
}

func startTicker() {
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			ticks.Add(1)
		}
	}()
}

func startCondWaiter() {
	workQueue = &queue{}
	workQueue.cond = sync.NewCond(&workQueue.mu)
	go func() {
		q := workQueue
		q.mu.Lock()
		for len(q.items) == 0 {
			q.cond.Wait()
		}
		q.mu.Unlock()
	}()
}

func startMutexWaiter() {
	stateMu.Lock()
	go func() {
		stateMu.Lock()
		stateMu.Unlock()
	}()
}

// ---- the leak ----

// fanOut asks n+1 goroutines for a result, takes the first and returns: the
// others block for good sending on a channel nothing else can reach.
//
//go:noinline
func fanOut(n int) int {
	results := make(chan int)
	for i := 0; i <= n; i++ {
		go func(i int) {
			results <- i * i
		}(i)
	}
	return <-results
}

// ---- main ----

func encodeOracle() {
	oracle.Buf = append(oracle.Buf, '{')
	oracle.MemStats("MemStats", &dumpStats)
	oracle.I64("NumGoroutine", int64(numGoroutine))
	oracle.Process()
	oracle.Str("HeapDump", "heapdump")
	oracle.I64("Clients", nClients)
	oracle.I64("HTTPConns", nHTTP)
	oracle.I64("Workers", nWorkers)
	oracle.I64("Leaks", int64(nLeaks))
	oracle.Str("LeakFunction", "main.fanOut.func1")
	oracle.Str("LeakCreatedBy", "main.fanOut")
	oracle.Close('}')
}

// serve builds the server and its load, then finishes; in check mode it
// shuts the worker pool down after, which is why jobs stays live here.
//
//go:noinline
func serve() {
	oracleFd, dumpFd = oracle.Begin("goserver", 64<<10, true)
	nLeaks, _ = strconv.Atoi(os.Getenv("MEMDBG_SERVER_LEAKS"))
	threads.Spare()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		oracle.Fail("listen: %v", err)
	}
	go echoServer(ln)
	echoed.Add(nClients)
	for i := 0; i < nClients; i++ {
		echoClient(ln.Addr().String(), i)
	}
	echoed.Wait()
	httpRequests(startHTTP())
	jobs := make(chan int)
	startWorkers(jobs)
	startTicker()
	startCondWaiter()
	startMutexWaiter()
	if nLeaks > 0 {
		leakSink.Add(int64(fanOut(nLeaks)))
	}
	time.Sleep(100 * time.Millisecond) // everyone parks
	runtime.GC()
	runtime.ReadMemStats(&setupStats)
	finish()
	close(jobs)
}

//go:noinline
func finish() {
	oracle.Scrub()
	// ---- no heap allocation from here on ----
	runtime.ReadMemStats(&beforeStats)
	debug.WriteHeapDump(uintptr(dumpFd))
	runtime.ReadMemStats(&dumpStats)
	numGoroutine = runtime.NumGoroutine()
	encodeOracle()
	ok := oracle.Write(oracleFd) && threads.Close(oracleFd) && threads.Close(dumpFd)
	dumpAllocated := beforeStats.Mallocs != dumpStats.Mallocs || beforeStats.Frees != dumpStats.Frees
	if oracle.Mode == "check" {
		runtime.ReadMemStats(&afterStats)
		switch {
		case !ok:
			oracle.Fail("writing the oracle or the heap dump failed")
		case dumpAllocated:
			oracle.Fail("WriteHeapDump allocated: Mallocs %d -> %d", beforeStats.Mallocs, dumpStats.Mallocs)
		case served.Load() != nHTTP:
			oracle.Fail("served %d HTTP requests, want %d", served.Load(), nHTTP)
		}
		println("ok")
		return
	}
	oracle.End(ok && !dumpAllocated, "oracle write failed, or the heap dump allocated")
}

func main() {
	runtime.LockOSThread()
	serve()
}
