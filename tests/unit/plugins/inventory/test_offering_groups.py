# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The inventory plugin waldur.keycloak.offering_groups, through real ``ansible-inventory`` runs.

Live members are served by a small fake Keycloak (an HTTP server in this
process) that counts every request, so the tests can tell how many logins and
listings a run made, and whether a run was served from the cache.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError
from ansible_collections.waldur.keycloak.tests.unit.fakes import (
    G1, G2, G3, G4, KC1, KC3, O1, O2, O3, R1, R2, R3, R4, R5, R6, X1, X2, X3, X4, FakeKeycloakServer,
)

PLUGIN = "waldur.keycloak.offering_groups"


def known_store():
    """Two offerings; a resource slug ('shared') in both; an offering-wide group; linked and unlinked groups."""
    return {
        "version": 1,
        "offerings": [
            {
                "uuid": O1, "name": "Rancher production", "slug": "rancher-prod",
                "keycloak": {"realm": "hpc", "base_group": "waldur"},
                "roles": [
                    {"uuid": R1, "name": "cluster-admin", "scope_type": "cluster"},
                    {"uuid": R2, "name": "project-member", "scope_type": "project"},
                    {"uuid": R3, "name": "viewer", "scope_type": ""},
                ],
                "resources": [{"uuid": X1, "name": "cluster-a"}, {"uuid": X2, "name": "shared"}],
            },
            {
                "uuid": O2, "name": "HPC allocations", "slug": "hpc-allocations",
                "roles": [{"uuid": R4, "name": "pi", "scope_type": ""}],
                "resources": [{"uuid": X3, "name": "Shared"}, {"uuid": X4, "name": "alloc-1"}],
            },
        ],
        "groups": [
            group(G1, "admins-a", O1, R1, X1, backend_id=KC1, scope_id="c-m-7x2k",
                  members=[member("alice"), member("bob", "pending")]),
            group(G2, "members-p1", O1, R2, X1, scope_id="c-m-7x2k:p-1", members=[member("carol")]),
            group(G3, "viewers", O1, R3, None, backend_id=KC3, members=[member("dave")]),
            group(G4, "pis", O2, R4, X4, members=[member("erin", "pending")]),
        ],
    }


def group(uuid, name, offering, role, resource, backend_id="", scope_id="", members=()):
    return {"uuid": uuid, "name": name, "backend_id": backend_id, "offering": offering, "role": role,
            "resource": resource, "scope_id": scope_id, "members": list(members)}


def member(username, state="active"):
    return {"username": username, "state": state}


def write_yaml(path, document):
    with open(str(path), "w") as stream:
        yaml.safe_dump(document, stream, sort_keys=False)
    return str(path)


def collections_path():
    """Where ansible-inventory finds the collection: ANSIBLE_COLLECTIONS_PATH, else the sys.path entry that has it."""
    configured = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    if configured:
        return configured
    for entry in sys.path:
        if entry and os.path.isdir(os.path.join(entry, "ansible_collections", "waldur", "keycloak")):
            return entry
    pytest.fail("the collection is not installed: set ANSIBLE_COLLECTIONS_PATH (make unit does)")
    return None


def unwrap(value):
    """ansible-inventory marks strings that are not templates as {"__ansible_unsafe": ...}: the plain data."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, unwrap(v)) for k, v in value.items())
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


class Inventory(object):
    def __init__(self, process):
        self.returncode = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr
        self.data = unwrap(json.loads(process.stdout)) if process.returncode == 0 and process.stdout.strip() else {}

    @property
    def hostvars(self):
        return self.data.get("_meta", {}).get("hostvars", {})

    @property
    def hosts(self):
        return sorted(self.hostvars)

    def group_hosts(self, name):
        return self.data.get(name, {}).get("hosts", [])

    @property
    def groups(self):
        return sorted(name for name in self.data if name != "_meta")

    def members(self, host, group_name):
        return [g for g in self.hostvars[host]["keycloak_groups"] if g["name"] == group_name][0]


def run_inventory(config, env=None, cwd=None, args=(), unparsed_failed=True):
    """``ansible-inventory -i config --list`` with the collection installed; returns an Inventory."""
    environment = dict(os.environ)
    for name in ("KEYCLOAK_URL", "KEYCLOAK_USERNAME", "KEYCLOAK_PASSWORD", "KEYCLOAK_TOKEN", "KEYCLOAK_CLIENT_SECRET",
                 "WALDUR_KEYCLOAK_STORE", "ANSIBLE_CONFIG", "ANSIBLE_INVENTORY_CACHE"):
        environment.pop(name, None)
    environment.update(ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    if unparsed_failed:
        environment["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "1"
    environment.update(env or {})
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory")]
    if not os.path.exists(command[0]):
        command = ["ansible-inventory"]
    command += ["-i", str(config), "--list"] + list(args)
    process = subprocess.run(command, capture_output=True, text=True, env=environment,
                             cwd=str(cwd or os.path.dirname(str(config))), check=False, timeout=120)
    return Inventory(process)


def one_line(text):
    return " ".join(text.split())


# ------------------------------------------------------------ a fake Keycloak (fakes.FakeKeycloakServer)


@pytest.fixture
def fake_keycloak():
    fake = FakeKeycloakServer()
    yield fake
    fake.close()


def fake_env(fake):
    return {"KEYCLOAK_URL": fake.url, "KEYCLOAK_USERNAME": "admin", "KEYCLOAK_PASSWORD": "secret"}


# ---------------------------------------------------------------- the store


def test_known_store_hosts_vars_groups_keyed_groups_and_compose(tmp_path, fake_keycloak):
    write_yaml(tmp_path / "offerings.yml", known_store())
    config = write_yaml(tmp_path / "site.offering_groups.yml", {
        "plugin": PLUGIN,
        "store": "offerings.yml",
        "keyed_groups": [
            {"prefix": "scope", "key": "keycloak_groups | map(attribute='role_scope_type') | select | list"},
            {"prefix": "realm", "key": "waldur_offering.realm"},
        ],
        "compose": {
            "group_paths": "keycloak_groups | map(attribute='path') | list",
            "offering_name": "waldur_offering.name",
        },
        "groups": {"has_pending": "keycloak_groups | map(attribute='pending_members') | flatten | length > 0"},
    })
    # KEYCLOAK_URL points at a server that counts requests: without live_members there must be none.
    inventory = run_inventory(config, env=fake_env(fake_keycloak))
    assert inventory.returncode == 0, inventory.stderr
    assert fake_keycloak.requests == []

    # One host per resource ('shared' is in both offerings, so both are qualified), one for the offering-wide group.
    assert inventory.hosts == ["alloc-1", "cluster-a", "hpc-allocations-shared", "rancher-prod", "rancher-prod-shared"]

    cluster_a = inventory.hostvars["cluster-a"]
    assert cluster_a["waldur_offering"] == {"uuid": O1, "name": "Rancher production", "slug": "rancher-prod",
                                            "realm": "hpc"}
    assert cluster_a["waldur_resource"] == {"uuid": X1, "name": "cluster-a", "slug": "cluster-a"}
    assert cluster_a["keycloak_groups"] == [
        {"uuid": G1, "name": "admins-a", "backend_id": KC1, "path": None, "path_source": "not_read",
         "role": "cluster-admin", "role_scope_type": "cluster", "scope_id": "c-m-7x2k",
         "members": ["alice"], "pending_members": ["bob"], "members_source": "store"},
        {"uuid": G2, "name": "members-p1", "backend_id": "", "path": None, "path_source": "not_linked",
         "role": "project-member", "role_scope_type": "project", "scope_id": "c-m-7x2k:p-1",
         "members": ["carol"], "pending_members": [], "members_source": "store"},
    ]
    # compose
    # No path without Keycloak: the naming rule's path is not where an imported or moved group is.
    assert cluster_a["group_paths"] == [None, None]
    assert cluster_a["offering_name"] == "Rancher production"

    offering_host = inventory.hostvars["rancher-prod"]
    assert offering_host["waldur_resource"] is None
    assert [g["name"] for g in offering_host["keycloak_groups"]] == ["viewers"]
    assert (offering_host["keycloak_groups"][0]["path"], offering_host["keycloak_groups"][0]["path_source"]) == (
        None, "not_read")
    assert offering_host["keycloak_groups"][0]["members"] == ["dave"]

    # An offering without keycloak settings: realm null.
    alloc = inventory.hostvars["alloc-1"]
    assert alloc["waldur_offering"] == {"uuid": O2, "name": "HPC allocations", "slug": "hpc-allocations",
                                        "realm": None}
    assert alloc["keycloak_groups"][0]["path"] is None
    assert alloc["keycloak_groups"][0]["members"] == [] and alloc["keycloak_groups"][0]["pending_members"] == ["erin"]
    assert inventory.hostvars["rancher-prod-shared"]["keycloak_groups"] == []
    assert inventory.hostvars["hpc-allocations-shared"]["waldur_resource"]["name"] == "Shared"
    assert "hpc-allocations" not in inventory.hostvars  # no offering-wide group, no offering host

    # Groups per offering and per role (sanitized), then keyed and composed groups.
    assert inventory.group_hosts("offering_rancher_prod") == ["rancher-prod", "cluster-a", "rancher-prod-shared"]
    assert inventory.group_hosts("offering_hpc_allocations") == ["hpc-allocations-shared", "alloc-1"]
    assert inventory.group_hosts("role_cluster_admin") == ["cluster-a"]
    assert inventory.group_hosts("role_project_member") == ["cluster-a"]
    assert inventory.group_hosts("role_viewer") == ["rancher-prod"]
    assert inventory.group_hosts("role_pi") == ["alloc-1"]
    assert inventory.group_hosts("scope_cluster") == ["cluster-a"]
    assert inventory.group_hosts("scope_project") == ["cluster-a"]
    assert inventory.group_hosts("realm_hpc") == ["rancher-prod", "cluster-a", "rancher-prod-shared"]
    assert inventory.group_hosts("has_pending") == ["cluster-a", "alloc-1"]
    assert inventory.groups == ["all", "has_pending", "offering_hpc_allocations", "offering_rancher_prod",
                                "realm_hpc", "role_cluster_admin", "role_pi", "role_project_member", "role_viewer",
                                "scope_cluster", "scope_project"]
    assert "Invalid characters were found in group names" not in inventory.stderr


def test_minimal_config_with_the_store_from_the_environment(tmp_path):
    write_yaml(tmp_path / "offerings.yml", known_store())
    config = tmp_path / "conf" / "offering_groups.yaml"
    config.parent.mkdir()
    config.write_text("plugin: %s\n" % PLUGIN)
    # A relative path from the environment is relative to the current directory.
    inventory = run_inventory(config, env={"WALDUR_KEYCLOAK_STORE": "offerings.yml"}, cwd=tmp_path)
    assert inventory.returncode == 0, inventory.stderr
    assert len(inventory.hosts) == 5


def test_a_relative_store_in_the_config_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "inventory").mkdir()
    write_yaml(tmp_path / "offerings.yml", known_store())
    config = write_yaml(tmp_path / "inventory" / "prod.offering_groups.yml", {"plugin": PLUGIN, "store": "../offerings.yml"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The config's store wins over the environment, and does not depend on the current directory.
    inventory = run_inventory(config, cwd=elsewhere, env={"WALDUR_KEYCLOAK_STORE": "/nonexistent/store.yml"})
    assert inventory.returncode == 0, inventory.stderr
    assert "cluster-a" in inventory.hosts


def test_offerings_filter_by_name_or_uuid_keeps_host_names(tmp_path):
    write_yaml(tmp_path / "offerings.yml", known_store())
    config = write_yaml(tmp_path / "one.offering_groups.yml",
                        {"plugin": PLUGIN, "store": "offerings.yml", "offerings": ["HPC allocations"]})
    inventory = run_inventory(config)
    assert inventory.returncode == 0, inventory.stderr
    # Still qualified: the rule looks at the whole store, so a filter never renames a host.
    assert inventory.hosts == ["alloc-1", "hpc-allocations-shared"]
    assert inventory.groups == ["all", "offering_hpc_allocations", "role_pi"]

    config = write_yaml(tmp_path / "two.offering_groups.yml",
                        {"plugin": PLUGIN, "store": "offerings.yml", "offerings": [O1.upper()]})
    inventory = run_inventory(config)
    assert inventory.hosts == ["cluster-a", "rancher-prod", "rancher-prod-shared"]

    config = write_yaml(tmp_path / "bad.offering_groups.yml",
                        {"plugin": PLUGIN, "store": "offerings.yml", "offerings": ["Rancher staging"]})
    inventory = run_inventory(config)
    assert inventory.returncode != 0
    assert "offerings: store %s declares no offering with name or UUID 'Rancher staging'" % (
        tmp_path / "offerings.yml") in one_line(inventory.stderr)


def test_host_name_rule_for_clashing_slugs(tmp_path):
    store = known_store()
    store["groups"] = []
    o3 = "0a000000-0000-4000-8000-000000000003"
    r5 = "0b000000-0000-4000-8000-000000000005"
    store["offerings"].append({
        "uuid": o3, "name": "Storage", "slug": "storage",
        "roles": [{"uuid": r5, "name": "owner", "scope_type": ""}],
        "resources": [
            # the same slug twice in one offering (names differ): uuid suffix
            {"uuid": "0c000000-0000-4000-8000-0000000000a1", "name": "Vol 1"},
            {"uuid": "0c000000-0000-4000-8000-0000000000a2", "name": "vol-1"},
            # a resource slug that is an offering's slug: qualified
            {"uuid": "0c000000-0000-4000-8000-0000000000a3", "name": "rancher-prod"},
            # a plain slug equal to a qualified name of another resource: both get the suffix
            {"uuid": "0c000000-0000-4000-8000-0000000000a4", "name": "rancher-prod-shared"},
        ],
    })
    write_yaml(tmp_path / "offerings.yml", store)
    config = write_yaml(tmp_path / "offering_groups.yml", {"plugin": PLUGIN, "store": "offerings.yml"})
    inventory = run_inventory(config)
    assert inventory.returncode == 0, inventory.stderr
    names = dict((v["waldur_resource"]["uuid"], host) for host, v in inventory.hostvars.items() if v["waldur_resource"])
    assert names == {
        X1: "cluster-a",
        X2: "rancher-prod-shared",           # 'shared' is in two offerings; it keeps its name against a4's slug
        X3: "hpc-allocations-shared",
        X4: "alloc-1",
        "0c000000-0000-4000-8000-0000000000a1": "storage-vol-1-0c000000-0000-4000-8000-0000000000a1",
        "0c000000-0000-4000-8000-0000000000a2": "storage-vol-1-0c000000-0000-4000-8000-0000000000a2",
        "0c000000-0000-4000-8000-0000000000a3": "storage-rancher-prod",
        "0c000000-0000-4000-8000-0000000000a4": "storage-rancher-prod-shared",
    }
    # No group references them, and only offerings with offering-wide groups get their own host.
    assert len(inventory.hosts) == 8


# ------------------------------------------------------------------- errors


def test_a_bad_store_fails_with_the_store_one_line_message(tmp_path):
    store = known_store()
    store["groups"][1]["role"] = R4  # declared by the other offering
    write_yaml(tmp_path / "offerings.yml", store)
    config = write_yaml(tmp_path / "offering_groups.yml", {"plugin": PLUGIN, "store": "offerings.yml"})
    inventory = run_inventory(config)
    assert inventory.returncode != 0
    lines = (tmp_path / "offerings.yml").read_text().splitlines()
    line = [n for n, text in enumerate(lines, 1) if text.strip() == "role: %s" % R4][0]
    message = ("store %s, line %d, groups[1].role: role %s is not declared by offering 'Rancher production'"
               % (tmp_path / "offerings.yml", line, R4))
    assert message in one_line(inventory.stderr), inventory.stderr
    assert "Traceback" not in inventory.stderr

    # With Ansible's defaults (an unparsed source is a warning) the run goes on, with the message, without hosts.
    inventory = run_inventory(config, unparsed_failed=False)
    assert inventory.returncode == 0
    assert message in one_line(inventory.stderr)
    assert inventory.hosts == []


@pytest.mark.parametrize("store, message", [
    ("missing.yml", "store {dir}/missing.yml does not exist"),
    ("offerings.txt", "store {dir}/offerings.txt: the file name must end in .yml, .yaml or .json"),
    (None, "no store given: set the 'store' option or WALDUR_KEYCLOAK_STORE"),
])
def test_a_missing_store_is_a_clear_error(tmp_path, store, message):
    document = {"plugin": PLUGIN}
    if store:
        document["store"] = store
    config = write_yaml(tmp_path / "offering_groups.yml", document)
    inventory = run_inventory(config)
    assert inventory.returncode != 0
    assert message.format(dir=tmp_path) in one_line(inventory.stderr), inventory.stderr


def test_config_needs_the_plugin_key_and_the_file_name_suffix(tmp_path):
    write_yaml(tmp_path / "offerings.yml", known_store())
    without_plugin = write_yaml(tmp_path / "offering_groups.yml", {"store": "offerings.yml"})
    # The auto plugin picks a plugin by this key only: without it the file is not this plugin's configuration
    # (Ansible's yaml plugin then reads it as a static inventory, with a warning).
    inventory = run_inventory(without_plugin, unparsed_failed=False)
    assert inventory.hosts == []
    assert PLUGIN not in inventory.stderr

    wrong_suffix = write_yaml(tmp_path / "offerings_inventory.yml", {"plugin": PLUGIN, "store": "offerings.yml"})
    inventory = run_inventory(wrong_suffix, unparsed_failed=False)
    assert inventory.hosts == []
    assert "could not be verified by inventory plugin '%s'" % PLUGIN in one_line(inventory.stderr)

    right = write_yaml(tmp_path / "prod.offering_groups.yaml", {"plugin": PLUGIN, "store": "offerings.yml"})
    assert "cluster-a" in run_inventory(right).hosts


def test_strict_decides_whether_a_broken_compose_fails(tmp_path):
    write_yaml(tmp_path / "offerings.yml", known_store())
    config = {"plugin": PLUGIN, "store": "offerings.yml", "compose": {"cluster_id": "rancher_cluster.id"},
              "keyed_groups": [{"prefix": "realm", "key": "waldur_offering.realm"}]}
    inventory = run_inventory(write_yaml(tmp_path / "lax.offering_groups.yml", dict(config, strict=False)))
    assert inventory.returncode == 0, inventory.stderr
    assert "cluster_id" not in inventory.hostvars["cluster-a"]
    inventory = run_inventory(write_yaml(tmp_path / "strict.offering_groups.yml", dict(config, strict=True)))
    assert inventory.returncode != 0
    assert "Could not set cluster_id for host" in one_line(inventory.stderr)


# ------------------------------------------------------------- live members


def live_store(tmp_path, fake):
    """The known store with 150 remote members in admins-a (two pages), a vanished group and another server."""
    store = known_store()
    store["offerings"][0]["keycloak"]["url"] = "http://127.0.0.1:9"  # the option (KEYCLOAK_URL) wins over it
    # Where the group really is: not where the naming rule puts it (/waldur/rancher-prod/admins-a).
    fake.make_group("/staff/admins-a", group_id=KC1)
    for username in ["bob"] + ["user%03d" % i for i in range(149)]:
        fake.make_user(username)
        fake.join(username, KC1)
    # KC3 (viewers) is not in Keycloak: a warning, members_source=missing.
    # pis is linked, but its offering names no realm: nothing is asked.
    store["groups"][3]["backend_id"] = "1e000000-0000-4000-8000-000000000004"
    return write_yaml(tmp_path / "offerings.yml", store)


def test_live_members_come_from_keycloak_with_one_login(tmp_path, fake_keycloak):
    live_store(tmp_path, fake_keycloak)
    config = write_yaml(tmp_path / "live.offering_groups.yml",
                        {"plugin": PLUGIN, "store": "offerings.yml", "live_members": True})
    inventory = run_inventory(config, env=fake_env(fake_keycloak))
    assert inventory.returncode == 0, inventory.stderr

    admins = inventory.members("cluster-a", "admins-a")
    assert admins["members_source"] == "keycloak"
    assert admins["members"] == sorted(["bob"] + ["user%03d" % i for i in range(149)])
    assert admins["pending_members"] == []  # bob is pending in the store, but Keycloak lists him
    assert (admins["path"], admins["path_source"]) == ("/staff/admins-a", "keycloak")
    unlinked = inventory.members("cluster-a", "members-p1")
    assert (unlinked["members_source"], unlinked["members"]) == ("store", ["carol"])
    assert (unlinked["path"], unlinked["path_source"]) == (None, "not_linked")
    vanished = inventory.members("rancher-prod", "viewers")
    assert (vanished["members_source"], vanished["members"]) == ("missing", [])
    assert (vanished["path"], vanished["path_source"]) == (None, "missing")
    assert 'group "viewers" (%s) is linked to Keycloak group "%s", which does not exist in realm "hpc"' % (
        G3, KC3) in one_line(inventory.stderr)
    # An offering without a realm is never asked about.
    pis = inventory.members("alloc-1", "pis")
    assert (pis["members_source"], pis["path"], pis["path_source"]) == ("store", None, "no_realm")

    # One login for every group; one read and one paged listing per linked group that exists (150 members: two
    # pages of 100).
    assert fake_keycloak.logins == 1
    assert fake_keycloak.group_reads(KC1) == 1 and fake_keycloak.group_reads(KC3) == 1
    assert fake_keycloak.listings(KC1) == 2 and fake_keycloak.listings(KC3) == 0
    assert fake_keycloak.group_reads() == 2 and fake_keycloak.listings() == 2


def test_live_paths_read_each_linked_group_once_and_no_members(tmp_path, fake_keycloak):
    live_store(tmp_path, fake_keycloak)
    cache = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}
    config = write_yaml(tmp_path / "paths.offering_groups.yml",
                        dict({"plugin": PLUGIN, "store": "offerings.yml", "live_paths": True}, **cache))
    inventory = run_inventory(config, env=fake_env(fake_keycloak))
    assert inventory.returncode == 0, inventory.stderr
    admins = inventory.members("cluster-a", "admins-a")
    assert (admins["path"], admins["path_source"]) == ("/staff/admins-a", "keycloak")
    # Members stay the store's: nothing is listed.
    assert (admins["members"], admins["members_source"]) == (["alice"], "store")
    vanished = inventory.members("rancher-prod", "viewers")
    assert (vanished["path"], vanished["path_source"], vanished["members_source"]) == (None, "missing", "store")
    assert "which does not exist in realm" in one_line(inventory.stderr)
    assert fake_keycloak.logins == 1 and fake_keycloak.group_reads() == 2 and fake_keycloak.listings() == 0

    # The cache holds the paths without members: live_members on the same cache lists the members.
    del fake_keycloak.requests[:]
    config = write_yaml(tmp_path / "paths.offering_groups.yml",
                        dict({"plugin": PLUGIN, "store": "offerings.yml", "live_members": True}, **cache))
    inventory = run_inventory(config, env=fake_env(fake_keycloak))
    assert inventory.members("cluster-a", "admins-a")["members_source"] == "keycloak"
    assert fake_keycloak.listings(KC1) == 2 and fake_keycloak.group_reads(KC1) == 1


def test_live_members_with_bad_credentials_fail_clearly(tmp_path, fake_keycloak):
    live_store(tmp_path, fake_keycloak)
    fake_keycloak.reject_login = True
    config = write_yaml(tmp_path / "live.offering_groups.yml",
                        {"plugin": PLUGIN, "store": "offerings.yml", "live_members": True})
    inventory = run_inventory(config, env=fake_env(fake_keycloak))
    assert inventory.returncode != 0
    assert ("Unable to connect to Keycloak. Keycloak at %s refused the login of user 'admin' in realm 'master': "
            "Invalid user credentials" % fake_keycloak.url) in one_line(inventory.stderr), inventory.stderr
    assert "secret" not in inventory.stderr
    assert fake_keycloak.listings() == 0


def test_live_members_in_a_missing_realm_fail_clearly(tmp_path, fake_keycloak):
    live_store(tmp_path, fake_keycloak)
    store = yaml.safe_load((tmp_path / "offerings.yml").read_text())
    store["offerings"][0]["keycloak"]["realm"] = "no-such-realm"
    write_yaml(tmp_path / "offerings.yml", store)
    config = write_yaml(tmp_path / "live.offering_groups.yml",
                        {"plugin": PLUGIN, "store": "offerings.yml", "live_members": True})
    inventory = run_inventory(config, env=fake_env(fake_keycloak))
    assert inventory.returncode != 0
    assert "Unable to list remote group members. realm 'no-such-realm' does not exist on %s" % fake_keycloak.url in (
        one_line(inventory.stderr)), inventory.stderr


def test_live_members_are_cached_until_the_cache_is_flushed(tmp_path, fake_keycloak):
    live_store(tmp_path, fake_keycloak)
    cache_dir = tmp_path / "cache"
    config = write_yaml(tmp_path / "cached.offering_groups.yml", {
        "plugin": PLUGIN, "store": "offerings.yml", "live_members": True,
        "cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache_dir),
    })
    env = fake_env(fake_keycloak)
    first = run_inventory(config, env=env)
    assert first.returncode == 0, first.stderr
    assert "alice" not in first.members("cluster-a", "admins-a")["members"]
    assert fake_keycloak.logins == 1 and fake_keycloak.listings() == 2
    assert len(os.listdir(str(cache_dir))) == 1

    # Keycloak changes; the cached run neither logs in nor lists anything, and shows the old members.
    fake_keycloak.make_user("alice")
    fake_keycloak.join("alice", KC1)
    del fake_keycloak.requests[:]
    cached = run_inventory(config, env=env)
    assert cached.returncode == 0, cached.stderr
    assert fake_keycloak.requests == []
    assert cached.hostvars == first.hostvars

    # A group linked since the last run is read (and only that one), the others still come from the cache.
    store = yaml.safe_load((tmp_path / "offerings.yml").read_text())
    store["groups"][1]["backend_id"] = "1e000000-0000-4000-8000-000000000002"
    fake_keycloak.make_group("/1e000000-0000-4000-8000-000000000002", group_id="1e000000-0000-4000-8000-000000000002")
    fake_keycloak.make_user("frank")
    fake_keycloak.join("frank", "1e000000-0000-4000-8000-000000000002")
    write_yaml(tmp_path / "offerings.yml", store)
    partly = run_inventory(config, env=env)
    assert partly.members("cluster-a", "members-p1")["members"] == ["frank"]
    assert "alice" not in partly.members("cluster-a", "admins-a")["members"]
    assert fake_keycloak.logins == 1 and fake_keycloak.listings() == 1 and fake_keycloak.group_reads() == 1

    # --flush-cache reads everything again and refreshes the cache.
    del fake_keycloak.requests[:]
    flushed = run_inventory(config, env=env, args=["--flush-cache"])
    assert flushed.returncode == 0, flushed.stderr
    assert "alice" in flushed.members("cluster-a", "admins-a")["members"]
    assert fake_keycloak.logins == 1 and fake_keycloak.listings() == 3
    del fake_keycloak.requests[:]
    assert "alice" in run_inventory(config, env=env).members("cluster-a", "admins-a")["members"]
    assert fake_keycloak.requests == []


def test_store_values_are_data_never_templates(tmp_path):
    """The store comes from outside (a Waldur export): a value that looks like Jinja stays text in every variable."""
    store = known_store()
    store["offerings"][0]["name"] = "{{ 6 * 7 }}"
    store["groups"][0]["members"] = [member("{{ lookup('env', 'HOME') }}")]
    write_yaml(tmp_path / "offerings.yml", store)
    config = write_yaml(tmp_path / "site.offering_groups.yml", {
        "plugin": PLUGIN,
        "store": "offerings.yml",
        "compose": {"offering_name": "waldur_offering.name",
                    "first_member": "keycloak_groups[0].members[0] if keycloak_groups else ''"},
    })
    inventory = run_inventory(config)
    assert inventory.returncode == 0, inventory.stderr
    cluster_a = inventory.hostvars["cluster-a"]
    assert cluster_a["waldur_offering"]["name"] == "{{ 6 * 7 }}"
    assert cluster_a["offering_name"] == "{{ 6 * 7 }}"
    assert cluster_a["keycloak_groups"][0]["members"] == ["{{ lookup('env', 'HOME') }}"]
    assert cluster_a["first_member"] == "{{ lookup('env', 'HOME') }}"


# ------------------------------------------------------------ host names from store text

HOSTILE_SLUGS = {
    # resource uuid: (slug, expected host name)
    "0c000000-0000-4000-8000-0000000000b1": (
        "{{ lookup('pipe', 'id > pwned') }}", "resource-0c000000-0000-4000-8000-0000000000b1"),
    "0c000000-0000-4000-8000-0000000000b2": ("a b", "resource-0c000000-0000-4000-8000-0000000000b2"),
    "0c000000-0000-4000-8000-0000000000b3": ("a,b", "resource-0c000000-0000-4000-8000-0000000000b3"),
    "0c000000-0000-4000-8000-0000000000b4": ("x\ny", "resource-0c000000-0000-4000-8000-0000000000b4"),
    "0c000000-0000-4000-8000-0000000000b5": ("!neg", "resource-0c000000-0000-4000-8000-0000000000b5"),
    "0c000000-0000-4000-8000-0000000000b6": ("&and", "resource-0c000000-0000-4000-8000-0000000000b6"),
    "0c000000-0000-4000-8000-0000000000b7": ("all", "tenant-all"),
    "0c000000-0000-4000-8000-0000000000b8": ("ungrouped", "tenant-ungrouped"),
    "0c000000-0000-4000-8000-0000000000b9": ("localhost", "tenant-localhost"),
    "0c000000-0000-4000-8000-0000000000ba": ("role_admin", "resource-0c000000-0000-4000-8000-0000000000ba"),
    "0c000000-0000-4000-8000-0000000000bb": ("web[1:3]", "resource-0c000000-0000-4000-8000-0000000000bb"),
    "0c000000-0000-4000-8000-0000000000bc": ("~.*", "resource-0c000000-0000-4000-8000-0000000000bc"),
    "0c000000-0000-4000-8000-0000000000bd": ("webservers", "tenant-webservers"),   # a group of the static source
    "0c000000-0000-4000-8000-0000000000be": ("other", "tenant-other"),             # a host of the static source
    "0c000000-0000-4000-8000-0000000000bf": ("plain-1.example", "plain-1.example"),
}
STATIC_SOURCE = {"all": {"hosts": {"other": {"static_var": 1}},
                         "children": {"webservers": {"hosts": {"web1": {}}}}}}


def hostile_store():
    """One offering 'tenant' whose resources have the slugs above, each with a group of the role 'admin'."""
    store = known_store()
    store["groups"] = []
    resources = [{"uuid": uuid, "name": "resource %d" % n, "slug": slug}
                 for n, (uuid, (slug, _host)) in enumerate(sorted(HOSTILE_SLUGS.items()))]
    store["offerings"].append({"uuid": O3, "name": "Tenant", "slug": "tenant",
                               "roles": [{"uuid": R5, "name": "admin", "scope_type": "cluster"},
                                         {"uuid": R6, "name": "everyone", "scope_type": ""}],
                               "resources": resources})
    for n, resource in enumerate(resources):
        store["groups"].append(group("0d000000-0000-4000-8000-0000000001%02x" % n, "g%d" % n, O3, R5,
                                     resource["uuid"], members=[member("m%d" % n)]))
    return store


def test_host_names_from_store_text_are_safe_unique_and_never_a_group(tmp_path):
    """Items 1 and 2 of issue 21: a host name made from a slug is in the safe set or replaced, with one warning line;
    no slug can take a group's name, another source's host, or the controller's name."""
    write_yaml(tmp_path / "offerings.yml", hostile_store())
    write_yaml(tmp_path / "static.yml", STATIC_SOURCE)
    config = write_yaml(tmp_path / "site.offering_groups.yml", {
        "plugin": PLUGIN, "store": "offerings.yml", "compose": {"granted": "'yes'"},
        "keyed_groups": [{"prefix": "scope", "key": "keycloak_groups | map(attribute='role_scope_type') | list"}]})
    inventory = run_inventory(tmp_path / "static.yml", args=["-i", str(config)],
                              env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"})
    assert inventory.returncode == 0, inventory.stderr

    names = dict((v["waldur_resource"]["uuid"], host) for host, v in inventory.hostvars.items()
                 if v.get("waldur_resource") and v["waldur_offering"]["uuid"] == O3)
    assert names == dict((uuid, host) for uuid, (_slug, host) in HOSTILE_SLUGS.items())
    ours = sorted(names.values())
    # The other source is untouched: its hosts keep their variables only, its group its own host, and no store
    # host is in it; no built-in or foreign group was made a child of the plugin's groups.
    assert "keycloak_groups" not in inventory.hostvars["other"] and "granted" not in inventory.hostvars["other"]
    assert "keycloak_groups" not in inventory.hostvars.get("web1", {})
    assert inventory.group_hosts("webservers") == ["web1"]
    assert sorted(inventory.group_hosts("role_admin")) == ours
    assert sorted(inventory.group_hosts("scope_cluster")) == ours
    assert sorted(inventory.group_hosts("offering_tenant")) == ours
    for name in ("role_admin", "offering_tenant", "scope_cluster"):
        assert inventory.data[name].get("children", []) == [], (name, inventory.data[name])
    assert sorted(inventory.data["all"]["children"]) == sorted(
        ["ungrouped", "webservers", "offering_rancher_prod", "offering_hpc_allocations", "offering_tenant",
         "role_admin", "scope_cluster"])
    assert inventory.group_hosts("ungrouped") == ["other"]

    # Each refused slug is named once, on one line, escaped.
    warnings = [line for line in inventory.stderr.splitlines() if "its slug" in line]
    refused = [uuid for uuid, (slug, host) in HOSTILE_SLUGS.items() if host != slug]
    assert len(warnings) == len(refused), warnings
    assert ('resource "resource 3" (0c000000-0000-4000-8000-0000000000b4) of offering "Tenant": its slug "x\\ny" '
            "is not a valid host name (letters, digits, '-' and '.', starting with a letter or digit); its host is "
            "named resource-0c000000-0000-4000-8000-0000000000b4") in inventory.stderr
    assert 'its slug "all" is the name of a group; its host is named tenant-all' in inventory.stderr
    assert 'its slug "other" is the name of another host in the inventory; its host is named tenant-other' in (
        inventory.stderr)
    assert 'its slug "localhost" is reserved for the controller; its host is named tenant-localhost' in (
        inventory.stderr)


def test_an_offering_slug_that_cannot_name_a_host(tmp_path):
    store = hostile_store()
    store["offerings"][2]["slug"] = "{{ 7 * 7 }}"
    store["groups"].append(group("0d000000-0000-4000-8000-0000000002ff", "everyone", O3, R6, None))
    write_yaml(tmp_path / "offerings.yml", store)
    config = write_yaml(tmp_path / "site.offering_groups.yml", {"plugin": PLUGIN, "store": "offerings.yml"})
    inventory = run_inventory(config)
    assert inventory.returncode == 0, inventory.stderr
    tenant = sorted(host for host, v in inventory.hostvars.items() if v["waldur_offering"]["uuid"] == O3)
    # The offering's own host, and every resource: <offering slug>-<slug> is no way out any more.
    kept = ("webservers", "other", "plain-1.example")   # no other source this time
    assert tenant == sorted(["offering-" + O3] + [slug if slug in kept else "resource-" + uuid
                                                  for uuid, (slug, _host) in HOSTILE_SLUGS.items()])
    assert 'offering "Tenant" (%s): its slug "{{ 7 * 7 }}" is not a valid host name' % O3 in inventory.stderr
    assert [sorted(inventory.group_hosts(name)) for name in inventory.groups if name.startswith("offering__")] == [
        tenant], inventory.groups


def test_a_group_name_that_is_a_host_name_fails_in_one_line(tmp_path):
    store = known_store()
    write_yaml(tmp_path / "offerings.yml", store)
    # Another source's host named like one of the plugin's groups.
    write_yaml(tmp_path / "static.yml", {"all": {"hosts": {"role_viewer": {}}}})
    config = write_yaml(tmp_path / "site.offering_groups.yml", {"plugin": PLUGIN, "store": "offerings.yml"})
    inventory = run_inventory(tmp_path / "static.yml", args=["-i", str(config)],
                              env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"})
    assert inventory.returncode != 0
    assert 'waldur.keycloak.offering_groups: the group name "role_viewer" is also the name of a host in the ' \
           "inventory" in one_line(inventory.stderr), inventory.stderr

    # A keyed group without a separator named after a resource's host (made from store text, too).
    config = write_yaml(tmp_path / "keyed.offering_groups.yml", {
        "plugin": PLUGIN, "store": "offerings.yml",
        "keyed_groups": [{"key": "waldur_resource.name if waldur_resource else 'none'", "prefix": "",
                          "separator": "", "leading_separator": False}]})
    # The first offering's resource named 'later' makes the group 'later'; the second offering's host 'later'
    # comes after it.
    store["offerings"][0]["resources"].append({"uuid": "0c000000-0000-4000-8000-0000000000c1", "name": "later",
                                               "slug": "h1"})
    store["offerings"][1]["resources"][1]["slug"] = "later"
    write_yaml(tmp_path / "offerings.yml", store)
    inventory = run_inventory(config)
    assert inventory.returncode != 0
    assert 'waldur.keycloak.offering_groups: the host name "later" is also the name of a group in the inventory' in (
        one_line(inventory.stderr)), inventory.stderr


# ------------------------------------------------------- the client's parallelism


def many_linked_groups(tmp_path, fake, count):
    """The known store plus ``count`` linked offering-wide groups of O1 that exist in Keycloak, one member each."""
    store = known_store()
    for i in range(count):
        uuid, backend_id = "2a000000-0000-4000-8000-%012d" % i, "2b000000-0000-4000-8000-%012d" % i
        store["groups"].append(group(uuid, "extra-%d" % i, O1, R3, None, backend_id=backend_id, scope_id="s%d" % i,
                                     members=[member("user%d" % i)]))
        fake.make_group("/extra-%d" % i, group_id=backend_id)
        fake.make_user("user%d" % i)
        fake.join("user%d" % i, backend_id)
    return write_yaml(tmp_path / "offerings.yml", store)


@pytest.mark.parametrize("parallelism, most", [(None, 4), (2, 2), (0, 1)])
def test_live_members_are_read_with_the_client_parallelism(tmp_path, fake_keycloak, parallelism, most):
    """Group reads and member listings go out ``parallelism`` at a time (the client's setting, default 4)."""
    many_linked_groups(tmp_path, fake_keycloak, 12)
    fake_keycloak.delay = 0.05
    config = {"plugin": PLUGIN, "store": "offerings.yml", "live_members": True}
    if parallelism is not None:
        config["parallelism"] = parallelism
    inventory = run_inventory(write_yaml(tmp_path / "live.offering_groups.yml", config), env=fake_env(fake_keycloak))
    assert inventory.returncode == 0, inventory.stderr
    assert inventory.members("rancher-prod", "extra-11")["members"] == ["user11"]
    assert fake_keycloak.most_in_flight == most
    # One read per linked group (the 12, and KC1 and KC3, which are missing) and one listing per existing one.
    assert fake_keycloak.logins == 1 and fake_keycloak.group_reads() == 14 and fake_keycloak.listings() == 12


class VanishingKeycloak(object):
    """A client whose groups in ``gone`` were deleted after they were read: their listing answers 404."""

    def __init__(self, groups, gone, error=None):
        self.groups, self.gone, self.error = groups, set(gone), error
        self.calls = []

    def concurrently(self, call, items):
        return [call(item) for item in items]

    def get_group(self, realm, group_id):
        self.calls.append(("get_group", group_id))
        return None if group_id in self.gone else {"id": group_id}

    def members_of_groups(self, realm, group_ids):
        self.calls.append(("members_of_groups", list(group_ids)))
        if self.error is not None:
            raise self.error
        if self.gone & set(group_ids):
            raise KeycloakError("Keycloak answered 404 to GET ...: Could not find group by id", status=404)
        return dict((group_id, [{"username": "u-" + group_id}]) for group_id in group_ids)


def test_a_group_deleted_between_its_read_and_its_listing_is_missing_not_a_failure():
    from ansible_collections.waldur.keycloak.plugins.inventory.offering_groups import InventoryModule

    client = VanishingKeycloak(["a", "b", "c"], gone=["b"])
    assert InventoryModule._members_of(client, "hpc", ["a", "b", "c"]) == {
        "a": [{"username": "u-a"}], "b": None, "c": [{"username": "u-c"}]}
    assert client.calls == [("members_of_groups", ["a", "b", "c"]), ("get_group", "a"), ("get_group", "b"),
                            ("get_group", "c"), ("members_of_groups", ["a", "c"])]


@pytest.mark.parametrize("error", [
    KeycloakError("Keycloak answered 404 to GET ...: Could not find group by id", status=404),  # none is gone
    KeycloakError("Keycloak answered 403 to GET ...", status=403),
])
def test_other_listing_failures_fail_the_source(error):
    from ansible_collections.waldur.keycloak.plugins.inventory.offering_groups import InventoryModule

    with pytest.raises(KeycloakError) as caught:
        InventoryModule._members_of(VanishingKeycloak(["a"], gone=[], error=error), "hpc", ["a"])
    assert caught.value is error
