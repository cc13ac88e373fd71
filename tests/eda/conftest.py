# -*- coding: utf-8 -*-
"""Fixtures of the Event-Driven Ansible tests (`make eda`): the event source and the drift rulebook.

They run in the .venv-eda virtualenv (ansible-rulebook, ansible-core) against the running Keycloak, and
reuse the integration tests' raw-HTTP client (kc.RawAdmin), fixtures and playbook runner, and the
reliability tests' fault proxy.
"""

import pytest

# The integration fixtures (tests/integration/kcfixtures.py), for pytest to find by name here.
from kcfixtures import admin, admin_credentials, keycloak_url, realm  # noqa: F401  # pylint: disable=unused-import

from edakit import Offerings


@pytest.fixture
def events_realm(admin, realm):
    """A fresh realm that records admin events with their details."""
    admin.call("PUT", "/realms/" + realm, json={"adminEventsEnabled": True, "adminEventsDetailsEnabled": True})
    return realm


@pytest.fixture
def offerings(admin, events_realm, tmp_path):
    """Two offerings (Alpha, Beta) under /svc, applied to Keycloak, with alice in every group."""
    return Offerings(admin, events_realm, tmp_path).apply()
