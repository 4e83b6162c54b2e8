"""--jobs N (issue 13): the parallel passes give the single-threaded result.

On samples/bigheap made small (samples.bigheap_small_core: 2 million objects,
so every parallel pass has well over a hundred chunks), each command's JSON
with `--jobs 1` is compared with `--jobs 4` (more threads than the machine's
CPUs: chunks are then taken in every order) and with the default (every CPU),
byte for byte.  The single-threaded results are the ones the other suites
check against the runtime's own figures.

findings' object scan (dangling pointers, GC-invisible uintptr words) runs
on the pool too, in chunks of at least 32 nodes joined in node order: on the
misuse samples (about 300 objects, so about 10 chunks) that hold such words,
`findings` with 1, 2 and 4 threads must print the same bytes, and name the
words their oracles record.

Marking runs on the pool (each thread its own stack, claiming objects by an
atomic test-and-set, handing work to idle threads): on the corpus programs
(real heaps, wide and deep) `histogram`, `top-retainers` and `triage` with
1, 2 and 4 threads must print the same bytes.

Typing (propagate_types) walks the queued objects of a wide wave on the pool and
takes what each walk proposes on one thread in queue order (the first accepted
proposal types an object and names its source, so order is output): on goheap
(go1.22 buckets and go1.26 swiss maps) and the corpus heaps, `histogram --all`
and `objects --all` (every object's type) with 1, 2 and 4 threads must print
the same bytes.  Taking a batch's chunks in reverse order changes nats', tsdb's
and goheap's output.

goroutine-leaks marks what the roots that can still act reach over the
object graph's edges (the graph's pointer index runs on the pool): on the
misuse sample's leak and on samples/goserver with and without its leak (chan,
mutex, WaitGroup and cond waiters), `findings` with 1, 2 and 4 threads must
print the same bytes and the leaks their oracles record (none when healthy).

Also: --jobs is accepted by every command in the CLI, in gdb and in lldb;
MEMDBG_JOBS and the CLI's global --jobs set the default; a bad value is a
one-line error.
"""

import json
import os
import shutil

import pytest

import alloc_samples
import corpus
import misuse_samples
import samples
import test_server

TIMEOUT = 600


def cli(exe, core, cmds, *extra, env=None):
    args = ["core", core, "--exe", exe, *extra]
    for c in cmds:
        args += ["-c", c]
    p = samples.run_cli(args + ["--json"], timeout=TIMEOUT, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


@pytest.fixture(scope="module")
def addresses(big_core):
    """Live objects of several shapes: the top retainers (list heads), and objects of other types."""
    exe, core = big_core
    docs = [json.loads(line) for line in cli(exe, core, ["top-retainers -n 3", "objects --live --limit 400"])
            .splitlines()]
    addrs = [r["addr"] for r in docs[0]["retainers"]]
    seen = set()
    for o in docs[1]["objects"]:
        if o["type"] not in seen:
            seen.add(o["type"])
            addrs.append(o["addr"])
    return addrs[:8]


def test_same_json_whatever_the_threads(big_core, addresses):
    exe, core = big_core
    cmds = ["histogram", "histogram --all", "top-retainers -n 50", "top-retainers --by type",
            "top-retainers --by root", "frag", "triage"]
    cmds += [f"who-holds {a}" for a in addresses] + [f"retained {a}" for a in addresses]
    one = cli(exe, core, [f"{c} --jobs 1" for c in cmds])
    docs = [json.loads(line) for line in one.splitlines()]
    assert len(docs) == len(cmds) and not any("error" in d for d in docs), one[-2000:]
    # who-holds found paths (the graph is there), triage has every section
    assert all(d["status"] == "reachable" and d["paths"] for d in docs if d["command"] == "who-holds")
    assert {"histogram", "top-retainers", "frag", "findings"} <= set(docs[-1 - 2 * len(addresses)])
    four = cli(exe, core, [f"{c} --jobs 4" for c in cmds])
    assert four == one
    default = cli(exe, core, cmds)
    assert default == one


def test_jobs_option_everywhere(big_core, tmp_path):
    exe, core = big_core
    base = cli(exe, core, ["histogram --top 5"])
    assert cli(exe, core, ["histogram --top 5"], "--jobs", "3") == base
    assert cli(exe, core, ["histogram --top 5"], env=dict(os.environ, MEMDBG_JOBS="2")) == base
    assert cli(exe, core, ["histogram --top 5 --jobs=2"]) == base
    for bad in ("0", "x", "-1", "257"):
        p = samples.run_cli(["core", core, "--exe", exe, "-c", f"histogram --jobs {bad}"])
        assert p.returncode != 0
        assert p.stderr.strip() == f"memdbg: histogram: --jobs wants a number from 1 to 256, not '{bad}'", p.stderr
    p = samples.run_cli(["core", core, "--exe", exe, "--jobs", "0", "-c", "histogram"])
    assert p.returncode == 2 and "--jobs wants a number from 1 to 256, not '0'" in p.stderr, p.stderr
    assert "--jobs N" in samples.run_cli(["help", "histogram"]).stdout
    text = json.loads(base)
    for debugger, run in (("gdb", samples.run_gdb), ("lldb-16", samples.run_lldb)):
        if not shutil.which(debugger) or alloc_samples.asan_extension():
            continue  # an ASan extension needs libasan preloaded: debuggers run with the normal build
        d = run(str(exe), str(core), "memdbg histogram --top 5 --json --jobs 2", timeout=TIMEOUT)
        assert d.returncode == 0, d.stderr[-2000:]
        out = d.stdout[d.stdout.index('{"command"'):]
        assert json.loads(out[:out.rindex("}") + 1]) == text, debugger


def test_triage_and_findings_one_and_two_threads(big_core):
    exe, core = big_core
    cmds = ["findings", "triage"]
    one = cli(exe, core, [f"{c} --jobs 1" for c in cmds])
    docs = [json.loads(line) for line in one.splitlines()]
    assert [d["command"] for d in docs] == cmds and not any("error" in d for d in docs), one[-2000:]
    assert cli(exe, core, [f"{c} --jobs 2" for c in cmds]) == one


def _h(v):
    return int(v, 16) if isinstance(v, str) else v


# scenario: {section id: oracle keys of the words' addresses ("at")}
HIDDEN_WORDS = {
    "uintptr": {"gc-invisible": ["LiveField", "FreeField"], "dangling": ["DanglingField"]},
    "racyptr": {"gc-invisible": ["DataField"]},
    "deadslice": {"gc-invisible": ["DataField"], "dangling": ["SliceField"]},
}


@pytest.mark.parametrize("scenario", sorted(HIDDEN_WORDS))
def test_findings_scan_whatever_the_threads(scenario):
    try:
        sc = misuse_samples.make_core(samples.default_config_id(), scenario)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    one = cli(sc.exe, sc.core, ["findings --jobs 1"])
    doc = json.loads(one)
    assert "error" not in doc, doc["error"]
    nodes = json.loads(cli(sc.exe, sc.core, ["top-retainers -n 1"]))["index"]["nodes"]
    assert nodes > 2 * 32, nodes  # several chunks of the scan
    sections = {s["id"]: s for s in doc["sections"]}
    for sid, keys in HIDDEN_WORDS[scenario].items():
        at = {_h(i["at"]) for i in sections[sid]["items"]}
        assert {sc.oracle[k] for k in keys} <= at, (sid, sections[sid]["items"])
    for jobs in (2, 4):
        assert cli(sc.exe, sc.core, [f"findings --jobs {jobs}"]) == one, jobs


def _leak_core(which):
    cfg = samples.default_config_id()
    if which == "goleak":
        sc = misuse_samples.make_core(cfg, "goleak")
        return sc, sc.oracle["Goroutines"]
    sc = samples.make_core_of(test_server.LEAKY if which == "server-leaky" else test_server.GOSERVER, cfg, "kernel")
    return sc, sc.oracle.get("Leaks", 0) if which == "server-leaky" else 0


@pytest.mark.parametrize("which", ["goleak", "server-leaky", "server-healthy"])
def test_goroutine_leaks_whatever_the_threads(which):
    try:
        sc, leaked = _leak_core(which)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    one = cli(sc.exe, sc.core, ["findings --jobs 1"])
    doc = json.loads(one)
    assert "error" not in doc, doc["error"]
    (leaks,) = [s for s in doc["sections"] if s["id"] == "goroutine-leaks"]
    assert sum(i["goroutines"] for i in leaks["items"]) == leaked, leaks["items"]
    assert leaks["count"] == (1 if leaked else 0), leaks["items"]
    for jobs in (2, 4):
        assert cli(sc.exe, sc.core, [f"findings --jobs {jobs}"]) == one, jobs


@pytest.mark.parametrize("name", corpus.PROGRAMS)
def test_corpus_whatever_the_threads(name):
    try:
        cc = corpus.make_core(name, samples.default_config_id())
    except (corpus.TooOld, samples.ToolchainUnavailable) as e:
        pytest.skip(str(e))
    cmds = ["histogram", "top-retainers -n 50", "triage"]
    one = cli(cc.sc.exe, cc.sc.core, [f"{c} --jobs 1" for c in cmds])
    docs = [json.loads(line) for line in one.splitlines()]
    assert [d["command"] for d in docs] == ["histogram", "top-retainers", "triage"], one[-2000:]
    assert not any("error" in d for d in docs), one[-2000:]
    assert docs[0]["totals"]["objects"] > 10000, docs[0]["totals"]
    for jobs in (2, 4):
        assert cli(cc.sc.exe, cc.sc.core, [f"{c} --jobs {jobs}" for c in cmds]) == one, jobs


TYPING_CORES = [("goheap", cfg) for cfg in samples.GCORE_CONFIGS] + [(name, None) for name in corpus.PROGRAMS]


@pytest.mark.parametrize("name,cfg", TYPING_CORES, ids=[f"{n}-{c}" if c else n for n, c in TYPING_CORES])
def test_typing_in_queue_order_whatever_the_threads(name, cfg):
    try:
        if name == "goheap":
            sc = samples.make_core(cfg, "kernel")
        else:
            sc = corpus.make_core(name, samples.default_config_id()).sc
    except (corpus.TooOld, samples.ToolchainUnavailable) as e:
        pytest.skip(str(e))
    cmds = ["histogram --all", "objects --all"]
    one = cli(sc.exe, sc.core, [f"{c} --jobs 1" for c in cmds])
    docs = [json.loads(line) for line in one.splitlines()]
    assert [d["command"] for d in docs] == ["histogram", "objects"], one[-2000:]
    # most objects typed: the walks' proposals were taken
    assert docs[0]["totals"]["typed_objects"] > docs[0]["totals"]["objects"] / 2, docs[0]["totals"]
    for jobs in (2, 4):
        assert cli(sc.exe, sc.core, [f"{c} --jobs {jobs}" for c in cmds]) == one, jobs
