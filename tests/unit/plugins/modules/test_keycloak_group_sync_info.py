# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_group_sync_info's main(): local against remote by backend_id; reads only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.waldur.keycloak.plugins.modules.keycloak_group_sync_info import main
from ansible_collections.waldur.keycloak.tests.unit.fakes import O1, UNKNOWN


def test_members_must_be_a_boolean(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": O1, "members": "maybe"})
    assert result["failed"] is True and "members" in result["msg"] and "bool" in result["msg"]


def test_reports_synced_local_only_and_remote_only(run_module, keycloak, store_path):
    keycloak.make_group("/rancher-prod/hand-made")
    result = run_module(main, {"store": store_path, "offering": O1, "members": True}, check_mode=True)
    assert result["changed"] is False
    assert result["synced"] == [{"local_name": "admins-a", "remote_name": "admins-a", "backend_id": "kc-g1"}]
    assert result["remote_only"] == ["hand-made"] and result["local_only"] == ["members-p1", "members-p2"]
    assert keycloak.writes == []


def test_an_unknown_offering(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": UNKNOWN})
    assert result["failed"] is True and result["msg"].startswith("offering_uuid: Offering not found.")
