#!/bin/sh
# Set up a fresh Debian 12 machine (as root) to build and test memdbg.
# Idempotent: rerunning it only does what is missing.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PACKAGES="gcc make libdw-dev libelf-dev elfutils libreadline-dev python3-dev lldb-16 python3-lldb-16 liblldb-16-dev gdb libjemalloc-dev libgoogle-perftools-dev g++ chromium bzip2 libc6-dbg memcached clang-14 libclang-rt-14-dev unzip"

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

# 3. Go.  A machine without it (Debian 12's golang-go is 1.19, too old to fetch
# toolchains) gets go1.26.8 in /usr/local/go, from the Go module proxy's
# toolchain zip, checked by its sha256; that go fetches the others.
GO_ZIP_VERSION=go1.26.8
GO_ZIP_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
if ! command -v go >/dev/null 2>&1; then
	if [ ! -x /usr/local/go/bin/go ]; then
		echo "install.sh: no 'go' on PATH: installing $GO_ZIP_VERSION in /usr/local/go"
		tmp=$(mktemp -d)
		url="https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$GO_ZIP_VERSION.linux-amd64.zip"
		curl -fsSL -o "$tmp/go.zip" "$url"
		if [ "$(sha256sum "$tmp/go.zip" | cut -d' ' -f1)" != "$GO_ZIP_SHA256" ]; then
			echo "install.sh: $url does not have the pinned sha256 $GO_ZIP_SHA256" >&2
			exit 1
		fi
		unzip -q "$tmp/go.zip" -d "$tmp"
		# Module zips keep no file modes: the binaries get theirs back, as go's own toolchain switch does.
		chmod 755 "$tmp"/golang.org/toolchain@*/bin/* "$tmp"/golang.org/toolchain@*/pkg/tool/*/*
		mv "$tmp"/golang.org/toolchain@* /usr/local/go
		rm -rf "$tmp"
	fi
	ln -sf /usr/local/go/bin/go /usr/local/bin/go
fi

# 3b. The toolchains of setup/goversions.txt (cached in the module cache after the first fetch).
# Every one is required: docs/support.md says CI runs each of them.
for tc in $(grep -v '^[[:space:]]*\(#\|$\)' "$ROOT/setup/goversions.txt" | awk '{print $1}' | sort -u); do
	if out=$(cd "$ROOT" && GOTOOLCHAIN="$tc" go version 2>&1); then
		echo "install.sh: $out"
	else
		echo "install.sh: cannot fetch $tc: $out" >&2
		exit 1
	fi
done

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
