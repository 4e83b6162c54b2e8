"""test_corpus' oracle checks on the PIE production build of each corpus program (issue 12).

Each program built `-trimpath -buildmode=pie -ldflags='-s -w'` (samples.BUILD_MODES["pie"])
runs its load and leaves its own kernel core with its own oracles (MemStats, the heap
dump, the crash traceback); test_corpus' tests run on it unchanged, but for the typed
share, whose aim is the DWARF build's (docs/support.md gives the stripped share).
The oracles that read the executable's GC metadata (tests/gcmeta: type layouts,
stack objects, runtime._defer) read the same build with DWARF (-s -w left out:
samples.build_with_dwarf, whose loaded bytes are checked to be the PIE build's).

A corpus core takes a minute or two of CPU to make and 100-200 MB of disk, so this
runs on the oldest and the newest Go only (PRODUCTION_CONFIGS); the -s -w build of
every program is read on every config as `strip -s` of the default build, against
the same core (tests/test_production.py).
"""

import pytest

import corpus
import samples
from test_corpus import *  # noqa: F401,F403  the same tests, with the corpus_core below

MODE = "pie"
PRODUCTION_CONFIGS = ("go1.22.12", "go1.26.8")
# The typed share of live bytes without DWARF (histogram --live) each program reaches; measured on these
# cores: nats 98.75-99.06%, raft 99.06-99.20% (89.78-90.02% before the receivers of method frames were typed,
# 82.1-83.9% before the layout table had package time's timers; docs/support.md), tsdb 99.17-99.29%.
TYPED_SHARE_WITHOUT_DWARF = {"nats": 98.5, "raft": 98.8, "tsdb": 99.0}


@pytest.fixture(scope="session", params=corpus.PROGRAMS)
def corpus_core(request, go_config):
    if go_config.id not in PRODUCTION_CONFIGS:
        pytest.skip(f"the corpus' {MODE} build runs on {', '.join(PRODUCTION_CONFIGS)} only (docs/support.md)")
    try:
        return corpus.make_core(request.param, go_config, MODE)
    except (corpus.TooOld, samples.ToolchainUnavailable) as e:
        pytest.skip(str(e))


del test_typed_share  # noqa: F821  its aim is the DWARF build's


def test_is_the_production_build(corpus_core):
    """The core's executable has no symbols and no DWARF, is PIE, and memdbg read it so."""
    b = corpus.cli_json(corpus_core, "go-info")["binary"]
    assert b["symbols"] is False and b["dwarf"] is False, b
    assert b["layouts"] == f"table of {corpus_core.oracle['GoVersion']} (pie)", b
    assert corpus_core.meta_exe != corpus_core.sc.exe
    assert samples.same_loaded_bytes(corpus_core.sc.exe, corpus_core.meta_exe) == []


def test_typed_share_without_dwarf(corpus_core):
    t = corpus.cli_json(corpus_core, "histogram --live")["totals"]
    assert t["typed_pct"] >= TYPED_SHARE_WITHOUT_DWARF[corpus_core.name], \
        f"typed {t['typed_pct']}% of {t['bytes']:,} live bytes ({t['objects'] - t['typed_objects']:,} objects untyped)"
