"""The `scale` suite of setup/bench.py (issue 13): threads, memory and growth.

For each core it measures, in one run and interleaved:

  memdbg histogram, who-holds A1 (everything built, one query), who-holds A1..An in
  one process (per query = (T(n) - T(1)) / (n - 1)), top-retainers and triage, each
  at every --jobs of --jobs-list; viewcore histogram and reachable A1 on the same core.

Each run is sampled every 5 ms from /proc/PID/status: the peaks of RssAnon (what
memdbg itself allocated), RssFile (pages of the mapped core: page cache, shared and
dropped first under pressure) and VmRSS (both); CPU time (user + system) comes from
wait4.  Wall time is the median of --runs rounds; CPU time is what to compare on a
loaded machine.

--growth N1,N2,...: the same on bigheap cores of N objects each (the heap scales
with --heap / --objects), one table per size and a per-object summary; viewcore
runs on the --objects core only.

--cgroup-limit BYTES (or `auto`: half the core's size): runs triage once unlimited,
drops the core's pages from the page cache (posix_fadvise), then runs it again in a
memory cgroup (v2 memory.max or v1 memory.limit_in_bytes) with that limit, and
compares the two outputs byte for byte; the cgroup's peak usage and how often it hit
the limit say that the core was read through the page cache under pressure.
"""

import json
import os
import sys
import statistics
import subprocess
import time
from pathlib import Path

SAMPLE_EVERY = 0.005
STATUS_KEYS = ("RssAnon", "RssFile", "VmRSS")


def parse_bytes(s):
    """bigheap's -heap syntax: a number with an optional K, M or G (binary)."""
    s = s.strip().upper()
    mul = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    return int(float(s[:-1] if mul > 1 else s) * mul)


def sampled_run(argv, out_path, timeout=None, preexec_fn=None):
    """Run argv with stdout to out_path; the peaks of /proc/PID/status and wait4's CPU time."""
    t0 = time.perf_counter()
    with open(out_path, "w") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             preexec_fn=preexec_fn)
    peak = dict.fromkeys(STATUS_KEYS, 0)
    status = f"/proc/{p.pid}/status"
    deadline = t0 + timeout if timeout else None
    ru = None
    while ru is None:
        try:
            with open(status) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in peak:
                        peak[k] = max(peak[k], int(v.split()[0]) * 1024)
        except (OSError, ValueError, IndexError):
            pass
        pid, st, r = os.wait4(p.pid, os.WNOHANG)
        if pid:
            ru, rc = r, os.waitstatus_to_exitcode(st)
            break
        if deadline and time.perf_counter() > deadline:
            p.kill()
        time.sleep(SAMPLE_EVERY)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    ok = rc == 0 and "memdbg:" not in err and "panic" not in err
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
            "anon": peak["RssAnon"], "file": peak["RssFile"], "rss": peak["VmRSS"], "maxrss": ru.ru_maxrss * 1024,
            "rc": rc, "ok": ok, "out_bytes": os.path.getsize(out_path), "stderr_tail": err[-600:]}


def measure(jobs, runs, tmp, timeout):
    """jobs: {key: argv}; one warm-up each, then `runs` interleaved rounds; medians."""
    raw = {k: [] for k in jobs}
    for rnd in range(runs + 1):
        for k, argv in jobs.items():
            if raw[k] and not raw[k][-1]["ok"]:
                continue
            print(f"bench: scale: {'warm-up' if rnd == 0 else f'round {rnd}/{runs}'}: {k}", flush=True,
                  file=sys.stderr)
            r = sampled_run(argv, tmp / "out.txt", timeout)
            if rnd or not r["ok"]:
                raw[k].append(r)
    res = {}
    for k, rs in raw.items():
        res[k] = {f: statistics.median(r[f] for r in rs) for f in ("wall", "cpu", "anon", "file", "rss")}
        res[k].update(wall_min=min(r["wall"] for r in rs), cpu_min=min(r["cpu"] for r in rs),
                      ok=all(r["ok"] for r in rs), out_bytes=rs[-1]["out_bytes"],
                      stderr_tail=rs[-1]["stderr_tail"], walls=[r["wall"] for r in rs])
    return res


def index_size(b, exe, core):
    p = b.run(b.cli(exe, core, ["top-retainers -n 1"], True))
    return json.loads(p.stdout)["index"] if p.returncode == 0 else {}


def measure_core(b, exe, core, jobs_list, runs, nq, vc, timeout, tmp):
    """One core: the memdbg commands at each --jobs, and viewcore."""
    picks = b.pick_addresses(exe, core, nq)
    addrs = [a for a, why in picks if "deep" not in why]  # paths of 10^5 hops measure printing
    jobs = {}
    for j in jobs_list:
        o = f" --jobs {j}"
        jobs[f"histogram j{j}"] = b.cli(exe, core, ["histogram" + o], True)
        jobs[f"who-holds x1 j{j}"] = b.cli(exe, core, [f"who-holds {addrs[0]}{o}"])
        jobs[f"who-holds x{len(addrs)} j{j}"] = b.cli(exe, core, [f"who-holds {a}{o}" for a in addrs])
        jobs[f"top-retainers j{j}"] = b.cli(exe, core, ["top-retainers" + o], True)
        jobs[f"triage j{j}"] = b.cli(exe, core, ["triage" + o], True)
    if vc:
        jobs["viewcore histogram"] = b.vc_argv(vc, exe, core, "histogram")
        jobs["viewcore reachable x1"] = b.vc_argv(vc, exe, core, f"reachable {addrs[0][2:]}")
    res = measure(jobs, runs, tmp, timeout)
    return {"results": res, "addresses": addrs, "index": index_size(b, exe, core),
            "core_bytes": Path(core).stat().st_size}


def derived(m, jobs_list):
    """Per-query cost, speed-ups and ratios to viewcore, per --jobs."""
    R, n = m["results"], len(m["addresses"])
    d = {}
    idx = m.get("index") or {}
    nodes, edges = idx.get("nodes", 0), idx.get("edges", 0)
    for j in jobs_list:
        w1, wn = R.get(f"who-holds x1 j{j}"), R.get(f"who-holds x{n} j{j}")
        if w1 and wn and n > 1:
            d[f"per_query j{j}"] = (wn["wall"] - w1["wall"]) / (n - 1)
            d[f"per_query_cpu j{j}"] = (wn["cpu"] - w1["cpu"]) / (n - 1)
        t = R.get(f"triage j{j}")
        if t and nodes:
            d[f"triage_anon_per_object j{j}"] = t["anon"] / nodes
            d[f"triage_anon_vs_budget j{j}"] = t["anon"] / (24 * nodes + 4 * edges)
    vh, vr = R.get("viewcore histogram"), R.get("viewcore reachable x1")
    for j in jobs_list:
        h, w = R.get(f"histogram j{j}"), R.get(f"who-holds x1 j{j}")
        if vh and vh["ok"] and h:
            d[f"histogram_speedup j{j}"] = vh["wall"] / h["wall"]
            d[f"histogram_speedup_cpu j{j}"] = vh["cpu"] / h["cpu"]
            d[f"histogram_rss_ratio j{j}"] = h["rss"] / vh["rss"]
            d[f"histogram_anon_ratio j{j}"] = h["anon"] / vh["anon"] if vh["anon"] else None
        if vr and vr["ok"] and w:
            d[f"who_holds_speedup j{j}"] = vr["wall"] / w["wall"]
            d[f"who_holds_speedup_cpu j{j}"] = vr["cpu"] / w["cpu"]
    return d


def mib(x):
    return f"{x / (1 << 20):,.0f}"


def table(m, jobs_list):
    R = m["results"]
    idx = m.get("index") or {}
    L = [f"core {m['core_bytes']:,} B; index {idx.get('nodes', 0):,} nodes, {idx.get('edges', 0):,} edges; "
         f"who-holds on {len(m['addresses'])} addresses",
         "",
         "| run | wall s median (min) | CPU s (user+sys) | peak RssAnon MiB | peak RssFile MiB | peak VmRSS MiB |",
         "|---|---:|---:|---:|---:|---:|"]
    for k, r in R.items():
        flag = "" if r["ok"] else f" (FAILED: {(r['stderr_tail'].strip().splitlines() or ['?'])[-1][:100]})"
        L.append(f"| {k}{flag} | {r['wall']:.2f} ({r['wall_min']:.2f}) | {r['cpu']:.2f} | {mib(r['anon'])} | "
                 f"{mib(r['file'])} | {mib(r['rss'])} |")
    d = derived(m, jobs_list)
    L += ["", "Derived: " + ", ".join(f"{k} {v:.3g}" for k, v in d.items() if v is not None)]
    return "\n".join(L) + "\n", d


# ---------------------------------------------------------------- triage under a memory limit

def make_cgroup(limit, prefix="memdbg-bench"):
    """A memory cgroup with that limit and no swap (v2 memory.max, else v1 memory.limit_in_bytes):
    (dir, peak file, limit-hits file).  OSError when there is none to make."""
    name = f"{prefix}-{os.getpid()}"
    v2 = Path("/sys/fs/cgroup")
    if (v2 / "cgroup.controllers").exists() and "memory" in (v2 / "cgroup.subtree_control").read_text():
        d = v2 / name
        d.mkdir()
        (d / "memory.max").write_text(str(limit))
        if (d / "memory.swap.max").exists():
            (d / "memory.swap.max").write_text("0")
        return d, d / "memory.peak", d / "memory.events"
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "memory.limit_in_bytes").exists():
        d = v1 / name
        d.mkdir()
        (d / "memory.limit_in_bytes").write_text(str(limit))
        return d, d / "memory.max_usage_in_bytes", d / "memory.failcnt"
    raise OSError("no memory cgroup (v2 with the memory controller, or v1)")


def limit_hits(text):
    """How often the cgroup reached its limit: v1 memory.failcnt, or the `max` line of v2 memory.events."""
    for line in text.splitlines():
        k, _, v = line.rpartition(" ")
        if k in ("", "max"):
            return int(v)
    return None


def drop_from_page_cache(path):
    """Evict one file's clean pages, so that a cgroup is charged for reading it again."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def remove_cgroup(d):
    for _ in range(50):
        try:
            d.rmdir()
            return
        except OSError:
            time.sleep(0.1)


def triage_under_limit(b, exe, core, limit, tmp, timeout, cmd="triage"):
    """Triage unlimited, then in a cgroup of `limit` bytes: same output?  Raises OSError without cgroups."""
    argv = b.cli(exe, core, [cmd], True)
    free_run = sampled_run(argv, tmp / "free.json", timeout)
    d, peak_file, fail_file = make_cgroup(limit)
    try:
        drop_from_page_cache(core)
        procs = d / "cgroup.procs"
        limited = sampled_run(argv, tmp / "limited.json", timeout, preexec_fn=lambda: procs.write_text("0"))
        peak = int(peak_file.read_text().split()[0]) if peak_file.exists() else None
        fails = limit_hits(fail_file.read_text())
    finally:
        remove_cgroup(d)
    same = (tmp / "free.json").read_bytes() == (tmp / "limited.json").read_bytes()
    return {"limit": limit, "core_bytes": Path(core).stat().st_size, "free": free_run, "limited": limited,
            "cgroup_peak": peak, "cgroup_fails": fails, "same_output": same and limited["ok"]}


def limit_report(r):
    f, l = r["free"], r["limited"]
    return "\n".join([
        f"triage under a memory cgroup of {r['limit']:,} B ({r['limit'] / r['core_bytes']:.2f} of the "
        f"{r['core_bytes']:,} B core; core dropped from the page cache first):",
        "",
        "| run | wall s | CPU s | peak RssAnon MiB | peak RssFile MiB | cgroup peak MiB | limit hits | output |",
        "|---|---:|---:|---:|---:|---:|---|---|",
        f"| no limit | {f['wall']:.2f} | {f['cpu']:.2f} | {mib(f['anon'])} | {mib(f['file'])} | — | — | "
        f"{f['out_bytes']:,} B |",
        f"| limited | {l['wall']:.2f} | {l['cpu']:.2f} | {mib(l['anon'])} | {mib(l['file'])} | "
        f"{mib(r['cgroup_peak']) if r['cgroup_peak'] else '?'} | {r['cgroup_fails']} | "
        f"{l['out_bytes']:,} B, {'the same' if r['same_output'] else 'DIFFERENT or failed: ' + l['stderr_tail'][-200:]} |",
    ]) + "\n"


# ---------------------------------------------------------------- the suite

def run_suite(b, a, exe, core, info, vc, tmp):
    """Called by bench.main for --suites scale; returns (report text, raw dict)."""
    jobs_list = [int(x) for x in a.jobs_list.split(",") if x.strip()]
    out, raw = [], {"jobs": jobs_list}
    sizes = [int(x) for x in a.growth.split(",") if x.strip()] if a.growth else []
    heap_per_object = parse_bytes(a.heap) / a.objects
    cores = [(a.objects, exe, core, info)]
    for n in sizes:
        if n != a.objects:
            e, c, i, _ = b.make_core(str(int(heap_per_object * n)), n, False)
            cores.append((n, e, c, i))
    cores.sort(key=lambda x: x[0])
    growth = []
    for n, e, c, i in cores:
        if sizes and n not in sizes and n != a.objects:
            continue
        print(f"bench: scale: {n:,} objects ({c})", file=sys.stderr)
        # viewcore on the main core only (at 30M objects it would need ~6 GiB)
        m = measure_core(b, e, c, jobs_list, a.runs, a.queries, vc if n == a.objects else None, a.timeout, tmp)
        text, d = table(m, jobs_list)
        out.append(f"### {n:,} objects (bigheap `-objects {n}`, HeapObjects {i.get('heap_objects', 0):,})\n\n{text}")
        growth.append({"objects": n, "heap_objects": i.get("heap_objects"), "measure": m, "derived": d})
    raw["cores"] = growth
    if len(growth) > 1:
        out.append(growth_table(growth, jobs_list))
    if a.cgroup_limit:
        limit = int(Path(core).stat().st_size // 2) if a.cgroup_limit == "auto" else parse_bytes(a.cgroup_limit)
        try:
            r = triage_under_limit(b, exe, core, limit, tmp, a.timeout)
            raw["cgroup"] = r
            out.append(limit_report(r))
        except OSError as e:
            out.append(f"triage under a memory limit: not measured ({e})\n")
    return "\n".join(out), raw


def growth_table(growth, jobs_list):
    j = max(jobs_list)
    L = [f"### Growth (--jobs {j}; per object = per live object of the index)", "",
         "Wall seconds (CPU seconds, user + system: the figure to compare on a loaded machine).", "",
         "| objects (index nodes) | histogram s | CPU µs/object | who-holds first s | top-retainers s | triage s | "
         "triage CPU µs/object | triage RssAnon MiB | RssAnon B/object |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for g in growth:
        R = g["measure"]["results"]
        nodes = (g["measure"].get("index") or {}).get("nodes") or g["objects"]
        h, w, t, tr = (R.get(f"{k} j{j}") for k in ("histogram", "who-holds x1", "top-retainers", "triage"))
        if not (h and w and t and tr):
            continue
        L.append(f"| {g['objects']:,} ({nodes:,}) | {h['wall']:.2f} ({h['cpu']:.2f}) | {1e6 * h['cpu'] / nodes:.2f} | "
                 f"{w['wall']:.2f} ({w['cpu']:.2f}) | {t['wall']:.2f} ({t['cpu']:.2f}) | {tr['wall']:.2f} ({tr['cpu']:.2f}) | "
                 f"{1e6 * tr['cpu'] / nodes:.2f} | {mib(tr['anon'])} | {tr['anon'] / nodes:.1f} |")
    return "\n".join(L) + "\n"
