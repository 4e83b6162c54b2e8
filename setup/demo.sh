#!/bin/sh
# The demo: install what is needed, build, make a core of the sample Go
# program (samples/goheap, built with the machine's Go) and triage it end to end:
# spans, MemStats, top types, top retainers, pools, fragmentation, findings, and
# an HTML report in build/demo/triage.html.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/setup/install.sh"
cd "$ROOT"
set -- $(python3 - <<'PY'
import sys
sys.path.insert(0, "tests")
import samples
cfg = samples.CONFIGS_BY_ID[samples.default_config_id()]
sc = samples.make_core(cfg, "kernel")
print(sc.exe, sc.core)
PY
)
exe=$1 core=$2
echo
echo "== memdbg core $core --exe $exe"
mkdir -p "$ROOT/build/demo"
exec "$ROOT/build/memdbg" core "$core" --exe "$exe" \
	-c "mspan-walk --sort util --limit 10" -c "triage --html $ROOT/build/demo/triage.html"
