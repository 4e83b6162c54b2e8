"""test_objects' checks on the production builds of goobjects (see tests/production.py).

goobjects keeps most of its objects in globals: without DWARF, an object
that only a global or a local reaches (and that has no malloc header and
describes itself no other way) is untyped.  The typing checks are run again
here as "never wrong": each recorded object has its type or none, and no
type has more objects than the sample made of it.
"""

import re

import production
from test_objects import *  # noqa: F401,F403  the same tests, with the core_kind below
from test_objects import ALL, _histogram_counts, cached, hexaddr, objects_samples

core_kind, sample_core = production.production_fixtures()
del test_check_mode  # noqa: F821  builds the default sample only
# Exact type counts and the typed share: the variables' DWARF types typed most of them.
del test_objects_types_and_liveness, test_histogram_all_counts, test_histogram_live_counts  # noqa: F821
del test_histogram_totals, test_object_at_recorded_addresses  # noqa: F821


def same_type(got, want):
    return got in (want, None) or re.sub(r"^\[\d+\]", "", got) == re.sub(r"^\[\d+\]", "", want)


def test_types_never_wrong(objects_core):
    doc = cached(objects_core, "objects")
    by_addr = {hexaddr(x["addr"]): x for x in doc["objects"]}
    d = objects_samples.load_heapdump(objects_core)
    for rec in objects_core.oracle["Objects"]:
        x = by_addr[d.find(rec["Addr"]).addr]
        assert same_type(x["type"], rec["Type"]) and x["live"] is True, (rec, x)


def test_histogram_never_more(objects_core):
    doc = cached(objects_core, ALL)
    rows = _histogram_counts(doc)
    for name, t in objects_samples.expected_types(objects_core.oracle).items():
        assert rows.get(name, {"count": 0})["count"] <= t["Count"], name
    t = doc["totals"]
    assert sum(r["count"] for r in doc["types"]) == t["objects"] and sum(r["bytes"] for r in doc["types"]) == t["bytes"]
    assert t["bytes"] == objects_core.oracle["MemStats"]["HeapAlloc"]


import typecheck  # noqa: E402

# Counts, sources and field texts of objects only globals reach (their DWARF types), and the typed share.
del test_histogram_groups_arrays, test_histogram_names_unknowns_and_sources  # noqa: F821
del test_misleading_words_rejected, test_object_type_source, test_object_string_fields  # noqa: F821
del test_who_holds_string_hop, test_types_agree_with_heapdump  # noqa: F821


def test_types_agree_with_heapdump_without_dwarf(objects_core):
    """Every typed object's type, laid over its slot, has exactly the runtime's pointer words."""
    typecheck.check_types(objects_core, objects_samples.load_heapdump(objects_core))
