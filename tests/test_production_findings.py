"""test_findings' false-positive checks on production builds: a clean program and goheap get no
pointer findings without DWARF either (see tests/production.py; the misuse scenarios' own findings
name DWARF globals, test_production.py checks the cgo one)."""

import production
from test_findings import test_clean_has_no_findings, test_goheap_has_no_findings  # noqa: F401

core_kind, sample_core = production.production_fixtures()
