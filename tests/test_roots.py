"""Stack roots exactly as the GC sees them, checked against the runtime itself.

samples/goroots parks goroutines whose frames hold a pointer in a dead slot
(an address-taken local never used again: a stack object no live pointer
reaches; a spilled register dead after its last use) and one in a live slot.
Each scenario ran first before the last GC with a finalizer on its object:
the runtime collected exactly the dead ones (oracle Collected).  The parked
round's objects are still allocated in the core: memdbg must call the dead
ones garbage (no root, no type from the dead variable) and the live one held
by its frame's variable.

The heap dump (runtime/debug.WriteHeapDump) records, per frame, the live
pointer slots of the stack maps the GC uses.  For every sample that writes
one, memdbg's "local"/"arg" stack roots of each goroutine must be exactly the
dump's live slots that point to heap objects (the goroutine that wrote the
dump is skipped: it has moved on since).

Contract:  roots --kind stack --json
    {"roots":[{"kind","slot","target","type","where","name"}], "totals":{...},
     "stacks":{"frames","conservative_frames","stack_objects","stack_objects_reached","unscanned_stacks"}}
    where: local | arg | stack object | sched.ctxt | defer | conservative
"""

import bisect
import json
import re

import pytest

import heapdump
import misuse_samples
import samples

GOROOTS = samples.other_sample("goroots")
DUMP_SAMPLES = ("goholds", "goobjects", "gopool", "goroots", "goserver")

_cache = {}


def hexaddr(v):
    return int(v, 16) if isinstance(v, str) else v


def make(sample, cfg, kind="kernel"):
    try:
        return samples.make_core_of(sample, cfg, kind)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


def cli(sc, cmd):
    key = (str(sc.core), cmd)
    if key not in _cache:
        p = samples.run_core_cli(sc, cmd, json_out=True, timeout=300)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert "error" not in doc, doc["error"]
        _cache[key] = doc
    return _cache[key]


def stack_roots(sc):
    return cli(sc, "roots --kind stack")["roots"]


def goid_of(name):
    return int(name.split()[1])


# ---------------------------------------------------------------- goroots: the runtime's verdict

def test_check_mode(go_config):
    """goroots itself checks that the runtime collected exactly the dead scenarios' objects."""
    try:
        p, _ = samples.run_check_mode(go_config, sample=GOROOTS)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture(scope="module", params=samples.KINDS)
def roots_core(go_config, request):
    if request.param == "gcore" and go_config.id not in samples.gcore_configs():
        pytest.skip("gcores only for " + ", ".join(samples.gcore_configs()))
    return make(GOROOTS, go_config, request.param)


def frame_words(dump, goid):
    """{address: value} of every word of the goroutine's dumped frames, and the dump's live pointer slots."""
    g = [x for x in dump.goroutines if x.goid == goid]
    assert len(g) == 1, goid
    words, live = {}, set()
    for f in g[0].frames:
        for off in range(0, f.size - 7, 8):
            words[f.sp + off] = int.from_bytes(dump.raw[f.offset + off:f.offset + off + 8], "little")
        live |= {f.sp + off for off in f.pointers if isinstance(off, int)}
    return words, live


@pytest.mark.parametrize("name", ["dead-object", "live-object", "dead-spill"])
def test_dead_slots_are_not_roots(roots_core, name):
    o = roots_core.oracle
    (s,) = [x for x in o["Scenarios"] if x["Name"] == name]
    # The runtime's own verdict on the same code at the same pcs.
    assert s["Collected"] == (not s["Live"]), s
    # The parked goroutine's frames really still hold the pointer (so the scenario can fail).
    dump = heapdump.parse(roots_core.oracle_path.parent / "heapdump")
    words, live = frame_words(dump, s["Goroutine"])
    held = {a for a, v in words.items() if v == s["Addr"]}
    assert held, f"{name}: no word of goroutine {s['Goroutine']}'s frames holds {s['Addr']:#x}"
    assert bool(held & live) == s["Live"], (name, held, live)
    mine = [r for r in stack_roots(roots_core) if hexaddr(r["target"]) == s["Addr"]]
    doc = cli(roots_core, f"who-holds {s['Addr']:#x}")
    if s["Live"]:
        # Without DWARF the variable is a word of the frame, and its type (the address-taken liveBox
        # b, which fillLive may change) is not known: the object may stay untyped.
        stripped = bool(samples.split_kind(roots_core.kind)[1])
        var = r"sp\+0x[0-9a-f]+" if stripped else "var b"
        assert len(mine) == 1 and re.fullmatch(f"goroutine {s['Goroutine']} frame {s['Func']} {var}",
                                               mine[0]["name"]), mine
        assert mine[0]["where"] == "local"
        assert doc["status"] == "reachable"
        assert doc["target"]["type"] in (("main.LiveObj", None) if stripped else ("main.LiveObj",)), doc["target"]
    else:
        assert mine == [], mine
        assert doc["status"] == "garbage", doc
        # A dead variable seeds no type: nothing live points to the object.
        assert doc["target"]["type"] != "main." + {"dead-object": "DeadObj", "dead-spill": "SpillObj"}[name]


def test_stack_objects_counted(roots_core):
    st = cli(roots_core, "roots --kind stack")["stacks"]
    assert st["frames"] > 0 and st["stack_objects"] > 0
    assert 0 <= st["stack_objects_reached"] <= st["stack_objects"]
    assert st["unscanned_stacks"] == 0


# ---------------------------------------------------------------- every sample: the heap dump's stack maps

@pytest.fixture(scope="module")
def dump_kind():
    """The core kind of the heap-dump comparison (test_production_roots: the production builds)."""
    return "kernel"


def dump_cores(cfg, kind):
    """(name, SampleCore) of every sample that writes a heap dump, misuse scenarios included."""
    out = [(n, make(samples.other_sample(n), cfg, kind)) for n in DUMP_SAMPLES]
    for sc in misuse_samples.SCENARIOS:
        try:
            out.append((f"misuse-{sc}", misuse_samples.make_core(cfg, sc, kind)))
        except samples.ToolchainUnavailable as e:
            pytest.skip(str(e))
    return out


def dump_stack_slots(dump):
    """{goid: {slot addresses}} of the dump's live frame pointer slots that point to a dumped object."""
    objs = sorted(dump.objects, key=lambda o: o.addr)
    keys = [o.addr for o in objs]

    def in_heap(v):
        i = bisect.bisect_right(keys, v) - 1
        return i >= 0 and v < keys[i] + objs[i].size

    out = {}
    for g in dump.goroutines:
        s = set()
        for f in g.frames:
            for off in f.pointers:
                if isinstance(off, int):
                    v = int.from_bytes(dump.raw[f.offset + off:f.offset + off + 8], "little")
                    if v and in_heap(v):
                        s.add(f.sp + off)
        out[g.goid] = s
    return out


def test_stack_roots_equal_heapdump(go_config, dump_kind):
    """Per goroutine, memdbg's precise frame roots are the dump's live pointer slots, every sample."""
    checked = 0
    for name, sc in dump_cores(go_config, dump_kind):
        dump = heapdump.parse(sc.oracle_path.parent / "heapdump")
        theirs = dump_stack_slots(dump)
        mine = {}
        for r in stack_roots(sc):
            if r["where"] in ("local", "arg"):
                mine.setdefault(goid_of(r["name"]), set()).add(hexaddr(r["slot"]))
        gs = {g["id"]: g for g in cli(sc, "goroutines --all --bt 1")["goroutines"]}
        skipped = []
        for g in dump.goroutines:
            here = gs.get(g.goid)
            # The goroutine that wrote the dump has moved on since; so may one the core caught running,
            # and the runtime's own (sweeper, scavenger, GC workers: they run between the dump and the
            # core, more so on a loaded machine) without limit.
            if g.waitreason == "dumping heap" or not here or not here["frames"] or not g.frames or \
                    hexaddr(here["frames"][0]["sp"]) != g.frames[0].sp:
                if not (here and here["system"]):
                    skipped.append(g.goid)
                continue
            assert mine.get(g.goid, set()) == theirs[g.goid], (
                name, g.goid, sorted(hex(a) for a in mine.get(g.goid, set()) ^ theirs[g.goid]))
            checked += 1
        assert len(skipped) <= 2, (name, skipped)
    assert checked > 900


def test_roots_text(go_config):
    sc = make(GOROOTS, go_config)
    p = samples.run_core_cli(sc, "roots --kind stack", timeout=300)
    assert p.returncode == 0, p.stderr
    assert "where" in p.stdout.splitlines()[0]
    assert "Stacks scanned:" in p.stdout and "stack_objects_reached" in p.stdout
