"""test_holds' checks on the production builds of goholds (see tests/production.py).

goholds holds its objects in globals, whose names and types only DWARF has:
the who-holds and retained checks are run again here with the names and
types left out (a stripped build names a global by its section and offset
and leaves an object only a global reaches untyped), against the same heap
dump graph; test_production.py compares the names and types themselves
with the unstripped reading of the same core.
"""

import re

import pytest

import production
from test_holds import *  # noqa: F401,F403  the same tests, with the core_kind below
from test_holds import (RETAINED, SCENARIOS, cached, check_paths_are_real, expected_retained, graph, hexaddr,
                        holds_samples, scenario, tree_row, who_holds)

core_kind, sample_core = production.production_fixtures()
del test_check_mode  # noqa: F821  builds the default sample only
# Replaced below by their checks without names and types.
del test_who_holds, test_retained, test_top_retainers  # noqa: F821
# Names of globals, and types only a global's DWARF type gives.
del test_who_holds_header_object_interior, test_who_holds_paths_option, test_who_holds_text  # noqa: F821
del test_top_retainers_by_type, test_top_retainers_by_root, test_top_retainers_pprof  # noqa: F821
del test_front_ends_who_holds  # noqa: F821


def same_type(got, want):
    """The type without DWARF: the same, unknown, or (a backing array) another length of it."""
    return got in (want, None) or (re.sub(r"^\[\d+\]", "", got) == re.sub(r"^\[\d+\]", "", want or ""))


@pytest.mark.parametrize("name", SCENARIOS)
def test_who_holds_paths(holds_core, name):
    g = graph(holds_core)
    for s in scenario(holds_core, name):
        doc = who_holds(holds_core, s["Target"])
        assert hexaddr(doc["target"]["base"]) == g.find(s["Target"]) and doc["status"] == s["Status"], name
        assert doc["target"]["size"] == g.size(g.find(s["Target"]))
        assert same_type(doc["target"]["type"], s["Type"]), (name, doc["target"])
        if s["Status"] == "garbage":
            assert doc["paths"] == []
        if s["Status"] != "reachable":
            continue
        check_paths_are_real(holds_core, doc)
        paths = doc["paths"]
        if s["Paths"] >= 0:
            assert len(paths) == s["Paths"], name
        if s["RootKind"] in ("global", "stack", "finalizer"):
            assert all(p["root"]["kind"] == s["RootKind"] for p in paths), name
        want = s["Hops"]
        got = paths[0]["hops"] if s["HopsExact"] else paths[0]["hops"][-len(want):]
        assert [hexaddr(h["addr"]) for h in got] == [g.find(h["Addr"]) for h in want], (name, got)
        assert all(same_type(h["type"], w["Type"]) for h, w in zip(got, want)), (name, got)


@pytest.mark.parametrize("name", RETAINED)
def test_retained_sizes(holds_core, name):
    row = holds_samples.retained_rows(holds_core.oracle)[name]
    g = graph(holds_core)
    doc = cached(holds_core, f"retained {row['Addr']:#x}")
    assert hexaddr(doc["base"]) == g.find(row["Addr"]) and same_type(doc["type"], row["Type"])
    assert (doc["retained_bytes"], doc["retained_objects"]) == expected_retained(holds_core, row)
    if row["Dominators"] is not None:
        assert [hexaddr(d["addr"]) for d in doc["dominators"][:-1]] == [g.find(a) for a in row["Dominators"]]


def test_top_retainers_sizes(holds_core):
    rows = cached(holds_core, "top-retainers -n 10")["retainers"]
    assert [r["retained_bytes"] for r in rows] == sorted((r["retained_bytes"] for r in rows), reverse=True)
    g, want = graph(holds_core), tree_row(holds_core)
    mine = [r for r in rows if hexaddr(r["addr"]) == g.find(want["Addr"])]
    assert len(mine) == 1 and (mine[0]["retained_bytes"], mine[0]["retained_objects"]) == \
        expected_retained(holds_core, want)


import heapdump  # noqa: E402
import pool_samples  # noqa: E402,F811
import typecheck  # noqa: E402

del test_types_agree_with_heapdump  # noqa: F821  its typed share is the DWARF build's


def test_types_agree_with_heapdump_without_dwarf(holds_core):
    """Every typed object's type gives exactly the pointer offsets the heap dump records."""
    typecheck.check_types(holds_core, holds_samples.load_heapdump(holds_core))
