"""Real-world Go programs (samples/corpus/<name>), their cores, oracles and heap dumps.

Each program links a real server or library at a version pinned by its
go.mod and go.sum (fetched through the Go module proxy), drives it with a
loopback load generator of its own, and ends through samples/corpus/harness:
one P, a full GC, the oracle recorded while nothing allocated, then the heap
dump and SIGABRT with no goroutine running in between.  Cores are cached like
the samples' (samples.make_core_of) in CORES_DIR/corpus/<name>/<config>/<key>/:

    <name>                  the executable (build-time: seconds the build took)
    kernel/core.kernel      kernel core (GOTRACEBACK=crash)
    kernel/oracle.json      MemStats right before the dump (all the exact fields, BySize),
                            NumGoroutine, GOMAXPROCS (1), GoVersion, GOEXPERIMENT,
                            Attempts (tries until nothing allocated while it was recorded),
                            Load {what the load made}, Modules ["path version"]
    kernel/heapdump         runtime/debug.WriteHeapDump, the last thing before the core
    kernel/stderr.txt       the crash traceback: every goroutine's id
    kernel/done             seconds it took to make the core
                            (the files the program itself wrote there are removed: make_core)

A production build (samples.BUILD_MODES, tests/test_production_corpus.py) caches in
CORES_DIR/corpus/<name>@<mode>/<config>/<key>/; a PIE build has <name>.dwarf beside <name>: the
same build with symbols and DWARF, which tests/gcmeta reads (samples.build_with_dwarf); an -s -w
build's is the default build's executable (meta_exe).

The measures the corpus tests assert (the aims of issue 10) are computed here
from memdbg's JSON and these oracles, never from memdbg alone:

  contradictions  objects whose type, as memdbg names it, implies pointer words
                  other than those the runtime's heap dump records for the slot
                  (type layouts from the executable's DWARF: tests/gcmeta)
  dead-slot roots stack roots memdbg reports at a stack address the GC would not
                  scan: neither a live slot of the frame's stack maps (the heap
                  dump lists them) nor inside a stack object a live pointer reaches
                  (stack object records from the executable's pclntab: tests/gcmeta)
"""

import bisect
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import alloc_samples
import heapdump
import samples

CORPUS = samples.REPO / "samples" / "corpus"
HARNESS = CORPUS / "harness"
PROGRAMS = ("nats", "raft", "tsdb")
GCMETA = samples.REPO / "tests" / "gcmeta"
HEADER_MIN = 512 + 1          # small objects above 512 B carry a malloc header (Go 1.22+)


class TooOld(Exception):
    """The config's toolchain is older than the program's go.mod allows (tests skip)."""


def program(name, mode=""):
    """samples/corpus/<name>, cached in CORES_DIR/corpus/<name>/ (built in a production mode,
    samples.BUILD_MODES: in CORES_DIR/corpus/<name>@<mode>/)."""
    cores = samples.CORES_DIR / "corpus" / (f"{name}@{mode}" if mode else name)
    return samples.Sample(name, CORPUS / name, cores, extra=(HARNESS,), mode=mode)


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def min_go(name):
    """The `go` line of the program's go.mod, e.g. "1.22"."""
    m = re.search(r"^go (\S+)$", (CORPUS / name / "go.mod").read_text(), re.M)
    return m.group(1)


def modules(name):
    """{module path: version} of the program's go.mod requirements (direct ones first)."""
    out = {}
    for m in re.finditer(r"^\s+(\S+) (v\S+)(?: // indirect)?$", (CORPUS / name / "go.mod").read_text(), re.M):
        if not m.group(1).startswith("memdbg.example/"):
            out[m.group(1)] = m.group(2)
    return out


def check_toolchain(name, cfg):
    want = min_go(name)
    if version_tuple(cfg.toolchain) < version_tuple(want):
        raise TooOld(f"{name}: its go.mod needs Go {want}, {cfg.id} is {cfg.toolchain}")


def build(name, cfg, mode=""):
    """Build (or reuse) the program for one config.  With MEMDBG_TRIM_GOCACHE=1, a fresh build also
    links the other executables of the same compiled packages and then drops those packages from the
    Go build cache (drop_compiled_modules)."""
    cfg = samples.get_config(cfg)
    exe, fresh = _build(name, cfg, mode)
    if fresh and os.environ.get("MEMDBG_TRIM_GOCACHE") == "1":
        flags = compile_flags(mode)
        for other in ("",) + tuple(samples.BUILD_MODES):
            if other != mode and compile_flags(other) == flags:
                _build(name, cfg, other)
        if flags:
            samples.build_with_dwarf(program(name, mode), cfg)
        drop_compiled_modules(name, cfg, flags)
    return exe


def _build(name, cfg, mode):
    """(executable, whether it was built now); the build's seconds go to build-time."""
    check_toolchain(name, cfg)
    p = program(name, mode)
    exe = samples.config_dir_of(p, cfg) / name
    if exe.exists():
        return exe, False
    t0 = time.monotonic()
    exe = samples.build_sample_of(p, cfg)
    bt = exe.with_name("build-time")
    if not bt.exists():
        bt.write_text(f"{time.monotonic() - t0:.1f}\n")
    return exe, True


def compile_flags(mode):
    """The build mode's flags that change what is compiled (all but the link's)."""
    return tuple(f for f in samples.BUILD_MODES.get(mode, ()) if not f.startswith("-ldflags="))


def drop_compiled_modules(name, cfg, flags):
    """Delete from the Go build cache the program's compiled packages outside the standard library (which
    every sample shares), built with these compile flags: about 250 MB a config and flags for the three
    programs, that nothing reads once their executables are linked.  A cache entry whose output is gone
    is a miss: the go command compiles it again."""
    p = subprocess.run(["go", "list", "-export", "-deps", *flags, "-f", "{{if not .Standard}}{{.Export}}{{end}}", "."],
                       cwd=CORPUS / name, env=samples.go_env(cfg), capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise samples.SampleError(f"{cfg.id}: go list -export of {name} failed:\n{p.stderr}")
    for line in p.stdout.split():
        out = Path(line)
        if out.is_relative_to(samples.GOCACHE):
            out.unlink(missing_ok=True)


@dataclass
class CorpusCore:
    name: str
    sc: samples.SampleCore
    meta_exe: Path = None       # the executable tests/gcmeta reads: its twin with DWARF (None: sc.exe)
    mode: str = ""              # the production build's (samples.BUILD_MODES), "" for the default build

    def __post_init__(self):
        self.meta_exe = self.meta_exe or self.sc.exe

    @property
    def oracle(self):
        return self.sc.oracle

    @property
    def dir(self):
        return self.sc.dir


def make_core(name, cfg, mode=""):
    """The kernel core of the program built plainly or in a production mode (samples.BUILD_MODES), with
    the executable whose DWARF tests/gcmeta reads (meta_exe)."""
    build(name, cfg, mode)
    sc = samples.make_core_of(program(name, mode), cfg, "kernel")
    for d in sc.dir.iterdir():
        if d.is_dir():      # the program's own files (raft's logs, tsdb's WAL, nats' streams), unread
            shutil.rmtree(d, ignore_errors=True)
    return CorpusCore(name, sc, meta_exe(name, cfg, mode) if mode else None, mode)


def meta_exe(name, cfg, mode):
    """The production build's GC metadata: the same build with DWARF (samples.build_with_dwarf), or for
    -s -w alone the default build, which is not its loaded bytes (the -s -w build's build info records
    `-ldflags="-s -w"`, which moves .gopclntab, the type links and, past an alignment, the data) but is
    its functions (checked: samples.same_functions) and its types (the same compiler output)."""
    if any(f != "-ldflags=-s -w" for f in samples.BUILD_MODES[mode]):
        return samples.build_with_dwarf(program(name, mode), cfg)
    exe, default = build(name, cfg, mode), build(name, cfg)
    differ = samples.same_functions(exe, default)
    if differ:
        raise samples.SampleError(f"{default} is not {exe}'s code with DWARF: its {', '.join(differ)} differ")
    return default


def build_seconds(cc):
    p = cc.sc.exe.with_name("build-time")
    return float(p.read_text()) if p.exists() else None


def core_seconds(cc):
    return float((cc.dir / "done").read_text().strip().rstrip("s"))


# ---------------------------------------------------------------- memdbg and the oracles

_json = {}
# What test_corpus reads of every core, run in one memdbg process (run_commands): alone, each command
# reads and indexes the core again, about 0.4 s of CPU a command on these cores, 0.5 s for all together.
TEST_COMMANDS = ("memstats", "go-info", "goroutines --all", "objects --all", "histogram --live", "findings",
                 "mspan-walk", "roots --kind stack")


def run_commands(cc, cmds, timeout=600):
    """Run those of the commands whose JSON cli_json has not cached in one memdbg process, and cache each
    that succeeded; one that failed is left to cli_json, which runs it alone and says why."""
    todo = [c for c in cmds if (str(cc.sc.core), c) not in _json]
    if not todo:
        return
    argv = ["core", cc.sc.core, "--exe", cc.sc.exe, "--json"] + [a for c in todo for a in ("-c", c)]
    p = samples.run_cli(argv, timeout=timeout)
    docs, at, dec = [], 0, json.JSONDecoder()
    text = p.stdout.strip()
    while at < len(text) and len(docs) < len(todo):
        doc, at = dec.raw_decode(text, at)
        docs.append(doc)
        while at < len(text) and text[at].isspace():
            at += 1
    if len(docs) == len(todo):
        for c, doc in zip(todo, docs):
            if "error" not in doc:
                _json[(str(cc.sc.core), c)] = doc


def cli_json(cc, cmd, timeout=600):
    k = (str(cc.sc.core), cmd)
    if k not in _json and cmd in TEST_COMMANDS:
        run_commands(cc, TEST_COMMANDS, timeout)
    if k not in _json:
        p = samples.run_core_cli(cc.sc, cmd, json_out=True, timeout=timeout)
        assert p.returncode == 0, f"{cmd}: {p.stderr}"
        doc = json.loads(p.stdout)
        assert "error" not in doc, (cmd, doc.get("error"))
        _json[k] = doc
    return _json[k]


@functools.lru_cache(maxsize=None)
def _parse_dump(path, mtime):
    return heapdump.parse(path)


def load_heapdump(cc):
    p = cc.dir / "heapdump"
    return _parse_dump(str(p), p.stat().st_mtime_ns)


def traceback_goids(cc):
    """Goroutine ids of the crash traceback (GOTRACEBACK=crash lists every goroutine, and
    each thread's system stacks as goroutine 0, which are left out)."""
    text = (cc.dir / "stderr.txt").read_text(errors="replace")
    ids = (int(m.group(1)) for m in re.finditer(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[", text, re.M))
    return [i for i in ids if i]


def dump_objects(cc):
    """The heap dump's allocated objects (the slots past nelems dropped)."""
    real, _ = heapdump.drop_past_nelems(load_heapdump(cc).objects, cli_json(cc, "mspan-walk")["spans"])
    return real


class CoreMemory:
    """Bytes of the core file by address (the dumped PT_LOADs)."""

    def __init__(self, path):
        self.loads = sorted(alloc_samples.core_loads(path))
        self.starts = [v for v, _, _ in self.loads]
        self.f = open(path, "rb")

    def read(self, addr, n):
        i = bisect.bisect_right(self.starts, addr) - 1
        if i < 0:
            return None
        v, off, filesz = self.loads[i]
        if addr + n > v + filesz:
            return None
        self.f.seek(off + addr - v)
        return self.f.read(n)


@functools.lru_cache(maxsize=None)
def moved_goroutines(core_path, dump_path):
    """Goroutine ids whose stack in the core differs from the dump's frames: they ran after the
    dump.  The harness lets only the goroutine that wrote it run (test_oracle_is_the_core)."""
    d = _parse_dump(dump_path, Path(dump_path).stat().st_mtime_ns)
    mem = CoreMemory(core_path)
    moved = set()
    for g in d.goroutines:
        for f in g.frames:
            if mem.read(f.sp, f.size) != d.raw[f.offset:f.offset + f.size]:
                moved.add(g.goid)
                break
    mem.f.close()
    return frozenset(moved)


# ---------------------------------------------------------------- the executable's GC metadata (tests/gcmeta)

@functools.lru_cache(maxsize=None)
def gcmeta_exe():
    """Build tests/gcmeta with the newest config's toolchain (cached by its source)."""
    h = hashlib.sha256()
    samples.hash_tree(h, GCMETA)
    d = samples.CORES_DIR / "tools" / f"gcmeta-{h.hexdigest()[:16]}"
    exe = d / "gcmeta"
    if not exe.exists():
        cfg = samples.CONFIGS[-1]
        samples.ensure_toolchain(cfg)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f"gcmeta.tmp.{os.getpid()}"
        p = subprocess.run(["go", "build", "-o", str(tmp), "."], cwd=GCMETA, env=samples.go_env(cfg),
                           capture_output=True, text=True, timeout=600)
        if p.returncode:
            raise samples.SampleError(f"building tests/gcmeta failed:\n{p.stdout}{p.stderr}")
        tmp.rename(exe)
    return exe


def gcmeta(mode, exe, lines):
    p = subprocess.run([str(gcmeta_exe()), mode, str(exe)], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def layouts(exe, names):
    """{name: (size, frozenset of pointer offsets)} or {name: "error"} for type names memdbg printed."""
    out = {}
    for a in gcmeta("types", exe, sorted(set(names))):
        out[a["name"]] = a["error"] if "error" in a else (a["size"], frozenset(a["ptrs"]))
    return out


@functools.lru_cache(maxsize=None)
def struct_fields(exe, name):
    """{field: byte offset} of a struct the executable's DWARF describes."""
    a, = gcmeta("fields", exe, [name])
    assert "error" not in a, a
    return a["fields"]


def stack_objects(exe, entries, bias=0):
    """{entry pc: [(off, size, pointer offsets)]} of the functions' stack objects (pcs of the process,
    loaded `bias` bytes above the executable's addresses: a PIE's)."""
    out = {}
    for a in gcmeta("stackobjects", exe, [hex(e - bias) for e in sorted(set(entries))]):
        assert "error" not in a, a
        out[int(a["entry"], 16) + bias] = [(o["off"], o["size"], o["ptrs"]) for o in a["objects"]]
    return out


def load_bias(cc):
    """How far above its executable's addresses the program was loaded (0 but for a PIE)."""
    return samples.load_bias(cc.sc.core, cc.sc.exe)


# Names memdbg gives objects it did not type: they claim no layout.
UNTYPED = re.compile(r"^(unknown\b|noscan\b|tiny block\b)")
# Names that stand for a layout the name does not spell out.
STRING_DATA = "string data"


@dataclass
class TypeCheck:
    checked: int = 0                 # typed objects whose layout was compared
    checked_bytes: int = 0
    untyped: int = 0
    untyped_bytes: int = 0
    unresolved: dict = field(default_factory=dict)      # name -> [count, bytes, why]
    contradictions: list = field(default_factory=list)  # (addr, size, type, why)

    @property
    def contradicted_bytes(self):
        return sum(c[1] for c in self.contradictions)

    def by_type(self):
        """[(type, count, bytes)] of the contradictions, most first."""
        t = {}
        for _, size, name, _ in self.contradictions:
            r = t.setdefault(name, [0, 0])
            r[0] += 1
            r[1] += size
        return sorted(((k, c, b) for k, (c, b) in t.items()), key=lambda r: -r[2])


def expected_pointers(layout, span, size):
    """Offsets in the slot where the runtime would record pointers if the object had this layout.

    Objects with a malloc header (small, > 512 B, scan) are typed from slot+8 and
    large objects from the slot: the runtime repeats their type through the slot (its
    typePointers walk). Objects whose bits live in the span (<= 512 B) were given
    exactly their allocation's bits: one copy of the type, nothing after it. Noscan
    spans record no pointers at all.
    """
    tsize, ptrs = layout
    if span["noscan"]:
        return frozenset(ptrs)       # the runtime records none: any pointer contradicts the span
    if not ptrs:
        return frozenset()
    if span["class"] == 0 or span["elemsize"] >= HEADER_MIN:
        start = 0 if span["class"] == 0 else 8
        period = tsize or size
        out = set()
        k = 0
        while start + k * period < size:
            base = start + k * period
            out.update(base + p for p in ptrs if base + p < size)
            k += 1
        return frozenset(out)
    return frozenset(p for p in ptrs if p < size)


def check_types(cc):
    """Compare each object's layout (from memdbg's type name) with the heap dump's pointers."""
    objs = cli_json(cc, "objects --all")["objects"]
    spans = cli_json(cc, "mspan-walk")["spans"]
    rows = sorted((int(s["start"], 16), int(s["end"], 16), s) for s in spans)
    starts = [r[0] for r in rows]
    dump = {o.addr: o for o in dump_objects(cc)}
    names = {o["type"] for o in objs if o["type"] and not UNTYPED.match(o["type"]) and o["type"] != STRING_DATA}
    lay = layouts(cc.meta_exe, names)
    lay[STRING_DATA] = (1, frozenset())
    res = TypeCheck()
    for o in objs:
        name, size = o["type"], o["size"]
        if not name or UNTYPED.match(name):
            res.untyped += 1
            res.untyped_bytes += size
            continue
        layout = lay[name]
        if isinstance(layout, str):
            r = res.unresolved.setdefault(name, [0, 0, layout])
            r[0] += 1
            r[1] += size
            continue
        addr = int(o["addr"], 16)
        d = dump.get(addr)
        i = bisect.bisect_right(starts, addr) - 1
        span = rows[i][2] if i >= 0 and addr < rows[i][1] else None
        res.checked += 1
        res.checked_bytes += size
        if d is None or span is None:
            res.contradictions.append((addr, size, name, "not an object of the heap dump"))
            continue
        want = expected_pointers(layout, span, size)
        got = frozenset(d.pointers)
        if want != got:
            extra, missing = sorted(want - got)[:4], sorted(got - want)[:4]
            why = "noscan span" if span["noscan"] else f"type implies {extra}, runtime has {missing} (first offsets)"
            res.contradictions.append((addr, size, name, why))
    return res


# ---------------------------------------------------------------- stack roots

@dataclass
class RootCheck:
    stack_roots: int = 0        # memdbg's stack roots
    compared: int = 0           # of those, in goroutines whose stacks did not move after the dump
    moved: frozenset = frozenset()               # goroutine ids whose stacks moved
    dumping: int = 0            # the goroutine that wrote the dump
    live_slots: int = 0         # pointer slots the runtime scans in the compared stacks
    dead: list = field(default_factory=list)     # (slot, target, name) the GC would not scan

    def by_frame(self):
        t = {}
        for _, _, name in self.dead:
            f = re.sub(r"^goroutine \d+ frame ", "", name)
            t[f] = t.get(f, 0) + 1
        return sorted(t.items(), key=lambda r: -r[1])


GOROUTINE = re.compile(r"^goroutine (\d+)\b")


def live_stack_slots(g, objects, word, defers=(), defer_fields=None):
    """Every stack address the GC scans as a pointer in goroutine g of the heap dump.

    The dump lists each frame's live pointer slots (locals and arguments, from the
    compiler's stack maps at the frame's pc); address-taken variables are stack objects
    instead (FUNCDATA_StackObjects), which the GC scans only when a live slot, or a live
    stack object, points into them (runtime/mgcstack.go).  amd64 frames: argp is the
    frame's fp, varp is below the return address and the saved frame pointer.

    Then what scanstack (runtime/mgcmark.go, the same in go1.22-1.26) scans besides the
    frames: every defer record's fn and link words when they are set (stack-allocated
    records are unreachable otherwise, and fn may be a closure on the stack), and the
    panic record (always on the stack), both pointing into stack objects too.  `defers`
    are the dump's records (tagDefer: defer, g, sp, pc, fn, fn.fn, link), of every
    goroutine; `defer_fields` runtime._defer's field offsets.
    """
    live = set()
    pending = []
    for f in g.frames:
        live.update(f.sp + off for off in f.pointers)
        fp = f.sp + f.size
        varp = fp - 8
        if varp > f.sp:
            varp -= 8
        for off, size, ptrs in objects.get(f.entry, ()):
            base = (varp if off < 0 else fp) + off
            pending.append((base, base + size, [base + p for p in ptrs]))
    extra = {g.panic} if g.panic else set()
    for d, gp, _, _, fn, _, link in defers:
        if gp != g.g:
            continue
        if fn:
            live.add(d + defer_fields["fn"])
            extra.add(fn)
        if link:
            live.add(d + defer_fields["link"])
            extra.add(link)
    values = {word(s) for s in live} | extra
    grew = True
    while grew and pending:
        grew = False
        for o in list(pending):
            if any(o[0] <= v < o[1] for v in values):
                pending.remove(o)
                live.update(o[2])
                values.update(word(s) for s in o[2])
                grew = True
    return live


def check_stack_roots(cc):
    """memdbg's stack roots against the slots the GC would scan (live_stack_slots)."""
    d = load_heapdump(cc)
    moved = moved_goroutines(str(cc.sc.core), str(cc.dir / "heapdump"))
    objects = stack_objects(cc.meta_exe, [f.entry for g in d.goroutines for f in g.frames], load_bias(cc))
    mem = CoreMemory(cc.sc.core)

    def word(addr):
        b = mem.read(addr, 8)
        return int.from_bytes(b, "little") if b else 0

    fields = struct_fields(cc.meta_exe, "runtime._defer")
    live = set()
    res = RootCheck(moved=moved)
    for g in d.goroutines:
        if g.waitreason == "dumping heap":
            res.dumping = g.goid
        if g.goid not in moved:
            live |= live_stack_slots(g, objects, word, d.defers, fields)
    res.live_slots = len(live)
    for r in cli_json(cc, "roots --kind stack")["roots"]:
        res.stack_roots += 1
        m = GOROUTINE.match(r["name"] or "")
        if m and int(m.group(1)) in moved:
            continue
        res.compared += 1
        slot = int(r["slot"], 16)
        if slot not in live:
            res.dead.append((slot, int(r["target"], 16), r["name"]))
    mem.f.close()
    return res


# ---------------------------------------------------------------- the runtime's live set

def dump_live(cc):
    """(addresses, bytes) of the heap dump's objects the GC would mark: from the data and
    bss pointer words, every goroutine's live stack slots (live_stack_slots) and
    sched.ctxt, the defer records, the finalizers' functions and their objects'
    referents, and the dump's other roots."""
    d = load_heapdump(cc)
    objs = sorted(dump_objects(cc), key=lambda o: o.addr)
    keys = [o.addr for o in objs]

    def find(v):
        i = bisect.bisect_right(keys, v) - 1
        return objs[i] if i >= 0 and v < objs[i].addr + objs[i].size else None

    def words(raw, off, fields):
        for f in fields:
            f = f if isinstance(f, int) else f[1] + 8      # an interface's data word
            yield int.from_bytes(raw[off + f:off + f + 8], "little")

    stack = {}                        # address -> word, from the dump's frames
    for g in d.goroutines:
        for f in g.frames:
            for i in range(0, f.size - 7, 8):
                stack[f.sp + i] = int.from_bytes(d.raw[f.offset + i:f.offset + i + 8], "little")
    objects = stack_objects(cc.meta_exe, [f.entry for g in d.goroutines for f in g.frames], load_bias(cc))
    roots = []
    for s in d.segments:
        roots.extend(words(d.raw, s.offset, s.pointers))
    fields = struct_fields(cc.meta_exe, "runtime._defer")
    for g in d.goroutines:
        roots.extend(stack.get(a, 0) for a in live_stack_slots(g, objects, lambda a: stack.get(a, 0), d.defers, fields))
        roots.append(g.ctxt)          # scanstack scans g.sched.ctxt
    # ... and every defer record's fn and link, and the record itself when on the heap (scanstack's d.heap
    # case; find() skips the records on stacks)
    roots.extend(x for rec in d.defers for x in (rec[0], rec[4], rec[6]) if x)
    for fin in d.finalizers:
        roots.append(fin.fn)
        o = find(fin.obj)
        if o is not None:
            roots.extend(words(d.raw, o.offset, o.pointers))
    roots.extend(to for _, to in d.other_roots)
    live, work = {}, [o for o in map(find, roots) if o is not None]
    while work:
        o = work.pop()
        if o.addr in live:
            continue
        live[o.addr] = o.size
        work.extend(t for t in map(find, words(d.raw, o.offset, o.pointers)) if t is not None and t.addr not in live)
    return live
