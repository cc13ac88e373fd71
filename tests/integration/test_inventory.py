# -*- coding: utf-8 -*-
"""The inventory plugin against the real Keycloak: live members, and the cache.

Keycloak is set up and changed with the independent raw client (kc.RawAdmin);
the plugin runs in real ``ansible-inventory`` processes.
"""

import json
import os
import subprocess
import sys

import yaml

import playbook
from helpers import assert_ok, create_path, group_record, load_store, member, write_groups, write_store

PLUGIN = "waldur.keycloak.offering_groups"


def unwrap(value):
    """ansible-inventory marks strings that are not templates as {"__ansible_unsafe": ...}: the plain data."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, unwrap(v)) for k, v in value.items())
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def run_inventory(config, args=(), env=None, expect_ok=True):
    """``ansible-inventory -i config --list``; returns (process, hostvars, the whole inventory)."""
    environment = dict(os.environ)
    environment.pop("WALDUR_KEYCLOAK_STORE", None)
    environment.update(ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    environment.update(env or {})
    command = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    if not os.path.exists(command):
        command = "ansible-inventory"
    process = subprocess.run([command, "-i", config, "--list"] + list(args), capture_output=True, text=True,
                             env=environment, cwd=os.path.dirname(config), check=False, timeout=180)
    if expect_ok:
        assert process.returncode == 0, process.stderr
    data = unwrap(json.loads(process.stdout)) if process.returncode == 0 else {}
    return process, data.get("_meta", {}).get("hostvars", {}), data


def write_config(directory, name, **options):
    path = os.path.join(str(directory), name)
    with open(path, "w") as stream:
        yaml.safe_dump(dict({"plugin": PLUGIN, "store": "store.yml"}, **options), stream, sort_keys=False)
    return path


def keycloak_group(hostvars, host, name):
    return [g for g in hostvars[host]["keycloak_groups"] if g["name"] == name][0]


def setup(admin, realm, offering_store):
    """/rancher-prod/{admins-a, members-b} in Keycloak, linked by the store; users alice, bob, carol."""
    root = admin.create_group(realm, "rancher-prod")
    group_a = admin.create_group(realm, "admins-a", parent_id=root)
    group_b = admin.create_group(realm, "members-b", parent_id=root)
    users = dict((name, admin.create_user(realm, name)) for name in ("alice", "bob", "carol"))
    store, ids = offering_store()
    groups = [
        group_record(ids, "admins-a", role="role_admin", resource="resource_a", backend_id=group_a,
                     members=[member("carol"), member("dave", state="pending")]),
        group_record(ids, "members-b", role="role_member", resource="resource_b", backend_id=group_b, scope_id="p-1"),
        group_record(ids, "members-a-unlinked", role="role_member", resource="resource_a", scope_id="p-2",
                     members=[member("erin")]),
    ]
    write_groups(store, groups)
    return store, ids, group_a, group_b, users


def test_live_members_come_from_keycloak(admin, realm, offering_store):
    store, ids, group_a, _group_b, users = setup(admin, realm, offering_store)
    directory = os.path.dirname(store)
    # Added by hand in Keycloak: the store does not know alice.
    admin.join(realm, users["alice"], group_a)

    _process, hostvars, data = run_inventory(write_config(directory, "store.offering_groups.yml"))
    admins = keycloak_group(hostvars, "cluster-a", "admins-a")
    assert (admins["members"], admins["pending_members"], admins["members_source"]) == (["carol"], ["dave"], "store")

    process, hostvars, data = run_inventory(write_config(directory, "live.offering_groups.yml", live_members=True))
    assert sorted(hostvars) == ["cluster-a", "cluster-b"]
    assert hostvars["cluster-a"]["waldur_offering"] == {"uuid": ids["offering"], "name": "Rancher production",
                                                        "slug": "rancher-prod", "realm": realm}
    admins = keycloak_group(hostvars, "cluster-a", "admins-a")
    assert admins == {
        "uuid": admins["uuid"], "name": "admins-a", "backend_id": group_a, "path": "/rancher-prod/admins-a",
        "path_source": "keycloak", "role": "cluster-admin", "role_scope_type": "cluster", "scope_id": "",
        "members": ["alice"], "pending_members": ["dave"], "members_source": "keycloak",
    }
    # The path is Keycloak's own.
    assert admin.group(realm, group_a)["path"] == admins["path"]
    members_b = keycloak_group(hostvars, "cluster-b", "members-b")
    assert (members_b["members"], members_b["members_source"]) == ([], "keycloak")
    unlinked = keycloak_group(hostvars, "cluster-a", "members-a-unlinked")
    assert (unlinked["members"], unlinked["members_source"]) == (["erin"], "store")
    assert data["offering_rancher_prod"]["hosts"] == ["cluster-a", "cluster-b"]
    assert data["role_cluster_admin"]["hosts"] == ["cluster-a"]
    assert data["role_project_member"]["hosts"] == ["cluster-a", "cluster-b"]
    assert "WARNING" not in process.stderr


def test_cached_members_until_flush(admin, realm, offering_store, tmp_path):
    store, _ids, group_a, _group_b, users = setup(admin, realm, offering_store)
    admin.join(realm, users["alice"], group_a)
    cache_dir = tmp_path / "inventory-cache"
    config = write_config(os.path.dirname(store), "cached.offering_groups.yml", live_members=True, cache=True,
                          cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache_dir))

    _process, hostvars, _data = run_inventory(config)
    assert keycloak_group(hostvars, "cluster-a", "admins-a")["members"] == ["alice"]
    assert len(os.listdir(str(cache_dir))) == 1

    # Membership changes behind the cache's back: the cached run still shows the old member.
    admin.join(realm, users["bob"], group_a)
    admin.leave(realm, users["alice"], group_a)
    assert admin.member_names(realm, group_a) == ["bob"]
    _process, hostvars, _data = run_inventory(config)
    assert keycloak_group(hostvars, "cluster-a", "admins-a")["members"] == ["alice"]

    # --flush-cache reads Keycloak again, and the cache now holds the new members.
    _process, hostvars, _data = run_inventory(config, args=["--flush-cache"])
    assert keycloak_group(hostvars, "cluster-a", "admins-a")["members"] == ["bob"]
    admin.join(realm, users["carol"], group_a)
    _process, hostvars, _data = run_inventory(config)
    assert keycloak_group(hostvars, "cluster-a", "admins-a")["members"] == ["bob"]


def test_vanished_group_and_bad_password(admin, realm, offering_store):
    store, _ids, _group_a, group_b, _users = setup(admin, realm, offering_store)
    admin.delete_group(realm, group_b)
    config = write_config(os.path.dirname(store), "live.offering_groups.yml", live_members=True)
    process, hostvars, _data = run_inventory(config)
    members_b = keycloak_group(hostvars, "cluster-b", "members-b")
    assert (members_b["members"], members_b["members_source"]) == ([], "missing")
    assert 'which does not exist in realm "%s"' % realm in " ".join(process.stderr.split())

    process, _hostvars, _data = run_inventory(config, env={"KEYCLOAK_PASSWORD": "not-the-password"}, expect_ok=False)
    assert process.returncode != 0
    stderr = " ".join(process.stderr.split())
    assert "Unable to connect to Keycloak. Keycloak at %s refused the login of user '%s' in realm 'master'" % (
        os.environ["KEYCLOAK_URL"].rstrip("/"), os.environ["KEYCLOAK_USERNAME"]) in stderr, stderr
    assert "not-the-password" not in process.stderr


def test_paths_are_where_the_groups_really_are(admin, realm, offering_store):
    """Issue 21: a grant is made to ``path``, so it is Keycloak's path of the linked group or null, never the naming
    rule's: for a group imported from outside the offering's subtree, one moved by hand, and an offering renamed."""
    store, ids, group_a, group_b, _users = setup(admin, realm, offering_store)
    directory = os.path.dirname(store)
    handmade = create_path(admin, realm, "/staff/handmade")
    assert_ok(playbook.run_module("keycloak_group_import", {
        "store": store, "offering": ids["offering"], "role": "cluster-admin", "resource": "cluster-b",
        "scope_id": "c-imported", "remote_group_id": handmade}))
    # members-b moved by hand under /elsewhere (Keycloak moves a group posted as a child of another).
    elsewhere = admin.create_group(realm, "elsewhere")
    admin.call("POST", "/realms/%s/groups/%s/children" % (realm, elsewhere), json=admin.group(realm, group_b),
               expect=(201, 204))
    # The offering's slug changes in the store; its groups stay where they are until a sync renames them.
    document = load_store(store)
    document["offerings"][0]["slug"] = "rancher-production"
    write_store(store, document)

    expected = {"admins-a": "/rancher-prod/admins-a", "members-b": "/elsewhere/members-b",
                "handmade": "/staff/handmade"}
    for options in ({"live_paths": True}, {"live_members": True}):
        process, hostvars, _data = run_inventory(write_config(directory, "live.offering_groups.yml", **options))
        assert "WARNING" not in process.stderr, process.stderr
        seen = {}
        for host in hostvars:
            for group in hostvars[host]["keycloak_groups"]:
                seen[group["name"]] = (group["path"], group["path_source"])
                if group["backend_id"]:
                    # Checked against Keycloak with the independent client.
                    assert group["path"] == admin.group(realm, group["backend_id"])["path"], group
        assert seen == dict(dict((name, (path, "keycloak")) for name, path in expected.items()),
                            **{"members-a-unlinked": (None, "not_linked")}), options
        assert keycloak_group(hostvars, "cluster-b", "handmade")["backend_id"] == handmade

    # Without reading Keycloak no group has a path, and none is made up.
    _process, hostvars, _data = run_inventory(write_config(directory, "store.offering_groups.yml"))
    paths = set((g["path"], g["path_source"]) for host in hostvars for g in hostvars[host]["keycloak_groups"])
    assert paths == {(None, "not_read"), (None, "not_linked")}

    # A linked group deleted in Keycloak: no path, and why.
    admin.delete_group(realm, handmade)
    process, hostvars, _data = run_inventory(write_config(directory, "live.offering_groups.yml", live_paths=True))
    gone = keycloak_group(hostvars, "cluster-b", "handmade")
    assert (gone["path"], gone["path_source"]) == (None, "missing")
    assert 'group "handmade"' in process.stderr
