#!/usr/bin/env python3
"""Debian's libc6 and libc6-dbg of glibc versions other than the installed one, pinned by sha256.

Debian 12 ships glibc 2.36 only; the layout table (glibc-table.sh) is checked against the DWARF of
other releases' libc6-dbg, and the tests run a sample on their libc.so.6 through their own loader.
The packages come from the pool of the Debian mirror apt is configured with (the directory of the
installed libc6's own URI, then deb.debian.org), unpacked side by side:

    DEST/<version>/root/   libc6 and libc6-dbg, as dpkg-deb -x leaves them
    DEST/<version>/done    written last

Usage: glibc_debs.py DEST VERSION   (prints DEST/<version>/root)
"""

import hashlib
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

# Debian version -> {package file: sha256}
PINNED = {
    "2.31-13+deb11u11": {  # Debian 11 (bullseye)
        "libc6_2.31-13+deb11u11_amd64.deb": "05f7264da867b37f4c5ce49266b558ea1e81e05a9464f623152fca70f3550282",
        "libc6-dbg_2.31-13+deb11u11_amd64.deb": "d34d4c479c3f508391edf56adc408626dff8c6d19bbfd7f2e33f5001057288de",
    },
    "2.41-12+deb13u5": {  # Debian 13 (trixie)
        "libc6_2.41-12+deb13u5_amd64.deb": "b59b0625cd1a791375d40dab23a4d5d3d0641e3d0a773501becdc3725b7f99cf",
        "libc6-dbg_2.41-12+deb13u5_amd64.deb": "d382b1f72fc0089aeeea8efe7db4719a436ce65cb6ce7f096e9c799d32ead275",
    },
}


class FetchError(Exception):
    pass


# Where Debian's own images point apt; tried after the configured mirror, which may be a security
# archive (security.debian.org has no main pool) or a local mirror without the other releases.
DEBIAN_MIRROR = "http://deb.debian.org/debian"


def pool_urls():
    """The glibc pool directories to try: the mirror apt uses for libc6, then Debian's own."""
    p = subprocess.run(["apt-get", "download", "--print-uris", "libc6"], capture_output=True, text=True)
    uri = next((w.strip("'") for w in p.stdout.split() if w.startswith("'") and "/pool/" in w), None)
    bases = []
    if uri:
        base = uri[:uri.index("/pool/")]
        bases.append(base[:-len("-security")] if base.endswith("-security") else base)
    if DEBIAN_MIRROR not in bases:
        bases.append(DEBIAN_MIRROR)
    return [b + "/pool/main/g/glibc/" for b in bases]


def _fetch(url, dest, sha256):
    tmp = dest.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=120) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
    except OSError as e:
        raise FetchError(f"{url}: {e}")
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    if digest != sha256:
        tmp.unlink()
        raise FetchError(f"{url}: sha256 {digest}, pinned {sha256}")
    tmp.rename(dest)


def unpack(dest, version):
    """DEST/<version>/root with both packages unpacked (fetched once, checked by sha256)."""
    if version not in PINNED:
        raise FetchError(f"glibc {version} is not pinned in {__file__}")
    d = Path(dest) / version
    root = d / "root"
    if (d / "done").exists():
        return root
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    pools = pool_urls()
    for name, sha in PINNED[version].items():
        deb = d / name
        errors = []
        for pool in pools:
            try:
                _fetch(pool + name.replace("+", "%2b"), deb, sha)
                break
            except FetchError as e:
                errors.append(str(e))
        else:
            raise FetchError("; ".join(errors))
        p = subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True, text=True)
        if p.returncode != 0:
            raise FetchError(f"dpkg-deb -x {deb}: {p.stderr.strip()}")
        deb.unlink()
    (d / "done").write_text("ok\n")
    return root


def libc_dir(root):
    """The directory holding libc.so.6 (lib/ before usrmerge, usr/lib/ after)."""
    for sub in ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"):
        if (Path(root) / sub / "libc.so.6").exists():
            return Path(root) / sub
    raise FetchError(f"no libc.so.6 under {root}")


def loader(root):
    return libc_dir(root) / "ld-linux-x86-64.so.2"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    try:
        print(unpack(sys.argv[1], sys.argv[2]))
    except FetchError as e:
        sys.exit(f"glibc_debs.py: {e}")
