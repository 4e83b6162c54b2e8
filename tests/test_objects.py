"""Heap objects, their types, and goroutines against the runtime's own heap dump.

samples/goobjects makes known numbers of objects of distinctive types, writes
runtime/debug.WriteHeapDump, records its oracle without allocating and stops;
the core is taken right after.  On every Go config (kernel core; gcore where
made) these tests check:

* the heap dump itself is consistent with the runtime (sanity of the oracle);
* `objects --json`: the set of (addr, size) equals the heap dump's objects,
  minus the never-allocated slots past nelems that dumpobjs also dumps
  (heapdump.py explains; the spans come from `mspan-walk --json`);
* `histogram --json --all` / `--live`: per-type counts equal what the sample
  made, and at least 99% of the bytes are typed;
* `object ADDR --json` on recorded addresses: slot base, size, type, fields;
* `go-info --json` goroutines == runtime.NumGoroutine;
* gdb and lldb print the same `histogram` as the CLI.

CLI contract assumed here (issue 3):

  objects --json   {"command":"objects","objects":[{"addr":"0x..","size":N,"type":STR|null,
                    "live":BOOL}],"totals":{...}}            size = slot size (span elemsize);
                    addr = slot base (for objects with a malloc header, 8 bytes before the
                    pointer the program holds; for large objects the span start)
  histogram --json [--all|--live]
                   {"command":"histogram","types":[{"type":STR,"count":N,"bytes":N}],
                    "totals":{"objects":N,"bytes":N,"typed_objects":N,"typed_bytes":N,
                              "typed_pct":F}}
                    type names as the runtime prints them ("main.Alpha", "[100]main.Alpha" for
                    the backing array of make([]Alpha, 100), "main.Box[int]", closure structs)
  object ADDR --json
                   {"command":"object","kind":"heap","base":"0x..","size":N,"type":STR,
                    "span":{...},"fields":[{"name","offset","type","value",
                                            "points_to":{"base","type"}?}]}
                    for any address inside the object; base/size are the slot's.
"""

import json

import pytest

import heapdump
import objects_samples
import samples

def _cli(sc, cmd, json_out=True):
    p = samples.run_core_cli(sc, cmd, json_out=json_out, timeout=300)
    assert p.returncode == 0, f"{cmd}: {p.stderr}"
    return p


def cli_json(sc, cmd):
    doc = json.loads(_cli(sc, cmd).stdout)
    assert doc["command"] == cmd.split()[0]
    assert "error" not in doc, doc.get("error")
    return doc


def _objects_core(cfg, kind):
    if kind == "gcore" and cfg.id not in samples.gcore_configs():
        pytest.skip(f"{cfg.id}: no gcore for this config (MEMDBG_GCORE_CONFIGS=all makes every one)")
    try:
        return objects_samples.make_core(cfg, kind)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def objects_core(go_config, core_kind):
    """SampleCore of samples/goobjects; its heap dump is objects_samples.heapdump_path(sc)."""
    return _objects_core(go_config, core_kind)


_cache = {}


def cached(sc, cmd):
    k = (str(sc.core), cmd)
    if k not in _cache:
        _cache[k] = cli_json(sc, cmd)
    return _cache[k]


def dump_objects(sc):
    """The heap dump's allocated objects (past-nelems slots dropped) and the dropped ones."""
    return objects_samples.real_objects(sc, cached(sc, "mspan-walk")["spans"])


def hexaddr(v):
    return int(v, 16) if isinstance(v, str) else v


# ---------------------------------------------------------------- the sample and its dump

def test_check_mode(go_config):
    """Neither WriteHeapDump nor the oracle encoder allocates (MemStats before == after)."""
    try:
        p, oracle, dump_ok = objects_samples.run_check_mode(go_config)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    assert p.returncode == 0, p.stdout + p.stderr
    assert dump_ok
    assert oracle["Sample"]["ClosureType"].startswith("struct { F uintptr;")


def test_heapdump_agrees_with_runtime(objects_core):
    """The dump's own MemStats and params are the oracle's; its objects add up to HeapAlloc."""
    d, o = objects_samples.load_heapdump(objects_core), objects_core.oracle
    assert d.params["version"] == o["GoVersion"]
    assert d.params["ptr_size"] == 8 and d.params["goarch"] == "amd64"
    for k in ("HeapAlloc", "HeapObjects", "Mallocs", "Frees", "HeapInuse", "TotalAlloc"):
        assert d.memstats[k] == o["MemStats"][k], k
    assert d.memstats["NumGC"] == o["MemStats"]["NumGC"]
    real, past = dump_objects(objects_core)
    assert sum(x.size for x in real) == o["MemStats"]["HeapAlloc"]
    assert len(real) == cached(objects_core, "mspan-walk")["totals"]["allocated"]
    # Past-nelems slots are never inside an allocated object.
    assert not {(x.addr, x.size) for x in past} & {(x.addr, x.size) for x in real}


def test_heapdump_roots(objects_core):
    """The sample's special roots are where the dump says: stacks, finalizers."""
    d, o = objects_samples.load_heapdump(objects_core), objects_core.oracle
    assert sum(1 for g in d.goroutines if not g.system) == o["NumGoroutine"]
    by_kind = {}
    for x in o["Objects"]:
        by_kind.setdefault(x["Kind"], []).append(x["Addr"])
    # Each Xi is held in a stack frame's pointer slot of stackHolder.
    for addr in by_kind["xi"]:
        holders = [f for g in d.goroutines for f in g.frames
                   if any(int.from_bytes(d.raw[f.offset + off:f.offset + off + 8], "little") == addr
                          for off in f.pointers)]
        assert holders and all(f.name == "main.stackHolder" for f in holders), hex(addr)
    # Each Omicron has a finalizer; each Pi is referenced by a finalizer's closure only.
    fin_objs = {f.obj for f in d.finalizers}
    assert by_kind["omicron"][0] in fin_objs
    fns = {f.fn for f in d.finalizers if f.obj != 0}
    for addr in by_kind["pi"]:
        refs = [x for x in d.objects if not x.addr <= addr < x.addr + x.size
                and any(x.word(off) == addr for off in x.pointers)]
        assert refs and {r.addr for r in refs} <= fns, hex(addr)


# ---------------------------------------------------------------- objects

def test_objects_equal_heapdump(objects_core):
    doc = cached(objects_core, "objects")
    got = {(hexaddr(x["addr"]), x["size"]) for x in doc["objects"]}
    assert len(got) == len(doc["objects"]), "duplicate objects"
    real, _ = dump_objects(objects_core)
    want = {(x.addr, x.size) for x in real}
    assert sorted(got - want)[:20] == [] and sorted(want - got)[:20] == []
    assert got == want


def test_objects_types_and_liveness(objects_core):
    doc = cached(objects_core, "objects")
    by_addr = {hexaddr(x["addr"]): x for x in doc["objects"]}
    d = objects_samples.load_heapdump(objects_core)
    for rec in objects_core.oracle["Objects"]:
        slot = d.find(rec["Addr"])
        assert slot is not None, rec
        x = by_addr[slot.addr]
        assert x["type"] == rec["Type"], rec
        assert x["live"] is True, rec
    counts = {}
    for x in doc["objects"]:
        if x["type"] is not None:
            counts.setdefault(x["type"], [0, 0])
            counts[x["type"]][0] += 1
            counts[x["type"]][1] += 1 if x["live"] else 0
    for name, t in objects_samples.expected_types(objects_core.oracle).items():
        assert counts.get(name, [0, 0]) == [t["Count"], t["Live"]], name


# ---------------------------------------------------------------- histogram

# Every row: the default --top (30) would cut the small types off.
ALL = "histogram --all --top 100000"
LIVE = "histogram --live --top 100000"


def _histogram_counts(doc):
    out = {}
    for row in doc["types"]:
        assert row["type"] not in out, f"type listed twice: {row['type']}"
        out[row["type"]] = row
    return out


def test_histogram_all_counts(objects_core):
    rows = _histogram_counts(cached(objects_core, ALL))
    for name, t in objects_samples.expected_types(objects_core.oracle).items():
        assert name in rows, f"{name} missing ({t['How']})"
        assert rows[name]["count"] == t["Count"], name
        # Every object of a type lies in a slot at least as big as the type.
        assert rows[name]["bytes"] >= t["Count"] * t["Size"], name


def test_histogram_live_counts(objects_core):
    """--live leaves out the garbage (main.Rho) and keeps the objects held by stacks and finalizers."""
    rows = _histogram_counts(cached(objects_core, LIVE))
    for name, t in objects_samples.expected_types(objects_core.oracle).items():
        assert rows.get(name, {"count": 0})["count"] == t["Live"], name


def test_histogram_totals(objects_core):
    doc = cached(objects_core, ALL)
    t = doc["totals"]
    real, _ = dump_objects(objects_core)
    assert t["objects"] == len(real)
    assert t["bytes"] == sum(x.size for x in real) == objects_core.oracle["MemStats"]["HeapAlloc"]
    assert sum(r["count"] for r in doc["types"]) == t["objects"]
    assert sum(r["bytes"] for r in doc["types"]) == t["bytes"]
    assert t["typed_bytes"] <= t["bytes"] and t["typed_objects"] <= t["objects"]
    assert t["typed_pct"] == pytest.approx(100.0 * t["typed_bytes"] / t["bytes"], abs=0.01)
    assert t["typed_pct"] >= 99


def test_histogram_text_matches_json(objects_core):
    text = _cli(objects_core, "histogram --all", json_out=False).stdout
    for row in cached(objects_core, ALL)["types"][:20]:
        if row["type"] is not None:
            assert row["type"] in text


# ---------------------------------------------------------------- object ADDR

def test_object_at_recorded_addresses(objects_core):
    d = objects_samples.load_heapdump(objects_core)
    for rec in objects_core.oracle["Objects"]:
        slot = d.find(rec["Addr"])
        assert slot is not None, rec
        doc = cli_json(objects_core, f"object {rec['Addr']:#x}")
        assert doc["kind"] == "heap", rec
        assert hexaddr(doc["base"]) == slot.addr, rec
        assert doc["size"] == slot.size, rec
        assert doc["type"] == rec["Type"], rec
        assert isinstance(doc["span"], dict)
        # An interior address names the same object.
        if slot.size > 8:
            doc2 = cli_json(objects_core, f"object {slot.addr + slot.size - 1:#x}")
            assert hexaddr(doc2["base"]) == slot.addr and doc2["type"] == rec["Type"], rec


def test_object_fields_alpha(objects_core):
    objs = {x["Kind"]: x["Addr"] for x in objects_core.oracle["Objects"]}
    doc = cli_json(objects_core, f"object {objs['alpha-head']:#x}")
    fields = {f["name"]: f for f in doc["fields"]}
    assert [(f["name"], f["offset"]) for f in doc["fields"]][:3] == [("id", 0), ("next", 8), ("name", 16)]
    v = fields["id"]["value"]  # the last Alpha made has id nAlpha-1 (a number, or "99" / "0x63")
    assert (v if isinstance(v, int) else int(v, 0)) == 99
    nxt = fields["next"]
    assert nxt["type"] == "*main.Alpha"
    assert hexaddr(nxt["value"]) == objs["alpha-head-next"]
    assert hexaddr(nxt["points_to"]["base"]) == objs["alpha-head-next"]
    assert nxt["points_to"]["type"] == "main.Alpha"


def test_object_fields_header_object(objects_core):
    """Delta has a malloc header: its fields start at base+8 and owner points to an Alpha."""
    objs = {x["Kind"]: x["Addr"] for x in objects_core.oracle["Objects"]}
    doc = cli_json(objects_core, f"object {objs['delta']:#x}")
    assert hexaddr(doc["base"]) == objs["delta"] - 8
    owner = {f["name"]: f for f in doc["fields"]}["owner"]
    assert owner["type"] == "*main.Alpha"
    assert hexaddr(owner["value"]) == objs["alpha-head"]
    assert owner["points_to"]["type"] == "main.Alpha"
    assert hexaddr(owner["points_to"]["base"]) == objs["alpha-head"]


# ---------------------------------------------------------------- goroutines

def test_go_info_goroutines(objects_core):
    assert cached(objects_core, "go-info")["goroutines"] == objects_core.oracle["NumGoroutine"]


# ---------------------------------------------------------------- front ends

BEGIN, END = "@@memdbg-begin@@", "@@memdbg-end@@"


def _between(text):
    start = text.index(BEGIN + "\n") + len(BEGIN) + 1
    return text[start:text.index(END + "\n", start)]


@pytest.mark.parametrize("cmd", ["histogram --all", "histogram --all --json"])
def test_front_ends_histogram(objects_core, cmd):
    args = cmd.split()
    json_out = "--json" in args
    cli = _cli(objects_core, " ".join(a for a in args if a != "--json"), json_out=json_out).stdout
    g = samples.run_gdb(objects_core.exe, objects_core.core, f"echo {BEGIN}\\n", f"memdbg {cmd}",
                        f"echo {END}\\n", timeout=300)
    assert _between(g.stdout) == cli, g.stderr
    lp = samples.run_lldb(objects_core.exe, objects_core.core, f"script print('{BEGIN}')", f"memdbg {cmd}",
                          f"script print('{END}')", timeout=300)
    # lldb -b echoes each command as "(lldb) CMD"; memdbg's own output never starts so.
    out = "".join(line for line in _between(lp.stdout).splitlines(True) if not line.startswith("(lldb) "))
    assert out == cli, lp.stderr
