"""A reader for runtime/debug.WriteHeapDump files (format "go1.7 heap dump").

Written from src/runtime/heapdump.go of go1.22.12, 1.23.12, 1.24.13,
1.25.14 and 1.26.8: the record layout is the same in all of them.  After the
16-byte header every value is a uvarint (encoding/binary style), a string or
memory range is a uvarint length followed by the bytes, a bool is a uvarint
0/1, and a "fields" list is (kind, offset) uvarint pairs ended by kind 0.
Records start with a tag:

    0 EOF
    1 Object         addr, contents, fields (pointer offsets in the object)
    2 OtherRoot      description, to
    3 Type           addr, size, name, indirect ("!direct-iface || has pointers")
    4 Goroutine      g, sp, goid, gopc, status, is_system, is_background, waitsince,
                     waitreason, ctxt, m, defer, panic
    5 StackFrame     sp, depth, child_sp, contents, entry, pc, continpc, name, fields
    6 Params         big_endian, ptr_size, arena_start, arena_end, goarch, version, ncpu
    7 Finalizer      obj, fn, fn.fn, fint, ot
    8 Itab           itab, type
    9 OSThread       m, id, procid
   10 MemStats       24 MemStats words (Alloc .. PauseTotalNs), PauseNs[256], NumGC
   11 QueuedFinalizer  as Finalizer
   12 Data / 13 BSS  addr, contents, fields (of firstmoduledata only)
   14 Defer          defer, g, sp, pc, fn, fn.fn, link
   15 Panic          panic, g, type, data, 0, link
   16 MemProf        bucket, size, nstk, nstk x (func, file, line), allocs, frees
   17 AllocSample    addr, bucket

The dump has no per-object type: tagType records are only written for the
types of itabs (dumpitabs), so object types cannot be checked against it.

Quirks (all versions read):

* Slots past nelems.  dumpobjs walks j < npages*pageSize/elemsize slots of
  each in-use span and dumps every slot whose freemark is not set, but it only
  sets freemark for indexes < s.nelems (from allocBits/freeindex).  So the
  slots between nelems and the end of the span are dumped as if allocated.
  They exist whenever a span's tail is not slots: the heap bits of small scan
  spans (objects <= 512 B, Go 1.22+ allocation headers) and Green Tea's inline
  mark bits (go1.25 GOEXPERIMENT=greenteagc, go1.26 by default).  Those
  "objects" hold the span's bitmap, not user data.  `drop_past_nelems` removes
  them, given each span's start, elemsize and nelems (memdbg's
  `mspan-walk --json` rows: start, elemsize, slots).
* The tiny allocator's 16 B blocks are dumped as one object each, however
  many tiny objects share them.
* dumpobjs dumps every slot that is allocated, live or garbage alike (the
  dump sweeps unswept spans first, but garbage allocated after the last GC
  stays allocated).
* go1.26's dumpgs throws "dumpgs in STW - bad status" for a goroutine in
  _Grunning (its syscall case falls through into the default case), so a
  program with a goroutine blocked in a raw syscall cannot write a dump there.
* Large objects and small objects with a malloc header are dumped from the
  slot base: the object's address is the slot, 8 bytes before the pointer the
  program holds for header objects.
"""

import struct
from dataclasses import dataclass, field

HEADER = b"go1.7 heap dump\n"

TAG_EOF, TAG_OBJECT, TAG_OTHER_ROOT, TAG_TYPE, TAG_GOROUTINE, TAG_STACK_FRAME, TAG_PARAMS, \
    TAG_FINALIZER, TAG_ITAB, TAG_OS_THREAD, TAG_MEMSTATS, TAG_QUEUED_FINALIZER, TAG_DATA, TAG_BSS, \
    TAG_DEFER, TAG_PANIC, TAG_MEMPROF, TAG_ALLOC_SAMPLE = range(18)

FIELD_EOL, FIELD_PTR, FIELD_IFACE, FIELD_EFACE = range(4)

MEMSTATS_NAMES = (
    "Alloc", "TotalAlloc", "Sys", "Lookups", "Mallocs", "Frees", "HeapAlloc", "HeapSys",
    "HeapIdle", "HeapInuse", "HeapReleased", "HeapObjects", "StackInuse", "StackSys",
    "MSpanInuse", "MSpanSys", "MCacheInuse", "MCacheSys", "BuckHashSys", "GCSys", "OtherSys",
    "NextGC", "LastGC", "PauseTotalNs",
)


class HeapDumpError(Exception):
    pass


@dataclass
class Object:
    addr: int
    size: int                      # the slot size (span elemsize)
    offset: int                    # where the contents start in the dump file
    pointers: list                 # offsets of pointer words (from the span's heap bits / header)
    dump: "HeapDump" = field(repr=False, default=None)

    @property
    def data(self):
        return self.dump.raw[self.offset:self.offset + self.size]

    def word(self, off):
        return struct.unpack_from("<Q", self.dump.raw, self.offset + off)[0]


@dataclass
class Segment:                     # tagData / tagBSS
    kind: str
    addr: int
    size: int
    offset: int
    pointers: list


@dataclass
class Frame:
    sp: int
    depth: int
    child_sp: int
    size: int
    offset: int
    entry: int
    pc: int
    continpc: int
    name: str
    pointers: list


@dataclass
class Goroutine:
    g: int
    sp: int
    goid: int
    gopc: int
    status: int
    system: bool
    background: bool
    waitsince: int
    waitreason: str
    ctxt: int
    m: int
    defer: int
    panic: int
    frames: list = field(default_factory=list)


@dataclass
class Finalizer:
    obj: int
    fn: int
    fn_pc: int
    fint: int
    ot: int
    queued: bool


@dataclass
class HeapDump:
    raw: bytes = field(repr=False)
    params: dict = field(default_factory=dict)
    objects: list = field(default_factory=list, repr=False)
    types: dict = field(default_factory=dict, repr=False)       # addr -> (size, name, indirect)
    itabs: dict = field(default_factory=dict, repr=False)       # itab -> type addr
    goroutines: list = field(default_factory=list, repr=False)
    threads: list = field(default_factory=list, repr=False)     # (m, id, procid)
    segments: list = field(default_factory=list, repr=False)    # data, bss
    finalizers: list = field(default_factory=list, repr=False)
    other_roots: list = field(default_factory=list, repr=False)  # (description, to)
    defers: list = field(default_factory=list, repr=False)
    panics: list = field(default_factory=list, repr=False)
    memstats: dict = field(default_factory=dict)
    memprof: list = field(default_factory=list, repr=False)
    alloc_samples: list = field(default_factory=list, repr=False)

    def object_set(self):
        """{(addr, size)} of every dumped object."""
        return {(o.addr, o.size) for o in self.objects}

    def find(self, addr):
        """The dumped object containing addr, or None (binary search)."""
        import bisect
        if not hasattr(self, "_sorted") or self._sorted is None:
            self._sorted = sorted(self.objects, key=lambda o: o.addr)
            self._keys = [o.addr for o in self._sorted]
        i = bisect.bisect_right(self._keys, addr) - 1
        if i >= 0 and self._sorted[i].addr <= addr < self._sorted[i].addr + self._sorted[i].size:
            return self._sorted[i]
        return None

    _sorted = None


class _Reader:
    def __init__(self, raw):
        self.raw = raw
        self.pos = 0

    def uvarint(self):
        raw, pos = self.raw, self.pos
        v = shift = 0
        while True:
            if pos >= len(raw):
                raise HeapDumpError(f"truncated uvarint at {self.pos}")
            b = raw[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift > 63:
                raise HeapDumpError(f"uvarint overflow at {self.pos}")
        self.pos = pos
        return v

    def bool(self):
        return self.uvarint() != 0

    def span(self):
        """A length-prefixed range: (offset, length), skipped over."""
        n = self.uvarint()
        off = self.pos
        if off + n > len(self.raw):
            raise HeapDumpError(f"range of {n} bytes at {off} runs past the end")
        self.pos += n
        return off, n

    def str(self):
        off, n = self.span()
        return self.raw[off:off + n].decode("utf-8", "replace")

    def fields(self):
        out = []
        while True:
            kind = self.uvarint()
            if kind == FIELD_EOL:
                return out
            off = self.uvarint()
            out.append(off if kind == FIELD_PTR else (kind, off))


def parse(path_or_bytes):
    """Parse a heap dump file (path) or its bytes; return a HeapDump."""
    raw = path_or_bytes if isinstance(path_or_bytes, (bytes, bytearray)) else open(path_or_bytes, "rb").read()
    if not raw.startswith(HEADER):
        raise HeapDumpError(f"not a heap dump (header {raw[:16]!r})")
    d = HeapDump(raw=raw)
    r = _Reader(raw)
    r.pos = len(HEADER)
    u = r.uvarint
    current_g = None
    while True:
        if r.pos >= len(raw):
            raise HeapDumpError("no EOF record")
        tag = u()
        if tag == TAG_EOF:
            break
        elif tag == TAG_OBJECT:
            addr = u()
            off, n = r.span()
            d.objects.append(Object(addr, n, off, r.fields(), d))
        elif tag == TAG_OTHER_ROOT:
            d.other_roots.append((r.str(), u()))
        elif tag == TAG_TYPE:
            addr, size = u(), u()
            d.types[addr] = (size, r.str(), r.bool())
        elif tag == TAG_GOROUTINE:
            current_g = Goroutine(u(), u(), u(), u(), u(), r.bool(), r.bool(), u(), r.str(), u(), u(), u(), u())
            d.goroutines.append(current_g)
        elif tag == TAG_STACK_FRAME:
            sp, depth, child = u(), u(), u()
            off, n = r.span()
            f = Frame(sp, depth, child, n, off, u(), u(), u(), r.str(), r.fields())
            if current_g is None:
                raise HeapDumpError("stack frame before any goroutine")
            current_g.frames.append(f)
        elif tag == TAG_PARAMS:
            d.params = dict(big_endian=r.bool(), ptr_size=u(), arena_start=u(), arena_end=u(),
                            goarch=r.str(), version=r.str(), ncpu=u())
        elif tag in (TAG_FINALIZER, TAG_QUEUED_FINALIZER):
            d.finalizers.append(Finalizer(u(), u(), u(), u(), u(), tag == TAG_QUEUED_FINALIZER))
        elif tag == TAG_ITAB:
            tab = u()
            d.itabs[tab] = u()
        elif tag == TAG_OS_THREAD:
            d.threads.append((u(), u(), u()))
        elif tag == TAG_MEMSTATS:
            ms = {name: u() for name in MEMSTATS_NAMES}
            ms["PauseNs"] = [u() for _ in range(256)]
            ms["NumGC"] = u()
            d.memstats = ms
        elif tag in (TAG_DATA, TAG_BSS):
            addr = u()
            off, n = r.span()
            d.segments.append(Segment("data" if tag == TAG_DATA else "bss", addr, n, off, r.fields()))
        elif tag == TAG_DEFER:
            d.defers.append(tuple(u() for _ in range(7)))
        elif tag == TAG_PANIC:
            d.panics.append(tuple(u() for _ in range(6)))
        elif tag == TAG_MEMPROF:
            bucket, size, nstk = u(), u(), u()
            stk = [(r.str(), r.str(), u()) for _ in range(nstk)]
            d.memprof.append(dict(bucket=bucket, size=size, stack=stk, allocs=u(), frees=u()))
        elif tag == TAG_ALLOC_SAMPLE:
            d.alloc_samples.append((u(), u()))
        else:
            raise HeapDumpError(f"unknown tag {tag} at offset {r.pos}")
    return d


def drop_past_nelems(objects, spans):
    """Split dumped objects into (real, past_nelems) by the span they sit in.

    `spans` are rows with "start" (hex string or int), "elemsize" and "slots"
    (= mspan.nelems), e.g. memdbg's `mspan-walk --json` spans.  See the module
    docstring: dumpobjs also dumps the slots from nelems to the end of the
    span, which are never allocated (they hold heap bits / inline mark bits).
    Objects in no listed span are kept in `real` (the caller compares sets).
    """
    import bisect

    def num(v):
        return int(v, 16) if isinstance(v, str) else v

    rows = sorted((num(s["start"]), num(s["end"]), s["elemsize"], s["slots"]) for s in spans)
    starts = [r[0] for r in rows]
    real, past = [], []
    for o in objects:
        i = bisect.bisect_right(starts, o.addr) - 1
        if i >= 0:
            start, end, elemsize, nelems = rows[i]
            if o.addr < end and elemsize and (o.addr - start) // elemsize >= nelems:
                past.append(o)
                continue
        real.append(o)
    return real, past
