# -*- coding: utf-8 -*-
"""waldur.keycloak.keycloak_offering_group against the real Keycloak.

The seed operations delete, pull_members and set_backend_id, and the implicit create
(remote hierarchy, members, rename). Keycloak's state is read with the raw-HTTP
``admin`` fixture; every state-changing call goes through check_apply_rerun.
"""

import pytest

import playbook
from helpers import (
    NOT_LINKED,
    SEED_FIELDS,
    assert_ok,
    bulk_users,
    check_apply_rerun,
    create_path,
    default_name,
    group_record,
    kc_snapshot,
    load_store,
    member,
    run_failing,
    run_failures,
    store_bytes,
    store_group,
    store_groups,
    store_members,
    user_id,
    write_groups,
    write_store,
)

MODULE = "keycloak_offering_group"


@pytest.fixture
def broken_url(keycloak_url):
    """A URL where every Keycloak call fails at once (404 on the token endpoint, no retries)."""
    return keycloak_url.rstrip("/") + "/no-keycloak-here"


def key_args(path, ids, **extra):
    args = {"store": path, "offering": ids["offering"], "role": "cluster-admin", "resource": "cluster-a"}
    args.update(extra)
    return args


def create_group(path, ids, **extra):
    """A plain (not checked) create through the module, for tests about what comes after."""
    return assert_ok(playbook.run_module(MODULE, key_args(path, ids, **extra)))["group"]


# ------------------------------------------------------------------ create

def test_create_builds_the_hierarchy_and_marks_the_leaf(admin, realm, offering_store):
    path, ids = offering_store()
    name = default_name(ids)
    check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids), path, admin, realm)
    assert [p for p in real["plan"] if p["action"] == "create_group"] == [
        {"action": "create_group", "target": "/rancher-prod", "realm": realm, "name": "rancher-prod"},
        {"action": "create_group", "target": "/rancher-prod/" + name, "realm": realm, "name": name},
    ]
    group = real["group"]
    assert check["group"]["backend_id"] == "(known after apply)"
    assert set(SEED_FIELDS) <= set(group)
    assert group["name"] == name
    assert (group["offering_uuid"], group["role_name"], group["resource_name"]) == (
        ids["offering"], "cluster-admin", "cluster-a")
    assert real["plan"][-1] == {"action": "create_record", "target": group["uuid"]}

    leaf = admin.group_by_path(realm, "/rancher-prod/" + name)
    assert leaf is not None and leaf["id"] == group["backend_id"]
    assert leaf["path"] == "/rancher-prod/" + name
    assert leaf["attributes"]["waldur_offering_uuid"] == [ids["offering"]]
    assert leaf["attributes"]["waldur_group_uuid"] == [group["uuid"]]
    assert [g["name"] for g in admin.top_groups(realm)] == ["rancher-prod"]
    assert store_group(path, group["uuid"])["backend_id"] == leaf["id"]


def test_create_under_a_base_group_with_scope_id(admin, realm, offering_store):
    # A JSON store; /platform exists already, /platform/hpc and below do not.
    path, ids = offering_store(base_group="platform/hpc", suffix=".json")
    write_store(path, load_store(path))  # the fixture writes YAML whatever the suffix
    platform = admin.create_group(realm, "platform")
    name = default_name(ids, scope_id="p-7xk2q")
    _check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids, scope_id="p-7xk2q"), path, admin, realm)
    assert [(p["action"], p["target"]) for p in real["plan"]] == [
        ("create_group", "/platform/hpc"), ("create_group", "/platform/hpc/rancher-prod"),
        ("create_group", "/platform/hpc/rancher-prod/" + name), ("create_record", real["group"]["uuid"])]

    leaf = admin.group_by_path(realm, "/platform/hpc/rancher-prod/" + name)
    assert leaf is not None and leaf["id"] == real["group"]["backend_id"]
    assert leaf["attributes"]["waldur_group_uuid"] == [real["group"]["uuid"]]
    assert admin.group_by_path(realm, "/platform")["id"] == platform
    assert [g["name"] for g in admin.top_groups(realm)] == ["platform"]
    assert admin.group_by_path(realm, "/rancher-prod") is None
    assert real["group"]["scope_id"] == "p-7xk2q"


def test_create_adopts_the_existing_group(admin, realm, offering_store):
    path, ids = offering_store()
    name = default_name(ids)
    existing = create_path(admin, realm, "/rancher-prod/" + name)
    _check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids), path, admin, realm)
    assert [p["action"] for p in real["plan"]] == ["create_record"]
    assert real["group"]["backend_id"] == existing
    children = admin.children(realm, admin.group_by_path(realm, "/rancher-prod")["id"])
    assert [(g["name"], g["id"]) for g in children] == [(name, existing)]


# ------------------------------------------------------------------ members

def test_members_existing_added_unknown_pending_then_activated(admin, realm, offering_store):
    path, ids = offering_store()
    admin.create_user(realm, "alice", email="alice@example.org", first_name="Alice", last_name="Liddell")
    name = default_name(ids)

    # "ali" is no user: users are found by exact username, never by substring.
    _check, real, _rerun = check_apply_rerun(
        MODULE, key_args(path, ids, members=["alice", "bob", "ali"]), path, admin, realm)
    group = real["group"]
    assert ("add_member", "/rancher-prod/" + name) in [(p["action"], p["target"]) for p in real["plan"]]
    assert [p.get("username") for p in real["plan"] if p["action"] == "add_member"] == ["alice"]
    assert admin.member_names(realm, group["backend_id"]) == ["alice"]
    assert store_members(path, group["uuid"]) == {"alice": "active", "bob": "pending", "ali": "pending"}

    # bob appears in Keycloak: a later run (members not even repeated) adds him and activates him.
    admin.create_user(realm, "bob")
    _check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids), path, admin, realm)
    assert [(p["action"], p.get("username")) for p in real["plan"]] == [
        ("add_member", "bob"), ("update_record", None)]
    assert real["plan"][-1]["members"] == {"added": [], "removed": [], "updated": ["bob"]}
    assert admin.member_names(realm, group["backend_id"]) == ["alice", "bob"]
    assert store_members(path, group["uuid"]) == {"alice": "active", "bob": "active", "ali": "pending"}


def test_members_exact_removes_others_locally_and_remotely(admin, realm, offering_store):
    path, ids = offering_store()
    for username in ("alice", "bob", "carol"):
        admin.create_user(realm, username)
    group = create_group(path, ids, members=["alice", "bob"])
    # carol was added by hand in Keycloak, dave only locally (pending: no such user).
    admin.join(realm, user_id(admin, realm, "carol"), group["backend_id"])
    assert_ok(playbook.run_module(MODULE, key_args(path, ids, members=["dave"])))
    assert store_members(path, group["uuid"]) == {"alice": "active", "bob": "active", "dave": "pending"}

    _check, real, _rerun = check_apply_rerun(
        MODULE, key_args(path, ids, members=["alice"], members_mode="exact"), path, admin, realm)
    assert [(p["action"], p.get("username")) for p in real["plan"]] == [
        ("remove_member", "bob"), ("remove_member", "carol"), ("update_record", None)]
    assert real["plan"][-1]["members"] == {"added": [], "removed": ["bob", "dave"], "updated": []}
    assert admin.member_names(realm, group["backend_id"]) == ["alice"]
    assert store_members(path, group["uuid"]) == {"alice": "active"}


def test_rename_renames_the_remote_group(admin, realm, offering_store):
    path, ids = offering_store()
    group = create_group(path, ids)
    _check, real, _rerun = check_apply_rerun(
        MODULE, {"store": path, "uuid": group["uuid"], "name": "rancher-cluster-admins"}, path, admin, realm)
    assert [(p["action"], p["target"]) for p in real["plan"]] == [
        ("rename_group", "/rancher-prod/" + default_name(ids)), ("update_record", group["uuid"])]
    remote = admin.group(realm, group["backend_id"])
    assert remote["name"] == "rancher-cluster-admins"
    assert remote["path"] == "/rancher-prod/rancher-cluster-admins"
    # The PUT kept the marker attributes.
    assert remote["attributes"]["waldur_group_uuid"] == [group["uuid"]]
    assert store_group(path, group["uuid"])["name"] == "rancher-cluster-admins"
    assert len(admin.children(realm, admin.group_by_path(realm, "/rancher-prod")["id"])) == 1


# ------------------------------------------------------------------ set_backend_id

def test_set_backend_id_link_resource_change_unlink(admin, realm, offering_store, broken_url):
    path, ids = offering_store()
    handmade = create_path(admin, realm, "/staff/cluster-a-admins")
    other_remote = create_path(admin, realm, "/staff/other")
    local = group_record(ids, "cluster-a-admins", scope_id="p-1")
    other = group_record(ids, "other", resource="resource_b", scope_id="p-2", backend_id=other_remote)
    write_groups(path, [local, other])

    # Errors first: unknown id, an id linked by another group, a natural-key collision.
    run_failures(MODULE, [
        ({"store": path, "uuid": local["uuid"], "backend_id": "no-such-group"},
         "backend_id: Remote group not found in Keycloak."),
        ({"store": path, "uuid": local["uuid"], "backend_id": other_remote},
         "A local group already exists for this remote Keycloak group."),
        ({"store": path, "uuid": local["uuid"], "backend_id": handmade, "resource": "cluster-b", "scope_id": "p-2"},
         "A local group with this offering, role, resource and scope_id already exists."),
        ({"store": path, "uuid": local["uuid"], "backend_id": handmade, "resource": "no-such-cluster"},
         "resource_uuid: Resource not found for this offering."),
    ], path)

    # Link.
    _check, real, _rerun = check_apply_rerun(
        MODULE, {"store": path, "uuid": local["uuid"], "backend_id": handmade}, path, admin, realm,
        expect_plan=[("link", local["uuid"])])
    assert real["plan"][0]["changes"] == {"backend_id": ["", handmade]}
    stored = store_group(path, local["uuid"])
    assert (stored["backend_id"], stored["scope_id"], stored["resource"]) == (handmade, "p-1", ids["resource_a"])
    assert real["group"]["scope_id"] == "p-1"

    # Resource change, as set_backend_id with resource_uuid: scope_id omitted stays.
    _check, real, _rerun = check_apply_rerun(
        MODULE, {"store": path, "uuid": local["uuid"], "backend_id": handmade, "resource": ids["resource_b"]},
        path, admin, realm, expect_plan=[("update_record", local["uuid"])])
    assert real["plan"][0]["changes"] == {"resource": [ids["resource_a"], ids["resource_b"]]}
    stored = store_group(path, local["uuid"])
    assert (stored["backend_id"], stored["scope_id"], stored["resource"]) == (handmade, "p-1", ids["resource_b"])
    assert real["group"]["resource_name"] == "cluster-b"

    # Unlink: no call to Keycloak at all (a URL where every call fails proves it); the remote group stays.
    _check, real, _rerun = check_apply_rerun(
        MODULE, {"store": path, "uuid": local["uuid"], "backend_id": "", "auth_keycloak_url": broken_url},
        path, admin, realm, expect_plan=[("unlink", local["uuid"])])
    assert real["plan"][0]["changes"] == {"backend_id": [handmade, ""], "unlinked": [False, True]}
    assert store_group(path, local["uuid"])["backend_id"] == ""
    assert store_group(path, local["uuid"])["scope_id"] == "p-1"
    assert admin.group(realm, handmade) is not None

    # An explicit empty resource clears it (the API's resource_uuid: null).
    _check, real, _rerun = check_apply_rerun(
        MODULE, {"store": path, "uuid": local["uuid"], "resource": "", "create_remote": False},
        path, admin, realm, expect_plan=[("update_record", local["uuid"])])
    assert real["plan"][0]["changes"] == {"resource": [ids["resource_b"], None]}
    stored = store_group(path, local["uuid"])
    assert (stored["resource"], stored["scope_id"], stored["backend_id"]) == (None, "p-1", "")
    assert (real["group"]["resource"], real["group"]["resource_uuid"], real["group"]["resource_name"]) == (
        None, None, None)


# ------------------------------------------------------------------ pull_members

def test_pull_members_created_updated_activated_total(admin, realm, offering_store):
    path, ids = offering_store()
    remote = create_path(admin, realm, "/rancher-prod/pulled")
    bulk_users(admin, realm, [
        {"username": "alice", "email": "alice@example.org", "firstName": "Alice", "lastName": "Liddell",
         "groups": ["/rancher-prod/pulled"]},
        {"username": "bob", "email": "bob-new@example.org", "groups": ["/rancher-prod/pulled"]},
        {"username": "carol", "groups": ["/rancher-prod/pulled"]},
    ])
    record = group_record(ids, "pulled", backend_id=remote, members=[
        member("bob", email="bob-old@example.org"),
        member("carol", state="pending"),
        member("erin"),  # only local: pull never removes it
    ])
    write_groups(path, [record])
    args = {"store": path, "uuid": record["uuid"], "pull_members": True}

    _check, real, rerun = check_apply_rerun(MODULE, args, path, admin, realm,
                                            expect_plan=[("update_record", record["uuid"])],
                                            same_fields=("created", "updated", "total_remote"))
    members = dict((m["username"], m) for m in store_group(path, record["uuid"])["members"])
    assert members["alice"] == member("alice", email="alice@example.org", first_name="Alice", last_name="Liddell")
    assert members["bob"]["email"] == "bob-new@example.org"
    assert members["carol"]["state"] == "active"
    assert members["erin"]["state"] == "active"
    assert admin.member_names(realm, remote) == ["alice", "bob", "carol"]  # nothing pushed
    assert real["plan"][0]["members"] == {"added": ["alice"], "removed": [], "updated": ["bob", "carol"]}
    assert (rerun["created"], rerun["updated"], rerun["total_remote"]) == (0, 0, 3)
    # created: alice; updated: bob (email) and carol (pending -> active); total_remote: 3.
    assert (real["created"], real["updated"], real["total_remote"]) == (1, 2, 3)


def test_pull_members_updates_what_keycloak_changed(admin, realm, offering_store):
    path, ids = offering_store()
    remote = create_path(admin, realm, "/rancher-prod/pulled")
    bulk_users(admin, realm, [
        {"username": "alice", "email": "alice@wonderland.example", "firstName": "Alice",
         "groups": ["/rancher-prod/pulled"]},
        {"username": "bob", "groups": ["/rancher-prod/pulled"]},  # no email in Keycloak
    ])
    record = group_record(ids, "pulled", backend_id=remote, members=[
        member("alice", email="alice@example.org", first_name="Alice"),
        member("bob", email="bob@example.org"),
    ])
    write_groups(path, [record])
    _check, real, _rerun = check_apply_rerun(MODULE, {"store": path, "uuid": record["uuid"], "pull_members": True},
                                             path, admin, realm, expect_plan=[("update_record", record["uuid"])],
                                             same_fields=("created", "updated", "total_remote"))
    assert (real["created"], real["updated"], real["total_remote"]) == (0, 1, 2)
    assert real["plan"][0]["members"] == {"added": [], "removed": [], "updated": ["alice"]}
    members = dict((m["username"], m) for m in store_group(path, record["uuid"])["members"])
    assert members["alice"]["email"] == "alice@wonderland.example"
    # An empty remote value never overwrites a local one.
    assert members["bob"]["email"] == "bob@example.org"


def test_pull_members_of_an_unlinked_group_fails(admin, realm, offering_store):
    path, ids = offering_store()
    record = group_record(ids, "unlinked", members=[member("alice", state="pending")])
    write_groups(path, [record])
    snapshot = kc_snapshot(admin, realm)
    result = run_failing(MODULE, {"store": path, "uuid": record["uuid"], "pull_members": True,
                                  "create_remote": False}, NOT_LINKED, path)
    assert result["msg"] == NOT_LINKED
    assert kc_snapshot(admin, realm) == snapshot


def test_pull_members_never_creates_or_adopts(admin, realm, offering_store):
    """An unlinked record: pull_members fails, whatever create_remote says; a same-named group is not adopted."""
    path, ids = offering_store()
    name = default_name(ids)
    create_path(admin, realm, "/rancher-prod/" + name)     # the group a create_remote would adopt
    admin.create_user(realm, "alice")
    record = group_record(ids, name, members=[member("alice", state="pending")])
    write_groups(path, [record])
    snapshot = kc_snapshot(admin, realm)
    results = run_failures(MODULE, [
        ({"store": path, "uuid": record["uuid"], "pull_members": True}, NOT_LINKED),
        ({"store": path, "uuid": record["uuid"], "pull_members": True, "create_remote": True}, NOT_LINKED),
        # A record that does not exist yet is not created by a pull either.
        (key_args(path, ids, role="project-member", pull_members=True), NOT_LINKED),
    ], path, check_mode=True)
    assert all(r["msg"] == NOT_LINKED for r in results)
    assert kc_snapshot(admin, realm) == snapshot


def test_pull_members_of_a_vanished_remote_group_fails(admin, realm, offering_store):
    """The linked group is gone: the spec's failure with the detail, and no empty group made in its place."""
    path, ids = offering_store()
    gone = create_path(admin, realm, "/rancher-prod/gone")
    admin.delete_group(realm, gone)
    record = group_record(ids, "gone", backend_id=gone, members=[member("alice")])
    write_groups(path, [record])
    snapshot = kc_snapshot(admin, realm)
    result = run_failing(MODULE, {"store": path, "uuid": record["uuid"], "pull_members": True},
                         "Unable to fetch members from Keycloak. ", path)
    assert gone in result["msg"]
    assert kc_snapshot(admin, realm) == snapshot
    assert store_group(path, record["uuid"])["backend_id"] == gone


def test_pull_members_pulls_only(admin, realm, offering_store):
    """A pending member who exists in Keycloak is not pushed by a pull; total_remote is what Keycloak holds."""
    path, ids = offering_store()
    remote = create_path(admin, realm, "/rancher-prod/pulled")
    bulk_users(admin, realm, [{"username": "alice", "groups": ["/rancher-prod/pulled"]}, {"username": "bob"}])
    record = group_record(ids, "pulled", backend_id=remote, members=[member("bob", state="pending")])
    write_groups(path, [record])
    _check, real, rerun = check_apply_rerun(MODULE, {"store": path, "uuid": record["uuid"], "pull_members": True},
                                            path, admin, realm, expect_plan=[("update_record", record["uuid"])],
                                            same_fields=("created", "updated", "total_remote"))
    assert admin.member_names(realm, remote) == ["alice"]
    assert store_members(path, record["uuid"]) == {"alice": "active", "bob": "pending"}
    assert (real["created"], real["updated"], real["total_remote"]) == (1, 0, 1)
    assert (rerun["created"], rerun["updated"], rerun["total_remote"]) == (0, 0, 1)


# ------------------------------------------------------------------ unlinking lasts

def test_an_unlinked_record_stays_unlinked_until_relink_unlinked(admin, realm, offering_store):
    path, ids = offering_store()
    group = create_group(path, ids)
    remote = group["backend_id"]
    _check, real, _rerun = check_apply_rerun(MODULE, {"store": path, "uuid": group["uuid"], "backend_id": ""},
                                             path, admin, realm, expect_plan=[("unlink", group["uuid"])])
    assert real["plan"][0]["changes"] == {"backend_id": [remote, ""], "unlinked": [False, True]}
    stored = store_group(path, group["uuid"])
    assert (stored["backend_id"], stored["unlinked"]) == ("", True)
    assert real["group"]["unlinked"] is True

    # Later runs (create_remote defaults to true) leave it unlinked: no adoption of the same-named group.
    check_apply_rerun(MODULE, key_args(path, ids), path, admin, realm, expect_changed=False)
    check_apply_rerun(MODULE, key_args(path, ids, create_remote=True, members=["nobody-yet"]), path, admin, realm,
                      expect_plan=[("update_record", group["uuid"])])
    stored = store_group(path, group["uuid"])
    assert (stored["backend_id"], stored["unlinked"]) == ("", True)
    assert store_members(path, group["uuid"]) == {"nobody-yet": "pending"}
    assert admin.member_names(realm, remote) == []

    # Until a run says otherwise.
    _check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids, relink_unlinked=True), path, admin, realm,
                                             expect_plan=[("link", group["uuid"])])
    assert real["plan"][0]["changes"] == {"backend_id": ["", remote], "unlinked": [True, False]}
    stored = store_group(path, group["uuid"])
    assert stored["backend_id"] == remote and not stored.get("unlinked")
    assert admin.group(realm, remote) is not None


def test_linking_by_backend_id_clears_unlinked(admin, realm, offering_store):
    path, ids = offering_store()
    handmade = create_path(admin, realm, "/staff/admins")
    record = dict(group_record(ids, "admins"), unlinked=True)
    write_groups(path, [record])
    _check, real, _rerun = check_apply_rerun(MODULE, {"store": path, "uuid": record["uuid"], "backend_id": handmade},
                                             path, admin, realm, expect_plan=[("link", record["uuid"])])
    stored = store_group(path, record["uuid"])
    assert stored["backend_id"] == handmade and not stored.get("unlinked")


# ------------------------------------------------------------------ delete

def test_delete_removes_remote_group_record_and_memberships(admin, realm, offering_store):
    path, ids = offering_store()
    admin.create_user(realm, "alice")
    admin.create_user(realm, "bob")
    group = create_group(path, ids, members=["alice", "bob", "nobody-yet"])
    assert admin.member_names(realm, group["backend_id"]) == ["alice", "bob"]
    name = default_name(ids)

    _check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids, state="absent"), path, admin, realm)
    assert real["plan"] == [
        {"action": "delete_group", "target": "/rancher-prod/" + name, "realm": realm, "id": group["backend_id"],
         "members": ["alice", "bob"]},
        {"action": "delete_record", "target": group["uuid"]},
    ]
    assert real["group"]["uuid"] == group["uuid"]
    admin.call("GET", "/realms/%s/groups/%s" % (realm, group["backend_id"]), expect=(404,))
    assert store_groups(path) == []
    # The users themselves are untouched.
    assert user_id(admin, realm, "alice") and user_id(admin, realm, "bob")


def test_delete_keeps_the_remote_group_when_told(admin, realm, offering_store):
    path, ids = offering_store()
    admin.create_user(realm, "alice")
    group = create_group(path, ids, members=["alice"])
    _check, real, _rerun = check_apply_rerun(
        MODULE, key_args(path, ids, state="absent", delete_remote=False),
        path, admin, realm, expect_plan=[("unmark_group", "/rancher-prod/" + default_name(ids)),
                                         ("delete_record", group["uuid"])])
    kept = admin.group(realm, group["backend_id"])
    assert kept is not None
    # Kept means kept: without the markers naming its record, no later prune takes it for one of ours.
    assert not (kept.get("attributes") or {}).get("waldur_group_uuid")
    assert not (kept.get("attributes") or {}).get("waldur_offering_uuid")
    assert admin.member_names(realm, group["backend_id"]) == ["alice"]
    assert store_groups(path) == []


def test_delete_addressed_by_uuid_alone_is_idempotent(admin, realm, offering_store):
    path, ids = offering_store()
    group = create_group(path, ids)
    _check, real, _rerun = check_apply_rerun(
        MODULE, {"store": path, "uuid": group["uuid"], "state": "absent"}, path, admin, realm,
        expect_plan=[("delete_group", "/rancher-prod/" + default_name(ids)), ("delete_record", group["uuid"])])
    assert admin.group(realm, group["backend_id"]) is None
    assert store_groups(path) == []


def test_delete_when_the_remote_group_is_already_gone(admin, realm, offering_store):
    path, ids = offering_store()
    group = create_group(path, ids)
    admin.delete_group(realm, group["backend_id"])
    before = store_bytes(path)
    _check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids, state="absent"), path, admin, realm,
                                             expect_plan=[("delete_record", group["uuid"])])
    assert store_bytes(path) != before
    assert store_groups(path) == []
    assert admin.group_by_path(realm, "/rancher-prod") is not None


def test_delete_remote_failure_keeps_the_record_unless_forced(admin, realm, offering_store, broken_url):
    path, ids = offering_store()
    group = create_group(path, ids)
    args = key_args(path, ids, state="absent", auth_keycloak_url=broken_url)
    result = run_failing(MODULE, args, "Unable to delete the remote Keycloak group.", path)
    assert "force" in result["msg"]
    assert store_group(path, group["uuid"]) is not None

    _check, real, _rerun = check_apply_rerun(MODULE, dict(args, force=True), path, admin, realm,
                                             expect_plan=[("delete_record", group["uuid"])])
    assert store_groups(path) == []
    assert admin.group(realm, group["backend_id"]) is not None


# ------------------------------------------------------------------ an unknown uuid

def test_unknown_uuid_never_acts_on_the_record_holding_the_natural_key(admin, realm, offering_store):
    """A mistyped uuid with offering/role/resource: Not found., and the other record is left alone."""
    path, ids = offering_store()
    admin.create_user(realm, "alice")
    admin.create_user(realm, "bob")
    other = create_group(path, ids, members=["alice"])
    assert admin.member_names(realm, other["backend_id"]) == ["alice"]
    snapshot = kc_snapshot(admin, realm)
    before = store_bytes(path)
    typo = "0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11"
    results = run_failures(MODULE, [
        (key_args(path, ids, uuid=typo, members=["bob"]), "Not found."),
        (key_args(path, ids, uuid=typo, members=["bob"], members_mode="exact"), "Not found."),
        (key_args(path, ids, uuid=typo, name="renamed"), "Not found."),
        (key_args(path, ids, uuid=typo, state="absent"), "Not found."),
        (key_args(path, ids, uuid=typo, state="absent", force=True), "Not found."),
        # Without role there is no natural key: still Not found., never a create or a guess.
        ({"store": path, "uuid": typo, "offering": ids["offering"], "members": ["bob"]}, "Not found."),
    ], path, check_mode=True)
    for result in results[:5]:
        assert typo in result["msg"] and other["uuid"] in result["msg"], result["msg"]
    assert "give offering and role" in results[5]["msg"], results[5]["msg"]
    # Keycloak (groups, attributes, members) and the store's bytes are exactly as before.
    assert kc_snapshot(admin, realm) == snapshot
    assert admin.member_names(realm, other["backend_id"]) == ["alice"]
    assert store_bytes(path) == before


def test_unknown_uuid_with_a_free_natural_key(admin, realm, offering_store):
    """A free natural key with a new uuid creates that record; absent by an unknown uuid is a no-op."""
    path, ids = offering_store()
    other = create_group(path, ids)
    new = "0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b12"
    _check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids, uuid=new, resource="cluster-b"),
                                             path, admin, realm)
    assert real["group"]["uuid"] == new and real["group"]["resource_name"] == "cluster-b"
    assert admin.group(realm, real["group"]["backend_id"])["attributes"]["waldur_group_uuid"] == [new]
    snapshot = kc_snapshot(admin, realm)
    before = store_bytes(path)
    gone = "0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b13"
    played = playbook.run_tasks([
        {"waldur.keycloak." + MODULE: {"store": path, "uuid": gone, "state": "absent"}},
        # An offering alone (as module_defaults may give it) is no natural key.
        {"waldur.keycloak." + MODULE: {"store": path, "uuid": gone, "offering": ids["offering"], "state": "absent"}},
        {"waldur.keycloak." + MODULE: key_args(path, ids, uuid=gone, scope_id="free", state="absent")},
    ])
    for result in played.results:
        assert_ok(result)
        assert result["changed"] is False and result["plan"] == []
    assert kc_snapshot(admin, realm) == snapshot
    assert store_bytes(path) == before
    assert store_group(path, other["uuid"]) is not None


# ------------------------------------------------------------------ force without Keycloak settings

def test_force_deletes_a_linked_record_of_an_offering_without_keycloak(admin, realm, offering_store):
    path, ids = offering_store(keycloak=False)
    remote_id = admin.create_group(realm, "linked-elsewhere")
    record = group_record(ids, "linked", backend_id=remote_id, members=[member("alice")])
    write_groups(path, [record])
    snapshot = kc_snapshot(admin, realm)

    result = run_failing(MODULE, key_args(path, ids, state="absent"),
                         "Keycloak integration is not enabled for this offering.", path)
    assert "force=true" in result["msg"] and remote_id in result["msg"], result["msg"]

    _check, real, _rerun = check_apply_rerun(MODULE, key_args(path, ids, state="absent", force=True), path,
                                             admin, realm, expect_plan=[("delete_record", record["uuid"])])
    assert real["group"]["uuid"] == record["uuid"]
    assert store_groups(path) == []
    assert kc_snapshot(admin, realm) == snapshot


# ------------------------------------------------------------------ messages name the argument

def test_bad_name_and_members_name_the_argument(admin, realm, offering_store):
    path, ids = offering_store()
    existing = create_group(path, ids, resource="cluster-b", create_remote=False)
    snapshot = kc_snapshot(admin, realm)
    results = run_failures(MODULE, [
        (key_args(path, ids, members=[""]), "members: a username must not be empty."),
        (key_args(path, ids, members=["alice", "  "]), "members: a username must not be empty."),
        (key_args(path, ids, name=""), "name: This field may not be blank."),
        (key_args(path, ids, name="   "), "name: This field may not be blank."),
        (key_args(path, ids, name="a/b"), "name: 'a/b' is not a valid group name."),
        ({"store": path, "uuid": existing["uuid"], "name": " "}, "name: This field may not be blank."),
        ({"store": path, "uuid": existing["uuid"], "members": [""]}, "members: a username must not be empty."),
    ], path, check_mode=True)
    for result in results:
        assert " line " not in result["msg"] and "groups[" not in result["msg"], result["msg"]
    assert kc_snapshot(admin, realm) == snapshot
