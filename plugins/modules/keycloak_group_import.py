#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_group_import
short_description: Import an existing Keycloak group as a local offering group
version_added: 0.1.0
description:
  - Creates the local record for a group that already exists in Keycloak, linked to it by its id.
  - The collection's form of the C(import_remote) operation of the Offering Keycloak Groups API.
  - Creates nothing in Keycloak and imports no members (use M(waldur.keycloak.keycloak_offering_group) with
    O(waldur.keycloak.keycloak_offering_group#module:pull_members=true) for those).
  - Checks, in this order, that the role exists, that the offering declares it, that the resource belongs to the
    offering, that the remote group exists, and that no local group of the offering is linked to it yet.
  - Running it again with the same arguments changes nothing.
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - waldur.keycloak.auth.STORE
  - waldur.keycloak.auth.OFFERING
  - waldur.keycloak.auth.CHANGES
attributes:
  check_mode:
    description: Nothing is written; RV(plan) and the diff show the record that would be created.
  diff_mode:
    description: The store record before and after.
options:
  role:
    description:
      - "The offering's role, by UUID or name. Required; without it the module fails with the original API's
        C(role_uuid: This field is required.), as M(waldur.keycloak.keycloak_offering_group) does."
    type: str
    aliases: [role_uuid]
  remote_group_id:
    description:
      - "Id of the Keycloak group to import. One of O(remote_group_id) and O(remote_group_path) is required; without
        either, or with a blank one, the module fails with C(remote_group_id: This field is required.)."
      - An offering's own group (C(/<base_group>/<slug>)) or a base group above it is refused, by id or by path;
        deleting the record would delete every other group in it.
    type: str
  remote_group_path:
    description: Path of the Keycloak group to import, for example C(/staff/hpc-admins).
    type: str
  resource:
    description: The offering's resource, by UUID or name.
    type: str
    aliases: [resource_uuid]
  scope_id:
    description: Sub-entity inside the resource.
    type: str
    default: ""
  uuid:
    description:
      - UUID for the new local record; by default one derived from the natural key.
      - "A value that is not a UUID fails with C(uuid: Must be a valid UUID.) and the value, before any change."
    type: str
"""

EXAMPLES = r"""
- name: Adopt the hand-made group of HPC admins
  waldur.keycloak.keycloak_group_import:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: HPC allocations
    role: admin
    remote_group_path: /staff/hpc-admins

- name: Import by id, for one project of a cluster
  waldur.keycloak.keycloak_group_import:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    role: project-member
    resource: cluster-a
    scope_id: p-7xk2q
    remote_group_id: 3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44
"""

RETURN = r"""
group:
  description:
    - The local record, with every field of the original API (see M(waldur.keycloak.keycloak_offering_group)).
  returned: success
  type: dict
  sample:
    uuid: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11
    name: hpc-admins
    backend_id: 3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44
    offering_name: HPC allocations
    role_name: admin
plan:
  description: The record change, as M(waldur.keycloak.keycloak_offering_group) reports it.
  returned: always
  type: list
  elements: dict
  sample: [{action: create_record, target: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11}]
"""

from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule


def main():
    module = KeycloakModule(
        argument_spec=dict(
            # Not required=True: the original API's message names role_uuid (see _service.OfferingGroups.role).
            role=dict(type="str", aliases=["role_uuid"]),
            remote_group_id=dict(type="str"),
            remote_group_path=dict(type="str"),
            resource=dict(type="str", aliases=["resource_uuid"]),
            scope_id=dict(type="str", default=""),
            uuid=dict(type="str"),
        ),
        mutually_exclusive=[("remote_group_id", "remote_group_path")],
    )
    params = module.params

    def action():
        service = module.service()
        plan, record = service.plan_import(params["offering"], params["role"], params["remote_group_id"],
                                           params["remote_group_path"], params["resource"], params["scope_id"],
                                           params["uuid"])
        result, _ctx = module.apply(plan)
        result["group"] = service.group_view(record)
        return result

    module.run(action)


if __name__ == "__main__":
    main()
