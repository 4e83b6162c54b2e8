#!/usr/bin/env python3
"""memdbg and viewcore side by side on the samples' and the corpus' cores, each held
against the runtime's own records (issue 10, item 6).

    python3 setup/viewcore_compare.py [--configs go1.22.12,go1.24.13,go1.26.8]
        [--cores goobjects,goholds,nats,raft,tsdb] [--viewcore PATH] [--addresses 3]
        [--out build/viewcore/report.md]

For each kernel core (made or reused through tests/: the cache of
MEMDBG_CORES_DIR), whose program wrote runtime/debug.WriteHeapDump with nothing
running between the dump and the core:

  objects     all allocated objects: the heap dump's (the runtime's), memdbg's `objects`
  live        what the GC would mark (tests/corpus.py dump_live: the dump's roots, live
              stack slots and reached stack objects), memdbg's `histogram --live`,
              viewcore's `histogram` (it lists live objects only)
  typed       share of live bytes with a type: memdbg's typed_pct, viewcore's bytes
              outside its unk* rows
  wrong type  objects whose type implies pointer words other than the heap dump's for
              that slot (tests/corpus.py check_types, the same rule for both tools)
  goroutines  runtime.NumGoroutine and the dump's goroutines (system ones included),
              memdbg's `go-info` and `goroutines --all`, viewcore's `goroutines`
  paths       for a few live objects, memdbg's first `who-holds` path and viewcore's
              `reachable` path, each checked hop by hop against the dump's pointers
  histogram   wall seconds of one `histogram` run of each tool (page cache warm)

Prints a Markdown report and writes it (and the raw figures as JSON) to --out.
The figures are reported, not asserted: tests/test_corpus.py and
tests/test_viewcore.py assert what the runtime's oracles decide.
"""

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "setup"))

import bench           # noqa: E402
import corpus          # noqa: E402
import holds_samples   # noqa: E402
import objects_samples  # noqa: E402
import samples         # noqa: E402

SAMPLE_CORES = {"goobjects": objects_samples.make_core, "goholds": holds_samples.make_core}


def get_core(name, cfg):
    """A corpus.CorpusCore for a corpus program or a sample with a heap dump."""
    if name in SAMPLE_CORES:
        return corpus.CorpusCore(name, SAMPLE_CORES[name](cfg, "kernel"))
    return corpus.make_core(name, cfg)


# ------------------------------------------------------------------ viewcore

def viewcore(vc, cc, *args, timeout=900):
    t0 = time.monotonic()
    p = subprocess.run([str(vc), str(cc.sc.core), "--exe", str(cc.sc.exe), *args], capture_output=True,
                       text=True, timeout=timeout)
    lines = [x for x in p.stdout.splitlines() if not x.startswith("WARNING:")]
    return p.returncode, lines, time.monotonic() - t0, p.stderr


def vc_histogram(lines):
    """{type: [count, bytes]} of viewcore's histogram rows."""
    rows = {}
    for line in lines:
        m = re.match(r"\s*(\d+)\s+(\d+)\s+(\d+)\s+(.+?)\s*$", line)
        if m:
            r = rows.setdefault(m.group(4), [0, 0])
            r[0] += int(m.group(1))
            r[1] += int(m.group(3))
    return rows


def vc_type_name(name):
    """viewcore's names in memdbg's form, for the layout check: unk<N> is untyped,
    hchan<T> is runtime.hchan, [N+M?]T an array of N+M elements."""
    if re.fullmatch(r"unk\d+", name):
        return None
    if name.startswith("hchan<"):
        return "runtime.hchan"
    m = re.fullmatch(r"\[(\d+)\+(\d+)\?\](.+)", name)
    if m:
        return f"[{int(m.group(1)) + int(m.group(2))}]{m.group(3)}"
    return name


def vc_path(lines):
    """The object addresses of viewcore's `reachable` path, root side first (the root
    lines name frames or globals and carry no address)."""
    out = []
    for line in lines:
        m = re.match(r"([0-9a-f]{6,16}) ", line)
        if m:
            out.append(int(m.group(1), 16))
    return out


# ------------------------------------------------------------------ checks against the dump

def check_path(cc, objs, addrs):
    """'valid' when each hop's object holds a pointer (per the heap dump) into the next."""
    if not addrs:
        return "no path"
    byaddr = {o.addr: o for o in objs}
    keys = sorted(byaddr)
    import bisect

    def base(v):
        i = bisect.bisect_right(keys, v) - 1
        return keys[i] if i >= 0 and v < keys[i] + byaddr[keys[i]].size else None

    raw = corpus.load_heapdump(cc).raw
    for a, b in zip(addrs, addrs[1:]):
        src, dst = byaddr.get(base(a)), base(b)
        if src is None or dst is None:
            return f"hop {a:#x} -> {b:#x}: not heap objects of the dump"
        targets = set()
        for f in src.pointers:
            f = f if isinstance(f, int) else f[1] + 8
            targets.add(base(int.from_bytes(raw[src.offset + f:src.offset + f + 8], "little")))
        if dst not in targets:
            return f"hop {a:#x} -> {b:#x}: no such pointer in the dump"
    return "valid"


def layout_check(cc, typed):
    """Contradictions among {addr: type name} (check_types' rule), as (checked, wrong, worst types)."""
    spans = corpus.cli_json(cc, "mspan-walk")["spans"]
    rows = sorted((int(s["start"], 16), int(s["end"], 16), s) for s in spans)
    starts = [r[0] for r in rows]
    dump = {o.addr: o for o in corpus.dump_objects(cc)}
    lay = corpus.layouts(cc.sc.exe, set(typed.values()))
    import bisect
    checked, wrong = 0, {}
    for addr, name in typed.items():
        layout, d = lay.get(name), dump.get(addr)
        if not isinstance(layout, tuple) or d is None:
            continue
        i = bisect.bisect_right(starts, addr) - 1
        span = rows[i][2]
        checked += 1
        if corpus.expected_pointers(layout, span, d.size) != frozenset(d.pointers):
            wrong[name] = wrong.get(name, 0) + 1
    return checked, sum(wrong.values()), sorted(wrong.items(), key=lambda r: -r[1])[:3]


# ------------------------------------------------------------------ one core

def corpus_figures(cc):
    """The issue 10 measures of a corpus core, and what making it cost."""
    f = corpus.cli_json(cc, "findings")
    rc = corpus.check_stack_roots(cc)
    st = cc.sc.core.stat()
    return {"findings": {s["id"]: s["count"] for s in f["sections"] if s["count"]},
            "dead_roots": len(rc.dead), "stack_roots": rc.compared,
            "dead_frames": rc.by_frame()[:3],
            "core_bytes": st.st_size, "core_disk": st.st_blocks * 512,
            "heapdump_bytes": (cc.dir / "heapdump").stat().st_size,
            "build_s": corpus.build_seconds(cc), "core_s": corpus.core_seconds(cc),
            "heap_alloc": cc.oracle["MemStats"]["HeapAlloc"], "load": cc.oracle["Load"]}


def pick_addresses(cc, live, n):
    """n live objects of the largest typed types (one per type), deterministic."""
    hist = corpus.cli_json(cc, "histogram --live --top 40")["types"]
    out = []
    for row in hist:
        if len(out) == n:
            break
        t = row["type"]
        if t.startswith("unknown") or t == "string data":
            continue
        objs = corpus.cli_json(cc, f"objects --live --type '{t}' --limit 50")["objects"]
        cands = [int(o["addr"], 16) for o in objs if o["type"] == t and int(o["addr"], 16) in live]
        if cands:
            out.append((cands[len(cands) // 2], t))
    return out


def measure(cc, vc, naddr):
    r = {"core": cc.name, "config": cc.sc.config.id}
    d = corpus.load_heapdump(cc)
    objs = corpus.dump_objects(cc)
    r["dump_objects"], r["dump_bytes"] = len(objs), sum(o.size for o in objs)
    live = corpus.dump_live(cc)
    r["dump_live_objects"], r["dump_live_bytes"] = len(live), sum(live.values())
    r["num_goroutine"] = cc.oracle["NumGoroutine"]
    r["dump_goroutines"] = len(d.goroutines)

    allobjs = corpus.cli_json(cc, "objects --all")["objects"]
    r["memdbg_objects"], r["memdbg_bytes"] = len(allobjs), sum(o["size"] for o in allobjs)
    t0 = time.monotonic()
    samples.run_core_cli(cc.sc, "histogram --live", json_out=True, timeout=900)
    r["memdbg_hist_s"] = time.monotonic() - t0
    h = corpus.cli_json(cc, "histogram --live")["totals"]
    r["memdbg_live_objects"], r["memdbg_live_bytes"], r["memdbg_typed_pct"] = h["objects"], h["bytes"], h["typed_pct"]
    tc = corpus.check_types(cc)
    r["memdbg_wrong"], r["memdbg_checked"] = len(tc.contradictions), tc.checked
    r["memdbg_wrong_types"] = [(t, c) for t, c, _ in tc.by_type()[:3]]
    if cc.name in corpus.PROGRAMS:
        r.update(corpus_figures(cc))
    r["memdbg_goroutines"] = corpus.cli_json(cc, "go-info")["goroutines"]
    r["memdbg_goroutines_all"] = len(corpus.cli_json(cc, "goroutines --all")["goroutines"])

    _, lines, _, _ = viewcore(vc, cc, "goroutines")
    r["viewcore_goroutines"] = sum(1 for x in lines if x.startswith("G "))
    rc, lines, secs, err = viewcore(vc, cc, "histogram")
    r["viewcore_hist_s"] = secs
    if rc:
        errs = err.strip().splitlines() or ["?"]
        r["viewcore_error"] = next((x for x in errs if x.startswith("panic:")), errs[-1])
    else:
        vh = vc_histogram(lines)
        tot = sum(b for _, b in vh.values())
        unk = sum(b for t, (_, b) in vh.items() if t.startswith("unk"))
        r["viewcore_live_objects"] = sum(c for c, _ in vh.values())
        r["viewcore_live_bytes"] = tot
        r["viewcore_typed_pct"] = round(100.0 * (tot - unk) / tot, 2) if tot else None
        _, lines, _, _ = viewcore(vc, cc, "objects")
        typed = {}
        for line in lines:
            m = re.match(r"\s*([0-9a-f]+) (.+)$", line)
            if m:
                name = vc_type_name(m.group(2))
                if name:
                    typed[int(m.group(1), 16)] = name
        r["viewcore_checked"], r["viewcore_wrong"], r["viewcore_wrong_types"] = layout_check(cc, typed)

    r["paths"] = []
    for addr, t in pick_addresses(cc, live, naddr):
        doc = corpus.cli_json(cc, f"who-holds {addr:#x} --paths 1")
        mp = [int(h["addr"], 16) for h in doc["paths"][0]["hops"]] if doc.get("paths") else []
        p = {"addr": hex(addr), "type": t,
             "memdbg": {"hops": len(mp), "check": check_path(cc, objs, mp),
                        "root": doc["paths"][0]["root"]["name"] if mp else None}}
        if "viewcore_error" not in r:
            _, lines, _, _ = viewcore(vc, cc, "reachable", f"{addr:x}")
            vp = vc_path(lines)
            p["viewcore"] = {"hops": len(vp), "check": check_path(cc, objs, vp), "root": lines[0] if lines else None}
        else:
            p["viewcore"] = {"hops": 0, "check": "panics", "root": None}
        r["paths"].append(p)
    return r


# ------------------------------------------------------------------ report

def report(rows, vc):
    L = [f"viewcore: {vc}", ""]
    for r in rows:
        if "viewcore_error" in r:
            L.append(f"- viewcore `histogram` on {r['core']} {r['config']}: {r['viewcore_error']}")
    L.append("")
    L.append("| core | config | objects: dump / memdbg | live objects: runtime / memdbg / viewcore | "
             "live bytes: runtime / memdbg / viewcore | typed % memdbg / viewcore | "
             "wrong type memdbg / viewcore (of checked) | goroutines: runtime (all) / memdbg (all) / viewcore | "
             "histogram s memdbg / viewcore |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        vcg = f"{r['viewcore_goroutines']}"
        if "viewcore_error" in r:
            vcl = vcb = vct = vcw = "panics"
        else:
            vcl, vcb = f"{r['viewcore_live_objects']:,}", f"{r['viewcore_live_bytes']:,}"
            vct, vcw = f"{r['viewcore_typed_pct']}", f"{r['viewcore_wrong']:,} ({r['viewcore_checked']:,})"
        L.append(f"| {r['core']} | {r['config']} | {r['dump_objects']:,} / {r['memdbg_objects']:,} | "
                 f"{r['dump_live_objects']:,} / {r['memdbg_live_objects']:,} / {vcl} | "
                 f"{r['dump_live_bytes']:,} / {r['memdbg_live_bytes']:,} / {vcb} | "
                 f"{r['memdbg_typed_pct']} / {vct} | {r['memdbg_wrong']:,} ({r['memdbg_checked']:,}) / {vcw} | "
                 f"{r['num_goroutine']} ({r['dump_goroutines']}) / {r['memdbg_goroutines']} "
                 f"({r['memdbg_goroutines_all']}) / {vcg} | "
                 f"{r['memdbg_hist_s']:.2f} / {r.get('viewcore_hist_s', 0):.2f} |")
    L.append("")
    L.append("Wrong types, the three most frequent per tool:")
    L.append("")
    for r in rows:
        L.append(f"- {r['core']} {r['config']}: memdbg {r['memdbg_wrong_types']}; "
                 f"viewcore {r.get('viewcore_wrong_types', '-')}")
    L.append("")
    L.append("| program | config | HeapAlloc | typed % | wrong types | findings | dead-slot roots (of stack roots) | "
             "core MB (on disk) | build s | core s |")
    L.append("|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        if "findings" not in r:
            continue
        fired = ", ".join(f"{k} {v}" for k, v in r["findings"].items()) or "none"
        L.append(f"| {r['core']} | {r['config']} | {r['heap_alloc']:,} | {r['memdbg_typed_pct']} | "
                 f"{r['memdbg_wrong']:,} | {fired} | {r['dead_roots']} ({r['stack_roots']:,}) | "
                 f"{r['core_bytes'] / 1e6:.0f} ({r['core_disk'] / 1e6:.0f}) | "
                 f"{r['build_s'] if r['build_s'] is not None else '-'} | {r['core_s']:.1f} |")
    L.append("")
    L.append("| core | config | object | memdbg who-holds: hops, check | viewcore reachable: hops, check |")
    L.append("|---|---|---|---|---|")
    for r in rows:
        for p in r.get("paths", []):
            L.append(f"| {r['core']} | {r['config']} | {p['addr']} {p['type']} | {p['memdbg']['hops']}, "
                     f"{p['memdbg']['check']} | {p['viewcore']['hops']}, {p['viewcore']['check']} |")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="go1.22.12,go1.24.13,go1.26.8")
    ap.add_argument("--cores", default="goobjects,goholds," + ",".join(corpus.PROGRAMS))
    ap.add_argument("--viewcore", type=Path, default=None, help="default: as setup/bench.py finds it")
    ap.add_argument("--addresses", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "viewcore" / "report.md")
    a = ap.parse_args()
    vc, why, _, _ = bench.find_viewcore(str(a.viewcore) if a.viewcore else None)
    if vc is None:
        sys.exit(f"viewcore_compare: viewcore {why}")
    a.viewcore = Path(vc)
    rows = []
    for cfg in a.configs.split(","):
        for name in a.cores.split(","):
            print(f"viewcore_compare: {name} {cfg}", file=sys.stderr)
            try:
                rows.append(measure(get_core(name, cfg), a.viewcore, a.addresses))
            except (corpus.TooOld, samples.ToolchainUnavailable) as e:
                print(f"viewcore_compare: skipped: {e}", file=sys.stderr)
    text = report(rows, a.viewcore)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    a.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
