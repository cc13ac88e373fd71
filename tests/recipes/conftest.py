# -*- coding: utf-8 -*-
"""Fixtures of the shell recipe tests (tests/recipes): the Keycloak of `make test` (tests/integration/kcfixtures.py)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
_integration = os.path.join(REPO, "tests", "integration")
if _integration not in sys.path:
    sys.path.insert(0, _integration)

from kcfixtures import admin, admin_credentials, keycloak_url  # noqa: E402,F401  # pylint: disable=unused-import
