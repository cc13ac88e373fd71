# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_offering_sync's main(): the whole offering at once; check mode shows the plan and the drift."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store
from ansible_collections.waldur.keycloak.plugins.modules.keycloak_offering_sync import main
from ansible_collections.waldur.keycloak.tests.unit.fakes import G2, O1


def test_members_mode_is_additive_or_exact(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": O1, "members_mode": "all"})
    assert result["failed"] is True
    assert result["msg"] == "value of members_mode must be one of: additive, exact, got: all"


def test_check_mode_reports_drift_and_changes_nothing(run_module, keycloak, store_path, file_state):
    before = file_state(store_path)
    result = run_module(main, {"store": store_path, "offering": O1, "parallelism": 0}, check_mode=True)
    assert result["changed"] is True and result["drift"] is True
    [report] = result["offerings"]
    assert (report["offering_uuid"], report["created"], report["missing_remote"]) == (O1, ["members-p1"], ["members-p2"])
    assert [op["action"] for op in result["plan"]] == ["create_group", "link"]
    assert keycloak.writes == [] and file_state(store_path) == before


def test_apply_creates_and_links_then_only_the_vanished_group_is_left_as_drift(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": O1})
    assert result["changed"] is True
    assert Store(store_path).load().groups_by_uuid[G2]["backend_id"] == keycloak.by_path("/rancher-prod/members-p1")["id"]
    again = run_module(main, {"store": store_path, "offering": O1})
    assert again["changed"] is False and again["drift"] is True   # members-p2's group is gone; relink: false


def test_an_offering_without_keycloak_settings_is_refused(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": "Plain"})
    assert result["failed"] is True
    assert result["msg"].startswith("Keycloak integration is not enabled for this offering.")
