"""Fixture helpers for samples/goholds (ownership known by construction) and its heap dump.

Cores are made with the generic helpers of samples.py and cached in
build/cores/goholds/<config-id>/{goholds,kernel/,gcore/}; next to each core
and its oracle.json lies `heapdump` (runtime/debug.WriteHeapDump, written
right before the oracle was taken).

The oracle (samples/goholds/main.go, encodeOracle), addresses as the program
holds its pointers (for objects with a malloc header the slot base + 8):

    MemStats{...}, NumGoroutine, GOMAXPROCS, GoVersion, GOEXPERIMENT, Mode, Pid
    Chain [5], Cycle [3], Twin{Addr, Child}, Interface{Addr, Boxed},
    Stack{Goroutine, Func, Addr}, Finalizer{Object, Closure, ClosureFunc, Held},
    Pool{Item, Local, P, Slot, VictimItem, VictimLocal, VictimP, VictimSlot},
    Map{Keys, Values}, Tree{Root, Kids, Leaves, Data}, Garbage [...], Weak (0 before go1.24)
    Holds:    who-holds expectations, one per target:
              {Name, Target, Type, Status, RootKind, Roots, Paths, Hops, HopsExact}
              Roots: prefixes of the root names (each path's root starts with one, each
              starts some path's root); Paths: exact number of paths (-1: not fixed);
              Hops: [{Addr, Type, Via}] the shortest path from the root's first object to
              the target (Via "" = not checked); HopsExact false: only the path's tail.
    Retained: retained expectations: {Name, Addr, Type, Exclusive, Dominators, Root}
              Exclusive: the objects only Addr holds, itself included (its dominator
              subtree); Dominators: immediate dominator first, root excluded (null: not
              checked); Root: prefix of the root's name ("" = the root set).

The heap dump is an independent oracle for the graph: `DumpGraph` rebuilds
the object graph from it (precise stack maps, data/bss pointer masks,
finalizers) to check the sample's claims and to give every object's slot size.
"""

import bisect
import functools
import subprocess
import tempfile
from pathlib import Path

import heapdump
import samples

GOHOLDS = samples.other_sample("goholds")


def build(cfg):
    return samples.build_sample_of(GOHOLDS, cfg)


def make_core(cfg, kind):
    """SampleCore of goholds (kind "kernel" or "gcore"); heapdump_path(sc) is its dump."""
    return samples.make_core_of(GOHOLDS, cfg, kind)


def heapdump_path(sc):
    return sc.dir / "heapdump"


@functools.lru_cache(maxsize=None)
def _parse(path, mtime):
    return heapdump.parse(path)


def load_heapdump(sc):
    p = heapdump_path(sc)
    return _parse(str(p), p.stat().st_mtime_ns)


def run_check_mode(cfg, timeout=samples.RUN_TIMEOUT):
    """Run goholds in check mode: nothing may allocate from the heap dump on."""
    exe = build(cfg)
    d = samples.config_dir_of(GOHOLDS, cfg)
    with tempfile.TemporaryDirectory(dir=d) as t:
        p = subprocess.run([str(exe)], cwd=t, env=samples.sample_env("check", Path(t) / "oracle.json"),
                           capture_output=True, text=True, timeout=timeout)
        oracle = samples.read_oracle(Path(t) / "oracle.json") if p.returncode == 0 else None
        dump_ok = p.returncode == 0 and heapdump.parse(Path(t) / "heapdump") is not None
    return p, oracle, dump_ok


def scenarios(oracle, name=None):
    return [h for h in oracle["Holds"] if name is None or h["Name"] == name]


def retained_rows(oracle):
    return {r["Name"]: r for r in oracle["Retained"]}


# ---------------------------------------------------------------- the graph of the heap dump

class DumpGraph:
    """The heap dump's object graph: objects by slot base, their pointers, the roots.

    Roots are what the GC scans: the pointer words of data and bss, the
    pointer slots of every stack frame (the dump's frames carry the
    compiler's stack maps, so this is the precise view), finalizer closures
    and what objects with finalizers point to, and the dump's other roots.
    `objects` are the dumped slots; pass `spans` (mspan-walk rows) to drop the
    never-allocated slots past nelems (see heapdump.py).
    """

    def __init__(self, dump, objects=None):
        self.dump = dump
        objs = sorted(objects if objects is not None else dump.objects, key=lambda o: o.addr)
        self.objects = objs
        self.keys = [o.addr for o in objs]
        self.by_addr = {o.addr: o for o in objs}
        self._edges = {}
        self._reach = None

    def find(self, addr):
        """Slot base of the object containing addr, or None."""
        i = bisect.bisect_right(self.keys, addr) - 1
        if i >= 0 and addr < self.keys[i] + self.objects[i].size:
            return self.keys[i]
        return None

    def size(self, addr):
        return self.by_addr[self.find(addr)].size

    def _words(self, raw, base_off, fields):
        for f in fields:
            off = f if isinstance(f, int) else f[1] + 8   # iface/eface: the data word
            yield int.from_bytes(raw[base_off + off:base_off + off + 8], "little")

    def edges(self, base):
        e = self._edges.get(base)
        if e is None:
            o = self.by_addr[base]
            e = []
            for w in self._words(self.dump.raw, o.offset, o.pointers):
                t = self.find(w)
                if t is not None and t != base:
                    e.append(t)
            self._edges[base] = e
        return e

    def root_refs(self):
        """[(description, slot base)] of every root pointer into the heap."""
        out = []
        raw = self.dump.raw
        for s in self.dump.segments:
            for off in s.pointers:
                w = int.from_bytes(raw[s.offset + off:s.offset + off + 8], "little")
                t = self.find(w)
                if t is not None:
                    out.append((f"{s.kind} {s.addr + off:#x}", t))
        for g in self.dump.goroutines:
            for f in g.frames:
                for w in self._words(raw, f.offset, f.pointers):
                    t = self.find(w)
                    if t is not None:
                        out.append((f"goroutine {g.goid} frame {f.name}", t))
        for fin in self.dump.finalizers:
            t = self.find(fin.fn)
            if t is not None:
                out.append((f"finalizer of {fin.obj:#x}", t))
            o = self.find(fin.obj)
            if o is not None:
                for t in self.edges(o):
                    out.append((f"finalizer of {fin.obj:#x} (referent)", t))
        for desc, to in self.dump.other_roots:
            t = self.find(to)
            if t is not None:
                out.append((desc, t))
        return out

    def reachable(self, without=frozenset()):
        """Slot bases reachable from the roots, not entering the objects in `without`."""
        if not without and self._reach is not None:
            return self._reach
        seen = set()
        stack = [t for _, t in self.root_refs() if t not in without]
        while stack:
            x = stack.pop()
            if x in seen:
                continue
            seen.add(x)
            stack.extend(t for t in self.edges(x) if t not in seen and t not in without)
        if not without:
            self._reach = seen
        return seen

    def dominated(self, addr):
        """The objects reachable only through the object containing addr (itself included)."""
        base = self.find(addr)
        return self.reachable() - self.reachable(frozenset([base]))

    def referrers(self, addr):
        """Slot bases of the objects that point to the object containing addr."""
        base = self.find(addr)
        return {o.addr for o in self.objects if base in self.edges(o.addr)}


@functools.lru_cache(maxsize=None)
def _graph(path, mtime, spans_key):
    d = _parse(path, mtime)
    objs = d.objects
    if spans_key:
        objs, _ = heapdump.drop_past_nelems(d.objects, [dict(start=s, end=e, elemsize=z, slots=n)
                                                        for s, e, z, n in spans_key])
    return DumpGraph(d, objs)


def dump_graph(sc, spans=None):
    """DumpGraph of the core's heap dump (past-nelems slots dropped when `spans` are given)."""
    p = heapdump_path(sc)
    key = None
    if spans is not None:
        def num(v):
            return int(v, 16) if isinstance(v, str) else v
        key = tuple(sorted((num(s["start"]), num(s["end"]), s["elemsize"], s["slots"]) for s in spans))
    return _graph(str(p), p.stat().st_mtime_ns, key)
