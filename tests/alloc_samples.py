"""C samples on jemalloc and TCMalloc: executables, cores, oracles, live processes.

Each variant is one sample source built one way (Debian's shared library, or
its static archive).  Everything is cached under build/cores/alloc/<variant>/,
keyed by a hash of the source and the build line:

    <variant>/<key>/exe                 the sample
    <variant>/<key>/kernel/core.kernel  kernel core (the sample aborts)
    <variant>/<key>/gcore/core.gcore    gcore of the SIGSTOPped sample
    <variant>/<key>/<kind>/oracle.json  the allocator's own figures, written right before

The samples read MEMDBG_SAMPLE_MODE (stop|crash) and MEMDBG_ORACLE like the Go
sample, so the process helpers of samples.py are reused.
"""

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import samples

REPO = samples.REPO
sys.path.insert(0, str(REPO / "setup" / "allocators"))
import glibc_debs  # noqa: E402
ALLOC_DIR = samples.CORES_DIR / "alloc"
LIBDIR = Path("/usr/lib/x86_64-linux-gnu")

FIXTURE_VERSION = "1"


class Unavailable(Exception):
    """The allocator's Debian package is not installed (tests skip)."""


@dataclass(frozen=True)
class Variant:
    name: str
    src: str                 # relative to samples/
    libs: tuple              # linker arguments after the source
    needs: tuple             # files that must exist (the Debian packages)
    cflags: tuple = ()
    env: tuple = ()          # extra environment for runs
    patch_lib: str = ""      # run against a copy of this library with its build-id changed
    patch_bytes: tuple = ()  # and these (old, new) byte strings replaced in that copy, each found once
    configure: tuple = ()    # link a jemalloc built from Debian's source with these configure flags
    deps: tuple = ()         # other files under samples/ the source includes
    glibc: str = ""          # run on this Debian libc6 (glibc_debs.PINNED) through its own loader

    def __str__(self):
        return self.name


JE_SRC = "jemalloc/jeheap.c"
CGO_SRC = "jemalloc/cgoheap"                 # a Go package: built with go build, cgo on
TC_SRC = "tcmalloc/tcheap.cc"
GL_SRC = "glibc/glheap.c"
# libs, needs, cflags of the sample for glibc 2.31: older symbol versions, pthread_create and dlsym from
# their own libraries then, and the sample's own _start.
GL_2_31_BUILD = (("-Wl,--no-as-needed", "-l:libpthread.so.0", "-l:libdl.so.2"), (),
                 ("-DGLHEAP_GLIBC_2_2_5", "-nostartfiles"))
VARIANTS = {v.name: v for v in (
    Variant("je-shared", JE_SRC, ("-ljemalloc", "-lpthread"), (LIBDIR / "libjemalloc.so.2",)),
    Variant("je-static", JE_SRC, (str(LIBDIR / "libjemalloc_pic.a"), "-lpthread", "-lstdc++", "-lm", "-ldl"),
            (LIBDIR / "libjemalloc_pic.a",)),
    Variant("je-unknown", JE_SRC, ("-ljemalloc", "-lpthread"), (LIBDIR / "libjemalloc.so.2",),
            patch_lib="libjemalloc.so.2"),
    # An unknown build whose mallctl tree has no "arenas.lookup" (which the sample does not use): the
    # code search fails, so memdbg must say so in one line.
    Variant("je-hidden", JE_SRC, ("-ljemalloc", "-lpthread"), (LIBDIR / "libjemalloc.so.2",),
            patch_lib="libjemalloc.so.2", patch_bytes=((b"\0lookup\0", b"\0lookuq\0"),)),
    Variant("je-cgo", CGO_SRC, (), (LIBDIR / "libjemalloc.so.2",)),
    # Redis-like: jemalloc linked in with its own prefix, built with -g and --enable-debug (which moves
    # struct fields away from the table's offsets: only a layout from DWARF decodes it).
    Variant("je-dwarf", JE_SRC, ("-lpthread", "-lm", "-ldl"), (), ("-DJEHEAP_PREFIX",),
            configure=("--enable-debug", "--with-jemalloc-prefix=je_", "--with-lg-page=12", "--with-lg-vaddr=48")),
    # The same for 57-bit virtual addresses, as configure chooses on a CPU with 5-level paging: the
    # emap's radix tree has 3 levels and two-word leaves, which only its DWARF describes.
    Variant("je-vaddr57", JE_SRC, ("-lpthread", "-lm", "-ldl"), (), ("-DJEHEAP_PREFIX",),
            configure=("--enable-debug", "--with-jemalloc-prefix=je_", "--with-lg-page=12", "--with-lg-vaddr=57")),
    # A release build with the je_ prefix, linked in statically (Redis's way), compiled at another
    # optimization level than Debian's: stripped, its globals come from its own mallctl tree's code.
    Variant("je-prefixed", JE_SRC, ("-lpthread", "-lm", "-ldl"), (), ("-DJEHEAP_PREFIX",),
            configure=("--with-jemalloc-prefix=je_", "--with-lg-page=12", "--with-lg-vaddr=48")),
    # The hugepage allocator (HPA): small extents come from hpa_shard pageslabs.
    Variant("je-hpa", JE_SRC, ("-ljemalloc", "-lpthread"), (LIBDIR / "libjemalloc.so.2",),
            env=(("MALLOC_CONF", "hpa:true"),)),
    Variant("tc-minimal", TC_SRC, ("-ltcmalloc_minimal", "-lpthread"), (LIBDIR / "libtcmalloc_minimal.so.4",)),
    Variant("tc-full", TC_SRC, ("-ltcmalloc", "-lpthread"), (LIBDIR / "libtcmalloc.so.4",)),
    Variant("tc-unknown", TC_SRC, ("-ltcmalloc_minimal", "-lpthread"), (LIBDIR / "libtcmalloc_minimal.so.4",),
            patch_lib="libtcmalloc_minimal.so.4"),
    Variant("tc-full-unknown", TC_SRC, ("-ltcmalloc", "-lpthread"), (LIBDIR / "libtcmalloc.so.4",),
            patch_lib="libtcmalloc.so.4"),
    # Heap sampling on (every ~64 KiB allocated): sampled objects get spans of their own.
    Variant("tc-sampled", TC_SRC, ("-ltcmalloc", "-lpthread"), (LIBDIR / "libtcmalloc.so.4",),
            env=(("TCMALLOC_SAMPLE_PARAMETER", "65536"),)),
    # glibc's malloc: Debian's stripped libc.so.6 (tests hide libc6-dbg's debug file from memdbg), a copy
    # whose build-id no table knows (found in its own code), and a static link (its symbols).
    Variant("gl-shared", GL_SRC, ("-lpthread",), (LIBDIR / "libc.so.6",)),
    Variant("gl-unknown", GL_SRC, ("-lpthread",), (LIBDIR / "libc.so.6",), patch_lib="libc.so.6"),
    Variant("gl-cgo", "glibc/cgoheap", (), (LIBDIR / "libc.so.6",), deps=(GL_SRC,)),
    Variant("gl-static", GL_SRC, ("-static", "-lpthread"), (LIBDIR / "libc.a",)),
    # Other Debian releases' libc.so.6 (stripped; their libc6-dbg checks the layout table): the sample
    # linked on this machine, its interpreter and rpath set to that release's loader and libraries.
    # 2.31 lacks the 2.34 symbol versions: the sample binds to older ones and brings its own _start.
    Variant("gl-2.31", GL_SRC, *GL_2_31_BUILD, glibc="2.31-13+deb11u11"),
    Variant("gl-2.41", GL_SRC, ("-lpthread",), (), glibc="2.41-12+deb13u5"),
    # 2.31 with a build-id no table knows: its code has no mallinfo2 (2.33) to search, so memdbg falls
    # back to the heap on its own.
    Variant("gl-2.31-unknown", GL_SRC, *GL_2_31_BUILD, patch_lib="libc.so.6", glibc="2.31-13+deb11u11"),
    Variant("tc-static", TC_SRC, ("-Wl,-Bstatic", "-ltcmalloc_minimal", "-Wl,-Bdynamic", "-lpthread"),
            (LIBDIR / "libtcmalloc_minimal.a",)),
)}


def variant_dir(v):
    """Named by the key, like the Go samples' directories (samples.config_dir_of)."""
    return ALLOC_DIR / v.name / _key(v)[:16]


def _key(v):
    h = hashlib.sha256()
    h.update(f"{FIXTURE_VERSION}\n{v!r}\n".encode())
    src = REPO / "samples" / v.src
    for p in [*(sorted(src.rglob("*")) if src.is_dir() else [src]), *(REPO / "samples" / d for d in v.deps)]:
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _build_go(src, out):
    """go build with cgo on, with the machine's default Go config (as the Go samples use)."""
    cfg = samples.get_config(samples.default_config_id())
    try:
        samples.ensure_toolchain(cfg)
    except samples.ToolchainUnavailable as e:
        raise Unavailable(str(e))
    env = samples.go_env(cfg)
    env["CGO_ENABLED"] = "1"
    return subprocess.run(["go", "build", "-o", str(out), "."], cwd=src, env=env, capture_output=True, text=True,
                          timeout=900)


@contextlib.contextmanager
def _locked(v):
    with _locked_name(v.name):
        yield


@contextlib.contextmanager
def _locked_name(name):
    ALLOC_DIR.mkdir(parents=True, exist_ok=True)
    with open(ALLOC_DIR / f".{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _patched_lib_dir(v, d):
    """A copy of the library whose build-id note has other bytes (an unknown build), and v.patch_bytes."""
    libdir = d / "lib"
    dest = libdir / v.patch_lib
    if dest.exists():
        return libdir
    libdir.mkdir(exist_ok=True)
    src = (glibc_debs.libc_dir(glibc_root(v)) if v.glibc else LIBDIR) / v.patch_lib
    data = bytearray(src.read_bytes())
    out = subprocess.run(["readelf", "-n", str(src)], capture_output=True, text=True).stdout
    bid = next(line.split()[-1] for line in out.splitlines() if "Build ID" in line)
    at = data.find(bytes.fromhex(bid))
    if at < 0:
        raise samples.SampleError(f"build-id {bid} not found in {v.patch_lib}")
    data[at:at + 4] = b"\xde\xad\xbe\xef"
    for old, new in v.patch_bytes:
        if data.count(old) != 1:
            raise samples.SampleError(f"{old!r} is not in {v.patch_lib} exactly once")
        at = data.find(old)
        data[at:at + len(old)] = new
    tmp = dest.with_suffix(".tmp")
    tmp.write_bytes(bytes(data))
    tmp.rename(dest)
    return libdir


# The jemalloc source the from-source variants build, pinned: Debian 12's package version, the
# upstream tarball's sha256, and everything configure would otherwise take from the building machine
# (the CPU's virtual-address width, /proc/meminfo's huge page size, the environment's compiler flags).
JE_SOURCE_PACKAGE = "jemalloc=5.3.0-1"
JE_TARBALL = "jemalloc_5.3.0.orig.tar.bz2"
JE_TARBALL_SHA256 = "2db82d1e7119df3e71b7640219b6dfe84789bc0537983c3b7ac4f7189aecfeaa"
JE_PINNED_CONFIGURE = ("--with-lg-hugepage=21",)
JE_CFLAGS = "-g -O1"


def _pinned_defines(configure):
    """The jemalloc_internal_defs.h lines the configure flags pin (e.g. LG_VADDR 48)."""
    names = {"--with-lg-page": "LG_PAGE", "--with-lg-vaddr": "LG_VADDR", "--with-lg-hugepage": "LG_HUGEPAGE"}
    return {names[k]: v for k, _, v in (f.partition("=") for f in configure) if k in names}


def jemalloc_from_source(configure):
    """Debian's jemalloc 5.3.0 source (apt-get source, checked by hash), configured with `configure`
    and built with -g as a static archive; returns the source tree (include/, lib/libjemalloc.a).
    Cached under ALLOC_DIR/jemalloc-src-<hash of the flags>/.  A pinned input that differs (the
    tarball, or a machine-dependent value configure chose) is an error, never a different build."""
    configure = (*configure, *JE_PINNED_CONFIGURE)
    pin = repr((JE_SOURCE_PACKAGE, JE_TARBALL_SHA256, JE_CFLAGS, configure))
    d = ALLOC_DIR / ("jemalloc-src-" + hashlib.sha256(pin.encode()).hexdigest()[:12])
    tree = d / "jemalloc-5.3.0"
    if (tree / "lib" / "libjemalloc.a").exists():
        return tree
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C", "CC": "gcc",
           "CFLAGS": JE_CFLAGS}

    def run(argv, cwd, timeout=900, env=None):
        p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
        if p.returncode != 0:
            raise samples.SampleError(f"{' '.join(argv)} failed (setup/install.sh adds the deb-src line):\n"
                                      f"{p.stdout[-2000:]}{p.stderr[-2000:]}")
    run(["apt-get", "source", "--download-only", JE_SOURCE_PACKAGE], d)
    digest = hashlib.sha256((d / JE_TARBALL).read_bytes()).hexdigest()
    if digest != JE_TARBALL_SHA256:
        raise samples.SampleError(f"{JE_TARBALL}: sha256 {digest}, pinned {JE_TARBALL_SHA256}")
    run(["tar", "xjf", JE_TARBALL], d)
    run(["./configure", *configure], tree, env=env)
    defs = (tree / "include/jemalloc/internal/jemalloc_internal_defs.h").read_text()
    for name, want in _pinned_defines(configure).items():
        if f"#define {name} {want}\n" not in defs:
            raise samples.SampleError(f"jemalloc's configure did not take {name}={want} from {configure}")
    run(["make", f"-j{os.cpu_count() or 2}", "lib/libjemalloc.a"], tree, timeout=1800, env=env)
    return tree


def glibc_root(v):
    """Where the variant's Debian libc6 and libc6-dbg are unpacked (fetched once, checked by sha256)."""
    with _locked_name("glibc-debs"):
        try:
            return glibc_debs.unpack(ALLOC_DIR / "glibc-debs", v.glibc)
        except glibc_debs.FetchError as e:
            raise samples.SampleError(f"{v.name}: {e}")


def _build_locked(v):
    for f in v.needs:
        if not Path(f).exists():
            raise Unavailable(f"{v.name}: {f} is missing (setup/install.sh installs it)")
    d = variant_dir(v)
    d.mkdir(parents=True, exist_ok=True)
    exe = d / "exe"
    patched = _patched_lib_dir(v, d) if v.patch_lib else None
    if exe.exists():
        return exe
    src = REPO / "samples" / v.src
    tmp = d / "exe.tmp"
    cflags, libs = list(v.cflags), list(v.libs)
    if v.glibc:
        root = glibc_root(v)
        rpath = ([str(patched)] if patched else []) + [str(glibc_debs.libc_dir(root))]
        libs += [f"-Wl,--dynamic-linker={glibc_debs.loader(root)}", f"-Wl,--disable-new-dtags,-rpath={':'.join(rpath)}"]
    if v.configure:
        tree = jemalloc_from_source(v.configure)
        cflags.append(f"-I{tree / 'include'}")
        libs.insert(0, str(tree / "lib" / "libjemalloc.a"))
    if src.is_dir():
        p = _build_go(src, tmp)
    else:
        cc = "g++" if src.suffix == ".cc" else "gcc"
        p = subprocess.run([cc, "-O1", "-g", *cflags, "-o", str(tmp), str(src), *libs],
                           capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise samples.SampleError(f"{v.name}: build failed:\n{p.stdout}{p.stderr}")
    tmp.rename(exe)
    return exe


def build(v):
    v = VARIANTS[v] if isinstance(v, str) else v
    with _locked(v):
        return _build_locked(v)


def _env(v, mode, oracle, d):
    env = samples.sample_env(mode, oracle)
    env.pop("LD_PRELOAD", None)
    env.update(dict(v.env))
    if v.patch_lib:
        env["LD_LIBRARY_PATH"] = str(d / "lib")
    return env


@dataclass
class AllocCore:
    variant: Variant
    kind: str
    exe: Path
    core: Path
    oracle: dict = field(repr=False)


def _start_stopped(v, exe, cwd, oracle, err):
    p = subprocess.Popen([str(exe)], cwd=cwd, env=_env(v, "stop", oracle, variant_dir(v)),
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    deadline = time.monotonic() + samples.STOP_TIMEOUT
    while True:
        st = samples._proc_state(p.pid)
        if st == "T":
            return p
        if p.poll() is not None or st in (None, "Z"):
            p.wait()
            raise samples.SampleError(f"{v.name}: sample exited ({p.returncode}) instead of stopping")
        if time.monotonic() > deadline:
            samples._kill(p)
            raise samples.SampleError(f"{v.name}: sample did not stop")
        time.sleep(0.05)


def _kernel_core(v, exe, outdir):
    with open(outdir / "stderr.txt", "w") as err:
        p = subprocess.Popen([str(exe)], cwd=outdir, env=_env(v, "crash", outdir / "oracle.json", variant_dir(v)),
                             stdin=subprocess.DEVNULL, stdout=err, stderr=err, preexec_fn=samples._unlimited_core)
        rc = p.wait(samples.RUN_TIMEOUT)
    if rc != -signal.SIGABRT:
        raise samples.SampleError(f"{v.name}: sample exited with {rc}, expected SIGABRT")
    found = sorted(glob.glob(samples._core_glob(outdir, p.pid, exe.name[:15])), key=os.path.getmtime)
    if not found:
        raise samples.SampleError(f"{v.name}: no kernel core found (core_pattern {samples.core_pattern()!r})")
    dest = outdir / "core.kernel"
    shutil.move(found[-1], dest)
    return dest


def _gcore(v, exe, outdir):
    with open(outdir / "stderr.txt", "w") as err:
        p = _start_stopped(v, exe, outdir, outdir / "oracle.json", err)
    try:
        return samples.take_gcore(p.pid, outdir / "core.gcore", v.name)
    finally:
        samples._kill(p)


def make_core(v, kind):
    v = VARIANTS[v] if isinstance(v, str) else v
    with _locked(v):
        exe = _build_locked(v)
        outdir = variant_dir(v) / kind
        done = outdir / "done"
        if not done.exists():
            if outdir.exists():
                shutil.rmtree(outdir)
            outdir.mkdir(parents=True)
            (_kernel_core if kind == "kernel" else _gcore)(v, exe, outdir)
            done.write_text("ok\n")
        oracle = json.loads((outdir / "oracle.json").read_text())
        return AllocCore(v, kind, exe, outdir / f"core.{kind}", oracle)


@contextlib.contextmanager
def live(v):
    """The sample SIGSTOPped after writing its oracle: (pid, exe, oracle)."""
    v = VARIANTS[v] if isinstance(v, str) else v
    exe = build(v)
    d = Path(tempfile.mkdtemp(prefix="live-", dir=variant_dir(v)))
    try:
        with open(d / "stderr.txt", "w") as err:
            p = _start_stopped(v, exe, d, d / "oracle.json", err)
        try:
            yield p.pid, exe, json.loads((d / "oracle.json").read_text())
        finally:
            samples._kill(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def cli_json(core, cmd, check=True):
    """Run one command on an AllocCore with --json; the parsed document."""
    p = samples.run_cli(["core", core.core, "--exe", core.exe, "-c", cmd, "--json"], timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd}: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout) if p.stdout.strip() else None


def pid_json(pid, exe, cmd):
    p = samples.run_cli(["attach", str(pid), "--exe", exe, "-c", cmd, "--json"], timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"{cmd}: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def asan_extension():
    """True when the _memdbg extension is an ASan build (gdb/lldb cannot load it without a preload)."""
    b = os.environ.get("MEMDBG_BUILD")
    d = Path(b).resolve() if b else REPO / "build"
    ext = sorted(d.glob("_memdbg*.so"))
    if not ext:
        return False
    nm = subprocess.run(["nm", "-D", "--undefined-only", str(ext[0])], capture_output=True, text=True)
    return "__asan_init" in nm.stdout


def core_loads(path):
    """(vaddr, offset, filesz) of each PT_LOAD of an ELF core."""
    with open(path, "rb") as f:
        h = f.read(64)
        phoff, phentsize, phnum = int.from_bytes(h[32:40], "little"), int.from_bytes(h[54:56], "little"), \
            int.from_bytes(h[56:58], "little")
        f.seek(phoff)
        raw = f.read(phentsize * phnum)
    out = []
    for i in range(phnum):
        p = raw[i * phentsize:(i + 1) * phentsize]
        if int.from_bytes(p[0:4], "little") == 1:
            out.append((int.from_bytes(p[16:24], "little"), int.from_bytes(p[8:16], "little"),
                        int.from_bytes(p[32:40], "little")))
    return out


def file_offset(loads, addr):
    """Where addr's byte is in the core file (None when not dumped)."""
    for vaddr, off, filesz in loads:
        if vaddr <= addr < vaddr + filesz:
            return off + addr - vaddr
    return None
