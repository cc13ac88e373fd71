# -*- coding: utf-8 -*-
"""waldur.keycloak.keycloak_offering_sync against the real Keycloak.

Keycloak is read with the independent raw-HTTP ``admin`` fixture (kc.RawAdmin), the store through its
bytes. The central test builds a state that needs every kind of operation at once and checks that the plan
shown in check mode is exactly what the real run then does, as seen by that independent client.
"""

import re

import playbook
from helpers import (
    assert_ok,
    check_apply_rerun,
    create_path,
    default_name,
    group_record,
    kc_snapshot,
    kc_tree,
    load_store,
    member,
    new_uuid,
    store_bytes,
    store_group,
    store_groups,
    write_groups,
)

MODULE = "keycloak_offering_sync"
MARKER = "waldur_offering_uuid"
REMOTE_ACTIONS = ("create_group", "rename_group", "delete_group", "add_member", "remove_member")


# ------------------------------------------------------------------ helpers

def offering_tree(admin, realm, root_path):
    """``{path: {id, name, attributes, members}}`` of every group under ``root_path`` (root excluded)."""
    prefix = root_path.rstrip("/") + "/"
    return dict((path, group) for path, group in kc_tree(admin, realm).items() if path.startswith(prefix))


def observed_operations(before, after):
    """The remote operations that turn snapshot ``before`` into ``after``: ``{(action, target, username)}``.

    A group is followed by its id. Its target is the path it had before the run (that is what the plan
    names: a rename, or a member change of a renamed group, targets the group as it was), or the path it
    has now when the run created it. A deleted group's memberships end with it: no remove_member for them.
    """
    before_by_id = dict((g["id"], (path, g)) for path, g in before.items())
    after_by_id = dict((g["id"], (path, g)) for path, g in after.items())
    observed = set()
    for group_id, (path, _group) in before_by_id.items():
        if group_id not in after_by_id:
            observed.add(("delete_group", path, None))
    for group_id, (path, group) in after_by_id.items():
        if group_id in before_by_id:
            old_path, old = before_by_id[group_id]
            target, old_members = old_path, set(old["members"])
            if old["name"] != group["name"]:
                observed.add(("rename_group", old_path, None))
        else:
            target, old_members = path, set()
            observed.add(("create_group", path, None))
        new_members = set(group["members"])
        observed.update(("add_member", target, u) for u in new_members - old_members)
        observed.update(("remove_member", target, u) for u in old_members - new_members)
    return observed


def planned_operations(plan):
    return set((e["action"], e["target"], e.get("username")) for e in plan if e["action"] in REMOTE_ACTIONS)


def record_actions(plan):
    return dict((e["target"], e["action"]) for e in plan if e["action"] not in REMOTE_ACTIONS)


def keycloak_offering(realm, name, slug, base_group=""):
    """A Keycloak-enabled offering for the store, with one role and one resource; returns (offering, ids)."""
    ids = {"offering": new_uuid(), "role": new_uuid(), "resource": new_uuid()}
    offering = {
        "uuid": ids["offering"], "name": name, "slug": slug,
        "keycloak": {"realm": realm, "base_group": base_group, "group_name_template": ""},
        "roles": [{"uuid": ids["role"], "name": "admin", "scope_type": ""}],
        "resources": [{"uuid": ids["resource"], "name": "login-node"}],
    }
    return offering, ids


def sync(store, **extra):
    args = {"store": store}
    args.update(extra)
    return args


def paths_named(tree, name):
    return sorted(path for path, group in tree.items() if group["name"] == name)


# ------------------------------------------------------------ plan == reality

def test_check_mode_plan_is_exactly_what_apply_does(admin, realm, offering_store):
    """A store that needs every kind of operation; the check-mode plan equals the observed changes."""
    path, ids = offering_store()
    root = "/rancher-prod"
    root_id = create_path(admin, realm, root)
    usernames = ("alice", "bob", "carol", "dave", "erin", "frank")
    users = dict((name, admin.create_user(realm, name)) for name in usernames)

    # create: declared, no backend_id, nothing remote; alice is declared (pending until she is added).
    g_create = group_record(ids, "to-create", role="role_admin", resource="resource_a",
                            members=[member("alice", state="pending")])
    # adopt: declared, no backend_id, a group of that name already under the offering (made by hand,
    # with frank in it, whom members_mode=exact removes because the store does not declare him).
    adopted_id = admin.create_group(realm, "to-adopt", parent_id=root_id)
    admin.join(realm, users["frank"], adopted_id)
    g_adopt = group_record(ids, "to-adopt", role="role_admin", resource="resource_b", members=[member("bob")])
    # rename: linked, but the remote name drifted; carol is declared and there, dave is not declared.
    drifted_id = admin.create_group(realm, "drifted-name", parent_id=root_id,
                                    attributes={MARKER: [ids["offering"]]})
    admin.join(realm, users["carol"], drifted_id)
    admin.join(realm, users["dave"], drifted_id)
    g_rename = group_record(ids, "declared-name", role="role_member", resource="resource_a",
                            backend_id=drifted_id, members=[member("carol")])
    # relink: linked to a remote group that was deleted since.
    vanished_id = admin.create_group(realm, "to-relink", parent_id=root_id, attributes={MARKER: [ids["offering"]]})
    admin.delete_group(realm, vanished_id)
    g_relink = group_record(ids, "to-relink", role="role_member", resource="resource_b", backend_id=vanished_id)
    # pending: linked and in place, erin was pending and exists now.
    pending_id = admin.create_group(realm, "with-pending", parent_id=root_id, attributes={MARKER: [ids["offering"]]})
    g_pending = group_record(ids, "with-pending", role="role_member", resource=None, backend_id=pending_id,
                             members=[member("erin", state="pending")])
    # prune: made by this collection (marker) for this offering, no longer declared.
    stale_id = admin.create_group(realm, "stale", parent_id=root_id, attributes={MARKER: [ids["offering"]]})
    admin.join(realm, users["alice"], stale_id)
    # hand-made: no marker; never touched, whatever its members.
    manual_id = admin.create_group(realm, "hand-made", parent_id=root_id)
    admin.join(realm, users["frank"], manual_id)

    write_groups(path, [g_create, g_adopt, g_rename, g_relink, g_pending])
    args = sync(path, offering=ids["offering"], relink=True, prune=True, members_mode="exact", parallelism=3)

    before = offering_tree(admin, realm, root)
    before_store = load_store(path)
    check, real, _rerun = check_apply_rerun(MODULE, args, path, admin, realm)
    after = offering_tree(admin, realm, root)

    # Every kind of operation is there, each exactly where expected.
    expected = {
        ("create_group", root + "/to-create", None),
        ("add_member", root + "/to-create", "alice"),
        ("add_member", root + "/to-adopt", "bob"),
        ("remove_member", root + "/to-adopt", "frank"),
        ("rename_group", root + "/drifted-name", None),
        ("remove_member", root + "/drifted-name", "dave"),
        ("create_group", root + "/to-relink", None),
        ("add_member", root + "/with-pending", "erin"),
        ("delete_group", root + "/stale", None),
    }
    assert planned_operations(check["plan"]) == expected
    remote_entries = [e for e in check["plan"] if e["action"] in REMOTE_ACTIONS]
    assert len(remote_entries) == len(expected), "an operation is planned twice: %r" % remote_entries
    # The plan is what happened, seen by the independent client.
    assert observed_operations(before, after) == planned_operations(check["plan"])
    assert planned_operations(real["plan"]) == planned_operations(check["plan"])
    # Nothing else changed: each group kept its attributes (the new ones carry both markers).
    attributes_before = dict((g["id"], g["attributes"]) for g in before.values())
    for group in after.values():
        if group["id"] in attributes_before:
            assert group["attributes"] == attributes_before[group["id"]]
    assert after[root + "/hand-made"] == before[root + "/hand-made"]
    created = [after[root + "/to-create"], after[root + "/to-relink"]]
    assert [g["attributes"] for g in created] == [
        {MARKER: [ids["offering"]], "waldur_group_uuid": [g_create["uuid"]]},
        {MARKER: [ids["offering"]], "waldur_group_uuid": [g_relink["uuid"]]},
    ]
    # An adopted group is not the collection's: it gets no marker and so is never pruned.
    assert after[root + "/to-adopt"]["id"] == adopted_id and after[root + "/to-adopt"]["attributes"] == {}

    # Order: a group is created before anything is done to it.
    actions = [(e["action"], e["target"]) for e in check["plan"]]
    assert actions.index(("create_group", root + "/to-create")) < actions.index(("add_member", root + "/to-create"))

    # The store: link for the three that got a remote group, update_record for the activated member.
    assert record_actions(check["plan"]) == {
        g_create["uuid"]: "link", g_adopt["uuid"]: "link", g_relink["uuid"]: "link",
        g_pending["uuid"]: "update_record",
    }
    assert record_actions(real["plan"]) == record_actions(check["plan"])
    backend = dict((g["uuid"], g["backend_id"]) for g in store_groups(path))
    assert backend == {
        g_create["uuid"]: after[root + "/to-create"]["id"],
        g_adopt["uuid"]: adopted_id,
        g_rename["uuid"]: drifted_id,
        g_relink["uuid"]: after[root + "/to-relink"]["id"],
        g_pending["uuid"]: pending_id,
    }
    changed_records = set(g["uuid"] for g in store_groups(path)
                          if g != [b for b in before_store["groups"] if b["uuid"] == g["uuid"]][0])
    assert changed_records == set(record_actions(real["plan"]))
    states = dict((g["uuid"], dict((m["username"], m["state"]) for m in g["members"])) for g in store_groups(path))
    assert states[g_create["uuid"]] == {"alice": "active"}
    assert states[g_pending["uuid"]] == {"erin": "active"}
    assert states[g_rename["uuid"]] == {"carol": "active"}

    # What the report says, per offering.
    report = real["offerings"]
    assert len(report) == 1
    assert (report[0]["created"], report[0]["adopted"], report[0]["renamed"], report[0]["missing_remote"],
            report[0]["relinked"], report[0]["pruned"]) == (
        ["to-create", "to-relink"], ["to-adopt"], ["declared-name"], ["to-relink"], ["to-relink"], ["stale"])
    assert report[0]["members_added"] == ["to-adopt: bob", "to-create: alice", "with-pending: erin"]
    assert report[0]["members_removed"] == ["declared-name: dave", "to-adopt: frank"]
    assert check["offerings"] == report
    assert real["drift"] is True

    # And the rerun plans nothing (check_apply_rerun asserted changed false, an empty plan, same bytes).
    again = assert_ok(playbook.run_module(MODULE, args, check=True))
    assert (again["changed"], again["plan"], again["drift"]) == (False, [], False)


# ------------------------------------------------------------ prune, adoption, reruns, offerings

def test_prune_never_touches_groups_it_did_not_create(admin, realm, offering_store):
    """Hand-made groups survive prune, even named exactly like the collection names its groups."""
    path, ids = offering_store()
    root = "/rancher-prod"
    root_id = create_path(admin, realm, root)
    other_offering = new_uuid()
    lookalike = default_name(ids, role_name="project-member", resource="resource_b")
    admin.create_group(realm, lookalike, parent_id=root_id)
    admin.create_group(realm, "marked-for-another-offering", parent_id=root_id, attributes={MARKER: [other_offering]})
    admin.create_group(realm, "group-uuid-only", parent_id=root_id,
                       attributes={"waldur_group_uuid": [new_uuid()]})
    admin.create_group(realm, "own-stale", parent_id=root_id, attributes={MARKER: [ids["offering"]]})
    # Marked for this offering, but outside its tree: prune looks only under the offering.
    admin.create_group(realm, "elsewhere", attributes={MARKER: [ids["offering"]]})
    declared = group_record(ids, default_name(ids))
    write_groups(path, [declared])

    before = kc_tree(admin, realm)
    check, real, _rerun = check_apply_rerun(MODULE, sync(path, prune=True, members_mode="exact"), path, admin, realm)
    after = kc_tree(admin, realm)

    assert [(e["action"], e["target"]) for e in real["plan"] if e["action"] == "delete_group"] == [
        ("delete_group", root + "/own-stale")]
    assert real["offerings"][0]["pruned"] == ["own-stale"]
    assert set(before) - set(after) == {root + "/own-stale"}
    for name in (lookalike, "marked-for-another-offering", "group-uuid-only"):
        assert after[root + "/" + name] == before[root + "/" + name]
    assert after["/elsewhere"] == before["/elsewhere"]
    assert set(after) - set(before) == {root + "/" + declared["name"]}


def test_adoption_makes_no_duplicate(admin, realm, offering_store):
    path, ids = offering_store(base_group="clusters")
    name = default_name(ids)
    existing = create_path(admin, realm, "/clusters/rancher-prod/" + name)
    admin.join(realm, admin.create_user(realm, "alice"), existing)
    record = group_record(ids, name, members=[member("alice")])
    write_groups(path, [record])

    # Only the store changes (the link): Keycloak already holds the group, so the task reports no change.
    _check, real, _rerun = check_apply_rerun(MODULE, sync(path, offering="Rancher production"), path, admin, realm,
                                             expect_changed=False)
    assert [(e["action"], e["target"]) for e in real["plan"]] == [("link", record["uuid"])]
    assert real["offerings"][0]["adopted"] == [name] and real["offerings"][0]["created"] == []
    tree = kc_tree(admin, realm)
    assert paths_named(tree, name) == ["/clusters/rancher-prod/" + name]
    assert tree["/clusters/rancher-prod/" + name]["id"] == existing
    assert tree["/clusters/rancher-prod/" + name]["members"] == ["alice"]
    assert store_group(path, record["uuid"])["backend_id"] == existing


def test_every_offering_is_synced_when_none_is_named(admin, realm, offering_store):
    """Three Keycloak offerings over two realms, one offering without Keycloak: one task syncs all three."""
    other_realm = admin.create_realm()
    try:
        hpc, hpc_ids = keycloak_offering(realm, "HPC allocations", "hpc", base_group="waldur")
        cloud, cloud_ids = keycloak_offering(other_realm, "Cloud", "cloud")
        plain, plain_ids = keycloak_offering(realm, "No Keycloak", "plain")
        del plain["keycloak"]
        path, ids = offering_store(extra_offerings=[hpc, cloud, plain])
        admin.create_user(realm, "alice")
        admin.create_user(other_realm, "bob")
        records = [
            group_record(ids, "rancher-admins", members=[member("alice")]),
            group_record(hpc_ids, "hpc-admins", role="role", resource="resource", offering="offering"),
            group_record(cloud_ids, "cloud-admins", role="role", resource=None, members=[member("bob")]),
            group_record(plain_ids, "plain-admins", role="role", resource=None),
        ]
        write_groups(path, records)
        before_other = kc_snapshot(admin, other_realm)

        check = assert_ok(playbook.run_module(MODULE, sync(path), check=True))
        assert kc_snapshot(admin, other_realm) == before_other
        assert [r["offering"] for r in check["offerings"]] == ["Rancher production", "HPC allocations", "Cloud"]
        real = assert_ok(playbook.run_module(MODULE, sync(path)))
        assert [(e["action"], e["target"]) for e in real["plan"]] == [
            (e["action"], e["target"]) for e in check["plan"]]

        tree, other = kc_tree(admin, realm), kc_tree(admin, other_realm)
        assert sorted(tree) == ["/rancher-prod", "/rancher-prod/rancher-admins", "/waldur", "/waldur/hpc",
                                "/waldur/hpc/hpc-admins"]
        assert sorted(other) == ["/cloud", "/cloud/cloud-admins"]
        assert tree["/rancher-prod/rancher-admins"]["members"] == ["alice"]
        assert other["/cloud/cloud-admins"]["members"] == ["bob"]
        backend = dict((g["uuid"], g["backend_id"]) for g in store_groups(path))
        assert backend == {
            records[0]["uuid"]: tree["/rancher-prod/rancher-admins"]["id"],
            records[1]["uuid"]: tree["/waldur/hpc/hpc-admins"]["id"],
            records[2]["uuid"]: other["/cloud/cloud-admins"]["id"],
            records[3]["uuid"]: "",
        }
        # The base group is shared: only the offering's own group carries the marker.
        assert tree["/waldur"]["attributes"] == {}
        assert tree["/waldur/hpc"]["attributes"] == {MARKER: [hpc_ids["offering"]]}

        before = store_bytes(path)
        rerun = assert_ok(playbook.run_module(MODULE, sync(path, members_mode="exact", prune=True)))
        assert (rerun["changed"], rerun["plan"], rerun["drift"]) == (False, [], False)
        assert store_bytes(path) == before
    finally:
        admin.delete_realm(other_realm)


def test_missing_remote_is_reported_and_only_relinked_when_asked(admin, realm, offering_store):
    path, ids = offering_store()
    record = group_record(ids, "gone")
    write_groups(path, [record])
    assert_ok(playbook.run_module(MODULE, sync(path)))
    admin.delete_group(realm, store_group(path, record["uuid"])["backend_id"])
    before = store_bytes(path)
    snapshot = kc_snapshot(admin, realm)

    report = assert_ok(playbook.run_module(MODULE, sync(path)))
    assert (report["changed"], report["plan"], report["drift"]) == (False, [], True)
    assert report["offerings"][0]["missing_remote"] == ["gone"]
    assert report["offerings"][0]["relinked"] == []
    assert store_bytes(path) == before and kc_snapshot(admin, realm) == snapshot

    _check, real, _rerun = check_apply_rerun(MODULE, sync(path, relink=True), path, admin, realm)
    assert [e["action"] for e in real["plan"]] == ["create_group", "link"]
    assert store_group(path, record["uuid"])["backend_id"] == admin.group_by_path(realm, "/rancher-prod/gone")["id"]


def test_a_group_imported_from_outside_the_offering_is_synced(admin, realm, offering_store):
    """The README's import of /staff/...: sync status says synced, and a sync has nothing to do, not even a create."""
    path, ids = offering_store()
    staff = create_path(admin, realm, "/staff/x")
    assert_ok(playbook.run_module("keycloak_group_import", {
        "store": path, "offering": ids["offering"], "role": "cluster-admin", "remote_group_path": "/staff/x"}))
    record = store_groups(path)[0]
    assert record["backend_id"] == staff
    info = assert_ok(playbook.run_module("keycloak_group_sync_info",
                                         {"store": path, "offering": ids["offering"], "members": True}))
    assert info["synced"] == [{"local_name": "x", "remote_name": "x", "backend_id": staff}]
    assert (info["local_only"], info["remote_only"], info["in_sync"]) == ([], [], True)
    assert info["members"] == [{"name": "x", "backend_id": staff, "local_only": [], "remote_only": [], "unrecorded": []}]

    # The offering's own group is made (it is the sync's job), nothing else; then the sync is a no-op.
    assert_ok(playbook.run_module(MODULE, sync(path)))
    assert sorted(kc_tree(admin, realm)) == ["/rancher-prod", "/staff", "/staff/x"]
    before, snapshot = store_bytes(path), kc_snapshot(admin, realm)
    for extra in ({}, {"relink": True, "relink_unlinked": True, "prune": True}):
        report = assert_ok(playbook.run_module(MODULE, sync(path, **extra)))
        assert (report["changed"], report["plan"], report["drift"]) == (False, [], False)
        assert report["offerings"][0]["missing_remote"] == [] and report["offerings"][0]["created"] == []
    assert store_bytes(path) == before and kc_snapshot(admin, realm) == snapshot


def test_an_unlinked_record_is_not_readopted_by_a_sync(admin, realm, offering_store):
    path, ids = offering_store()
    record = group_record(ids, "kept-apart")
    write_groups(path, [record])
    assert_ok(playbook.run_module(MODULE, sync(path)))
    remote = store_group(path, record["uuid"])["backend_id"]
    assert_ok(playbook.run_module("keycloak_offering_group",
                                  {"store": path, "uuid": record["uuid"], "backend_id": ""}))
    assert store_group(path, record["uuid"])["unlinked"] is True
    before, snapshot = store_bytes(path), kc_snapshot(admin, realm)

    # Not adopted, not pruned (it is the group relink_unlinked would take back), not drift for the sync.
    for extra in ({}, {"relink": True, "prune": True, "members_mode": "exact"}):
        report = assert_ok(playbook.run_module(MODULE, sync(path, **extra)))
        assert (report["changed"], report["plan"], report["drift"]) == (False, [], False)
        assert report["offerings"][0]["unlinked"] == ["kept-apart"]
        assert report["offerings"][0]["adopted"] == [] and report["offerings"][0]["pruned"] == []
    assert store_bytes(path) == before and kc_snapshot(admin, realm) == snapshot

    # The sync status lists it once, as local only; the group it left is remote only.
    info = assert_ok(playbook.run_module("keycloak_group_sync_info", {"store": path, "offering": ids["offering"]}))
    assert (info["local_only"], info["remote_only"], info["synced"]) == (["kept-apart"], ["kept-apart"], [])
    assert info["counts"] == {"synced": 0, "local_only": 1, "remote_only": 1}

    _check, real, _rerun = check_apply_rerun(MODULE, sync(path, relink_unlinked=True), path, admin, realm,
                                             expect_plan=[("link", record["uuid"])], expect_changed=False)
    # Its own group, made for it by the first sync: found by the record's marker.
    assert real["offerings"][0]["linked_by_marker"] == ["kept-apart"] and real["offerings"][0]["unlinked"] == []
    stored = store_group(path, record["uuid"])
    assert stored["backend_id"] == remote and not stored.get("unlinked")


def test_a_sync_fills_created_of_a_declared_record(admin, realm, offering_store):
    """docs/gitops.md: a declared group needs no created; the collection fills it in when it links the record."""
    path, ids = offering_store()
    record = group_record(ids, "declared")
    del record["created"], record["modified"]
    write_groups(path, [record])
    check = assert_ok(playbook.run_module(MODULE, sync(path), check=True))
    changes = [e for e in check["plan"] if e["action"] == "link"][0]["changes"]
    assert changes["created"][0] == "" and changes["created"][1]
    assert_ok(playbook.run_module(MODULE, sync(path)))
    stored = store_group(path, record["uuid"])
    assert stored["backend_id"] == admin.group_by_path(realm, "/rancher-prod/declared")["id"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", str(stored["created"])), stored
    assert stored["modified"] == stored["created"]
    before = store_bytes(path)
    rerun = assert_ok(playbook.run_module(MODULE, sync(path)))
    assert (rerun["changed"], rerun["plan"]) == (False, [])
    assert store_bytes(path) == before


def test_two_records_with_the_same_name_fail_before_any_write(admin, realm, offering_store):
    """Two declared groups of one offering named alike would be one Keycloak group: refuse, change nothing.

    (The store's validator accepts them: names are free, only offering+role+resource+scope_id is a key.)
    """
    path, ids = offering_store()
    write_groups(path, [group_record(ids, "same", role="role_admin"),
                        group_record(ids, "same", role="role_member")])
    before = store_bytes(path)
    snapshot = kc_snapshot(admin, realm)
    for check in (True, False):
        result = playbook.run_module(MODULE, sync(path, parallelism=4), check=check)
        assert result.get("failed"), "check=%s: two groups named 'same' were accepted: %r" % (
            check, result.get("plan"))
        assert "same" in result["msg"] and "\n" not in result["msg"]
        assert store_bytes(path) == before
        assert kc_snapshot(admin, realm) == snapshot, "check=%s: Keycloak changed before the refusal" % check


# ------------------------------------------------------------------ parallelism

def test_parallel_lanes_create_each_group_once(admin, realm, offering_store):
    path, ids = offering_store()
    admin.create_user(realm, "alice")
    records = [group_record(ids, "group-%02d" % i, role="role_admin", resource=None, scope_id="scope-%02d" % i,
                            members=[member("alice", state="pending")] if i % 3 == 0 else [])
               for i in range(30)]
    write_groups(path, records)

    _check, real, _rerun = check_apply_rerun(MODULE, sync(path, parallelism=4), path, admin, realm)
    assert sum(1 for e in real["plan"] if e["action"] == "create_group") == 31  # the offering's group + 30

    root = admin.group_by_path(realm, "/rancher-prod")
    children = admin.children(realm, root["id"])
    names = sorted(g["name"] for g in children)
    assert names == sorted(r["name"] for r in records), "duplicates or missing groups: %r" % names
    by_name = dict((g["name"], g["id"]) for g in children)
    stored = store_groups(path)
    assert len(stored) == 30
    assert dict((g["name"], g["backend_id"]) for g in stored) == by_name
    assert len(set(g["backend_id"] for g in stored)) == 30
    for i in range(0, 30, 3):
        assert admin.member_names(realm, by_name["group-%02d" % i]) == ["alice"]
    assert [g["name"] for g in admin.top_groups(realm)] == ["rancher-prod"]


# ------------------------------------------------------------------ partial failure

class LimitedAccount(object):
    """A user of ``realm`` whose admin rights come only from fine-grained admin permissions.

    It may view every group and user, and manage (create children under) only the groups it is granted.
    Keycloak 26.2 on: version 2 (the realm's admin-permissions client). Before (24.0.5, 25.0.6, 26.0.8):
    version 1, a preview feature scripts/keycloak.sh enables there; viewing comes from the realm-management
    roles view-users and query-groups, managing a group from its own "manage" scope permission.
    """

    PASSWORD = "limited-pw-7f3c"

    def __init__(self, admin, realm, keycloak_version):
        self.admin = admin
        self.realm = realm
        self.v2 = keycloak_version >= (26, 2)
        if self.v2:
            admin.call("PUT", "/realms/%s" % realm, json={"realm": realm, "adminPermissionsEnabled": True})
        self.user_id = admin.create_user(realm, "sync-bot", email="sync-bot@example.org", first_name="Sync",
                                         last_name="Bot")
        admin.call("PUT", "/realms/%s/users/%s/reset-password" % (realm, self.user_id),
                   json={"type": "password", "value": self.PASSWORD, "temporary": False})
        client_id = "admin-permissions" if self.v2 else "realm-management"
        clients = admin.get("/realms/%s/clients" % realm, clientId=client_id)
        assert len(clients) == 1, "fine-grained admin permissions are not available: %r" % clients
        self.base = "/realms/%s/clients/%s/authz/resource-server" % (realm, clients[0]["id"])
        self.policy = None
        if self.v2:
            self.permit("view-groups", "Groups", ["view", "view-members"])
            self.permit("view-users", "Users", ["view"])
        else:
            roles = [admin.get("/realms/%s/clients/%s/roles/%s" % (realm, clients[0]["id"], role))
                     for role in ("view-users", "query-groups")]
            admin.call("POST", "/realms/%s/users/%s/role-mappings/clients/%s" % (realm, self.user_id, clients[0]["id"]),
                       json=roles)

    def user_policy(self):
        # v1: realm-management has its authorization settings only once some permission is enabled.
        if self.policy is None:
            self.policy = self.admin.call("POST", self.base + "/policy/user",
                                          json={"name": "sync-bot", "users": [self.user_id]}).json()["id"]
        return self.policy

    def permit(self, name, resource_type, scopes, resources=None):
        if not self.v2:
            assert resource_type == "Groups" and scopes == ["manage"] and resources, "not needed before 26.2"
            for group_id in resources:
                permissions = self.admin.call("PUT", "/realms/%s/groups/%s/management/permissions"
                                              % (self.realm, group_id), json={"enabled": True}).json()
                path = self.base + "/permission/scope/" + permissions["scopePermissions"]["manage"]
                permission = self.admin.get(path)
                permission["policies"] = [self.user_policy()]
                self.admin.call("PUT", path, json=permission)
            return
        body = {"name": name, "resourceType": resource_type, "scopes": scopes, "policies": [self.user_policy()]}
        if resources:
            body["resources"] = resources
        self.admin.call("POST", self.base + "/permission/scope", json=body, expect=(201,))

    def module_args(self):
        return {"auth_realm": self.realm, "auth_username": "sync-bot", "auth_password": self.PASSWORD}


def denied_offering_store(admin, realm, offering_store, keycloak_version):
    """Two offerings in ``realm``; the sync account may create groups under /rancher-prod, not under /hpc.

    Returns (path, records it may create, records it may not, account, id of /hpc, arguments of the sync).
    """
    hpc, hpc_ids = keycloak_offering(realm, "HPC allocations", "hpc")
    path, ids = offering_store(extra_offerings=[hpc])
    rancher_root = create_path(admin, realm, "/rancher-prod")
    hpc_root = create_path(admin, realm, "/hpc")
    account = LimitedAccount(admin, realm, keycloak_version)
    account.permit("manage-rancher", "Groups", ["manage"], resources=[rancher_root])
    allowed = [group_record(ids, "rancher-%d" % i, role="role_admin", resource=None, scope_id="s%d" % i)
               for i in range(3)]
    denied = [group_record(hpc_ids, "hpc-%d" % i, role="role", resource=None, scope_id="s%d" % i)
              for i in range(2)]
    write_groups(path, allowed + denied)
    args = dict(sync(path, parallelism=2), **account.module_args())
    return path, allowed, denied, account, hpc_root, args


def test_partial_failure_records_what_succeeded_and_a_rerun_converges(admin, realm, offering_store, keycloak_version):
    """One offering's groups cannot be created (no permission there): the others are created and linked.

    The account that runs the sync may create groups under /rancher-prod but not under /hpc (fine-grained
    admin permissions), so every create of the second offering fails with a 403 while the first
    offering's lanes succeed.
    """
    path, _allowed, denied, account, hpc_root, args = denied_offering_store(admin, realm, offering_store,
                                                                            keycloak_version)

    # The plan, shown by the same account, announces every create (it can see, just not write).
    check = assert_ok(playbook.run_module(MODULE, args, check=True))
    assert sorted(e["target"] for e in check["plan"] if e["action"] == "create_group") == [
        "/hpc/hpc-0", "/hpc/hpc-1", "/rancher-prod/rancher-0", "/rancher-prod/rancher-1", "/rancher-prod/rancher-2"]

    failed = playbook.run_module(MODULE, args)
    assert failed.get("failed")
    msg = failed["msg"]
    assert "\n" not in msg and "Traceback" not in msg
    assert msg.startswith("create_group /hpc/hpc-"), msg
    assert "403" in msg and "(and 1 more failures)" in msg, msg
    # A rerun meets the same 403: the message says what has to change first.
    assert msg.endswith("a rerun cannot finish the job until the account is granted the missing permission"), msg
    assert "a rerun finishes the job" not in msg, msg
    assert sorted(e["target"] for e in failed["done_operations"]) == [
        "/rancher-prod/rancher-0", "/rancher-prod/rancher-1", "/rancher-prod/rancher-2"]

    # Keycloak has what succeeded; the store records exactly that.
    tree = kc_tree(admin, realm)
    assert sorted(p for p in tree if p.startswith("/rancher-prod/")) == [
        "/rancher-prod/rancher-0", "/rancher-prod/rancher-1", "/rancher-prod/rancher-2"]
    assert [p for p in tree if p.startswith("/hpc/")] == []
    backend = dict((g["name"], g["backend_id"]) for g in store_groups(path))
    assert backend == {"rancher-0": tree["/rancher-prod/rancher-0"]["id"],
                       "rancher-1": tree["/rancher-prod/rancher-1"]["id"],
                       "rancher-2": tree["/rancher-prod/rancher-2"]["id"],
                       "hpc-0": "", "hpc-1": ""}

    # Fix the cause; the rerun does only what is left, then nothing.
    account.permit("manage-hpc", "Groups", ["manage"], resources=[hpc_root])
    _check, real, _rerun = check_apply_rerun(MODULE, args, path, admin, realm)
    assert sorted((e["action"], e["target"]) for e in real["plan"]) == sorted(
        [("create_group", "/hpc/hpc-0"), ("create_group", "/hpc/hpc-1"),
         ("link", denied[0]["uuid"]), ("link", denied[1]["uuid"])])
    tree = kc_tree(admin, realm)
    assert sorted(p for p in tree if p.startswith("/rancher-prod/")) == [
        "/rancher-prod/rancher-0", "/rancher-prod/rancher-1", "/rancher-prod/rancher-2"]
    backend = dict((g["name"], g["backend_id"]) for g in store_groups(path))
    assert backend == dict((p.rsplit("/", 1)[1], g["id"]) for p, g in tree.items() if p.count("/") == 2)


def test_partial_failure_result_names_the_failed_operations(admin, realm, offering_store, keycloak_version):
    """The failure result says that something changed, and lists what was done and what failed, as data."""
    _path, _allowed, _denied, _account, _hpc_root, args = denied_offering_store(admin, realm, offering_store,
                                                                                keycloak_version)
    result = playbook.run_module(MODULE, args)
    assert result.get("failed") is True
    assert sorted(e["target"] for e in result["done_operations"]) == [
        "/rancher-prod/rancher-0", "/rancher-prod/rancher-1", "/rancher-prod/rancher-2"]
    problems = []
    # Three groups were created in Keycloak and linked in the store: the task changed things.
    if result.get("changed") is not True:
        problems.append("changed=%r after 3 groups were created and linked" % result.get("changed"))
    # The module passes the failed operations as ``failed=[...]``, which fail_json overwrites with True.
    listed = [value for key, value in result.items() if isinstance(value, list) and key.startswith("failed")]
    if not listed:
        problems.append("the failed operations are not in the result (keys %s)" % sorted(result))
    elif sorted(e["target"] for e in listed[0]) != ["/hpc/hpc-0", "/hpc/hpc-1"]:
        problems.append("failed operations listed: %r" % listed[0])
    assert not problems, "; ".join(problems)


# ------------------------------------------------------------ check-mode diff

def test_check_diff_shows_keycloak_before_and_after_per_group(admin, realm, offering_store):
    """--check --diff on a rename, a member removal and a deletion: each group's path, name and members
    before and after, as YAML, the group named in the header; Keycloak and the store untouched."""
    import yaml

    path, ids = offering_store()
    root = "/rancher-prod"
    root_id = create_path(admin, realm, root)
    users = dict((name, admin.create_user(realm, name)) for name in ("alice", "carol", "dave"))
    drifted_id = admin.create_group(realm, "drifted-name", parent_id=root_id, attributes={MARKER: [ids["offering"]]})
    admin.join(realm, users["carol"], drifted_id)
    admin.join(realm, users["dave"], drifted_id)
    stale_id = admin.create_group(realm, "stale", parent_id=root_id, attributes={MARKER: [ids["offering"]]})
    admin.join(realm, users["alice"], stale_id)
    g_rename = group_record(ids, "declared-name", role="role_member", resource="resource_a",
                            backend_id=drifted_id, members=[member("carol")])
    write_groups(path, [g_rename])
    snapshot, before_bytes = kc_snapshot(admin, realm), store_bytes(path)

    result = assert_ok(playbook.run_module(MODULE, sync(path, offering=ids["offering"], prune=True,
                                                        members_mode="exact"), check=True, diff=True))
    assert kc_snapshot(admin, realm) == snapshot and store_bytes(path) == before_bytes
    shown = dict((d["before_header"], d) for d in result["diff"] if d["before_header"].startswith("keycloak"))
    renamed = shown["keycloak realm %s: group %s/drifted-name" % (realm, root)]
    assert renamed["after_header"] == "keycloak realm %s: group %s/declared-name" % (realm, root)
    assert yaml.safe_load(renamed["before"]) == {"path": root + "/drifted-name", "name": "drifted-name",
                                                 "members": ["carol", "dave"]}
    assert yaml.safe_load(renamed["after"]) == {"path": root + "/declared-name", "name": "declared-name",
                                                "members": ["carol"]}
    deleted = shown["keycloak realm %s: group %s/stale" % (realm, root)]
    assert yaml.safe_load(deleted["before"]) == {"path": root + "/stale", "name": "stale", "members": ["alice"]}
    assert deleted["after"] == "" and deleted["after_header"] == "keycloak realm %s: group (absent)" % realm
    assert len(shown) == 2
    # What the user reads: the removal and the deletion are "-" lines, no Python repr anywhere.
    out = result["_stdout"]
    assert "\n-- dave\n" in out and "\n-- alice\n" in out and "\n-name: drifted-name\n" in out
    assert "None" not in out and "['" not in out and "modified:" not in out
