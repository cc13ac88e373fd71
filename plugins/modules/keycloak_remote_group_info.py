#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_remote_group_info
short_description: List an offering's groups in Keycloak, or the members of one
version_added: 0.1.0
description:
  - Without O(group_id), lists the groups under the offering's Keycloak group (C(/<base_group>/<offering slug>)).
    When that group does not exist the list is empty and RV(message) says why; other groups of the realm are never
    listed in its place.
  - With O(group_id), lists every member of that Keycloak group, page after page.
  - The collection's form of the C(remote_groups) and C(remote_group_members) operations of the
    Offering Keycloak Groups API.
  - Reads only.
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - waldur.keycloak.auth.STORE
  - waldur.keycloak.auth.OFFERING
  - waldur.keycloak.auth.READ_ONLY
options:
  group_id:
    description: Id of a Keycloak group whose members to list.
    type: str
"""

EXAMPLES = r"""
- name: The offering's groups in Keycloak
  waldur.keycloak.keycloak_remote_group_info:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
  register: remote

- name: Members of the first of them
  waldur.keycloak.keycloak_remote_group_info:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    group_id: "{{ remote.groups[0].id }}"
"""

RETURN = r"""
groups:
  description: The offering's remote groups, sorted by name.
  returned: without O(group_id)
  type: list
  elements: dict
  sample: [{id: 3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44, name: cluster-admins, path: /rancher-prod/cluster-admins, sub_group_count: 0}]
offering_path:
  description: Path of the offering's group in Keycloak.
  returned: without O(group_id)
  type: str
  sample: /rancher-prod
message:
  description: Why RV(groups) is empty, when the offering's group does not exist.
  returned: when the offering's group does not exist
  type: str
  sample: The offering's group /rancher-prod does not exist in realm 'hpc' yet.
members:
  description: Every member of O(group_id).
  returned: with O(group_id)
  type: list
  elements: dict
  sample: [{id: 8c0e4f0a-1d2b-4c3d-9e8f-7a6b5c4d3e2f, username: alice, email: alice@example.com, first_name: Alice, last_name: Liddell}]
"""

from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule


def main():
    module = KeycloakModule(argument_spec=dict(group_id=dict(type="str")))
    params = module.params

    def action():
        service = module.service()
        if params["group_id"] is not None:
            return service.remote_group_members(params["offering"], params["group_id"])
        return service.remote_groups(params["offering"])

    module.run(action)


if __name__ == "__main__":
    main()
