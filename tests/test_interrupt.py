"""Ctrl-C during a long command, in the CLI's REPL, gdb and lldb-16, at a terminal.

The core is samples/bigheap made small (samples.bigheap_small_core: 2 million
objects, ~256 MiB of heap): `top-retainers` on it takes about 0.7 s of CPU,
so a Ctrl-C sent once the front end has spent 0.15 s of CPU on it arrives
while the graph is being built.  The command must stop ("interrupted" from
the CLI, "Quit" from gdb, "memdbg: interrupted" on lldb's error stream), and
the session must go on: the next commands work.
"""

import os
import pty
import select
import shutil
import signal
import time

import pytest

import samples

TIMEOUT = 120


class Terminal:
    """A program on a pseudo-terminal: send lines and keys, wait for text."""

    def __init__(self, argv, env=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvpe(argv[0], argv, env or os.environ)
            finally:
                os._exit(127)
        self.out = b""

    def send(self, data):
        os.write(self.fd, data.encode() if isinstance(data, str) else data)

    def expect(self, text, timeout=TIMEOUT, start=0):
        """Wait until text appears in the output after offset start; return where it ends."""
        deadline = time.monotonic() + timeout
        want = text.encode()
        while True:
            i = self.out.find(want, start)
            if i >= 0:
                return i + len(want)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} did not appear; output so far:\n"
                                     + self.out[-3000:].decode(errors="replace"))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the program ended before {text!r}:\n"
                                         + self.out[-3000:].decode(errors="replace"))
                self.out += chunk

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def cpu_seconds(pid):
    """User and system CPU time of the process, all its threads."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_busy(pid, until, timeout=TIMEOUT):
    """Wait until the process has used `until` seconds of CPU: the command has started (a fixed
    sleep lost the race both ways: on a loaded machine lldb had not yet read the line and took
    the Ctrl-C for itself, and on a quiet one the command had ended)."""
    deadline = time.monotonic() + timeout
    while cpu_seconds(pid) < until:
        assert time.monotonic() < deadline, "the command used no CPU"
        time.sleep(0.02)


def front_end(name, exe, core):
    if name == "cli":
        return [str(samples.memdbg_path()), "core", str(core), "--exe", str(exe)], "(memdbg) ", "interrupted"
    if name == "gdb":
        if not shutil.which("gdb"):
            pytest.skip("no gdb")
        return (["gdb", "-nx", "-q", "-ex", "set pagination off", "-ex",
                 f"source {samples.REPO / 'gdb' / 'memdbg.py'}", str(exe), str(core)], "(gdb) ", "Quit")
    if not shutil.which("lldb-16"):
        pytest.skip("no lldb-16")
    return (["lldb-16", "--no-use-colors", "-o", f"target create {exe} --core {core}", "-o",
             f"command script import {samples.REPO / 'lldb' / 'memdbg.py'}"], "(lldb) ", "memdbg: interrupted")


@pytest.mark.parametrize("name", ["cli", "gdb", "lldb"])
def test_ctrl_c_stops_a_long_command(big_core, name):
    exe, core = big_core
    argv, prompt, stopped = front_end(name, exe, core)
    prefix = "" if name == "cli" else "memdbg "
    t = Terminal(argv, dict(os.environ, TERM="dumb"))
    try:
        at = t.expect(prompt)
        if name == "lldb":
            at = t.expect(prompt, start=at)  # after the two -o commands
        t.send(f"{prefix}go-info\n")
        at = t.expect("goroutines", start=at)
        at = t.expect(prompt, start=at)
        started = time.monotonic()
        busy = cpu_seconds(t.pid)
        t.send(f"{prefix}top-retainers -n 3\n")
        wait_busy(t.pid, busy + 0.15)
        t.send(b"\x03")
        at = t.expect(stopped, timeout=30, start=at)
        took = time.monotonic() - started
        assert b"retained_bytes" not in t.out[at - 2000:], "the command ran to its end"
        at = t.expect(prompt, start=at)
        # The session goes on, and the interrupted build did not leave a half-made graph behind.
        t.send(f"{prefix}retained 0x0\n")
        at = t.expect(prompt, start=at)
        t.send(f"{prefix}go-info\n")
        t.expect("goroutines", start=at)
        print(f"{name}: stopped {took:.2f} s after the command started")
    finally:
        t.close()
