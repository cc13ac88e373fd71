# -*- coding: utf-8 -*-
"""Where two paths meet (issue 22): groups shared between offerings, users who vanish, renames into a
sibling's name, base groups two offerings share, a linked group that vanished.

Each test is a user's module call against the real Keycloak; Keycloak is checked with the independent
raw-HTTP ``admin`` client and the store through its bytes.
"""

import playbook
from helpers import (
    assert_ok,
    check_apply_rerun,
    create_path,
    group_record,
    member,
    new_uuid,
    run_failing,
    store_bytes,
    store_group,
    store_members,
    user_id,
    write_groups,
)

MARKERS = ("waldur_group_uuid", "waldur_offering_uuid")


def two_offerings(offering_store, realm, base_group=""):
    """The fixture's offering A (slug rancher-prod) and a Keycloak offering B (slug hpc) in the same realm."""
    b_ids = {"offering": new_uuid(), "role_admin": new_uuid(), "resource_a": new_uuid()}
    offering_b = {
        "uuid": b_ids["offering"], "name": "HPC allocations", "slug": "hpc",
        "keycloak": {"realm": realm, "base_group": base_group, "group_name_template": ""},
        "roles": [{"uuid": b_ids["role_admin"], "name": "admin", "scope_type": ""}],
        "resources": [{"uuid": b_ids["resource_a"], "name": "login-node"}],
    }
    path, ids = offering_store(extra_offerings=[offering_b], base_group=base_group)
    return path, ids, b_ids


def run(module, args, check=False):
    return playbook.run_module(module, args, check=check, diff=check)


# ------------------------------------------------------------------ ownership across offerings

def test_prune_never_deletes_a_group_that_another_offering_links(admin, realm, offering_store):
    path, ids, b_ids = two_offerings(offering_store, realm)
    root_id = create_path(admin, realm, "/rancher-prod")
    # Made by A once (A's markers), kept when A's record went, then imported into B.
    shared = admin.create_group(realm, "kept", parent_id=root_id,
                                attributes={"waldur_offering_uuid": [ids["offering"]]})
    write_groups(path, [group_record(b_ids, "kept", backend_id=shared)])

    check = assert_ok(run("keycloak_offering_sync", {"store": path, "offering": ids["offering"], "prune": True},
                          check=True))
    assert [e for e in check["plan"] if e["action"] == "delete_group"] == []
    real = assert_ok(run("keycloak_offering_sync", {"store": path, "offering": ids["offering"], "prune": True}))
    assert real["offerings"][0]["pruned"] == []
    assert admin.group(realm, shared) is not None, "A's prune deleted the group offering B links"


def test_delete_remote_is_refused_while_another_record_links_the_group(admin, realm, offering_store):
    path, ids, b_ids = two_offerings(offering_store, realm)
    shared = create_path(admin, realm, "/staff/shared")
    record_a = group_record(ids, "shared", backend_id=shared)
    record_b = group_record(b_ids, "shared", backend_id=shared)
    write_groups(path, [record_a, record_b])

    run_failing("keycloak_offering_group", {"store": path, "uuid": record_a["uuid"], "state": "absent"},
                "delete_remote: Keycloak group %s is also linked by group 'shared' (%s) of offering "
                "'HPC allocations'; it is not deleted." % (shared, record_b["uuid"]), path)
    assert admin.group(realm, shared) is not None
    # What the message says to do works, and leaves B's link and group alone.
    assert_ok(run("keycloak_offering_group", {"store": path, "uuid": record_a["uuid"], "state": "absent",
                                              "delete_remote": False}))
    assert store_group(path, record_a["uuid"]) is None and store_group(path, record_b["uuid"]) is not None
    assert admin.group(realm, shared) is not None


def test_a_kept_group_loses_the_markers_of_its_record_and_survives_a_later_prune(admin, realm, offering_store):
    path, ids = offering_store()
    record = group_record(ids, "kept-apart")
    write_groups(path, [record])
    assert_ok(run("keycloak_offering_sync", {"store": path, "offering": ids["offering"]}))
    group_id = store_group(path, record["uuid"])["backend_id"]
    attributes = admin.group(realm, group_id)["attributes"]
    assert all(attributes.get(m) for m in MARKERS), attributes

    check, real, _rerun = check_apply_rerun(
        "keycloak_offering_group", {"store": path, "uuid": record["uuid"], "state": "absent", "delete_remote": False},
        path, admin, realm)
    assert [e["action"] for e in real["plan"]] == ["unmark_group", "delete_record"]
    assert any("waldur_group_uuid" in (d.get("before") or "") for d in check["diff"]), check["diff"]
    group = admin.group(realm, group_id)
    assert not any((group.get("attributes") or {}).get(m) for m in MARKERS), group.get("attributes")

    assert_ok(run("keycloak_offering_sync", {"store": path, "offering": ids["offering"], "prune": True}))
    assert admin.group(realm, group_id) is not None, "kept (delete_remote=false), then pruned"


def test_an_offerings_own_group_or_a_base_group_cannot_be_linked_or_imported(admin, realm, offering_store):
    path, ids = offering_store(base_group="platform")
    root = create_path(admin, realm, "/platform/rancher-prod")
    inside = admin.create_group(realm, "inside", parent_id=root)
    base = admin.group_by_path(realm, "/platform")["id"]
    record = group_record(ids, "linked-inside", backend_id=inside)
    write_groups(path, [record])
    for args, message in [
        ({"remote_group_path": "/platform/rancher-prod"}, "remote_group_path: Keycloak group /platform/rancher-prod "
                                                          "holds the groups of offering 'Rancher production'"),
        ({"remote_group_id": base}, "remote_group_id: Keycloak group /platform holds the groups of offering"),
    ]:
        args.update(store=path, offering=ids["offering"], role="project-member", resource="cluster-b")
        run_failing("keycloak_group_import", args, message, path)
    run_failing("keycloak_offering_group", {"store": path, "uuid": record["uuid"], "backend_id": root},
                "backend_id: Keycloak group /platform/rancher-prod holds the groups of offering", path)
    assert admin.group_by_path(realm, "/platform/rancher-prod/inside")["id"] == inside


def test_two_records_pulling_one_group_two_ways_fail_in_one_line(admin, realm, offering_store):
    path, ids, b_ids = two_offerings(offering_store, realm)
    root_id = create_path(admin, realm, "/rancher-prod")
    shared = admin.create_group(realm, "shared", parent_id=root_id)
    record_a = group_record(ids, "shared", backend_id=shared, members=[member("alice", state="pending")])
    record_b = group_record(b_ids, "shared-too", backend_id=shared)
    write_groups(path, [record_a, record_b])
    run_failing("keycloak_offering_sync", {"store": path, "offering": ids["offering"]},
                "name: Groups 'shared' (%s) and 'shared-too' (%s) both link Keycloak group %s under different "
                "names." % (record_a["uuid"], record_b["uuid"], shared), path)
    record_b["name"] = "shared"
    write_groups(path, [record_a, record_b])
    run_failing("keycloak_offering_sync", {"store": path, "offering": ids["offering"], "members_mode": "exact"},
                "members_mode: Groups 'shared' (%s) and 'shared' (%s) both link Keycloak group %s with different "
                "members" % (record_a["uuid"], record_b["uuid"], shared), path)
    # One name and additive members: both may link it.
    assert_ok(run("keycloak_offering_sync", {"store": path, "offering": ids["offering"]}))
    assert admin.group(realm, shared)["name"] == "shared"


# ------------------------------------------------------------------ Keycloak changes behind the store

def test_a_member_whose_account_was_deleted_or_renamed_goes_back_to_pending(admin, realm, offering_store):
    admin.call("PUT", "/realms/%s" % realm, json={"editUsernameAllowed": True})
    path, ids = offering_store()
    root_id = create_path(admin, realm, "/rancher-prod")
    group_id = admin.create_group(realm, "members", parent_id=root_id)
    for name in ("alice", "bob", "carol"):
        admin.join(realm, admin.create_user(realm, name), group_id)
    record = group_record(ids, "members", backend_id=group_id,
                          members=[member("alice"), member("bob"), member("carol")])
    write_groups(path, [record])
    admin.call("DELETE", "/realms/%s/users/%s" % (realm, user_id(admin, realm, "alice")))
    admin.update_user(realm, user_id(admin, realm, "bob"), username="robert")

    # Only the store changes (two members back to pending): nothing to do in Keycloak, so no change reported.
    _check, real, _rerun = check_apply_rerun("keycloak_offering_sync", {"store": path, "offering": ids["offering"]},
                                             path, admin, realm, expect_changed=False)
    assert real["store_updated"] == 1 and real["store_written"] is True
    assert real["offerings"][0]["pending"] == ["members: alice", "members: bob"]
    assert store_members(path, record["uuid"]) == {"alice": "pending", "bob": "pending", "carol": "active"}
    assert admin.member_names(realm, group_id) == ["carol", "robert"]


def test_a_rename_into_a_siblings_name_fails_while_planning(admin, realm, offering_store):
    path, ids = offering_store()
    record = group_record(ids, "first")
    write_groups(path, [record])
    assert_ok(run("keycloak_offering_sync", {"store": path, "offering": ids["offering"]}))
    root_id = admin.group_by_path(realm, "/rancher-prod")["id"]
    admin.create_group(realm, "taken", parent_id=root_id)   # made by hand
    message = ("name: Keycloak group /rancher-prod/first cannot be renamed to 'taken': its sibling "
               "/rancher-prod/taken has that name.")
    run_failing("keycloak_offering_group", {"store": path, "uuid": record["uuid"], "name": "taken"}, message, path)
    linked = store_group(path, record["uuid"])
    linked["name"] = "taken"
    write_groups(path, [linked])
    run_failing("keycloak_offering_sync", {"store": path, "offering": ids["offering"]}, message, path)
    assert admin.group_by_path(realm, "/rancher-prod/first") is not None


def test_two_offerings_sharing_a_missing_base_group_create_it_once(admin, realm, offering_store):
    path, ids, b_ids = two_offerings(offering_store, realm, base_group="platform")
    write_groups(path, [group_record(ids, "a-group"), group_record(b_ids, "b-group")])
    check = assert_ok(run("keycloak_offering_sync", {"store": path}, check=True))
    creates = [e["target"] for e in check["plan"] if e["action"] == "create_group"]
    assert creates.count("/platform") == 1, creates
    assert sum(1 for d in check["diff"] if "/platform\n" in (d.get("after") or "")) == 1
    real = assert_ok(run("keycloak_offering_sync", {"store": path}))
    assert [e["target"] for e in real["plan"] if e["action"] == "create_group"] == creates
    assert [g["name"] for g in admin.top_groups(realm)] == ["platform"]


def test_members_of_a_linked_group_that_vanished_is_one_line_not_a_404(admin, realm, offering_store):
    path, ids = offering_store()
    gone = create_path(admin, realm, "/staff/gone")
    record = group_record(ids, "gone", backend_id=gone)
    write_groups(path, [record])
    admin.delete_group(realm, gone)
    before = store_bytes(path)
    run_failing("keycloak_offering_group", {"store": path, "uuid": record["uuid"], "members": ["alice"],
                                            "create_remote": False},
                "members: Group 'gone' is linked to Keycloak group %s, which does not exist in realm '%s'."
                % (gone, realm), path)
    assert store_bytes(path) == before


def test_the_plan_names_a_linked_group_by_its_real_path_not_the_naming_rules(admin, realm, offering_store):
    """An imported group outside the offering's tree, and a group moved by hand: the plan (so the diff and the
    drift report, which show it) names each where it is."""
    path, ids = offering_store()
    admin.create_user(realm, "alice")
    imported = create_path(admin, realm, "/staff/handmade")
    moved = create_path(admin, realm, "/rancher-prod/moved")
    admin.call("POST", "/realms/%s/groups/%s/children" % (realm, create_path(admin, realm, "/elsewhere")),
               json={"id": moved, "name": "moved"}, expect=(200, 201, 204))
    assert admin.group(realm, moved)["path"] == "/elsewhere/moved"
    first = group_record(ids, "handmade", backend_id=imported)
    second = group_record(ids, "moved", resource="resource_b", backend_id=moved)
    write_groups(path, [first, second])

    check = assert_ok(run("keycloak_offering_group", {"store": path, "uuid": first["uuid"], "members": ["alice"],
                                                      "create_remote": False}, check=True))
    assert [(e["action"], e["target"]) for e in check["plan"] if e["action"] == "add_member"] == [
        ("add_member", "/staff/handmade")]
    second["members"] = [member("alice", state="pending")]
    write_groups(path, [first, second])
    check = assert_ok(run("keycloak_offering_sync", {"store": path, "offering": ids["offering"]}, check=True))
    assert [(e["action"], e["target"]) for e in check["plan"] if e["action"] == "add_member"] == [
        ("add_member", "/elsewhere/moved")]
    assert not any("/rancher-prod/" in (d.get("before_header", "") + d.get("after_header", ""))
                   for d in check["diff"]), check["diff"]
