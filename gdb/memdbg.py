"""memdbg for gdb.

    (gdb) source /path/to/memdbg/gdb/memdbg.py

registers "memdbg COMMAND ARGS..." and every memdbg command under its own
name (mspan-walk, go-info, ...), with help ("help mspan-walk") and option
completion.  The target is what gdb is looking at: a live native inferior is
opened by pid (gdb keeps it stopped), a core file by its path, which gdb
reports in "info target".  The extension is loaded from $MEMDBG_BUILD or
<repo>/build.
"""

import os
import re
import sys

import gdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "python"))
import memdbg_frontend as fe  # noqa: E402

_CORE_RE = re.compile(r"Local core dump file:\s*\n\s*`(.*)', file type")


def _core_path():
    text = gdb.execute("info target", to_string=True)
    m = _CORE_RE.search(text)
    if not m:
        raise fe.FrontendError("cannot find the core file in 'info target'")
    return m.group(1)


def _locate():
    """(kind, what, exe) for the selected inferior, or None without one."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0:
        return None
    conn = inf.connection
    kind = conn.type if conn is not None else None
    exe = inf.progspace.filename
    if kind == "core":
        return ("core", _core_path(), exe)
    if kind == "native":
        return ("pid", inf.pid, exe)
    raise fe.FrontendError("the %s target is not supported: memdbg reads a local core file or process" % kind)


def _threads():
    """(tid, fs_base) of each thread of the selected inferior; the selected thread stays selected."""
    inf = gdb.selected_inferior()
    selected = gdb.selected_thread()
    out = []
    try:
        for th in inf.threads():
            th.switch()
            out.append((th.ptid[1], int(gdb.parse_and_eval("$fs_base")) & (2**64 - 1)))
    except gdb.error:
        return []  # no fs_base register here: tcache is not shown
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
    return out


def _split_for_completion(text, word):
    """Words before the cursor, and the partial word being completed."""
    words = text.split()
    if not text or text[-1].isspace():
        return words, ""
    return words[:-1], words[-1] if words else ""


def _relative(matches, cur, word):
    # gdb replaces only `word`, which stops at '-' and other break characters.
    word = word or ""
    cut = len(cur) - len(word)
    return [m[cut:] for m in matches]


class _MemdbgCommand(gdb.Command):
    """Run a memdbg command: memdbg COMMAND [ARGS...]; "memdbg help" lists them."""

    def __init__(self, frontend, name, prefix):
        self.frontend = frontend
        self.prefix = prefix  # argv[0] supplied by the command name itself, or None
        super().__init__(name, gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        self.dont_repeat()  # an empty line must not rerun a whole-heap walk
        line = arg if self.prefix is None else self.prefix + " " + arg
        err = self.frontend.execute_line(line, _locate, gdb.write, threads=_threads)
        if isinstance(err, fe.Partial):
            gdb.write(err + "\n", gdb.STDERR)  # the output stands: a warning line, not an error
        elif err:
            raise gdb.GdbError(err)

    def complete(self, text, word):
        before, cur = _split_for_completion(text, word)
        if self.prefix is not None:
            before = [self.prefix] + before
        return _relative(self.frontend.complete(before, cur), cur, word)


class _BrokenCommand(gdb.Command):
    """memdbg could not load its extension; running it says why."""

    def __init__(self, message):
        self.message = message
        super().__init__("memdbg", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        raise gdb.GdbError(self.message)


def _register():
    try:
        frontend = fe.Frontend(fe.load_extension(__file__))
    except fe.FrontendError as e:
        _BrokenCommand(fe.error_line(e))
        gdb.write(fe.error_line(e) + "\n", gdb.STDERR)
        return None
    _MemdbgCommand(frontend, "memdbg", None)
    for name in frontend.debugger_names():
        cls = type("_MemdbgCommand_" + name.replace("-", "_"), (_MemdbgCommand,),
                   {"__doc__": frontend.doc(name)})
        cls(frontend, name, name)
    # A finished process takes its pid with it.
    gdb.events.exited.connect(lambda event: frontend.close())
    return frontend


_frontend = _register()
