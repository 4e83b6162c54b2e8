"""Helpers for the production-build tests (issue 12): the executables users ship.

The suites listed in PRODUCTION_SUITES run again, unchanged, on the kernel
cores of their sample built each production way (samples.BUILD_MODES: -s -w,
and -trimpath -buildmode=pie -s -w): a module tests/test_production_<suite>.py
imports the suite's tests and overrides `core_kind` with the production kinds,
so every fixture made from core_kind builds, crashes and reads the production
build, and its oracle checks apply unchanged.  Tests that check names only
DWARF carries (a global's or a local's) are left out there (del) or check the
name by address; test_production.py checks what replaces those names.
"""

import pytest

import samples


def production_fixtures():
    """A production module's `core_kind` (one kernel core per build mode) and its own
    `sample_core`.  The module's sample_core is a fixture of its own, not conftest's: a
    session fixture shared across modules keeps one cached value per parameter index,
    and pytest 7 (Debian 12's) reorders tests across modules by that index, so the
    conftest sample_core made for "kernel-stripped" was handed to test_samples' "kernel"."""
    @pytest.fixture(scope="session", params=samples.PRODUCTION_KINDS)
    def core_kind(request):
        return request.param

    @pytest.fixture(scope="session")
    def sample_core(go_config, core_kind):
        try:
            return samples.make_core(go_config, core_kind)
        except samples.ToolchainUnavailable as e:
            pytest.skip(str(e))
    return core_kind, sample_core
