"""Production builds (issue 12): executables without symbols and DWARF.

What replaces DWARF and the symbol table is checked against them:

* The layout table (native/src/go/layout_table.h, setup/go-layout.sh) answers
  every lookup memdbg makes exactly as the DWARF of the same toolchain does:
  memdbg runs every Go command on the unstripped build with
  MEMDBG_DWARF_AUDIT, which logs each lookup DWARF answered, and each one is
  looked up in the table (every config of setup/goversions.txt).
* Same core, same moment: the kernel core of the default build is read with
  its executable and with `strip -s` of it (the same loaded bytes and build
  ids, no .symtab, no DWARF), and every command's JSON must be the same but
  for what only DWARF knows: a global's or a local's name (a global root is
  then its section and offset, checked exactly against the section headers;
  a stack root its frame's sp offset), and the type of an object that only a
  DWARF-typed variable reaches (then untyped: never another type, except a
  backing array whose length DWARF-typed map internals or a slice's cap
  refined: without DWARF it is as many as the slot has room for, e.g. the
  compiler's make([]*ssa.Block, 0, 68) in a 576 B slot, [68] and [71]); or, the
  other way, an object typed only without DWARF that a compiler temporary,
  or a global DWARF cannot type by, holds: the code that allocates it is
  the oracle (`temporaries`).  This is the exact comparison: two builds
  would be two processes.
* The types the code gives pointer globals and stack slots (what it stores
  into them: newobject, makeslice, growslice, makemap and makechan results,
  directly or returned by a function; a map's type from the map operations
  that use it): the typed share of live bytes stays near the DWARF build's,
  and every object so typed has the type DWARF gives it, or, where DWARF
  has none (a compiler temporary), the type the allocation in the function's
  code names as Go's own objdump and symbol table read it.
* Heap closures: the context type the code allocates each function's closures with (its entry stored
  in word 0 of new(struct { F uintptr; ... })) names the closure as DWARF does and types what it
  captured; where DWARF names no such variable, Go's objdump (the struct each function's closures are
  made with) and that struct's type descriptor in the file are the oracle.
* go-info says what the executable has and where each global was found; an
  executable of another build is refused by its build id, stripped or not.
* A cgo build (glibc malloc, CGO_ENABLED=1) built -s -w: the outside-heap
  finding against its oracle.

The oracle suites themselves run unchanged on the -s -w and the PIE builds:
tests/test_production_*.py (tests/production.py says how).
"""

import functools
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import compiler
import corpus
import holds_samples
import misuse_samples
import objects_samples
import pool_samples
import samples

TABLE = samples.REPO / "native" / "src" / "go" / "layout_table.h"

# Every Go command whose figures must not depend on DWARF (who-holds is run on the top retainers).
COMMANDS = ["go-info", "memstats", "mspan-walk", "mcentral --spans", "mcache", "goroutines", "frag",
            "histogram --all --top 1000000", "objects --all", "roots", "top-retainers", "top-retainers --by root",
            "pool-residue", "findings"]
SAMPLES = {
    "goheap": lambda cfg: samples.make_core(cfg, "kernel"),
    "gopool": lambda cfg: pool_samples.make_core(cfg, "kernel"),
    "goholds": lambda cfg: holds_samples.make_core(cfg, "kernel"),
    # The real programs (tests/test_corpus.py): large servers, the same cores.
    **{f"corpus-{name}": (lambda name: lambda cfg: corpus.make_core(name, cfg).sc)(name) for name in corpus.PROGRAMS},
    # The Go compiler stopped mid-compile (tests/compiler.py): go1.22.12 and go1.26.8 only.
    "compiler": compiler.make_core,
    # A program that never reads MemStats, dead in a recursion (test_minimal_program).
    "minimal": lambda cfg: samples.make_core_of(samples.other_sample("minimal"), cfg, "kernel"),
}


def _core(fn, cfg):
    try:
        return fn(cfg)
    except (samples.ToolchainUnavailable, corpus.TooOld, compiler.NotThisConfig) as e:
        pytest.skip(str(e))


def run_json(core, exe, cmd, env=None):
    p = samples.run_cli(["core", core, "--exe", exe, "-c", cmd, "--json"], timeout=600, env=env)
    assert p.returncode == 0, f"{cmd} on {exe}: {p.stderr}"
    doc = json.loads(p.stdout)
    assert "error" not in doc, (cmd, doc["error"])
    return doc


# ---------------------------------------------------------------- the layout table

def table():
    """(configs [(version, mode)], {(kind, name, path): [(value, size, mask)]}) from layout_table.h."""
    text = TABLE.read_text()
    configs = re.findall(r'^\t\{ "([^"]*)", "(exe|pie)" \},$', text, re.M)
    rows = {}
    for kind, name, path, value, size, mask in re.findall(
            r"^\t\{ '(\w)', \"([^\"]*)\", \"([^\"]*)\", (-?\d+|INT64_MIN), (\d+|UINT64_MAX), 0x([0-9a-f]+) \},$",
            text, re.M):
        v = -2**63 if value == "INT64_MIN" else int(value)
        rows.setdefault((kind, name, path), []).append((v, None if size == "UINT64_MAX" else int(size), int(mask, 16)))
    return configs, rows


def lookup(rows, bit, kind, name, path=""):
    for value, size, mask in rows.get((kind, name, path), []):
        if mask >> bit & 1:
            return value, size
    return None


def test_table_covers_every_config():
    """One table configuration per line of setup/goversions.txt and build mode (their code differs)."""
    configs, _ = table()
    assert len(configs) == 2 * len(samples.CONFIGS)
    for mode in ("exe", "pie"):
        assert len([c for c in configs if c[1] == mode]) == len(samples.CONFIGS)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_layout_table_answers_as_dwarf(go_config, sample, tmp_path):
    """Every struct member, size and constant memdbg looked up in the DWARF of this toolchain's build,
    running every command, the table gives the same for this toolchain."""
    sc = _core(SAMPLES[sample], go_config)
    audit = tmp_path / "audit.tsv"
    env = dict(os.environ, MEMDBG_DWARF_AUDIT=str(audit))
    version = run_json(sc.core, sc.exe, "go-info", env)["go_version"]
    for cmd in COMMANDS:
        run_json(sc.core, sc.exe, cmd, env)
    configs, rows = table()
    bit = configs.index((version, "exe"))
    seen, wrong = set(), []
    for line in audit.read_text().splitlines():
        kind, name, path, ok, *vals = line.split("\t")
        if (kind, name, path) in seen:
            continue
        seen.add((kind, name, path))
        got = lookup(rows, bit, kind, name, path)
        if kind == "m":
            want = (int(vals[0]), None if vals[1] == "-" else int(vals[1])) if ok == "1" else None
        elif kind == "s":
            want = (0, int(vals[0])) if ok == "1" else None
        else:
            want = (int(vals[0]), 0) if ok == "1" else None
        if got != want:
            wrong.append(f"{kind} {name} {path}: DWARF {want}, table {got}")
    assert len(seen) > 200, "the audit saw too few lookups"
    assert not wrong, f"{len(wrong)} of {len(seen)} lookups differ (rerun setup/go-layout.sh?):\n" + \
        "\n".join(wrong[:40])


# ---------------------------------------------------------------- same core: exe and strip -s of it

def element(t):
    """"[128]map.group[int]*main.node" (or histogram's "[]map.group[int]*main.node") -> "map.group[int]*main.node"."""
    m = re.match(r"^\[\d*\](.+)$", t or "")
    return m.group(1) if m else t


def type_ok(full, stripped, temp=None):
    """Without DWARF an object has its type, none, (a backing array) another length of it, or,
    in a tiny block whose type only a global gave, the block's name ("tiny block (string data)":
    what else points into the block); a tiny block that DWARF-typed pointers into it name so may
    be named by the value at its start (its other values have no typed holder without DWARF); or,
    one a compiler temporary holds (temporaries), the type its function's code allocates (temp)."""
    return (stripped is None or stripped == full or element(stripped) == element(full) != full or
            stripped.startswith("tiny block") or (full or "").startswith("tiny block") or
            (full is None and stripped == temp))


def check_root_name(full, stripped, secs):
    if full["kind"] == "global":
        # A section and offset; a sync.Pool global's words are named after it ("bss+0x20+16", as "main.pool+16").
        at = samples.global_root_at(stripped["name"], secs)
        assert at == int(stripped["slot"], 16), (full, stripped)
    elif full["kind"] == "stack" and full["name"] != stripped["name"]:  # a defer record's, a ctxt's: the same
        m = re.fullmatch(r"(goroutine \d+ frame (?:#\d+ )?\S+) sp\+0x[0-9a-f]+( \(conservative\))?", stripped["name"])
        assert m and full["name"].startswith(m.group(1) + " "), (full, stripped)
        if " sp+0x" in full["name"]:
            assert full["name"] == stripped["name"]
    else:
        assert full["name"] == stripped["name"]


def compare_objects(a, b, temps):
    assert [(o["addr"], o["size"], o["live"]) for o in a["objects"]] == \
        [(o["addr"], o["size"], o["live"]) for o in b["objects"]]
    bad = [(x, y["type"]) for x, y in zip(a["objects"], b["objects"])
           if not type_ok(x["type"], y["type"], temps.get(x["addr"], (None,))[0])]
    assert not bad, bad[:10]
    assert a["totals"] == b["totals"]


def compare_histogram(a, b, temps):
    for k in ("objects", "bytes", "objects_shown"):
        assert a["totals"][k] == b["totals"][k]
    per = {}
    for t, size in temps.values():  # typed only without DWARF, as the code allocates them
        c = per.setdefault(element(t), [[0, 0], [0, 0]])
        c[1][0] -= 1
        c[1][1] -= size
    for doc, i in ((a, 0), (b, 1)):
        for row in doc["types"]:
            if not row.get("typed", not row["type"].startswith("unknown")):
                continue
            c = per.setdefault(element(row["type"]), [[0, 0], [0, 0]])
            c[i][0] += row["count"]
            c[i][1] += row["bytes"]
    # A tiny block holds several values: which one names it depends on which typed pointer is seen, so DWARF's
    # "tiny block (T)" may be named by the value at its start without DWARF, and the other way round (type_ok
    # holds each object to it in the objects comparison).
    more = {t: c for t, c in per.items()
            if (c[1][0] > c[0][0] or c[1][1] > c[0][1]) and not t.startswith("tiny block (")}
    tiny = [r for r in a["types"] if r["type"].startswith("tiny block")]
    surplus = sum(c[1][0] - c[0][0] for c in more.values())
    assert not more or surplus <= sum(r["count"] for r in tiny), f"types with more objects without DWARF: {more}"


def compare_roots(a, b, secs, temps):
    assert [(r["kind"], r["slot"], r["target"]) for r in a["roots"]] == \
        [(r["kind"], r["slot"], r["target"]) for r in b["roots"]]
    for x, y in zip(a["roots"], b["roots"]):
        check_root_name(x, y, secs)
        assert type_ok(x["type"], y["type"], temps.get(x["target"], (None,))[0]), (x, y)
    assert a["totals"] == b["totals"]


def compare_retainers(a, b, temps):
    """The same rows but for names (rows that tie in bytes are in name order: compared as a set; those that
    tie with the last row are cut from a longer tie in name order, so which of them are in may differ)."""
    assert a["index"] == b["index"]
    assert [r["retained_bytes"] for r in a["retainers"]] == [r["retained_bytes"] for r in b["retainers"]]
    cut = a["retainers"][-1]["retained_bytes"] if a["retainers"] else None
    plain = lambda doc: sorted(json.dumps({**{k: v for k, v in r.items() if k not in ("type", "root", "name")},  # noqa: E731
                                           "kind": r.get("root", {}).get("kind")}, sort_keys=True)
                               for r in doc["retainers"] if r["retained_bytes"] != cut)
    assert plain(a) == plain(b)
    by_addr = {r["addr"]: r for r in a["retainers"] if "addr" in r}
    for y in b["retainers"]:
        if "addr" in y and (y["retained_bytes"] != cut or y["addr"] in by_addr):
            assert type_ok(by_addr[y["addr"]].get("type"), y.get("type"), temps.get(y["addr"], (None,))[0]), \
                (by_addr[y["addr"]], y)


def compare_pools(a, b):
    """Pools DWARF finds only as globals (neither in allPools nor oldPools) hold nothing: only they may be
    missing; every other figure is the same."""
    strip = lambda p: {k: v for k, v in p.items() if k not in ("name", "types", "found_in")}  # noqa: E731
    full = {p["address"]: p for p in a["pools"]}
    got = {p["address"]: p for p in b["pools"]}
    for addr, p in full.items():
        if addr not in got:
            assert p["found_in"] == "global" and p["count"] == 0 and not p["local"] and not p["victim"], p
            continue
        assert strip(p) == strip(got[addr])
    assert set(got) <= set(full)
    assert {k: v for k, v in a["totals"].items() if k != "pools"} == \
        {k: v for k, v in b["totals"].items() if k != "pools"}


def compare_findings(a, b):
    """Counts and bytes per section, but what needs a variable's DWARF type: big maps (the map's type),
    and addresses in globals declared uintptr (gc-invisible items held by a global, not an object)."""
    for x, y in zip(a["sections"], b["sections"]):
        assert x["id"] == y["id"]
        if x["id"] == "maps":
            assert y["count"] <= x["count"]
        elif x["id"] == "gc-invisible":
            full = {i["at"]: i for i in x["items"]}
            assert {i["at"] for i in y["items"]} <= set(full)
            missing = set(full) - {i["at"] for i in y["items"]}
            assert all("held_in" not in full[at] for at in missing), [full[at] for at in missing]
        else:
            assert (x["count"], x["bytes"]) == (y["count"], y["bytes"]), (x["id"], x["items"][:3], y["items"][:3])


def compare(cmd, a, b, secs, temps):
    name = cmd.split()[0]
    if name == "go-info":
        for d in (a, b):
            d.pop("executable"), d.pop("binary")
        assert a == b
    elif name == "objects":
        compare_objects(a, b, temps)
    elif name == "histogram":
        compare_histogram(a, b, temps)
    elif name == "roots":
        compare_roots(a, b, secs, temps)
    elif name == "top-retainers":
        compare_retainers(a, b, temps)
    elif name == "pool-residue":
        compare_pools(a, b)
    elif name == "findings":
        compare_findings(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("cmd", COMMANDS)
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_stripped_copy_same_figures(go_config, sample, cmd):
    sc = _core(SAMPLES[sample], go_config)
    stripped = samples.stripped_copy(sc.exe)
    compare(cmd, run_json(sc.core, sc.exe, cmd), run_json(sc.core, stripped, cmd), samples.section_starts(stripped),
            temporaries(sc.core, sc.exe, stripped))


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_stripped_copy_same_paths(go_config, sample):
    """who-holds on the largest retainers: the same hops (addresses, fields where types agree)."""
    sc = _core(SAMPLES[sample], go_config)
    stripped = samples.stripped_copy(sc.exe)
    top = run_json(sc.core, sc.exe, "top-retainers -n 8")["retainers"]
    kinds = {}
    for r in run_json(sc.core, sc.exe, "roots")["roots"]:
        kinds.setdefault(r["target"], set()).add(r["kind"])
    for r in top:
        a = run_json(sc.core, sc.exe, f"who-holds {r['addr']}")
        b = run_json(sc.core, stripped, f"who-holds {r['addr']}")
        assert a["status"] == b["status"]
        hops = lambda d: [[h.get("addr") for h in p["hops"]] for p in d.get("paths", [])]  # noqa: E731
        assert hops(a) == hops(b)
        # An object several roots hold shows the first by name, and names are DWARF's: any of them.
        for x, y in zip(a.get("paths", []), b.get("paths", [])):
            held_by = kinds.get(x["hops"][0].get("addr"), set()) if x["hops"] else set()
            assert y["root"]["kind"] in held_by | {x["root"]["kind"]}, (x, y)


# The typed share of live bytes (histogram's typed_pct) the stripped copy must reach.  Measured on every
# config: goheap 99.97-99.99%, goobjects 99.2-99.5%, goholds 98.6-99.6%, gopool 99.8-100% (the DWARF build:
# 98.6-100%); before stack slots and maps without a size hint were typed from the code: 99.1-99.2%,
# 96.8-97.3%, 98.3-99.6%, 99.8-100%; before globals were: 66%, 25%, 41-45%, 91%.
# The corpus: nats 99.20-99.49% (98.35-99.19% before the sudogs of goroutines parked in sync.Cond.Wait and
# the nodes of typed HashTrieMaps were typed), raft 99.00-99.26% (89.76-90.24% before the receivers of method
# frames were typed, 82.2-83.9% before the layout table had package time's timers), tsdb 99.17-99.27% (the
# DWARF build: 99.58-99.84%); raft's floor is lower: its share varies from run to run (97.86-98.09% on fresh
# machines' cores, test_production_corpus).
# The compiler (cmd/compile mid-compile of net/http): go1.26.8 98.2%, go1.22.12 98.0% (94.4%, 93.4% before
# heap closures were typed from the code that makes them; the DWARF build: 98.27%, 98.07%).
TYPED_SHARE = {"goheap": 99.9, "goobjects": 99.0, "goholds": 98.0, "gopool": 99.5,
               "corpus-nats": 99.0, "corpus-raft": 97.5, "corpus-tsdb": 99.0,
               "compiler": 97.8}
TYPED_SAMPLES = {**SAMPLES, "goobjects": lambda cfg: objects_samples.make_core(cfg, "kernel")}


def label(t):
    """Names that are not a type the code could give: a tiny block's or a string's bytes (typed otherwise)."""
    return t == "string data" or t.startswith("tiny block")


def unnamed_slot_objects(core, exe):
    """{object: function} of the objects a stack slot that no DWARF variable names holds (the default build)."""
    roots = run_json(core, exe, "roots")["roots"]
    return {r["target"]: m.group(1) for r in roots
            if r["kind"] == "stack" and (m := re.fullmatch(r"goroutine \d+ frame (?:#\d+ )?(\S+) sp\+0x[0-9a-f]+", r["name"]))}


@functools.lru_cache(maxsize=None)
def type_descriptors(exe):
    """{type name: its descriptor's address} from exe's DWARF (DW_AT_go_runtime_type, from runtime.types)."""
    syms = subprocess.run(["go", "tool", "nm", str(exe)], capture_output=True, text=True, check=True).stdout
    base = int(re.search(r"^\s*([0-9a-f]+) \w runtime\.types$", syms, re.M).group(1), 16)
    info = subprocess.run(["readelf", "--debug-dump=info", "--dwarf-depth=2", str(exe)],
                          capture_output=True, text=True, check=True).stdout
    types, name = {}, None
    for line in info.splitlines():
        if "Abbrev Number" in line:
            name = None
        elif m := re.search(r"DW_AT_name\s*: (.+)$", line):
            name = m.group(1).strip()
        elif (m := re.search(r"Unknown AT value: 2904: (0x[0-9a-f]+)", line)) and name:
            types[name] = base + int(m.group(1), 16)
    return types


def short_type_name(name):
    """"*cmd/compile/internal/types.Type" (DWARF's) -> "*types.Type" (the runtime's, memdbg's)."""
    return re.sub(r"[\w.\-]+/", "", name)


def descriptor(exe, type_name):
    """type_name's descriptor address: by DWARF's name, or the one DWARF type whose short name it is."""
    types = type_descriptors(exe)
    if type_name in types:
        return types[type_name]
    found = {a for n, a in types.items() if short_type_name(n) == type_name}
    return found.pop() if len(found) == 1 else None


def allocates(exe, func, type_name, funcs=None):
    """Does func's code (or that of the functions the regexp funcs names) call runtime.newobject with
    type_name's descriptor in AX?  Go's objdump and the DWARF read it: LEAQ off(IP), AX, its target the
    descriptor, and AX unchanged up to the next call, newobject."""
    want = descriptor(exe, type_name)
    out = subprocess.run(["go", "tool", "objdump", "-s", funcs or "^" + re.escape(func) + "$", str(exe)],
                         capture_output=True, text=True, check=True).stdout
    insns = [(int(m.group(1), 16), len(m.group(2)) // 2, m.group(3))
             for m in re.finditer(r"^\s+\S+\s+0x([0-9a-f]+)\s+([0-9a-f]+)\s+(.*?)\s*$", out, re.M)]
    for k, (pc, length, text) in enumerate(insns):
        m = re.fullmatch(r"LEAQ (-?0x[0-9a-f]+)\(IP\), AX", text)
        if not m or pc + length + int(m.group(1), 16) != want:
            continue
        rest = [t for _, _, t in insns[k + 1:]]
        call = next((n for n, t in enumerate(rest) if t.startswith("CALL")), None)
        if call is not None and rest[call] == "CALL runtime.newobject(SB)" and \
                not any(t.endswith(", AX") for t in rest[:call]):
            return True
    return False


def global_objects(core, exe):
    """The objects a global root holds (the default build)."""
    return {r["target"] for r in run_json(core, exe, "roots")["roots"] if r["kind"] == "global"}


# Package initializers: what they allocate, globals hold (`var basics = [...]**T{new(*T), ...}`).
INITS = r"\.init(\.\d+)?$"


@functools.lru_cache(maxsize=None)
def temporaries(core, exe, stripped):
    """{addr: (type, size)} of the objects the stripped copy types and the default build does not, that a
    compiler temporary holds (a stack slot DWARF names no variable in) and its function's code allocates
    as that type (allocates); or that a global holds whose DWARF type has no runtime type descriptor to type
    it by (the compiler's noder.basics, [26]**types.Type) or that is no DWARF variable (a composite
    literal's static array: types2.allTermlist's), and a package initializer allocates as that type.  Heap
    closures need no allowance: where DWARF does not name what one captured (a method value's, one captured
    into inlined code, on go1.22 one declared after the closure) the default build types it from the code
    as the stripped copy does."""
    full = run_json(core, exe, "objects --all")["objects"]
    got = run_json(core, stripped, "objects --all")["objects"]
    extra = [(x, y["type"]) for x, y in zip(full, got)
             if x["type"] is None and y["type"] and not y["type"].startswith("tiny block")]
    temps = unnamed_slot_objects(core, exe) if extra else {}
    held = global_objects(core, exe) if extra else set()
    found = {x["addr"]: (t, x["size"]) for x, t in extra
             if not label(t) and ((x["addr"] in temps and allocates(exe, temps[x["addr"]], t)) or
                                  (x["addr"] in held and allocates(exe, None, t, INITS)))}
    return found


@pytest.mark.parametrize("sample", sorted(TYPED_SHARE))
def test_stripped_copy_types_globals_from_code(go_config, sample):
    """Without DWARF the objects only globals or locals reach are typed from the code that stores into them:
    the typed share reaches the threshold, every typed object has the default build's type (the oracle: its
    DWARF) or, where a compiler temporary DWARF does not name holds it, the type the function's code
    allocates (the oracle: Go's objdump and symbols), and no type contradicts the GC's metadata."""
    sc = _core(TYPED_SAMPLES[sample], go_config)
    stripped = samples.stripped_copy(sc.exe)
    share = run_json(sc.core, stripped, "histogram")["totals"]["typed_pct"]
    assert share >= TYPED_SHARE[sample], (share, run_json(sc.core, sc.exe, "histogram")["totals"]["typed_pct"])
    full, got = run_json(sc.core, sc.exe, "objects --all")["objects"], run_json(sc.core, stripped, "objects --all")["objects"]
    assert [o["addr"] for o in full] == [o["addr"] for o in got]
    typed = [(x, y["type"]) for x, y in zip(full, got) if y["type"] and not label(y["type"])]
    # Of the live objects: a core taken mid-cycle (the compiler's) holds about as many dead ones.
    assert len(typed) > sum(1 for x in full if x["live"]) // 2
    temps = temporaries(sc.core, sc.exe, stripped)
    bad = [(x, t) for x, t in typed if not type_ok(x["type"], t, temps.get(x["addr"], (None,))[0])]
    assert not bad, bad[:10]
    totals = run_json(sc.core, stripped, "objects --check-types")["totals"]
    assert totals["typed_against_gc"] == 0 and totals["typed_without_gc_record"] == 0, totals


def test_stripped_copy_types_locals_from_code(go_config):
    """An object only a local variable holds (goholds' StackHeld, made by a function that returns it) is
    typed without DWARF from the code that writes the variable's stack slot, as the oracle says."""
    sc = _core(SAMPLES["goholds"], go_config)
    [row] = holds_samples.scenarios(sc.oracle, "stack")
    stripped = samples.stripped_copy(sc.exe)
    got = {o["addr"]: o["type"] for o in run_json(sc.core, stripped, "objects --all")["objects"]}
    assert got[hex(row["Target"])] == row["Type"] == "main.StackHeld"


def test_stripped_copy_types_receivers(go_config):
    """What only a blocked call's receiver holds (raft's connections: each goroutine blocked reading one
    holds its bufio.Reader only as bufio.(*Reader).fill's receiver, and the reader its buffer) is typed
    without DWARF from the method's name and the receiver's slot the pclntab gives, as DWARF types it
    (its variables b of fill and p of internal/poll.(*FD).Read, on the same core)."""
    sc = _core(SAMPLES["corpus-raft"], go_config)
    stripped = samples.stripped_copy(sc.exe)
    held = {}
    for r in run_json(sc.core, sc.exe, "roots")["roots"]:
        m = re.fullmatch(r"goroutine \d+ frame (bufio\.\(\*Reader\)\.fill var b|internal/poll\.\(\*FD\)\.Read var p)",
                         r["name"])
        if m:
            held.setdefault(m.group(1), set()).add(r["target"])
    full = {o["addr"]: o["type"] for o in run_json(sc.core, sc.exe, "objects --all")["objects"]}
    got = {o["addr"]: o["type"] for o in run_json(sc.core, stripped, "objects --all")["objects"]}
    readers, buffers = held.get("bufio.(*Reader).fill var b", set()), held.get("internal/poll.(*FD).Read var p", set())
    assert len(readers) >= 30 and len(buffers) >= 30, {k: len(v) for k, v in held.items()}
    assert {full[a] for a in readers} == {"bufio.Reader"}
    assert [(a, full[a], got[a]) for a in readers if got[a] != full[a]] == []
    assert {full[a] for a in buffers} >= {"[4096]uint8", "[262144]uint8"}
    assert [(a, full[a], got[a]) for a in buffers if got[a] != full[a]] == []


def test_stripped_copy_types_waiting_sudogs(go_config):
    """What a goroutine parked in sync.Cond.Wait or on a semaphore waits with (its sudog, which only
    sync.runtime_notifyListWait's or runtime.semacquire1's local s holds with a type: the notify list and
    the semaphore treap link sudogs through untyped words) is typed without DWARF from the live slot of
    that frame whose object's sudog.g is the goroutine, as DWARF types it (var s, on the same core).
    nats parks hundreds of goroutines in sync.Cond.Wait on go1.24 and go1.25 (none on go1.26)."""
    sc = _core(SAMPLES["corpus-nats"], go_config)
    stripped = samples.stripped_copy(sc.exe)
    held = {r["target"] for r in run_json(sc.core, sc.exe, "roots")["roots"]
            if re.fullmatch(r"goroutine \d+ frame (sync\.runtime_notifyListWait|runtime\.semacquire1) var s", r["name"])}
    if not held:
        pytest.skip("no goroutine of this core waits in sync.Cond.Wait or on a semaphore")
    full = {o["addr"]: o["type"] for o in run_json(sc.core, sc.exe, "objects --all")["objects"]}
    got = {o["addr"]: o["type"] for o in run_json(sc.core, stripped, "objects --all")["objects"]}
    assert {full[a] for a in held} == {"runtime.sudog"}
    assert [(a, got[a]) for a in held if got[a] != "runtime.sudog"] == []


def test_stripped_copy_types_trie_nodes(go_config):
    """A HashTrieMap (sync.Map since go1.24) points to its nodes as *node[K,V], which begins both an entry[K,V]
    and an indirect[K,V] (its isEntry bool tells): without DWARF the two are found by the names the runtime
    gives them and taken only as the node's kin (checked in their descriptors), so what an indirect the
    stripped copy types holds (nats' gob type maps under a typed trie) is typed as DWARF types it, not left
    untyped with node[K,V] refused."""
    sc = _core(SAMPLES["corpus-nats"], go_config)
    if corpus.version_tuple(run_json(sc.core, sc.exe, "go-info")["go_version"]) < (1, 24):
        pytest.skip("sync.Map is a HashTrieMap since go1.24")
    stripped = samples.stripped_copy(sc.exe)
    full = {o["addr"]: o for o in run_json(sc.core, sc.exe, "objects --all --why")["objects"]}
    got = {o["addr"]: o["type"] for o in run_json(sc.core, stripped, "objects --all")["objects"]}
    node = re.compile(r"sync\.(entry|indirect)\[.*\]")
    children = [(a, o["type"]) for a, o in full.items() if node.fullmatch(o["type"] or "") and
                (m := re.search(r"referrer (0x[0-9a-f]+) field \.children\[\d+\]\.v$", o["type_source"])) and
                node.fullmatch(got.get(m.group(1)) or "")]
    assert len(children) >= 10, len(children)
    assert [(a, t, got[a]) for a, t in children if got[a] != t] == []


def test_stripped_copy_types_closures(go_config):
    """Heap closures without DWARF: the code makes each as new(struct { F uintptr; captured... }) and stores
    its function's entry in word 0, which gives the closure its name and its captured variables their types.
    Checked on nats (hundreds of heap closures) against the default build: most closures DWARF names are
    named alike (the rest are generic closures, or reached only through what DWARF alone types), none
    otherwise; and what the captured variables hold has the default build's type (which types from the code
    what DWARF does not describe a closure capturing, as test_dwarf_build_types_method_value_receivers checks)."""
    sc = _core(SAMPLES["corpus-nats"], go_config)
    stripped = samples.stripped_copy(sc.exe)
    full = {o["addr"]: o for o in run_json(sc.core, sc.exe, "objects --all --why")["objects"]}
    got = run_json(sc.core, stripped, "objects --all --why")["objects"]
    named = [(full[o["addr"]]["type"], o["type"]) for o in got if (full[o["addr"]]["type"] or "").startswith("closure ")]
    assert len(named) > 100 and not [(a, b) for a, b in named if b not in (None, a)]
    same = sum(a == b for a, b in named)
    assert same >= 0.6 * len(named), (same, len(named))
    captured = [o for o in got if " closure var +" in o["type_source"] and not label(o["type"])]
    temps = temporaries(sc.core, sc.exe, stripped)
    bad = [(o, full[o["addr"]]["type"]) for o in captured
           if not type_ok(full[o["addr"]]["type"], o["type"], temps.get(o["addr"], (None,))[0])]
    assert len(captured) >= 20 and not bad, (len(captured), bad[:10])


def test_dwarf_build_types_method_value_receivers(go_config):
    """A method value's closure (T.M-fm) captures its receiver, and DWARF describes no variable of it: the
    default build types the receiver from the context type the code makes the closure with, as the stripped
    copy does.  On tsdb (net.(*Dialer).DialContext-fm, http2serverInternalState's): each object such a closure
    holds at +8 has the receiver type the method's own name gives (the oracle: the symbol), and the stripped
    copy's type wherever that types it."""
    sc = _core(SAMPLES["corpus-tsdb"], go_config)
    full = run_json(sc.core, sc.exe, "objects --all --why")["objects"]
    types = {o["addr"]: o["type"] for o in full}
    got = {o["addr"]: o["type"] for o in run_json(sc.core, samples.stripped_copy(sc.exe), "objects --all")["objects"]}
    held = []
    for o in full:
        m = re.search(r"referrer (0x[0-9a-f]+) closure var \+8$", o["type_source"])
        fm = m and re.fullmatch(r"closure (?:.*/)?([^/]+)\.\(\*([^()]+)\)\.[^.]+-fm", types[m.group(1)] or "")
        if fm:
            held.append((o["addr"], o["type"], f"{fm.group(1)}.{fm.group(2)}", got[o["addr"]]))
    assert len(held) >= 2 and [h for h in held if h[1] != h[2] or h[3] not in (None, h[1])] == [], held


def no_section_headers(exe):
    """A copy of exe without section headers (as sstrip leaves it): e_shoff, e_shnum, e_shstrndx zeroed."""
    out = Path(f"{exe}.nosections")
    if not out.exists():
        data = bytearray(exe.read_bytes())
        data[0x28:0x30] = bytes(8)
        data[0x3c:0x40] = bytes(4)
        tmp = Path(f"{out}.tmp.{os.getpid()}")
        tmp.write_bytes(data)
        tmp.chmod(0o755)
        tmp.rename(out)
    return out


def test_no_section_headers(kernel_core):
    """Without section headers the build info, the pclntab and the module data are found by their own
    magic and pointers, the build id by the PT_NOTE segment; the figures stay the default build's."""
    bare = no_section_headers(samples.stripped_copy(kernel_core.exe))
    b = run_json(kernel_core.core, bare, "go-info")["binary"]
    assert (b["build_info"], b["pclntab"], b["module_data"]) == \
        ("its magic", "its magic", "pointers to the pclntab in the data")
    for cmd in ("memstats", "mspan-walk", "goroutines"):
        assert run_json(kernel_core.core, bare, cmd) == run_json(kernel_core.core, kernel_core.exe, cmd), cmd
    other = no_section_headers(samples.stripped_copy(samples.make_core(kernel_core.config, "kernel-stripped").exe))
    p = samples.run_cli(["core", kernel_core.core, "--exe", other, "-c", "memstats"], timeout=120)
    assert p.returncode > 0 and re.search(r"build-id|match", p.stderr), p.stderr


# ---------------------------------------------------------------- go-info and the build id

@pytest.fixture(scope="module", params=samples.PRODUCTION_KINDS)
def production_core(go_config, request):
    return _core(lambda cfg: samples.make_core(cfg, request.param), go_config)


REQUIRED = ["runtime.mheap_", "runtime.allgs", "runtime.allglen", "runtime.allp", "runtime.gomaxprocs",
            "runtime.gcphase", "runtime.memstats", "runtime.gcController", "runtime.sched", "runtime.emptymspan"]


def test_go_info_says_where(production_core):
    info = run_json(production_core.core, production_core.exe, "go-info")
    b = info["binary"]
    assert b["symbols"] is False and b["dwarf"] is False
    assert b["build_info"] == "section .go.buildinfo" and b["pclntab"].startswith("section ")
    mode = "pie" if production_core.kind.endswith("pie") else "exe"
    assert b["layouts"] == f"table of {info['go_version']} ({mode})"
    found = {g["name"]: g["found_by"] for g in b["globals"]}
    for name in REQUIRED + ["sync.allPools", "runtime.waitReasonStrings", "runtime.allm"]:
        assert found[name].startswith("code of "), (name, found)


def test_go_info_where_with_dwarf(kernel_core):
    b = run_json(kernel_core.core, kernel_core.exe, "go-info")["binary"]
    assert b["symbols"] is True and b["dwarf"] is True and b["layouts"] == "DWARF"
    assert all(g["found_by"] == "symbol table" for g in b["globals"])


def test_other_build_is_refused(production_core, kernel_core):
    """The -s -w or PIE executable of the same program and toolchain against the default build's core,
    and the other way: one line naming the build id, no figures."""
    for core, exe in ((kernel_core.core, production_core.exe), (production_core.core, kernel_core.exe),
                      (production_core.core, samples.stripped_copy(kernel_core.exe))):
        p = samples.run_cli(["core", core, "--exe", exe, "-c", "memstats"], timeout=120)
        assert p.returncode > 0 and not p.stdout
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("memdbg: ") and re.search(r"build-id|match", lines[0]), lines


def test_minimal_program(go_config):
    """A program that never reads MemStats links no runtime.readmemstats_m (its symbol table says so), whose
    code once was the only way to runtime.memstats without symbols: its stripped copy finds memstats and
    gcController in other runtime code (test_stripped_copy_same_figures: the same figures).  Each frame of
    its recursion holds its node (the oracle) in the same stack slot: a root of its own per frame, told
    apart by the frame's depth, in both builds.  The backing arrays of two slices whose fronts it cut off
    (s = s[k:]), which only an interior pointer reaches, have the types it made them with; so does the
    node only an atomic.Pointer global holds (without DWARF: from its Store, a sync/atomic.StorePointer call),
    the table a constructor returns after a loop (without DWARF: the walk keeps its frame word across
    the loop), and the node only a sync.Map global holds (without DWARF, go1.24+: the global is a sync.Map
    because its methods are called with its address; before, the program has no sync.Map descriptor)."""
    sc = _core(SAMPLES["minimal"], go_config)
    nm = subprocess.run(["nm", str(sc.exe)], capture_output=True, text=True, check=True).stdout
    assert " T runtime.ReadMemStats" not in nm and "readmemstats_m" not in nm
    stripped = samples.stripped_copy(sc.exe)
    found = {g["name"]: g["found_by"] for g in run_json(sc.core, stripped, "go-info")["binary"]["globals"]}
    assert found["runtime.memstats"].startswith("code of ") and "readmemstats" not in found["runtime.memstats"]
    for exe in (sc.exe, stripped):
        frames = {}
        for r in run_json(sc.core, exe, "roots")["roots"]:
            m = re.fullmatch(r"goroutine \d+ frame #(\d+) main\.walk (.*)", r["name"])
            if m:
                frames.setdefault(int(m[1]), set()).add(r["target"])
        assert len(frames) == len(sc.oracle["Nodes"]), frames
        held = [t for _, ts in sorted(frames.items()) for t in ts]
        assert set(sc.oracle["Nodes"]) <= set(held), (sc.oracle["Nodes"], frames)
        for kind in ("Trimmed", "Atomic", "Looped", "SyncMap"):
            want = sc.oracle[kind]
            if kind == "SyncMap" and exe == stripped and corpus.version_tuple(go_config.toolchain) < (1, 24):
                want = dict.fromkeys(want)  # no sync.Map descriptor before go1.24's HashTrieMap (docs/support.md)
            assert {a: run_json(sc.core, exe, f"object {a}")["type"] for a in want} == want, exe


# ---------------------------------------------------------------- cgo

def test_cgo_stripped_outside_heap(go_config):
    """misuse/cgo (CGO_ENABLED=1, glibc malloc, externally linked) built -s -w: the Go pointers its C
    memory holds are found as in the unstripped build (tests/test_findings.py)."""
    sc = _core(lambda cfg: misuse_samples.make_core(cfg, "cgo", "kernel-stripped"), go_config)
    info = run_json(sc.core, sc.exe, "go-info")
    assert info["binary"]["dwarf"] is False
    assert {g["name"]: g["found_by"] for g in info["binary"]["globals"]}["runtime.iscgo"].startswith("code of ")
    o = sc.oracle
    s = [x for x in run_json(sc.core, sc.exe, "findings")["sections"] if x["id"] == "outside-heap"][0]
    by_value = {int(i["value"], 16): i for i in s["items"]}
    live = by_value.get(o["LiveObj"])
    assert live and int(live["at"], 16) == o["Box"] and live["target_state"] == "live", s["items"]
    # A global holds it (main.liveObj): its name and type are DWARF's; its section and offset remain.
    assert live["target_type"] in ("main.Payload", "(unknown type)")
    assert re.fullmatch(r"(data|bss)\+0x[0-9a-f]+", live["go_holder"]), live
    freed = by_value.get(o["FreeObj"])
    assert freed and int(freed["at"], 16) == o["Box"] + 8 and freed["target_state"] == "free slot"
