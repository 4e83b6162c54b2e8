#!/usr/bin/env python3
"""Benchmark memdbg on big jemalloc, TCMalloc and glibc malloc heaps: the full walk and find-refs.

Builds samples/jemalloc/jeheap.c, samples/tcmalloc/tcheap.cc and samples/glibc/glheap.c against
Debian's shared libraries, runs each with JEHEAP_BLOCKS / TCHEAP_BLOCKS / GLHEAP_BLOCKS=N (N small blocks of
16-256 bytes, each pointing to the one before, in four threads) until it aborts
into a kernel core (cached in build/bench-alloc/<allocator>-<N>/), then times
each command with /usr/bin/time (wall seconds and peak RSS), median of --runs:

    python3 setup/allocators/bench.py [--blocks 10000000] [--runs 3] [--only je|tc|gl] [--live]

--live also times the same commands on the live process (memdbg attach) stopped
right after it wrote its oracle.  Prints a markdown table.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
MEMDBG = Path(os.environ.get("MEMDBG_BUILD", REPO / "build")) / "memdbg"
OUT = REPO / "build" / "bench-alloc"

ALLOCATORS = {
    "je": dict(src="samples/jemalloc/jeheap.c", cc="gcc", libs=["-ljemalloc", "-lpthread"], env="JEHEAP_BLOCKS",
               walk=["je-stats", "je-bins", "je-extents --limit 0"], stats="je-stats"),
    "tc": dict(src="samples/tcmalloc/tcheap.cc", cc="g++", libs=["-ltcmalloc_minimal", "-lpthread"],
               env="TCHEAP_BLOCKS", walk=["tc-stats", "tc-classes", "tc-pageheap"], stats="tc-stats"),
    "gl": dict(src="samples/glibc/glheap.c", cc="gcc", libs=["-lpthread"], env="GLHEAP_BLOCKS",
               walk=["glibc-arenas", "glibc-bins", "glibc-chunks --limit 0"], stats="glibc-arenas"),
}


def unlimited_core():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def build(kind, d):
    a = ALLOCATORS[kind]
    exe = d / "exe"
    if not exe.exists():
        subprocess.run([a["cc"], "-O1", "-g", "-o", str(exe), str(REPO / a["src"]), *a["libs"]], check=True)
    return exe


def make_core(kind, blocks):
    d = OUT / f"{kind}-{blocks}"
    d.mkdir(parents=True, exist_ok=True)
    exe = build(kind, d)
    core = d / "core.kernel"
    if (d / "made").exists() and core.exists():
        return exe, core, json.loads((d / "oracle.json").read_text()), float((d / "made").read_text())
    for old in d.glob("core*"):
        old.unlink()
    env = dict(os.environ, MEMDBG_SAMPLE_MODE="crash", MEMDBG_ORACLE=str(d / "oracle.json"))
    env[ALLOCATORS[kind]["env"]] = str(blocks)
    t0 = time.monotonic()
    p = subprocess.run([str(exe)], cwd=d, env=env, preexec_fn=unlimited_core, capture_output=True)
    made = time.monotonic() - t0
    if p.returncode != -signal.SIGABRT:
        sys.exit(f"bench: {kind} sample exited with {p.returncode}: {p.stderr.decode()}")
    found = sorted(d.glob("core*"), key=os.path.getmtime)
    if not found:
        sys.exit(f"bench: no core in {d} (core_pattern must be 'core')")
    found[-1].rename(core)
    (d / "made").write_text(f"{made:.2f}\n")
    return exe, core, json.loads((d / "oracle.json").read_text()), made


def timed(argv):
    """Wall seconds and peak RSS (MiB) of one run; stdout size."""
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M", *argv], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, argv))} failed: {p.stderr}")
    wall, rss = p.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss) / 1024, len(p.stdout)


def measure(target, cmds, runs):
    rows = []
    for cmd in cmds:
        argv = [MEMDBG, *target] + [x for c in (cmd if isinstance(cmd, list) else [cmd]) for x in ("-c", c)]
        timed(argv)  # warm-up: the core in the page cache
        res = [timed(argv) for _ in range(runs)]
        rows.append((cmd, statistics.median(r[0] for r in res), statistics.median(r[1] for r in res), res[0][2]))
    return rows


def commands(kind, oracle):
    chain = oracle["chain"]
    many = [f"find-refs {c}" for c in chain[1:11]]
    return ALLOCATORS[kind]["walk"] + [f"find-refs {chain[1]}", many]


def label(cmd):
    return f"{len(cmd)} x `find-refs` (one index)" if isinstance(cmd, list) else f"`{cmd}`"


def live_target(kind, exe, blocks):
    d = OUT / f"{kind}-{blocks}"
    env = dict(os.environ, MEMDBG_SAMPLE_MODE="stop", MEMDBG_ORACLE=str(d / "live-oracle.json"))
    env[ALLOCATORS[kind]["env"]] = str(blocks)
    p = subprocess.Popen([str(exe)], cwd=d, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(6000):
        st = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if st == "T":
            return p, json.loads((d / "live-oracle.json").read_text())
        time.sleep(0.05)
    p.kill()
    sys.exit("bench: live sample did not stop")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=sorted(ALLOCATORS))
    ap.add_argument("--live", action="store_true")
    args = ap.parse_args()
    print("| heap | target | command | wall s | peak RSS MiB | output bytes |")
    print("|---|---|---|---:|---:|---:|")
    for kind in ([args.only] if args.only else sorted(ALLOCATORS)):
        exe, core, oracle, made = make_core(kind, args.blocks)
        stats = json.loads(subprocess.run([MEMDBG, "core", core, "--exe", exe, "-c",
                                           ALLOCATORS[kind]["stats"] + " --json"],
                                          capture_output=True, text=True).stdout)
        allocated = stats.get("allocated", stats.get("current_allocated_bytes")) or stats["mallinfo2"]["uordblks"]
        desc = f"{kind}: {allocated / 2**30:.2f} GiB allocated, core {core.stat().st_size / 2**30:.2f} GiB, made in {made:.1f} s"
        target = ["core", core, "--exe", exe]
        base = measure(target, [[]], args.runs)[0]
        print(f"| {desc} | core | (open the core only) | {base[1]:.2f} | {base[2]:.0f} | 0 |")
        for cmd, wall, rss, out in measure(target, commands(kind, oracle), args.runs):
            print(f"| {kind} | core | {label(cmd)} | {wall:.2f} | {rss:.0f} | {out:,} |")
        if args.live:
            p, lo = live_target(kind, exe, args.blocks)
            try:
                for cmd, wall, rss, out in measure(["attach", str(p.pid), "--exe", exe], commands(kind, lo), args.runs):
                    print(f"| {kind} | live | {label(cmd)} | {wall:.2f} | {rss:.0f} | {out:,} |")
            finally:
                p.kill()
                p.wait()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
