#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_group_sync_info
short_description: Compare an offering's local groups with its groups in Keycloak
version_added: 0.1.0
description:
  - Matches the offering's local groups and the remote groups under its Keycloak group by C(backend_id) only,
    never by name.
  - A linked group whose Keycloak group exists is synced wherever that group lives in the realm (for example one
    imported from C(/staff/...) with M(waldur.keycloak.keycloak_group_import)); such groups are looked up by id.
  - The collection's form of the C(sync_status) operation of the Offering Keycloak Groups API.
  - Reads only.
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - waldur.keycloak.auth.STORE
  - waldur.keycloak.auth.OFFERING
  - waldur.keycloak.auth.READ_ONLY
options:
  members:
    description: Also compare, for every synced group and every group of RV(unrecorded), the local members with the remote ones.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Drift report for one offering
  waldur.keycloak.keycloak_group_sync_info:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    members: true
  register: drift

- name: Fail the pipeline on drift
  ansible.builtin.assert:
    that: drift.in_sync
    fail_msg: "local only: {{ drift.local_only }}, remote only: {{ drift.remote_only }}"
"""

RETURN = r"""
synced:
  description: Groups linked on both sides (the remote one under the offering's group or elsewhere), sorted by local name.
  returned: success
  type: list
  elements: dict
  sample: [{local_name: cluster-admins, remote_name: cluster-admins, backend_id: 3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44}]
local_only:
  description:
    - Names of local groups whose linked Keycloak group does not exist, and of those not linked (unlinked on purpose
      too), each once; sorted.
  returned: success
  type: list
  elements: str
  sample: [project-viewers]
remote_only:
  description: Names of the offering's remote groups that no local group is linked to; sorted.
  returned: success
  type: list
  elements: str
  sample: [made-by-hand]
unrecorded:
  description:
    - Local groups the store does not link to a live Keycloak group (so in RV(local_only)) whose group Keycloak has
      under the offering, found by the record's UUID in the group's C(waldur_group_uuid) attribute (C(found_by=marker)),
      or, for a record with no C(backend_id), by its name (C(found_by=name)). Keycloak matches; the store only lacks
      the link that an apply writes. Sorted by local name.
  returned: success
  type: list
  elements: dict
  sample: [{local_name: cluster-admins, remote_name: cluster-admins, backend_id: 3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44,
            found_by: marker}]
counts:
  description: How many groups are in each list.
  returned: success
  type: dict
  sample: {synced: 1, local_only: 1, remote_only: 1}
in_sync:
  description:
    - True when nothing is local only or remote only, except the groups of RV(unrecorded) (and, with O(members), no
      member differs).
  returned: success
  type: bool
  sample: false
store_behind:
  description:
    - True when Keycloak holds links (RV(unrecorded)) or memberships (members' C(unrecorded)) that the store does not
      record yet, as after an apply whose write-back was lost; not drift.
  returned: success
  type: bool
  sample: false
members:
  description:
    - With O(members=true), per synced group and per group of RV(unrecorded), the usernames of active members only in
      the store (C(local_only)), of members only in Keycloak (C(remote_only)), and of members the store still has as
      pending whom Keycloak has in the group (C(unrecorded), not drift).
  returned: when O(members=true)
  type: list
  elements: dict
  sample: [{name: cluster-admins, backend_id: 3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44, local_only: [bob], remote_only: [],
            unrecorded: []}]
"""

from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule


def main():
    module = KeycloakModule(argument_spec=dict(members=dict(type="bool", default=False)))
    module.run(lambda: module.service().sync_status(module.params["offering"], members=module.params["members"]))


if __name__ == "__main__":
    main()
