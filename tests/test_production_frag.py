"""test_frag's oracle checks on the production builds of its sample (see tests/production.py)."""

import production
from test_frag import *  # noqa: F401,F403  the same tests, with the core_kind below

core_kind, sample_core = production.production_fixtures()
