"""Glue shared by the gdb and lldb front ends of memdbg.

The debugger scripts (gdb/memdbg.py, lldb/memdbg.py) only know their
debugger: which core, exe or pid is selected, how to print, how to register
a command.  Everything else lives here: loading the _memdbg extension,
splitting a command line, caching the opened target, running a command and
reporting its error as one "memdbg: <message>" line.
"""

import os
import shlex
import sys

# Commands the debuggers already have (gdb and lldb both have a "watch"); they
# stay reachable as "memdbg help" and "memdbg watch", and need no target
# (watch opens the process it is given itself).
RESERVED = frozenset(["help", "watch"])


class FrontendError(Exception):
    """A problem the user can fix, reported as one line."""


def build_dir(script):
    """$MEMDBG_BUILD, else <repo>/build next to the (symlink-resolved) script."""
    env = os.environ.get("MEMDBG_BUILD")
    if env:
        return os.path.abspath(env)
    repo = os.path.dirname(os.path.dirname(os.path.realpath(script)))
    return os.path.join(repo, "build")


def load_extension(script):
    """Import _memdbg from the build directory; FrontendError if it is missing."""
    path = build_dir(script)
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        import _memdbg
    except ImportError as e:
        raise FrontendError("cannot load _memdbg from %s (%s); run 'make' first" % (path, e))
    return _memdbg


def split(line):
    """Split like the CLI does (POSIX shell rules)."""
    try:
        return shlex.split(line)
    except ValueError as e:
        msg = str(e)
        raise FrontendError(msg[:1].lower() + msg[1:])


def error_line(exc):
    return "memdbg: %s" % exc


class Partial(str):
    """The one line of a partial answer (the output stands; part failed or is damaged):
    the debuggers show it as a warning, not an error."""


class _Sink:
    """Forward output and make sure a command's output ends in a newline."""

    def __init__(self, write):
        self.write_fn = write
        self.last = ""

    def write(self, text):
        if text:
            self.write_fn(text)
            self.last = text[-1]

    def finish(self):
        if self.last and self.last != "\n":
            self.write_fn("\n")


class Frontend:
    """One per debugger session: the extension plus the target it last opened."""

    def __init__(self, mod):
        self.mod = mod
        self.key = None
        self.target = None
        self._commands = None

    def commands(self):
        if self._commands is None:
            self._commands = self.mod.commands()
        return self._commands

    def info(self, name):
        for cmd in self.commands():
            if cmd["name"] == name:
                return cmd
        return None

    def names(self):
        return [cmd["name"] for cmd in self.commands()]

    def debugger_names(self):
        """The commands that get a name of their own in the debugger."""
        return [n for n in self.names() if n not in RESERVED]

    def doc(self, name):
        """Help text for the debugger's own help: summary line first."""
        cmd = self.info(name)
        text = "%s\n\nusage: %s" % (cmd["summary"], cmd["usage"])
        if cmd["help"]:
            text += "\n\n" + cmd["help"]
        if cmd["options"]:
            text += "\n\noptions: " + " ".join(cmd["options"])
        return text

    def complete(self, argv, word):
        """Completions for word, given the words before it (argv[0] the command)."""
        if not argv or (argv == ["help"]):
            pool = self.names()
        else:
            cmd = self.info(argv[0])
            pool = cmd["options"] if cmd else []
        return sorted(c for c in pool if c.startswith(word))

    def close(self):
        if self.target is not None:
            self.target.close()
        self.key = self.target = None

    def open(self, spec, threads=None):
        """spec is None (no target) or (kind, what, exe) with kind "core" or "pid"; threads(), for a
        process, lists its (tid, fs_base) pairs as the debugger sees them."""
        if spec is None:
            return None
        if spec != self.key:
            self.close()
            kind, what, exe = spec
            # No exe when the debugger refused the one it was given (gdb's progspace has no
            # filename then): the core's own NT_FILE names it, a process has /proc/PID/exe.
            given = {"exe": exe} if exe else {}
            if kind == "core":
                self.target = self.mod.Target.open_core(what, **given)
            else:
                self.target = self.mod.Target.open_pid(what, stop=False, **given)
            self.key = spec
        elif spec[0] == "pid":
            # The debugger may have let the process run since the last command.
            self.target.invalidate()
        if spec[0] == "pid" and threads is not None:
            self.target.set_threads(threads())
        return self.target

    def execute(self, argv, locate, write, interrupted=None, threads=None):
        """Run argv against the target locate() describes.

        Output goes to write(str); interrupted(), when given, is polled during
        long walks.  Returns None on success, else the one error line to show
        (a Partial when the output stands but part of it failed or is damaged).
        KeyboardInterrupt propagates.
        """
        if not argv:
            argv = ["help"]
        sink = _Sink(write)
        try:
            target = None if argv[0] in RESERVED else self.open(locate(), threads)
            self.mod.run(target, argv, sink.write, interrupted=interrupted)
        except (FrontendError, self.mod.Error) as e:
            sink.finish()
            if getattr(e, "code", None) == getattr(self.mod, "ERROR_PARTIAL", None):
                return Partial(error_line(e))
            return error_line(e)
        sink.finish()
        return None

    def execute_line(self, line, locate, write, interrupted=None, threads=None):
        try:
            argv = split(line)
        except FrontendError as e:
            return error_line(e)
        return self.execute(argv, locate, write, interrupted, threads)
