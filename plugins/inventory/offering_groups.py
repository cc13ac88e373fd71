# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: offering_groups
short_description: Resources of the declared store as hosts, with their Keycloak groups
version_added: 0.1.0
description:
  - Reads the declared store of this collection and makes one host per resource of every offering, plus one host
    per offering that has offering-wide groups (groups without a resource).
  - Each host gets the variables C(waldur_offering), C(waldur_resource) and C(keycloak_groups), which describe
    the Keycloak groups that grant access to it, so that downstream playbooks can grant access elsewhere (a
    Rancher cluster, a Slurm account, a file share) to exactly those groups.
  - Hosts are put into one inventory group per offering (C(offering_<slug>)) and one per role (C(role_<name>)).
    Group names are always sanitized (every character other than a letter, digit or C(_) becomes C(_)),
    including those made by O(groups) and O(keyed_groups).
  - By default nothing but the store is read; no call is made to Keycloak, and no group has a C(path).
    With O(live_paths=true) each linked group's real path is read from Keycloak; with O(live_members=true) its
    members too.
  - The configuration file name must end in C(offering_groups.yml) or C(offering_groups.yaml).
author:
  - Waldur Keycloak contributors (@waldur)
extends_documentation_fragment:
  - waldur.keycloak.auth
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description:
      - The name of this plugin; marks the file as a configuration of it. The only required key.
    type: str
    required: true
    choices: [waldur.keycloak.offering_groups]
  store:
    description:
      - Path of the declared store file, YAML (C(.yml), C(.yaml)) or JSON (C(.json)).
      - A relative path in the configuration file is taken relative to the directory of the configuration file;
        one from the environment is taken relative to the current directory.
    type: path
    env:
      - name: WALDUR_KEYCLOAK_STORE
  offerings:
    description:
      - Only the offerings named here, by name or UUID. An offering that the store does not declare is an error.
      - By default every offering of the store.
      - Host names do not depend on this filter (see the notes below).
    type: list
    elements: str
    default: []
  live_paths:
    description:
      - Read every linked group (one with a C(backend_id)) from Keycloak, one request per group, and report its real
        path in C(path).
      - Without it (or O(live_members)) C(path) is null, since a path computed from the naming rule would name
        another group, or none, for a group imported from elsewhere, moved by hand, or of a renamed offering.
      - Caching, connection options and requirements as for O(live_members).
    type: bool
    default: false
  live_members:
    description:
      - Read the members of every linked group (one with a C(backend_id)) from Keycloak, with one paged listing
        per group, and report those usernames in C(members) instead of the active members of the store.
      - Implies O(live_paths=true) (one more request per group).
      - One client logs in once and serves every group (one client per Keycloak server, when offerings name
        different servers in C(keycloak.url)).
      - With O(cache=true) the member lists are cached by the cache plugin; a group that is not in the cache yet
        is read from Keycloak. C(ansible-inventory --flush-cache) reads every group again.
      - Needs the connection options (O(auth_keycloak_url) or the offering's C(keycloak.url), and credentials)
        and the C(requests) Python library.
    type: bool
    default: false
  parallelism:
    description:
      - How many requests O(live_paths) and O(live_members) send to Keycloak at a time (group reads, member
        listings); a value below 1 means one at a time.
      - The client setting of the same name of M(waldur.keycloak.keycloak_offering_sync).
    type: int
    default: 4
  auth_keycloak_url:
    env:
      - name: KEYCLOAK_URL
  auth_realm:
    env:
      - name: KEYCLOAK_AUTH_REALM
  auth_client_id:
    env:
      - name: KEYCLOAK_CLIENT_ID
  auth_client_secret:
    env:
      - name: KEYCLOAK_CLIENT_SECRET
  auth_username:
    env:
      - name: KEYCLOAK_USERNAME
  auth_password:
    env:
      - name: KEYCLOAK_PASSWORD
  token:
    env:
      - name: KEYCLOAK_TOKEN
  validate_certs:
    env:
      - name: KEYCLOAK_VALIDATE_CERTS
  ca_path:
    env:
      - name: KEYCLOAK_CA_PATH
  connection_timeout:
    env:
      - name: KEYCLOAK_TIMEOUT
requirements:
  - PyYAML (for a YAML store)
notes:
  - "Host names. An offering's host is named after the offering's slug. A resource's host is named after the
    resource's slug; when that name is also an offering's slug or the name of another resource's host (the same
    slug in two offerings), it is C(<offering slug>-<resource slug>); when that is taken too (two resources of one
    offering with the same slug), C(<offering slug>-<resource slug>-<resource uuid>). Of two clashing names, the
    less qualified one changes. The names are decided over the whole store, so O(offerings) never renames a host."
  - "Host names are made from store text, which is data: a name is used only if it is made of ASCII letters, digits,
    C(-) and C(.), starts with a letter or digit and has at most 253 characters (so no template, no pattern syntax,
    no space, and no C(_): never one of this plugin's group names); if it is not V(localhost) or V(127.0.0.1); and if
    it is not already the name of a group, or of a host of another source (list this source after the others).
    A name that fails is skipped for the next one of the rule above, with a one-line warning; a resource with
    none left is named C(resource-<uuid>), an offering C(offering-<uuid>). A slug such as V(all) thus gives
    C(<offering slug>-all), and a slug with a space or a brace C(resource-<uuid>)."
  - "Group names made from store text (C(offering_<slug>), C(role_<name>), and those O(keyed_groups) and O(groups)
    make) are sanitized, and one that is already the name of a host fails the source with a one-line message, as
    does a host name that a group of this source took meanwhile: no store text can put another source's hosts into
    this plugin's groups, or this plugin's hosts into another source's."
  - An offering's own host exists only when the offering has offering-wide groups; every resource of an
    included offering has a host, with an empty C(keycloak_groups) when no group names it.
  - "Host variables: C(waldur_offering) (C(uuid), C(name), C(slug), C(realm)); C(waldur_resource) (C(uuid), C(name),
    C(slug); null on an offering's host); C(keycloak_groups), a list in store order of C(uuid), C(name),
    C(backend_id) (V(\"\") when not linked), C(path), C(path_source), C(role), C(role_scope_type), C(scope_id),
    C(members), C(pending_members) and C(members_source)."
  - "C(path) is the group's path as Keycloak has it (C(path_source=keycloak)), or null, with the reason in
    C(path_source): V(not_linked) (no C(backend_id)), V(not_read) (neither O(live_paths) nor O(live_members)),
    V(no_realm) (the offering names no realm), V(missing) (the linked group does not exist). Grant nothing to a group
    without a C(path) (C(selectattr('path'))): the naming rule's path is not where an imported, moved or renamed
    group is."
  - C(members) holds the usernames of the store's active members (C(members_source=store)). With O(live_members=true),
    for a linked group, the usernames that Keycloak lists (C(members_source=keycloak)), sorted; if the linked
    Keycloak group does not exist, a warning and an empty list (C(members_source=missing)).
    C(pending_members) are the store's pending members, less those Keycloak already lists.
  - A store that cannot be read or is invalid fails the source with the store's one-line message; so does a
    failed login or an unreachable Keycloak with O(live_paths=true) or O(live_members=true).
  - With O(live_paths=true) or O(live_members=true), a linked group that does not exist gives a warning.
seealso:
  - name: The store format
    description: The README of the collection describes the store file.
    link: https://github.com/waldur/ansible-collection-keycloak/blob/main/README.md
"""

EXAMPLES = r"""
# inventory/prod.offering_groups.yml: the store's resources as hosts; nothing but the store is read.
plugin: waldur.keycloak.offering_groups
store: ../offerings.yml          # relative to this file; or set WALDUR_KEYCLOAK_STORE
offerings: [Rancher production]  # optional; by default every offering
keyed_groups:
  # one group per role scope type, e.g. scope_cluster, scope_project
  - prefix: scope
    key: keycloak_groups | map(attribute='role_scope_type') | select | list
compose:
  # the Rancher cluster id of each resource, from its cluster-scoped group
  rancher_cluster_id: (keycloak_groups | selectattr('role_scope_type', 'eq', 'cluster') | map(attribute='scope_id') | first) | default('')
groups:
  # resources where somebody is still waiting for Keycloak access
  has_pending: keycloak_groups | map(attribute='pending_members') | flatten | length > 0

# EXAMPLES is one YAML document (ansible-test sanity of ansible-core 2.16 accepts no more), so the next two files
# are shown as comments.
#
# # inventory/live.offering_groups.yml: members read from Keycloak, cached for 10 minutes.
# # Credentials come from KEYCLOAK_URL, KEYCLOAK_USERNAME and KEYCLOAK_PASSWORD (or set them here, vaulted).
# plugin: waldur.keycloak.offering_groups
# store: ../offerings.yml
# live_members: true
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/waldur-keycloak-inventory
# cache_timeout: 600
#
# # grant-cluster-access.yml: bind a Rancher role to every Keycloak group of every cluster whose real path is known.
# # ansible-playbook -i inventory/live.offering_groups.yml grant-cluster-access.yml
# # (an inventory with live_paths or live_members: without them no group has a path, and nothing is bound)
# # Rancher's Keycloak (OIDC) provider must send full group paths (Group Membership mapper,
# # "Full group path" on): a group's principal is then keycloakoidc_group:// followed by its path,
# # for example keycloakoidc_group:///rancher-prod/cluster-a-admins.
# - name: Grant cluster access to the offering's Keycloak groups
#   hosts: offering_rancher_prod
#   connection: local
#   gather_facts: false
#   vars:
#     # the store's role names -> Rancher role templates
#     rancher_role_templates:
#       cluster-admin: cluster-owner
#       cluster-member: cluster-member
#       project-member: project-member
#   tasks:
#     - name: One ClusterRoleTemplateBinding per cluster-scoped group (scope_id = the cluster id)
#       kubernetes.core.k8s:
#         state: present
#         definition:
#           apiVersion: management.cattle.io/v3
#           kind: ClusterRoleTemplateBinding
#           metadata:
#             name: "waldur-{{ item.uuid }}"
#             namespace: "{{ item.scope_id }}"               # e.g. c-m-4x7kz2p9
#           clusterName: "{{ item.scope_id }}"
#           roleTemplateName: "{{ rancher_role_templates[item.role] }}"
#           groupPrincipalName: "keycloakoidc_group://{{ item.path }}"
#       loop: "{{ keycloak_groups | selectattr('role_scope_type', 'eq', 'cluster') | selectattr('path') | list }}"
#       loop_control:
#         label: "{{ item.path }} -> {{ rancher_role_templates[item.role] }}"
#
#     - name: One ProjectRoleTemplateBinding per project-scoped group (scope_id = <cluster id>:<project id>)
#       kubernetes.core.k8s:
#         state: present
#         definition:
#           apiVersion: management.cattle.io/v3
#           kind: ProjectRoleTemplateBinding
#           metadata:
#             name: "waldur-{{ item.uuid }}"
#             namespace: "{{ item.scope_id.split(':') | last }}"
#           projectName: "{{ item.scope_id }}"
#           roleTemplateName: "{{ rancher_role_templates[item.role] }}"
#           groupPrincipalName: "keycloakoidc_group://{{ item.path }}"
#       loop: "{{ keycloak_groups | selectattr('role_scope_type', 'eq', 'project') | selectattr('path') | list }}"
#       loop_control:
#         label: "{{ item.path }} -> {{ rancher_role_templates[item.role] }}"
#
#     - name: Tell who is not in Keycloak yet
#       ansible.builtin.debug:
#         msg: "{{ item.name }}: waiting for {{ item.pending_members | join(', ') }}"
#       loop: "{{ keycloak_groups | selectattr('pending_members') | list }}"
#       loop_control:
#         label: "{{ item.name }}"
"""

import json
import os
import re
from collections.abc import Mapping
from functools import partial

from ansible.errors import AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:
    # ansible-core 2.19+ (data tagging): an untagged string is never templated.
    from ansible.module_utils.datatag import native_type_name  # noqa: F401 pylint: disable=unused-import
    _mark_unsafe = None
except ImportError:
    # Before 2.19 a variable's string is templated when it is used unless it is marked unsafe.
    from ansible.utils.unsafe_proxy import wrap_var as _mark_unsafe

from ansible_collections.waldur.keycloak.plugins.module_utils._client import HAS_REQUESTS, KeycloakError
from ansible_collections.waldur.keycloak.plugins.module_utils._connection import ConnectionOptions
from ansible_collections.waldur.keycloak.plugins.module_utils._message_text import shown
from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store, StoreError

CONFIG_SUFFIXES = ("offering_groups.yml", "offering_groups.yaml")
CACHE_FORMAT = 2

# A host name made from store text. Before 2.19 ansible-core templates a host's name (inventory_hostname, the
# default ansible_host), so no '{', '%' or '#'; no pattern syntax (',', ':', '!', '&', '*', '?', '[', '~', space);
# and no '_', so it is never one of this plugin's group names (offering_..., role_..., keyed groups), which are
# made of letters, digits and '_' only.
HOST_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9.-]{0,252}\Z")
# Names that mean the controller itself in a pattern: a store's host must not take them over.
RESERVED_HOST_NAMES = frozenset(("localhost", "127.0.0.1"))


def _safe_group_name(name):
    """Every group name of this plugin is a valid Ansible group name, whatever TRANSFORM_INVALID_GROUP_CHARS says."""
    return to_safe_group_name(name, force=True, silent=True)


def _quoted(text):
    """Store text in a one-line message: quoted, control characters and non-ASCII escaped, long text cut."""
    return shown(json.dumps(to_text(text)), limit=100)


def _uuid_of(value):
    return value.get("uuid") if isinstance(value, Mapping) else None


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """The store's resources (and offerings with offering-wide groups) as hosts."""

    NAME = "waldur.keycloak.offering_groups"

    def _sanitize_group_name(self, name):
        """Used for every group this plugin makes (offering_, role_, compose's groups and keyed_groups)."""
        group = _safe_group_name(name)
        if group in self.inventory.hosts:
            # Adding a host to it would add that host; adding the group to another would be refused or loop.
            raise AnsibleParserError("waldur.keycloak.offering_groups: the group name %s is also the name of a host "
                                     "in the inventory" % _quoted(group))
        return group

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        if to_text(path).endswith(CONFIG_SUFFIXES):
            return True
        self.display.vvv("waldur.keycloak.offering_groups: skipping %s: the file name must end in %s"
                         % (path, " or ".join(CONFIG_SUFFIXES)))
        return False

    # ------------------------------------------------------------ parsing

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        config = self._read_config_data(path)
        data = self._load_store(self._store_path(config, path))
        offerings = self._selected_offerings(data)
        offering_hosts, hosts = self._host_names(data, offerings)
        live_members = self.get_option("live_members")
        live = None
        if live_members or self.get_option("live_paths"):
            live = self._read_keycloak(offerings, data, cache, path, live_members)
        strict = self.get_option("strict")
        for offering in offerings:
            offering_group = self.inventory.add_group(self._sanitize_group_name("offering_%s" % offering["slug"]))
            groups_by_resource = {}
            for record in data.offering_groups(offering["uuid"]):
                groups_by_resource.setdefault(record["resource"], []).append(record)
            offering_view = {
                "uuid": offering["uuid"],
                "name": offering["name"],
                "slug": offering["slug"],
                "realm": (offering.get("keycloak") or {}).get("realm") or None,
            }
            targets = []
            if groups_by_resource.get(None):
                targets.append((offering_hosts[offering["uuid"]], None, groups_by_resource[None]))
            for resource in offering["resources"]:
                targets.append((hosts[resource["uuid"]], resource, groups_by_resource.get(resource["uuid"], [])))
            for host, resource, records in targets:
                self._add_host(host, offering_group, offering_view, resource,
                               [self._group_view(record, offering, data, live, live_members) for record in records],
                               strict)

    def _add_host(self, host, offering_group, offering_view, resource, views, strict):
        hostvars = {
            "waldur_offering": dict(offering_view),
            "waldur_resource": ({"uuid": resource["uuid"], "name": resource["name"], "slug": resource["slug"]}
                                if resource else None),
            "keycloak_groups": views,
        }
        if _mark_unsafe is not None:
            # The store comes from outside (e.g. a Waldur export): its text is data, never a template.
            hostvars = _mark_unsafe(hostvars)
        if host in self.inventory.groups:
            # Only a group made during this parse can get here (the names were chosen against the others):
            # add_child would put that whole group, not this host, into the plugin's groups.
            raise AnsibleParserError("waldur.keycloak.offering_groups: the host name %s is also the name of a group "
                                     "in the inventory" % _quoted(host))
        self.inventory.add_host(host, group=offering_group)
        # Straight onto the Host rather than through inventory.set_variable: ansible-core 2.19+ wraps the inventory in
        # a proxy whose set_variable deep-copies every value and tags each one with its origin, half of the whole
        # parse at 10,000 groups. These values are fresh, of plain types, and never changed afterwards; their strings
        # stay untagged, so untrusted (never templated), as the proxy leaves them (trusted_by_default is False).
        # ansible-core's own add_host stores variables the same way.
        entity = self.inventory.get_host(host)
        for name, value in hostvars.items():
            entity.set_variable(name, value)
        for role in sorted(set(view["role"] for view in views)):
            self.inventory.add_child(self.inventory.add_group(self._sanitize_group_name("role_%s" % role)), host)
        self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)

    @staticmethod
    def _group_view(record, offering, data, live, live_members):
        """One entry of keycloak_groups. ``live``: what Keycloak said of each linked group (None: not read)."""
        role = data.roles_by_uuid[record["role"]]
        active = [m["username"] for m in record["members"] if m["state"] == "active"]
        pending = [m["username"] for m in record["members"] if m["state"] == "pending"]
        source = "store"
        # The path is Keycloak's own, or null with the reason: a path computed from the naming rule would name
        # another group, or none, for a group imported from elsewhere, moved by hand, or of a renamed offering.
        path = None
        if not record["backend_id"]:
            path_source = "not_linked"
        elif live is None:
            path_source = "not_read"
        elif not (offering.get("keycloak") or {}).get("realm"):
            path_source = "no_realm"
        elif live.get(record["uuid"]) is None:
            path_source = "missing"
        else:
            path, path_source = live[record["uuid"]]["path"], "keycloak"
        if live_members and record["uuid"] in live:
            remote = live[record["uuid"]]
            if remote is None:
                active, source = [], "missing"
            else:
                active, source = sorted(remote["members"]), "keycloak"
                present = set(name.lower() for name in remote["members"])
                pending = [name for name in pending if name.lower() not in present]
        return {
            "uuid": record["uuid"],
            "name": record["name"],
            "backend_id": record["backend_id"],
            "path": path,
            "path_source": path_source,
            "role": role["name"],
            "role_scope_type": role["scope_type"],
            "scope_id": record["scope_id"],
            "members": active,
            "pending_members": pending,
            "members_source": source,
        }

    # -------------------------------------------------------------- store

    def _store_path(self, config, config_path):
        """The store option; a relative path in the config file is relative to the config file's directory."""
        raw = config.get("store")
        if raw:
            path = os.path.expanduser(os.path.expandvars(to_text(raw)))
            if not os.path.isabs(path):
                path = os.path.join(os.path.dirname(os.path.abspath(to_text(config_path))), path)
            return path
        return self.get_option("store")

    @staticmethod
    def _load_store(path):
        try:
            return Store(path).load()
        except StoreError as exc:
            raise AnsibleParserError(exc.message)

    def _selected_offerings(self, data):
        wanted = self.get_option("offerings") or []
        if not wanted:
            return list(data.offerings)
        chosen = set()
        for ref in wanted:
            offering = data.find_offering(to_text(ref))
            if offering is None:
                raise AnsibleParserError("offerings: store %s declares no offering with name or UUID '%s'"
                                         % (data.store_file, ref))
            chosen.add(offering["uuid"])
        return [o for o in data.offerings if o["uuid"] in chosen]

    def _host_names(self, data, selected):
        """(offering UUID -> its host's name, resource UUID -> its host's name), decided over the whole store (see the
        notes in DOCUMENTATION).

        A resource's names, least qualified first: its slug, ``<offering slug>-<resource slug>``,
        ``<offering slug>-<resource slug>-<resource uuid>`` and ``resource-<uuid>``; those that cannot name a host
        (``_usable``) are skipped. While a name clashes with an offering's host or another resource's, the least
        qualified of the clashing resources take their next name. An offering's host is its slug, else
        ``offering-<uuid>``.
        """
        chosen = set(o["uuid"] for o in selected)
        offering_hosts = {}
        for offering in data.offerings:
            owner = (offering["uuid"], None)
            name, reason = offering["slug"], self._unusable(offering["slug"], owner)
            if reason:
                name = "offering-" + offering["uuid"]
                self._refuse_fallback(name, owner)
                if offering["uuid"] in chosen:
                    self.display.warning("waldur.keycloak.offering_groups: offering %s (%s): its slug %s %s; its host "
                                         "is named %s" % (_quoted(offering["name"]), offering["uuid"],
                                                          _quoted(offering["slug"]), reason, name))
            offering_hosts[offering["uuid"]] = name
        taken = set(offering_hosts.values())
        if len(taken) < len(offering_hosts):
            raise AnsibleParserError("waldur.keycloak.offering_groups: two offerings claim the host name %s" % " and ".join(
                sorted(_quoted(n) for n in taken if list(offering_hosts.values()).count(n) > 1)))
        forms, owners = {}, {}
        for offering in data.offerings:
            for resource in offering["resources"]:
                owner = (offering["uuid"], resource["uuid"])
                names = (resource["slug"], "%s-%s" % (offering["slug"], resource["slug"]),
                         "%s-%s-%s" % (offering["slug"], resource["slug"], resource["uuid"]))
                # (how qualified, name): the fallback is always the last, and the most qualified.
                forms[resource["uuid"]] = [(rank, name) for rank, name in enumerate(names)
                                           if not self._unusable(name, owner)] + [(3, "resource-" + resource["uuid"])]
                owners[resource["uuid"]] = (offering, resource)
        level = dict((resource_uuid, 0) for resource_uuid in forms)
        while True:
            holders = {}
            for resource_uuid, names in forms.items():
                holders.setdefault(names[level[resource_uuid]][1], []).append(resource_uuid)
            bumped = False
            for name, uuids in holders.items():
                if len(uuids) < 2 and name not in taken:
                    continue
                movable = [u for u in uuids if level[u] < len(forms[u]) - 1]
                if not movable:
                    # Only a crafted slug can get here: an offering's slug that is another resource's fallback name.
                    raise AnsibleParserError("waldur.keycloak.offering_groups: the host name %s is claimed by %s"
                                             % (_quoted(name), " and ".join(
                                                 ["resource %s" % u for u in sorted(uuids)] +
                                                 ["an offering"] * (name in taken))))
                lowest = min(forms[u][level[u]][0] for u in movable)
                for resource_uuid in movable:
                    if forms[resource_uuid][level[resource_uuid]][0] == lowest:
                        level[resource_uuid] += 1
                        bumped = True
            if not bumped:
                break
        hosts = {}
        for resource_uuid in sorted(forms):
            offering, resource = owners[resource_uuid]
            owner = (offering["uuid"], resource_uuid)
            rank, name = forms[resource_uuid][level[resource_uuid]]
            hosts[resource_uuid] = name
            if rank == 3:
                self._refuse_fallback(name, owner)
            reason = self._unusable(resource["slug"], owner)
            if reason and offering["uuid"] in chosen:
                self.display.warning("waldur.keycloak.offering_groups: resource %s (%s) of offering %s: its slug %s "
                                     "%s; its host is named %s" % (_quoted(resource["name"]), resource_uuid,
                                                                   _quoted(offering["name"]), _quoted(resource["slug"]),
                                                                   reason, name))
        return offering_hosts, hosts

    def _refuse_fallback(self, name, owner):
        """A fallback name that another source already uses: nothing is left to fall back to."""
        reason = self._unusable(name, owner)
        if reason:
            raise AnsibleParserError("waldur.keycloak.offering_groups: the host name %s %s" % (_quoted(name), reason))

    def _unusable(self, name, owner):
        """Why ``name`` cannot name the host of ``owner`` ((offering uuid, resource uuid or None)), or None.

        Besides the character rule: a name Ansible reserves, a group's name, or the name of a host of another source
        (or of another store's record): adding to it would merge the two.
        """
        if not HOST_NAME.match(name):
            return "is not a valid host name (letters, digits, '-' and '.', starting with a letter or digit)"
        if name in RESERVED_HOST_NAMES:
            return "is reserved for the controller"
        if name in self.inventory.groups:
            return "is the name of a group"
        existing = self.inventory.hosts.get(name)
        if existing is not None:
            variables = existing.get_vars()
            if owner is None or owner != (_uuid_of(variables.get("waldur_offering")),
                                          _uuid_of(variables.get("waldur_resource"))):
                return "is the name of another host in the inventory"
        return None

    # ------------------------------------------------------- live members

    def _read_keycloak(self, offerings, data, cache, path, members):
        """Group UUID -> what Keycloak says of each linked group: None when it does not exist, else ``{"path": ...}``
        and, with ``members``, ``"members"``: the usernames it lists."""
        connection = ConnectionOptions.from_plugin(self)
        jobs, names = {}, {}
        for offering in offerings:
            realm = (offering.get("keycloak") or {}).get("realm")
            if not realm:
                continue
            url = connection.server((offering.get("keycloak") or {}).get("url"))
            for record in data.offering_groups(offering["uuid"]):
                if record["backend_id"]:
                    jobs[record["uuid"]] = (url, realm, record["backend_id"])
                    names[record["uuid"]] = record["name"]
        if not jobs:
            return {}

        use_cache = bool(self.get_option("cache"))
        cache_key = self.get_cache_key(path) if use_cache else None
        cached = {}
        if use_cache and cache:
            try:
                entry = self._cache[cache_key]
            except KeyError:
                entry = None
            if isinstance(entry, dict) and entry.get("format") == CACHE_FORMAT:
                cached = entry.get("groups") or {}

        def key_of(job):
            return "%s %s %s" % job

        def usable(key):
            # A group cached without its members (live_paths only) is read again when they are wanted.
            return key in cached and (cached[key] is None or not members or "members" in cached[key])

        missing = sorted(set(job for job in jobs.values() if not usable(key_of(job))),
                         key=lambda job: tuple(part or "" for part in job))
        fetched = self._fetch_groups(connection, missing, members) if missing else {}
        results = {}
        for group_uuid, job in jobs.items():
            key = key_of(job)
            results[group_uuid] = fetched[job] if job in fetched else cached[key]
            if results[group_uuid] is None:
                self.display.warning("waldur.keycloak.offering_groups: group %s (%s) is linked to Keycloak group %s, "
                                     "which does not exist in realm %s" % (_quoted(names[group_uuid]), group_uuid,
                                                                           _quoted(job[2]), _quoted(job[1])))
        if use_cache:
            entry = {"format": CACHE_FORMAT,
                     "groups": dict((key_of(job), results[uuid]) for uuid, job in jobs.items())}
            if missing or entry["groups"] != cached:
                self._cache[cache_key] = entry
        return results

    def _fetch_groups(self, connection, jobs, members):
        """(url, realm, group_id) -> {"path", "members"?}, or None for a group that does not exist; one client per
        server, which reads the groups, then lists their members, ``parallelism`` requests at a time."""
        if not HAS_REQUESTS:
            raise AnsibleParserError("live_members and live_paths need the requests Python library")
        clients = {}
        try:
            for url in sorted(set(job[0] for job in jobs), key=lambda u: u or ""):
                clients[url] = connection.client(url).login()
        except KeycloakError as exc:
            raise AnsibleParserError("Unable to connect to Keycloak. %s" % exc.message)
        failure = "Unable to list remote group members." if members else "Unable to list remote Keycloak groups."
        wanted = {}
        for url, realm, group_id in jobs:
            wanted.setdefault((url, realm), []).append(group_id)
        found = {}
        try:
            for (url, realm), group_ids in sorted(wanted.items(), key=lambda item: (item[0][0] or "", item[0][1])):
                client = clients[url]
                existing = []
                # A missing group is None (reported per group); a missing realm (RealmNotFound) fails the source.
                for group_id, group in zip(group_ids, client.concurrently(partial(client.get_group, realm), group_ids)):
                    if group is None:
                        found[(url, realm, group_id)] = None
                        continue
                    path = group.get("path")
                    found[(url, realm, group_id)] = {"path": path if isinstance(path, str) and path.startswith("/")
                                                     else None}
                    existing.append(group_id)
                if members and existing:
                    for group_id, listed in self._members_of(client, realm, existing).items():
                        if listed is None:
                            found[(url, realm, group_id)] = None
                        else:
                            found[(url, realm, group_id)]["members"] = [u.get("username") for u in listed
                                                                        if u.get("username")]
        except KeycloakError as exc:
            raise AnsibleParserError("%s %s" % (failure, exc.message))
        return found

    @staticmethod
    def _members_of(client, realm, group_ids):
        """Group id -> its members (the client's members_of_groups), or None for a group deleted since it was read.

        The listing of a group deleted meanwhile answers 404 and ends the whole listing: the groups are read again,
        those gone are None, and the others listed again.
        """
        vanished = {}
        while True:
            try:
                listed = client.members_of_groups(realm, group_ids)
            except KeycloakError as exc:
                if not exc.is_not_found:
                    raise
                gone = [group_id for group_id, group in zip(
                    group_ids, client.concurrently(partial(client.get_group, realm), group_ids)) if group is None]
                if not gone:
                    raise
                vanished.update((group_id, None) for group_id in gone)
                group_ids = [group_id for group_id in group_ids if group_id not in vanished]
                continue
            listed.update(vanished)
            return listed
