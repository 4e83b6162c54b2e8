"""A core larger than the memory memdbg may use is read through the page cache (issue 13).

triage on samples/bigheap made small (samples.bigheap_small_core: 2 million
objects, a ~350 MB core) runs once without a limit, then, after the core's
pages are dropped from the page cache, inside a memory cgroup (v2 memory.max or
v1 memory.limit_in_bytes) whose limit is half the core's size: the core is
mapped, never copied, so the kernel reclaims its pages as memdbg moves on, and
only memdbg's own index (RssAnon) must fit.  The output must be the same, byte
for byte.  setup/bench.py --suites scale --cgroup-limit does the same on the big
core.  Skipped where no memory cgroup can be made.
"""

import json
import sys

import pytest

import alloc_samples
import samples

sys.path.insert(0, str(samples.REPO / "setup"))
import bench         # noqa: E402
import bench_scale   # noqa: E402

TIMEOUT = 900


def test_triage_under_a_limit_of_half_the_core(big_core, tmp_path, monkeypatch):
    if alloc_samples.asan_extension():
        pytest.skip("an ASan build needs twice the memory for its shadow: the limit is measured with the normal build")
    exe, core = big_core
    monkeypatch.setattr(bench, "MEMDBG", samples.memdbg_path())
    limit = core.stat().st_size // 2
    try:
        r = bench_scale.triage_under_limit(bench, exe, core, limit, tmp_path, TIMEOUT)
    except OSError as e:
        pytest.skip(f"cannot make a memory cgroup: {e}")
    print(bench_scale.limit_report(r))
    free, limited = r["free"], r["limited"]
    assert free["ok"], free["stderr_tail"]
    assert limited["ok"], f"exit {limited['rc']}: {limited['stderr_tail']}"
    assert r["same_output"]
    # The core did not fit: the unlimited run had more of it resident than the limit allows,
    # and the limited one stayed under the limit (it was charged, and reclaimed, as it read).
    assert free["rss"] > limit
    assert r["cgroup_peak"] is None or r["cgroup_peak"] <= limit
    assert limited["anon"] < limit


def test_triage_index_against_the_aim(big_core, tmp_path):
    """triage's peak RssAnon against issue 13's aim, 24 B per object + 4 B per edge (docs/benchmarks.md).

    Not met yet: the kept graph and the object table alone are above it.  This holds what was won on
    2026-12-07 (go_leaks marks without a copy of the edges, no node -> slot array): 1.50x the aim on
    this 2M-object core, 1.78x before.  Nodes and edges are the index's own count (top-retainers).
    """
    if alloc_samples.asan_extension():
        pytest.skip("an ASan build needs twice the memory for its shadow: the index is measured with the normal build")
    exe, core = big_core
    out = tmp_path / "triage.json"
    r = bench_scale.sampled_run([str(samples.memdbg_path()), "core", str(core), "--exe", str(exe), "-c", "triage",
                                 "--json", "--jobs", "1"], out, TIMEOUT)
    assert r["ok"], r["stderr_tail"]
    index = json.loads(out.read_text())["top-retainers"]["index"]
    aim = 24 * index["nodes"] + 4 * index["edges"]
    print(f"peak RssAnon {r['anon'] / 2**20:.1f} MiB = {r['anon'] / aim:.2f}x the aim ({aim / 2**20:.1f} MiB)")
    assert r["anon"] <= 1.65 * aim
