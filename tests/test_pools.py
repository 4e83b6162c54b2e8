"""pool-residue (issue 5) against samples/gopool.

samples/gopool puts known objects into four sync.Pools (a private slot only;
a private slot and a 19-entry shared chain of two dequeues; a victim cache
after exactly one GC; a pool inside a heap object), records from the pools'
own internals on which P and where each one landed, writes a heap dump and
stops; see tests/pool_samples.py for the oracle.  Slot sizes and the bytes
only a pool keeps alive come from the heap dump's graph, never from memdbg.

  pool-residue [--pool ADDR] --json
    {"command":"pool-residue",
     "pools":[{"address","name","found_in","local","local_size","victim","victim_size",
               "count","bytes","retained_only_bytes","retained_only_objects","held_outside",
               "inconsistent","unreadable",
               "locations":[{"p","cache","slot","count","bytes","types"}],
               "types":[{"count","bytes","type"}],
               "objects":[{"p","cache","slot","value","base","size","type"}]}],  (--pool only)
     "totals":{"pools","count","bytes","private","shared","victim_private","victim_shared",
               "retained_only_bytes","held_outside","problems"}}
"""

import pytest

import heapdump
import pool_samples
import samples
import typecheck


@pytest.fixture(scope="session")
def pool_core(go_config, core_kind):
    return pool_samples.core_fixture(go_config, core_kind)


def hexaddr(v):
    return int(v, 16) if isinstance(v, str) else v


def residue(sc):
    return pool_samples.cli_json(sc, "pool-residue")


def graph(sc):
    return pool_samples.dump_graph(sc, pool_samples.cli_json(sc, "mspan-walk")["spans"])


def by_address(doc):
    return {hexaddr(p["address"]): p for p in doc["pools"]}


def location_types(text):
    """"*main.A" or "*main.A (3), *main.B (2)" -> {type: count or None}."""
    out = {}
    for part in text.split(", "):
        if part.endswith(")") and " (" in part:
            name, n = part.rsplit(" (", 1)
            out[name] = int(n[:-1])
        else:
            out[part] = None
    return out


def test_check_mode(go_config):
    """The sample's own checks pass and nothing allocates from the heap dump on."""
    try:
        p, oracle = pool_samples.run_check_mode(go_config)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    assert p.returncode == 0, p.stdout + p.stderr
    assert [len(x["Entries"]) for x in oracle["Pools"]] == [1, 20, 11, 3]


def test_oracle_heapdump_agrees(pool_core):
    g, o = graph(pool_core), pool_core.oracle
    assert sum(x.size for x in g.objects) == o["MemStats"]["HeapAlloc"]
    for pool in o["Pools"]:
        for e in pool["Entries"]:
            assert g.find(e["Addr"]) == e["Addr"], (pool["Name"], e)


def test_every_sample_pool_found(pool_core):
    doc, o = residue(pool_core), pool_core.oracle
    pools = by_address(doc)
    for want in o["Pools"]:
        got = pools.get(want["Addr"])
        assert got, f"{want['Name']} at {want['Addr']:#x} not listed"
        if want["Name"].startswith("main.Holder"):
            assert got["name"].startswith(f"main.Holder.pool in {o['Holder']:#x}"), got["name"]
            assert got["found_in"] == "allPools"
        else:
            assert got["name"] == want["Name"]
            assert "global" in got["found_in"].split()
        assert hexaddr(got["local"] or 0) == want["Local"] and got["local_size"] == want["LocalSize"]
        assert hexaddr(got["victim"] or 0) == want["Victim"] and got["victim_size"] == want["VictimSize"]
        assert got["inconsistent"] == 0 and got["unreadable"] == 0
    # After the last GC the victim pool is only in oldPools; the others are in allPools.
    assert "oldPools" in pools[o["Pools"][2]["Addr"]]["found_in"]
    assert "allPools" in pools[o["Pools"][0]["Addr"]]["found_in"]
    assert doc["totals"]["problems"] == 0


def test_counts_bytes_types_per_location(pool_core):
    """Per pool, per P, per location: exact count, slot bytes (heap dump) and types."""
    doc, o, g = residue(pool_core), pool_core.oracle, graph(pool_core)
    pools = by_address(doc)
    for want in o["Pools"]:
        got = pools[want["Addr"]]
        exp = {}
        for e in want["Entries"]:
            k = (e["P"], e["Cache"], e["Slot"])
            n, b, types = exp.get(k, (0, 0, set()))
            exp[k] = (n + 1, b + g.size(e["Addr"]), types | {e["Type"]})
        rows = {(r["p"], r["cache"], r["slot"]): r for r in got["locations"]}
        assert set(rows) == set(exp), (want["Name"], rows, exp)
        for k, (n, b, types) in exp.items():
            r = rows[k]
            assert (r["count"], r["bytes"]) == (n, b), (want["Name"], k, r)
            assert set(location_types(r["types"])) == types, (want["Name"], k, r)
        assert got["count"] == len(want["Entries"])
        assert got["bytes"] == sum(g.size(e["Addr"]) for e in want["Entries"])
        t = {r["type"]: (r["count"], r["bytes"]) for r in got["types"]}
        exp_t = {}
        for e in want["Entries"]:
            n, b = exp_t.get(e["Type"], (0, 0))
            exp_t[e["Type"]] = (n + 1, b + g.size(e["Addr"]))
        assert t == exp_t, want["Name"]


def test_sample_layout(pool_core):
    """What the sample built: private only; private + 19 shared; victim 1 + 10; 1 + 2."""
    doc, o = residue(pool_core), pool_core.oracle
    pools = by_address(doc)
    shape = []
    for want in o["Pools"]:
        shape.append(sorted((r["cache"], r["slot"], r["count"]) for r in pools[want["Addr"]]["locations"]))
    assert shape == [[("local", "private", 1)],
                     [("local", "private", 1), ("local", "shared", 19)],
                     [("victim", "private", 1), ("victim", "shared", 10)],
                     [("local", "private", 1), ("local", "shared", 2)]]


def test_totals(pool_core):
    doc = residue(pool_core)
    t = doc["totals"]
    assert t["pools"] == len(doc["pools"])
    assert t["count"] == sum(p["count"] for p in doc["pools"])
    assert t["bytes"] == sum(p["bytes"] for p in doc["pools"])
    assert t["retained_only_bytes"] == sum(p["retained_only_bytes"] for p in doc["pools"])
    assert t["private"] + t["shared"] + t["victim_private"] + t["victim_shared"] == t["count"]
    mine = sum(len(p["Entries"]) for p in pool_core.oracle["Pools"])
    assert t["count"] >= mine


def test_retained_only_through_pools(pool_core):
    """Per pool: the slot bytes of what nothing but the pool's internals reaches (heap dump graph)."""
    doc, o, g = residue(pool_core), pool_core.oracle, graph(pool_core)
    pools = by_address(doc)
    live = g.reachable()
    for want in o["Pools"]:
        internals = frozenset(g.find(a) for a in want["Internals"])
        assert None not in internals, want["Name"]
        cut = (live - g.reachable(internals)) - internals
        expected = sum(g.size(x) for x in cut)
        got = pools[want["Addr"]]
        assert got["retained_only_bytes"] == expected, want["Name"]
        assert got["retained_only_objects"] == len(cut), want["Name"]
    # The item a global also holds is not retained only by its pool; the others hold their payloads.
    shared = pools[o["Pools"][1]["Addr"]]
    items = [g.find(e["Addr"]) for e in o["Pools"][1]["Entries"]]
    per_item = g.size(items[0]) + g.size(o["Payloads"][0])
    assert shared["retained_only_bytes"] == (len(items) - 1) * per_item


def test_held_outside(pool_core):
    """Per pool: the entries the roots still reach without entering the pool's internals (heap dump graph):
    used after Put.  In gopool that is main.alsoHeld's item, in main.sharedPool."""
    doc, o, g = residue(pool_core), pool_core.oracle, graph(pool_core)
    pools = by_address(doc)
    for want in o["Pools"]:
        internals = frozenset(g.find(a) for a in want["Internals"])
        outside = g.reachable(internals)
        expected = sum(g.find(e["Addr"]) in outside for e in want["Entries"])
        assert pools[want["Addr"]]["held_outside"] == expected, want["Name"]
    assert pools[o["Pools"][1]["Addr"]]["held_outside"] == 1
    assert doc["totals"]["held_outside"] == sum(p["held_outside"] for p in doc["pools"])


def test_pool_filter_lists_objects(pool_core):
    o = pool_core.oracle
    want = o["Pools"][1]
    doc = pool_samples.cli_json(pool_core, f"pool-residue --pool {want['Addr']:#x}")
    assert [hexaddr(p["address"]) for p in doc["pools"]] == [want["Addr"]]
    objs = doc["pools"][0]["objects"]
    assert [(r["p"], r["cache"], r["slot"], hexaddr(r["value"]), r["type"]) for r in objs] == \
        [(e["P"], e["Cache"], e["Slot"], e["Addr"], e["Type"]) for e in want["Entries"]]
    assert all(hexaddr(r["base"]) == hexaddr(r["value"]) for r in objs)


def test_unknown_pool_is_an_error(pool_core):
    p = samples.run_core_cli(pool_core, "pool-residue --pool 0x10")
    assert p.returncode != 0
    assert "no sync.Pool at 0x10" in p.stderr


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
def test_front_ends(pool_core, json_out):
    if pool_core.kind != "kernel":
        pytest.skip("one core kind is enough")
    pool_samples.check_front_ends(pool_core, "pool-residue", json_out)


def test_types_agree_with_heapdump(pool_core):
    """Every typed object's type gives exactly the pointer offsets the heap dump records."""
    typecheck.check_types(pool_core, heapdump.parse(pool_samples.heapdump_path(pool_core)))
    assert typecheck.typed_pct(pool_core) >= 99
