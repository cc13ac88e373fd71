# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_connection_test's main(): by offering or by realm, against the fake Keycloak."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError
from ansible_collections.waldur.keycloak.plugins.modules.keycloak_connection_test import main
from ansible_collections.waldur.keycloak.tests.unit.fakes import O1


def test_needs_an_offering_or_a_realm(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path})
    assert result["failed"] is True
    assert result["msg"] == "offering_uuid: This field is required. Or give realm, to test the connection to that realm."
    assert keycloak.connections == []


def test_unknown_options_are_refused(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "realms": "hpc"})
    assert result["failed"] is True and result["msg"].startswith("Unsupported parameters")


def test_an_offering_connects_to_its_realm(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": "Rancher production", "auth_username": "admin",
                               "auth_password": "pw"})
    assert result["changed"] is False
    assert (result["status"], result["realm"], result["groups"]) == ("ok", "hpc", ["rancher-prod"])
    assert keycloak.connections[0]["username"] == "admin"


def test_a_realm_without_a_store(run_module, keycloak):
    result = run_module(main, {"realm": "hpc", "auth_keycloak_url": "https://kc.example.com"})
    assert result["status"] == "ok" and result["groups_count"] == 1


def test_a_failure_reports_status_error(run_module, keycloak, store_path):
    keycloak.fail = KeycloakError("cannot reach Keycloak at https://kc.example.com: Connection refused")
    result = run_module(main, {"store": store_path, "offering": O1})
    assert result["failed"] is True and result["status"] == "error"
    assert result["msg"] == ("Unable to connect to Keycloak. cannot reach Keycloak at https://kc.example.com: "
                             "Connection refused")
