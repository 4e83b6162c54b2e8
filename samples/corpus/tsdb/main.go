// tsdb runs a real Prometheus time-series database
// (github.com/prometheus/prometheus/tsdb: head block, write-ahead log,
// memory-mapped head chunks, postings index) in this process behind a small
// HTTP ingest and query service of ours on loopback.  A load generator of
// ours pushes scrape-like samples of a few thousand series over keep-alive
// HTTP connections and runs label queries; then the program leaves a kernel
// core with its oracle and heap dump (samples/corpus/harness).
//
// Environment: MEMDBG_SAMPLE_MODE and MEMDBG_ORACLE as every sample
// (samples/kit/oracle); the database goes to ./data.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"

	"memdbg.example/corpus/harness"
	"memdbg.example/kit/oracle"
)

const (
	metrics   = 8  // metric names
	jobs      = 5  // job label values
	instances = 60 // instance label values per job
	paths     = 5  // path label values
	scrapes   = 90 // samples per series, 15 s apart
	pushers   = 6  // HTTP connections pushing samples
	queries   = 300
)

var (
	db       *tsdb.DB
	server   *http.Server
	listener net.Listener
	client   *http.Client
)

func check(err error, what string) {
	if err != nil {
		oracle.Fail("%s: %v", what, err)
	}
}

// push ingests lines "name k=v,k=v timestamp value" in one commit.
func push(w http.ResponseWriter, r *http.Request) {
	app := db.Appender(r.Context())
	sc := bufio.NewScanner(r.Body)
	n := 0
	b := labels.NewScratchBuilder(8)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			http.Error(w, "bad line", http.StatusBadRequest)
			app.Rollback()
			return
		}
		b.Reset()
		b.Add(labels.MetricName, f[0])
		for _, kv := range strings.Split(f[1], ",") {
			k, v, _ := strings.Cut(kv, "=")
			b.Add(k, v)
		}
		b.Sort()
		ts, err1 := strconv.ParseInt(f[2], 10, 64)
		v, err2 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil {
			http.Error(w, "bad number", http.StatusBadRequest)
			app.Rollback()
			return
		}
		if _, err := app.Append(0, b.Labels(), ts, v); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			app.Rollback()
			return
		}
		n++
	}
	if err := app.Commit(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%d\n", n)
}

// query counts the series and samples matching name and an optional job.
func query(w http.ResponseWriter, r *http.Request) {
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer q.Close()
	ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, r.FormValue("name"))}
	if job := r.FormValue("job"); job != "" {
		ms = append(ms, labels.MustNewMatcher(labels.MatchRegexp, "job", job))
	}
	set := q.Select(r.Context(), false, nil, ms...)
	series, samples := 0, 0
	for set.Next() {
		series++
		it := set.At().Iterator(nil)
		for it.Next() != 0 {
			samples++
		}
	}
	if set.Err() != nil {
		http.Error(w, set.Err().Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%d %d\n", series, samples)
}

func start() {
	check(os.RemoveAll("data"), "RemoveAll")
	var err error
	db, err = tsdb.Open("data", nil, nil, tsdb.DefaultOptions(), nil)
	check(err, "tsdb.Open")
	mux := http.NewServeMux()
	mux.HandleFunc("/push", push)
	mux.HandleFunc("/query", query)
	server = &http.Server{Handler: mux}
	listener, err = net.Listen("tcp", "127.0.0.1:0")
	check(err, "Listen")
	go server.Serve(listener)
	client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: pushers}, Timeout: 30 * time.Second}
}

func post(body []byte) {
	resp, err := client.Post("http://"+listener.Addr().String()+"/push", "text/plain", bytes.NewReader(body))
	check(err, "push")
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		oracle.Fail("push: %s", resp.Status)
	}
}

// load pushes one scrape of every series per request, each pusher taking
// every pushers-th job/instance pair, scrape after scrape.
func load() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var wg sync.WaitGroup
	for p := 0; p < pushers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(p)))
			var buf bytes.Buffer
			for s := 0; s < scrapes; s++ {
				buf.Reset()
				ts := start + int64(s)*15000
				for ji := p; ji < jobs*instances; ji += pushers {
					for m := 0; m < metrics; m++ {
						for path := 0; path < paths; path++ {
							fmt.Fprintf(&buf, "app_metric_%d job=job-%d,instance=10.1.%d.%d:9100,path=/api/v%d %d %g\n",
								m, ji/instances, ji/instances, ji%instances, path, ts, float64(s*10+r.Intn(10)))
						}
					}
				}
				post(buf.Bytes())
			}
		}(p)
	}
	wg.Wait()
}

func runQueries() {
	r := rand.New(rand.NewSource(99))
	for i := 0; i < queries; i++ {
		u := fmt.Sprintf("http://%s/query?name=app_metric_%d&job=job-%d", listener.Addr(), r.Intn(metrics), r.Intn(jobs))
		if i%3 == 0 {
			u += "|job-" + strconv.Itoa(r.Intn(jobs))
		}
		resp, err := client.Get(u)
		check(err, "query")
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func main() {
	harness.Begin("tsdb")
	start()
	load()
	runQueries()
	want := uint64(metrics * jobs * instances * paths)
	if got := db.Head().NumSeries(); got != want {
		oracle.Fail("head has %d series, want %d", got, want)
	}
	time.Sleep(200 * time.Millisecond) // the keep-alive connections stay open, idle
	harness.Figure("Series", int64(want))
	harness.Figure("SamplesPerSeries", scrapes)
	harness.Figure("Pushers", pushers)
	harness.Figure("Queries", queries)
	harness.Finish()
}
