"""Helpers for the production-build tests (issue 12): the executables users ship.

The suites listed in PRODUCTION_SUITES run again, unchanged, on the kernel
cores of their sample built each production way (samples.BUILD_MODES: -s -w,
and -trimpath -buildmode=pie -s -w): a module tests/test_production_<suite>.py
imports the suite's tests and overrides `core_kind` with the production kinds,
so every fixture made from core_kind builds, crashes and reads the production
build, and its oracle checks apply unchanged.  Tests that check names only
DWARF carries (a global's or a local's) are listed in NEEDS_DWARF and skipped
there; test_production.py checks what replaces those names.
"""

import pytest

import samples


def production_core_kind():
    """The `core_kind` fixture of a production module: one kernel core per build mode."""
    @pytest.fixture(scope="session", params=samples.PRODUCTION_KINDS)
    def core_kind(request):
        return request.param
    return core_kind


def skip_needs_dwarf(items, names):
    """Skip the collected tests named in `names` ({test name: why}): they check DWARF-only names."""
    for item in items:
        why = names.get(item.originalname)
        if why:
            item.add_marker(pytest.mark.skip(reason=f"needs DWARF: {why}"))
