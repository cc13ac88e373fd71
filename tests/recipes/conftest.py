# -*- coding: utf-8 -*-
"""Fixtures of the shell recipe tests (tests/recipes): the Keycloak of `make test` (tests/integration/kcfixtures.py)."""

from kcfixtures import admin, admin_credentials, keycloak_url  # noqa: F401  # pylint: disable=unused-import
