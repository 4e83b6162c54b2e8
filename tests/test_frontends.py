"""The three front ends: the memdbg CLI, gdb/memdbg.py and lldb/memdbg.py.

Target-less behaviour (help, usage errors, loading) is tested always; the
parity tests run every command on the sample cores from conftest.py and
check that the three front ends print byte-identical output.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("MEMDBG_BUILD", REPO / "build")).resolve()
CLI = BUILD / "memdbg"
GDB_SCRIPT = REPO / "gdb" / "memdbg.py"
LLDB_SCRIPT = REPO / "lldb" / "memdbg.py"
BEGIN, END = "@@memdbg-begin@@", "@@memdbg-end@@"
TIMEOUT = 300


def _extension():
    found = sorted(BUILD.glob("_memdbg*.so"))
    return found[0] if found else None


@pytest.fixture(scope="module", autouse=True)
def built():
    if not CLI.exists() or _extension() is None:
        pytest.skip(f"memdbg is not built in {BUILD} (run make)")


def _env():
    return dict(os.environ, MEMDBG_BUILD=str(BUILD))


def run_cli(*args, stdin=None):
    return subprocess.run([str(CLI), *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=TIMEOUT, env=_env())


def _between_markers(text, n):
    """The output of each of n bracketed commands."""
    outs = []
    for _ in range(n):
        start = text.index(BEGIN + "\n") + len(BEGIN) + 1
        end = text.index(END + "\n", start)
        outs.append(text[start:end])
        text = text[end + len(END) + 1:]
    return outs


def run_gdb(cmds, target=()):
    """Run cmds in gdb; returns (outputs per command, stderr, returncode)."""
    if not shutil.which("gdb"):
        pytest.skip("gdb not installed")
    argv = ["gdb", "-nx", "-batch", "-ex", f"source {GDB_SCRIPT}"]
    for cmd in cmds:
        # a failing -ex does not stop gdb -batch, so every marker is printed
        argv += ["-ex", f"echo {BEGIN}\\n", "-ex", cmd, "-ex", f"echo {END}\\n"]
    p = subprocess.run(argv + [str(t) for t in target], capture_output=True, text=True,
                       timeout=TIMEOUT, env=_env(), stdin=subprocess.DEVNULL)
    return _between_markers(p.stdout, len(cmds)), p.stderr, p.returncode


def run_lldb(cmds, target=()):
    """Run cmds in lldb-16, one process per command (-b stops at the first error)."""
    if not shutil.which("lldb-16"):
        pytest.skip("lldb-16 not installed")
    outs, errs = [], []
    for cmd in cmds:
        argv = ["lldb-16", "-b", "-Q", *[str(t) for t in target],
                "-o", f"command script import {LLDB_SCRIPT}",
                "-o", f"script print('{BEGIN}')", "-o", cmd, "-o", f"script print('{END}')"]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, env=_env(),
                           stdin=subprocess.DEVNULL)
        start = p.stdout.index(BEGIN + "\n") + len(BEGIN) + 1
        end = p.stdout.find(END + "\n", start)
        outs.append(p.stdout[start:] if end < 0 else p.stdout[start:end])
        errs.append(p.stderr)
    return outs, errs


# Names the debuggers keep for their own commands (python/memdbg_frontend.py RESERVED): reachable
# only as "memdbg NAME" there.
DEBUGGER_RESERVED = {"help", "watch"}


def _commands():
    """Command names from the CLI's JSON help."""
    p = run_cli("help", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    rows = doc["commands"]
    return [r if isinstance(r, str) else r["name"] if isinstance(r, dict) else r[0] for r in rows]


def _one_error_line(stderr):
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("memdbg: "), stderr
    return lines[0]


# ---- CLI ----

def test_cli_help_lists_commands():
    p = run_cli("help")
    assert p.returncode == 0 and not p.stderr
    names = _commands()
    assert "help" in names and len(names) > 1
    for name in names:
        assert name in p.stdout


def test_cli_help_command():
    name = [n for n in _commands() if n not in DEBUGGER_RESERVED][0]
    p = run_cli("help", name)
    assert p.returncode == 0 and name in p.stdout


def test_cli_help_json_is_one_document():
    p = run_cli("help", "--json")
    assert p.returncode == 0
    assert p.stdout.endswith("\n") and p.stdout.count("\n") == 1
    json.loads(p.stdout)


def test_cli_help_unknown_command():
    p = run_cli("help", "no-such-command")
    assert p.returncode != 0 and not p.stdout
    _one_error_line(p.stderr)


def test_cli_version_and_usage():
    p = run_cli("--version")
    assert p.returncode == 0 and p.stdout.startswith("memdbg ")
    p = run_cli("--help")
    assert p.returncode == 0 and "memdbg core CORE" in p.stdout


@pytest.mark.parametrize("args", [
    [], ["--bogus"], ["bogus"], ["core"], ["attach"], ["attach", "notapid"],
    ["core", "/nonexistent", "--exe"], ["core", "/nonexistent", "-c"],
    ["core", "/nonexistent", "--bogus"], ["core", "a", "b"],
])
def test_cli_usage_errors_exit_2(args):
    p = run_cli(*args)
    assert p.returncode == 2
    _one_error_line(p.stderr)


def test_cli_missing_core():
    p = run_cli("core", "/nonexistent", "-c", "help")
    assert p.returncode not in (0, 2) and not p.stdout
    assert "/nonexistent" in _one_error_line(p.stderr)


def test_cli_missing_process():
    p = run_cli("attach", "999999999", "-c", "help")
    assert p.returncode not in (0, 2)
    _one_error_line(p.stderr)


# ---- the extension, loaded by the system interpreter gdb and lldb embed ----

EXT_CHECK = r"""
import sys
sys.path.insert(0, sys.argv[1])
import _memdbg
cmds = _memdbg.commands()
assert cmds and all(set(c) == {"name", "summary", "usage", "help", "options"} for c in cmds)
out = []
_memdbg.run(None, ["help"], out.append)
assert all(c["name"] in "".join(out) for c in cmds)
try:
    _memdbg.Target.open_core("/nonexistent")
except _memdbg.Error as e:
    assert e.code == _memdbg.ERROR_OS, e.code
else:
    raise AssertionError("open_core succeeded")
try:
    _memdbg.run(None, ["no-such-command"], out.append)
except _memdbg.Error as e:
    assert e.code == _memdbg.ERROR_LOOKUP, e.code
print("ok")
"""


def test_extension_api():
    if not os.path.exists("/usr/bin/python3"):
        pytest.skip("no system python3")
    p = subprocess.run(["/usr/bin/python3", "-c", EXT_CHECK, str(BUILD)], capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert p.stdout == "ok\n", p.stderr


def test_extension_exports_only_init():
    p = subprocess.run(["nm", "-D", "--defined-only", str(_extension())], capture_output=True,
                       text=True)
    assert [line.split()[-1] for line in p.stdout.splitlines()] == ["PyInit__memdbg"]


# ---- gdb and lldb without a target ----

def test_help_same_in_all_front_ends():
    cli = run_cli("help").stdout
    (gdb_out,), gdb_err, _ = run_gdb(["memdbg help"])
    (lldb_out,), _ = run_lldb(["memdbg help"])
    assert gdb_out == cli, gdb_err
    assert lldb_out == cli


def test_help_json_same_in_all_front_ends():
    cli = run_cli("help", "--json").stdout
    (gdb_out,), _, _ = run_gdb(["memdbg help --json"])
    (lldb_out,), _ = run_lldb(["memdbg help --json"])
    assert gdb_out == cli == lldb_out


def test_gdb_loads_and_registers_commands():
    names = [n for n in _commands() if n not in DEBUGGER_RESERVED]
    outs, err, rc = run_gdb([f"help {n}" for n in names])
    assert rc == 0 and "Traceback" not in err, err
    for name, out in zip(names, outs):
        assert "usage: " in out and name in out


def test_gdb_no_target_is_one_line():
    name = [n for n in _commands() if n not in DEBUGGER_RESERVED][0]
    (out,), err, _ = run_gdb([name])
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("memdbg: "), err


def test_gdb_unknown_command():
    (out,), err, _ = run_gdb(["memdbg no-such-command"])
    assert out == "" and err.startswith("memdbg: ") and len(err.splitlines()) == 1


def test_gdb_completion():
    name = [n for n in _commands() if n not in DEBUGGER_RESERVED][0]
    (out,), err, _ = run_gdb([f"complete memdbg {name[:-1]}", ])
    assert f"memdbg {name}\n" in out, err
    (out,), _, _ = run_gdb([f"complete {name} --js"])
    assert out == f"{name} --json\n"


def test_lldb_loads_and_registers_commands():
    names = [n for n in _commands() if n not in DEBUGGER_RESERVED]
    outs, errs = run_lldb([f"help {n}" for n in names])
    for name, out, err in zip(names, outs, errs):
        assert "usage: " in out and name in out, err
        assert "Traceback" not in err


def test_lldb_no_target_is_one_line():
    name = [n for n in _commands() if n not in DEBUGGER_RESERVED][0]
    (out,), (err,) = run_lldb([name])
    assert out == ""
    assert err.splitlines() == [l for l in err.splitlines() if l.startswith("error: memdbg: ")]
    assert len(err.splitlines()) == 1, err


def test_scripts_report_missing_build(tmp_path):
    env = dict(os.environ, MEMDBG_BUILD=str(tmp_path))
    p = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"source {GDB_SCRIPT}", "-ex", "memdbg help"],
                       capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert "Traceback" not in p.stderr and "run 'make' first" in p.stderr


# ---- on real cores: the same bytes from every front end ----

def _cli_batch(core, cmds):
    outs = []
    for cmd in cmds:
        p = run_cli("core", core.core, "--exe", core.exe, "-c", cmd)
        outs.append((p.stdout, p.stderr.strip()))
    return outs


def _parity_cmds():
    names = [n for n in _commands() if n not in DEBUGGER_RESERVED]
    return names + [n + " --json" for n in names]


def test_cli_batch_on_core(kernel_core):
    names = [n for n in _commands() if n not in DEBUGGER_RESERVED]
    p = run_cli("core", kernel_core.core, "--exe", kernel_core.exe, "--json",
                *[a for n in names for a in ("-c", n)])
    ok = p.returncode == 0
    # one JSON document per command (a failing command still ends its document)
    docs = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(docs) <= len(names)
    assert ok == (not p.stderr)


def test_cli_unknown_command_on_core(kernel_core):
    p = run_cli("core", kernel_core.core, "-c", "no-such-command", "-c", "help")
    assert p.returncode == 1
    _one_error_line(p.stderr)
    assert "help" in p.stdout  # later commands still run


def test_cli_repl_reads_piped_commands(kernel_core):
    p = run_cli("core", kernel_core.core, stdin="help\n'unterminated\nquit\nhelp no-such\n")
    assert p.stdout == run_cli("help").stdout
    _one_error_line(p.stderr)


def test_front_ends_print_the_same(sample_core):
    cmds = _parity_cmds()
    cli = _cli_batch(sample_core, cmds)
    gdb_outs, gdb_err, _ = run_gdb(cmds, target=[sample_core.exe, sample_core.core])
    lldb_outs, lldb_errs = run_lldb(cmds, target=["-c", sample_core.core, sample_core.exe])
    for cmd, (cli_out, cli_err), gdb_out, lldb_out, lldb_err in zip(cmds, cli, gdb_outs, lldb_outs,
                                                                       lldb_errs):
        assert gdb_out == cli_out, cmd
        assert lldb_out == cli_out, cmd
        if cli_err:
            assert cli_err in gdb_err, cmd
            assert "error: " + cli_err in lldb_err, cmd
