# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_remote_user_info's main(): a search of the offering's realm."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.waldur.keycloak.plugins.modules.keycloak_remote_user_info import main
from ansible_collections.waldur.keycloak.tests.unit.fakes import O1


@pytest.mark.parametrize("args, message", [
    ({}, "q: This field is required."),
    ({"q": "  "}, "q: This field is required."),
    ({"q": "a", "max": 0}, "max: Ensure this value is greater than or equal to 1. Got 0."),
    ({"q": "a", "max": 1001}, "max: Ensure this value is less than or equal to 1000. Got 1001."),
])
def test_query_and_max_are_checked(run_module, keycloak, store_path, args, message):
    result = run_module(main, dict(args, store=store_path, offering=O1))
    assert result["failed"] is True and result["msg"] == message


def test_finds_users(run_module, keycloak, store_path):
    result = run_module(main, {"store": store_path, "offering": "Rancher production", "query": " ali "})
    assert result["changed"] is False
    assert [u["username"] for u in result["users"]] == ["alice"] and keycloak.searched == "ali"
