"""samples/growth: two gcores of one process, one step apart, and their oracles.

The sample runs two steps (see the header of samples/growth/main.go); it
stops itself after each, a gcore is taken, and it is continued.  Cached in
CORES_DIR/growth/<config-id>/<key>/{grow,flat}/ with core.1, core.2,
oracle.1.json, oracle.2.json.
"""

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import samples

SAMPLE = samples.other_sample("growth")


@dataclass
class StepCores:
    config: samples.GoConfig
    exe: Path
    cores: tuple             # (core.1, core.2)
    oracles: tuple = field(repr=False)  # (dict, dict)
    mode: str = ""           # the samples.BUILD_MODES key it was built with, "" for a plain build


def _wait_stopped(p, what, written=None):
    """Wait until the sample has stopped itself; with `written`, until it has stopped after writing
    that file, continuing it while it is stopped before."""
    deadline = time.monotonic() + samples.STOP_TIMEOUT
    while True:
        stopped = samples._proc_state(p.pid) == "T"
        if stopped and (written is None or written.stat().st_size > 0):
            return
        if p.poll() is not None:
            raise samples.SampleError(f"growth exited ({p.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise samples.SampleError(f"growth did not stop for {what}")
        if stopped:
            os.kill(p.pid, signal.SIGCONT)
        time.sleep(0.05)


def _make(cfg, exe, outdir, flat):
    env = samples.sample_env("stop", outdir / "oracle.1.json")
    env["MEMDBG_ORACLE2"] = str(outdir / "oracle.2.json")
    env["MEMDBG_GROWTH"] = "dump"
    env["MEMDBG_GROWTH_NEXT"] = str(outdir / "next")
    if flat:
        env["MEMDBG_GROWTH_FLAT"] = "1"
    with open(outdir / "stderr.txt", "w") as err:
        p = subprocess.Popen([str(exe)], cwd=outdir, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        _wait_stopped(p, "step 1")
        samples.take_gcore(p.pid, outdir / "core.1", "growth")
        (outdir / "next").touch()  # step 2 waits for it: gcore's own SIGCONT must not start it
        # gcore continues the process, which stops itself again: a SIGCONT sent before that stop
        # is lost (CI once took step 1's stop for step 2's, oracle.2.json still empty).  So it is
        # continued until it has stopped with step 2's oracle written.
        _wait_stopped(p, "step 2", written=outdir / "oracle.2.json")
        samples.take_gcore(p.pid, outdir / "core.2", "growth")
    finally:
        samples._kill(p)


def step_cores(cfg, flat=False, mode=""):
    """The two cores of the growth sample (flat: nothing retained between them), built the
    production way `mode` (a samples.BUILD_MODES key) if given."""
    cfg = samples.get_config(cfg)
    sample = samples.with_mode(SAMPLE, mode) if mode else SAMPLE
    with samples._locked(cfg, sample):
        exe = samples._build_locked(cfg, sample)
        outdir = samples.config_dir_of(sample, cfg) / ("flat" if flat else "grow")
        done = outdir / "done"
        if not done.exists():
            if outdir.exists():
                shutil.rmtree(outdir)
            outdir.mkdir(parents=True)
            _make(cfg, exe, outdir, flat)
            done.write_text("ok\n")
        cores = (outdir / "core.1", outdir / "core.2")
        oracles = tuple(samples.read_oracle(outdir / f"oracle.{i}.json") for i in (1, 2))
        return StepCores(cfg, exe, cores, oracles, mode)


def build(cfg):
    return samples.build_sample_of(SAMPLE, cfg)


def watch_env(leak=65536, ticks=0, tick_ms=10):
    env = samples.sample_env("stop", "/dev/null")
    env.update(MEMDBG_GROWTH="watch", MEMDBG_GROWTH_LEAK=str(leak), MEMDBG_GROWTH_TICKS=str(ticks),
               MEMDBG_GROWTH_TICK_MS=str(tick_ms))
    return env
