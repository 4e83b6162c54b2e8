"""findings against samples/misuse: one Go program per misuse scenario.

Each scenario (tests/misuse_samples.py) records in its oracle the objects and
holders the matching section must name; the clean program must get no
findings at all (false positives are bugs).  Addresses are compared as the
program holds its pointers (no object here has a malloc header).

Contract:  findings --json
    {"command":"findings","sections":[{"id","title","kind","what","count","bytes","items":[...]}],
     "total_findings"}
  ids: goroutine-leaks, goroutine-groups, maps, pool-residue, used-after-put, gc-invisible,
       dangling, outside-heap, large-objects, fragmentation, finalizers, finalizer-retention
  kind: "finding" (counted in total_findings) or "observation" (groups of waiting goroutines,
       big maps, pool contents, large objects, fragmentation, finalizer retention: not counted)
"""

import json

import pytest

import misuse_samples
import samples
import typecheck

_cache = {}


def core(cfg, scenario, kind="kernel"):
    try:
        return misuse_samples.make_core(cfg, scenario, kind)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def misuse_kind():
    """The build the scenario tests read: the default one (test_production_findings: -s -w and PIE)."""
    return "kernel"


def without_dwarf(sc):
    return sc.kind in samples.PRODUCTION_KINDS


def is_holder(sc, key, name):
    """name is the global the oracle records under key: its name, or without symbols a word of it by
    section and offset (samples.global_root_at)."""
    return samples.is_global(name, sc.oracle, key, sc.exe, sc.core, without_dwarf(sc))


def findings(sc):
    k = str(sc.core)
    if k not in _cache:
        p = samples.run_core_cli(sc, "findings", json_out=True, timeout=300)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert "error" not in doc, doc["error"]
        assert doc["command"] == "findings"
        _cache[k] = doc
    return _cache[k]


def section(doc, sid):
    s = [x for x in doc["sections"] if x["id"] == sid]
    assert len(s) == 1, sid
    return s[0]


def h(v):
    return int(v, 16) if isinstance(v, str) else v


@pytest.mark.parametrize("scenario", misuse_samples.SCENARIOS)
def test_check_mode(go_config, scenario):
    """No scenario allocates or collects between Settle and the core."""
    try:
        p = misuse_samples.run_check_mode(go_config, scenario)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    assert p.returncode == 0, p.stdout + p.stderr


# Small heaps: the runtime's own untyped objects (~6 KB of them) weigh more here.
TYPED_FLOOR = {"goleak": 99, "maps": 98.5, "pool": 97, "frag": 98, "large": 99, "finalizer": 99}


@pytest.mark.parametrize("scenario", misuse_samples.SCENARIOS)
def test_types_never_contradict_gc(go_config, scenario, misuse_kind):
    sc = core(go_config, scenario, misuse_kind)
    typecheck.check_types(sc)
    assert typecheck.typed_pct(sc) >= TYPED_FLOOR.get(scenario, 90)


def test_sections_always_present(go_config):
    doc = findings(core(go_config, "clean"))
    assert [s["id"] for s in doc["sections"]] == ["goroutine-leaks", "goroutine-groups", "maps", "pool-residue",
                                                   "used-after-put", "gc-invisible", "dangling", "outside-heap",
                                                   "large-objects", "fragmentation", "finalizers",
                                                   "finalizer-retention"]
    kinds = {s["id"] for s in doc["sections"] if s["kind"] == "finding"}
    assert kinds == {"goroutine-leaks", "used-after-put", "gc-invisible", "dangling", "outside-heap", "finalizers"}
    assert doc["total_findings"] == sum(s["count"] for s in doc["sections"] if s["kind"] == "finding")


def test_clean_has_no_findings(go_config, core_kind):
    doc = findings(core(go_config, "clean", core_kind))
    noisy = {s["id"]: s["items"][:3] for s in doc["sections"] if s["count"]}
    assert doc["total_findings"] == 0, noisy


def test_goheap_has_no_findings(go_config, core_kind):
    """samples/goheap (a big, ordinary heap: no unsafe, no pools, no cgo) gets no findings: its 200
    goroutines blocked on a global channel are a group, its big maps and large objects observations.
    A slot's padding past its type and byte data never make GC-invisible references."""
    try:
        sc = samples.make_core(go_config, core_kind)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    doc = findings(sc)
    noisy = {s["id"]: s["items"][:3] for s in doc["sections"] if s["kind"] == "finding" and s["count"]}
    assert doc["total_findings"] == 0, noisy
    groups = section(doc, "goroutine-groups")["items"]
    assert [(g["goroutines"], g["function"], g["wait_reason"]) for g in groups] == \
        [(sc.oracle["Sample"]["Goroutines"], "main.blocker", "chan receive")], groups


# Samples that record their objects' addresses in uintptr globals for the oracle: those are GC-invisible
# references (reported, rightly); gopool also plants one pooled item still held after its Put.
BOOKKEEPING = {"goholds": {"gc-invisible"}, "gopool": {"gc-invisible", "used-after-put"},
               "goobjects": {"gc-invisible"}}
# goobjects' uintptr globals that hold the first Msg's and Sub's addresses for its oracle.
BOOKKEEPING_GLOBALS = ("main.firstMsg", "main.firstSub")


@pytest.mark.parametrize("name", ["goobjects", "goroots", "goholds", "gopool"])
def test_other_samples_have_no_findings(go_config, name):
    try:
        sc = samples.make_core_of(samples.other_sample(name), go_config, "kernel")
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    doc = findings(sc)
    for s in doc["sections"]:
        if s["kind"] != "finding" or not s["count"]:
            continue
        assert s["id"] in BOOKKEEPING.get(name, ()), (s["id"], s["items"][:3])
        for i in s["items"]:
            if s["id"] == "gc-invisible":
                assert i["holder"].startswith("main.") and \
                    (i["holder"].endswith("Addr") or i["holder"] in BOOKKEEPING_GLOBALS), i
            else:
                assert i["holder"] == "main.alsoHeld", i


def test_maps(go_config, misuse_kind):
    sc = core(go_config, "maps", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "maps")
    item = [i for i in s["items"] if h(i["addr"]) == o["Map"]]
    assert item, s["items"]
    assert item[0]["entries"] == o["Entries"]
    assert item[0]["map_type"] == o["MapType"]
    assert is_holder(sc, "Holder", item[0]["holder"]), item
    assert item[0]["retained_bytes"] > o["Entries"] * 48   # each *Session (48 B) and its *User
    assert s["count"] == 1


def test_goroutine_leak(go_config, misuse_kind):
    sc = core(go_config, "goleak", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "goroutine-leaks")
    assert s["count"] == 1, s["items"]
    item = s["items"][0]
    assert item["goroutines"] == o["Goroutines"]
    assert item["function"] == o["Function"]
    assert item["created_by"] == "main.startLeaks"
    assert item["wait_reason"] == "chan receive"
    assert item["stack_bytes"] >= o["Goroutines"] * 2048
    assert item["retained_bytes"] >= o["Goroutines"] * o["BufSize"]
    bufs = set(o["Buffers"])
    assert item["objects"] and all(h(x["addr"]) in bufs for x in item["objects"]), item["objects"]
    assert all(x["holder"].startswith("goroutine ") for x in item["objects"])
    # The evidence: the one channel they wait on, held only by the leaked goroutines' own frames.
    (ch,) = item["blocked_on"]
    assert ch["type"] in ("runtime.hchan", "runtime.hchan (noscan)"), ch
    assert all(h.startswith("goroutine ") for h in ch["held_by"]), ch
    assert ch["held_by"] or ch["wait_records"], ch
    assert doc_total(sc) == 1
    assert not section(findings(sc), "goroutine-groups")["items"]


def doc_total(sc):
    return findings(sc)["total_findings"]


def test_pool_residue(go_config, misuse_kind):
    sc = core(go_config, "pool", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "pool-residue")
    item = [i for i in s["items"] if is_holder(sc, "Holder", i["pool"])]
    assert item, s["items"]
    # every item but the one still referenced after its Put (main.afterPut) is only the pool's
    assert item[0]["retained_bytes"] >= (len(o["Items"]) - 1) * o["ItemSize"]


def test_used_after_put(go_config, misuse_kind):
    """The pooled buffer main.afterPut still points at after its Put; the other seven are only the pool's."""
    sc = core(go_config, "pool", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "used-after-put")
    assert s["count"] == 1, s["items"]
    item = s["items"][0]
    assert h(item["addr"]) == o["AfterPut"] and item["type"] == "main.Buf" and item["size"] == o["ItemSize"]
    assert is_holder(sc, "Holder", item["pool"]) and item["cache"] == "local"
    assert is_holder(sc, "AfterPutHolder", item["holder"]), item
    assert s["bytes"] == o["ItemSize"]


def test_deferred_put_while_used(go_config, misuse_kind):
    """defer pool.Put(buf) while the returned reply's body still points into buf."""
    sc = core(go_config, "deferput", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "used-after-put")
    assert s["count"] == 1, s["items"]
    item = s["items"][0]
    assert h(item["addr"]) == o["Buffer"] and item["type"] == "main.Buffer" and is_holder(sc, "Pool", item["pool"])
    assert (item["cache"], item["slot"]) == ("local", "private")
    held = item["held_in"]
    assert h(held["addr"]) == o["Reply"] and held["type"] == "main.Reply" and held["field"] == ".body", held
    assert is_holder(sc, "Holder", item["holder"]), item


def test_racy_pointer_between_goroutines(go_config, misuse_kind):
    """A uintptr handed to a waiting goroutine in a shared message; the object behind it was collected."""
    sc = core(go_config, "racyptr", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "gc-invisible")
    assert s["count"] == 1, s["items"]
    item = s["items"][0]
    assert h(item["at"]) == o["DataField"] and h(item["value"]) == o["Blob"]
    assert item["target_state"] in ("free slot", "freed span")
    assert h(item["held_in"]["addr"]) == o["Msg"] and item["held_in"]["type"] == "main.Msg"
    assert item["held_in"]["field"] == ".data"
    assert item["holder"].startswith("goroutine ") and "main.consume" in item["path"] + item["holder"], item


def test_unsafe_slice_over_dead_header(go_config, misuse_kind):
    """A SliceHeader's Data outlives its buffer (gc-invisible); unsafe.Slice over it dangles."""
    sc = core(go_config, "deadslice", misuse_kind)
    o, doc = sc.oracle, findings(sc)
    hidden = section(doc, "gc-invisible")
    assert hidden["count"] == 1, hidden["items"]
    item = hidden["items"][0]
    assert h(item["at"]) == o["DataField"] and h(item["value"]) == o["Buffer"]
    assert item["target_state"] in ("free slot", "freed span")
    assert item["held_in"]["type"] == "main.View" and item["held_in"]["field"] == ".hdr.Data"
    assert is_holder(sc, "Holder", item["holder"]), item
    dangling = section(doc, "dangling")
    assert dangling["count"] == 1, dangling["items"]
    d = dangling["items"][0]
    assert h(d["at"]) == o["SliceField"] and h(d["value"]) == o["Buffer"]
    assert d["held_in"]["type"] == "main.Holder" and d["held_in"]["field"] == ".data"
    assert is_holder(sc, "SliceHolder", d["holder"]), d


def test_gc_invisible(go_config, misuse_kind):
    sc = core(go_config, "uintptr", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "gc-invisible")
    by_at = {h(i["at"]): i for i in s["items"]}
    live = by_at[o["LiveField"]]
    assert h(live["value"]) == o["LiveBlob"] and live["target_state"] == "live"
    assert live["target_type"] == "main.Blob"
    assert is_holder(sc, "Holder", live["holder"]) and live["held_in"]["field"] == ".live.ptr"
    freed = by_at[o["FreeField"]]
    assert h(freed["value"]) == o["FreeBlob"] and freed["target_state"] in ("free slot", "freed span")
    assert is_holder(sc, "Holder", freed["holder"]) and freed["held_in"]["field"] == ".freed.ptr"
    glob = [i for i in s["items"] if is_holder(sc, "Global", i["holder"])]
    if without_dwarf(sc):
        # A uintptr global is a word the GC does not scan, like any integer's: only DWARF says it is one.
        assert not glob and s["count"] == 2, s["items"]
        return
    assert glob and h(glob[0]["value"]) == o["GlobalBlob"]
    assert s["count"] == 3


def test_dangling(go_config, misuse_kind):
    sc = core(go_config, "uintptr", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "dangling")
    assert s["count"] == 1, s["items"]
    item = s["items"][0]
    assert h(item["at"]) == o["DanglingField"] and h(item["value"]) == o["DanglingValue"]
    assert item["target_state"] in ("free slot", "freed span")
    assert item["held_in"]["type"] == "main.Holder" and item["held_in"]["field"] == ".blob"
    assert is_holder(sc, "DanglingHolder", item["holder"]), item


def test_outside_heap_cgo(go_config):
    sc = core(go_config, "cgo")
    o, s = sc.oracle, section(findings(sc), "outside-heap")
    by_value = {h(i["value"]): i for i in s["items"]}
    live = by_value.get(o["LiveObj"])
    assert live, s["items"]
    assert h(live["at"]) == o["Box"] and live["target_state"] == "live"
    assert live["target_type"] == "main.Payload" and live["go_holder"] == o["LiveHolder"]
    assert live["c_block"] == f"glibc block {o['Box']:#x}+0x0 (allocated)", live  # C's malloc'd box
    freed = by_value.get(o["FreeObj"])
    assert freed and h(freed["at"]) == o["Box"] + 8 and freed["target_state"] == "free slot"


def test_outside_heap_cgo_live(go_config, tmp_path):
    """The same finding on the running program (memdbg attach): its anonymous mappings from /proc/PID/maps."""
    try:
        exe = misuse_samples.build(go_config, "cgo")
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    with open(tmp_path / "stderr.txt", "w") as err:
        p = samples._start_stopped(exe, tmp_path, tmp_path / "oracle.json", err)
    try:
        o = samples.read_oracle(tmp_path / "oracle.json")
        r = samples.run_cli(["attach", str(p.pid), "-c", "findings", "--json"], timeout=300)
        assert r.returncode == 0, r.stderr
        s = section(json.loads(r.stdout), "outside-heap")
    finally:
        samples._kill(p)
    assert s["regions_scanned"] > 0
    by_value = {h(i["value"]): i for i in s["items"]}
    live = by_value.get(o["LiveObj"])
    assert live and h(live["at"]) == o["Box"] and live["go_holder"] == o["LiveHolder"], s["items"]
    assert live["c_block"] == f"glibc block {o['Box']:#x}+0x0 (allocated)", live
    freed = by_value.get(o["FreeObj"])
    assert freed and h(freed["at"]) == o["Box"] + 8 and freed["target_state"] == "free slot"


def test_large_objects(go_config, misuse_kind):
    sc = core(go_config, "large", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "large-objects")
    by_addr = {h(i["addr"]): i for i in s["items"]}
    for b in o["Buffers"]:
        assert is_holder(sc, "BufHolder", by_addr[b]["holder"]) and by_addr[b]["size"] >= o["BufSize"]
    t = by_addr[o["Table"]]
    assert is_holder(sc, "TableHolder", t["holder"]) and t["type"] == "main.BigTable" and t["size"] >= o["TableSize"]
    assert s["count"] == 4


def test_fragmentation(go_config, misuse_kind):
    sc = core(go_config, "frag", misuse_kind)
    o, s = sc.oracle, section(findings(sc), "fragmentation")
    item = [i for i in s["items"] if i["elemsize"] == o["ElemSize"]]
    assert item, s["items"]
    assert item[0]["used_slots"] >= o["Kept"]
    assert item[0]["utilization"] < 50
    assert item[0]["free_bytes"] >= (1 << 20)


def test_finalizers(go_config, misuse_kind):
    """A finalizer keeping its own object alive never runs (a finding); one retaining much is an observation."""
    sc = core(go_config, "finalizer", misuse_kind)
    o, doc = sc.oracle, findings(sc)
    s = section(doc, "finalizers")
    assert s["count"] == 1, s["items"]
    self_ = s["items"][0]
    assert h(self_["object"]) == o["Self"] and self_["keeps_own_object"] and self_["object_type"] == "main.Conn"
    r = section(doc, "finalizer-retention")
    by_obj = {h(i["object"]): i for i in r["items"]}
    heavy = by_obj[o["Heavy"]]
    assert heavy["retained_bytes"] >= o["HeavyBytes"] and heavy["object_type"] == "main.Resource"
    assert not heavy["keeps_own_object"]
    assert r["count"] == 1 and r["kind"] == "observation"
    assert doc["total_findings"] == 1


@pytest.mark.parametrize("scenario", ["uintptr", "goleak"])
def test_debuggers_print_the_same(go_config, scenario):
    """gdb and lldb print the CLI's text for findings."""
    sc = core(go_config, scenario)
    cli = samples.run_core_cli(sc, "findings", timeout=300)
    assert cli.returncode == 0, cli.stderr
    g = samples.run_gdb(sc.exe, sc.core, "memdbg findings", timeout=300)
    assert cli.stdout in g.stdout, g.stdout[-2000:] + g.stderr[-2000:]
    lp = samples.run_lldb(sc.exe, sc.core, "memdbg findings", timeout=300)
    assert cli.stdout in lp.stdout, lp.stdout[-2000:] + lp.stderr[-2000:]
