# -*- coding: utf-8 -*-
"""A mistyped realm is not a missing group: every module fails in one line naming the realm.

The store's offering names a realm that does not exist on the real Keycloak; its records are
linked to groups of the test's real realm. No module may drop a record, report sync, plan a
create or call a group missing because the realm is; the store's bytes and the real realm
(checked through the raw client) stay exactly as they were. ``force: true`` on state absent
remains the explicit way to drop a record anyway.
"""

import os

import playbook
from helpers import (
    assert_ok,
    create_path,
    fqcn,
    group_record,
    kc_snapshot,
    load_store,
    member,
    store_bytes,
    store_groups,
    write_groups,
    write_store,
)
from test_drift_report import run_report
from test_inventory import run_inventory, write_config


def typo_store(admin, realm, offering_store):
    """The real realm holds /rancher-prod/linked (alice in it) and /staff/other; the store points at a typo."""
    linked = create_path(admin, realm, "/rancher-prod/linked")
    other = create_path(admin, realm, "/staff/other")
    alice = admin.create_user(realm, "alice")
    admin.join(realm, alice, linked)
    path, ids = offering_store()
    document = load_store(path)
    typo = realm + "-typo"
    document["offerings"][0]["keycloak"]["realm"] = typo
    write_store(path, document)
    records = {
        "linked": group_record(ids, "linked", role="role_admin", resource="resource_a", backend_id=linked,
                               members=[member("alice")]),
        "unlinked": group_record(ids, "unlinked", role="role_member", resource="resource_b"),
    }
    write_groups(path, list(records.values()))
    return path, ids, typo, records, linked, other


def expected_message(typo, keycloak_url):
    return "realm '%s' does not exist on %s" % (typo, keycloak_url.rstrip("/"))


def test_every_module_fails_on_a_missing_realm_and_changes_nothing(admin, realm, offering_store, keycloak_url):
    path, ids, typo, records, linked, other = typo_store(admin, realm, offering_store)
    offering = ids["offering"]
    linked_uuid, unlinked_uuid = records["linked"]["uuid"], records["unlinked"]["uuid"]
    cases = [
        # (name, module, args, check mode, the operation's own message that comes first, if any)
        ("absent", "keycloak_offering_group", {"uuid": linked_uuid, "state": "absent"}, False,
         "Unable to delete the remote Keycloak group."),
        ("absent check", "keycloak_offering_group", {"uuid": linked_uuid, "state": "absent"}, True,
         "Unable to delete the remote Keycloak group."),
        ("present new", "keycloak_offering_group",
         {"offering": offering, "role": ids["role_admin"], "resource": ids["resource_b"]}, False, ""),
        ("present new check", "keycloak_offering_group",
         {"offering": offering, "role": ids["role_admin"], "resource": ids["resource_b"]}, True, ""),
        ("present linked", "keycloak_offering_group", {"uuid": linked_uuid}, False, ""),
        ("pull_members", "keycloak_offering_group", {"uuid": linked_uuid, "pull_members": True}, False,
         "Unable to fetch members from Keycloak."),
        ("members", "keycloak_offering_group", {"uuid": linked_uuid, "members": ["alice", "bob"]}, False, ""),
        ("backend_id link", "keycloak_offering_group", {"uuid": unlinked_uuid, "backend_id": other}, False, ""),
        ("sync check", "keycloak_offering_sync", {"offering": offering}, True,
         "Unable to retrieve sync status from Keycloak."),
        ("sync apply", "keycloak_offering_sync", {"offering": offering, "prune": True}, False,
         "Unable to retrieve sync status from Keycloak."),
        ("sync every offering", "keycloak_offering_sync", {}, False, "Unable to retrieve sync status from Keycloak."),
        ("sync info", "keycloak_group_sync_info", {"offering": offering}, False,
         "Unable to retrieve sync status from Keycloak."),
        ("sync info members", "keycloak_group_sync_info", {"offering": offering, "members": True}, False,
         "Unable to retrieve sync status from Keycloak."),
        ("remote groups", "keycloak_remote_group_info", {"offering": offering}, False,
         "Unable to list remote Keycloak groups."),
        ("remote members", "keycloak_remote_group_info", {"offering": offering, "group_id": linked}, False,
         "Unable to list remote group members."),
        ("remote users", "keycloak_remote_user_info", {"offering": offering, "q": "alice"}, False,
         "Unable to search remote users."),
        ("import by id", "keycloak_group_import",
         {"offering": offering, "role": ids["role_member"], "resource": ids["resource_a"], "remote_group_id": other},
         False, "Unable to connect to Keycloak."),
        ("import by path", "keycloak_group_import",
         {"offering": offering, "role": ids["role_member"], "resource": ids["resource_a"],
          "remote_group_path": "/staff/other"}, False, "Unable to connect to Keycloak."),
        ("connection test", "keycloak_connection_test", {"offering": offering}, False,
         "Unable to connect to Keycloak."),
    ]
    before_store, before_realm = store_bytes(path), kc_snapshot(admin, realm)
    tasks = [dict({fqcn(module): dict(args, store=path)}, check_mode=check) for _n, module, args, check, _p in cases]
    # The connection test also takes a realm without a store.
    tasks.append({fqcn("keycloak_connection_test"): {"realm": typo}})
    cases.append(("connection test realm", "keycloak_connection_test", {}, False, "Unable to connect to Keycloak."))
    run = playbook.run_tasks(tasks)
    wanted = expected_message(typo, keycloak_url)
    problems = []
    for (name, _module, _args, _check, prefix), result in zip(cases, run.results):
        msg = result.get("msg") or ""
        if not result.get("failed"):
            problems.append("%s: did not fail: %r" % (name, dict((k, result.get(k)) for k in ("changed", "plan"))))
            continue
        if msg != ("%s %s" % (prefix, wanted) if prefix else wanted) and not (
                prefix and msg.startswith(prefix) and wanted in msg):
            problems.append("%s: %r" % (name, msg))
        if result.get("changed"):
            problems.append("%s: reported a change" % name)
    assert not problems, "\n".join(problems)
    # Not one ansible-playbook task said otherwise: every one failed (and was ignored).
    assert store_bytes(path) == before_store
    assert kc_snapshot(admin, realm) == before_realm
    assert admin.group(realm, linked)["path"] == "/rancher-prod/linked"
    assert admin.member_names(realm, linked) == ["alice"]


def test_absent_keeps_the_record_but_force_drops_it_and_only_it(admin, realm, offering_store, keycloak_url):
    path, _ids, typo, records, linked, _other = typo_store(admin, realm, offering_store)
    before_realm = kc_snapshot(admin, realm)
    kept = playbook.run_module("keycloak_offering_group", {"store": path, "uuid": records["linked"]["uuid"],
                                                           "state": "absent"})
    assert kept.get("failed") and not kept.get("changed"), kept
    assert kept["msg"] == ("Unable to delete the remote Keycloak group. %s The local record is kept; use force=true "
                           "to delete it anyway." % expected_message(typo, keycloak_url)), kept["msg"]
    assert records["linked"]["uuid"] in [g["uuid"] for g in store_groups(path)]

    # The explicit escape hatch: the record goes, the Keycloak group (in a realm the store does not name) stays.
    forced = assert_ok(playbook.run_module("keycloak_offering_group", {
        "store": path, "uuid": records["linked"]["uuid"], "state": "absent", "force": True}))
    assert forced["changed"]
    assert [g["uuid"] for g in store_groups(path)] == [records["unlinked"]["uuid"]]
    assert kc_snapshot(admin, realm) == before_realm
    assert admin.member_names(realm, linked) == ["alice"]


def test_live_members_inventory_fails_on_a_missing_realm(admin, realm, offering_store, keycloak_url):
    path, _ids, typo, _records, _linked, _other = typo_store(admin, realm, offering_store)
    before = store_bytes(path)
    config = write_config(os.path.dirname(path), "live.offering_groups.yml", live_members=True)
    process, _hostvars, _data = run_inventory(config, expect_ok=False)
    assert process.returncode != 0
    text = " ".join(process.stderr.split())
    assert "Unable to list remote group members. %s" % expected_message(typo, keycloak_url) in text, process.stderr
    assert "does not exist in realm" not in text  # not a warning about one vanished group
    assert store_bytes(path) == before


def test_drift_report_reports_the_missing_realm_as_an_error(tmp_path, admin, realm, offering_store, keycloak_url):
    path, _ids, typo, _records, _linked, _other = typo_store(admin, realm, offering_store)
    before = store_bytes(path)
    report = run_report(tmp_path, path)
    assert report.returncode != 0, report.output()
    entry = report.json["offerings"][0]
    assert entry["status"] == "error", entry
    assert any(expected_message(typo, keycloak_url) in error for error in entry["errors"]), entry["errors"]
    assert store_bytes(path) == before
