"""Span-level Go heap commands against the runtime's own figures.

Every test runs on every Go configuration of setup/goversions.txt, on the
kernel core and (where made) the gcore.  The oracle is what the sample read
with runtime.ReadMemStats / runtime.NumGoroutine right before the core was
taken, so exact figures must be equal, not close.
"""

import json

import pytest

import samples
import typecheck

# MemStats fields the runtime computes exactly from its own counters.
EXACT_MEMSTATS = [
    "Alloc", "TotalAlloc", "Sys", "Mallocs", "Frees", "HeapAlloc", "HeapSys", "HeapIdle",
    "HeapInuse", "HeapReleased", "HeapObjects", "StackInuse", "StackSys", "MSpanInuse",
    "MSpanSys", "MCacheInuse", "MCacheSys", "BuckHashSys", "GCSys", "OtherSys", "NextGC",
    "NumGC", "NumForcedGC",
]


def cli_json(sc, cmd):
    p = samples.run_core_cli(sc, cmd, json_out=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def docs(sample_core):
    """The JSON of every command on one core, computed once."""
    return {
        "go-info": cli_json(sample_core, "go-info"),
        "memstats": cli_json(sample_core, "memstats"),
        "mspan-walk": cli_json(sample_core, "mspan-walk"),
        "mcentral": cli_json(sample_core, "mcentral --spans"),
        "mcache": cli_json(sample_core, "mcache"),
    }


@pytest.mark.parametrize("field", EXACT_MEMSTATS)
def test_memstats_equals_runtime(sample_core, docs, field):
    assert docs["memstats"][field] == sample_core.oracle[field]


def test_memstats_per_size_class(sample_core, docs):
    want = sample_core.oracle["BySize"]
    got = {row["Class"]: row for row in docs["memstats"]["BySize"]}
    # MemStats.BySize has 61 entries; the runtime may have more classes, all of them checked up to 61.
    for cls, w in enumerate(want):
        assert got[cls]["Size"] == w["Size"], cls
        assert got[cls]["Mallocs"] == w["Mallocs"], cls
        assert got[cls]["Frees"] == w["Frees"], cls


def test_go_info(sample_core, docs):
    info, o = docs["go-info"], sample_core.oracle
    assert info["go_version"] == o["GoVersion"]
    assert info["goroutines"] == o["NumGoroutine"]
    assert info["gomaxprocs"] == o["GOMAXPROCS"]
    assert info["gc_cycles"] == o["NumGC"]
    assert info["gc_phase"] == "off"  # ReadMemStats stops the world outside a cycle
    green = (sample_core.config.toolchain.startswith("go1.26") and "nogreenteagc" not in o["GOEXPERIMENT"]) or \
        "greenteagc" in o["GOEXPERIMENT"].split(",")
    assert info["green_tea"] == green
    states = {r["state"]: r for r in info["spans"]["by_state"]}
    assert states["inuse"]["bytes"] == o["HeapInuse"]
    assert states["manual"]["bytes"] == o["StackInuse"]
    assert info["spans"]["unreadable"] == 0 and info["spans"]["inconsistent"] == 0


def test_mspan_walk_totals(sample_core, docs):
    t, o = docs["mspan-walk"]["totals"], sample_core.oracle
    assert t["bytes"] == o["HeapInuse"]
    # ReadMemStats flushed every mcache, so allocated slots are exactly HeapAlloc.
    assert t["allocated_bytes"] == o["HeapAlloc"]
    assert t["spans"] == len(docs["mspan-walk"]["spans"])
    assert t["unreadable_spans"] == 0 and t["unreadable_alloc_bits"] == 0


def test_mspan_walk_large_objects(sample_core, docs):
    """Each large object the sample recorded starts a one-slot class-0 span big enough for it."""
    large = {int(s["start"], 16): s for s in docs["mspan-walk"]["spans"] if s["class"] == 0}
    assert all(s["slots"] == 1 and s["allocated"] == 1 for s in large.values())
    made = [o for o in sample_core.oracle["Sample"]["Objects"] if o["Kind"].startswith("large")]
    assert made and len(large) >= sample_core.oracle["Sample"]["LargeObjects"]
    for o in made:
        span = large[o["Addr"]]
        assert span["elemsize"] >= o["Len"]
        assert span["noscan"] == (o["Kind"] == "large-noscan")


def test_spans_inside_arenas(docs):
    ranges = [(int(r["start"], 16), int(r["end"], 16)) for r in docs["go-info"]["arenas"]["ranges"]]
    assert docs["go-info"]["arenas"]["count"] == sum(r["arenas"] for r in docs["go-info"]["arenas"]["ranges"])
    for s in docs["mspan-walk"]["spans"]:
        start, end = int(s["start"], 16), int(s["end"], 16)
        assert any(lo <= start and end <= hi for lo, hi in ranges), s


def test_small_spans_in_exactly_one_set(docs):
    """Every in-use small span is in one mcentral set or one mcache, never two, never none."""
    seen = {}
    for entry in docs["mcentral"]["sets"]:
        for name in ("partial_swept", "partial_unswept", "full_swept", "full_unswept"):
            for a in entry[name]:
                seen.setdefault(a, []).append(f"mcentral {entry['spanclass']} {name}")
    for p in docs["mcache"]["ps"]:
        for c in p["cached"]:
            seen.setdefault(c["span"], []).append(f"P{p['id']} mcache")
    small = [s for s in docs["mspan-walk"]["spans"] if s["class"] != 0]
    assert small
    for s in small:
        assert len(seen.get(s["start"], [])) == 1, (s, seen.get(s["start"]))


def test_mcentral_counts_match_lists(docs):
    totals = docs["mcentral"]["totals"]
    for name in ("partial_swept", "partial_unswept", "full_swept", "full_unswept"):
        assert totals[name] == sum(len(e[name]) for e in docs["mcentral"]["sets"])


def test_mspan_walk_filters(sample_core, docs):
    spans = docs["mspan-walk"]["spans"]
    noscan = cli_json(sample_core, "mspan-walk --noscan")["spans"]
    assert noscan and all(s["noscan"] for s in noscan)
    assert len(noscan) == sum(1 for s in spans if s["noscan"])
    cls = cli_json(sample_core, "mspan-walk --class 5 --sort util --limit 3")
    assert all(s["class"] == 5 for s in cls["spans"]) and len(cls["spans"]) <= 3
    assert cls["totals"]["spans"] == sum(1 for s in spans if s["class"] == 5)
    utils = [s["util"] for s in cls["spans"]]
    assert utils == sorted(utils)
    full = cli_json(sample_core, "mspan-walk --min-util 100")["spans"]
    assert all(s["allocated"] == s["slots"] for s in full)
    manual = cli_json(sample_core, "mspan-walk --state manual")["totals"]
    assert manual["bytes"] == sample_core.oracle["StackInuse"]


def test_text_and_json_agree(sample_core):
    """The text table prints the same rows the JSON document holds."""
    text = samples.run_core_cli(sample_core, "mspan-walk --large").stdout
    doc = cli_json(sample_core, "mspan-walk --large")
    starts = [line.split()[0] for line in text.splitlines() if line.lstrip().startswith("0x")]
    assert starts == [s["start"] for s in doc["spans"]]


def test_types_never_contradict_gc(sample_core):
    """No object's type contradicts the runtime's record of its slot; the live heap stays typed."""
    typecheck.check_types(sample_core)
    assert typecheck.typed_pct(sample_core) >= 99.5
