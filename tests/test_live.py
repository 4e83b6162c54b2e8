"""Live processes: `memdbg attach`, gdb -p and lldb -p read the same heap a core of the
same stopped process shows, and the runtime's own figures, on every Go configuration."""

import json
import time

import pytest

import samples
from test_go_heap import EXACT_MEMSTATS

# Fields that name the target rather than describe the heap.
TARGET_FIELDS = {"command", "target", "core", "pid", "executable"}
COMMANDS = ["go-info", "memstats", "mspan-walk", "mcentral --spans", "mcache", "histogram --all --top 100000",
            "roots", "goroutines", "top-retainers -n 50"]


def attach_json(pid, cmd):
    p = samples.run_cli(["attach", str(pid), "-c", cmd, "--json"], timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def heap_view(doc):
    return {k: v for k, v in doc.items() if k not in TARGET_FIELDS}


@pytest.fixture
def live_and_core(live_sample, tmp_path):
    """The stopped process, and a gcore of it taken while it stays stopped."""
    core = samples.take_gcore(live_sample.pid, tmp_path / "core", "live sample")
    yield live_sample, core
    core.unlink(missing_ok=True)


def test_attach_memstats_equals_runtime(live_sample):
    doc = attach_json(live_sample.pid, "memstats")
    for field in EXACT_MEMSTATS:
        assert doc[field] == live_sample.oracle[field], field
    info = attach_json(live_sample.pid, "go-info")
    assert info["goroutines"] == live_sample.oracle["NumGoroutine"]
    assert info["target"] == "live process" and info["pid"] == live_sample.pid


@pytest.mark.parametrize("cmd", COMMANDS)
def test_attach_matches_core_of_same_process(live_and_core, cmd):
    live, core = live_and_core
    p = samples.run_cli(["core", core, "--exe", live.exe, "-c", cmd, "--json"], timeout=120)
    assert p.returncode == 0, p.stderr
    assert heap_view(attach_json(live.pid, cmd)) == heap_view(json.loads(p.stdout))


def test_attach_leaves_process_stopped(live_sample):
    """Detaching re-delivers the stop: the process is back in its job-control stop moments later."""
    attach_json(live_sample.pid, "go-info")
    deadline = time.monotonic() + 5
    while samples._proc_state(live_sample.pid) not in ("T", "t") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert samples._proc_state(live_sample.pid) in ("T", "t")


def test_gdb_live_matches_cli(live_sample):
    cli = samples.run_cli(["attach", str(live_sample.pid), "-c", "mspan-walk", "-c", "memstats"], timeout=120)
    gdb = samples.run_gdb(live_sample.exe, live_sample.pid, "mspan-walk", "memstats")
    assert cli.returncode == 0 and gdb.returncode == 0, gdb.stderr
    assert cli.stdout in gdb.stdout


def test_lldb_live_memstats(live_sample):
    p = samples.run_lldb(live_sample.exe, live_sample.pid, "memstats --json")
    assert p.returncode == 0, p.stderr
    start = p.stdout.index('{"command"')
    doc = json.loads(p.stdout[start:p.stdout.index("\n", start)])
    for field in EXACT_MEMSTATS:
        assert doc[field] == live_sample.oracle[field], field
