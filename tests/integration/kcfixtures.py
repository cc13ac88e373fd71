# -*- coding: utf-8 -*-
"""Fixtures for every suite that runs against the real Keycloak that `make test` started (scripts/keycloak.sh).

The integration, reliability and documentation tests import them from here into their conftest.py.
"""

import http.server
import json
import os
import threading
import uuid

import pytest
import yaml

from kc import RawAdmin


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit("%s is not set: integration tests need the real Keycloak (run `make integration` or "
                    "`make test`, which start it with scripts/keycloak.sh)" % name, returncode=2)
    return value


@pytest.fixture(scope="session")
def keycloak_url():
    return _env("KEYCLOAK_URL")


@pytest.fixture(scope="session")
def admin_credentials():
    return _env("KEYCLOAK_USERNAME"), _env("KEYCLOAK_PASSWORD")


@pytest.fixture(scope="session")
def admin(keycloak_url, admin_credentials):
    raw = RawAdmin(keycloak_url, *admin_credentials)
    raw.token()  # fail early and clearly if Keycloak is not there
    return raw


@pytest.fixture(scope="session")
def keycloak_version(admin):
    """The server's version as a tuple of ints, e.g. (24, 0, 5): for the few checks where the Keycloak
    versions the collection supports legitimately differ (docs/keycloak-versions.md)."""
    text = admin.get("/serverinfo")["systemInfo"]["version"]
    return tuple(int(part) for part in text.split("-")[0].split(".")[:3])


@pytest.fixture
def realm(admin):
    """A fresh realm per test, deleted afterwards."""
    name = admin.create_realm()
    yield name
    admin.delete_realm(name)


@pytest.fixture
def client_factory(keycloak_url, admin_credentials):
    from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakClient

    def make(**overrides):
        options = dict(url=keycloak_url, username=admin_credentials[0], password=admin_credentials[1])
        options.update(overrides)
        return KeycloakClient(**options)

    return make


def new_uuid():
    return str(uuid.uuid4())


@pytest.fixture
def offering_store(tmp_path, realm):
    """Write a store with one Keycloak-enabled offering in ``realm``; return (path, ids).

    ``make(**changes)`` lets a test add groups or more offerings before writing.
    """

    def make(groups=None, extra_offerings=None, base_group="", template="", suffix=".yml", keycloak=True):
        ids = {
            "offering": new_uuid(), "role_admin": new_uuid(), "role_member": new_uuid(),
            "resource_a": new_uuid(), "resource_b": new_uuid(),
        }
        offering = {
            "uuid": ids["offering"], "name": "Rancher production", "slug": "rancher-prod",
            "roles": [
                {"uuid": ids["role_admin"], "name": "cluster-admin", "scope_type": "cluster"},
                {"uuid": ids["role_member"], "name": "project-member", "scope_type": "project"},
            ],
            "resources": [
                {"uuid": ids["resource_a"], "name": "cluster-a"},
                {"uuid": ids["resource_b"], "name": "cluster-b"},
            ],
        }
        if keycloak:
            offering["keycloak"] = {"realm": realm, "base_group": base_group, "group_name_template": template}
        document = {"version": 1, "offerings": [offering] + list(extra_offerings or []), "groups": groups or []}
        path = tmp_path / ("store" + suffix)
        with open(str(path), "w") as stream:
            if suffix == ".json":
                json.dump(document, stream, indent=2)
            else:
                yaml.safe_dump(document, stream, sort_keys=False)
        return str(path), ids

    return make


@pytest.fixture
def plain_http_server():
    """A web server on a free loopback port that is not Keycloak: 404 (an HTML page) for every path."""

    class NotFound(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            self.send_error(404)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()
