"""Fixture helpers for samples/gopool (sync.Pool contents and heap churn known by construction).

Cores are made with the generic helpers of samples.py and cached in
build/cores/gopool/<config-id>/{gopool,kernel/,gcore/}; next to each core and
its oracle.json lies `heapdump` (runtime/debug.WriteHeapDump, written right
before the oracle was taken).

The oracle (samples/gopool/main.go, encodeOracle), addresses as the program
holds its pointers:

    MemStats{..., BySize [{Size, Mallocs, Frees}]}   read right after the heap dump
    GOMAXPROCS, GoVersion, GOEXPERIMENT, Mode, Pid
    Pools [{Name, Addr, Local, LocalSize, Victim, VictimSize,
            Internals,   the poolLocal arrays, chain elements and vals arrays
            Entries [{P, Cache "local"|"victim", Slot "private"|"shared", Addr, Type}]}]
    AlsoHeld   the one pooled SharedItem a global also holds
    Payloads   the SharedItems' payload arrays
    Holder     the heap object holding main.Holder.pool
    Churn{Kept{"24","288","1024"}, Allocated, Big, BigSize}
"""

import subprocess
import tempfile
from pathlib import Path

import holds_samples
import samples

GOPOOL = samples.other_sample("gopool")


def build(cfg):
    return samples.build_sample_of(GOPOOL, cfg)


def make_core(cfg, kind):
    """SampleCore of gopool (kind "kernel" or "gcore"); heapdump_path(sc) is its dump."""
    return samples.make_core_of(GOPOOL, cfg, kind)


def heapdump_path(sc):
    return sc.dir / "heapdump"


def run_check_mode(cfg, timeout=samples.RUN_TIMEOUT):
    """Run gopool in check mode: nothing may allocate from the heap dump on."""
    exe = build(cfg)
    d = samples.config_dir_of(GOPOOL, cfg)
    with tempfile.TemporaryDirectory(dir=d) as t:
        p = subprocess.run([str(exe)], cwd=t, env=samples.sample_env("check", Path(t) / "oracle.json"),
                           capture_output=True, text=True, timeout=timeout)
        oracle = samples.read_oracle(Path(t) / "oracle.json") if p.returncode == 0 else None
    return p, oracle


def dump_graph(sc, spans):
    """The heap dump's object graph (holds_samples.DumpGraph), slots past nelems dropped."""
    return holds_samples.dump_graph(sc, spans)


def expected_locations(pool):
    """{(p, cache, slot): (count, [types])} of one oracle pool."""
    out = {}
    for e in pool["Entries"]:
        k = (e["P"], e["Cache"], e["Slot"])
        n, types = out.get(k, (0, []))
        out[k] = (n + 1, types + [e["Type"]])
    return out


# ---------------------------------------------------------------- running memdbg on a gopool core

import json  # noqa: E402

_cache = {}


def cli(sc, cmd, json_out=True):
    p = samples.run_core_cli(sc, cmd, json_out=json_out, timeout=300)
    assert p.returncode == 0, f"{cmd}: {p.stderr}"
    return p.stdout


def cli_json(sc, cmd):
    k = (str(sc.core), cmd)
    if k not in _cache:
        doc = json.loads(cli(sc, cmd))
        assert "error" not in doc, (cmd, doc.get("error"))
        assert doc["command"] == cmd.split()[0]
        _cache[k] = doc
    return _cache[k]


BEGIN, END = "@@memdbg-begin@@", "@@memdbg-end@@"


def _between(text):
    start = text.index(BEGIN + "\n") + len(BEGIN) + 1
    return text[start:text.index(END + "\n", start)]


def check_front_ends(sc, cmd, json_out):
    """gdb and lldb print exactly what the CLI prints."""
    out = cli(sc, cmd, json_out=json_out)
    full = cmd + (" --json" if json_out else "")
    g = samples.run_gdb(sc.exe, sc.core, f"echo {BEGIN}\\n", f"memdbg {full}", f"echo {END}\\n", timeout=300)
    assert _between(g.stdout) == out, g.stderr
    lp = samples.run_lldb(sc.exe, sc.core, f"script print('{BEGIN}')", f"memdbg {full}",
                          f"script print('{END}')", timeout=300)
    # lldb -b echoes each command as "(lldb) CMD"; memdbg's own output never starts so.
    got = "".join(line for line in _between(lp.stdout).splitlines(True) if not line.startswith("(lldb) "))
    assert got == out, lp.stderr


def core_fixture(go_config, core_kind):
    import pytest
    if core_kind == "gcore" and go_config.id not in samples.gcore_configs():
        pytest.skip(f"{go_config.id}: no gcore for this config (MEMDBG_GCORE_CONFIGS=all makes every one)")
    try:
        return make_core(go_config, core_kind)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
