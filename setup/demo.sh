#!/bin/sh
# The demo: install what is needed, build, make a core of the sample Go
# program (samples/goheap, built with the machine's Go) and triage it end to end.
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
exec "$ROOT/build/memdbg" core "$core" --exe "$exe" \
	-c go-info -c memstats -c "mspan-walk --sort util --limit 15" -c mcentral -c "mcache --p 0"
