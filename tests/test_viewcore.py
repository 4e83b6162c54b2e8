"""setup/viewcore_compare.py on samples/goobjects (kernel core, every config).

The comparison's own figures where the runtime's oracle decides: memdbg's objects
are the heap dump's, its live set is the one the GC would mark, its goroutine
count is NumGoroutine, its who-holds paths hold in the dump's pointers.  viewcore's
figures are only required to be there (they are reported in docs/benchmarks.md,
with every disagreement explained, not asserted).
"""

import sys

import pytest

import objects_samples
import samples

sys.path.insert(0, str(samples.REPO / "setup"))
import bench              # noqa: E402
import viewcore_compare   # noqa: E402


@pytest.fixture(scope="module")
def row(go_config):
    vc, why, _, _ = bench.find_viewcore(None)
    if vc is None:
        pytest.skip(f"viewcore: {why}")
    try:
        cc = viewcore_compare.get_core("goobjects", go_config)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    return viewcore_compare.measure(cc, vc, 2)


def test_memdbg_objects_are_the_runtimes(row):
    assert (row["memdbg_objects"], row["memdbg_bytes"]) == (row["dump_objects"], row["dump_bytes"])
    assert row["memdbg_live_objects"] == row["dump_live_objects"]
    assert row["memdbg_live_bytes"] == row["dump_live_bytes"]


def test_memdbg_goroutines(row):
    assert row["memdbg_goroutines"] == row["num_goroutine"]
    assert row["memdbg_goroutines_all"] == row["dump_goroutines"]


def test_paths_hold_in_the_dump(row):
    assert row["paths"]
    for p in row["paths"]:
        assert p["memdbg"]["check"] == "valid", p


def test_viewcore_figures_reported(row):
    """viewcore's figures, or its failure (it panics typing go1.22 heaps), are in the row."""
    assert row["viewcore_goroutines"] > 0
    if "viewcore_error" in row:
        assert row["viewcore_error"], row
        return
    assert row["viewcore_live_objects"] > 0 and 0 < row["viewcore_typed_pct"] <= 100
    assert all(p["viewcore"]["check"] for p in row["paths"])
