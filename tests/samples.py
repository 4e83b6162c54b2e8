"""Go sample programs, their cores and oracles, and helpers to run memdbg.

Everything is cached under build/cores/<config-id>/<key>/, where <key> is
a hash of the sample's source, the toolchain line and FIXTURE_VERSION, so
reruns are fast and checkouts with different samples can share one cache
(MEMDBG_CORES_DIR) without wiping each other's cores.  Layout of one config
directory (D = build/cores/<id>/<key>):

    D/goheap                the sample executable
    D/kernel/core.kernel    kernel core (SIGABRT, GOTRACEBACK=crash)
    D/kernel/oracle.json    the runtime's own figures for that core
    D/kernel/stderr.txt     the Go crash traceback
    D/gcore/core.gcore      gdb gcore of the stopped process
    D/gcore/oracle.json

Each core has its own oracle.json (each comes from its own run).  gcores are
~1.3 GB (made sparse with `fallocate --dig-holes` when available), so they
are made only for GCORE_CONFIGS unless MEMDBG_GCORE_CONFIGS=all (or a
comma-separated list of ids) is set.

This module does not import pytest; conftest.py turns ToolchainUnavailable
into a skip.
"""

import contextlib
import dataclasses
import fcntl
import functools
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "samples" / "goheap"
NOTGO_SRC = REPO / "samples" / "notgo" / "notgo.c"
GOVERSIONS = REPO / "setup" / "goversions.txt"
CORES_DIR = Path(os.environ.get("MEMDBG_CORES_DIR", REPO / "build" / "cores"))
GOCACHE = Path(os.environ.get("MEMDBG_GOCACHE", Path.home() / ".cache" / "memdbg" / "go-build"))

# Bump when the way cores are made changes, to invalidate caches.
FIXTURE_VERSION = "2"
SHARED_GO = REPO / "samples" / "kit"
# Configs that also get a gcore (oldest and newest default toolchain).
GCORE_CONFIGS = ("go1.22.12", "go1.26.8")
KINDS = ("kernel", "gcore")
# Production builds (docs/support.md): the flags beyond a plain `go build`.  A core
# kind "kernel-<mode>" is the kernel core of the sample built that way (cached
# apart, in CORES_DIR/<name>@<mode>/).
BUILD_MODES = {
    "stripped": ("-ldflags=-s -w",),
    "pie": ("-trimpath", "-buildmode=pie", "-ldflags=-s -w"),
}
PRODUCTION_KINDS = tuple(f"kernel-{m}" for m in BUILD_MODES)

STOP_TIMEOUT = 60      # seconds to wait for the sample to stop itself
RUN_TIMEOUT = 120      # seconds for one sample run / one gcore


class ToolchainUnavailable(Exception):
    """The Go toolchain of a config cannot be fetched (tests skip)."""


class SampleError(Exception):
    """Building or running the sample failed (tests fail)."""


# ---------------------------------------------------------------- configs

@dataclass(frozen=True)
class GoConfig:
    id: str
    toolchain: str                       # e.g. "go1.25.14"
    env: tuple = ()                      # (("GOEXPERIMENT", "greenteagc"),)
    line: str = ""

    @property
    def env_dict(self):
        return dict(self.env)

    def __str__(self):
        return self.id


def config_id(toolchain, env):
    parts = [toolchain]
    for k, v in env:
        if k == "GOEXPERIMENT":
            parts.append(v.lower().replace(",", "-"))
        else:
            parts.append(f"{k.lower()}-{v.lower()}")
    return "-".join(parts)


def load_configs(path=GOVERSIONS):
    configs = []
    for raw in Path(path).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        env = tuple(tuple(w.split("=", 1)) for w in words[1:])
        for w in words[1:]:
            if "=" not in w:
                raise ValueError(f"{path}: bad word {w!r} in {raw!r}")
        configs.append(GoConfig(config_id(words[0], env), words[0], env, line))
    ids = [c.id for c in configs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate config ids {ids}")
    return configs


CONFIGS = load_configs()
CONFIGS_BY_ID = {c.id: c for c in CONFIGS}


def default_config_id():
    """The config of the machine's own Go (plain, no GOEXPERIMENT), else the newest."""
    try:
        ver = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, timeout=60).stdout.strip()
    except OSError:
        ver = ""
    return ver if ver in CONFIGS_BY_ID else CONFIGS[-1].id


def get_config(cfg):
    return cfg if isinstance(cfg, GoConfig) else CONFIGS_BY_ID[cfg]


def gcore_configs():
    v = os.environ.get("MEMDBG_GCORE_CONFIGS")
    if v == "all":
        return tuple(c.id for c in CONFIGS)
    if v:
        return tuple(x.strip() for x in v.split(",") if x.strip())
    return GCORE_CONFIGS


def go_env(cfg):
    """Environment for `go` commands of one config."""
    env = dict(os.environ)
    for k in ("GOEXPERIMENT", "GOFLAGS", "GOOS", "GOARCH", "GOROOT", "GO111MODULE"):
        env.pop(k, None)
    env.update(GOTOOLCHAIN=cfg.toolchain, GOCACHE=str(GOCACHE), CGO_ENABLED="0", GOWORK="off")
    env.update(cfg.env_dict)
    return env


_toolchain_ok = {}


def ensure_toolchain(cfg):
    """Fetch (or find cached) the toolchain; raise ToolchainUnavailable."""
    cfg = get_config(cfg)
    if cfg.toolchain not in _toolchain_ok:
        if shutil.which("go") is None:
            _toolchain_ok[cfg.toolchain] = "no `go` command on PATH"
        else:
            try:
                p = subprocess.run(["go", "version"], env=go_env(cfg), capture_output=True,
                                   text=True, timeout=600, cwd=SAMPLE_DIR)
                out = p.stdout + p.stderr
                if p.returncode == 0 and f"go version {cfg.toolchain} " in out:
                    _toolchain_ok[cfg.toolchain] = None
                else:
                    _toolchain_ok[cfg.toolchain] = f"GOTOOLCHAIN={cfg.toolchain} go version: {out.strip()}"
            except subprocess.TimeoutExpired:
                _toolchain_ok[cfg.toolchain] = f"GOTOOLCHAIN={cfg.toolchain} go version timed out"
    err = _toolchain_ok[cfg.toolchain]
    if err:
        raise ToolchainUnavailable(f"{cfg.id}: toolchain not available: {err}")


# ---------------------------------------------------------------- samples

@dataclass(frozen=True)
class Sample:
    """A Go sample program: its source dir and where its cores are cached.

    The default sample (goheap) caches in CORES_DIR/<id>/<key>/; any other
    sample in CORES_DIR/<name>/<id>/<key>/ (see other_sample).  The functions below that
    take no `sample` work on goheap, as they always did.
    """
    name: str
    src: Path
    cores: Path                 # parent of the per-config dirs
    env: tuple = ()             # (NAME, value) pairs the program runs with (a variant of its source)
    extra: tuple = ()           # more source dirs it builds from (replace directives), in its key
    mode: str = ""              # a BUILD_MODES key, "" for a plain build

    @property
    def lock_prefix(self):
        if self.mode:
            return f"{self.name}@{self.mode}-"
        return "" if self.name == "goheap" else f"{self.name}-"

    @property
    def build_flags(self):
        return BUILD_MODES[self.mode] if self.mode else ()


def with_mode(sample, mode):
    """The same sample built in a production mode (BUILD_MODES), cached apart."""
    return dataclasses.replace(sample, cores=CORES_DIR / f"{sample.name}@{mode}", mode=mode)


def split_kind(kind):
    """"kernel-pie" -> ("kernel", "pie"); "gcore" -> ("gcore", "")."""
    base, _, mode = kind.partition("-")
    if base not in KINDS or (mode and mode not in BUILD_MODES):
        raise ValueError(f"core kind {kind!r}: not one of {KINDS} or kernel-<{'|'.join(BUILD_MODES)}>")
    return base, mode


def goheap_sample():
    return Sample("goheap", SAMPLE_DIR, CORES_DIR)


def other_sample(name):
    """samples/<name>, cached in CORES_DIR/<name>/<config-id>/<key>/."""
    return Sample(name, REPO / "samples" / name, CORES_DIR / name)


# ---------------------------------------------------------------- caching

def sample_key_of(sample, cfg):
    h = hashlib.sha256()
    h.update(f"config {cfg.line}\n".encode())
    for k, v in sample.env:
        h.update(f"env {k}={v}\n".encode())
    if sample.mode:
        h.update(f"flags {sample.build_flags}\n".encode())
    hash_sources(h, sample.src)
    for d in sample.extra:
        hash_tree(h, d)
    return h.hexdigest()


def hash_sources(h, root):
    """Feed the fixture version, every file under root, and the shared module
    samples/kit (imported through a replace directive), into the hash h."""
    h.update(f"fixture {FIXTURE_VERSION}\n".encode())
    for r in (root, SHARED_GO):
        hash_tree(h, r)


def hash_tree(h, root):
    """Feed every file under root (its path and bytes) into the hash h."""
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")


def config_dir(cfg):
    return config_dir_of(goheap_sample(), cfg)


def config_dir_of(sample, cfg):
    """The cache directory of one sample and config: named by the key, so a
    change of the sources gets a new directory instead of wiping the old one."""
    cfg = get_config(cfg)
    return sample.cores / cfg.id / sample_key_of(sample, cfg)[:16]


@contextlib.contextmanager
def _locked(cfg, sample=None):
    """Serialize work on one config dir across processes (pytest-xdist)."""
    CORES_DIR.mkdir(parents=True, exist_ok=True)
    prefix = sample.lock_prefix if sample else ""
    with open(CORES_DIR / f".{prefix}{cfg.id}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ---------------------------------------------------------------- building

def _build_locked(cfg, sample=None, flags=None, name=None):
    """Build the sample into its config dir (with `flags`, the sample's own by default, as `name`)."""
    sample = sample or goheap_sample()
    flags = sample.build_flags if flags is None else flags
    config_dir_of(sample, cfg).mkdir(parents=True, exist_ok=True)
    exe = config_dir_of(sample, cfg) / (name or sample.name)
    if exe.exists():
        return exe
    ensure_toolchain(cfg)
    GOCACHE.mkdir(parents=True, exist_ok=True)
    tmp = exe.with_name(f"{exe.name}.tmp")
    p = subprocess.run(["go", "build", *flags, "-o", str(tmp), "."], cwd=sample.src, env=go_env(cfg),
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise SampleError(f"{cfg.id}: go build failed:\n{p.stdout}{p.stderr}")
    tmp.rename(exe)
    return exe


def build_sample(cfg):
    """Build (or reuse) the sample for one config; return the executable path."""
    return build_sample_of(goheap_sample(), cfg)


def build_sample_of(sample, cfg):
    """build_sample for any Sample."""
    cfg = get_config(cfg)
    with _locked(cfg, sample):
        return _build_locked(cfg, sample)


def build_with_dwarf(sample, cfg):
    """A production-mode sample built with its mode's flags but -s -w: the same loaded bytes (checked:
    same_loaded_bytes) with symbols and DWARF, for the tests' own readers of those (tests/gcmeta)."""
    cfg = get_config(cfg)
    flags = tuple(f for f in sample.build_flags if f != "-ldflags=-s -w")
    with _locked(cfg, sample):
        twin = _build_locked(cfg, sample, flags, f"{sample.name}.dwarf")
    exe = build_sample_of(sample, cfg)
    differ = same_loaded_bytes(exe, twin)
    if differ:
        raise SampleError(f"{twin} is not {exe} with DWARF: its {', '.join(differ)} differ")
    return twin


def elf_sections(exe):
    """{name: (type, address, file offset, size)} from the section headers."""
    out = subprocess.run(["readelf", "-SW", str(exe)], capture_output=True, text=True, check=True).stdout
    return {m.group(1): (m.group(2), int(m.group(3), 16), int(m.group(4), 16), int(m.group(5), 16))
            for m in re.finditer(r"\]\s+(\.\S+)\s+(\w+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", out)}


NT_AUXV, AT_ENTRY = 6, 9


@functools.lru_cache(maxsize=None)
def _load_bias(core, exe):
    with open(exe, "rb") as f:
        e_entry = int.from_bytes(f.read(32)[24:32], "little")
    with open(core, "rb") as f:
        head = f.read(64)
        phoff, phentsize, phnum = (int.from_bytes(head[32:40], "little"), int.from_bytes(head[54:56], "little"),
                                   int.from_bytes(head[56:58], "little"))
        f.seek(phoff)
        phdrs = f.read(phentsize * phnum)
        notes = []                    # a kernel core has its notes first, gdb's gcore last
        for i in range(phnum):
            p = phdrs[i * phentsize:(i + 1) * phentsize]
            if int.from_bytes(p[0:4], "little") == 4:            # PT_NOTE
                f.seek(int.from_bytes(p[8:16], "little"))
                notes.append(f.read(int.from_bytes(p[32:40], "little")))
    for data in notes:
        at = 0
        while at + 12 <= len(data):
            namesz, descsz, kind = (int.from_bytes(data[at + k:at + k + 4], "little") for k in (0, 4, 8))
            desc = at + 12 + (namesz + 3) // 4 * 4
            if kind == NT_AUXV:
                for k in range(desc, desc + descsz - 15, 16):
                    if int.from_bytes(data[k:k + 8], "little") == AT_ENTRY:
                        return int.from_bytes(data[k + 8:k + 16], "little") - e_entry
            at = desc + (descsz + 3) // 4 * 4
    raise AssertionError(f"{core}: no AT_ENTRY in its NT_AUXV note")


def load_bias(core, exe):
    """How far above its executable's addresses the process of a core was loaded (0 but for a PIE)."""
    return _load_bias(str(core), str(exe))


def section_starts(exe):
    """{".data": address, ".bss": address, ...} from the section headers (strip keeps them)."""
    return {name: sec[1] for name, sec in elf_sections(exe).items()}


def global_root_at(name, starts, bias=0):
    """The address a global root's name without symbols says ("bss+0x20", a pool's word "bss+0x20+16"):
    its section's start (section_starts) plus the offset, in a process loaded `bias` bytes up; None for
    a name of another form."""
    m = re.fullmatch(r"(data|bss)\+0x([0-9a-f]+)(?:\+(\d+))?", name)
    if not m:
        return None
    return bias + starts["." + m.group(1)] + int(m.group(2), 16) + int(m.group(3) or 0)


def is_global(name, oracle, key, exe, core, stripped):
    """name is the global the oracle records under key (its name, and where it is: key+"At",
    key+"Size"); in a build without symbols (stripped), a word of it by section and offset."""
    if not stripped:
        return name == oracle[key]
    at = global_root_at(name, section_starts(exe), load_bias(core, exe))
    return at is not None and oracle[key + "At"] <= at < oracle[key + "At"] + oracle[key + "Size"]


# Loaded sections that differ between builds of the same code: the build ids (they hash the link flags).
BUILD_ID_NOTES = (".note.go.buildid", ".note.gnu.build-id")


def same_loaded_bytes(a, b):
    """The names of the loaded sections (address != 0) of executable a that b lays out or fills
    otherwise, the build ids aside: [] when a core of a reads the same with b."""
    sa, sb = elf_sections(a), elf_sections(b)
    da, db = Path(a).read_bytes(), Path(b).read_bytes()
    differ = []
    for name, (kind, addr, off, size) in sa.items():
        if not addr or name in BUILD_ID_NOTES:
            continue
        other = sb.get(name)
        if other is None or other[0] != kind or other[1] != addr or other[3] != size or \
                (kind != "NOBITS" and da[off:off + size] != db[other[2]:other[2] + size]):
            differ.append(name)
    return differ


def same_functions(a, b):
    """The names of what of executable a's functions b lays out or describes otherwise: [] when .text has
    the same address and size and the pclntab the same functions (pcln_functions), which is what a reader
    of functions and their stack objects needs.  Unlike same_loaded_bytes it lets the rest move (a
    non-trimpath -s -w build records its -ldflags in the build info, which shifts what follows) and the
    source file names differ (the same sources built in another checkout)."""
    sa, sb = elf_sections(a), elf_sections(b)
    differ = []
    ta, tb = sa.get(".text"), sb.get(".text")
    if not ta or not tb or (ta[1], ta[3]) != (tb[1], tb[3]):
        differ.append(".text")
    pa, pb = _pclntab(sa), _pclntab(sb)
    if not pa or not pb or pcln_functions(a, pa) != pcln_functions(b, pb):
        differ.append(".gopclntab")
    return differ


def _pclntab(sections):
    """The pclntab's section (a PIE's is in the relro data before go1.26)."""
    return sections.get(".gopclntab") or sections.get(".data.rel.ro.gopclntab")


def pcln_functions(exe, section):
    """(function count, text start, function names, pc tables, function table and _func records) of the
    pclntab section (Go 1.20+: an 8-byte header, then 8 words; the offsets are the section's): all of it
    but the compilation units' source file names."""
    _, _, off, size = section
    with open(exe, "rb") as f:
        f.seek(off)
        b = f.read(size)
    word = [int.from_bytes(b[8 + 8 * i:16 + 8 * i], "little") for i in range(8)]
    nfunc, _, text, names, cus, _, pcs, funcs = word
    return nfunc, text, b[names:cus], b[pcs:funcs], b[funcs:]


def sample_env(mode, oracle, extra=()):
    env = dict(os.environ)
    for k in ("GODEBUG", "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GOTRACEBACK"):
        env.pop(k, None)
    env["MEMDBG_SAMPLE_MODE"] = mode
    env["MEMDBG_ORACLE"] = str(oracle)
    # A stack the last GC shrank grows again when its goroutine next runs, after the oracle: a
    # 32 KiB stack from heap pages moves HeapIdle and HeapReleased (gopool's check mode, ~4%).
    env["GODEBUG"] = "gcshrinkstackoff=1"
    if mode == "crash":
        env["GOTRACEBACK"] = "crash"
    env.update(extra)
    return env


def _unlimited_core():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


# ---------------------------------------------------------------- cores

@dataclass
class SampleCore:
    config: GoConfig
    kind: str                 # "kernel" or "gcore"
    exe: Path
    core: Path
    oracle_path: Path
    oracle: dict = field(repr=False)

    @property
    def dir(self):
        return self.core.parent


def read_oracle(path):
    with open(path) as f:
        return json.load(f)


def core_pattern():
    return Path("/proc/sys/kernel/core_pattern").read_text().strip()


def _core_glob(cwd, pid, comm):
    """Where the kernel would write the core of `pid` (a glob pattern)."""
    pat = core_pattern()
    if pat.startswith("|"):
        raise SampleError(f"kernel.core_pattern is a pipe ({pat!r}): cores go to a helper, "
                          "not a file; run setup/install.sh (sets it to 'core')")
    out, i, has_pid = "", 0, False
    while i < len(pat):
        c = pat[i]
        if c == "%" and i + 1 < len(pat):
            s = pat[i + 1]
            i += 2
            if s in "pP":
                out += str(pid); has_pid = True
            elif s == "e":
                out += comm
            elif s == "%":
                out += "%"
            else:
                out += "*"
            continue
        out += "[*]" if c == "*" else "[?]" if c == "?" else c
        i += 1
    if not has_pid and Path("/proc/sys/kernel/core_uses_pid").read_text().strip() == "1":
        out += f".{pid}"
    return out if out.startswith("/") else str(Path(cwd) / out)


def _make_kernel_core(cfg, exe, outdir, extra=()):
    import glob
    oracle = outdir / "oracle.json"
    err = open(outdir / "stderr.txt", "w")
    for old in outdir.glob("core*"):
        old.unlink()
    p = subprocess.Popen([str(exe)], cwd=outdir, env=sample_env("crash", oracle, extra),
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err, preexec_fn=_unlimited_core)
    try:
        rc = p.wait(RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()
        raise SampleError(f"{cfg.id}: sample did not crash within {RUN_TIMEOUT}s")
    finally:
        err.close()
    if rc != -signal.SIGABRT:
        raise SampleError(f"{cfg.id}: sample exited with {rc}, expected SIGABRT; see {outdir}/stderr.txt")
    pattern = _core_glob(outdir, p.pid, exe.name[:15])
    found = sorted(glob.glob(pattern), key=os.path.getmtime)
    if not found:
        raise SampleError(f"{cfg.id}: no core at {pattern} (core_pattern {core_pattern()!r}); "
                          "is RLIMIT_CORE honoured / the file system writable?")
    dest = outdir / "core.kernel"
    shutil.move(found[-1], dest)
    return dest


def _proc_state(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _start_stopped(exe, cwd, oracle, errfile, extra=()):
    """Start the sample in stop mode and wait until it has stopped itself."""
    p = subprocess.Popen([str(exe)], cwd=cwd, env=sample_env("stop", oracle, extra),
                         stdin=subprocess.DEVNULL, stdout=errfile, stderr=errfile)
    deadline = time.monotonic() + STOP_TIMEOUT
    while True:
        st = _proc_state(p.pid)
        if st == "T":
            return p
        if p.poll() is not None or st in (None, "Z"):
            p.wait()
            raise SampleError(f"{exe}: sample exited ({p.returncode}) instead of stopping")
        if time.monotonic() > deadline:
            p.kill(); p.wait()
            raise SampleError(f"{exe}: sample did not stop within {STOP_TIMEOUT}s")
        time.sleep(0.05)


def _kill(p):
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
    p.wait()


def take_gcore(pid, dest, what):
    """A gcore of process pid at dest, its zero pages made holes (a Go process's reserved
    arenas make a gcore of 1-2 GB, nearly all zeros): the tests' disk footprint."""
    g = subprocess.run(["gcore", "-o", str(dest), str(pid)], capture_output=True, text=True, timeout=RUN_TIMEOUT)
    made = Path(f"{dest}.{pid}")
    if g.returncode != 0 or not made.exists():
        raise SampleError(f"{what}: gcore failed ({g.returncode}):\n{g.stdout}{g.stderr}")
    if shutil.which("fallocate"):
        subprocess.run(["fallocate", "--dig-holes", str(made)], capture_output=True)
    made.rename(dest)
    return Path(dest)


def _make_gcore(cfg, exe, outdir, extra=()):
    oracle = outdir / "oracle.json"
    for old in outdir.glob("core*"):
        old.unlink()
    with open(outdir / "stderr.txt", "w") as err:
        p = _start_stopped(exe, outdir, oracle, err, extra)
    try:
        core = take_gcore(p.pid, outdir / "core.gcore", cfg.id)
        if _proc_state(p.pid) != "T":
            raise SampleError(f"{cfg.id}: sample no longer stopped after gcore")
    finally:
        _kill(p)
    return core


def make_core(cfg, kind):
    """Make (or reuse) a core of the sample; return a SampleCore."""
    return make_core_of(goheap_sample(), cfg, kind)


def make_core_of(sample, cfg, kind):
    """make_core for any Sample (cores in config_dir_of(sample, cfg)/<kind>/); kind "kernel-<mode>"
    is the kernel core of the sample built in that production mode."""
    cfg = get_config(cfg)
    base, mode = split_kind(kind)
    if mode:
        sample = with_mode(sample, mode)
    with _locked(cfg, sample):
        exe = _build_locked(cfg, sample)
        outdir = config_dir_of(sample, cfg) / base
        core = outdir / f"core.{base}"
        done = outdir / "done"
        if not done.exists():
            if outdir.exists():
                shutil.rmtree(outdir)
            outdir.mkdir(parents=True)
            t0 = time.monotonic()
            core = (_make_kernel_core if base == "kernel" else _make_gcore)(cfg, exe, outdir, sample.env)
            done.write_text(f"{time.monotonic() - t0:.2f}s\n")
        oracle = outdir / "oracle.json"
        return SampleCore(cfg, kind, exe, core, oracle, read_oracle(oracle))


# ---------------------------------------------------------------- live

@dataclass
class LiveSample:
    pid: int
    exe: Path
    oracle: dict
    config: GoConfig
    dir: Path

    def __iter__(self):               # pid, exe, oracle = live
        return iter((self.pid, self.exe, self.oracle))


@contextlib.contextmanager
def live_sample(cfg):
    """Run the sample in stop mode; yield a LiveSample while it is SIGSTOPped.

    The process stays stopped (state T) while debuggers attach and detach
    (`gdb -batch -p PID ...` and `lldb-16 -b -p PID ...` both leave it
    stopped); the sample also re-stops itself if it is ever continued.  It is
    SIGKILLed on exit.
    """
    cfg = get_config(cfg)
    exe = build_sample(cfg)
    d = Path(tempfile.mkdtemp(prefix="live-", dir=config_dir(cfg)))
    try:
        with open(d / "stderr.txt", "w") as err:
            p = _start_stopped(exe, d, d / "oracle.json", err)
        try:
            yield LiveSample(p.pid, exe, read_oracle(d / "oracle.json"), cfg, d)
        finally:
            _kill(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)


BIGHEAP_SMALL_OBJECTS = 2_000_000
BIGHEAP_SMALL_HEAP = "256M"


def bigheap_small_core():
    """(exe, core) of samples/bigheap made small (2 million objects, ~256 MiB of heap,
    the default config's Go): a kernel core cached in CORES_DIR/bigheap-small/<config>/<key>/.
    Its object graph takes seconds to build.  Raises ToolchainUnavailable."""
    cfg = get_config(default_config_id())
    sample = Sample("bigheap", REPO / "samples" / "bigheap", CORES_DIR / "bigheap-small")
    exe = build_sample_of(sample, cfg)
    d = exe.parent
    core = d / "core.kernel"
    if not core.exists():
        env = dict(os.environ, GOTRACEBACK="crash", BIGHEAP_BYTES=BIGHEAP_SMALL_HEAP,
                   BIGHEAP_OBJECTS=str(BIGHEAP_SMALL_OBJECTS), BIGHEAP_MODE="crash")
        env.pop("GOGC", None)
        env.pop("GOMEMLIMIT", None)
        with open(d / "stdout.txt", "w") as out:
            p = subprocess.Popen([str(exe)], cwd=d, env=env, stdout=out, stderr=subprocess.STDOUT,
                                 preexec_fn=_unlimited_core)
            rc = p.wait(600)
        if rc != -signal.SIGABRT:
            raise SampleError(f"bigheap exited with {rc}: {(d / 'stdout.txt').read_text()[-2000:]}")
        found = sorted(glob.glob(_core_glob(d, p.pid, exe.name[:15])), key=os.path.getmtime)
        if not found:
            raise SampleError(f"no core for pid {p.pid} (core_pattern {core_pattern()!r})")
        shutil.move(found[-1], core)
    return exe, core


def run_check_mode(cfg, timeout=RUN_TIMEOUT, sample=None):
    """Run the sample (goheap unless given) in check mode: its own checks, e.g. that the encoder does not
    allocate; returns the process and the oracle (None when it failed)."""
    sample = sample or goheap_sample()
    exe = build_sample_of(sample, cfg)
    with tempfile.TemporaryDirectory(dir=config_dir_of(sample, cfg)) as d:
        p = subprocess.run([str(exe)], cwd=d, env=sample_env("check", Path(d) / "oracle.json", sample.env),
                           capture_output=True, text=True, timeout=timeout)
        oracle = read_oracle(Path(d) / "oracle.json") if p.returncode == 0 else None
    return p, oracle


def stripped_copy(exe):
    """`strip -s` of an executable, next to it: the same loaded bytes (and build ids) without
    .symtab and DWARF, so it reads the cores of exe as a -s -w build of the same code would."""
    out = Path(f"{exe}.strip")
    if not out.exists():
        tmp = Path(f"{exe}.strip.tmp.{os.getpid()}")
        subprocess.run(["strip", "-s", "-o", str(tmp), str(exe)], check=True, capture_output=True)
        tmp.rename(out)
    return out


def build_notgo():
    """Build samples/notgo/notgo.c (a non-Go executable); return its path."""
    d = CORES_DIR / "notgo"
    d.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(NOTGO_SRC.read_bytes()).hexdigest()[:16]
    exe = d / f"notgo-{key}"
    if not exe.exists():
        tmp = d / f"notgo.tmp.{os.getpid()}"
        subprocess.run(["gcc", "-O1", "-g", "-o", str(tmp), str(NOTGO_SRC)], check=True)
        tmp.rename(exe)
    return exe


# ---------------------------------------------------------------- ELF

def is_elf_core(path):
    with open(path, "rb") as f:
        h = f.read(18)
    return len(h) == 18 and h[:4] == b"\x7fELF" and int.from_bytes(h[16:18], "little") == 4  # ET_CORE


# ---------------------------------------------------------------- front ends

def memdbg_path():
    b = os.environ.get("MEMDBG_BUILD")
    return Path(b) / "memdbg" if b else REPO / "build" / "memdbg"


def _run(argv, timeout, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([str(a) for a in argv], timeout=timeout, **kw)


def run_cli(args, timeout=60, **kw):
    """Run the memdbg CLI (build/memdbg, or $MEMDBG_BUILD/memdbg)."""
    return _run([memdbg_path(), *args], timeout, **kw)


def run_core_cli(sc, cmd, json_out=False, timeout=60, **kw):
    """`memdbg core CORE --exe EXE -c CMD [--json]` for a SampleCore."""
    args = ["core", sc.core, "--exe", sc.exe, "-c", cmd] + (["--json"] if json_out else [])
    return run_cli(args, timeout=timeout, **kw)


def run_gdb(exe, target, *cmds, load_memdbg=True, timeout=120, **kw):
    """gdb -nx -batch [-ex 'source gdb/memdbg.py'] -ex CMD... on a core or a pid.

    `target` is a core path, or an int pid (attaches with -p; a SIGSTOPped
    process stays stopped after gdb detaches).
    """
    argv = ["gdb", "-nx", "-batch"]
    if load_memdbg:
        argv += ["-ex", f"source {REPO / 'gdb' / 'memdbg.py'}"]
    for c in cmds:
        argv += ["-ex", c]
    argv += [exe, "-p", str(target)] if isinstance(target, int) else [exe, target]
    return _run(argv, timeout, **kw)


def run_lldb(exe, target, *cmds, load_memdbg=True, timeout=120, **kw):
    """lldb-16 -b -o 'target create EXE --core CORE' [-o 'command script import lldb/memdbg.py'] -o CMD...

    `target` is a core path, or an int pid (attaches; detaches on exit).
    """
    if isinstance(target, int):
        argv = ["lldb-16", "-b", "-o", f"target create {exe}", "-o", f"process attach --pid {target}"]
    else:
        argv = ["lldb-16", "-b", "-o", f"target create {exe} --core {target}"]
    if load_memdbg:
        argv += ["-o", f"command script import {REPO / 'lldb' / 'memdbg.py'}"]
    for c in cmds:
        argv += ["-o", c]
    return _run(argv, timeout, **kw)


def gdb_value(exe, target, expr, timeout=120):
    """Print one expression with plain gdb (no memdbg); return the text after '= '."""
    p = run_gdb(exe, target, f"p {expr}", load_memdbg=False, timeout=timeout)
    m = re.search(r"^\$\d+ = (.*)$", p.stdout, re.M)
    if not m:
        raise SampleError(f"gdb could not print {expr}:\n{p.stdout}{p.stderr}")
    return m.group(1).strip()
