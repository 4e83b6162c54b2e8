"""triage (issue 5) against samples/goholds kernel cores.

  triage [--html FILE] [--json]
      {"command":"triage","go-info":{...},"memstats":{...},"histogram":{...},
       "top-retainers":{...},"pool-residue":{...},"frag":{...},"findings":{...},
       "html":FILE?}
      each section is what the command prints on its own (`histogram --top 20`,
      `top-retainers -n 20`), without "command"; text: one "NAME:" block per section.
  --html FILE: one self-contained page (inline CSS and JS, no network) with the
      report's JSON in <script id='data' type='application/json'> ('<' escaped),
      plus "flame" {"total_bytes","frames":[{"parent","name","kind","bytes","self",
      "objects"}],"frames_left_out"} (dominator chains by type path, roots at the
      bottom) and "span_map" {"inuse_spans","shown","first","last","util","class"}
      (two hex digits per in-use span, address order).

samples/goholds holds a 1000-leaf tree: the global main.treeRoot retains a main.Tree.
The HTML is rendered with headless Chromium (Debian's `chromium`, installed by
setup/install.sh); a screenshot of each page lands in build/triage-<config>.png.
"""

import html
import json
import re
import shutil
import subprocess
import tempfile

import pytest

import holds_samples
import samples

SECTIONS = [
    ("go-info", "go-info"),
    ("memstats", "memstats"),
    ("histogram", "histogram --top 20"),
    ("top-retainers", "top-retainers -n 20"),
    ("pool-residue", "pool-residue"),
    ("frag", "frag"),
    ("findings", "findings"),
]
# The configs whose pages are rendered and whose debugger output is compared.
RENDER_CONFIGS = ("go1.22.12", "go1.26.8")
CHROMIUM_TIMEOUT = 60


@pytest.fixture(scope="session")
def holds_core(go_config):
    try:
        return holds_samples.make_core(go_config, "kernel")
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


def _core(cfg_id):
    cfg = samples.CONFIGS_BY_ID.get(cfg_id)
    if cfg is None:
        pytest.skip(f"{cfg_id} is not in setup/goversions.txt")
    try:
        samples.ensure_toolchain(cfg)
        return holds_samples.make_core(cfg, "kernel")
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


def cli(sc, cmd, json_out=False):
    p = samples.run_core_cli(sc, cmd, json_out=json_out, timeout=300)
    assert p.returncode == 0, f"{cmd}: {p.stderr}"
    return p.stdout


def cli_json(sc, cmd):
    doc = json.loads(cli(sc, cmd, json_out=True))
    assert "error" not in doc, (cmd, doc["error"])
    return doc


# ---------------------------------------------------------------- the CLI report

def test_json_sections_equal_the_commands(holds_core):
    doc = cli_json(holds_core, "triage")
    assert list(doc) == ["command"] + [k for k, _ in SECTIONS]
    assert doc["command"] == "triage"
    for key, cmd in SECTIONS:
        alone = cli_json(holds_core, cmd)
        assert alone.pop("command") == key
        assert doc[key] == alone, key


def test_json_has_the_tree(holds_core):
    doc = cli_json(holds_core, "triage")
    rows = doc["top-retainers"]["retainers"]
    tree = [r for r in rows if r["type"] == "main.Tree"]
    assert tree and tree[0]["root"]["name"] == "main.treeRoot", rows
    assert len(doc["histogram"]["types"]) <= 20 and len(rows) <= 20


def test_text_sections(holds_core):
    text = cli(holds_core, "triage")
    heads = [m.start() for key, _ in SECTIONS for m in re.finditer(rf"^{re.escape(key)}:$", text, re.M)]
    assert len(heads) == len(SECTIONS) and heads == sorted(heads), text[:2000]
    ms = cli_json(holds_core, "memstats")
    assert re.search(rf"^  HeapAlloc +{ms['HeapAlloc']}$", text, re.M)
    gi = cli_json(holds_core, "go-info")
    assert re.search(rf"^  goroutines +{gi['goroutines']}$", text, re.M)
    frag = cli_json(holds_core, "frag")
    assert frag["headline"] in text
    assert "main.treeRoot" in text and "main.Tree" in text
    # Each section's text is the command's own, indented (spacing aside).
    norm = {" ".join(line.split()) for line in text.splitlines()}
    for cmd in ("memstats", "frag"):
        for line in cli(holds_core, cmd).splitlines():
            assert " ".join(line.split()) in norm, (cmd, line)


def test_html_bad_path_is_an_error(holds_core, tmp_path):
    bad = tmp_path / "no" / "such" / "dir" / "t.html"
    p = samples.run_core_cli(holds_core, f"triage --html {bad}", timeout=300)
    assert p.returncode != 0
    assert "cannot write" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not bad.exists()


@pytest.mark.parametrize("cfg_id", RENDER_CONFIGS)
def test_failing_section_does_not_end_the_report(cfg_id, tmp_path):
    """A core whose mheap_.allArenas is corrupt: frag and findings fail, the other sections still print."""
    if not shutil.which("gdb"):
        pytest.skip("gdb finds mheap_.allArenas for the patch")
    from test_robustness import Core, _gdb_values
    sc = _core(cfg_id)
    at = None
    for member in ("heapArenas", "allArenas"):   # renamed in go1.26
        try:
            at, = _gdb_values(sc.exe, sc.core, [f"&'runtime.mheap_'.{member}.len"])
            break
        except AssertionError:
            continue
    assert at, "mheap_ has neither heapArenas nor allArenas"
    copy = tmp_path / "core"
    shutil.copyfile(sc.core, copy)
    off = Core(copy).file_offset(at, 16)
    assert off is not None
    with open(copy, "r+b") as f:
        f.seek(off)
        f.write((1 << 40).to_bytes(8, "little") * 2)   # len and cap
    bad = samples.SampleCore(sc.config, sc.kind, sc.exe, copy, sc.oracle_path, sc.oracle)
    p = samples.run_core_cli(bad, "triage", json_out=True, timeout=300)
    # partial: exit 3 and one line naming the failed sections; the arena list is damaged
    assert p.returncode == 3 and re.match(r"memdbg: partial: triage: \d of 7 sections failed", p.stderr), p.stderr
    assert len(p.stderr.splitlines()) == 1
    doc = json.loads(p.stdout)
    assert list(doc) == ["command"] + [k for k, _ in SECTIONS] + ["damaged"] and "error" not in doc
    assert any("heap figures are unchecked" in d for d in doc["damaged"]), doc["damaged"]
    for key in ("frag", "findings"):
        assert "arenas" in doc[key]["error"], doc[key]
    assert doc["histogram"]["totals"]["objects"] > 0 and doc["memstats"]["HeapAlloc"] > 0
    assert "error" not in doc["pool-residue"] and "error" not in doc["top-retainers"]
    p = samples.run_core_cli(bad, "triage", timeout=300)
    assert p.returncode == 3, p.stderr
    text = p.stdout
    assert re.search(r"^findings:\n(.*\n)*?  error +.*arenas", text, re.M), text[-3000:]
    assert re.search(r"^  HeapAlloc +\d+$", text, re.M)


# ---------------------------------------------------------------- the HTML page

def page_data(page):
    m = re.search(r"<script id='data' type='application/json'>(.*?)</script>", page, re.S)
    assert m, "no data block"
    raw = m.group(1)
    assert "<" not in raw and ">" not in raw and "&" not in raw
    return json.loads(raw)


def write_page(sc, path):
    out = cli(sc, f"triage --html {path}")
    assert f"wrote {path}" in out
    page = path.read_text()
    return page, page_data(page)


def chromium():
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (setup/install.sh installs it; "
                    "apt-get install -y chromium)")
    return exe


def run_chromium(exe, profile, *args):
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("cfg_id", RENDER_CONFIGS)
def test_html_is_self_contained(cfg_id, tmp_path):
    sc = _core(cfg_id)
    page, data = write_page(sc, tmp_path / "triage.html")
    # No network: nothing loaded from elsewhere (the only URL is the SVG namespace).
    assert not re.search(r"<(script|link|img|iframe)[^>]*(src|href)=", page, re.I)
    assert set(re.findall(r"https?://[^\s'\"]+", page)) <= {"http://www.w3.org/2000/svg"}
    # The embedded report is the CLI's.
    doc = cli_json(sc, "triage")
    for key, _ in SECTIONS:
        assert data[key] == doc[key], key
    # The flame graph's data: frames after their parents, widths add up, the tree under its root.
    frames = data["flame"]["frames"]
    assert frames[0]["parent"] == -1 and frames[0]["bytes"] == data["flame"]["total_bytes"]
    for i, f in enumerate(frames[1:], 1):
        assert 0 <= f["parent"] < i
    for i, f in enumerate(frames):
        kids = sum(k["bytes"] for k in frames if k["parent"] == i)
        assert f["self"] + kids <= f["bytes"], f
    by_root = {r["root"]["name"]: r["retained_bytes"]
               for r in cli_json(sc, "top-retainers -n 100 --by root")["retainers"]}
    root = [i for i, f in enumerate(frames) if f["kind"] == "root" and f["name"] == "main.treeRoot"]
    assert len(root) == 1, frames[:50]
    assert frames[root[0]]["bytes"] == by_root["main.treeRoot"]
    tree = [f for f in frames if f["parent"] == root[0] and f["name"] == "main.Tree"]
    assert len(tree) == 1 and tree[0]["bytes"] == frames[root[0]]["bytes"], frames
    # The span map: one cell per in-use span.
    sm = data["span_map"]
    walk = cli_json(sc, "mspan-walk")
    assert sm["inuse_spans"] == sm["shown"] == len(walk["spans"]) == len(sm["util"]) // 2
    utils = [int(sm["util"][i:i + 2], 16) for i in range(0, len(sm["util"]), 2)]
    want = [(200 * s["allocated"] + s["slots"]) // (2 * s["slots"]) for s in sorted(walk["spans"], key=lambda s: int(s["start"], 16))]
    assert utils == want


@pytest.mark.parametrize("cfg_id", RENDER_CONFIGS)
def test_html_renders_in_chromium(cfg_id, tmp_path):
    exe = chromium()
    sc = _core(cfg_id)
    path = tmp_path / "triage.html"
    _, data = write_page(sc, path)
    with tempfile.TemporaryDirectory() as profile:
        p = run_chromium(exe, profile, "--dump-dom", path.as_uri())
    assert p.returncode == 0, p.stderr[-2000:]
    dom = p.stdout
    # Headline figures.
    assert str(data["memstats"]["HeapAlloc"]) in dom
    card = re.search(r'<div class="card" id="heap-alloc">(.*?)</div></div>', dom, re.S)
    assert card and f"{data['memstats']['HeapAlloc']} bytes" in card.group(1), dom[:3000]
    assert html.escape(data["frag"]["headline"], quote=False) in dom
    # The top types table.
    types = re.search(r'<section id="types">.*?</section>', dom, re.S).group(0)
    for row in data["histogram"]["types"][:10]:
        assert html.escape(row["type"], quote=False) in types, row
    # The flame graph: an inline SVG with the tree's root and type.
    flame = re.search(r'<svg id="flame".*?</svg>', dom, re.S)
    assert flame, "no flame graph svg"
    assert "main.treeRoot" in flame.group(0) and "main.Tree" in flame.group(0)
    assert len(re.findall(r"<rect ", flame.group(0))) >= len(data["flame"]["frames"]) // 2
    # The span map: one cell per in-use span.
    spans = re.search(r'<svg id="spanmap".*?</svg>', dom, re.S)
    assert spans, "no span map svg"
    assert len(re.findall(r'<rect class="span-cell"', spans.group(0))) == data["span_map"]["shown"] > 0
    # Tables for retainers, pools and findings.
    for sid in ("retainers", "pools", "findings"):
        assert re.search(rf'<section id="{sid}">.*?<table>', dom, re.S), sid
    assert "main.pool" in re.search(r'<section id="pools">.*?</section>', dom, re.S).group(0)
    # A picture for a human (not committed).
    shot = samples.REPO / "build" / f"triage-{cfg_id}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        p = run_chromium(exe, profile, "--hide-scrollbars", "--window-size=1400,2400", f"--screenshot={shot}",
                         path.as_uri())
    assert p.returncode == 0 and shot.stat().st_size > 10000, p.stderr[-2000:]


# ---------------------------------------------------------------- front ends

BEGIN, END = "@@memdbg-begin@@", "@@memdbg-end@@"


def _between(text):
    start = text.index(BEGIN + "\n") + len(BEGIN) + 1
    return text[start:text.index(END + "\n", start)]


@pytest.mark.parametrize("cfg_id", RENDER_CONFIGS)
def test_debuggers_print_the_same(cfg_id):
    sc = _core(cfg_id)
    want = cli(sc, "triage")
    g = samples.run_gdb(sc.exe, sc.core, f"echo {BEGIN}\\n", "memdbg triage", f"echo {END}\\n", timeout=300)
    assert _between(g.stdout) == want, g.stderr[-2000:]
    lp = samples.run_lldb(sc.exe, sc.core, f"script print('{BEGIN}')", "memdbg triage", f"script print('{END}')",
                          timeout=300)
    out = "".join(line for line in _between(lp.stdout).splitlines(True) if not line.startswith("(lldb) "))
    assert out == want, lp.stderr[-2000:]
