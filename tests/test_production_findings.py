"""test_findings on production builds (see tests/production.py): a clean program and goheap get no
pointer findings without DWARF either, and each misuse scenario's finding is found in its -s -w and
PIE builds as in the default one (racyptr's Msg is reached only through consume's argument m, typed
by the one call of consume).  A holder global is then named by its section and offset, which must
fall within the global the scenario records (its address and size in the oracle); the cgo scenario's
stripped build is test_production.py's."""

import pytest

import production
import samples
from test_findings import (test_clean_has_no_findings, test_goheap_has_no_findings,  # noqa: F401
                           test_types_never_contradict_gc, test_maps, test_goroutine_leak, test_pool_residue,
                           test_used_after_put, test_deferred_put_while_used, test_racy_pointer_between_goroutines,
                           test_unsafe_slice_over_dead_header, test_gc_invisible, test_dangling, test_large_objects,
                           test_fragmentation, test_finalizers)

core_kind, sample_core = production.production_fixtures()


@pytest.fixture(scope="module", params=samples.PRODUCTION_KINDS)
def misuse_kind(request):
    return request.param
