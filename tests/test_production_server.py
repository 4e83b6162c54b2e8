"""test_server's findings on the production builds of goserver and its leaky variant (see
tests/production.py): no finding on the healthy server, the one leak with its count on the leaky one."""

import production
from test_server import test_healthy_server_has_no_findings, test_leak_is_found_with_its_count  # noqa: F401

core_kind, sample_core = production.production_fixtures()
