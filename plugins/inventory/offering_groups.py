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
  - By default nothing but the store is read; no call is made to Keycloak.
    With O(live_members=true) the members of every linked group are read from Keycloak instead.
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
  live_members:
    description:
      - Read the members of every linked group (one with a C(backend_id)) from Keycloak, with one paged listing
        per group, and report those usernames in C(members) instead of the active members of the store.
      - One client logs in once and serves every group (one client per Keycloak server, when offerings name
        different servers in C(keycloak.url)).
      - With O(cache=true) the member lists are cached by the cache plugin; a group that is not in the cache yet
        is read from Keycloak. C(ansible-inventory --flush-cache) reads every group again.
      - Needs the connection options (O(auth_keycloak_url) or the offering's C(keycloak.url), and credentials)
        and the C(requests) Python library.
    type: bool
    default: false
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
  - An offering's own host exists only when the offering has offering-wide groups; every resource of an
    included offering has a host, with an empty C(keycloak_groups) when no group names it.
  - "Host variables: C(waldur_offering) (C(uuid), C(name), C(slug), C(realm)); C(waldur_resource) (C(uuid), C(name),
    C(slug); null on an offering's host); C(keycloak_groups), a list in store order of C(uuid), C(name),
    C(backend_id) (V(\"\") when not linked), C(path) (C(/<base_group>/<offering slug>/<name>), as the modules compute
    it), C(role), C(role_scope_type), C(scope_id), C(members), C(pending_members) and C(members_source)."
  - C(members) holds the usernames of the store's active members (C(members_source=store)). With O(live_members=true),
    for a linked group, the usernames that Keycloak lists (C(members_source=keycloak)), sorted; if the linked
    Keycloak group does not exist, a warning and an empty list (C(members_source=missing)).
    C(pending_members) are the store's pending members, less those Keycloak already lists.
  - A store that cannot be read or is invalid fails the source with the store's one-line message; so does a
    failed login or an unreachable Keycloak with O(live_members=true).
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
# # grant-cluster-access.yml: bind a Rancher role to every linked Keycloak group of every cluster.
# # ansible-playbook -i inventory/prod.offering_groups.yml grant-cluster-access.yml
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
#       loop: "{{ keycloak_groups | selectattr('role_scope_type', 'eq', 'cluster') | selectattr('backend_id') | list }}"
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
#       loop: "{{ keycloak_groups | selectattr('role_scope_type', 'eq', 'project') | selectattr('backend_id') | list }}"
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

import os
from concurrent.futures import ThreadPoolExecutor

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

from ansible_collections.waldur.keycloak.plugins.module_utils._client import (
    HAS_REQUESTS,
    KeycloakError,
    client_from_params,
)
from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store, StoreError
from ansible_collections.waldur.keycloak.plugins.module_utils._service import OfferingGroups

CONFIG_SUFFIXES = ("offering_groups.yml", "offering_groups.yaml")
AUTH_OPTIONS = ("auth_keycloak_url", "auth_realm", "auth_client_id", "auth_client_secret", "auth_username",
                "auth_password", "token", "validate_certs", "ca_path", "connection_timeout")
# Member listings run this many at a time over the one client (its pool keeps 10 connections).
LIVE_WORKERS = 8
CACHE_FORMAT = 1


def _safe_group_name(name):
    """Every group name of this plugin is a valid Ansible group name, whatever TRANSFORM_INVALID_GROUP_CHARS says."""
    return to_safe_group_name(name, force=True, silent=True)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """The store's resources (and offerings with offering-wide groups) as hosts."""

    NAME = "waldur.keycloak.offering_groups"

    _sanitize_group_name = staticmethod(_safe_group_name)

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
        service = OfferingGroups(data)
        offerings = self._selected_offerings(data)
        hosts = self._host_names(data)
        live = {}
        if self.get_option("live_members"):
            live = self._live_members(offerings, data, cache, path)
        strict = self.get_option("strict")
        for offering in offerings:
            offering_group = self.inventory.add_group(_safe_group_name("offering_%s" % offering["slug"]))
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
                targets.append((offering["slug"], None, groups_by_resource[None]))
            for resource in offering["resources"]:
                targets.append((hosts[resource["uuid"]], resource, groups_by_resource.get(resource["uuid"], [])))
            for host, resource, records in targets:
                self._add_host(host, offering_group, offering, offering_view, resource, records, data, service,
                               live, strict)

    def _add_host(self, host, offering_group, offering, offering_view, resource, records, data, service, live,
                  strict):
        views = [self._group_view(record, offering, data, service, live) for record in records]
        hostvars = {
            "waldur_offering": dict(offering_view),
            "waldur_resource": ({"uuid": resource["uuid"], "name": resource["name"], "slug": resource["slug"]}
                                if resource else None),
            "keycloak_groups": views,
        }
        if _mark_unsafe is not None:
            # The store comes from outside (e.g. a Waldur export): its text is data, never a template.
            hostvars = _mark_unsafe(hostvars)
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
            self.inventory.add_child(self.inventory.add_group(_safe_group_name("role_%s" % role)), host)
        self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)

    @staticmethod
    def _group_view(record, offering, data, service, live):
        role = data.roles_by_uuid[record["role"]]
        active = [m["username"] for m in record["members"] if m["state"] == "active"]
        pending = [m["username"] for m in record["members"] if m["state"] == "pending"]
        source = "store"
        if record["uuid"] in live:
            remote = live[record["uuid"]]
            if remote is None:
                active, source = [], "missing"
            else:
                active, source = sorted(remote), "keycloak"
                present = set(name.lower() for name in remote)
                pending = [name for name in pending if name.lower() not in present]
        return {
            "uuid": record["uuid"],
            "name": record["name"],
            "backend_id": record["backend_id"],
            "path": service.group_path(offering, record["name"]),
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
                                         % (data.path, ref))
            chosen.add(offering["uuid"])
        return [o for o in data.offerings if o["uuid"] in chosen]

    @staticmethod
    def _host_names(data):
        """Resource UUID -> host name, decided over the whole store (see the notes in DOCUMENTATION).

        Every resource starts with its slug; while a name clashes with an offering's slug or another
        resource's name, the least qualified of the clashing resources take the next form:
        ``<offering slug>-<resource slug>``, then ``<offering slug>-<resource slug>-<resource uuid>``.
        """
        offering_slugs = set(o["slug"] for o in data.offerings)
        resources = [(o, r) for o in data.offerings for r in o["resources"]]
        forms = {}
        for offering, resource in resources:
            forms[resource["uuid"]] = (resource["slug"], "%s-%s" % (offering["slug"], resource["slug"]),
                                       "%s-%s-%s" % (offering["slug"], resource["slug"], resource["uuid"]))
        level = dict((resource["uuid"], 0) for _offering, resource in resources)
        while True:
            holders = {}
            for resource_uuid, forms_of in forms.items():
                holders.setdefault(forms_of[level[resource_uuid]], []).append(resource_uuid)
            bumped = False
            for name, uuids in holders.items():
                if len(uuids) < 2 and name not in offering_slugs:
                    continue
                lowest = min(level[u] for u in uuids)
                for resource_uuid in uuids:
                    if level[resource_uuid] == lowest and lowest < 2:
                        level[resource_uuid] += 1
                        bumped = True
            if not bumped:
                return dict((u, forms[u][level[u]]) for u in forms)

    # ------------------------------------------------------- live members

    def _live_members(self, offerings, data, cache, path):
        """Group UUID -> usernames listed by Keycloak (None: the linked group does not exist), for linked groups."""
        params = dict((name, self.get_option(name)) for name in AUTH_OPTIONS)
        jobs, names = {}, {}
        for offering in offerings:
            realm = (offering.get("keycloak") or {}).get("realm")
            if not realm:
                continue
            url = params["auth_keycloak_url"] or (offering.get("keycloak") or {}).get("url") or None
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
                cached = entry.get("members") or {}

        def key_of(job):
            return "%s %s %s" % job

        missing = sorted(set(job for job in jobs.values() if key_of(job) not in cached),
                         key=lambda job: tuple(part or "" for part in job))
        fetched = self._fetch_members(params, missing) if missing else {}
        results = {}
        for group_uuid, job in jobs.items():
            key = key_of(job)
            results[group_uuid] = fetched[job] if job in fetched else cached[key]
            if results[group_uuid] is None:
                self.display.warning("waldur.keycloak.offering_groups: group '%s' (%s) is linked to Keycloak group %s, "
                                     "which does not exist in realm '%s'" % (names[group_uuid], group_uuid, job[2], job[1]))
        if use_cache:
            entry = {"format": CACHE_FORMAT,
                     "members": dict((key_of(job), results[uuid]) for uuid, job in jobs.items())}
            if missing or entry["members"] != cached:
                self._cache[cache_key] = entry
        return results

    def _fetch_members(self, params, jobs):
        """(url, realm, group_id) -> usernames, or None for a group that does not exist; one client per server."""
        if not HAS_REQUESTS:
            raise AnsibleParserError("live_members needs the requests Python library")
        clients = {}
        try:
            for url in sorted(set(job[0] for job in jobs), key=lambda u: u or ""):
                clients[url] = client_from_params(params, url=url).login()
        except KeycloakError as exc:
            raise AnsibleParserError("Unable to connect to Keycloak. %s" % exc.message)

        def fetch(job):
            url, realm, group_id = job
            try:
                users = clients[url].group_members(realm, group_id)
            except KeycloakError as exc:
                # A vanished group is reported per group; a missing realm (RealmNotFound) fails the source.
                if exc.is_not_found:
                    return job, None
                raise AnsibleParserError("Unable to list remote group members. %s" % exc.message)
            return job, [u.get("username") for u in users if u.get("username")]

        workers = max(1, min(LIVE_WORKERS, len(jobs)))
        if workers == 1:
            return dict(fetch(job) for job in jobs)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(pool.map(fetch, jobs))
