# -*- coding: utf-8 -*-
"""Integration fixtures (defined in kcfixtures.py, shared with tests/reliability and tests/docs)."""

# pytest finds fixtures by name in this module.
from kcfixtures import (  # noqa: F401  # pylint: disable=unused-import
    admin,
    admin_credentials,
    client_factory,
    keycloak_url,
    keycloak_version,
    offering_store,
    plain_http_server,
    realm,
)
