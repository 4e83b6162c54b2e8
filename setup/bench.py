#!/usr/bin/env python3
"""memdbg benchmark: wall time and peak RSS of commands on a big Go heap core.

    python3 setup/bench.py [--heap 1.2G] [--objects 10000000] [--runs 3]
                           [--suites spans,histogram,graph] [--viewcore PATH]
                           [--commands mspan-walk,memstats,go-info] [--fronts cli,gdb,lldb]
                           [--queries 20] [--remake-core] [--out FILE.md]

Suites (--suites, comma-separated; default all three):

  spans      the commands of --commands in each front end of --fronts (below)
  histogram  CLI `histogram` vs viewcore `histogram`: wall, peak RSS, typed share
             (memdbg's totals.typed_pct vs viewcore's bytes outside `unk*` rows)
  graph      the object graph: the first `who-holds ADDR` (objects, types, mark,
             reverse index, dominator tree, one query), then --queries who-holds /
             retained in one process (per query = (T(N) - T(1)) / (N - 1)), peak RSS
             vs `histogram` alone, bytes per node and edge (top-retainers --json
             "index"), and viewcore `reachable ADDR` for the same addresses (one
             process per query: viewcore rebuilds everything each start)

  scale      (not in the default) issue 13: histogram, who-holds (first and per query),
             top-retainers and triage at each --jobs of --jobs-list with CPU time and the
             peaks of RssAnon / RssFile / VmRSS, viewcore beside them; --growth N1,N2,...
             repeats it on cores of N objects; --cgroup-limit BYTES|auto runs triage in a
             memory cgroup below the core's size and compares its output (setup/bench_scale.py)

viewcore is looked for at --viewcore, then $MEMDBG_VIEWCORE, shared/tools/viewcore
beside the checkout, PATH and $(go env GOPATH)/bin; without it the viewcore rows say so
and the rest is measured.

Builds samples/bigheap with the machine's Go (GOTOOLCHAIN=local), makes one
kernel core of it (cached under build/bench/<key>/, keyed by the sample's
source, the Go version and the heap parameters), then for each command runs
it under /usr/bin/time -f '%e %M' (peak RSS from there; wall time from
this script's own monotonic clock around it, for millisecond resolution) in:

  cli   build/memdbg core CORE --exe EXE -c CMD   (baseline: no -c, stdin /dev/null:
        open the core, read EOF, exit)
  gdb   gdb -nx -batch -ex 'source gdb/memdbg.py' EXE CORE -ex CMD
  lldb  lldb-16 -b -o 'target create EXE --core CORE' -o 'command script import lldb/memdbg.py' -o CMD

For each front end the baseline (the same invocation without the command:
load exe and core, source the script) is measured too; the command's own
cost is total - baseline. Every measurement is one untimed warm-up (page
cache) and then --runs timed runs; the median is reported. Output goes to a
file, whose size is reported as a sanity check (the three front ends print
the same bytes; gdb and lldb add their own lines around them).

MEMDBG_BIN=PATH times that memdbg binary instead of build/memdbg (e.g. a
snapshot, when build/ is being rebuilt while the benchmark runs).

Prints a Markdown report (machine, core, table) on stdout and writes it to
build/bench/report.md (or --out); raw numbers go to results.json and objects.json beside it.
Speed is measured here, not asserted.
"""

import argparse
import glob
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "bigheap"
BENCH = REPO / "build" / "bench"
BUILD = REPO / os.environ.get("MEMDBG_BUILD", "build")
MEMDBG = Path(os.environ["MEMDBG_BIN"]).resolve() if os.environ.get("MEMDBG_BIN") else BUILD / "memdbg"
GDB_SCRIPT = REPO / "gdb" / "memdbg.py"
LLDB_SCRIPT = REPO / "lldb" / "memdbg.py"
TIME = "/usr/bin/time"
FRONTS = ("cli", "gdb", "lldb")
SUITES = ("spans", "histogram", "graph")
EXTRA_SUITES = ("scale",)  # not run by default: see setup/bench_scale.py


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def go_env():
    env = dict(os.environ)
    for k in ("GOEXPERIMENT", "GOFLAGS", "GOOS", "GOARCH", "GO111MODULE"):
        env.pop(k, None)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOWORK="off")
    return env


# ------------------------------------------------------------------ the core

def core_key(go_version, heap, objects):
    h = hashlib.sha256(f"bench 1\n{go_version}\nheap {heap}\nobjects {objects}\n".encode())
    for p in sorted(SAMPLE.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(SAMPLE)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def core_glob(cwd, pid, comm):
    """Where the kernel writes the core of pid, as a glob (file core_patterns only)."""
    pat = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pat.startswith("|"):
        die(f"kernel.core_pattern is a pipe ({pat!r}); run setup/install.sh (sets it to 'core')")
    out, i, has_pid = "", 0, False
    while i < len(pat):
        if pat[i] == "%" and i + 1 < len(pat):
            s = pat[i + 1]
            i += 2
            if s in "pP":
                out += str(pid)
                has_pid = True
            elif s == "e":
                out += comm
            elif s == "%":
                out += "%"
            else:
                out += "*"
            continue
        out += glob.escape(pat[i])
        i += 1
    if not has_pid and Path("/proc/sys/kernel/core_uses_pid").read_text().strip() == "1":
        out += f".{pid}"
    return out if out.startswith("/") else str(Path(cwd) / out)


def make_core(heap, objects, remake):
    if shutil.which("go") is None:
        die("no `go` on PATH")
    go_version = run(["go", "env", "GOVERSION"], env=go_env(), cwd=SAMPLE).stdout.strip()
    d = BENCH / core_key(go_version, heap, objects)
    exe, core, info = d / "bigheap", d / "core", d / "bigheap.json"
    if (d / "done").exists() and not remake:
        return exe, core, dict(json.loads(info.read_text()), made_in=(d / "done").read_text().strip()), go_version
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    print(f"bench: building bigheap with {go_version}", file=sys.stderr)
    p = run(["go", "build", "-o", str(exe), "."], cwd=SAMPLE, env=go_env())
    if p.returncode:
        die(f"go build failed:\n{p.stdout}{p.stderr}")
    print(f"bench: making the core (heap {heap}, {objects} objects) in {d}", file=sys.stderr)
    env = dict(os.environ)
    for k in ("GODEBUG", "GOGC", "GOMEMLIMIT", "GOMAXPROCS"):
        env.pop(k, None)
    env["GOTRACEBACK"] = "crash"
    t0 = time.monotonic()
    with open(d / "stdout.txt", "w") as out, open(d / "stderr.txt", "w") as err:
        proc = subprocess.Popen(
            [str(exe), "-heap", str(heap), "-objects", str(objects), "-mode", "crash"],
            cwd=d, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2))
        rc = proc.wait(900)
    if rc != -signal.SIGABRT:
        die(f"bigheap exited with {rc}, expected SIGABRT; see {d}/stderr.txt")
    found = sorted(glob.glob(core_glob(d, proc.pid, exe.name[:15])), key=os.path.getmtime)
    if not found:
        die(f"no core found for pid {proc.pid} (core_pattern, RLIMIT_CORE?)")
    shutil.move(found[-1], core)
    info.write_text((d / "stdout.txt").read_text().strip().splitlines()[-1] + "\n")
    (d / "done").write_text(f"{time.monotonic() - t0:.1f}s\n")
    return exe, core, dict(json.loads(info.read_text()), made_in=(d / "done").read_text().strip()), go_version


# ------------------------------------------------------------------ measuring

def argv(front, exe, core, cmd):
    """The command line; cmd None = the baseline (no command)."""
    if front == "cli":
        return [str(MEMDBG), "core", str(core), "--exe", str(exe)] + (["-c", cmd] if cmd else [])
    if front == "gdb":
        a = ["gdb", "-nx", "-batch", "-ex", f"source {GDB_SCRIPT}", str(exe), str(core)]
        return a + (["-ex", cmd] if cmd else [])
    a = ["lldb-16", "-b", "-o", f"target create {exe} --core {core}",
         "-o", f"command script import {LLDB_SCRIPT}"]
    return a + (["-o", cmd] if cmd else [])


def measure_once(args, tmp, timeout=None):
    tf, of = tmp / "time.txt", tmp / "out.txt"
    with open(of, "w") as out:
        t0 = time.perf_counter()
        try:
            p = subprocess.run([TIME, "-f", "%e %M", "-o", str(tf)] + args, timeout=timeout,
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, text=True)
        except subprocess.TimeoutExpired:
            return time.perf_counter() - t0, 0, of.stat().st_size, False, f"timed out after {timeout} s"
        wall = time.perf_counter() - t0
    _, rss = tf.read_text().strip().splitlines()[-1].split()
    err = p.stderr
    ok = p.returncode == 0 and "memdbg:" not in err and "Traceback" not in err
    if "memdbg:" in of.read_text(errors="replace")[-4000:]:
        ok = False
    if not ok and p.returncode:
        err += f"\n(exit status {p.returncode})"
    return wall, int(rss), of.stat().st_size, ok, err


def measure_all(jobs, runs, tmp, timeout=None, keep=None):
    """jobs: {key: argv}. One warm-up of each, then `runs` rounds, each running
    every job once (interleaved, so a burst of load elsewhere spreads over all
    of them rather than hitting one). A job that fails or times out in the
    warm-up is not run again (its result says so). keep: {key: path} to copy
    the last run's output to (for parsing)."""
    raw = {k: [] for k in jobs}
    for k, args in jobs.items():
        print(f"bench: warm-up: {k[0]} {k[1] or '(baseline)'}", file=sys.stderr)
        r = measure_once(args, tmp, timeout)   # warm-up: page cache, Python bytecode
        if not r[3]:
            raw[k].append(r)
        elif keep and k in keep:
            shutil.copy(tmp / "out.txt", keep[k])
    for i in range(runs):
        for k, args in jobs.items():
            if raw[k] and not raw[k][-1][3]:
                continue
            print(f"bench: round {i + 1}/{runs}: {k[0]} {k[1] or '(baseline)'}", file=sys.stderr)
            raw[k].append(measure_once(args, tmp, timeout))
            if keep and k in keep:
                shutil.copy(tmp / "out.txt", keep[k])
    res = {}
    for k, rs in raw.items():
        walls = [r[0] for r in rs]
        rsss = [r[1] for r in rs]
        res[k] = {"argv": jobs[k], "walls": walls, "rss_kb": rsss, "wall": statistics.median(walls),
                  "wall_min": min(walls), "rss": statistics.median(rsss), "out_bytes": rs[-1][2],
                  "ok": all(r[3] for r in rs), "stderr_tail": rs[-1][4][-600:]}
    return res


# ------------------------------------------------------------------ report

def sh(cmd):
    try:
        return run(cmd, shell=True).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
    deb = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    return {
        "nproc": os.cpu_count(), "ram": mem, "cpu": cpu, "kernel": platform.release(), "debian": deb,
        "date": sh("date -u"), "gdb": sh("gdb --version | head -1"),
        "lldb": sh("lldb-16 --version | head -1"), "python": platform.python_version(),
        "memdbg": sh(f"{MEMDBG} --version"),
    }


def gib(n):
    return f"{n / (1 << 30):.2f} GiB"


def core_facts(exe, core):
    def cli_json(cmd):
        p = run([str(MEMDBG), "core", str(core), "--exe", str(exe), "-c", cmd, "--json"])
        if p.returncode:
            die(f"memdbg {cmd} failed: {p.stderr}")
        return json.loads(p.stdout)
    walk = cli_json("mspan-walk --limit 0")["totals"]
    st = core.stat()
    return {"core_bytes": st.st_size, "core_disk": st.st_blocks * 512, "spans": walk}


def fmt_s(x):
    return f"{x:.3f}"


def report(m, go_version, heap, objects, info, facts, results, runs, cmds, fronts):
    L = []
    L.append(f"- machine: {m['nproc']} CPUs ({m['cpu']}), {gib(m['ram'])} RAM, "
             f"Linux {m['kernel']}, Debian {m['debian']}")
    L.append(f"- date: {m['date']}")
    L.append(f"- Go: {go_version}; {m['gdb']}; {m['lldb']}; Python {m['python']}; {m['memdbg']}")
    t = facts["spans"]
    L.append(f"- core: {facts['core_bytes']:,} bytes ({gib(facts['core_bytes'])}; "
             f"{gib(facts['core_disk'])} on disk), kernel core (GOTRACEBACK=crash, SIGABRT)")
    L.append(f"- bigheap `-heap {heap} -objects {objects}`: HeapAlloc {info['heap_alloc']:,} B "
             f"({gib(info['heap_alloc'])}), HeapInuse {info['heap_inuse']:,} B, "
             f"HeapObjects {info['heap_objects']:,} (runtime's figures)")
    L.append(f"- `mspan-walk --limit 0 --json` totals: {t['spans']:,} in-use spans, {t['pages']:,} pages, "
             f"{t['bytes']:,} bytes, {t['slots']:,} slots, {t['allocated']:,} objects allocated")
    L.append(f"- load average (1, 5, 15 min): {m['load']}")
    L.append(f"- {runs} timed rounds after one warm-up of each (page cache hot), interleaved; "
             "median (and minimum) wall seconds, median peak RSS MiB; "
             "command = total - the same front end's baseline (open exe and core, load the script, no command)")
    L.append("")
    if fronts:
        L.append("")
        L.append("| command | front end | total wall s (min) | baseline wall s (min) | command wall s | command vs CLI's | "
                 "peak RSS MiB | baseline RSS MiB | output bytes |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for cmd in cmds if fronts else []:
        cli = results.get(("cli", cmd))
        for front in fronts:
            r = results[(front, cmd)]
            base = results.get((front, None))
            own = r["wall"] - (base["wall"] if base else 0.0)
            cli_own = cli["wall"] - results[("cli", None)]["wall"] if cli and ("cli", None) in results else 0
            ratio = f"{own / cli_own:.2f}x" if cli_own >= 0.05 else "— (< 50 ms)"
            flag = "" if r["ok"] else " (FAILED)"
            L.append(f"| `{cmd}` | {front}{flag} | {fmt_s(r['wall'])} ({fmt_s(r['wall_min'])}) | "
                     f"{fmt_s(base['wall'])} ({fmt_s(base['wall_min'])}) | {fmt_s(own)} | {ratio} | "
                     f"{r['rss'] / 1024:.0f} | {base['rss'] / 1024 if base else 0:.0f} | {r['out_bytes']:,} |")
    L.append("")
    L.append("Time to make the core (build excluded): " + info.get("made_in", "?"))
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------ issues 3 and 4: objects and graph

def cli(exe, core, cmds, json_out=False):
    a = [str(MEMDBG), "core", str(core), "--exe", str(exe)]
    for c in cmds:
        a += ["-c", c]
    return a + (["--json"] if json_out else [])


def viewcore_candidates():
    """Where viewcore may be: $MEMDBG_VIEWCORE, shared/tools/viewcore beside the checkout
    or one of its parents (a git worktree sits deeper), PATH, $(go env GOPATH)/bin."""
    cands = [os.environ.get("MEMDBG_VIEWCORE")]
    cands += [str(d / "shared" / "tools" / "viewcore") for d in REPO.parents]
    cands.append(shutil.which("viewcore"))
    gp = run(["go", "env", "GOPATH"]).stdout.strip() if shutil.which("go") else ""
    if gp:
        cands.append(str(Path(gp.split(":")[0]) / "bin" / "viewcore"))
    return [c for c in cands if c]


def find_viewcore(path):
    """(path or None, why not, module version, Go version)."""
    cands = [path] if path else viewcore_candidates()
    for c in cands:
        if c and os.access(c, os.X_OK):
            v = run(["go", "version", "-m", c]).stdout if shutil.which("go") else ""
            mod = re.search(r"^\s*mod\s+(\S+)\s+(\S+)", v, re.M)
            gov = re.search(r":\s*(go\S+)", v)
            return c, "", f"{mod.group(1)} {mod.group(2)}" if mod else "?", gov.group(1) if gov else "?"
    return None, ("not found (looked at --viewcore, $MEMDBG_VIEWCORE, shared/tools/viewcore, PATH, "
                  "GOPATH/bin)"), "", ""


def vc_argv(vc, exe, core, cmd):
    """viewcore's command line; it takes addresses in hex without 0x."""
    return [vc, str(core), "--exe", str(exe)] + [re.sub(r"^0x", "", w) for w in cmd.split()]


def pick_addresses(exe, core, n):
    """n live objects of different shapes, chosen the same way on every run
    (they are reported): list heads' neighbours (from top-retainers), the
    pointer-free objects behind the []any index chunks, the mixed part's
    slices of each kind, large objects and index chunks."""
    p = run(cli(exe, core, ["histogram --top 400", "top-retainers -n 40"], True))
    if p.returncode:
        die(f"picking addresses: memdbg failed: {p.stderr[-600:]}")
    docs = [json.loads(line) for line in p.stdout.splitlines() if line.strip().startswith("{")]
    hist = next(d for d in docs if d.get("command") == "histogram")
    top = next(d for d in docs if d.get("command") == "top-retainers")
    picks = []   # (addr, why)
    seen = set()

    def add(addr, why):
        if addr not in seen and len(picks) < n:
            seen.add(addr)
            picks.append((addr, why))

    lists = [r for r in top["retainers"] if r["type"].startswith("main.obj") and r["retained_objects"] < 1_000_000]
    for r in lists[:2]:
        add(r["addr"], f"{r['type']} near its list's head")
    types = [t["type"] for t in hist["types"]]
    # the lowest-addressed nodes of two lists: deep in them (paths of thousands of hops)
    cmds = [f"objects --live --type main.{t} --limit 1" for t in ("obj64", "obj96") if f"main.{t}" in types]
    p = run(cli(exe, core, cmds, True))
    for line in p.stdout.splitlines():
        if line.strip().startswith("{"):
            for o in json.loads(line)["objects"]:
                add(o["addr"], f"{o['type']} deep in its list")
    wanted = ["main.raw64", "main.raw80", "main.raw96", "main.raw112", "main.raw128", "[2048]interface {}"]
    small = [t["type"] for t in hist["types"] if re.fullmatch(r"\[\d+\]\*?uint8", t["type"]) and t["count"] > 1
             and t["bytes"] // t["count"] <= 32768]
    large = [t["type"] for t in hist["types"] if re.fullmatch(r"\[\d+\]\*?uint8", t["type"])
             and t["bytes"] // t["count"] > 32768]
    wanted += small[:4:] + small[-2:] + large[:2]
    cmds = [f"objects --live --type {t} --limit 1000" for t in wanted if t in types]
    p = run(cli(exe, core, [shlex_quote(c) for c in cmds], True))
    if p.returncode:
        die(f"picking addresses: memdbg failed: {p.stderr[-600:]}")
    lists_of = [json.loads(line)["objects"] for line in p.stdout.splitlines() if line.strip().startswith("{")]
    for i in range(2):   # the 1000th (or last) of each type, then its first
        for objs in lists_of:
            objs = [o for o in objs if o["type"] in wanted]
            if objs:
                o = objs[-1] if i == 0 else objs[0]
                add(o["addr"], o["type"] + (" (index chunk)" if o["type"] == "[2048]interface {}" else ""))
    if len(picks) < 2:
        die(f"picking addresses: found only {len(picks)} of {n}")
    if len(picks) < n:  # the heap's shape (its types) changed: measure with what there is
        print(f"bench: picking addresses: found only {len(picks)} of {n}", file=sys.stderr)
    return picks


def shlex_quote(cmd):
    # memdbg splits -c like a shell line: quote a --type argument with spaces
    head, sep, t = cmd.partition("--type ")
    t, _, rest = t.partition(" --limit")
    return f"{head}{sep}'{t}' --limit{rest}" if sep else cmd


def viewcore_typed(text):
    """viewcore histogram rows: count size bytes type; share of bytes not in unk* rows."""
    tot = unk = 0
    rows = 0
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+(\d+)\s+(\d+)\s+(.+?)\s*$", line)
        if not m:
            continue
        b = int(m.group(3))
        rows += 1
        tot += b
        if m.group(4).startswith("unk"):
            unk += b
    return {"rows": rows, "bytes": tot, "unk_bytes": unk,
            "typed_pct": 100.0 * (tot - unk) / tot if tot else None}


def run_objects_suites(exe, core, suites, runs, nq, vc, timeout, tmp):
    """Measure the histogram and graph suites; returns a dict for the report."""
    out = {"queries": nq}
    keep = {}
    jobs = {("cli", "(open the core)"): cli(exe, core, [])}
    jobs[("cli", "histogram")] = cli(exe, core, ["histogram"], True)
    keep[("cli", "histogram")] = tmp / "memdbg-hist.json"
    if vc:
        jobs[("viewcore", "histogram")] = vc_argv(vc, exe, core, "histogram")
        keep[("viewcore", "histogram")] = tmp / "viewcore-hist.txt"
    if "graph" in suites:
        picks = pick_addresses(exe, core, nq)
        nq = out["queries"] = len(picks)
        out["addresses"] = picks
        addrs = [a for a, _ in picks]
        jobs[("cli", "who-holds x1")] = cli(exe, core, [f"who-holds {addrs[0]}"])
        jobs[("cli", f"who-holds x{nq}")] = cli(exe, core, [f"who-holds {a}" for a in addrs])
        # Without the objects deep in a list, whose paths run to ~10^5 hops and dominate the output.
        shallow = [a for a, why in picks if "deep" not in why]
        out["shallow"] = len(shallow)
        jobs[("cli", "who-holds shallow")] = cli(exe, core, [f"who-holds {a}" for a in shallow])
        jobs[("cli", "retained x1")] = cli(exe, core, [f"retained {addrs[0]}"])
        jobs[("cli", f"retained x{nq}")] = cli(exe, core, [f"retained {a}" for a in addrs])
        jobs[("cli", "top-retainers")] = cli(exe, core, ["top-retainers"], True)
        keep[("cli", "top-retainers")] = tmp / "top.json"
        keep[("cli", f"who-holds x{nq}")] = tmp / "who-holds.txt"
        if vc:
            jobs[("viewcore", "reachable x1")] = vc_argv(vc, exe, core, f"reachable {addrs[0]}")
            keep[("viewcore", "reachable x1")] = tmp / "reachable.txt"
    res = measure_all(jobs, runs, tmp, timeout, keep)
    out["results"] = {f"{k[0]}: {k[1]}": v for k, v in res.items()}
    if keep[("cli", "histogram")].exists():
        h = json.loads(keep[("cli", "histogram")].read_text())
        out["memdbg_hist"] = h["totals"]
    if vc and keep[("viewcore", "histogram")].exists():
        out["viewcore_hist"] = viewcore_typed(keep[("viewcore", "histogram")].read_text())
    if "graph" in suites:
        if keep[("cli", "top-retainers")].exists():
            out["index"] = json.loads(keep[("cli", "top-retainers")].read_text()).get("index")
        w = keep[("cli", f"who-holds x{nq}")]
        if w.exists():
            t = w.read_text(errors="replace")
            out["who_holds_paths"] = t.count("\npath ") + t.startswith("path ")
            out["who_holds_reachable"] = t.count("status                 reachable")
        r = keep.get(("viewcore", "reachable x1"))
        if r and r.exists():
            out["reachable_out"] = r.read_text(errors="replace")[:2000]
    return out


def objects_report(o, vc_info, suites):
    R = o["results"]
    L = []

    def row(name, key, note=""):
        r = R.get(key)
        if not r:
            return
        tail = (r["stderr_tail"].strip().splitlines() or ["?"])[-1]
        flag = "" if r["ok"] else f" (FAILED: {tail[:120]})"
        L.append(f"| {name}{flag} | {fmt_s(r['wall'])} ({fmt_s(r['wall_min'])}) | {r['rss'] / 1024:.0f} | "
                 f"{r['out_bytes']:,} | {note} |")

    vc, why, vcver, vcgo = vc_info
    L.append(f"- viewcore: {vcver + ' (built with ' + vcgo + ')' if vc else why}")
    L.append("")
    L.append("| run | wall s median (min) | peak RSS MiB | output bytes | note |")
    L.append("|---|---:|---:|---:|---|")
    row("memdbg: open the core, no command", "cli: (open the core)")
    mh = o.get("memdbg_hist") or {}
    row("memdbg `histogram --json`", "cli: histogram",
        f"typed_pct {mh.get('typed_pct')} of {mh.get('bytes', 0):,} B in {mh.get('objects', 0):,} live objects")
    if vc:
        vh = o.get("viewcore_hist") or {}
        tp = vh.get("typed_pct")
        row("viewcore `histogram`", "viewcore: histogram",
            f"bytes outside unk* rows: {tp:.1f}% of {vh.get('bytes', 0):,} B" if tp is not None else "")
    else:
        L.append("| viewcore `histogram` | — | — | — | not measured: " + why + " |")
    nq = o["queries"]
    if "graph" in suites:
        idx = o.get("index") or {}
        row("memdbg `who-holds A1` (objects + reverse index + dominator tree + 1 query)", "cli: who-holds x1")
        row(f"memdbg `who-holds A1` ... `A{nq}` in one process", f"cli: who-holds x{nq}",
            f"{o.get('who_holds_reachable', '?')} reachable, {o.get('who_holds_paths', '?')} paths printed")
        row(f"memdbg `who-holds` on the {o.get('shallow')} addresses not deep in a list, in one process",
            "cli: who-holds shallow")
        row("memdbg `retained A1`", "cli: retained x1")
        row(f"memdbg `retained A1` ... `A{nq}` in one process", f"cli: retained x{nq}")
        row("memdbg `top-retainers --json`", "cli: top-retainers",
            f"index: {idx.get('nodes', 0):,} nodes, {idx.get('edges', 0):,} edges, {idx.get('roots', 0)} roots")
        if vc:
            row("viewcore `reachable A1` (one process: loads the core and builds its own index)",
                "viewcore: reachable x1")
        else:
            L.append("| viewcore `reachable A1` | — | — | — | not measured: " + why + " |")
    return "\n".join(L) + "\n"


def objects_derived(o, suites):
    """The figures the aims are about."""
    R = o["results"]
    d = {}
    g = lambda k: R.get(k) if R.get(k) and R[k]["ok"] else None
    h, base = g("cli: histogram"), g("cli: (open the core)")
    if h:
        d["hist_wall"], d["hist_rss_mib"] = h["wall"], h["rss"] / 1024
        d["typed_pct"] = (o.get("memdbg_hist") or {}).get("typed_pct")
    v = g("viewcore: histogram")
    if h and v:
        d["hist_speedup"] = v["wall"] / h["wall"]
        d["hist_rss_ratio"] = h["rss"] / v["rss"]
        d["vc_typed_pct"] = (o.get("viewcore_hist") or {}).get("typed_pct")
    if "graph" not in suites:
        return d
    nq = o["queries"]
    w1, wn = g("cli: who-holds x1"), g(f"cli: who-holds x{nq}")
    r1, rn = g("cli: retained x1"), g(f"cli: retained x{nq}")
    if w1:
        d["first_who_holds"] = w1["wall"]
        d["graph_rss_mib"] = w1["rss"] / 1024
        if h:
            d["graph_build"] = w1["wall"] - h["wall"]
            d["graph_extra_bytes"] = (w1["rss"] - h["rss"]) * 1024
    if w1 and wn:
        d["who_holds_per_query"] = (wn["wall"] - w1["wall"]) / (nq - 1)
    ws = g("cli: who-holds shallow")
    if w1 and ws and o.get("shallow", 0) > 1:
        d["who_holds_per_shallow_query"] = (ws["wall"] - w1["wall"]) / (o["shallow"] - 1)
        d["who_holds_per_shallow_query_min"] = (ws["wall_min"] - w1["wall_min"]) / (o["shallow"] - 1)
    if r1 and rn:
        d["retained_per_query"] = (rn["wall"] - r1["wall"]) / (nq - 1)
    idx = o.get("index") or {}
    if idx.get("nodes") and "graph_extra_bytes" in d:
        n, e = idx["nodes"], idx["edges"]
        d["bytes_per_node_edge"] = d["graph_extra_bytes"] / (n + e)
        d["budget_bytes"] = 24 * n + 4 * e
    vr = g("viewcore: reachable x1")
    if vr and w1:
        d["reachable_wall"] = vr["wall"]
        d["reachable_rss_mib"] = vr["rss"] / 1024
        d["who_holds_speedup_first"] = vr["wall"] / w1["wall"]
        if "who_holds_per_query" in d and d["who_holds_per_query"] > 0:
            d["who_holds_speedup_per_query"] = vr["wall"] / d["who_holds_per_query"]
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heap", default="1.2G")
    ap.add_argument("--objects", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--suites", default=",".join(SUITES), help="spans, histogram, graph")
    ap.add_argument("--viewcore", default=None, help="viewcore binary (default: see above)")
    ap.add_argument("--queries", type=int, default=20, help="addresses for the graph suite")
    ap.add_argument("--timeout", type=float, default=600, help="seconds before one run is given up")
    ap.add_argument("--commands", default="mspan-walk,memstats,go-info")
    ap.add_argument("--fronts", default=",".join(FRONTS))
    ap.add_argument("--remake-core", action="store_true")
    ap.add_argument("--core-only", action="store_true", help="make the core, print its paths, stop")
    ap.add_argument("--out", type=Path, default=BENCH / "report.md")
    ap.add_argument("--jobs-list", default="1,2", help="scale: the --jobs values to measure")
    ap.add_argument("--growth", default="", help="scale: object counts for the growth curve, e.g. 1000000,3000000")
    ap.add_argument("--cgroup-limit", default="", help="scale: triage under a memory cgroup of BYTES (or auto)")
    a = ap.parse_args()
    cmds = [c.strip() for c in a.commands.split(",") if c.strip()]
    fronts = [f.strip() for f in a.fronts.split(",") if f.strip()]
    suites = [x.strip() for x in a.suites.split(",") if x.strip()]
    for x in suites:
        if x not in SUITES + EXTRA_SUITES:
            die(f"unknown suite {x!r}")
    if "graph" in suites and a.queries < 2:
        die("--queries must be at least 2")
    for f in fronts:
        if f not in FRONTS:
            die(f"unknown front end {f!r}")
    if not os.access(TIME, os.X_OK):
        die(f"{TIME} missing: apt-get install time")
    if not MEMDBG.exists():
        die(f"{MEMDBG} missing: run make")

    exe, core, info, go_version = make_core(a.heap, a.objects, a.remake_core)
    if a.core_only:
        print(exe, core)
        return
    facts = core_facts(exe, core)
    jobs = {}
    if "spans" in suites:
        for front in fronts:
            jobs[(front, None)] = argv(front, exe, core, None)
            for cmd in cmds:
                jobs[(front, cmd)] = argv(front, exe, core, cmd)
    vc_info = find_viewcore(a.viewcore) if {"histogram", "graph", "scale"} & set(suites) else (None, "", "", "")
    scale_text, scale_raw = "", None
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    objs = None
    with tempfile.TemporaryDirectory(prefix="memdbg-bench-") as td:
        results = measure_all(jobs, a.runs, Path(td)) if jobs else {}
        if {"histogram", "graph"} & set(suites):
            od = Path(td) / "objects"
            od.mkdir()
            objs = run_objects_suites(exe, core, suites, a.runs, a.queries, vc_info[0], a.timeout, od)
            objs["derived"] = objects_derived(objs, suites)
            a.out.parent.mkdir(parents=True, exist_ok=True)
            a.out.with_name("objects.json").write_text(json.dumps(objs, indent=1) + "\n")
            objs["viewcore"] = {"path": vc_info[0], "why_not": vc_info[1], "version": vc_info[2], "go": vc_info[3]}
        if "scale" in suites:
            import bench_scale
            sd = Path(td) / "scale"
            sd.mkdir()
            scale_text, scale_raw = bench_scale.run_suite(sys.modules[__name__], a, exe, core, info, vc_info[0], sd)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    for key, r in [(" ".join(map(str, k)), r) for k, r in results.items()] + \
            list((objs or {}).get("results", {}).items()):
        if not r["ok"]:
            print(f"bench: {key} failed:\n{r['stderr_tail']}", file=sys.stderr)
    m = machine()
    m["load"] = f"{' '.join(load_before)} before, {' '.join(load_after)} after"
    text = report(m, go_version, a.heap, a.objects, info, facts, results, a.runs, cmds,
                  fronts if "spans" in suites else [])
    if objs:
        text += "\n" + objects_report(objs, vc_info, suites)
        text += "\nDerived: " + json.dumps(objs["derived"], indent=1) + "\n"
        if objs.get("addresses"):
            text += "\nAddresses: " + ", ".join(f"{x} ({why})" for x, why in objs["addresses"]) + "\n"
    if scale_text:
        text += "\n## Scale (setup/bench_scale.py)\n\n" + scale_text
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    a.out.with_name("results.json").write_text(json.dumps({
        "machine": m, "go": go_version, "heap": a.heap, "objects": a.objects, "bigheap": info,
        "core": str(core), "exe": str(exe), "facts": facts,
        "results": [dict(front=f, command=c, **r) for (f, c), r in results.items()],
        "objects": objs, "scale": scale_raw,
    }, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
