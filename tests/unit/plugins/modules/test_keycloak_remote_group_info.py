# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_remote_group_info's main(): the offering's groups, or one group's members."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError
from ansible_collections.waldur.keycloak.plugins.modules.keycloak_remote_group_info import main
from ansible_collections.waldur.keycloak.tests.unit.fakes import O1


def test_group_id_must_not_be_empty(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": O1, "group_id": ""})
    assert result["failed"] is True and result["msg"] == "group_id: This field is required."


def test_groups_then_members(run_module, keycloak, store_path):
    groups = run_module(main, {"store": store_path, "offering": O1})["groups"]
    assert [(g["id"], g["path"]) for g in groups] == [("kc-g1", "/rancher-prod/admins-a")]
    members = run_module(main, {"store": store_path, "offering": O1, "group_id": "kc-g1"})["members"]
    assert [m["username"] for m in members] == ["alice"]


def test_a_keycloak_failure_keeps_the_original_message(run_module, keycloak, store_path):
    keycloak.fail = KeycloakError("Keycloak answered 500 to GET /admin/realms/hpc/groups: boom", status=500)
    result = run_module(main, {"store": store_path, "offering": O1})
    assert result["failed"] is True
    assert result["msg"] == ("Unable to list remote Keycloak groups. Keycloak answered 500 to GET "
                             "/admin/realms/hpc/groups: boom")
