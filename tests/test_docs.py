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
