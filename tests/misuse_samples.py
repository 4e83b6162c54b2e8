"""Fixture helpers for samples/misuse: one Go program per memory-misuse scenario.

samples/misuse is one Go module (go 1.22, stdlib only) whose package
`harness` every scenario shares: the scenario builds its heap, calls
harness.Settle (a GC, then no allocation and no GC until the core), records
the expected addresses and holders in oracle.json, and crashes (kernel core)
or stops (gcore).  Cores are cached in build/cores/misuse-<scenario>/<config-id>/
like every other sample; the cache key covers the whole module (the harness too).
The cgo scenario needs gcc and is built with CGO_ENABLED=1.
"""

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import samples

MISUSE = samples.REPO / "samples" / "misuse"
SCENARIOS = ("maps", "goleak", "pool", "deferput", "uintptr", "racyptr", "deadslice", "cgo", "frag", "large",
             "finalizer", "clean")


def sample(scenario, mode=""):
    s = samples.Sample(f"misuse-{scenario}", MISUSE / scenario, samples.CORES_DIR / f"misuse-{scenario}")
    return samples.with_mode(s, mode) if mode else s


def _module_key(cfg, mode=""):
    h = hashlib.sha256(f"config {cfg.line}\n".encode())
    if mode:
        h.update(f"flags {samples.BUILD_MODES[mode]}\n".encode())
    samples.hash_sources(h, MISUSE)
    return h.hexdigest()


def config_dir(cfg, scenario, mode=""):
    """The cache directory of one scenario and config, named by the whole module's key (the harness
    too), so checkouts with different harnesses sharing MEMDBG_CORES_DIR keep their own cores."""
    return sample(scenario, mode).cores / cfg.id / _module_key(cfg, mode)[:16]


def _build_locked(cfg, scenario, mode=""):
    s = sample(scenario, mode)
    d = config_dir(cfg, scenario, mode)
    key = _module_key(cfg, mode)
    kf = d / "key"
    if not (kf.exists() and kf.read_text().strip() == key):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        kf.write_text(key + "\n")
    exe = d / s.name
    if exe.exists():
        return exe
    if scenario == "cgo" and not shutil.which("gcc"):
        raise samples.SampleError("the cgo scenario needs gcc")
    samples.ensure_toolchain(cfg)
    samples.GOCACHE.mkdir(parents=True, exist_ok=True)
    env = samples.go_env(cfg)
    if scenario == "cgo":
        env["CGO_ENABLED"] = "1"
    tmp = exe.with_name(f"{s.name}.tmp")
    p = subprocess.run(["go", "build", *s.build_flags, "-o", str(tmp), "."], cwd=s.src, env=env, capture_output=True,
                       text=True, timeout=900)
    if p.returncode != 0:
        raise samples.SampleError(f"{cfg.id}: go build {scenario} failed:\n{p.stdout}{p.stderr}")
    tmp.rename(exe)
    return exe


def build(cfg, scenario):
    cfg = samples.get_config(cfg)
    s = sample(scenario)
    with samples._locked(cfg, s):
        return _build_locked(cfg, scenario)


def make_core(cfg, scenario, kind="kernel"):
    """SampleCore of one scenario (kind "kernel", "gcore", or a production "kernel-<mode>")."""
    cfg = samples.get_config(cfg)
    base, mode = samples.split_kind(kind)
    s = sample(scenario, mode)
    with samples._locked(cfg, s):
        exe = _build_locked(cfg, scenario, mode)
        outdir = config_dir(cfg, scenario, mode) / base
        done = outdir / "done"
        if not done.exists():
            if outdir.exists():
                shutil.rmtree(outdir)
            outdir.mkdir(parents=True)
            make = samples._make_kernel_core if base == "kernel" else samples._make_gcore
            make(cfg, exe, outdir)
            done.write_text("ok\n")
        core = outdir / f"core.{base}"
        oracle = outdir / "oracle.json"
        return samples.SampleCore(cfg, kind, exe, core, oracle, samples.read_oracle(oracle))


def run_check_mode(cfg, scenario, timeout=samples.RUN_TIMEOUT):
    """Run a scenario in check mode: nothing may allocate (or collect) after Settle."""
    exe = build(cfg, scenario)
    with tempfile.TemporaryDirectory() as t:
        return subprocess.run([str(exe)], cwd=t, env=samples.sample_env("check", Path(t) / "oracle.json"),
                              capture_output=True, text=True, timeout=timeout)
