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
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read the event that started this run
  waldur.keycloak.keycloak_admin_event_info:
    event_dir: /var/lib/eda/keycloak-hpc.json.events
    ref: "{{ ansible_eda.event.keycloak.ref }}"
  register: change

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
  returned: success
  type: str
  sample: DELETE GROUP_MEMBERSHIP /hpc/hpc-alpha-pi (bob)
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


def main():
    module = AnsibleModule(argument_spec=dict(event_dir=dict(type="path", required=True),
                                              ref=dict(type="str", required=True)),
                           supports_check_mode=True)
    try:
        event = read_event(module.params["event_dir"], module.params["ref"])
    except ValueError as exc:
        module.fail_json(msg=" ".join(str(exc).split()))
    module.exit_json(changed=False, event=event, change=_events.describe_change(event))


if __name__ == "__main__":
    main()
