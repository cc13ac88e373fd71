#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_offering_sync
short_description: Make Keycloak match the store for one offering, or for all of them, in one task
version_added: 0.1.0
description:
  - Reconciles every group that the store declares for the offering (or for every offering with Keycloak settings).
    It ensures the hierarchy C(/<base_group>/<offering slug>/); creates and links the remote group of every declared
    group without C(backend_id), adopting a group of the right name under the right parent rather than making a
    duplicate; renames remote groups whose name drifted from the declared one; adds declared members that are
    missing in Keycloak (a user that does not exist yet stays C(pending)).
  - A linked group counts as synced wherever its remote group lives in the realm (a group imported with
    M(waldur.keycloak.keycloak_group_import) from outside the offering's group is neither moved nor duplicated).
  - Linked groups whose remote group vanished are reported in RV(offerings[].missing_remote), and re-created with
    O(relink=true).
  - Groups unlinked on purpose (C(backend_id) set to V("") by M(waldur.keycloak.keycloak_offering_group), so
    C(unlinked=true) in the store) are left unlinked, reported in RV(offerings[].unlinked), and linked again only
    with O(relink_unlinked=true).
  - A declared group without C(created) gets it (with C(modified)) when the sync changes its record, for example
    when it links it.
  - With O(members_mode=exact), members that the store does not declare are removed from Keycloak.
  - Keycloak lists the members of one group, or the groups of one user, per request. In additive mode, when an
    offering's groups to check outnumber the users the store names for them, the sync reads each of those users'
    groups instead of each group's members (fewer requests, the same operations); the diff then shows, of a
    group's members, those the store names. O(members_mode=exact) always lists each group's members, since it must
    see members the store does not name. A group the run creates is not listed (it has no members yet). The users'
    groups also name each linked group with its path, so when they confirm every link and nothing else needs the
    offering's children (O(prune), a record without a link), the children are not listed; otherwise the listing is
    read side by side with the memberships.
  - With O(prune=true), remote groups under the offering that this collection created (they carry its marker
    attribute) and that the store no longer declares are deleted. Groups it did not create are never touched, nor is
    a group that any record of the store links, whatever offering that record belongs to.
  - Two records (of two offerings) may link one Keycloak group; the sync fails with one line naming both when they
    would pull it two ways on every run (different names, or different members with O(members_mode=exact)).
  - A rename into a name that a sibling group already has in Keycloak fails while planning, also in check mode.
  - A member whose Keycloak account was deleted or renamed, or who is no longer in the group after the sync,
    goes back to C(pending) in the store; after an apply the store is the record of what exists.
  - One planner computes an ordered plan of every operation. Check mode returns it as a drift report; apply
    executes the same plan. Writes for different groups run with bounded parallelism. A failure part-way leaves the
    store consistent with what was done, and a rerun finishes the job, unless the failure is one a rerun meets
    again (a missing permission, a missing realm); the message then says what to fix first.
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - waldur.keycloak.auth.STORE
  - waldur.keycloak.auth.OFFERING
  - waldur.keycloak.auth.CHANGES
attributes:
  check_mode:
    description: Nothing is written, locally or in Keycloak; RV(plan) and the diff are the drift report.
options:
  offering:
    description: The offering, by UUID or name. When omitted, every offering of the store with C(keycloak.realm).
    type: str
    aliases: [offering_uuid]
  prune:
    description: Delete remote groups under the offering that carry this collection's marker and are not declared.
    type: bool
    default: false
  relink:
    description: Re-create (or adopt by name) the remote group of a linked record whose remote group vanished.
    type: bool
    default: false
  relink_unlinked:
    description:
      - Create (or adopt by name) the remote group of records unlinked on purpose, and end their C(unlinked) mark.
      - Without it, such records stay unlinked, and O(prune) never deletes the group of their name under the
        offering.
    type: bool
    default: false
  members_mode:
    description:
      - V(additive) adds declared members that Keycloak lacks; V(exact) also removes members the store does not declare.
    type: str
    choices: [additive, exact]
    default: additive
  parallelism:
    description: How many groups are written to at the same time.
    type: int
    default: 4
"""

EXAMPLES = r"""
- name: Make Keycloak match the store, for every offering
  waldur.keycloak.keycloak_offering_sync:
    store: "{{ playbook_dir }}/offerings.yml"

- name: Drift report for one offering in a pipeline (changes nothing)
  waldur.keycloak.keycloak_offering_sync:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    members_mode: exact
    prune: true
  check_mode: true
  register: drift

- name: Fail on drift
  ansible.builtin.assert:
    that: not drift.changed
    fail_msg: "{{ drift.plan | length }} operations would change Keycloak or the store"
"""

RETURN = r"""
plan:
  description:
    - Every operation, in order, each with its C(action) and C(target)
      (C(create_group), C(rename_group), C(add_member), C(remove_member), C(delete_group) on Keycloak;
      C(create_record), C(update_record), C(link), C(unlink), C(delete_record) on the store).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: create_group, target: /rancher-prod/cluster-a-admins, realm: hpc, name: cluster-a-admins}
    - {action: link, target: 0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11, changes: {backend_id: ["", (known after apply)]}}
offerings:
  description: Per offering, what the plan does, by group name.
  returned: always
  type: list
  elements: dict
  contains:
    offering:
      description: The offering's name.
      type: str
    path:
      description: The offering's group in Keycloak.
      type: str
    created:
      description: Groups created in Keycloak.
      type: list
      elements: str
    adopted:
      description: Groups found under the offering by name and linked.
      type: list
      elements: str
    linked_by_marker:
      description:
        - Groups the store does not link (or links by an id that is gone) whose Keycloak group, under the offering,
          carries the record's UUID in its C(waldur_group_uuid) attribute; the store's link is written, nothing
          changes in Keycloak (an earlier apply's write-back was lost, as in an AWX job).
      type: list
      elements: str
    renamed:
      description: Remote groups renamed to the declared name.
      type: list
      elements: str
    missing_remote:
      description: Linked groups whose remote group is gone.
      type: list
      elements: str
    relinked:
      description: Of those, the ones re-created or adopted (O(relink=true)).
      type: list
      elements: str
    unlinked:
      description: Declared groups left unlinked on purpose (C(unlinked) in the store, without O(relink_unlinked)).
      type: list
      elements: str
    pruned:
      description: Remote groups deleted by O(prune).
      type: list
      elements: str
    members_added:
      description: "C(group: username) pairs added in Keycloak."
      type: list
      elements: str
    members_removed:
      description: "C(group: username) pairs removed from Keycloak."
      type: list
      elements: str
    pending:
      description: "C(group: username) pairs still waiting for the user to exist in Keycloak."
      type: list
      elements: str
  sample:
    - {offering: Rancher production, path: /rancher-prod, created: [cluster-a-admins], adopted: [], renamed: [],
       missing_remote: [], relinked: [], unlinked: [], pruned: [], members_added: ["cluster-a-admins: alice"],
       members_removed: [], pending: ["cluster-a-admins: carol"]}
done_operations:
  description:
    - When some operations failed, the ones that succeeded (and are recorded in the store). C(changed) is then true.
  returned: on a partial failure
  type: list
  elements: dict
  sample: [{action: create_group, target: /rancher-prod/cluster-a-admins, realm: hpc, name: cluster-a-admins}]
failed_operations:
  description: When some operations failed, those operations; the message says whether a rerun finishes the job.
  returned: on a partial failure
  type: list
  elements: dict
  sample: [{action: create_group, target: /hpc/alpha-pi, realm: hpc, name: alpha-pi}]
drift:
  description:
    - True when the plan changes Keycloak or a linked remote group is missing. Links and member states that only
      the store lacks are not drift (see RV(store_updated)).
  returned: always
  type: bool
  sample: false
changed:
  description:
    - True when the task changed Keycloak (in check mode, when it would). The store write records only what Keycloak
      holds (links, member states), which the next run finds again from Keycloak, so it alone changes nothing
      here. A second apply from an unchanged checkout whose first write-back was lost reports V(false).
  returned: always
  type: bool
  sample: false
store_updated:
  description: How many group records of the store the run writes (or, in check mode, would write).
  returned: always
  type: int
  sample: 2
store_written:
  description:
    - Whether the store file was written. When it cannot be written (a read-only checkout), the task still succeeds
      with a warning; Keycloak is as declared, and the next run finds the groups by their markers.
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule


def main():
    module = KeycloakModule(argument_spec=dict(
        prune=dict(type="bool", default=False),
        relink=dict(type="bool", default=False),
        relink_unlinked=dict(type="bool", default=False),
        members_mode=dict(type="str", choices=["additive", "exact"], default="additive"),
        parallelism=dict(type="int", default=4),
    ))
    params = module.params

    def action():
        service = module.service()
        plan, reports = service.plan_sync(service.sync_offerings(params["offering"]), prune=params["prune"],
                                          relink=params["relink"], members_mode=params["members_mode"],
                                          relink_unlinked=params["relink_unlinked"])
        result, _ctx = module.apply(plan, parallelism=max(1, params["parallelism"]), store_records_keycloak=True)
        result["offerings"] = reports
        result["drift"] = bool(plan.remote) or any(r["missing_remote"] for r in reports)
        return result

    module.run(action)


if __name__ == "__main__":
    main()
