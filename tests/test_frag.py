"""frag (issue 5) against samples/gopool.

samples/gopool churns three size classes (24, 288 and 1152-byte slots: 4096
objects each, every other one kept), keeps one 33000-byte large object, lets
one GC and the scavenger run (debug.FreeOSMemory), then reads MemStats right
before the core: with the mcaches flushed and every span swept, each class's
used slots are BySize's Mallocs - Frees.

  frag --json
    {"command":"frag","headline":"N% of in-use span bytes are free slots",
     "classes":[{"class","size","spans","pages","slots","used","free","util","free_bytes","tail_bytes"}],
     "large":{"spans","pages","bytes","requested","waste"},
     "pages":{"page_size","idle_bytes","idle_pages","released_bytes","released_pages"},
     "arenas":{"count","arena_bytes","arenas":[{"start","inuse_bytes","occupancy"}]},
     "totals":{"inuse_span_bytes","free_slot_bytes","free_pct","tail_bytes","unswept_spans",
               "unreadable_spans","inconsistent_spans"}}
"""

import pytest

import pool_samples


@pytest.fixture(scope="session")
def frag_core(go_config, core_kind):
    return pool_samples.core_fixture(go_config, core_kind)


def frag(sc):
    return pool_samples.cli_json(sc, "frag")


def spans(sc):
    return pool_samples.cli_json(sc, "mspan-walk")


def test_used_slots_equal_bysize(frag_core):
    doc, ms = frag(frag_core), frag_core.oracle["MemStats"]
    used = {r["class"]: r["used"] for r in doc["classes"]}
    for c, row in enumerate(ms["BySize"]):
        if c == 0:
            continue
        assert used.get(c, 0) == row["Mallocs"] - row["Frees"], (c, row)
    assert doc["totals"]["unswept_spans"] == 0


def test_churned_classes(frag_core):
    """The kept half of each churned type is in its class; the freed half left free slots."""
    doc, churn = frag(frag_core), frag_core.oracle["Churn"]
    rows = {r["size"]: r for r in doc["classes"]}
    for size, slot in (("24", 24), ("288", 288), ("1024", 1152)):
        r = rows[slot]
        assert r["used"] >= churn["Kept"][size]
        assert r["free"] == r["slots"] - r["used"]
        assert r["free_bytes"] == r["free"] * slot
        assert r["util"] == pytest.approx(100 * r["used"] / r["slots"], abs=0.05)


def test_classes_match_mspan_walk(frag_core):
    doc, walk = frag(frag_core), spans(frag_core)
    exp = {}
    for s in walk["spans"]:
        if s["class"] == 0:
            continue
        e = exp.setdefault(s["class"], [0, 0, 0, 0, 0])
        e[0] += 1
        e[1] += s["pages"]
        e[2] += s["slots"]
        e[3] += s["allocated"]
        e[4] += (s["slots"] - s["allocated"]) * s["elemsize"]
    got = {r["class"]: [r["spans"], r["pages"], r["slots"], r["used"], r["free_bytes"]] for r in doc["classes"]}
    assert got == exp


def test_headline_from_mspan_walk(frag_core):
    """100 * free-slot bytes / in-use span bytes, from mspan-walk's oracle-checked rows and totals."""
    doc, walk = frag(frag_core), spans(frag_core)
    free = sum((s["slots"] - s["allocated"]) * s["elemsize"] for s in walk["spans"] if s["class"])
    total = walk["totals"]["bytes"]
    t = doc["totals"]
    assert (t["free_slot_bytes"], t["inuse_span_bytes"]) == (free, total)
    assert t["free_pct"] == pytest.approx(100 * free / total, abs=0.005)
    assert doc["headline"] == f"{100 * free / total:.1f}% of in-use span bytes are free slots"
    assert free > 0


def test_idle_and_released_equal_memstats(frag_core):
    pages, ms = frag(frag_core)["pages"], frag_core.oracle["MemStats"]
    assert pages["idle_bytes"] == ms["HeapIdle"]
    assert pages["released_bytes"] == ms["HeapReleased"]
    assert pages["idle_pages"] == ms["HeapIdle"] // pages["page_size"]
    assert ms["HeapReleased"] > 0  # FreeOSMemory released the churn's empty spans


def test_large_spans(frag_core):
    doc, walk, churn = frag(frag_core), spans(frag_core), frag_core.oracle["Churn"]
    large = [s for s in walk["spans"] if s["class"] == 0]
    lg = doc["large"]
    assert lg["spans"] == len(large)
    assert lg["pages"] == sum(s["pages"] for s in large)
    assert lg["bytes"] == lg["pages"] * doc["pages"]["page_size"]
    assert lg["waste"] == lg["bytes"] - lg["requested"]
    # Each large span is the fewest pages that hold its request.
    assert 0 <= lg["waste"] < lg["spans"] * doc["pages"]["page_size"]
    big = [s for s in large if int(s["start"], 16) == churn["Big"]]
    assert big and big[0]["pages"] * doc["pages"]["page_size"] - churn["BigSize"] <= lg["waste"]


def test_arenas(frag_core):
    doc = frag(frag_core)
    a = doc["arenas"]
    info = pool_samples.cli_json(frag_core, "go-info")
    assert a["count"] == info["arenas"]["count"] == len(a["arenas"])
    assert sum(r["inuse_bytes"] for r in a["arenas"]) == doc["totals"]["inuse_span_bytes"]
    for r in a["arenas"]:
        assert r["occupancy"] == pytest.approx(100 * r["inuse_bytes"] / a["arena_bytes"], abs=0.05)
    assert doc["totals"]["inconsistent_spans"] == 0 and doc["totals"]["unreadable_spans"] == 0


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
def test_front_ends(frag_core, json_out):
    if frag_core.kind != "kernel":
        pytest.skip("one core kind is enough")
    pool_samples.check_front_ends(frag_core, "frag", json_out)
