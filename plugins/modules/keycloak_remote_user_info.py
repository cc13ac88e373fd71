#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_remote_user_info
short_description: Search users in an offering's Keycloak realm
version_added: 0.1.0
description:
  - Searches usernames, emails, first and last names of the offering's realm.
  - The collection's form of the C(search_remote_users) operation of the Offering Keycloak Groups API.
  - Reads only.
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - waldur.keycloak.auth.STORE
  - waldur.keycloak.auth.OFFERING
  - waldur.keycloak.auth.READ_ONLY
options:
  q:
    description:
      - "The text to search for; required and not empty once stripped (else C(q: This field is required.))."
      - A user is found when the text is inside the username, the email, the first name, the last name or the full
        name (first and last), case aside. Text of several words is found as it is written, words together
        (C(Van Der Berg)); runs of spaces count as one.
      - Text holding C(*), or quoted (C("alice"), exact), goes to Keycloak's own search as it is.
    type: str
    aliases: [query]
  max:
    description: At most this many users, from 1 to 1000.
    type: int
    default: 25
"""

EXAMPLES = r"""
- name: Find Alice before adding her to a group
  waldur.keycloak.keycloak_remote_user_info:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    q: alice
  register: found
"""

RETURN = r"""
users:
  description: The users found.
  returned: success
  type: list
  elements: dict
  sample: [{id: 8c0e4f0a-1d2b-4c3d-9e8f-7a6b5c4d3e2f, username: alice, email: alice@example.com, first_name: Alice, last_name: Liddell}]
"""

from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule

MAX_USERS = 1000


def main():
    module = KeycloakModule(argument_spec=dict(
        q=dict(type="str", aliases=["query"]),   # missing: the original's "q: This field is required."
        max=dict(type="int", default=25),
    ), int_ranges={"max": (1, MAX_USERS)})
    params = module.params
    module.run(lambda: module.service().search_remote_users(params["offering"], params["q"], params["max"]))


if __name__ == "__main__":
    main()
