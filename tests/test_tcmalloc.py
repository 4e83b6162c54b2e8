"""TCMalloc (gperftools 2.10: Debian's stripped libtcmalloc_minimal.so.4 and libtcmalloc.so.4, and the
static archive): every figure equals what MallocExtension said right before the core was taken."""

import re

import pytest

import alloc_samples as al
import samples

VARIANTS = ("tc-minimal", "tc-full", "tc-sampled", "tc-static")
KINDS = ("kernel", "gcore")


def _core(variant, kind):
    try:
        return al.make_core(variant, kind)
    except al.Unavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module", params=[(v, k) for v in VARIANTS for k in KINDS], ids=lambda p: f"{p[0]}-{p[1]}")
def tc_core(request):
    return _core(*request.param)


def _stats_classes(text):
    """GetStats: free objects in the central, transfer and thread caches, per size class."""
    return {int(m.group(1)): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^class +(\d+) \[ +(\d+) bytes \] : +(\d+) objs;", text, re.M)}


def _stats_free_spans(text):
    """GetStats: free (normal + returned) spans per length, and the '>128 large' line."""
    spans = {int(m.group(1)): int(m.group(2))
             for m in re.finditer(r"^ *(\d+) pages \* +(\d+) spans", text, re.M)}
    large = re.search(r"^>(\d+) +large \* +(\d+) spans", text, re.M)
    return spans, int(large.group(2))


def test_info(tc_core):
    d = al.cli_json(tc_core, "tc-info")
    assert d["version"] == "gperftools 2.10"
    assert d["found_by"] == ("symbol table" if tc_core.variant.name == "tc-static" else "build-id table")
    assert d["spans_inconsistent"] == 0 and d["leaves_unreadable"] == 0 and d["lists_inconsistent"] == 0
    assert d["thread_caches"] >= 4


def test_numeric_properties(tc_core):
    props = tc_core.oracle["properties"]
    d = al.cli_json(tc_core, "tc-stats")
    for name in ("generic.current_allocated_bytes", "generic.heap_size", "tcmalloc.pageheap_free_bytes",
                 "tcmalloc.pageheap_unmapped_bytes", "tcmalloc.pageheap_committed_bytes",
                 "tcmalloc.central_cache_free_bytes", "tcmalloc.transfer_cache_free_bytes",
                 "tcmalloc.thread_cache_free_bytes", "tcmalloc.slack_bytes"):
        key = name.split(".", 1)[1].replace("heap_size", "heap_size")
        assert d[key] == props[name], name
    w = d["walk"]
    assert w["allocated_bytes"] == props["generic.current_allocated_bytes"]
    assert w["free_bytes"] == props["tcmalloc.pageheap_free_bytes"]
    assert w["unmapped_bytes"] == props["tcmalloc.pageheap_unmapped_bytes"]


def test_classes(tc_core):
    o = tc_core.oracle
    d = al.cli_json(tc_core, "tc-classes --all")
    assert d["mismatched_classes"] == 0
    rows = {r["class"]: r for r in d["classes"]}
    cached = _stats_classes(o["stats"])
    for cl, r in rows.items():
        size, objs = cached.get(cl, (r["size"], 0))
        assert (r["size"], r["cache_objs"]) == (size, objs), cl
    by_size = {r["size"]: r for r in rows.values()}
    for c in o["ranges"]["classes"]:
        r = by_size[c["size"]]
        # The oracle puts a sampled object's span in its object's class (GetAllocatedSize), and
        # Ranges() says such a span (size class 0) is wholly in use: length / size objects.
        assert r["spans"] + r["sampled"] == c["spans"], c
        page = 8192
        per_sampled = round(-(-c["size"] // page) * page / c["size"])
        assert r["in_use"] + r["thread"] + r["transfer"] + r["sampled"] * per_sampled == c["refcount"], c
    assert sum(r["thread"] for r in rows.values()) > 0
    if tc_core.variant.name == "tc-sampled":
        assert sum(r["sampled"] for r in rows.values()) > 0


def test_pageheap(tc_core):
    o = tc_core.oracle
    d = al.cli_json(tc_core, "tc-pageheap")
    by = {r["state"]: r for r in d["by_state"]}
    rg = o["ranges"]
    assert (by["free"]["spans"], by["free"]["bytes"]) == (rg["free_spans"], rg["free_bytes"])
    assert (by["returned"]["spans"], by["returned"]["bytes"]) == (rg["unmapped_spans"], rg["unmapped_bytes"])
    assert (by["in use (large)"]["spans"], by["in use (large)"]["bytes"]) == (rg["large_spans"], rg["large_bytes"])
    assert by["returned"]["bytes"] > 0 and by["free"]["bytes"] > 0
    spans, large = _stats_free_spans(o["stats"])
    got = {}
    for r in d["by_length"]["lengths"]:
        n = r["free"] + r["returned"]
        if n:
            got[r["pages"]] = n
    assert got.pop(">128", 0) == large
    assert {int(k): v for k, v in got.items()} == spans


def test_caches(tc_core):
    d = al.cli_json(tc_core, "tc-caches")
    assert d["totals"]["bytes"] == tc_core.oracle["properties"]["tcmalloc.thread_cache_free_bytes"]
    assert d["totals"]["transfer_cache_bytes"] == tc_core.oracle["properties"]["tcmalloc.transfer_cache_free_bytes"]


def test_blocks(tc_core):
    for b in tc_core.oracle["blocks"]:
        addr = int(b["addr"], 16)
        d = al.cli_json(tc_core, f"tc-block {b['addr']}")
        assert d["block"]["state"] == b["state"], b
        assert int(d["block"]["start"], 16) == addr and d["block"]["size"] >= b["request"], b
        inner = al.cli_json(tc_core, f"tc-block {addr + 5:#x}")
        assert inner["block"]["start"] == d["block"]["start"] and inner["block"]["offset"] == 5


def test_bad_arguments(tc_core):
    p = samples.run_cli(["core", tc_core.core, "--exe", tc_core.exe, "-c", "tc-block 0x10"])
    assert p.returncode == 1 and "not in any TCMalloc span" in p.stderr
    p = samples.run_cli(["core", tc_core.core, "--exe", tc_core.exe, "-c", "je-info"])
    assert p.returncode == 1 and "no jemalloc in this target" in p.stderr


def test_jemalloc_core_has_no_tcmalloc():
    try:
        c = al.make_core("je-shared", "kernel")
    except al.Unavailable as e:
        pytest.skip(str(e))
    p = samples.run_cli(["core", c.core, "--exe", c.exe, "-c", "tc-info"])
    assert p.returncode == 1 and "no TCMalloc in this target" in p.stderr


@pytest.mark.parametrize("variant", ("tc-unknown", "tc-full-unknown"))
def test_unknown_build_found_by_code_search(variant):
    """A library whose build-id is in no table (a copy with other build-id bytes) and that has no
    symbols: its statics come from InitStaticVars' code, and every figure still matches."""
    c = _core(variant, "kernel")
    info = al.cli_json(c, "tc-info")
    assert info["found_by"] == "code search (InitStaticVars)" and info["build_id"].startswith("deadbeef")
    d = al.cli_json(c, "tc-stats")
    props = c.oracle["properties"]
    assert d["current_allocated_bytes"] == props["generic.current_allocated_bytes"]
    assert d["thread_cache_free_bytes"] == props["tcmalloc.thread_cache_free_bytes"]
    assert d["central_cache_free_bytes"] == props["tcmalloc.central_cache_free_bytes"]
    assert d["pageheap_unmapped_bytes"] == props["tcmalloc.pageheap_unmapped_bytes"]


def test_frontends_agree():
    if al.asan_extension():
        pytest.skip("the extension is an ASan build; debugger tests run with the normal build")
    c = _core("tc-minimal", "kernel")
    want = samples.run_cli(["core", c.core, "--exe", c.exe, "-c", "tc-stats --json"]).stdout
    g = samples.run_gdb(c.exe, c.core, "tc-stats --json")
    assert want and want in g.stdout, g.stderr
    lo = samples.run_lldb(c.exe, c.core, "tc-stats --json")
    assert want.strip() in lo.stdout, lo.stderr


@pytest.mark.parametrize("variant", ("tc-minimal", "tc-static"))
def test_live_matches_oracle(variant):
    try:
        cm = al.live(variant)
        pid, exe, o = cm.__enter__()
    except al.Unavailable as e:
        pytest.skip(str(e))
    try:
        d = al.pid_json(pid, exe, "tc-stats")
        props = o["properties"]
        assert d["current_allocated_bytes"] == props["generic.current_allocated_bytes"]
        assert d["thread_cache_free_bytes"] == props["tcmalloc.thread_cache_free_bytes"]
        assert d["pageheap_unmapped_bytes"] == props["tcmalloc.pageheap_unmapped_bytes"]
        assert d["walk"]["allocated_bytes"] == props["generic.current_allocated_bytes"]
        if al.asan_extension():
            return
        g = samples.run_gdb(exe, pid, "tc-stats --json")
        assert f'"current_allocated_bytes":{props["generic.current_allocated_bytes"]}' in g.stdout, g.stderr
        lo = samples.run_lldb(exe, pid, "tc-stats --json")
        assert f'"current_allocated_bytes":{props["generic.current_allocated_bytes"]}' in lo.stdout, lo.stderr
    finally:
        cm.__exit__(None, None, None)


def test_heap_block_and_find_refs(tc_core):
    o = tc_core.oracle
    for b in o["blocks"]:
        d = al.cli_json(tc_core, f"heap-block {b['addr']}")
        assert d["heap"] == "tcmalloc" and d["start"] == b["addr"]
        assert d["state"] == ("cached" if b["state"] == "thread" else "allocated")
    chain = o["chain"]
    for i in (1, 42, 99):
        d = al.cli_json(tc_core, f"find-refs {chain[i]}")
        refs = {r["address"]: r["holder"] for r in d["refs"]}
        assert refs.get(chain[i - 1], "").startswith("tcmalloc block "), refs
        assert any("chain+" in h for h in refs.values()), refs  # C++: _ZL5chain


@pytest.mark.parametrize("seed", range(6))
def test_damaged_metadata(tmp_path, seed):
    """Overwritten thread caches, central lists, free objects: counted, reported or one line, never a crash."""
    import random
    import shutil
    c = _core("tc-minimal", "kernel")
    rng = random.Random(seed)
    info = al.cli_json(c, "tc-info")
    caches = [int(r["cache"], 16) for r in al.cli_json(c, "tc-caches")["thread_caches"]]
    central = int(info["central_cache"], 16)
    records = [int(al.cli_json(c, f"tc-block {b['addr']}")["span"]["record"], 16) for b in c.oracle["blocks"]]
    chain = [int(a, 16) for a in c.oracle["chain"]]
    loads = al.core_loads(c.core)
    damaged = tmp_path / "core"
    shutil.copyfile(c.core, damaged)
    targets = [rng.choice(caches) + rng.randrange(0, 0x1040) // 8 * 8 for _ in range(30)] + \
              [central + rng.randrange(0, 86 * 0x4c0) // 8 * 8 for _ in range(30)] + \
              [rng.choice(records) + rng.randrange(0, 48) // 8 * 8 for _ in range(4)] + \
              [rng.choice(chain) for _ in range(5)]
    with open(damaged, "r+b") as f:
        for addr in targets:
            off = al.file_offset(loads, addr)
            if off is not None:
                f.seek(off)
                f.write(rng.choice([b"\xff" * 8, b"\0" * 8, rng.randbytes(8)]))
    cmds = ["tc-info", "tc-stats", "tc-classes --all", "tc-pageheap", "tc-caches",
            f"tc-block {c.oracle['blocks'][0]['addr']}", f"heap-block {c.oracle['blocks'][1]['addr']}",
            f"find-refs {c.oracle['chain'][3]}"]
    for cmd in cmds:
        p = samples.run_cli(["core", damaged, "--exe", c.exe, "-c", cmd], timeout=120)
        assert p.returncode in (0, 1), (cmd, p.returncode, p.stderr[-2000:])
        assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, (cmd, p.stderr[-2000:])
        if p.returncode == 1:
            assert p.stderr.count("\n") == 1 and p.stderr.startswith("memdbg: "), (cmd, p.stderr)
