"""The Go compiler (cmd/compile) as a real program: a kernel core of it compiling a package.

cmd/compile is the most widely used real Go program and its heap is nothing like
the samples': SSA values, blocks, closures, maps of every shape.  Each config
builds cmd/compile with its own toolchain (with symbols and DWARF, `go build
cmd/compile`), compiles that toolchain's net/http with it under gdb, stops at a
fixed point (the IGNORE+1st call of ssagen.Compile, one backend worker, one P),
and sends it SIGABRT there with GOTRACEBACK=crash: the runtime prints every
goroutine and dumps a kernel core.  Cached like the samples' (make_core_of), in
CORES_DIR/compiler/<config>/<key>/ (the key hashes the recipe and the config),
locked per config (bump RECIPE when the recipe changes):

    compile                 cmd/compile with DWARF (build.json: CPU seconds of the build)
    importcfg               net/http's imports, their export data from `go list -export`
    kernel/core.kernel      the kernel core
    kernel/stderr.txt       the runtime's crash traceback: every goroutine's id
    kernel/oracle.json      {GoVersion, Package, Breakpoint, Ignore, CoreBytes, CoreDiskBytes,
                             CPUSeconds (build, importcfg, run)}
    kernel/done             wall seconds it took

There is no MemStats oracle (the compiler does not read its own): the tests hold
memdbg to the traceback, to the runtime's record of each slot (`objects
--check-types`), and to the heap's own books (tests/test_compiler.py).
"""

import glob
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

import samples

PACKAGE = "net/http"
BREAKPOINT = "cmd/compile/internal/ssagen.Compile"
IGNORE = 800            # ~120 MB of heap in go1.26.8's compile of net/http
RECIPE = "1"            # bump when the way the core is made changes
RUN_TIMEOUT = 900
# The configs that make the core (a cmd/compile build costs ~1 min of CPU each): the oldest and newest.
CONFIGS = ("go1.22.12", "go1.26.8")


class NotThisConfig(Exception):
    """The compiler's core is made for CONFIGS only (tests skip the others)."""


def sample():
    """A Sample only for its cache directory and lock (no source of its own: key())."""
    return samples.Sample("compiler", Path(__file__), samples.CORES_DIR / "compiler")


def key(cfg):
    h = hashlib.sha256()
    h.update(f"config {cfg.line}\nrecipe {RECIPE} {PACKAGE} {BREAKPOINT} {IGNORE}\n".encode())
    return h.hexdigest()[:16]


def config_dir(cfg):
    return sample().cores / cfg.id / key(cfg)


def _child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _go(cfg, args, cwd, timeout=900):
    p = subprocess.run(["go", *args], cwd=cwd, env=samples.go_env(cfg), capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode:
        raise samples.SampleError(f"{cfg.id}: go {' '.join(args)} failed:\n{p.stdout}{p.stderr}")
    return p.stdout


def build(cfg, d):
    """cmd/compile of the config's toolchain, with DWARF, in d (its CPU seconds in build.json)."""
    exe = d / "compile"
    if not exe.exists():
        t0 = _child_cpu()
        tmp = d / f"compile.tmp.{os.getpid()}"
        _go(cfg, ["build", "-o", str(tmp), "cmd/compile"], d)
        (d / "build.json").write_text(json.dumps({"CPUSeconds": round(_child_cpu() - t0, 1)}) + "\n")
        tmp.rename(exe)
    return exe


def compile_args(cfg, d):
    """The compile command line `go build` gives PACKAGE (minus -buildid, -trimpath), with one backend
    worker (-c=1), its importcfg written from `go list -export` (export data in the Go cache)."""
    docs = _go(cfg, ["list", "-export", "-deps", "-json", PACKAGE], d)
    pkgs = json.loads("[" + docs.replace("}\n{", "},\n{") + "]")
    me = pkgs[-1]
    assert me["ImportPath"] == PACKAGE, me["ImportPath"]
    lines = [f"importmap {k}={v}" for k, v in sorted(me.get("ImportMap", {}).items())]
    lines += [f"packagefile {p['ImportPath']}={p['Export']}" for p in pkgs[:-1] if p.get("Export")]
    (d / "importcfg").write_text("\n".join(lines) + "\n")
    version = _go(cfg, ["env", "GOVERSION"], d).strip()
    lang = ".".join(version.split(".")[:2])
    return ["-o", str(d / "out.a"), "-p", PACKAGE, f"-lang={lang}", "-std", "-complete",
            "-goversion", version, "-c=1", "-nolocalimports", "-importcfg", str(d / "importcfg"), "-pack",
            *(str(Path(me["Dir"]) / f) for f in me["GoFiles"])], version


def _gdb_script(outdir, args):
    """Stop at the IGNORE+1st BREAKPOINT, then SIGABRT: the runtime's crash handler prints the
    traceback and dies of SIGABRT (passed through gdb, with the SIGQUITs it sends the other threads)."""
    return "\n".join([
        "set pagination off", "set confirm off",
        "handle SIGURG SIGQUIT SIGABRT SIGPIPE nostop noprint pass",
        f"break {BREAKPOINT}", f"ignore 1 {IGNORE}",
        f"run {' '.join(args)} >{outdir / 'stdout.txt'} 2>{outdir / 'stderr.txt'}",
        "info inferiors", "delete", "signal SIGABRT", "quit", ""])


def _run_to_core(cfg, exe, outdir, args):
    script = outdir / "gdb.cmds"
    script.write_text(_gdb_script(outdir, args))
    env = samples.sample_env("crash", outdir / "unused.json", {"GOMAXPROCS": "1"})
    g = subprocess.run(["gdb", "-nx", "-batch", "-x", str(script), str(exe)], cwd=outdir, env=env,
                       capture_output=True, text=True, timeout=RUN_TIMEOUT, preexec_fn=samples._unlimited_core)
    (outdir / "gdb.txt").write_text(g.stdout + g.stderr)
    m = re.search(r"^\*\s+1\s+process (\d+)\s", g.stdout, re.M)
    if not m or "terminated with signal SIGABRT" not in g.stdout:
        raise samples.SampleError(f"{cfg.id}: the compiler did not stop at {BREAKPOINT} and abort; "
                                  f"see {outdir}/gdb.txt")
    pattern = samples._core_glob(outdir, int(m.group(1)), exe.name[:15])
    found = sorted(glob.glob(pattern), key=os.path.getmtime)
    if not found:
        raise samples.SampleError(f"{cfg.id}: no core at {pattern} (core_pattern {samples.core_pattern()!r})")
    dest = outdir / "core.kernel"
    shutil.move(found[-1], dest)
    return dest


def make_core(cfg):
    """Make (or reuse) the compiler's kernel core for one config; return a samples.SampleCore."""
    cfg = samples.get_config(cfg)
    if cfg.id not in CONFIGS:
        raise NotThisConfig(f"{cfg.id}: the compiler's core is made for {', '.join(CONFIGS)} only")
    samples.ensure_toolchain(cfg)
    s = sample()
    with samples._locked(cfg, s):
        d = config_dir(cfg)
        d.mkdir(parents=True, exist_ok=True)
        exe = build(cfg, d)
        outdir = d / "kernel"
        done = outdir / "done"
        if not done.exists():
            if outdir.exists():
                shutil.rmtree(outdir)
            outdir.mkdir(parents=True)
            t0, c0 = time.monotonic(), _child_cpu()
            args, version = compile_args(cfg, d)
            c1 = _child_cpu()
            core = _run_to_core(cfg, exe, outdir, args)
            c2 = _child_cpu()
            oracle = {"GoVersion": version, "Package": PACKAGE, "Breakpoint": BREAKPOINT, "Ignore": IGNORE,
                      "CoreBytes": core.stat().st_size, "CoreDiskBytes": core.stat().st_blocks * 512,
                      "CPUSeconds": {"build": json.loads((d / "build.json").read_text())["CPUSeconds"],
                                     "importcfg": round(c1 - c0, 1), "run": round(c2 - c1, 1)}}
            (outdir / "oracle.json").write_text(json.dumps(oracle, indent=1) + "\n")
            (d / "out.a").unlink(missing_ok=True)
            done.write_text(f"{time.monotonic() - t0:.2f}s\n")
        oracle = outdir / "oracle.json"
        return samples.SampleCore(cfg, "kernel", exe, outdir / "core.kernel", oracle, samples.read_oracle(oracle))
