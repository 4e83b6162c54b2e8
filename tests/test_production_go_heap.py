"""test_go_heap's oracle checks on the production builds of goheap (see tests/production.py)."""

import production
from test_go_heap import *  # noqa: F401,F403  the same tests, with the core_kind below

core_kind, sample_core = production.production_fixtures()

import typecheck  # noqa: E402

del test_types_never_contradict_gc  # noqa: F821  its typed share is the DWARF build's


def test_types_never_contradict_gc_without_dwarf(sample_core):
    """No object's type contradicts the runtime's record of its slot (whatever share is typed)."""
    typecheck.check_types(sample_core)
