"""memdbg on real programs (issue 10): samples/corpus/{nats,raft,tsdb} on every Go config.

Each program runs a real server or library under loopback load and leaves a
kernel core, with runtime.MemStats read right before, the crash traceback and
runtime/debug.WriteHeapDump taken with nothing running between it and the core
(tests/corpus.py, samples/corpus/harness).  The oracle tests first check that
the core is what the oracles describe; then memdbg's figures are held against
them, with the aims of issue 10:

* memstats, go-info and the goroutine ids equal the runtime's;
* `objects` lists exactly the heap dump's objects;
* typed share of live bytes >= 99.5% (`histogram --live`);
* no object whose type, as memdbg names it, implies other pointer words than
  the runtime records for its slot (the heap dump's pointer offsets);
* no finding on these healthy servers;
* no stack root at a slot the GC would not scan (dead slots: neither a live
  slot of the frame's stack maps nor inside a reached stack object).

A toolchain older than a program's go.mod skips that program on that config,
naming the minimum.
"""

import pytest

import corpus
import samples

EXACT_MEMSTATS = [
    "Alloc", "TotalAlloc", "Sys", "Mallocs", "Frees", "HeapAlloc", "HeapSys", "HeapIdle",
    "HeapInuse", "HeapReleased", "HeapObjects", "StackInuse", "StackSys", "MSpanInuse",
    "MSpanSys", "MCacheInuse", "MCacheSys", "BuckHashSys", "GCSys", "OtherSys", "NextGC",
    "NumGC", "NumForcedGC",
]
# The heap dump's own MemStats record, read inside the dump: these must equal the oracle's.
DUMP_MEMSTATS = ["Mallocs", "Frees", "HeapAlloc", "TotalAlloc", "HeapObjects", "HeapInuse", "HeapIdle",
                 "StackInuse", "NumGC", "Sys"]
TYPED_SHARE_AIM = 99.5


@pytest.fixture(scope="session", params=corpus.PROGRAMS)
def corpus_core(request, go_config):
    try:
        return corpus.make_core(request.param, go_config)
    except (corpus.TooOld, samples.ToolchainUnavailable) as e:
        pytest.skip(str(e))


def mem(cc):
    return cc.oracle["MemStats"]


# ---------------------------------------------------------------- the oracles describe the core

def test_oracle_is_the_core(corpus_core):
    """Nothing ran between the oracle, the heap dump and the core (else no figure below means anything)."""
    cc, d = corpus_core, corpus.load_heapdump(corpus_core)
    assert d.params["version"] == cc.oracle["GoVersion"]
    for k in DUMP_MEMSTATS:
        assert d.memstats[k] == mem(cc)[k], f"{k}: heap dump {d.memstats[k]}, oracle {mem(cc)[k]}"
    assert sum(1 for g in d.goroutines if not g.system) == cc.oracle["NumGoroutine"]
    assert sorted(corpus.traceback_goids(cc)) == sorted(g.goid for g in d.goroutines)
    rc = corpus.check_stack_roots(cc)
    assert rc.dumping and rc.moved <= {rc.dumping}, f"goroutines that ran after the dump: {sorted(rc.moved)}"
    assert sum(x.size for x in corpus.dump_objects(cc)) == mem(cc)["HeapAlloc"]


def test_load_happened(corpus_core):
    """The program did what it says (its own counts), so the heap holds a server's state."""
    load = corpus_core.oracle["Load"]
    assert load and all(v > 0 for v in load.values()), load
    assert mem(corpus_core)["HeapAlloc"] > 10 << 20
    want = corpus.modules(corpus_core.name)
    linked = dict(m.split(" ", 1) for m in corpus_core.oracle["Modules"])
    for path, version in want.items():
        assert linked.get(path) == version, path


# ---------------------------------------------------------------- runtime figures

@pytest.mark.parametrize("field", EXACT_MEMSTATS)
def test_memstats_equals_runtime(corpus_core, field):
    assert corpus.cli_json(corpus_core, "memstats")[field] == mem(corpus_core)[field]


def test_memstats_per_size_class(corpus_core):
    got = {row["Class"]: row for row in corpus.cli_json(corpus_core, "memstats")["BySize"]}
    for cls, w in enumerate(mem(corpus_core)["BySize"]):
        assert (got[cls]["Size"], got[cls]["Mallocs"], got[cls]["Frees"]) == (w["Size"], w["Mallocs"], w["Frees"]), cls


def test_go_info(corpus_core):
    info, o = corpus.cli_json(corpus_core, "go-info"), corpus_core.oracle
    assert info["go_version"] == o["GoVersion"]
    assert info["goroutines"] == o["NumGoroutine"]
    assert info["gomaxprocs"] == o["GOMAXPROCS"] == 1
    assert info["gc_cycles"] == mem(corpus_core)["NumGC"]
    states = {r["state"]: r for r in info["spans"]["by_state"]}
    assert states["inuse"]["bytes"] == mem(corpus_core)["HeapInuse"]
    assert states["manual"]["bytes"] == mem(corpus_core)["StackInuse"]


def test_goroutine_ids(corpus_core):
    got = [g["id"] for g in corpus.cli_json(corpus_core, "goroutines --all")["goroutines"]]
    assert sorted(got) == sorted(corpus.traceback_goids(corpus_core))


def test_objects_equal_heapdump(corpus_core):
    got = {(int(x["addr"], 16), x["size"]) for x in corpus.cli_json(corpus_core, "objects --all")["objects"]}
    want = {(x.addr, x.size) for x in corpus.dump_objects(corpus_core)}
    assert sorted(got - want)[:10] == [] and sorted(want - got)[:10] == []


# ---------------------------------------------------------------- the aims of issue 10

def test_typed_share(corpus_core):
    t = corpus.cli_json(corpus_core, "histogram --live")["totals"]
    assert t["typed_pct"] >= TYPED_SHARE_AIM, \
        f"typed {t['typed_pct']}% of {t['bytes']:,} live bytes ({t['objects'] - t['typed_objects']:,} objects untyped)"


def test_no_type_contradicts_runtime(corpus_core):
    tc = corpus.check_types(corpus_core)
    assert tc.checked > 0
    assert not tc.contradictions, \
        f"{len(tc.contradictions)} of {tc.checked} typed objects ({tc.contradicted_bytes:,} B) contradict the " \
        f"runtime's pointer offsets; by type: {tc.by_type()[:12]}; e.g. " + \
        "; ".join(f"{a:#x} {name} ({size} B): {why}" for a, size, name, why in tc.contradictions[:3])


def test_no_findings_on_healthy_run(corpus_core):
    doc = corpus.cli_json(corpus_core, "findings")
    fired = {s["id"]: s["count"] for s in doc["sections"] if s["count"]}
    assert doc["total_findings"] == 0, f"findings on a healthy {corpus_core.name}: {fired}"


def test_no_dead_stack_slot_roots(corpus_core):
    rc = corpus.check_stack_roots(corpus_core)
    assert rc.compared > 0
    assert not rc.dead, \
        f"{len(rc.dead)} of {rc.compared} stack roots are slots the GC does not scan; by frame: {rc.by_frame()[:10]}"
