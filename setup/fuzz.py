#!/usr/bin/env python3
"""memdbg's libFuzzer targets (native/fuzz), each for a bounded time.

    python3 setup/fuzz.py [--seconds 90] [--targets core,go,exe,sexe,je,tc,gl] [--keep DIR]
                          [--config go1.26.8] [-- LIBFUZZER-FLAGS...]

Builds build-fuzz/ (`make fuzz`: clang, -fsanitize=fuzzer,address,undefined),
takes the real cores from the tests' cache (tests/samples.py and
tests/alloc_samples.py make them when missing; MEMDBG_CORES_DIR is honoured)
and runs, splitting --seconds among the targets by weight:

  core  fuzz_core on whole core files: native/fuzz/corpus/core/ (crafted and
        truncated headers) plus two seeds cut from the cached Go core here
        (headers, one thread's notes, the executable's first page; and the same
        with the executable's writable segments, the runtime's bss)
  go    fuzz_patch on the cached Go kernel core: windows over runtime.mheap_,
        memstats, sched, allp, allgs, gcController, work, firstmoduledata,
        allspans, the first 32 mspans (found with gdb, as tests/test_robustness.py
        does) and two 64 KiB pieces of the first heap arena; go-info, memstats,
        mspan-walk, mcentral, mcache, goroutines, frag
  heap  the same windows; objects, histogram, pool-residue (every object typed:
        ten times slower per input)
  exe   fuzz_patch with windows in the executable (ELF and program headers,
        .gopclntab, .typelink, .rodata, .go.buildinfo, .symtab) of the same core
  sexe  the same windows of the -s -w build's executable with its own kernel core,
        and the first MiB of its code in 64 KiB windows: what memdbg reads without
        symbols and DWARF (the pclntab's functions and their funcdata, the type
        descriptors found by name, the runtime's globals found in its code, the
        locals, receivers and allocation sites typed from code)
  je, tc, gl
        fuzz_patch on the jemalloc (je-shared), TCMalloc (tc-minimal) and glibc
        (gl-shared) sample cores: windows over the start of every writable
        dumped segment; the allocator's commands

Patch corpora are in native/fuzz/corpus/<target>/ (records of 13 bytes, see
native/fuzz/fuzz_patch.c; the window numbers are the line numbers of the
regions file this script writes, in a fixed order).  New inputs go to a
scratch corpus; a crash, leak, sanitizer report or broken contract stops the
target, its input is copied to --keep (default build-fuzz/artifacts/) with a
reproduce line, and the exit status is 1.  Prints per target: seconds,
executions, executions per second, corpus size.
"""

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import samples  # noqa: E402

FUZZ_DIR = REPO / "build-fuzz" / "fuzz"
CORPUS = REPO / "native" / "fuzz" / "corpus"
WEIGHTS = {"core": 3, "go": 4, "heap": 2, "exe": 2, "sexe": 2, "je": 1, "tc": 1, "gl": 1}
J = "--jobs 1"
GO_CMDS = {
    "go": f"go-info {J};memstats --json {J};mspan-walk --limit 20 {J};mcentral --spans --json {J};mcache {J};"
          f"goroutines {J};frag --json {J}",
    # every object typed: ten times slower per input, so a target of its own with its own share
    "heap": f"objects --limit 20 {J};histogram --json {J};pool-residue --json {J}",
    "exe": f"go-info {J};memstats --json {J};goroutines {J};objects --limit 20 {J}",
    "sexe": f"go-info {J};memstats --json {J};goroutines {J};histogram --json {J};roots --json {J}",
}
ALLOC_CMDS = {
    "je": f"je-info {J};je-arenas --json {J};je-bins {J};je-stats --json {J};je-extents --json {J}",
    "tc": f"tc-info {J};tc-stats --json {J};tc-classes {J};tc-pageheap --json {J};tc-caches {J}",
    "gl": f"glibc-info {J};glibc-arenas --json {J};glibc-bins {J};glibc-chunks --json {J}",
}
ALLOC_VARIANTS = {"je": "je-shared", "tc": "tc-minimal", "gl": "gl-shared"}

PT_LOAD, PT_NOTE, PF_W = 1, 4, 2
NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE, NT_SIGINFO = 1, 3, 6, 0x46494C45, 0x53494749


# ---------------------------------------------------------------- ELF helpers

def phdrs(data):
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return [list(struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)) for i in range(phnum)]


def notes(blob):
    out, pos = [], 0
    while pos + 12 <= len(blob):
        namesz, descsz, ntype = struct.unpack_from("<III", blob, pos)
        end = pos + 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
        out.append((ntype, blob[pos:end]))
        pos = end
    return out


def minimized_core(core, keep_writable_exe):
    """A small core cut from a real one: ELF header, program headers, the notes of one thread
    (NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE), the executable's first page (the
    build-id notes the exe check compares) and, with keep_writable_exe, the executable's
    writable segments (the runtime's data and bss); every other segment keeps its size in
    memory but none in the file."""
    data = Path(core).read_bytes()
    ph = phdrs(data)
    note = next(p for p in ph if p[0] == PT_NOTE)
    kept, have_thread = [], False
    for ntype, raw in notes(data[note[2]:note[2] + note[5]]):
        if ntype == NT_PRSTATUS:
            if have_thread:
                continue
            have_thread = True
        if ntype in (NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE, NT_SIGINFO):
            kept.append(raw)
    note_blob = b"".join(kept)
    loads = [p for p in ph if p[0] == PT_LOAD]
    exe_start = loads[0][3]
    out_ph, blobs = [], []
    pos = 64 + 56 * (1 + len(loads)) + len(note_blob)
    out_ph.append([PT_NOTE, 0, 64 + 56 * (1 + len(loads)), 0, 0, len(note_blob), 0, 4])
    for i, p in enumerate(loads):
        ptype, flags, off, vaddr, paddr, filesz, memsz, align = p
        keep = i == 0 or (keep_writable_exe and flags & PF_W and vaddr < exe_start + (64 << 20))
        size = (min(filesz, 4096) if i == 0 else filesz) if keep else 0
        out_ph.append([ptype, flags, pos, vaddr, paddr, size, memsz, align])
        blobs.append(data[off:off + size])
        pos += size
    eh = bytearray(data[:64])
    struct.pack_into("<Q", eh, 32, 64)
    struct.pack_into("<HH", eh, 54, 56, len(out_ph))
    struct.pack_into("<Q", eh, 40, 0)       # no section headers
    struct.pack_into("<HH", eh, 60, 0, 0)
    return bytes(eh) + b"".join(struct.pack("<IIQQQQQQ", *p) for p in out_ph) + note_blob + b"".join(blobs)


def exe_sections(exe):
    """name -> (file offset, size) of the executable's sections with bytes in the file."""
    p = subprocess.run(["readelf", "-SW", str(exe)], capture_output=True, text=True, check=True)
    out = {}
    for m in re.finditer(r"\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", p.stdout):
        name, typ, off, size = m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4), 16)
        if typ != "NOBITS" and size >= 8:
            out[name] = (off, size)
    return out


# ---------------------------------------------------------------- the windows of each target

def clip(off, size, limit=64 << 10):
    return off, min(size, limit)


def go_regions(sc):
    from test_robustness import Core, _gdb_values, _symbol   # the fuzz's own core reader
    core = Core(sc.core)
    regions = []
    for sym in ("runtime.mheap_", "runtime.memstats", "runtime.sched", "runtime.allp", "runtime.allgs",
                "runtime.gcController", "runtime.work", "runtime.firstmoduledata"):
        addr, size = _symbol(sc.exe, sym)
        off = core.file_offset(addr, size)
        if off is not None:
            regions.append(("core", *clip(off, size), sym))
    array, count, span_size = _gdb_values(sc.exe, sc.core, [
        "'runtime.mheap_'.allspans.array", "'runtime.mheap_'.allspans.len", "sizeof('runtime.mspan')"])
    with open(sc.core, "rb") as f:
        f.seek(core.file_offset(array, 8 * count))
        spans = struct.unpack(f"<{count}Q", f.read(8 * count))
    regions.append(("core", core.file_offset(array, 8 * count), 8 * min(count, 4096), "allspans"))
    for i, s in enumerate(spans[:32]):
        off = core.file_offset(s, span_size)
        if off is not None:
            regions.append(("core", off, span_size, f"mspan{i}"))
    p = samples.run_core_cli(sc, "go-info", json_out=True, timeout=120)
    arena = int(json.loads(p.stdout)["arenas"]["ranges"][0]["start"], 16)
    for a in (arena, arena + (1 << 20)):
        off = core.file_offset(a, 64 << 10)
        if off is not None:
            regions.append(("core", off, 64 << 10, f"arena+{a - arena:#x}"))
    return regions


def exe_regions(exe, code_windows=0):
    secs = exe_sections(exe)
    regions = [("exe", 0, 4096, "elf-headers")]
    for name in (".gopclntab", ".typelink", ".rodata", ".go.buildinfo", ".symtab", ".itablink"):
        if name in secs:
            regions.append(("exe", *clip(*secs[name]), name))
    off, size = secs[".text"]
    for i in range(min(code_windows, size >> 16)):
        regions.append(("exe", off + (i << 16), 64 << 10, f".text+{i << 16:#x}"))
    return regions


def alloc_regions(core_path):
    from test_robustness import Core
    core = Core(core_path)
    regions = []
    for vaddr, _, off, filesz, flags in core.loads:
        if flags & PF_W and filesz >= 64:
            regions.append(("core", *clip(off, filesz), f"seg{vaddr:#x}"))
    return regions[:256]


# ---------------------------------------------------------------- seeds

def patch_record(region, offset, value, byte=False):
    return struct.pack("<BIQ", region & 0xFF, (offset & 0x7FFFFFFF) | (0x80000000 if byte else 0),
                       value & 0xFFFFFFFFFFFFFFFF)


def write_patch_seeds(target, nregions):
    """The committed seeds of a fuzz_patch target (--write-seeds): per window, a few words set to
    0, all ones, a small count or one bit flipped, and a few inputs of many records; fixed random
    seed, so rewriting them gives the same files."""
    import random
    rng = random.Random(f"memdbg-{target}")
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    values = (0, 0xFFFFFFFFFFFFFFFF, 1, 0x7FFFFFFF, 1 << 40, 0x8000000000000000)
    for r in range(nregions):
        recs = [patch_record(r, rng.randrange(1 << 16) * 8, rng.choice(values)) for _ in range(2)]
        recs.append(patch_record(r, rng.randrange(1 << 19), rng.randrange(256), byte=True))
        (d / f"seed-w{r:03d}").write_bytes(b"".join(recs))
    for i in range(4):
        recs = [patch_record(rng.randrange(nregions), rng.randrange(1 << 19) * 8, rng.getrandbits(64))
                for _ in range(16)]
        (d / f"seed-many{i}").write_bytes(b"".join(recs))


# ---------------------------------------------------------------- running

def parse_stats(text):
    stats = {k: int(v) for k, v in re.findall(r"stat::(\w+):\s+(\d+)", text)}
    m = re.findall(r"#\d+\s+\w+\s+cov: (\d+) ft: \d+ corp: (\d+)/", text)
    stats["cov"], stats["corpus"] = (int(m[-1][0]), int(m[-1][1])) if m else (0, 0)
    return stats


def run_target(name, binary, env, corpora, seconds, work, keep, extra):
    new = work / f"{name}-corpus"
    new.mkdir()
    log = work / f"{name}.log"
    argv = [str(binary), f"-max_total_time={seconds}", "-timeout=30", "-rss_limit_mb=4096",
            *(["-max_len=845"] if name != "core" else []),   # fuzz_patch reads at most 65 records
            "-print_final_stats=1", f"-artifact_prefix={work}/{name}-", *extra, str(new),
            *[str(c) for c in corpora if c.exists()]]
    full_env = dict(os.environ, TMPDIR=str(work), **env)
    t0 = time.monotonic()
    with open(log, "w") as f:
        p = subprocess.run(argv, env=full_env, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    text = log.read_text(errors="replace")
    st = parse_stats(text)
    execs, rate = st.get("number_of_executed_units", 0), st.get("average_exec_per_sec", 0)
    print(f"fuzz {name}: {wall:.0f} s, {execs} execs, {rate} execs/s, corpus {st['corpus']}, coverage {st['cov']} edges, "
          f"peak RSS {st.get('peak_rss_mb', 0)} MB", flush=True)
    if p.returncode == 0:
        return True
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log, keep / f"{name}.log")
    if "MEMDBG_FUZZ_REGIONS" in env:
        env = dict(env, MEMDBG_FUZZ_REGIONS=str(keep / f"{name}.regions"))
        shutil.copyfile(work / f"{name}.regions", env["MEMDBG_FUZZ_REGIONS"])
    arts = sorted(work.glob(f"{name}-*-*"))
    for a in arts:
        shutil.copyfile(a, keep / a.name)
    envs = " ".join(f"{k}='{v}'" for k, v in env.items())
    tail = "\n".join(l for l in text.splitlines() if not l.startswith("#"))[-3000:]
    print(f"fuzz {name}: FAILED (exit {p.returncode}); log and inputs in {keep}:\n{tail}\n"
          f"reproduce: {envs} {binary} {' '.join(str(keep / a.name) for a in arts)}", file=sys.stderr)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=90, help="total fuzzing time, split among the targets")
    ap.add_argument("--targets", default=",".join(WEIGHTS), help="comma-separated subset of " + ",".join(WEIGHTS))
    ap.add_argument("--config", default=samples.GCORE_CONFIGS[-1], help="the Go config of the sample core")
    ap.add_argument("--keep", type=Path, default=REPO / "build-fuzz" / "artifacts",
                    help="where a failing input and its log are copied")
    ap.add_argument("--no-build", action="store_true", help="use build-fuzz/ as it is")
    ap.add_argument("--write-seeds", action="store_true",
                    help="(re)write the patch targets' seeds in native/fuzz/corpus/ and exit")
    ap.add_argument("extra", nargs="*", help="more libFuzzer flags (after --)")
    a = ap.parse_args()
    targets = [t for t in a.targets.split(",") if t]
    for t in targets:
        if t not in WEIGHTS:
            ap.error(f"unknown target {t}")
    if not a.no_build:
        subprocess.run(["make", "-s", "-C", str(REPO), "fuzz"], check=True)
    total = sum(WEIGHTS[t] for t in targets)
    work = Path(tempfile.mkdtemp(prefix="memdbg-fuzz-"))
    ok = True
    try:
        sc = None
        if {"core", "go", "heap", "exe"} & set(targets):
            sc = samples.make_core(a.config, "kernel")
        if "sexe" in targets:
            stripped = samples.make_core(a.config, "kernel-stripped")
        for t in targets:
            secs = max(5, a.seconds * WEIGHTS[t] // total)
            if t == "core":
                if a.write_seeds:
                    continue
                seeds = work / "core-seeds"
                seeds.mkdir()
                (seeds / "mini").write_bytes(minimized_core(sc.core, False))
                (seeds / "bss").write_bytes(minimized_core(sc.core, True))
                ok &= run_target(t, FUZZ_DIR / "fuzz_core", {"MEMDBG_FUZZ_EXE": str(sc.exe)},
                                 [CORPUS / "core", seeds], secs, work, a.keep, a.extra)
                continue
            if t == "sexe":
                core, exe, regions, cmds = stripped.core, stripped.exe, exe_regions(stripped.exe, 16), GO_CMDS[t]
            elif t in GO_CMDS:
                core, exe, regions, cmds = sc.core, sc.exe, (exe_regions(sc.exe) if t == "exe" else
                                                             go_regions(sc)), GO_CMDS[t]
            else:
                import alloc_samples
                ac = alloc_samples.make_core(ALLOC_VARIANTS[t], "kernel")
                core, exe, regions, cmds = ac.core, ac.exe, alloc_regions(ac.core), ALLOC_CMDS[t]
            if a.write_seeds:
                write_patch_seeds(t, len(regions))
                continue
            rfile = work / f"{t}.regions"
            rfile.write_text("".join(f"{k} {o} {n} {name}\n" for k, o, n, name in regions))
            env = {"MEMDBG_FUZZ_CORE": str(core), "MEMDBG_FUZZ_EXE": str(exe), "MEMDBG_FUZZ_REGIONS": str(rfile),
                   "MEMDBG_FUZZ_CMDS": cmds}
            ok &= run_target(t, FUZZ_DIR / "fuzz_patch", env, [CORPUS / t], secs, work, a.keep, a.extra)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
