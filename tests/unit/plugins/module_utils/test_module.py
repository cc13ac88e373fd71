# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module base: the shared options and the range check of int options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.waldur.keycloak.plugins.module_utils._module import out_of_range, shared_argument_spec


def test_shared_options_are_auth_store_and_offering():
    assert {"auth_keycloak_url", "auth_username", "auth_password", "token", "store", "offering"} <= set(
        shared_argument_spec())


@pytest.mark.parametrize("value, message", [
    (None, None),
    (1, None),
    (1000, None),
    (0, "page_size: Ensure this value is greater than or equal to 1. Got 0."),
    (-5, "page_size: Ensure this value is greater than or equal to 1. Got -5."),
    (1001, "page_size: Ensure this value is less than or equal to 1000. Got 1001."),
])
def test_out_of_range(value, message):
    assert out_of_range("page_size", value, 1, 1000) == message


def test_out_of_range_without_a_maximum():
    assert out_of_range("page", 10 ** 9, 1, None) is None
