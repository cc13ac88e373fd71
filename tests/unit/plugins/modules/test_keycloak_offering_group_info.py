# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_offering_group_info's main(): the store only; it never builds a client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.waldur.keycloak.plugins.modules.keycloak_offering_group_info import main
from ansible_collections.waldur.keycloak.tests.unit.fakes import G1, O1, UNKNOWN


@pytest.mark.parametrize("args, message", [
    ({"page": 1}, "missing parameter(s) required by 'page': page_size"),
    ({"page_size": 0}, "page_size: Ensure this value is greater than or equal to 1. Got 0."),
    ({"page_size": 1001}, "page_size: Ensure this value is less than or equal to 1000. Got 1001."),
])
def test_paging_options_are_checked(run_module, keycloak, store_path, args, message):
    result = run_module(main, dict(args, store=store_path))
    assert result["failed"] is True and result["msg"] == message


def test_lists_an_offering_newest_first_without_keycloak(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": O1, "auth_keycloak_url": "https://kc.example.com"})
    assert result["changed"] is False
    assert [g["name"] for g in result["groups"]] == ["members-p1", "members-p2", "admins-a"]
    assert keycloak.connections == []


def test_retrieve_by_uuid(run_module, keycloak, store_path):
    assert [g["name"] for g in run_module(main, {"store": store_path, "uuid": G1})["groups"]] == ["admins-a"]
    result = run_module(main, {"store": store_path, "uuid": UNKNOWN})
    assert result["failed"] is True
    assert result["msg"] == "Not found. No offering group with UUID '%s' in %s." % (UNKNOWN, store_path)


def test_a_missing_store_is_one_line(run_module, keycloak, tmp_path):
    result = run_module(main, {"store": str(tmp_path / "nowhere.yml")})
    assert result["failed"] is True and str(tmp_path / "nowhere.yml") in result["msg"] and "\n" not in result["msg"]
