"""Fixture helpers for samples/goobjects (the object-model sample) and its heap dump.

Cores are made with the generic helpers of samples.py and cached in
build/cores/goobjects/<config-id>/{goobjects,kernel/,gcore/}; next to each
core and its oracle.json lies `heapdump`, the runtime/debug.WriteHeapDump
the sample wrote right before it took the oracle and stopped.

The oracle (see samples/goobjects/main.go, encodeOracle):
    MemStats{...}, NumGoroutine, GoVersion, GOEXPERIMENT, Mode, Pid
    Types:   [{Type, Count, Live, Size, Exact, How}]  objects of exactly that type
             (runtime names: "main.Alpha", "[100]main.Alpha", "main.Box[int]", the closure's
             "struct { F uintptr; X0 *main.Lambda; ... }")
    Objects: [{Kind, Type, Addr}]  pointers as the program holds them (for objects with a
             malloc header that is the slot base + 8)
    Sample:  {Goroutines, ZetaMapEntries, IntMapEntries, ClosureType, ...}
"""

import functools
import json
import subprocess
import tempfile
from pathlib import Path

import heapdump
import samples

GOOBJECTS = samples.other_sample("goobjects")


def build(cfg):
    return samples.build_sample_of(GOOBJECTS, cfg)


def make_core(cfg, kind):
    """SampleCore of goobjects (kind "kernel" or "gcore"); heapdump_path(sc) is its dump."""
    return samples.make_core_of(GOOBJECTS, cfg, kind)


def heapdump_path(sc):
    return sc.dir / "heapdump"


@functools.lru_cache(maxsize=None)
def _parse(path, mtime):
    return heapdump.parse(path)


def load_heapdump(sc):
    p = heapdump_path(sc)
    return _parse(str(p), p.stat().st_mtime_ns)


def run_check_mode(cfg, timeout=samples.RUN_TIMEOUT):
    """Run goobjects in check mode: neither the heap dump nor the encoder may allocate."""
    exe = build(cfg)
    d = samples.config_dir_of(GOOBJECTS, cfg)
    with tempfile.TemporaryDirectory(dir=d) as t:
        p = subprocess.run([str(exe)], cwd=t, env=samples.sample_env("check", Path(t) / "oracle.json"),
                           capture_output=True, text=True, timeout=timeout)
        oracle = samples.read_oracle(Path(t) / "oracle.json") if p.returncode == 0 else None
        dump_ok = p.returncode == 0 and heapdump.parse(Path(t) / "heapdump") is not None
    return p, oracle, dump_ok


def expected_types(oracle, exact_only=True):
    """{type name: oracle row} of the types the sample made."""
    return {t["Type"]: t for t in oracle["Types"] if t["Exact"] or not exact_only}


def real_objects(sc, spans):
    """The heap dump's objects minus the never-allocated slots past nelems.

    `spans` are memdbg's `mspan-walk --json` rows (start, end, elemsize,
    slots); returns (objects, dropped) - see heapdump.drop_past_nelems.
    """
    return heapdump.drop_past_nelems(load_heapdump(sc).objects, spans)
