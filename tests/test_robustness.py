"""Bounded mutation fuzz: memdbg on corrupted cores never crashes or hangs.

One kernel core (config MEMDBG_FUZZ_CONFIG, default the newest gcore config)
is copied once; each mutant overwrites 8-byte words of that copy with a fixed
seed, every command runs on it (30 s timeout each), and the words are put
back.  Mutants target, by seed:

    arena    the heap arena segments (go-info --json arena ranges)
    offheap  writable anonymous PT_LOADs outside the arenas (mspans, gcBits,
             span sets, heapArena metadata, stacks)
    mspan    the mspan structs themselves, found through mheap_.allspans
    mheap    runtime.mheap_ (address and size from the symbol table)
    anon     all writable non-file-backed PT_LOADs

Each run must exit 0, 1 or 3 (partial), with stderr empty (exit 0) or exactly
one line "memdbg: ..." (exit 1, or "memdbg: partial: ..." for 3) -- so an
ASan/UBSan report (MEMDBG_BUILD=build-asan) fails the test -- and a --json run
must print valid JSON or nothing. The figures of a --json run that exits 0
must also be plausible for the core (plausibility_problems: byte figures
within the address space the core maps, counts within those bytes over the
smallest object, 1 <= GOMAXPROCS <= 65536, a span no larger than the arenas),
unless the run says the target is damaged (exit 3 or a "damaged" key in its
JSON). A failing mutant is saved next to the copy and its path is in the
failure.

MEMDBG_FUZZ_MUTANTS (default 20) and MEMDBG_FUZZ_SEED (default 1) change the
run; the same values give the same mutants.
"""

import json
import os
import random
import re
import shutil
import struct
import subprocess

import pytest

import samples

CONFIG = os.environ.get("MEMDBG_FUZZ_CONFIG", samples.GCORE_CONFIGS[-1])
MUTANTS = int(os.environ.get("MEMDBG_FUZZ_MUTANTS", "20"))
BASE_SEED = int(os.environ.get("MEMDBG_FUZZ_SEED", "1"))
TIMEOUT = 30
STRATEGIES = ("arena", "offheap", "mspan", "mheap", "anon")
RUNS = [("go-info", False), ("memstats", False), ("mspan-walk", False),
        ("mcentral --spans", False), ("mcache", False),
        ("go-info", True), ("memstats", True), ("mspan-walk --sort util --limit 50", True),
        ("mcentral --spans", True), ("mcache", True), ("triage", True)]
MIN_OBJECT = 8          # the smallest Go heap object (tiny blocks are 16, size class 1 is 8)
MAX_PROCS = 65536

PT_LOAD, PT_NOTE, PF_W = 1, 4, 2
NT_FILE = 0x46494C45


# ---------------------------------------------------------------- ELF core layout

class Core:
    """Program headers, NT_FILE mappings and vaddr -> file offset of an ELF64 LE core."""

    def __init__(self, path):
        with open(path, "rb") as f:
            eh = f.read(64)
            phoff, = struct.unpack_from("<Q", eh, 32)
            phentsize, phnum = struct.unpack_from("<HH", eh, 54)
            self.loads, self.files = [], []
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                ptype, flags, off, vaddr, _, filesz, memsz, _ = struct.unpack("<IIQQQQQQ", f.read(56))
                if ptype == PT_LOAD:
                    self.loads.append((vaddr, memsz, off, filesz, flags))
                elif ptype == PT_NOTE:
                    f.seek(off)
                    self._notes(f.read(filesz))

    def _notes(self, data):
        pos = 0
        while pos + 12 <= len(data):
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            desc = pos + 12 + (namesz + 3) // 4 * 4
            if ntype == NT_FILE:
                count, _ = struct.unpack_from("<QQ", data, desc)
                for j in range(count):
                    start, end, _ = struct.unpack_from("<QQQ", data, desc + 16 + 24 * j)
                    self.files.append((start, end))
            pos = desc + (descsz + 3) // 4 * 4

    def file_offset(self, addr, size=8):
        for vaddr, _, off, filesz, _ in self.loads:
            if vaddr <= addr and addr + size <= vaddr + filesz:
                return off + addr - vaddr
        return None

    def writable_anon(self):
        """(vaddr, filesz, offset) of writable PT_LOADs with data that no file maps."""
        out = []
        for vaddr, _, off, filesz, flags in self.loads:
            if filesz >= 8 and flags & PF_W and \
                    not any(s < vaddr + filesz and vaddr < e for s, e in self.files):
                out.append((vaddr, filesz, off))
        return out


def _overlaps(vaddr, size, ranges):
    return any(vaddr < hi and lo < vaddr + size for lo, hi in ranges)


# ---------------------------------------------------------------- fixtures

def _gdb_values(exe, core, exprs):
    argv = ["gdb", "-nx", "-batch", "-ex", "set language c"]
    for e in exprs:
        argv += ["-ex", f"p/x {e}"]
    p = subprocess.run(argv + [str(exe), str(core)], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    vals = re.findall(r"^\$\d+ = (0x[0-9a-f]+)$", p.stdout, re.M)
    assert len(vals) == len(exprs), p.stdout + p.stderr
    return [int(v, 16) for v in vals]


def _symbol(exe, name):
    p = subprocess.run(["nm", "-S", str(exe)], capture_output=True, text=True, check=True)
    for line in p.stdout.splitlines():
        w = line.split()
        if len(w) == 4 and w[3] == name:
            return int(w[0], 16), int(w[1], 16)
    raise AssertionError(f"{name} not in {exe}'s symbol table")


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    """The copy to mutate plus, per strategy, the (file offset, length) regions to hit."""
    try:
        sc = samples.make_core(CONFIG, "kernel")
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    work = tmp_path_factory.mktemp("fuzz")
    copy = work / "mutant.core"
    shutil.copyfile(sc.core, copy)
    core = Core(copy)

    p = samples.run_core_cli(sc, "go-info", json_out=True, timeout=120)
    assert p.returncode == 0, p.stderr
    arenas = [(int(r["start"], 16), int(r["end"], 16)) for r in json.loads(p.stdout)["arenas"]["ranges"]]

    anon = core.writable_anon()
    regions = {
        "arena": [(off, size) for va, size, off in anon if _overlaps(va, size, arenas)],
        "offheap": [(off, size) for va, size, off in anon if not _overlaps(va, size, arenas)],
        "anon": [(off, size) for _, size, off in anon],
    }
    mheap, mheap_size = _symbol(sc.exe, "runtime.mheap_")
    regions["mheap"] = [(core.file_offset(mheap, mheap_size), mheap_size)]
    if shutil.which("gdb"):
        array, count, span_size = _gdb_values(sc.exe, sc.core, [
            "'runtime.mheap_'.allspans.array", "'runtime.mheap_'.allspans.len", "sizeof('runtime.mspan')"])
        with open(sc.core, "rb") as f:
            f.seek(core.file_offset(array, 8 * count))
            ptrs = struct.unpack(f"<{count}Q", f.read(8 * count))
        regions["mspan"] = [(core.file_offset(s, span_size), span_size) for s in ptrs
                            if s and core.file_offset(s, span_size) is not None]
    for name, regs in regions.items():
        assert regs and all(off is not None for off, _ in regs), (name, regs)
    # every word of the copy that maps a valid address, for pointer-valued mutations
    addrs = [va for va, _, _ in anon] + [lo for lo, _ in arenas]
    # everything the core describes, dumped or not: no sound figure exceeds it
    mapped = sum(memsz for _, memsz, _, _, _ in core.loads)
    arena_bytes = sum(hi - lo for lo, hi in arenas)
    return {"sc": sc, "copy": copy, "regions": regions, "addrs": addrs, "dir": work, "mapped": mapped,
            "arena_bytes": arena_bytes}


def _word_value(rng, old, addrs):
    kind = rng.randrange(7)
    if kind == 0:
        return rng.getrandbits(64)
    if kind == 1:
        return old ^ (1 << rng.randrange(64))
    if kind == 2:
        return 0
    if kind == 3:
        return 0xFFFFFFFFFFFFFFFF
    if kind == 4:
        return rng.choice([1, 2, 7, 0x7FFFFFFF, 0x80000000, 1 << 40, 1 << 62])
    if kind == 5:                           # a pointer somewhere else in the target
        return rng.choice(addrs) + rng.randrange(0, 1 << 20, 8)
    return (old + rng.choice([-8, -1, 1, 8, 4096])) & 0xFFFFFFFFFFFFFFFF


def _mutations(fuzz, seed):
    """(strategy, [(file offset, new 8 bytes)]) for one seed; deterministic."""
    rng = random.Random(seed)
    strategy = STRATEGIES[seed % len(STRATEGIES)]
    if strategy == "mspan" and "mspan" not in fuzz["regions"]:
        strategy = "offheap"
    regions = fuzz["regions"][strategy]
    weights = [size for _, size in regions]
    count = {"mheap": 6, "mspan": 48}.get(strategy, 96)
    out = []
    with open(fuzz["copy"], "rb") as f:
        for _ in range(count):
            off, size = rng.choices(regions, weights)[0]
            at = off + rng.randrange(0, max(size - 8, 1) // 8 + 1) * 8
            f.seek(at)
            old, = struct.unpack("<Q", f.read(8))
            out.append((at, struct.pack("<Q", _word_value(rng, old, fuzz["addrs"]))))
    return strategy, out


def _apply(path, patches):
    """Write the patches; return the patches that undo them (in reverse order)."""
    undo = []
    with open(path, "r+b") as f:
        for at, data in patches:
            f.seek(at)
            undo.append((at, f.read(len(data))))
            f.seek(at)
            f.write(data)
    return undo[::-1]


def _damaged(doc):
    """The run says the target is damaged: a "damaged" key with a true value anywhere in its JSON."""
    if isinstance(doc, dict):
        return bool(doc.get("damaged")) or any(_damaged(v) for v in doc.values())
    if isinstance(doc, list):
        return any(_damaged(v) for v in doc)
    return False


def plausibility_problems(cmd, doc, mapped):
    """Figures of one command's JSON that no undamaged core of `mapped` bytes of address space can
    give; [] when plausible (or when the command has none of them)."""
    out = []
    max_count = mapped // MIN_OBJECT

    def check(name, value, limit, low=0):
        if isinstance(value, int) and not low <= value <= limit:
            out.append(f"{name} = {value} outside [{low}, {limit}]")

    name = cmd.split()[0]
    if name == "memstats":
        for k in ("Alloc", "HeapAlloc", "HeapSys", "HeapInuse", "HeapIdle", "HeapReleased", "StackInuse",
                  "StackSys", "MSpanInuse", "MCacheInuse", "Sys"):
            check(k, doc.get(k), mapped)
        for k in ("HeapObjects",):
            check(k, doc.get(k), max_count)
        if isinstance(doc.get("Mallocs"), int) and isinstance(doc.get("Frees"), int):
            check("Mallocs - Frees", doc["Mallocs"] - doc["Frees"], max_count)
        for k in ("HeapAlloc", "HeapInuse"):
            if isinstance(doc.get(k), int) and isinstance(doc.get("HeapSys"), int) and doc[k] > doc["HeapSys"]:
                out.append(f"{k} {doc[k]} > HeapSys {doc['HeapSys']}")
    elif name == "go-info":
        check("gomaxprocs", doc.get("gomaxprocs"), MAX_PROCS, low=1)
        check("arenas.arena_bytes", (doc.get("arenas") or {}).get("arena_bytes"), mapped)
    elif name == "mspan-walk":
        t = doc.get("totals") or {}
        check("totals.bytes", t.get("bytes"), mapped)
        check("totals.allocated_bytes", t.get("allocated_bytes"), mapped)
        if isinstance(t.get("pages"), int):
            check("totals.pages * 8192", t["pages"] * 8192, mapped)
        check("totals.slots", t.get("slots"), max_count)
        check("totals.allocated", t.get("allocated"), max_count)
        for sp in doc.get("spans") or []:
            if isinstance(sp.get("pages"), int) and sp["pages"] * 8192 > mapped:
                out.append(f"span {sp.get('start')} of {sp['pages']} pages in {mapped} bytes of address space")
                break
    return out


def _problems(cmd, json_out, p, mapped=None):
    tag = f"{cmd!r}{' --json' if json_out else ''}"
    if p is None:
        return [f"{tag}: hung (no exit within {TIMEOUT}s)"]
    out = []
    if p.returncode < 0:
        out.append(f"{tag}: killed by signal {-p.returncode}")
    elif p.returncode not in (0, 1, 3):
        out.append(f"{tag}: exit status {p.returncode}")
    lines = p.stderr.splitlines()
    if p.returncode == 0 and lines:
        out.append(f"{tag}: exit 0 with stderr {p.stderr[:600]!r}")
    if p.returncode == 3 and not (lines and lines[0].startswith("memdbg: partial: ")):
        out.append(f"{tag}: exit 3 without a 'memdbg: partial: ' line: {p.stderr[:600]!r}")
    if p.returncode != 0 and (len(lines) != 1 or not lines[0].startswith("memdbg: ")):
        out.append(f"{tag}: exit {p.returncode}, stderr not one 'memdbg: ' line: {p.stderr[:1500]!r}")
    if json_out and p.stdout.strip():
        try:
            doc = json.loads(p.stdout)
        except ValueError as e:
            out.append(f"{tag}: invalid JSON ({e}): ...{p.stdout[-200:]!r}")
        else:
            if p.returncode == 0 and mapped and not _damaged(doc):
                out += [f"{tag}: implausible, exit 0 and no damaged note: {w}"
                        for w in plausibility_problems(cmd, doc, mapped)]
    return out


@pytest.mark.parametrize("seed", range(BASE_SEED, BASE_SEED + MUTANTS))
def test_mutant(fuzz, seed):
    sc, copy = fuzz["sc"], fuzz["copy"]
    strategy, patches = _mutations(fuzz, seed)
    undo = _apply(copy, patches)
    problems = []
    try:
        for cmd, json_out in RUNS:
            args = ["core", copy, "--exe", sc.exe, "-c", cmd] + (["--json"] if json_out else [])
            try:
                p = samples.run_cli(args, timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                p = None
            problems += _problems(cmd, json_out, p, fuzz["mapped"])
        if problems:
            keep = fuzz["dir"] / f"mutant-{seed}.core"
            shutil.copyfile(copy, keep)
    finally:
        _apply(copy, undo)
    assert not problems, (f"seed {seed} ({strategy}, {len(patches)} words) on {CONFIG}; mutant kept at "
                          f"{keep}; reproduce: memdbg core {keep} --exe {sc.exe} -c CMD\n  " +
                          "\n  ".join(problems))


def test_unmutated_core_is_plausible(fuzz):
    """The plausibility bounds hold on the core itself (they can fail only on damage), and they are
    tight enough to matter: the sample's heap fills a fair share of them."""
    sc = fuzz["sc"]
    for cmd, json_out in RUNS:
        if not json_out:
            continue
        p = samples.run_cli(["core", sc.core, "--exe", sc.exe, "-c", cmd, "--json"], timeout=120)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert not _damaged(doc), cmd
        assert plausibility_problems(cmd, doc, fuzz["mapped"]) == [], cmd
    # the runtime's own ReadMemStats (the oracle) passes the bounds too
    assert plausibility_problems("memstats", sc.oracle, fuzz["mapped"]) == []
    assert plausibility_problems("memstats", {"HeapAlloc": 18397227370969621304}, fuzz["mapped"])
    assert plausibility_problems("memstats", {"HeapObjects": int(1.15e18)}, fuzz["mapped"])
    assert plausibility_problems("go-info", {"gomaxprocs": 0}, fuzz["mapped"])
    assert plausibility_problems("mspan-walk", {"spans": [{"start": "0x1", "pages": 140737488355327}]},
                                 fuzz["mapped"])


def test_copy_restored(fuzz):
    """After all mutants the copy is byte-identical to the core again (the fuzz undid itself)."""
    with open(fuzz["copy"], "rb") as a, open(fuzz["sc"].core, "rb") as b:
        while True:
            x, y = a.read(1 << 20), b.read(1 << 20)
            assert x == y
            if not x:
                break
