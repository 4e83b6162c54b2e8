"""The docs stay true: every command and option is documented, and the support
table lists exactly the Go configurations CI runs."""

import json
import re

import samples

DOCS = samples.REPO / "docs"


def test_every_command_and_option_documented():
    text = (DOCS / "commands.md").read_text()
    listing = json.loads(samples.run_cli(["help", "--json"]).stdout)
    for cmd in listing["commands"]:
        name = cmd["name"]
        assert f"## {name}" in text, name
        usage = json.loads(samples.run_cli(["help", name, "--json"]).stdout)["usage"]
        for opt in re.findall(r"--[a-z-]+", usage):
            assert opt in text, (name, opt)


def test_support_table_matches_ci_configs():
    text = (DOCS / "support.md").read_text()
    rows = re.findall(r"^\| (go1\.\S+) \|", text, re.M)
    assert rows == [c.id for c in samples.CONFIGS]


def test_corpus_table_matches_go_mod():
    """Every corpus program has a row naming the module versions its go.mod pins and its minimum Go."""
    import corpus
    text = (DOCS / "support.md").read_text()
    for name in corpus.PROGRAMS:
        row = re.search(rf"^\| `{name}` \|.*$", text, re.M)
        assert row, f"support.md: no row for samples/corpus/{name}"
        mods = corpus.modules(name)
        pairs = re.findall(r"(\S+) (v\d\S*?)[,;)]?(?=\s|$)", row.group(0))
        assert pairs, row.group(0)
        for path, version in pairs:
            assert mods.get(path.strip("`")) == version.strip("`"), (name, path, version)
        assert f"Go {corpus.min_go(name)}" in row.group(0), (name, corpus.min_go(name))
