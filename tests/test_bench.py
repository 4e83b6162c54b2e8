"""setup/bench.py's viewcore rows run (issue 13 item 5): a small bigheap core, one round.

The figures are not asserted (speed is measured, not tested); what is: viewcore is
found (shared/tools/viewcore beside the checkout), its `histogram` and `reachable`
runs succeed, and their output is parsed into the report.
"""

import json
import subprocess
import sys

import pytest

import samples

BENCH = samples.REPO / "setup" / "bench.py"


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    sys.path.insert(0, str(BENCH.parent))
    import bench
    vc, why, _, _ = bench.find_viewcore(None)
    if vc is None:
        pytest.skip(f"viewcore: {why}")
    out = tmp_path_factory.mktemp("bench") / "report.md"
    p = subprocess.run([sys.executable, str(BENCH), "--heap", "16M", "--objects", "100000", "--runs", "1",
                        "--suites", "histogram,graph", "--queries", "2", "--fronts", "cli", "--out", str(out)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    return out, json.loads(out.with_name("objects.json").read_text())


def test_viewcore_runs_succeed(bench_run):
    _, objs = bench_run
    for key in ("viewcore: histogram", "viewcore: reachable x1"):
        r = objs["results"][key]
        assert r["ok"], (key, r["stderr_tail"])
        assert r["out_bytes"] > 0, key


def test_viewcore_figures_in_report(bench_run):
    out, objs = bench_run
    text = out.read_text()
    assert "FAILED" not in text and "not measured" not in text
    vh = objs["viewcore_hist"]
    assert vh["rows"] > 0 and vh["bytes"] > 0 and 0 < vh["typed_pct"] <= 100
    assert "viewcore `reachable A1`" in text and "bytes outside unk* rows" in text
