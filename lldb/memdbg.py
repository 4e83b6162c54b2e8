"""memdbg for lldb (lldb-16).

    (lldb) command script import /path/to/memdbg/lldb/memdbg.py

registers "memdbg COMMAND ARGS..." and every memdbg command under its own
name (mspan-walk, go-info, ...), plus "memdbg-core [PATH]".  The target is
lldb's selected one: a live local process is opened by pid (lldb keeps it
stopped); for a core ("elf-core" process) the core file is found among the
files lldb has mapped (/proc/self/maps: the ELF core whose NT_PRSTATUS pid is
the process's), unless "memdbg-core PATH" named it.  The extension is loaded
from $MEMDBG_BUILD or <repo>/build.
"""

import json
import os
import struct
import sys

import lldb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "python"))
import memdbg_frontend as fe  # noqa: E402

_frontend = None
_load_error = None
_core_override = {}  # SBProcess unique id -> core path given with memdbg-core

_ET_CORE = 4
_PT_NOTE = 4
_NT_PRSTATUS = 1
_PRSTATUS_PID_OFFSET = 32  # x86-64 struct elf_prstatus: after siginfo, cursig, sigpend, sighold


def _note_pids(f):
    """pids in the NT_PRSTATUS notes of an ELF64 little-endian core, or None if f is not one."""
    ehdr = f.read(64)
    if len(ehdr) < 64 or ehdr[:4] != b"\x7fELF" or ehdr[4] != 2 or ehdr[5] != 1:
        return None
    if struct.unpack_from("<H", ehdr, 16)[0] != _ET_CORE:
        return None
    phoff, = struct.unpack_from("<Q", ehdr, 32)
    phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
    pids = set()
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        ptype, _, off, _, _, filesz = struct.unpack("<IIQQQQ", f.read(40))
        if ptype != _PT_NOTE:
            continue
        f.seek(off)
        notes, pos = f.read(filesz), 0
        while pos + 12 <= len(notes):
            namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
            desc = pos + 12 + (namesz + 3) // 4 * 4
            if ntype == _NT_PRSTATUS and descsz >= _PRSTATUS_PID_OFFSET + 4:
                pids.add(struct.unpack_from("<i", notes, desc + _PRSTATUS_PID_OFFSET)[0])
            pos = desc + (descsz + 3) // 4 * 4
    return pids


def _mapped_files():
    """Regular files this process (lldb) has mapped."""
    paths = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.rstrip("\n").split(None, 5)
            if len(fields) == 6 and fields[5].startswith("/") and fields[5] not in paths:
                paths.append(fields[5])
    return paths


def _is_core(f):
    """Whether f starts like a little-endian ELF core file (whatever its class, notes or segments)."""
    ehdr = f.read(18)
    return len(ehdr) == 18 and ehdr[:4] == b"\x7fELF" and ehdr[5] == 1 and \
        struct.unpack_from("<H", ehdr, 16)[0] == _ET_CORE


def _module_paths(target):
    """Files lldb has loaded as modules (its statistics list them): a core is one, even a small one
    lldb read instead of mapping.  The core is in no target's module list, so these are all of them."""
    try:
        stream = lldb.SBStream()
        target.GetStatistics().GetAsJSON(stream)
        modules = json.loads(stream.GetData()).get("modules", [])
    except (ValueError, AttributeError):
        return []
    return [m["path"] for m in modules if isinstance(m, dict) and isinstance(m.get("path"), str)]


def _cores(paths, pid):
    """(the ELF cores among paths whose notes name pid, all the ELF cores among paths)."""
    found, cores = [], []
    for path in paths:
        try:
            with open(path, "rb") as f:
                if not _is_core(f):
                    continue
                cores.append(path)
                f.seek(0)
                pids = _note_pids(f)
        except (OSError, struct.error, ValueError):
            continue
        if pids is not None and pid in pids:
            found.append(path)
    return found, cores


def _find_core(target, pid):
    """lldb keeps the core it loaded mapped: find the ELF core of process pid.

    A core whose notes are damaged names no pid lldb can match (lldb says
    process 0): when it is the only ELF core lldb has loaded, it is the one,
    and memdbg reading it says what is wrong with it.
    """
    found, cores = _cores(_mapped_files(), pid)
    if len(found) != 1:
        found, cores = _cores(list(dict.fromkeys(_mapped_files() + _module_paths(target))), pid)
    if len(found) == 1:
        return found[0]
    if not found and len(cores) == 1:
        return cores[0]
    why = "found none" if not found else "found %d" % len(found)
    raise fe.FrontendError("cannot tell which core file process %d came from (%s); "
                           "name it with 'memdbg-core PATH'" % (pid, why))


def _selected(debugger, exe_ctx):
    target = exe_ctx.GetTarget() if exe_ctx is not None else None
    if target is None or not target.IsValid():
        target = debugger.GetSelectedTarget()
    return target


def _locate(debugger, exe_ctx):
    """(kind, what, exe) for lldb's selected target, or None without a process."""
    target = _selected(debugger, exe_ctx)
    if not target.IsValid():
        return None
    process = target.GetProcess()
    if not process.IsValid() or process.GetState() in (lldb.eStateInvalid, lldb.eStateUnloaded,
                                                         lldb.eStateExited, lldb.eStateDetached):
        return None
    exe = target.GetExecutable()
    exe = exe.fullpath if exe.IsValid() else None
    if process.GetPluginName() == "elf-core":
        core = _core_override.get(process.GetUniqueID()) or _find_core(target, process.GetProcessID())
        return ("core", core, exe)
    if target.GetPlatform().GetName() != "host":
        raise fe.FrontendError("remote processes are not supported: memdbg reads a local core file or process")
    if process.GetState() == lldb.eStateRunning:
        raise fe.FrontendError("the process is running; stop it first")
    return ("pid", process.GetProcessID(), exe)


# Past this size the text goes to lldb's output file in one write: lldb prints a
# command's result line by line, which made long listings slower than the CLI.
_DIRECT_BYTES = 64 * 1024


def _emit(text, debugger, result):
    if len(text) >= _DIRECT_BYTES:
        out = debugger.GetOutputFile()
        if out.IsValid():
            data = text.encode()
            error, written = out.Write(data)
            if error.Success() and written == len(data):
                out.Flush()
                return
    # Print, unlike AppendMessage, adds and strips no newline: the text stays
    # byte-identical to the CLI's.
    result.Print(text)


def _threads(debugger, exe_ctx):
    """(tid, fs_base) of each thread of the selected process."""
    out = []
    for th in _selected(debugger, exe_ctx).GetProcess():
        reg = th.GetFrameAtIndex(0).FindRegister("fs_base")
        if reg.IsValid():
            out.append((th.GetThreadID(), reg.GetValueAsUnsigned()))
    return out


def _run(line, debugger, exe_ctx, result):
    if _frontend is None:
        result.SetError(_load_error)
        return
    chunks = []
    # lldb's Ctrl-C does not reach Python as SIGINT: its command interpreter records it.
    interpreter = debugger.GetCommandInterpreter()
    try:
        err = _frontend.execute_line(line, lambda: _locate(debugger, exe_ctx), chunks.append,
                                     interpreter.WasInterrupted, threads=lambda: _threads(debugger, exe_ctx))
    except KeyboardInterrupt:
        # lldb drops an interrupted command's result: say it on the error stream.
        f = debugger.GetErrorFile()
        if f.IsValid():
            f.Write(b"memdbg: interrupted\n")
            f.Flush()
        err = "memdbg: interrupted"
    if chunks:
        _emit("".join(chunks), debugger, result)
    if isinstance(err, fe.Partial):
        result.AppendWarning(err)  # the output stands: lldb prints "warning: memdbg: ..."
        result.SetStatus(lldb.eReturnStatusSuccessFinishResult)
    elif err:
        result.SetError(err)
    else:
        result.SetStatus(lldb.eReturnStatusSuccessFinishResult)


class MemdbgCommand:
    """memdbg COMMAND [ARGS...]: run a memdbg command; "memdbg help" lists them."""

    name = None  # set for the per-command subclasses

    def __init__(self, debugger, internal_dict):
        pass

    def __call__(self, debugger, command, exe_ctx, result):
        _run(command if self.name is None else self.name + " " + command, debugger, exe_ctx, result)

    def get_short_help(self):
        if self.name is None:
            return "Run a memdbg command (memdbg help lists them)."
        return _frontend.info(self.name)["summary"]

    def get_long_help(self):
        if self.name is None:
            return "memdbg COMMAND [ARGS...]\n\n'memdbg help' lists the commands, 'memdbg help COMMAND' describes one."
        return _frontend.doc(self.name)


def memdbg_core(debugger, command, exe_ctx, result, internal_dict):
    """memdbg-core [PATH | --clear]: set, show or forget the core file memdbg reads for this process."""
    process = _selected(debugger, exe_ctx).GetProcess()
    if not process.IsValid():
        result.SetError("memdbg: no process: load a core first (target create --core CORE)")
        return
    key, arg = process.GetUniqueID(), command.strip()
    if arg == "--clear":
        _core_override.pop(key, None)
    elif arg:
        path = os.path.abspath(os.path.expanduser(fe.split(arg)[0]))
        if not os.path.isfile(path):
            result.SetError("memdbg: %s: no such file" % path)
            return
        _core_override[key] = path
    try:
        spec = _locate(debugger, exe_ctx)
    except fe.FrontendError as e:
        result.SetError(fe.error_line(e))
        return
    result.Print("%s\n" % (spec[1] if spec and spec[0] == "core" else "not a core file"))


def _class_name(name):
    return "MemdbgCommand_" + name.replace("-", "_")


def __lldb_init_module(debugger, internal_dict):
    global _frontend, _load_error
    try:
        _frontend = fe.Frontend(fe.load_extension(__file__))
    except fe.FrontendError as e:
        _load_error = fe.error_line(e)
        print(_load_error, file=sys.stderr)
    add = "command script add -o "
    debugger.HandleCommand(add + "-c %s.MemdbgCommand memdbg" % __name__)
    debugger.HandleCommand(add + "-f %s.memdbg_core memdbg-core" % __name__)
    for name in _frontend.debugger_names() if _frontend else []:
        cls = type(_class_name(name), (MemdbgCommand,), {"name": name})
        setattr(sys.modules[__name__], cls.__name__, cls)
        debugger.HandleCommand(add + "-c %s.%s %s" % (__name__, cls.__name__, name))
