#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: keycloak_connection_test
short_description: Test the Keycloak connection of an offering
version_added: 0.1.0
description:
  - Logs in to Keycloak and lists the top-level groups of the offering's realm (or of O(realm)).
  - Also says whether the realm records admin events, and with details, as the event source needs (docs/events.md).
  - The collection's form of the C(test_connection) operation of the Offering Keycloak Groups API.
  - Changes nothing, locally or in Keycloak.
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - waldur.keycloak.auth.STORE
  - waldur.keycloak.auth.OFFERING
  - waldur.keycloak.auth.READ_ONLY
attributes:
  check_mode:
    description: The test runs in check mode too; it only reads.
  diff_mode:
    description: Nothing changes, so there is nothing to diff.
options:
  realm:
    description:
      - Realm to list instead of the offering's.
      - It wins over O(offering), so that a play whose C(module_defaults) set an offering can still test a realm.
      - Without it, the realm comes from the O(offering)'s C(keycloak.realm) in the store.
    type: str
notes:
  - On failure the task fails with C(Unable to connect to Keycloak.) followed by the cause, and returns C(status=error).
    A failed login names its cause - Keycloak refused the credentials, the O(auth_realm) does not exist, or nothing
    at O(auth_keycloak_url) looks like Keycloak (servers before Keycloak 17 need the C(/auth) prefix).
"""

EXAMPLES = r"""
- name: Check that the offering's Keycloak answers
  waldur.keycloak.keycloak_connection_test:
    store: "{{ playbook_dir }}/offerings.yml"
    offering: Rancher production
    auth_keycloak_url: https://sso.example.com
    auth_username: admin
    auth_password: "{{ keycloak_admin_password }}"
  register: keycloak_check

- name: Check a realm directly, with credentials from KEYCLOAK_* environment variables
  waldur.keycloak.keycloak_connection_test:
    realm: hpc
"""

RETURN = r"""
status:
  description: V(ok) when the login and the group listing worked.
  returned: always
  type: str
  sample: ok
realm:
  description: The realm that was listed.
  returned: success
  type: str
  sample: hpc
groups_count:
  description: How many top-level groups the realm has.
  returned: success
  type: int
  sample: 2
groups:
  description: Names of the realm's top-level groups, sorted.
  returned: success
  type: list
  elements: str
  sample: [rancher-prod, staff]
server_version:
  description: Keycloak's version, when the account may read server info; otherwise null.
  returned: success
  type: str
  sample: 26.7.3
admin_events_enabled:
  description:
    - Whether the realm records admin events (its C(adminEventsEnabled) setting), which the event source
      C(waldur.keycloak.keycloak_admin_events) follows.
    - Null when the account may not read the realm's settings (that needs the realm-management role view-realm).
    - Switch it on in the admin console (Realm settings, Events, Admin events settings) or with
      C(PUT /admin/realms/{realm}) setting C(adminEventsEnabled) and C(adminEventsDetailsEnabled) to V(true).
  returned: success
  type: bool
  sample: true
admin_events_details_enabled:
  description:
    - Whether the admin events include the representation (C(adminEventsDetailsEnabled)); with it, events name the
      group's path and what changed. Null when the account may not read the realm's settings.
  returned: success
  type: bool
  sample: true
"""

from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule
from ansible_collections.waldur.keycloak.plugins.module_utils._service import OfferingGroups


def main():
    module = KeycloakModule(
        argument_spec=dict(realm=dict(type="str")),
    )
    params = module.params

    def action():
        if params["realm"] is not None:   # also "": refused as a realm name, not taken for "not given"
            return OfferingGroups(None, client_for=module.client).test_connection(realm=params["realm"])
        return module.service().test_connection(offering_ref=params["offering"])

    module.run(action)


if __name__ == "__main__":
    main()
