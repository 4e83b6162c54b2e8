#!/usr/bin/env python3
"""memdbg benchmark: wall time and peak RSS of commands on a big Go heap core.

    python3 setup/bench.py [--heap 1.2G] [--objects 10000000] [--runs 3]
                           [--commands mspan-walk,memstats,go-info] [--fronts cli,gdb,lldb]
                           [--remake-core] [--out FILE.md]

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

Prints a Markdown report (machine, core, table) on stdout and writes it to
build/bench/report.md (or --out); raw numbers go to build/bench/results.json.
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
MEMDBG = BUILD / "memdbg"
GDB_SCRIPT = REPO / "gdb" / "memdbg.py"
LLDB_SCRIPT = REPO / "lldb" / "memdbg.py"
TIME = "/usr/bin/time"
FRONTS = ("cli", "gdb", "lldb")


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


def measure_once(args, tmp):
    tf, of = tmp / "time.txt", tmp / "out.txt"
    with open(of, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.run([TIME, "-f", "%e %M", "-o", str(tf)] + args,
                           stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
    _, rss = tf.read_text().strip().splitlines()[-1].split()
    err = p.stderr
    ok = p.returncode == 0 and "memdbg:" not in err and "Traceback" not in err
    if "memdbg:" in of.read_text(errors="replace")[-4000:]:
        ok = False
    return wall, int(rss), of.stat().st_size, ok, err


def measure_all(jobs, runs, tmp):
    """jobs: {key: argv}. One warm-up of each, then `runs` rounds, each running
    every job once (interleaved, so a burst of load elsewhere spreads over all
    of them rather than hitting one)."""
    for args in jobs.values():
        measure_once(args, tmp)   # warm-up: page cache, Python bytecode
    raw = {k: [] for k in jobs}
    for i in range(runs):
        for k, args in jobs.items():
            print(f"bench: round {i + 1}/{runs}: {k[0]} {k[1] or '(baseline)'}", file=sys.stderr)
            raw[k].append(measure_once(args, tmp))
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
    L.append("| command | front end | total wall s (min) | baseline wall s (min) | command wall s | command vs CLI's | "
             "peak RSS MiB | baseline RSS MiB | output bytes |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for cmd in cmds:
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heap", default="1.2G")
    ap.add_argument("--objects", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--commands", default="mspan-walk,memstats,go-info")
    ap.add_argument("--fronts", default=",".join(FRONTS))
    ap.add_argument("--remake-core", action="store_true")
    ap.add_argument("--core-only", action="store_true", help="make the core, print its paths, stop")
    ap.add_argument("--out", type=Path, default=BENCH / "report.md")
    a = ap.parse_args()
    cmds = [c.strip() for c in a.commands.split(",") if c.strip()]
    fronts = [f.strip() for f in a.fronts.split(",") if f.strip()]
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
    for front in fronts:
        jobs[(front, None)] = argv(front, exe, core, None)
        for cmd in cmds:
            jobs[(front, cmd)] = argv(front, exe, core, cmd)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory(prefix="memdbg-bench-") as td:
        results = measure_all(jobs, a.runs, Path(td))
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    for (front, cmd), r in results.items():
        if not r["ok"]:
            print(f"bench: {front} {cmd} failed:\n{r['stderr_tail']}", file=sys.stderr)
    m = machine()
    m["load"] = f"{' '.join(load_before)} before, {' '.join(load_after)} after"
    text = report(m, go_version, a.heap, a.objects, info, facts, results, a.runs, cmds, fronts)
    BENCH.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    (BENCH / "results.json").write_text(json.dumps({
        "machine": m, "go": go_version, "heap": a.heap, "objects": a.objects, "bigheap": info,
        "core": str(core), "exe": str(exe), "facts": facts,
        "results": [dict(front=f, command=c, **r) for (f, c), r in results.items()],
    }, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
