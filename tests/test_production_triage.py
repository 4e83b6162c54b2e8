"""test_triage's checks on the production builds of goholds (see tests/production.py)."""

import pytest

import holds_samples
import samples
from test_triage import *  # noqa: F401,F403  the same tests, with the holds_core below


@pytest.fixture(scope="session", params=samples.PRODUCTION_KINDS)
def holds_core(go_config, request):
    try:
        return holds_samples.make_core(go_config, request.param)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


# These build their own (default) cores by config id: nothing production about them.
del test_failing_section_does_not_end_the_report, test_html_is_self_contained  # noqa: F821
del test_html_renders_in_chromium, test_debuggers_print_the_same  # noqa: F821
# The tree's root and type are a global's name and DWARF type (test_production.py compares them).
del test_json_has_the_tree, test_text_sections  # noqa: F821
