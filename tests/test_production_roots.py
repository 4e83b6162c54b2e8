"""test_roots on the production builds of goroots and of every sample that writes a heap dump (see
tests/production.py): stack maps come from the pclntab, not DWARF, so the dead slots are no roots and
each goroutine's frame roots are the dump's live pointer slots exactly as with the default build."""

import pytest

import samples
from test_roots import GOROOTS, make, test_dead_slots_are_not_roots, test_stack_objects_counted  # noqa: F401
from test_roots import test_stack_roots_equal_heapdump  # noqa: F401


@pytest.fixture(scope="module", params=samples.PRODUCTION_KINDS)
def roots_core(go_config, request):
    return make(GOROOTS, go_config, request.param)


@pytest.fixture(scope="module", params=samples.PRODUCTION_KINDS)
def dump_kind(request):
    return request.param
