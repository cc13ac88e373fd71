# -*- coding: utf-8 -*-
"""Fixtures of the ansible-runner tests (tests/runner): jobs run as AWX runs them.

They reuse the integration tests' raw-HTTP Keycloak client and fixtures (tests/integration: ``admin``,
``realm``, ``kc.RawAdmin``) and the reliability tests' recording proxy (tests/reliability/faultproxy.py),
through which the tokens the modules obtain are seen.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for _path in (os.path.join(REPO, "tests", "integration"), os.path.join(REPO, "tests", "reliability"), HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# The integration fixtures (tests/integration/kcfixtures.py), for pytest to find by name here.
from kcfixtures import admin, admin_credentials, keycloak_url, realm  # noqa: E402,F401  # pylint: disable=unused-import
