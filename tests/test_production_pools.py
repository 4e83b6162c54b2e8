"""test_pools's oracle checks on the production builds of its sample (see tests/production.py)."""

import re

import production
from test_pools import *  # noqa: F401,F403  the same tests, with the core_kind below

core_kind, sample_core = production.production_fixtures()
del test_check_mode  # noqa: F821  builds the default sample only: nothing production about it

from test_pools import by_address, hexaddr, residue  # noqa: E402

del test_every_sample_pool_found  # noqa: F821  names the pool globals; below without their names


def test_every_sample_pool_found_by_address(pool_core):
    """Every pool the sample made, at its address, with its caches; a global one named by its section."""
    doc, o = residue(pool_core), pool_core.oracle
    pools = by_address(doc)
    for want in o["Pools"]:
        got = pools.get(want["Addr"])
        assert got, f"{want['Name']} at {want['Addr']:#x} not listed"
        if want["Name"].startswith("main.Holder"):
            # Its holder is typed only by the global that holds it: without DWARF, the heap object and offset.
            assert got["name"].startswith((f"main.Holder.pool in {o['Holder']:#x}",
                                           f"{want['Addr']:#x} (heap object {o['Holder']:#x}+")), got["name"]
            assert got["found_in"] == "allPools"
        else:
            assert re.fullmatch(r"(data|bss)\+0x[0-9a-f]+", got["name"]), got["name"]
        assert hexaddr(got["local"] or 0) == want["Local"] and got["local_size"] == want["LocalSize"]
        assert hexaddr(got["victim"] or 0) == want["Victim"] and got["victim_size"] == want["VictimSize"]
        assert got["inconsistent"] == 0 and got["unreadable"] == 0
    assert "oldPools" in pools[o["Pools"][2]["Addr"]]["found_in"]
    assert "allPools" in pools[o["Pools"][0]["Addr"]]["found_in"]
    assert doc["totals"]["problems"] == 0


import heapdump  # noqa: E402
import pool_samples  # noqa: E402,F811
import typecheck  # noqa: E402

del test_types_agree_with_heapdump  # noqa: F821  its typed share is the DWARF build's


def test_types_agree_with_heapdump_without_dwarf(pool_core):
    """Every typed object's type gives exactly the pointer offsets the heap dump records."""
    typecheck.check_types(pool_core, heapdump.parse(pool_samples.heapdump_path(pool_core)))
