#!/bin/sh
# Set up a fresh Debian 12 machine (as root) to build and test memdbg.
# Idempotent: rerunning it only does what is missing.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PACKAGES="gcc make libdw-dev libelf-dev elfutils libreadline-dev python3-dev lldb-16 python3-lldb-16 liblldb-16-dev gdb libjemalloc-dev libgoogle-perftools-dev g++ chromium bzip2 libc6-dbg memcached clang-14 libclang-rt-14-dev"

if [ "$(id -u)" != 0 ]; then
	echo "install.sh: run as root" >&2
	exit 1
fi

# 1. Debian packages (apt only if something is missing).
missing=""
for p in $PACKAGES; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends $missing
else
	echo "install.sh: Debian packages already installed"
fi

# 1b. Debian's jemalloc source: a test builds it with DWARF, --enable-debug and the je_ prefix.
if ! apt-get source --print-uris jemalloc >/dev/null 2>&1; then
	echo "install.sh: adding a deb-src line for bookworm"
	cat >/etc/apt/sources.list.d/memdbg-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	apt-get update
fi

# 2. pytest: Debian's for the system Python, pip's for any other python3 first on PATH.
if ! python3 -m pytest --version >/dev/null 2>&1; then
	echo "install.sh: installing pytest"
	if [ "$(command -v python3)" = /usr/bin/python3 ]; then
		apt-get install -y --no-install-recommends python3-pytest
	else
		python3 -m pip install pytest 2>/dev/null || python3 -m pip install --break-system-packages pytest
	fi
fi

# 3. Go toolchains (cached in the module cache after the first fetch).
if command -v go >/dev/null 2>&1; then
	grep -v '^[[:space:]]*\(#\|$\)' "$ROOT/setup/goversions.txt" | awk '{print $1}' | sort -u |
	while read -r tc; do
		if out=$(cd "$ROOT" && GOTOOLCHAIN="$tc" go version 2>&1); then
			echo "install.sh: $out"
		else
			echo "install.sh: warning: cannot fetch $tc: $out (its tests will be skipped)" >&2
		fi
	done
else
	echo "install.sh: warning: no 'go' on PATH; Go sample tests will be skipped" >&2
fi

# 4. Cores must land in files: replace a pipe or absolute core_pattern.
pat=$(cat /proc/sys/kernel/core_pattern)
case "$pat" in
	"|"* | /*)
		if echo core >/proc/sys/kernel/core_pattern 2>/dev/null; then
			echo "install.sh: kernel.core_pattern was '$pat'; set it to 'core'"
		else
			echo "install.sh: warning: kernel.core_pattern is '$pat' and could not be changed; kernel-core tests will fail" >&2
		fi
		;;
	*)
		echo "install.sh: kernel.core_pattern is '$pat'; left alone"
		;;
esac

# 5. Build and install the CLI.
make -C "$ROOT"
ln -sf "$ROOT/build/memdbg" /usr/local/bin/memdbg
echo "install.sh: /usr/local/bin/memdbg -> $ROOT/build/memdbg"
