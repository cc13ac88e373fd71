# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_group_import's main(): records a Keycloak group in the store; creates nothing in Keycloak."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store
from ansible_collections.waldur.keycloak.plugins.modules.keycloak_group_import import main
from ansible_collections.waldur.keycloak.tests.unit.fakes import O1, R2, X2


def test_remote_group_id_and_path_are_mutually_exclusive(run_module, keycloak, store_path, file_state):
    before = file_state(store_path)
    result = run_module(main, {"store": store_path, "offering": O1, "role": R2, "remote_group_id": "kc-hand",
                               "remote_group_path": "/rancher-prod/hand-made"})
    assert result["failed"] is True
    assert result["msg"] == "parameters are mutually exclusive: remote_group_id|remote_group_path"
    assert file_state(store_path) == before


def test_imports_into_the_store_check_mode_first(run_module, keycloak, store_path, file_state):
    keycloak.make_group("/rancher-prod/hand-made", group_id="kc-hand")
    args = {"store": store_path, "offering": O1, "role_uuid": "project-member", "remote_group_id": "kc-hand",
            "resource": X2, "scope_id": "p9"}
    before = file_state(store_path)
    planned = run_module(main, args, check_mode=True)
    assert planned["changed"] is True and file_state(store_path) == before
    assert [op["action"] for op in planned["plan"]] == ["create_record"]

    result = run_module(main, args)
    assert result["changed"] is True
    assert (result["group"]["name"], result["group"]["backend_id"], result["group"]["scope_id"]) == (
        "hand-made", "kc-hand", "p9")
    stored = Store(store_path).load().groups_by_uuid[result["group"]["uuid"]]
    assert (stored["backend_id"], stored["role"], stored["resource"]) == ("kc-hand", R2, X2)
    assert keycloak.writes == []
    assert run_module(main, args)["changed"] is False


def test_an_unknown_remote_group_fails_and_leaves_the_store(run_module, keycloak, store_path, file_state):
    before = file_state(store_path)
    result = run_module(main, {"store": store_path, "offering": O1, "role": R2, "remote_group_id": "kc-none",
                               "resource": X2})
    assert result["failed"] is True and result["msg"].startswith("remote_group_id: Remote group not found in Keycloak.")
    assert file_state(store_path) == before
