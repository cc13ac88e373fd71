# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  auth_keycloak_url:
    description:
      - Base URL of the Keycloak server, for example V(https://sso.example.com).
      - Taken as given; add the V(/auth) prefix only for old servers that still use it.
      - When omitted, the C(keycloak.url) of the offering in the store is used.
      - Falls back to the E(KEYCLOAK_URL) environment variable.
    type: str
    aliases: [url]
  auth_realm:
    description:
      - Realm that issues the admin token (not necessarily the realm that is managed).
      - Falls back to the E(KEYCLOAK_AUTH_REALM) environment variable.
    type: str
    default: master
  auth_client_id:
    description:
      - OpenID Connect client used to obtain the token.
      - Falls back to the E(KEYCLOAK_CLIENT_ID) environment variable.
    type: str
    default: admin-cli
  auth_client_secret:
    description:
      - Secret of O(auth_client_id). Without O(auth_username) this selects the client-credentials grant.
      - Falls back to the E(KEYCLOAK_CLIENT_SECRET) environment variable.
    type: str
  auth_username:
    description:
      - Admin user for the password grant.
      - Falls back to the E(KEYCLOAK_USERNAME) environment variable.
    type: str
    aliases: [username]
  auth_password:
    description:
      - Password of O(auth_username).
      - Falls back to the E(KEYCLOAK_PASSWORD) environment variable.
    type: str
    aliases: [password]
  token:
    description:
      - A ready-made bearer token, used instead of logging in. It cannot be refreshed.
      - Falls back to the E(KEYCLOAK_TOKEN) environment variable.
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate. Turning this off is unsafe outside a lab.
      - Falls back to the E(KEYCLOAK_VALIDATE_CERTS) environment variable.
    type: bool
    default: true
  ca_path:
    description:
      - A CA bundle file that signed the server certificate, when it is not in the system store.
      - Falls back to the E(KEYCLOAK_CA_PATH) environment variable.
    type: path
  connection_timeout:
    description:
      - Seconds to wait for Keycloak to answer one request.
      - Falls back to the E(KEYCLOAK_TIMEOUT) environment variable.
    type: int
    default: 10
requirements:
  - requests
notes:
  - The token is obtained once per task and reused for every call; it is refreshed before it expires.
"""

    STORE = r"""
options:
  store:
    description:
      - Path of the declared store file, YAML (C(.yml), C(.yaml)) or JSON (C(.json)).
      - Falls back to the E(WALDUR_KEYCLOAK_STORE) environment variable.
      - Writes are atomic, under an exclusive lock, and keep comments and layout of YAML files.
    type: path
requirements:
  - PyYAML
"""

    OFFERING = r"""
options:
  offering:
    description:
      - The offering, by UUID or by its name in the store.
    type: str
    aliases: [offering_uuid]
"""

    # The attributes of a module that only reads (the *_info modules).
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Reads only, in check mode too.
  diff_mode:
    support: none
    description: Nothing changes.
"""

    # The attributes of a module that changes things (the store, Keycloak). A module's own description of an
    # attribute, when it says more precisely what its check mode or diff shows, replaces the one here.
    CHANGES = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Nothing is written, locally or in Keycloak; RV(plan) and the diff say what would change.
  diff_mode:
    support: full
    description: The store records before and after, and the Keycloak operations.
"""

    # Added to DOCUMENTATION by a module of the action group that never contacts Keycloak.
    CONNECTION_IGNORED = r"""
options: {}
notes:
  - This module does not contact Keycloak and does not need C(requests). It accepts the connection
    options only so that one C(module_defaults) entry for the action group C(group/waldur.keycloak.keycloak)
    can set them for every module of the collection; their values are ignored.
"""
