#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_admin_event_info
short_description: Read the whole Keycloak admin event that started a rulebook's playbook
version_added: 0.1.0
description:
  - The event source C(waldur.keycloak.keycloak_admin_events) puts on ansible-rulebook's queue only what cannot hold
    template syntax (ids, times, the operation, offering UUIDs and C(ref)); it writes the whole event, with the
    names, paths, usernames and representation that people wrote into Keycloak, to C(<event_dir>/<ref>.json).
    This module reads that file.
  - Text in a module's result is data to Ansible (unsafe before ansible-core 2.19, untrusted from 2.19); unlike
    the extra vars ansible-rulebook passes, it is never rendered as a template (docs/events.md says why).
  - Reads only.
extends_documentation_fragment:
  - waldur.keycloak.auth.READ_ONLY
author:
  - Waldur Keycloak contributors (@waldur)
options:
  event_dir:
    description: The directory where the event source writes its events (its O(event_dir) option).
    type: path
    required: true
  ref:
    description:
      - The event's C(ref), as the source emitted it (C(ansible_eda.event.keycloak.ref) in a rulebook's playbook).
      - Made of the event's time and id only; anything else is refused.
      - One of O(ref) and O(refs) is required.
    type: str
  refs:
    description:
      - The references of several events, oldest first (C(ansible_eda.event.keycloak.refs), which the source's
        C(coalesce) option emits for every change of one poll that touches an offering); each as O(ref).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Read the event that started this run
  waldur.keycloak.keycloak_admin_event_info:
    event_dir: /var/lib/eda/keycloak-hpc.json.events
    ref: "{{ ansible_eda.event.keycloak.ref }}"
  register: change

- name: Read every change that one coalesced event stands for
  waldur.keycloak.keycloak_admin_event_info:
    event_dir: /var/lib/eda/keycloak-hpc.json.events
    refs: "{{ ansible_eda.event.keycloak.refs }}"
  register: changes

- name: Say what changed
  ansible.builtin.debug:
    msg: "{{ change.change }} touches {{ change.event.offerings | map(attribute='name') | join(', ') }}"
"""

RETURN = r"""
event:
  description:
    - The whole event, as the source's documentation describes it (C(operation), C(resource_type), C(group_id),
      C(group_path), C(group_name), C(username), C(offerings) with C(uuid), C(name), C(slug) and C(path), ...),
      plus C(store_group) (C(uuid) and C(name) of the store's record linked to the group, when there is one).
  returned: success
  type: dict
  sample:
    operation: DELETE
    resource_type: GROUP_MEMBERSHIP
    group_path: /hpc/hpc-alpha-pi
    username: bob
    offerings: [{uuid: 0b8c1e9e-5d0e-4f57-9f0a-2f2e0b4d6c11, name: HPC Alpha, slug: hpc-alpha, path: /hpc/hpc-alpha}]
change:
  description:
    - One line saying what changed. The group is named by its real path where the event, the source or the store
      knew it, else by the store record's name and the group's id; never by a path guessed from a naming rule.
    - With several events, the first three lines joined by C(; ) and how many more there are.
  returned: success
  type: str
  sample: DELETE GROUP_MEMBERSHIP /hpc/hpc-alpha-pi (bob)
events:
  description: Every event read, in the order of O(refs) (one with O(ref)); C(event) is the first.
  returned: success
  type: list
  elements: dict
changes:
  description: The one line of each event of RV(events).
  returned: success
  type: list
  elements: str
  sample: [DELETE GROUP /hpc/hpc-alpha-pi, DELETE GROUP_MEMBERSHIP /hpc/hpc-alpha-users (bob)]
offerings:
  description: The offerings the events touch, each once (C(uuid), C(name), C(slug), C(path)), in order of appearance.
  returned: success
  type: list
  elements: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.waldur.keycloak.plugins.module_utils import _events


def read_event(event_dir, ref):
    """The event of ``ref`` in ``event_dir``; ValueError with a one-line reason when there is none."""
    if not _events.valid_ref(ref):
        raise ValueError("ref %s is not an event reference of waldur.keycloak.keycloak_admin_events (<time>-<id>)"
                         % json.dumps(ref))
    path = os.path.join(event_dir, ref + ".json")
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError) as exc:
        raise ValueError("event %s cannot be read: %s" % (path, getattr(exc, "strerror", None) or exc))
    event = data.get("keycloak") if isinstance(data, dict) else None
    if not isinstance(event, dict) or event.get("ref") != ref:
        raise ValueError("event %s is not the event %s of waldur.keycloak.keycloak_admin_events" % (path, ref))
    return event


# Lines of `change` with several events; the rest is counted.
CHANGE_LINES = 3


def summary(changes):
    """One line for several changes: the first few, and how many more."""
    text = "; ".join(changes[:CHANGE_LINES])
    if len(changes) > CHANGE_LINES:
        text += " and %d more change%s" % (len(changes) - CHANGE_LINES, "s" if len(changes) > CHANGE_LINES + 1 else "")
    return text


def main():
    module = AnsibleModule(argument_spec=dict(event_dir=dict(type="path", required=True),
                                              ref=dict(type="str"),
                                              refs=dict(type="list", elements="str")),
                           required_one_of=[("ref", "refs")], mutually_exclusive=[("ref", "refs")],
                           supports_check_mode=True)
    refs = module.params["refs"] if module.params["refs"] is not None else [module.params["ref"]]
    if not refs:
        module.fail_json(msg="refs is empty: name at least one event")
    try:
        events = [read_event(module.params["event_dir"], ref) for ref in refs]
    except ValueError as exc:
        module.fail_json(msg=" ".join(str(exc).split()))
    changes = [_events.describe_change(event) for event in events]
    offerings, seen = [], set()
    for event in events:
        for offering in event.get("offerings") or []:
            if isinstance(offering, dict) and offering.get("uuid") not in seen:
                seen.add(offering.get("uuid"))
                offerings.append(offering)
    module.exit_json(changed=False, event=events[0], events=events, changes=changes, change=summary(changes),
                     offerings=offerings)


if __name__ == "__main__":
    main()
