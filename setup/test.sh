#!/bin/sh
# The whole test suite: install, build (plain and ASan+UBSan), then pytest on
# every Go configuration of setup/goversions.txt, the CLI tests again under
# the sanitizers, and the libFuzzer targets for 100 s.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/setup/install.sh"
cd "$ROOT"
make BUILD=build-asan SANITIZE=1
# The corpus programs' compiled modules (about 250 MB a config and set of compile flags) leave the Go
# build cache once their executables are linked (tests/corpus.py, drop_compiled_modules).
export MEMDBG_TRIM_GOCACHE=1
python3 -m pytest -q tests "$@"
# The debugger front ends load the plain extension; the sanitizers cover the
# core through the CLI on the same cores and bad inputs.
echo "== the CLI tests again under ASan and UBSan"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 MEMDBG_BUILD=build-asan
NOT_DEBUGGERS="not front_ends and not gdb and not lldb and not debuggers"
python3 -m pytest -q -k "$NOT_DEBUGGERS" tests/test_bad_input.py tests/test_robustness.py tests/test_jemalloc.py \
	tests/test_tcmalloc.py tests/test_glibc.py "$@"
# The per-config suites on the oldest and newest Go (the plain pass covers every config).
python3 -m pytest -q -k "(go1.22.12 or go1.26.8) and not nogreenteagc and $NOT_DEBUGGERS" \
	tests/test_go_heap.py tests/test_objects.py tests/test_holds.py tests/test_goroutines.py tests/test_pools.py \
	tests/test_frag.py tests/test_findings.py tests/test_triage.py "$@"
# The stripped path (production builds: -s -w, PIE, strip) on the newest Go.
python3 -m pytest -q -k "go1.26.8 and not nogreenteagc and $NOT_DEBUGGERS" tests/test_production.py \
	tests/test_production_go_heap.py tests/test_production_pools.py tests/test_production_holds.py \
	tests/test_production_frag.py tests/test_production_objects.py tests/test_production_findings.py \
	tests/test_production_triage.py "$@"
# The libFuzzer targets (native/fuzz, docs/fuzzing.md) for a bounded time under ASan and UBSan:
# the core reader on whole core files, the Go, allocator and executable decoders on real cores
# with a few words changed.  A crash, leak, sanitizer report or broken contract fails the run.
echo "== libFuzzer targets, 100 s (setup/fuzz.py)"
python3 setup/fuzz.py --seconds 100
