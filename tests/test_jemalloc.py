"""jemalloc 5.3 heaps (Debian's stripped libjemalloc.so.2 and the static archive):
every figure equals what jemalloc's own mallctl said right before the core was taken."""

import json
import os
import re
import shutil
import subprocess

import pytest

import alloc_samples as al
import samples

VARIANTS = ("je-shared", "je-static", "je-hpa", "je-dwarf", "je-vaddr57", "je-unknown")
FOUND_BY = {"je-static": "symbol table", "je-dwarf": "symbol table", "je-vaddr57": "symbol table",
            "je-unknown": "code search (mallctl tree)"}
FROM_DWARF = ("je-dwarf", "je-vaddr57")
KINDS = ("kernel", "gcore")


def _core(variant, kind):
    try:
        return al.make_core(variant, kind)
    except al.Unavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module", params=[(v, k) for v in VARIANTS for k in KINDS], ids=lambda p: f"{p[0]}-{p[1]}")
def je_core(request):
    return _core(*request.param)


def _arenas(oracle):
    return {a["index"]: a for a in oracle["arenas"]}


def test_info(je_core):
    o = je_core.oracle
    d = al.cli_json(je_core, "je-info")
    assert d["version"] == o["version"]
    assert d["arenas"] == o["narenas"]
    assert d["nhbins"] == o["nhbins"] and d["nbins"] == o["nbins"]
    assert d["tcache_max"] == o["tcache_max"] and d["page"] == o["page"]
    assert d["arenas_initialized"] == len(o["arenas"])
    assert d["found_by"] == FOUND_BY.get(je_core.variant.name, "build-id table")
    assert d["arenas_automatic"] == o["opt_narenas"]
    assert d.get("huge_arena") == (o["opt_narenas"] if o["oversize_threshold"] else None)
    assert d["layout"] == ("DWARF" if je_core.variant.name in FROM_DWARF else "table")
    assert d["extents_inconsistent"] == 0 and d["extents_unreadable"] == 0 and d["tcache_inconsistent"] == 0
    assert d["thread_caches"] == 4  # main thread and three workers


def test_stats(je_core):
    o = je_core.oracle
    d = al.cli_json(je_core, "je-stats")
    page = o["page"]
    assert d["allocated"] == o["allocated"]
    assert d["active"] == o["active"]
    assert d["retained"] == o["retained"]
    assert (d["metadata"], d["resident"], d["mapped"]) == (o["metadata"], o["resident"], o["mapped"])
    assert d["tcache_bytes"] == o["tcache_bytes"]
    assert d["dirty"] == sum(a["pdirty"] for a in o["arenas"]) * page
    assert d["muzzy"] == sum(a["pmuzzy"] for a in o["arenas"]) * page
    # The extents alone say the same.
    w = d["walk"]
    assert w["allocated"] == o["allocated"] and w["active"] == o["active"]
    assert w["dirty"] == d["dirty"] and w["retained"] == o["retained"]


def test_arenas(je_core):
    want = _arenas(je_core.oracle)
    got = {a["arena"]: a for a in al.cli_json(je_core, "je-arenas")["arenas"]}
    assert set(got) == set(want)
    for i, a in want.items():
        g = got[i]
        assert (g["nthreads"], g["pactive"], g["pdirty"], g["pmuzzy"]) == \
            (a["nthreads"], a["pactive"], a["pdirty"], a["pmuzzy"]), i
        assert (g["small_allocated"], g["large_allocated"], g["tcache_bytes"]) == \
            (a["small_allocated"], a["large_allocated"], a["tcache_bytes"]), i


def test_bins_per_arena(je_core):
    for i, a in _arenas(je_core.oracle).items():
        d = al.cli_json(je_core, f"je-bins --arena {i} --all")
        assert d["mismatched_bins"] == 0
        rows = {r["bin"]: r for r in d["bins"]}
        for b in a["bins"]:
            r = rows[b["bin"]]
            assert (r["curregs"], r["curslabs"], r["nonfull_slabs"], r["nmalloc"], r["ndalloc"]) == \
                (b["curregs"], b["curslabs"], b["nonfull_slabs"], b["nmalloc"], b["ndalloc"]), (i, b["bin"])
            assert (r["walk_regs"], r["walk_slabs"], r["walk_nonfull"]) == \
                (b["curregs"], b["curslabs"], b["nonfull_slabs"]), (i, b["bin"])


def test_bin_geometry(je_core):
    rows = al.cli_json(je_core, "je-bins --all")["bins"]
    assert [(r["size"], r["nregs"], r["slab_size"]) for r in rows] == \
        [(b["size"], b["nregs"], b["slab_size"]) for b in je_core.oracle["bin_info"]]


def test_blocks(je_core):
    for b in je_core.oracle["blocks"]:
        addr = int(b["addr"], 16)
        d = al.cli_json(je_core, f"je-block {b['addr']}")
        assert d["block"]["state"] == b["state"], b
        assert int(d["block"]["start"], 16) == addr, b
        assert d["block"]["size"] >= b["request"], b
        # An interior address resolves to the same block.
        inner = al.cli_json(je_core, f"je-block {addr + 5:#x}")
        assert inner["block"]["start"] == d["block"]["start"] and inner["block"]["offset"] == 5


def test_tcache_is_counted_once(je_core):
    """Σ over thread caches of cached regions × size is the arenas' tcache_bytes."""
    bins = al.cli_json(je_core, "je-bins --all")["bins"]
    o = je_core.oracle
    small = sum(r["tcached"] * r["size"] for r in bins)
    assert 0 < small <= o["tcache_bytes"]


def test_extents_totals(je_core):
    d = al.cli_json(je_core, "je-extents --limit 5")
    assert len(d["extents"]) == 5 and d["totals"]["shown"] == 5
    by = {r["state"]: r for r in d["totals"]["by_state"]}
    assert by["active"]["bytes"] == je_core.oracle["active"]
    assert by["retained"]["bytes"] == je_core.oracle["retained"]
    # Extents the hugepage allocator freed into its small extent cache (sec).
    assert by["cached"]["bytes"] == sum(a["hpa_sec_bytes"] for a in je_core.oracle["arenas"])
    assert (by["cached"]["bytes"] > 0) == (je_core.variant.name == "je-hpa") == je_core.oracle["opt_hpa"]
    dirty = al.cli_json(je_core, "je-extents --state dirty")
    assert all(r["state"] == "dirty" for r in dirty["extents"])


def test_bad_arguments(je_core):
    p = samples.run_cli(["core", je_core.core, "--exe", je_core.exe, "-c", "je-bins --arena 4000"])
    assert p.returncode == 1 and p.stderr.startswith("memdbg: no arena 4000")
    p = samples.run_cli(["core", je_core.core, "--exe", je_core.exe, "-c", "je-block 0x10"])
    assert p.returncode == 1 and "not in any jemalloc extent" in p.stderr
    p = samples.run_cli(["core", je_core.core, "--exe", je_core.exe, "-c", "je-extents --state bogus"])
    assert p.returncode == 1 and p.stderr.count("\n") == 1


def test_unknown_build_is_one_clear_line():
    """An unknown stripped build whose mallctl tree lacks a name the search needs: one line that
    says what is missing and what would help, no figures."""
    c = _core("je-hidden", "kernel")
    p = samples.run_cli(["core", c.core, "--exe", c.exe, "-c", "je-stats"])
    assert p.returncode == 1 and p.stdout == ""
    line = p.stderr.strip()
    assert "\n" not in line
    assert "not a known build" in line and "deadbeef" in line and "mallctl tree gave no arenas.lookup" in line
    assert "je-table.sh" in line and "/usr/lib/debug/.build-id/" in line


@pytest.mark.parametrize("variant", ("je-static", "je-prefixed"))
@pytest.mark.parametrize("kind", KINDS)
def test_stripped_static_found_by_code_search(tmp_path, variant, kind):
    """A static link stripped of every symbol (Debian's archive, or a -O1 build with the je_ prefix):
    the mallctl tree in the executable gives the globals, and the figures still equal mallctl's."""
    c = _core(variant, kind)
    exe = tmp_path / "exe"
    subprocess.run(["strip", "--strip-all", "-o", str(exe), str(c.exe)], check=True)
    p = samples.run_cli(["core", c.core, "--exe", exe, "-c", "je-info --json", "-c", "je-stats --json"])
    assert p.returncode == 0, p.stderr
    info, stats = (json.loads(line) for line in p.stdout.splitlines())
    o = c.oracle
    assert info["found_by"] == "code search (mallctl tree)" and info["layout"] == "table"
    assert (info["arenas"], info["arenas_automatic"], info["nhbins"], info["tcache_max"]) == \
        (o["narenas"], o["opt_narenas"], o["nhbins"], o["tcache_max"])
    assert (stats["allocated"], stats["active"], stats["tcache_bytes"]) == \
        (o["allocated"], o["active"], o["tcache_bytes"])


@pytest.mark.parametrize("variant", FROM_DWARF)
def test_debug_build_needs_its_dwarf(tmp_path, variant):
    """Without its DWARF, the --enable-debug build's layout is not the table's: one clear line, no figures."""
    c = _core(variant, "kernel")
    exe = tmp_path / "exe"
    subprocess.run(["objcopy", "--strip-debug", str(c.exe), str(exe)], check=True)
    p = samples.run_cli(["core", c.core, "--exe", exe, "-c", "je-stats"])
    assert p.returncode == 1 and p.stdout == ""
    line = p.stderr.strip()
    assert "\n" not in line and "wrong layout" in line, line


def test_frontends_agree():
    if al.asan_extension():
        pytest.skip("the extension is an ASan build; debugger tests run with the normal build")
    c = _core("je-shared", "kernel")
    want = samples.run_cli(["core", c.core, "--exe", c.exe, "-c", "je-stats --json"]).stdout
    g = samples.run_gdb(c.exe, c.core, "je-stats --json")
    assert want and want in g.stdout, g.stderr
    lo = samples.run_lldb(c.exe, c.core, "je-stats --json")
    assert want.strip() in lo.stdout, lo.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_live_matches_oracle(variant):
    try:
        cm = al.live(variant)
        pid, exe, o = cm.__enter__()
    except al.Unavailable as e:
        pytest.skip(str(e))
    try:
        d = al.pid_json(pid, exe, "je-stats")
        assert (d["allocated"], d["active"], d["tcache_bytes"]) == (o["allocated"], o["active"], o["tcache_bytes"])
        for i, a in _arenas(o).items():
            rows = {r["bin"]: r for r in al.pid_json(pid, exe, f"je-bins --arena {i} --all")["bins"]}
            assert [(rows[b["bin"]]["walk_regs"], rows[b["bin"]]["walk_slabs"]) for b in a["bins"]] == \
                [(b["curregs"], b["curslabs"]) for b in a["bins"]]
        if al.asan_extension():
            return
        g = samples.run_gdb(exe, pid, "je-stats --json")
        doc = json.loads(next(line for line in g.stdout.splitlines() if line.startswith('{"command":"je-stats"')))
        assert doc["allocated"] == o["allocated"] and doc["tcache_bytes"] == o["tcache_bytes"]
        lo = samples.run_lldb(exe, pid, "je-stats --json")
        assert f'"allocated":{o["allocated"]},"active":{o["active"]}' in lo.stdout, lo.stderr
    finally:
        cm.__exit__(None, None, None)


# ---- heap-block and find-refs (any allocator) ----

def test_heap_block_matches_je_block(je_core):
    for b in je_core.oracle["blocks"]:
        d = al.cli_json(je_core, f"heap-block {int(b['addr'], 16) + 3:#x}")
        assert d["heap"] == "jemalloc" and d["start"] == b["addr"] and d["offset"] == 3
        assert d["state"] == {"allocated": "allocated", "tcache": "cached", "free": "free"}[b["state"]]


def test_find_refs_chain(je_core):
    o = je_core.oracle
    chain = o["chain"]
    head = al.cli_json(je_core, f"find-refs {chain[0]}")
    holders = {r["address"]: r["holder"] for r in head["refs"]}
    assert holders.get(o["chain_global"], "").startswith("chain_head+0x0"), holders
    for i in (1, 50, 99):
        d = al.cli_json(je_core, f"find-refs {int(chain[i], 16) + 8:#x} --limit 10")
        assert d["block"]["start"] == chain[i]
        refs = {r["address"]: r for r in d["refs"]}
        # the previous node's next field, and the sample's global array
        assert chain[i - 1] in refs and refs[chain[i - 1]]["holder"].startswith("jemalloc block ")
        assert any(r["holder"].startswith("chain+") for r in d["refs"])
        assert d["totals"]["refs"] >= 2 and d["totals"]["indexed_pointers"] > 0


def test_find_refs_limit(je_core):
    chain = je_core.oracle["chain"]
    d = al.cli_json(je_core, f"find-refs {chain[5]} --limit 1")
    assert len(d["refs"]) == 1 and d["totals"]["shown"] == 1 and d["totals"]["refs"] >= 2


def test_find_refs_live():
    try:
        cm = al.live("je-shared")
        pid, exe, o = cm.__enter__()
    except al.Unavailable as e:
        pytest.skip(str(e))
    try:
        chain = o["chain"]
        d = al.pid_json(pid, exe, f"find-refs {chain[7]}")
        assert chain[6] in {r["address"] for r in d["refs"]}
        # One attach session, several queries: the index is built once and stays right.
        p = samples.run_cli(["attach", str(pid), "--exe", exe, "--json"] +
                            [x for i in (3, 4, 5) for x in ("-c", f"find-refs {chain[i]}")])
        docs = [json.loads(line) for line in p.stdout.splitlines()]
        assert [chain[i - 1] in {r["address"] for r in doc["refs"]} for i, doc in zip((3, 4, 5), docs)] == [True] * 3
        b = al.pid_json(pid, exe, f"heap-block {o['blocks'][1]['addr']}")
        assert b["state"] == "cached"
    finally:
        cm.__exit__(None, None, None)


def test_heap_block_go():
    """heap-block on the Go sample: each slot of a small span, and the span's allocated count."""
    cfg = samples.CONFIGS_BY_ID.get(samples.default_config_id())
    try:
        samples.ensure_toolchain(cfg)
        sc = samples.make_core(cfg, "kernel")
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    spans = json.loads(samples.run_core_cli(sc, "mspan-walk --limit 100000", json_out=True).stdout)["spans"]
    s = next(s for s in spans if s["class"] and 2 <= s["slots"] <= 64 and 0 < s["allocated"] < s["slots"])
    start = int(s["start"], 16)
    argv = ["core", sc.core, "--exe", sc.exe, "--json"]
    for i in range(s["slots"]):
        argv += ["-c", f"heap-block {start + i * s['elemsize'] + 1:#x}"]
    p = samples.run_cli(argv)
    docs = [json.loads(line) for line in p.stdout.splitlines()]
    assert all(d["heap"] == "go" and d["size"] == s["elemsize"] and d["offset"] == 1 for d in docs)
    assert [int(d["start"], 16) for d in docs] == [start + i * s["elemsize"] for i in range(s["slots"])]
    assert sum(d["state"] == "allocated" for d in docs) == s["allocated"]
    assert docs[0]["detail"].startswith("Go heap span ")


def test_debug_file_of_unknown_build(tmp_path):
    """A build memdbg does not know, with its debug file installed: found by the debug file's symbols.

    The debug file is the library itself plus a .symtab naming the hidden globals (objcopy
    --add-symbol, offsets from the Debian row of je_table.h): what a -dbgsym package gives.
    """
    c = _core("je-unknown", "kernel")
    lib = al.variant_dir(c.variant) / "lib" / "libjemalloc.so.2"
    table = (samples.REPO / "native/src/jemalloc/je_table.h").read_text()
    plain = {"NARENAS_TOTAL": "narenas_total", "HUGE_ARENA_IND": "huge_arena_ind"}
    args = []
    for name, rva in re.findall(r"\[JE_SYM_(\w+)\] = (0x[0-9a-f]+)", table):
        sym = plain.get(name, "je_" + name.lower())
        args += ["--add-symbol", f"{sym}={rva},global,object"]
    out = subprocess.run(["readelf", "-n", str(lib)], capture_output=True, text=True).stdout
    bid = next(line.split()[-1] for line in out.splitlines() if "Build ID" in line)
    dest = tmp_path / ".build-id" / bid[:2] / f"{bid[2:]}.debug"
    dest.parent.mkdir(parents=True)
    subprocess.run(["objcopy", *args, str(lib), str(dest)], check=True)
    env = dict(os.environ, MEMDBG_DEBUG_FILE_DIRECTORY=f"/nonexistent:{tmp_path}")
    p = samples.run_cli(["core", c.core, "--exe", c.exe, "-c", "je-info --json", "-c", "je-stats --json"], env=env)
    assert p.returncode == 0, p.stderr
    info, stats = (json.loads(line) for line in p.stdout.splitlines())
    assert info["found_by"] == "debug file symbols" and info["build_id"] == bid
    assert (stats["allocated"], stats["active"], stats["tcache_bytes"]) == \
        (c.oracle["allocated"], c.oracle["active"], c.oracle["tcache_bytes"])


# ---- damaged heaps: counted, reported or one line, never a crash ----

@pytest.mark.parametrize("seed", range(6))
def test_damaged_metadata(tmp_path, seed):
    import random
    c = _core("je-shared", "kernel")
    rng = random.Random(seed)
    arenas = [int(a["address"], 16) for a in al.cli_json(c, "je-arenas")["arenas"]]
    edata = [int(e["edata"], 16) for e in al.cli_json(c, "je-extents")["extents"]]
    loads = al.core_loads(c.core)
    damaged = tmp_path / "core"
    shutil.copyfile(c.core, damaged)
    with open(damaged, "r+b") as f:
        targets = [rng.choice(arenas) + rng.randrange(0, 80000) // 8 * 8 for _ in range(40)] + \
                  [rng.choice(edata) + rng.randrange(0, 128) // 8 * 8 for _ in range(60)]
        for addr in targets:
            off = al.file_offset(loads, addr)
            if off is not None:
                f.seek(off)
                f.write(rng.choice([b"\xff" * 8, b"\0" * 8, rng.randbytes(8)]))
    cmds = ["je-info", "je-stats", "je-arenas", "je-bins --all", "je-extents --limit 3",
            f"je-block {c.oracle['blocks'][0]['addr']}", f"heap-block {c.oracle['blocks'][1]['addr']}",
            f"find-refs {c.oracle['chain'][3]}"]
    for cmd in cmds:
        p = samples.run_cli(["core", damaged, "--exe", c.exe, "-c", cmd], timeout=120)
        assert p.returncode in (0, 1), (cmd, p.returncode, p.stderr[-2000:])
        assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, (cmd, p.stderr[-2000:])
        if p.returncode == 1:
            assert p.stderr.count("\n") == 1 and p.stderr.startswith("memdbg: "), (cmd, p.stderr)


@pytest.mark.parametrize("seed", range(6))
def test_damaged_name_tree(tmp_path, seed):
    """An unknown build's mallctl tree (its relocated read-only data, in the core) damaged: the code
    search gives figures or one line, never a crash or a hang."""
    import random
    c = _core("je-unknown", "kernel")
    rng = random.Random(seed)
    base = int(al.cli_json(c, "je-info")["load_base"], 16)
    lib = al.variant_dir(c.variant) / "lib" / "libjemalloc.so.2"
    out = subprocess.run(["readelf", "-lW", str(lib)], capture_output=True, text=True, check=True).stdout
    relro = next(line.split() for line in out.splitlines() if line.split()[:1] == ["GNU_RELRO"])
    lo, size = base + int(relro[2], 16), int(relro[5], 16)
    loads = al.core_loads(c.core)
    damaged = tmp_path / "core"
    shutil.copyfile(c.core, damaged)
    with open(damaged, "r+b") as f:
        for _ in range(40):
            off = al.file_offset(loads, lo + rng.randrange(0, size - 8) // 8 * 8)
            assert off is not None
            f.seek(off)
            f.write(rng.choice([b"\xff" * 8, b"\0" * 8, rng.randbytes(8), (lo + rng.randrange(size)).to_bytes(8, "little")]))
    for cmd in ("je-info", "je-stats"):
        p = samples.run_cli(["core", damaged, "--exe", c.exe, "-c", cmd], timeout=120)
        assert p.returncode in (0, 1), (cmd, p.returncode, p.stderr[-2000:])
        assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, (cmd, p.stderr[-2000:])
        if p.returncode == 1:
            assert p.stderr.count("\n") == 1 and p.stderr.startswith("memdbg: "), (cmd, p.stderr)


def test_cgo_two_heaps():
    """A Go program whose C side allocates from jemalloc: each address resolves in its own heap, and
    references cross them (Go objects hold C blocks, C blocks form a chain, Go objects a list)."""
    c = _core("je-cgo", "kernel")
    gos, cs = c.oracle["go"], c.oracle["c"]
    assert al.cli_json(c, "je-stats")["allocated"] > 0
    for i in (1, 25, 49):
        g = al.cli_json(c, f"heap-block {gos[i]}")
        assert g["heap"] == "go" and g["start"] == gos[i] and g["state"] == "allocated"
        b = al.cli_json(c, f"heap-block {cs[i]}")
        assert b["heap"] == "jemalloc" and b["start"] == cs[i] and b["state"] == "allocated"
        refs = {r["address"]: r["holder"] for r in al.cli_json(c, f"find-refs {cs[i]}")["refs"]}
        # the Go node's cblk field, and the previous C node's next field
        assert refs.get(f"{int(gos[i], 16) + 8:#x}", "").startswith(f"go block {gos[i]}+0x8"), refs
        assert refs.get(cs[i - 1], "").startswith("jemalloc block "), refs
        refs = {r["address"]: r["holder"] for r in al.cli_json(c, f"find-refs {gos[i]}")["refs"]}
        assert refs.get(gos[i - 1], "").startswith("go block "), refs
