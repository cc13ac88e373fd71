#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_offering_group
short_description: Manage one offering Keycloak group, locally and in Keycloak
version_added: 0.1.0
description:
  - Ensures that the group tying an (offering, role, resource, scope) to a Keycloak group is present or absent,
    in the store and in Keycloak.
  - Covers the C(delete), C(pull_members) and C(set_backend_id) operations of the Offering Keycloak Groups API,
    and the creation of groups that the API did implicitly.
  - The group is addressed by O(uuid), or by its natural key O(offering), O(role), O(resource) and O(scope_id).
  - Options that are omitted leave the record as it is.
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - waldur.keycloak.auth.STORE
  - waldur.keycloak.auth.OFFERING
  - waldur.keycloak.auth.CHANGES
attributes:
  check_mode: {}  # as the fragment says; listed so that ansible-doc shows it first
  diff_mode:
    description: The store record before and after, and the Keycloak operations.
options:
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
  uuid:
    description:
      - UUID of the local group. When it is given and the record exists, O(resource) and O(scope_id) change it.
      - An unknown UUID is never taken for the record that holds the natural key; it fails with C(Not found.),
        except that with O(offering) and O(role) and a natural key no record holds, a new record gets this UUID.
        With O(state=absent), an unknown UUID whose natural key no record holds is a no-op.
      - A new record without O(uuid) gets a UUID derived from its natural key, the same on every run.
      - "A value that is not a UUID fails with C(uuid: Must be a valid UUID.) and the value."
      - "Without O(uuid) and without O(offering), the module fails with C(offering_uuid: This field is required.)."
    type: str
  role:
    description: The offering's role, by UUID or name. Required to create a group.
    type: str
    aliases: [role_uuid]
  resource:
    description:
      - The offering's resource, by UUID or name.
      - When the group is addressed by O(uuid), V("") clears the resource.
    type: str
    aliases: [resource_uuid]
  scope_id:
    description: Sub-entity inside the resource, for example a Rancher project id inside a cluster.
    type: str
  name:
    description:
      - Name of the group. Defaults to the offering's C(group_name_template), or to
        C(<offering uuid hex>_<scope_id or resource uuid hex>_<role name>).
      - Changing it renames the remote group too, when O(create_remote=true).
      - It must not be blank nor contain C(/).
    type: str
  backend_id:
    description:
      - Link the record to this existing Keycloak group id (it must exist). An offering's own group
        (C(/<base_group>/<slug>)) or a base group above it is refused; deleting the record would delete every
        other group in it.
      - V("") unlinks the record without any call to Keycloak, and marks it C(unlinked) in the store, so that
        no later run (this module's O(create_remote), M(waldur.keycloak.keycloak_offering_sync)) links it again
        by creating or adopting a group, unless told to with O(relink_unlinked). Linking it by O(backend_id)
        ends the mark too.
      - When omitted, the link is left as it is (or made by O(create_remote)).
    type: str
  create_remote:
    description:
      - Ensure the remote group under C(/<base_group>/<offering slug>/) and link it, when the record is not linked
        or its remote group has vanished. Missing parents are created; a group of the right name that already
        exists there is adopted, never duplicated.
      - Does nothing for a record unlinked on purpose (O(backend_id="")) unless O(relink_unlinked=true),
        and nothing with O(pull_members=true).
    type: bool
    default: true
  relink_unlinked:
    description:
      - With O(create_remote=true), also create or adopt the remote group of a record that was unlinked on purpose
        (O(backend_id=""), C(unlinked=true) in the store), and end its C(unlinked) mark.
    type: bool
    default: false
  members:
    description:
      - Usernames that should be members. Each is added in Keycloak (found by exact username);
        a user that does not exist yet stays C(pending) in the store and is added by a later run.
      - An empty username fails, and so does one with spaces around it (C(' carol' has spaces around it;
        Keycloak trims usernames, write 'carol')), as in the store, since Keycloak would take it for C(carol).
        Usernames are compared without case.
    type: list
    elements: str
  members_mode:
    description:
      - V(additive) adds the O(members) and keeps others; V(exact) also removes every other member,
        locally and in Keycloak.
    type: str
    choices: [additive, exact]
    default: additive
  pull_members:
    description:
      - Copy the linked remote group's members into the store (new ones as C(active); names and emails updated;
        pending ones that Keycloak has activated; local ones that Keycloak lacks are kept), and return RV(created),
        RV(updated) and RV(total_remote).
      - It pulls only, and changes nothing in Keycloak. It never creates nor adopts a group (O(create_remote) does
        not apply), never renames one, and pending members are not added to Keycloak by it (a later run without
        O(pull_members) does that). It cannot be combined with O(members).
      - On a group that is not linked (and that O(backend_id) does not link in the same task), fails with
        C(Group is not linked to a remote Keycloak group. Remap it first to set a backend ID.); when the linked
        group no longer exists in Keycloak, fails with C(Unable to fetch members from Keycloak.) and the detail.
    type: bool
    default: false
  delete_remote:
    description:
      - With O(state=absent), delete the linked remote group too.
      - Refused (one line naming the other record) when another record of the store, of any offering, links the
        same Keycloak group; delete this record with O(delete_remote=false) instead.
      - With O(delete_remote=false) the group stays in Keycloak and loses the collection's markers that name this
        record (C(waldur_group_uuid), and C(waldur_offering_uuid) where no other record of the offering links it),
        so that a later O(waldur.keycloak.keycloak_offering_sync#module:prune=true) does not delete it.
    type: bool
    default: true
  force:
    description:
      - With O(state=absent), remove the local record even when deleting the remote group fails, or when
        its offering has no Keycloak settings to reach it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Cluster admins of cluster-a get a Keycloak group, with two members
  waldur.keycloak.keycloak_offering_group:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    role: cluster-admin
    resource: cluster-a
    members: [alice, bob]

- name: Link an existing record to a Keycloak group made by hand
  waldur.keycloak.keycloak_offering_group:
    store: "{{ playbook_dir }}/offerings.yml"
    uuid: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11
    backend_id: 3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44

- name: Unlink it again (no call to Keycloak); later runs leave it unlinked
  waldur.keycloak.keycloak_offering_group:
    store: "{{ playbook_dir }}/offerings.yml"
    uuid: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11
    backend_id: ""

- name: Link it again to its group under the offering (created, or adopted by name)
  waldur.keycloak.keycloak_offering_group:
    store: "{{ playbook_dir }}/offerings.yml"
    uuid: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11
    relink_unlinked: true

- name: Pull the members that Keycloak has into the store
  waldur.keycloak.keycloak_offering_group:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    role: cluster-admin
    resource: cluster-a
    pull_members: true
  register: pulled

- name: Delete the group here and in Keycloak
  waldur.keycloak.keycloak_offering_group:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    role: cluster-admin
    resource: cluster-a
    state: absent
"""

RETURN = r"""
group:
  description:
    - The group record with every field of the original API, as it is after the task (before it, for O(state=absent)).
    - C(url), C(offering), C(role) and C(resource) hold URNs (C(urn:waldur:<kind>:<uuid>)), as there is no API server.
    - In check mode, a C(backend_id) that only a create would give reads C((known after apply)).
    - C(unlinked) is true for a record unlinked on purpose (see O(backend_id)).
  returned: when the group exists before or after the task
  type: dict
  sample:
    uuid: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11
    url: urn:waldur:offering-keycloak-group:0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11
    name: 7a1b2c3d000040008000000000000001_7a1b2c3d0000400080000000000000b1_cluster-admin
    backend_id: 3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44
    offering: urn:waldur:offering:7a1b2c3d-0000-4000-8000-000000000001
    offering_uuid: 7a1b2c3d-0000-4000-8000-000000000001
    offering_name: Rancher production
    role: urn:waldur:offering-role:7a1b2c3d-0000-4000-8000-0000000000a1
    role_name: cluster-admin
    role_scope_type: cluster
    resource: urn:waldur:resource:7a1b2c3d-0000-4000-8000-0000000000b1
    resource_uuid: 7a1b2c3d-0000-4000-8000-0000000000b1
    resource_name: cluster-a
    scope_id: ""
    created: "2026-11-28T12:00:00Z"
    modified: "2026-11-28T12:00:00Z"
    unlinked: false
    members: [{username: alice, email: alice@example.com, first_name: Alice, last_name: Liddell, state: active}]
plan:
  description: The operations, in order, that the task made (or, in check mode, would make).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: create_group, target: /rancher-prod/7a1b..._cluster-admin, realm: hpc, name: 7a1b..._cluster-admin}
    - {action: add_member, target: /rancher-prod/7a1b..._cluster-admin, realm: hpc, username: alice}
    - {action: create_record, target: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11}
created:
  description: With O(pull_members), how many local memberships were created.
  returned: when O(pull_members=true)
  type: int
  sample: 2
updated:
  description: With O(pull_members), how many local memberships were updated or activated.
  returned: when O(pull_members=true)
  type: int
  sample: 1
total_remote:
  description: With O(pull_members), how many members the remote group has in Keycloak, those without a username too.
  returned: when O(pull_members=true)
  type: int
  sample: 3
"""

from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule


def main():
    module = KeycloakModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            uuid=dict(type="str"),
            role=dict(type="str", aliases=["role_uuid"]),
            resource=dict(type="str", aliases=["resource_uuid"]),
            scope_id=dict(type="str"),
            name=dict(type="str"),
            backend_id=dict(type="str"),
            create_remote=dict(type="bool", default=True),
            relink_unlinked=dict(type="bool", default=False),
            members=dict(type="list", elements="str"),
            members_mode=dict(type="str", choices=["additive", "exact"], default="additive"),
            pull_members=dict(type="bool", default=False),
            delete_remote=dict(type="bool", default=True),
            force=dict(type="bool", default=False),
        ),
    )

    def action():
        service = module.service()
        params = module.params
        address = dict(group_uuid=params["uuid"], offering=params["offering"], role=params["role"],
                       resource=params["resource"], scope_id=params["scope_id"])
        if params["state"] == "absent":
            plan, before = service.plan_group_absent(delete_remote=params["delete_remote"], force=params["force"],
                                                     **address)
            result, _ctx = module.apply(plan)
            if before is not None:
                result["group"] = service.group_view(before)
            return result
        plan, after, pull_counts = service.plan_group_present(
            name=params["name"], backend_id=params["backend_id"], members=params["members"],
            members_mode=params["members_mode"], pull_members=params["pull_members"],
            create_remote=params["create_remote"], relink_unlinked=params["relink_unlinked"], **address)
        result, ctx = module.apply(plan)
        result["group"] = service.group_view(ctx.resolve(after, for_display=True))
        if pull_counts is not None:
            result.update(pull_counts)
        return result

    module.run(action)


if __name__ == "__main__":
    main()
