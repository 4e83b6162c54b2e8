"""test_growth's diff checks on the production builds of samples/growth (see tests/production.py):
the MemStats and size classes of each side are the oracles', each planted growth comes out with the
sample's own counts under its type, and a global that holds it is named by section and offset within
the global the oracle records; a flat program shows no change of its own."""

import pytest

import growth_samples
import samples
from test_growth import (test_diff_memstats_are_the_oracles, test_diff_names_each_planted_growth,  # noqa: F401
                         test_diff_of_a_flat_program_reports_nothing, test_diff_size_classes_move_as_bysize,
                         test_diff_rejects_another_program)


def _step_cores(cfg, mode, flat=False):
    try:
        return growth_samples.step_cores(cfg, flat=flat, mode=mode)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module", params=list(samples.BUILD_MODES))
def grow(go_config, request):
    return _step_cores(go_config, request.param)


@pytest.fixture(scope="module", params=list(samples.BUILD_MODES))
def flat(go_config, request):
    return _step_cores(go_config, request.param, flat=True)
