"""The goroutines command against what samples/goheap knows it started.

Every Go configuration, kernel core and gcore.  The sample starts 200
goroutines in main.buildHeap, each running main.blocker(i%8, ...), which
recurses to depth 0 and blocks receiving from a channel; the main goroutine
is in syscall.Tgkill (kernel core) or syscall.Kill (gcore) under main.main.
"""

import json
import subprocess

import pytest

import samples


def cli_json(sc, cmd):
    p = samples.run_core_cli(sc, cmd, json_out=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def docs(sample_core):
    return {
        "info": cli_json(sample_core, "go-info"),
        "plain": cli_json(sample_core, "goroutines"),
        "all": cli_json(sample_core, "goroutines --all --bt 10000"),
        "top": cli_json(sample_core, "goroutines --group-by top"),
        "start": cli_json(sample_core, "goroutines --group-by start"),
        "status": cli_json(sample_core, "goroutines --group-by status --bt 3"),
    }


def test_count_is_num_goroutine(sample_core, docs):
    n = sample_core.oracle["NumGoroutine"]
    assert len(docs["plain"]["goroutines"]) == n
    assert docs["plain"]["totals"]["goroutines"] == n
    assert docs["info"]["goroutines"] == n
    hidden = docs["plain"]["totals"]["system_hidden"]
    assert len(docs["all"]["goroutines"]) == n + hidden
    assert sum(not g["system"] for g in docs["all"]["goroutines"]) == n


def test_every_stack_unwinds_completely(docs):
    for d in (docs["plain"], docs["all"]):
        t = d["totals"]
        assert t["unreadable"] == 0 and t["unwind_incomplete"] == 0 and t["registers_unavailable"] == 0
        assert t["unreadable_functions"] == 0
    for g in docs["all"]["goroutines"]:
        assert g["unwind"] == "complete", g["id"]
        assert g["frames"][-1]["func"] == "runtime.goexit", g["id"]
        assert g["stack_bytes"] and g["stack_bytes"] < int(g["stack_hi"], 16) - int(g["stack_lo"], 16)


def test_blockers_group_into_one_row(sample_core, docs):
    want = sample_core.oracle["Sample"]["Goroutines"]
    for by in ("top", "start"):
        groups = docs[by]["groups"]
        assert groups[0][by] == "main.blocker" and groups[0]["count"] == want, groups[0]
        assert groups[0]["status"] == "waiting" and groups[0]["wait_reason"] == "chan receive"
        assert sum(g["count"] for g in groups) == sample_core.oracle["NumGoroutine"]
    status = docs["status"]["groups"]
    assert status[0]["state"] == "chan receive" and status[0]["count"] == want
    assert [f["func"] for f in status[0]["frames"]][:1] == ["runtime.gopark"]


def test_blockers_frames(sample_core, docs):
    blockers = [g for g in docs["all"]["goroutines"] if g["start"] == "main.blocker"]
    assert len(blockers) == sample_core.oracle["Sample"]["Goroutines"]
    depths = set()
    for g in blockers:
        funcs = [f["func"] for f in g["frames"]]
        assert g["created_by"] == "main.buildHeap" and g["top"] == "main.blocker"
        assert funcs[0] == "runtime.gopark" and funcs[-1] == "runtime.goexit"
        n = funcs.count("main.blocker")
        depths.add(n)  # blocker(i%8) recurses i%8 times
        assert "runtime.chanrecv1" in funcs
    assert depths == set(range(1, 9))


def test_main_goroutine(docs):
    main = next(g for g in docs["all"]["goroutines"] if g["id"] == 1)
    funcs = [f["func"] for f in main["frames"]]
    assert "main.main" in funcs and "runtime.main" in funcs
    assert main["status"] in ("running", "syscall")
    assert main["regs"] in ("thread", "signal", "syscall")
    mm = next(f for f in main["frames"] if f["func"] == "main.main")
    assert mm["file"].endswith("samples/goheap/main.go") and mm["line"] > 0


def _addr2line(exe, pcs):
    p = subprocess.run(["go", "tool", "addr2line", str(exe)], input="".join(f"0x{pc:x}\n" for pc in pcs),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    return [(lines[2 * i], lines[2 * i + 1]) for i in range(len(pcs))]


def test_lines_match_addr2line(sample_core, docs):
    # The first row of each physical frame is the innermost inlined position at the
    # frame's pc (callers: the call instruction, pc - 1), which is what addr2line prints.
    want = {}
    for g in docs["all"]["goroutines"]:
        seen = []
        for f in g["frames"]:
            key = (f["pc"], f["sp"])
            if key in seen:
                continue
            innermost = not seen
            seen.append(key)
            pc = int(f["pc"], 16) - (0 if innermost else 1)
            want[pc] = f"{f['file']}:{f['line']}"
    pcs = sorted(want)[:200]
    got = _addr2line(sample_core.exe, pcs)
    for pc, (_, fileline) in zip(pcs, got):
        assert fileline == want[pc], hex(pc)


def test_group_by_rejects_unknown_key(sample_core):
    p = samples.run_core_cli(sample_core, "goroutines --group-by color")
    assert p.returncode != 0 and "--group-by" in p.stderr


def test_front_ends_agree(sample_core):
    cmds = ["goroutines --group-by top --bt 8", "goroutines --bt 3 --json"]
    cli = [samples.run_core_cli(sample_core, c).stdout for c in cmds]
    g = samples.run_gdb(sample_core.exe, sample_core.core, *cmds)
    l = samples.run_lldb(sample_core.exe, sample_core.core, *cmds)
    for c, out in zip(cmds, cli):
        assert out and out in g.stdout, c
        assert out in l.stdout, c
