#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_offering_group_info
short_description: List or retrieve local offering groups
version_added: 0.1.0
description:
  - Reads the offering groups of the store, newest first, with the original API's filters and paging.
  - The collection's form of the C(list) and C(retrieve) operations of the Offering Keycloak Groups API.
  - Reads only the store; it does not contact Keycloak.
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - waldur.keycloak.auth.CONNECTION_IGNORED
  - waldur.keycloak.auth.STORE
  - waldur.keycloak.auth.OFFERING
  - waldur.keycloak.auth.READ_ONLY
options:
  uuid:
    description: Retrieve this one group; an unknown UUID fails with C(Not found.).
    type: str
  role:
    description:
      - Only groups of this role, by UUID or by name.
      - Without O(offering), a name is looked up in every offering; a name that several offerings declare
        fails and asks for O(offering) or the role's UUID.
      - "An unknown role fails with C(role_uuid: Role not found.)."
    type: str
    aliases: [role_uuid]
  resource:
    description:
      - Only groups of this resource, by UUID or by name, looked up like O(role).
      - "An unknown resource fails with C(resource_uuid: Resource not found for this offering.) (with O(offering))
        or C(resource_uuid: Resource not found.)."
    type: str
    aliases: [resource_uuid]
  page:
    description: Page number, from 1. Needs O(page_size). A page past the last one is empty.
    type: int
  page_size:
    description: Groups per page, from 1 to 1000; all of them when omitted.
    type: int
"""

EXAMPLES = r"""
- name: Every group of one offering
  waldur.keycloak.keycloak_offering_group_info:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
  register: offering_groups

- name: One group by UUID
  waldur.keycloak.keycloak_offering_group_info:
    store: "{{ playbook_dir }}/offerings.yml"
    uuid: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11
"""

RETURN = r"""
groups:
  description:
    - The groups of this page, newest first, each with every field of the original API
      (see M(waldur.keycloak.keycloak_offering_group)) and its C(members).
  returned: success
  type: list
  elements: dict
  sample: [{uuid: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11, name: cluster-admins, backend_id: "", role_name: cluster-admin}]
count:
  description: How many groups match the filters, on all pages.
  returned: success
  type: int
  sample: 1
"""

from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule

MAX_PAGE_SIZE = 1000
from ansible_collections.waldur.keycloak.plugins.module_utils._service import OfferingGroups


def main():
    module = KeycloakModule(
        argument_spec=dict(
            uuid=dict(type="str"),
            role=dict(type="str", aliases=["role_uuid"]),
            resource=dict(type="str", aliases=["resource_uuid"]),
            page=dict(type="int"),
            page_size=dict(type="int"),
        ),
        connects=False,
        int_ranges={"page": (1, None), "page_size": (1, MAX_PAGE_SIZE)},
        required_by={"page": "page_size"},
    )
    params = module.params

    def action():
        service = OfferingGroups(module.store.load())
        return service.list_groups(offering=params["offering"], role=params["role"], resource=params["resource"],
                                   group_uuid=params["uuid"], page=params["page"], page_size=params["page_size"])

    module.run(action)


if __name__ == "__main__":
    main()
