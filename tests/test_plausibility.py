"""Plausibility and exit status (issue 11, items 2 and 3).

Every figure read from the target is held against what must hold; one that fails
is reported as damaged, never printed as a fact:

  text: a line "damaged: WHAT (read where): why"; JSON: "damaged": ["..."] at the
  top level of the document, the figure itself null (MemStats, go-info) or the
  span left out and counted in "inconsistent".
  Exit status (CLI): 0 all well; 1 failed (one "memdbg: " line on stderr); 3
  partial: printed, but part failed or figures are damaged (one "memdbg: partial:
  ..." line on stderr).  triage whose every section failed exits 1.

Each damaged case is crafted from a real cached kernel core of samples/goheap:
the copy gets bytes patched at an address gdb gives (runtime.memstats'
heapStats, an in-use mspan's npages, runtime.gomaxprocs, the runtime's bss).
The real cores themselves must get no damaged note and exit 0.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

import samples
from test_bad_input import notgo_core, work  # noqa: F401  (fixtures: a gcore of samples/notgo)
from test_robustness import Core, _gdb_values, _symbol

CONFIGS = ("go1.26.8", "go1.22.12")
COMMANDS = ("go-info", "memstats", "mspan-walk --limit 5", "frag", "histogram --top 5")
TIMEOUT = 300

pytestmark = pytest.mark.skipif(not shutil.which("gdb"), reason="gdb gives the addresses to patch")


def _core(cfg_id):
    cfg = samples.CONFIGS_BY_ID.get(cfg_id)
    if cfg is None:
        pytest.skip(f"{cfg_id} is not in setup/goversions.txt")
    try:
        samples.ensure_toolchain(cfg)
        return samples.make_core(cfg, "kernel")
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module", params=CONFIGS)
def good(request):
    return _core(request.param)


def run(core, exe, cmd, json_out=False):
    args = ["core", str(core), "--exe", str(exe), "-c", cmd] + (["--json"] if json_out else [])
    return samples.run_cli(args, timeout=TIMEOUT)


def partial(p):
    """Exit 3 with one 'memdbg: partial: ' line on stderr."""
    assert p.returncode == 3, (p.returncode, p.stderr[-2000:])
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memdbg: partial: "), p.stderr[-2000:]
    return lines[0]


def patched(good, tmp_path, writes):
    """A copy of the core with (address, bytes) written over its memory."""
    core = Core(good.core)
    out = tmp_path / "core"
    shutil.copyfile(good.core, out)
    with open(out, "r+b") as f:
        for addr, data in writes:
            off = core.file_offset(addr, len(data))
            assert off is not None, hex(addr)
            f.seek(off)
            f.write(data)
    return out


def test_real_core_is_not_damaged(good):
    """No false alarm: the real core passes every check, text and JSON, exit 0."""
    for cmd in COMMANDS:
        for json_out in (False, True):
            p = run(good.core, good.exe, cmd, json_out)
            assert p.returncode == 0 and not p.stderr, (cmd, p.stderr)
            assert "damaged" not in p.stdout, (cmd, p.stdout[:3000])


def _heapstats(good, gen, member):
    return _gdb_values(good.exe, good.core, [f"&'runtime.memstats'.heapStats.stats[{gen}].{member}"])[0]


def test_memstats_word_damaged(good, tmp_path):
    """One 8-byte change in runtime.memstats (issue 11: Alloc 18397227370969621304): a generation's
    large-object frees made larger than every byte the heap arenas hold."""
    at = _heapstats(good, 1, "largeFree")
    bad = patched(good, tmp_path, [(at, (0x0123456789abcdef).to_bytes(8, "little"))])
    p = run(bad, good.exe, "memstats", json_out=True)
    line = partial(p)
    doc = json.loads(p.stdout)
    assert doc["Alloc"] is None and doc["HeapAlloc"] is None and doc["HeapObjects"] is None, doc
    assert doc["HeapSys"] == good.oracle["HeapSys"]        # the figures that hold are still shown
    assert any("large objects" in d and f"{good.oracle['HeapSys']}" not in d for d in doc["damaged"]), doc["damaged"]
    assert any("heapStats" in d for d in doc["damaged"]), doc["damaged"]
    assert "damaged" in line
    text = run(bad, good.exe, "memstats")
    assert text.returncode == 3
    assert "\ndamaged: " in "\n" + text.stdout and "18397227370969621304" not in text.stdout
    assert "Alloc                  -" in text.stdout, text.stdout[:2000]


def test_memstats_count_damaged(good, tmp_path):
    """Flipped bytes in a malloc count (issue 11: HeapObjects 1.15e18 from a 65 MB core)."""
    at = _heapstats(good, 2, "smallAllocCount[3]")
    bad = patched(good, tmp_path, [(at, (1 << 60).to_bytes(8, "little"))])
    p = run(bad, good.exe, "memstats", json_out=True)
    partial(p)
    doc = json.loads(p.stdout)
    assert doc["HeapObjects"] is None and doc["Mallocs"] is None and doc["Alloc"] is None, doc
    assert all(r["Live"] is None for r in doc["BySize"])
    assert doc["damaged"], doc


def test_memstats_signed_counters_overflow(good, tmp_path):
    """Stack bytes near 2^63 in two generations: their sum overflows int64 (a UBSan report
    under MEMDBG_BUILD=build-asan until the sums wrapped) and is flagged, never printed."""
    near_max = (1 << 63) - 4096
    bad = patched(good, tmp_path, [(_heapstats(good, gen, "inStacks"), near_max.to_bytes(8, "little"))
                                   for gen in (0, 1)])
    p = run(bad, good.exe, "memstats", json_out=True)
    partial(p)
    doc = json.loads(p.stdout)
    assert any("StackInuse" in d for d in doc["damaged"]), doc["damaged"]


def _inuse_mspan(good):
    """The address of an in-use mspan (state mSpanInUse = 1), its npages field and its npages."""
    array, count, off_np, off_state = _gdb_values(good.exe, good.core, [
        "'runtime.mheap_'.allspans.array", "'runtime.mheap_'.allspans.len",
        "&(('runtime.mspan' *)0)->npages", "&(('runtime.mspan' *)0)->state"])
    core = Core(good.core)
    with open(good.core, "rb") as f:
        f.seek(core.file_offset(array, 8 * count))
        ptrs = [int.from_bytes(f.read(8), "little") for _ in range(count)]
        for s in ptrs:
            o = core.file_offset(s, off_np + 8)
            if o is None or core.file_offset(s + off_state, 1) is None:
                continue
            f.seek(core.file_offset(s + off_state, 1))
            if f.read(1) != b"\x01":
                continue
            f.seek(core.file_offset(s + off_np, 8))
            npages = int.from_bytes(f.read(8), "little")
            if npages == 1:
                return s, s + off_np
    raise AssertionError("no in-use one-page mspan")


def test_span_npages_damaged(good, tmp_path):
    """A span of 140737488355327 pages (issue 11: taken as in use, arena occupancy 31.9% -> 55.9%):
    counted inconsistent, left out, and said."""
    mspan, at = _inuse_mspan(good)
    bad = patched(good, tmp_path, [(at, (140737488355327).to_bytes(8, "little"))])
    before = json.loads(run(good.core, good.exe, "go-info", json_out=True).stdout)
    p = run(bad, good.exe, "go-info", json_out=True)
    line = partial(p)
    doc = json.loads(p.stdout)
    assert doc["spans"]["inconsistent"] == 1, doc["spans"]
    inuse = lambda d: next(r for r in d["spans"]["by_state"] if r["state"] == "inuse")  # noqa: E731
    assert inuse(doc)["spans"] == inuse(before)["spans"] - 1 and inuse(doc)["pages"] == inuse(before)["pages"] - 1
    assert len(doc["damaged"]) == 1 and f"{mspan:#x}" in doc["damaged"][0] and "140737488355327" in doc["damaged"][0]
    assert f"{mspan:#x}" in line
    # frag: the span is not spread over the arenas
    f0 = json.loads(run(good.core, good.exe, "frag", json_out=True).stdout)
    p = run(bad, good.exe, "frag", json_out=True)
    partial(p)
    f1 = json.loads(p.stdout)
    occ = lambda d: sum(a["inuse_bytes"] for a in d["arenas"]["arenas"])  # noqa: E731
    assert occ(f1) == occ(f0) - 8192, (occ(f0), occ(f1))
    # every span user says so: text too
    for cmd in ("mspan-walk --limit 3", "histogram --top 3"):
        p = run(bad, good.exe, cmd)
        partial(p)
        assert "damaged: 1 mspans in runtime.mheap_.allspans contradict the heap" in p.stdout, (cmd, p.stdout[-2000:])


def test_gomaxprocs_damaged(good, tmp_path):
    at, _ = _symbol(good.exe, "runtime.gomaxprocs")
    bad = patched(good, tmp_path, [(at, (0).to_bytes(4, "little"))])
    p = run(bad, good.exe, "go-info", json_out=True)
    partial(p)
    doc = json.loads(p.stdout)
    assert doc["gomaxprocs"] is None and doc["goroutines"] is None, doc
    assert any("GOMAXPROCS 0" in d and f"{at:#x}" in d for d in doc["damaged"]), doc["damaged"]
    text = run(bad, good.exe, "go-info")
    assert text.returncode == 3 and "damaged: GOMAXPROCS 0" in text.stdout


def _sections(exe):
    p = subprocess.run(["readelf", "-SW", str(exe)], capture_output=True, text=True, check=True)
    out = {}
    for line in p.stdout.splitlines():
        w = line.replace("[ ", "[").split()
        if len(w) > 5 and w[1] in (".bss", ".noptrbss"):
            out[w[1]] = (int(w[3], 16), int(w[5], 16))
    return out


def test_zeroed_bss(good, tmp_path):
    """The runtime's bss zeroed (issue 11: GOMAXPROCS 0, 0 arenas, all-zero MemStats as if true):
    no command prints those zeros as facts; each is damaged (exit 3) or fails (exit 1)."""
    core = Core(good.core)
    writes = []
    for addr, size in _sections(good.exe).values():
        a, end = addr, addr + size
        while a < end:                                # page by page: only what the core holds
            n = min(4096 - a % 4096, end - a)
            if core.file_offset(a, n) is not None:
                writes.append((a, bytes(n)))
            a += n
    assert writes
    bad = patched(good, tmp_path, writes)
    for cmd in ("go-info", "memstats", "frag"):
        p = run(bad, good.exe, cmd, json_out=True)
        assert p.returncode in (1, 3), (cmd, p.returncode, p.stdout[:2000])
        if p.returncode == 1:
            lines = p.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("memdbg: "), p.stderr
            continue
        partial(p)
        doc = json.loads(p.stdout)
        assert doc["damaged"], doc
        if cmd == "memstats":
            assert doc["HeapSys"] is None and doc["Alloc"] is None, doc
        if cmd == "go-info":
            assert doc["gomaxprocs"] is None, doc


# ---- exit status: all failed is 1, partly failed is 3 ----

def _one_line(p, status=1):
    assert p.returncode == status, (p.returncode, p.stderr[-2000:])
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memdbg: "), p.stderr[-2000:]
    return lines[0]


def test_triage_all_failed_notgo_core(notgo_core, notgo_exe):
    """A C program's core: every triage section fails, so triage fails: exit 1, one line."""
    for json_out in (False, True):
        p = run(notgo_core, notgo_exe, "triage", json_out)
        line = _one_line(p)
        assert "triage: every section failed, go-info: " in line and "not a Go program" in line, line
        if json_out:
            doc = json.loads(p.stdout)
            assert "error" in doc and "error" in doc["go-info"], doc


def test_triage_all_failed_live_notgo():
    """Attach to a process that is no Go program: triage exits 1 with one line (was 0, errors on stdout)."""
    proc = subprocess.Popen(["sleep", "60"])
    try:
        time.sleep(0.2)
        p = samples.run_cli(["attach", str(proc.pid), "-c", "triage"], timeout=TIMEOUT)
        if p.returncode == 1 and "ptrace" in p.stderr.lower() and "triage" not in p.stderr:
            pytest.skip(p.stderr)
        line = _one_line(p)
        assert "triage: every section failed" in line, line
    finally:
        proc.kill()
        proc.wait()


def test_triage_partly_failed_exits_3(good, tmp_path):
    """mheap_.allArenas' length made absurd: frag and findings fail, the rest prints: exit 3."""
    at = None
    for member in ("heapArenas", "allArenas"):   # renamed in go1.26
        try:
            at, = _gdb_values(good.exe, good.core, [f"&'runtime.mheap_'.{member}.len"])
            break
        except AssertionError:
            continue
    bad = patched(good, tmp_path, [(at, (1 << 40).to_bytes(8, "little") * 2)])
    p = run(bad, good.exe, "triage", json_out=True)
    line = partial(p)
    assert "sections failed" in line, line
    doc = json.loads(p.stdout)
    assert "error" in doc["frag"] and "error" not in doc["memstats"]


def test_batch_status_is_the_worst(good, tmp_path):
    """-c A -c B: a failure outweighs a partial answer, which outweighs success."""
    at, _ = _symbol(good.exe, "runtime.gomaxprocs")
    bad = patched(good, tmp_path, [(at, (0).to_bytes(4, "little"))])
    p = samples.run_cli(["core", str(bad), "--exe", str(good.exe), "-c", "memstats", "-c", "go-info"],
                        timeout=TIMEOUT)
    partial(p)
    p = samples.run_cli(["core", str(bad), "--exe", str(good.exe), "-c", "go-info", "-c", "no-such-command"],
                        timeout=TIMEOUT)
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 2, p.stderr


@pytest.mark.parametrize("frontend", ["gdb", "lldb"])
def test_debuggers_warn_on_partial(good, tmp_path, frontend):
    """gdb and lldb: a damaged answer is printed with a warning line, not raised as an error."""
    at, _ = _symbol(good.exe, "runtime.gomaxprocs")
    bad = patched(good, tmp_path, [(at, (0).to_bytes(4, "little"))])
    runner = samples.run_gdb if frontend == "gdb" else samples.run_lldb
    p = runner(good.exe, str(bad), "go-info", "memdbg help")
    out = p.stdout + p.stderr
    assert "damaged: GOMAXPROCS 0" in p.stdout, out[-3000:]
    assert "memdbg: partial: damaged: GOMAXPROCS 0" in out, out[-3000:]
    if frontend == "lldb":
        assert "warning: memdbg: partial" in out and "error: memdbg: partial" not in out, out[-3000:]
    assert "mspan-walk" in p.stdout   # the next command ran
