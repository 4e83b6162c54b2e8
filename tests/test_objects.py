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
import re

import pytest

import alloc_samples
import heapdump
import objects_samples
import samples
import typecheck

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

# Every row: the default --top (30) would cut the small types off; a row per [N]T.
ALL = "histogram --all --top 100000 --split-arrays"
LIVE = "histogram --live --top 100000 --split-arrays"
GROUPED = "histogram --all --top 100000"


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


def elided(name, width=72):
    """A type name as text output shows it: its middle cut to "..." past width characters."""
    if len(name) <= width:
        return name
    head = (width - 3) // 2
    return name[:head] + "..." + name[len(name) - (width - 3 - head):]


def test_histogram_text_matches_json(objects_core):
    text = _cli(objects_core, "histogram --all", json_out=False).stdout
    rows = cached(objects_core, GROUPED)["types"][:30]
    for row in rows:
        assert elided(row["type"]) in text
    # The closure's struct type is longer than the text width: elided there, whole in JSON.
    closure = objects_core.oracle["Sample"]["ClosureType"]
    assert len(closure) > 72 and closure not in text and elided(closure) in text
    assert any(r["type"] == closure for r in cached(objects_core, ALL)["types"])


def test_histogram_groups_arrays(objects_core):
    """By default every [N]T is one []T row; --split-arrays gives today's rows."""
    o = objects_core.oracle
    rows = _histogram_counts(cached(objects_core, GROUPED))
    assert not [name for name in rows if name[:1] == "[" and name[1:2].isdigit()]
    alpha = rows["[]main.Alpha"]
    assert alpha["count"] == o["Sample"]["AlphaArrays"]
    assert alpha["elements"] == o["Sample"]["AlphaArrayElements"]
    d = objects_samples.load_heapdump(objects_core)
    addrs = [x["Addr"] for x in o["Objects"] if x["Kind"] in ("alpha-slice", "big-slice")]
    assert alpha["bytes"] >= sum(d.find(a).size for a in addrs)
    split = _histogram_counts(cached(objects_core, ALL))
    arrays = {n: r for n, r in split.items() if n.endswith("]main.Alpha") and n[1:2].isdigit()}
    assert sum(r["count"] for r in arrays.values()) == alpha["count"]
    assert sum(r["bytes"] for r in arrays.values()) == alpha["bytes"]
    for name, t in objects_samples.expected_types(o).items():
        if name[:1] == "[" and name[1:2].isdigit():
            grouped = "[]" + name.split("]", 1)[1]
            assert grouped in rows and rows[grouped]["count"] >= t["Count"], name
    # Totals do not depend on the grouping.
    assert cached(objects_core, GROUPED)["totals"] == cached(objects_core, ALL)["totals"]


UNKNOWN_NAME = re.compile(r"^(noscan \d+ B|tiny block|unknown \(\d+ B(, ptr mask 0b[01]+|, header 0x[0-9a-f]+|, large, no largeType)?\))$")


def test_histogram_names_unknowns_and_sources(objects_core):
    """Untyped rows say what the runtime knows; every row says where its types came from."""
    for row in cached(objects_core, GROUPED)["types"]:
        assert sum(row["sources"].values()) == row["count"], row
        if not row["typed"]:
            assert UNKNOWN_NAME.match(row["type"]), row["type"]
            assert set(row["sources"]) == {"unknown"}, row
        else:
            assert "unknown" not in row["sources"], row
    rows = _histogram_counts(cached(objects_core, ALL))
    assert set(rows["main.Delta"]["sources"]) == {"header"}          # > 512 B with pointers
    assert set(rows["main.BigP"]["sources"]) == {"large_type"}
    assert set(rows["main.Alpha"]["sources"]) <= {"heap bits + referrer", "heap bits + global"}
    assert set(rows["main.Beta"]["sources"]) == {"noscan + referrer"}  # from the []*Beta array
    assert set(rows["main.Sub"]["sources"]) == {"heap bits + referrer"}  # map values only


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
    if alloc_samples.asan_extension():
        pytest.skip("the extension is an ASan build; debugger tests run with the normal build")
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


# ---------------------------------------------------------------- types and the GC's own metadata

def test_types_agree_with_heapdump(objects_core):
    """Every typed object's type, laid over its slot, has exactly the runtime's pointer words
    (the heap dump's offsets, from the runtime's heap bits, malloc header or largeType)."""
    doc = typecheck.check_types(objects_core, objects_samples.load_heapdump(objects_core))
    t = doc["totals"]
    checked = sum(1 for x in doc["objects"] if x["check"] == "agrees")
    assert checked == t["types_agree"] > 0.8 * len(doc["objects"])
    assert t["closures_partly_checked"] == sum(1 for x in doc["objects"] if x["check"] == "partial") > 0
    assert typecheck.typed_pct(objects_core) >= 99


def test_misleading_words_rejected(objects_core):
    """A typed word that points at the wrong thing (a *Decoy at a noscan payload, at a 48 B
    Msg) is refused, never walked: the payload's bytes that look like heap addresses do not
    type the Subs they point at, which keep their own type from the map."""
    o = objects_core.oracle
    rows = _histogram_counts(cached(objects_core, ALL))
    assert o["Sample"]["NeverType"] not in rows
    assert not [n for n in rows if n.startswith("closure ?")]
    problems = cached(objects_core, ALL)["problems"]
    assert problems["rejected_types"] >= 1 and problems["rejected_objects"] >= 1
    objs = {x["Kind"]: x["Addr"] for x in o["Objects"]}
    doc = cli_json(objects_core, f"object {objs['payload-under-decoy']:#x}")
    assert doc["type"] == "[104]uint8" and doc["type_source"].startswith("noscan + referrer ")
    assert "main.Decoy" in [r["type"] for r in doc["rejected_types"]]
    doc = cli_json(objects_core, f"object {objs['sub-in-payload']:#x} --why")
    assert doc["type"] == "main.Sub" and doc["type_source"].startswith("heap bits + referrer ")
    assert cached(objects_core, "objects --check-types")["totals"]["typed_against_gc"] == 0


def test_object_type_source(objects_core):
    objs = {x["Kind"]: x["Addr"] for x in objects_core.oracle["Objects"]}
    assert cli_json(objects_core, f"object {objs['delta']:#x}")["type_source"] == "header"
    assert cli_json(objects_core, f"object {objs['bigp']:#x}")["type_source"] == "large_type"
    head = cli_json(objects_core, f"object {objs['alpha-head']:#x}")
    assert head["type_source"] == "heap bits + global main.alphaHead"
    nxt = cli_json(objects_core, f"object {objs['alpha-head-next']:#x}")
    assert nxt["type_source"] == f"heap bits + referrer {objs['alpha-head']:#x} field .next"
    text = _cli(objects_core, f"object {objs['alpha-head']:#x} --why", json_out=False).stdout
    assert "heap bits + global main.alphaHead" in text
    assert "type_source" not in _cli(objects_core, f"object {objs['alpha-head']:#x}", json_out=False).stdout


# ---------------------------------------------------------------- strings as text

def _quoted(s):
    return json.dumps(s)  # the sample's strings are ASCII: Go's and JSON's quoting agree


def test_object_string_fields(objects_core):
    o = objects_core.oracle
    objs = {x["Kind"]: x["Addr"] for x in o["Objects"]}
    fields = {f["name"]: f for f in cli_json(objects_core, f"object {objs['alpha-head']:#x}")["fields"]}
    assert fields["name"]["text"] == _quoted(o["Sample"]["AlphaName"])
    assert fields["name"]["len"] == len(o["Sample"]["AlphaName"])
    doc = cli_json(objects_core, f"object {o['Sample']['String0Addr']:#x}")
    assert doc["type"] == "string data"
    assert doc["text"] == _quoted(o["Sample"]["String0"]) and doc["len"] == len(o["Sample"]["String0"])
    text = _cli(objects_core, f"object {o['Sample']['String0Addr']:#x}", json_out=False).stdout
    assert _quoted(o["Sample"]["String0"]) in text


def test_who_holds_string_hop(objects_core):
    o = objects_core.oracle
    doc = cli_json(objects_core, f"who-holds {o['Sample']['String0Addr']:#x}")
    last = doc["paths"][0]["hops"][-1]
    assert last["type"] == "string data" and last["text"] == _quoted(o["Sample"]["String0"])
    text = _cli(objects_core, f"who-holds {o['Sample']['String0Addr']:#x}", json_out=False).stdout
    assert _quoted(o["Sample"]["String0"]) in text
