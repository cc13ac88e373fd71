# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_offering_group's main(): present (create, members) and absent, check mode first."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store
from ansible_collections.waldur.keycloak.plugins.modules.keycloak_offering_group import main
from ansible_collections.waldur.keycloak.tests.unit.fakes import G2, O1, R2, X2


def test_state_must_be_present_or_absent(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": O1, "state": "gone"})
    assert result["failed"] is True
    assert result["msg"] == "value of state must be one of: present, absent, got: gone"


def test_present_creates_the_group_and_its_member(run_module, keycloak, store_path, file_state):
    args = {"store": store_path, "offering": O1, "role": R2, "resource": X2, "scope_id": "p5", "members": ["bob"]}
    before = file_state(store_path)
    planned = run_module(main, args, check_mode=True)
    assert planned["changed"] is True and keycloak.writes == [] and file_state(store_path) == before

    result = run_module(main, args)
    assert result["changed"] is True
    group_id = keycloak.by_path("/rancher-prod/" + result["group"]["name"])["id"]
    assert result["group"]["backend_id"] == group_id
    assert [keycloak.users[u]["username"] for u in keycloak.members[group_id]] == ["bob"]
    assert Store(store_path).load().groups_by_uuid[result["group"]["uuid"]]["backend_id"] == group_id
    assert run_module(main, args)["changed"] is False


def test_absent_removes_an_unlinked_record(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "uuid": G2, "state": "absent"})
    assert result["changed"] is True and result["group"]["uuid"] == G2
    assert G2 not in Store(store_path).load().groups_by_uuid
    assert keycloak.writes == []


def test_a_keycloak_failure_leaves_the_store_untouched(run_module, keycloak, store_path, file_state):
    from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError

    keycloak.fail = KeycloakError("cannot reach Keycloak at https://kc.example.com: Connection refused")
    before = file_state(store_path)
    result = run_module(main, {"store": store_path, "offering": O1, "role": R2, "resource": X2, "scope_id": "p5"})
    assert result["failed"] is True and "Connection refused" in result["msg"] and "\n" not in result["msg"]
    assert file_state(store_path) == before
