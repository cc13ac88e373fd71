# -*- coding: utf-8 -*-
"""Idempotent without write-back (issue 23): an apply whose store write was lost (AWX discards the job's
checkout) or could not happen (a read-only checkout) is a no-op the next time, because Keycloak's own
markers say which group belongs to which record.

Each test restores the store's bytes as they were committed, the way a fresh checkout does, and checks
Keycloak with the independent raw-HTTP ``admin`` client.
"""

import contextlib
import os
import stat
import subprocess

import playbook
from helpers import (
    assert_ok,
    bulk_users,
    create_path,
    group_record,
    kc_snapshot,
    member,
    run_failing,
    store_bytes,
    write_groups,
)
from test_drift_report import fail_message, run_report

SYNC = "keycloak_offering_sync"
INFO = "keycloak_group_sync_info"


def run(module, args, check=False):
    return playbook.run_module(module, args, check=check, diff=check)


def fresh_checkout(path, committed):
    """The store as Git has it: what the last job wrote is gone."""
    with open(path, "wb") as stream:
        stream.write(committed)


@contextlib.contextmanager
def read_only(directory):
    """The checkout's directory as a read-only checkout is: no file in it can be written or replaced.

    Root writes through any mode bits, so as root the directory is made immutable instead.
    """
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", directory], check=True)
    else:
        os.chmod(directory, stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", directory], check=True)
        else:
            os.chmod(directory, stat.S_IRWXU)


def committed_store(offering_store, admin, realm):
    """A store as it is committed before any apply: two groups, no links, members declared (pending)."""
    path, ids = offering_store()
    bulk_users(admin, realm, [{"username": "alice"}, {"username": "bob"}])
    records = [group_record(ids, "admins", members=[member("alice", state="pending")]),
               group_record(ids, "members", role="role_member", members=[member("bob", state="pending")])]
    write_groups(path, records)
    return path, ids, records, store_bytes(path)


def test_a_second_apply_from_an_unchanged_checkout_changes_nothing(admin, realm, offering_store):
    path, ids, records, committed = committed_store(offering_store, admin, realm)
    args = {"store": path, "offering": ids["offering"], "members_mode": "exact"}
    first = assert_ok(run(SYNC, args))
    assert first["changed"] is True and first["offerings"][0]["created"] == ["admins", "members"]
    made = kc_snapshot(admin, realm)
    assert made["groups"]["/rancher-prod/admins"]["attributes"]["waldur_group_uuid"] == [records[0]["uuid"]]
    assert made["groups"]["/rancher-prod/members"]["members"] == ["bob"]

    fresh_checkout(path, committed)
    check = assert_ok(run(SYNC, args, check=True))
    # Keycloak is as declared: nothing to do there, so no drift and no change; the store only lacks links.
    assert (check["changed"], check["drift"]) == (False, False)
    assert [e["action"] for e in check["plan"]] == ["link", "link"]
    assert check["offerings"][0]["linked_by_marker"] == ["admins", "members"]
    assert check["offerings"][0]["created"] == [] and check["offerings"][0]["adopted"] == []

    second = assert_ok(run(SYNC, args))
    assert second["changed"] is False, second["plan"]
    assert (second["store_updated"], second["store_written"]) == (2, True)
    assert kc_snapshot(admin, realm) == made

    fresh_checkout(path, committed)
    info = assert_ok(run(INFO, {"store": path, "offering": ids["offering"], "members": True}))
    assert (info["in_sync"], info["store_behind"]) == (True, True)
    assert info["unrecorded"] == [
        {"local_name": "admins", "remote_name": "admins", "backend_id": made["groups"]["/rancher-prod/admins"]["id"],
         "found_by": "marker"},
        {"local_name": "members", "remote_name": "members",
         "backend_id": made["groups"]["/rancher-prod/members"]["id"], "found_by": "marker"}]
    # The spec's lists stay by backend_id: both records are local only, both groups remote only.
    assert info["local_only"] == ["admins", "members"] and info["remote_only"] == ["admins", "members"]
    assert [d["unrecorded"] for d in info["members"]] == [["alice"], ["bob"]]
    assert store_bytes(path) == committed


def test_a_read_only_checkout_fails_nothing_and_changes_keycloak_once(admin, realm, offering_store):
    path, ids, _records, committed = committed_store(offering_store, admin, realm)
    args = {"store": path, "offering": ids["offering"]}
    with read_only(os.path.dirname(path)):
        first = run(SYNC, args)
        assert_ok(first)
        assert first["changed"] is True and first["store_written"] is False
        assert len(first.get("warnings", [])) == 1, first.get("warnings")
        assert first["warnings"][0].startswith("cannot write store %s: " % path)
        assert "Keycloak is as the store declares it" in first["warnings"][0]
        made = kc_snapshot(admin, realm)
        assert sorted(p for p in made["groups"] if p.startswith("/rancher-prod/")) == [
            "/rancher-prod/admins", "/rancher-prod/members"]
        assert made["groups"]["/rancher-prod/admins"]["members"] == ["alice"]

        second = run(SYNC, args)
        assert_ok(second)
        assert second["changed"] is False and second["store_written"] is False and second["plan"]
        assert all(e["action"] in ("link", "update_record") for e in second["plan"]), second["plan"]
        assert kc_snapshot(admin, realm) == made
    assert store_bytes(path) == committed


def test_a_group_deleted_by_hand_is_still_drift_and_is_made_again(admin, realm, offering_store):
    path, ids, _records, committed = committed_store(offering_store, admin, realm)
    args = {"store": path, "offering": ids["offering"]}
    assert_ok(run(SYNC, args))
    fresh_checkout(path, committed)
    gone = admin.group_by_path(realm, "/rancher-prod/members")
    admin.delete_group(realm, gone["id"])

    check = assert_ok(run(SYNC, args, check=True))
    assert (check["changed"], check["drift"]) is not None and check["changed"] is True and check["drift"] is True
    assert check["offerings"][0]["created"] == ["members"]
    assert check["offerings"][0]["linked_by_marker"] == ["admins"]
    info = assert_ok(run(INFO, {"store": path, "offering": ids["offering"]}))
    assert info["in_sync"] is False and info["local_only"] == ["admins", "members"]
    assert [u["local_name"] for u in info["unrecorded"]] == ["admins"]

    assert assert_ok(run(SYNC, args))["changed"] is True
    assert admin.group_by_path(realm, "/rancher-prod/members") is not None


def test_the_marker_follows_a_rename_in_the_store(admin, realm, offering_store):
    """The record was renamed and committed, the apply's link was not: the group carrying its marker is
    renamed, not a second group created beside it."""
    path, ids, records, committed = committed_store(offering_store, admin, realm)
    args = {"store": path, "offering": ids["offering"]}
    assert_ok(run(SYNC, args))
    first_id = admin.group_by_path(realm, "/rancher-prod/admins")["id"]
    fresh_checkout(path, committed)
    records[0]["name"] = "cluster-admins"
    write_groups(path, records)

    result = assert_ok(run(SYNC, args))
    assert result["offerings"][0]["renamed"] == ["cluster-admins"]
    assert result["offerings"][0]["created"] == []
    assert [e["action"] for e in result["plan"] if e["action"].endswith("_group")] == ["rename_group"]
    assert admin.group_by_path(realm, "/rancher-prod/cluster-admins")["id"] == first_id
    assert admin.group_by_path(realm, "/rancher-prod/admins") is None


def test_a_namesake_made_for_another_record_is_not_adopted(admin, realm, offering_store):
    """Record A is named like the group that carries record B's marker (B was renamed in the store): A must
    not take B's group by its name."""
    path, ids, records, committed = committed_store(offering_store, admin, realm)
    args = {"store": path, "offering": ids["offering"]}
    assert_ok(run(SYNC, args))
    fresh_checkout(path, committed)
    records[1]["name"] = "project-members"      # B renamed: its group "members" still carries B's marker
    extra = group_record(ids, "members", resource="resource_b")
    write_groups(path, records + [extra])
    before = kc_snapshot(admin, realm)
    run_failing(SYNC, args, "A local group already exists for this remote Keycloak group. Group 'members' "
                "cannot adopt /rancher-prod/members: it carries the marker of record 'project-members' (%s)."
                % records[1]["uuid"], path)
    assert kc_snapshot(admin, realm) == before


def test_a_hand_made_group_is_still_adopted_by_name(admin, realm, offering_store):
    """The naming rule, as before: a group made by hand under the offering is linked by its name; an apply
    that has only that to do changes nothing in Keycloak."""
    path, ids = offering_store()
    hand = create_path(admin, realm, "/rancher-prod/admins")
    write_groups(path, [group_record(ids, "admins")])
    result = assert_ok(run(SYNC, {"store": path, "offering": ids["offering"]}))
    assert result["offerings"][0]["adopted"] == ["admins"] and result["changed"] is False
    assert result["store_written"] is True and result["plan"][0]["action"] == "link"
    info = assert_ok(run(INFO, {"store": path, "offering": ids["offering"]}))
    assert info["synced"][0]["backend_id"] == hand and info["unrecorded"] == []


def test_the_drift_report_tells_a_store_behind_from_drift(admin, realm, offering_store, tmp_path):
    """After an apply whose write-back was lost, the report says "commit the store" and succeeds (unless
    asked to fail on it); a group deleted by hand then is drift, and fails it."""
    path, ids, _records, committed = committed_store(offering_store, admin, realm)
    assert_ok(run(SYNC, {"store": path, "offering": ids["offering"], "members_mode": "exact"}))
    fresh_checkout(path, committed)

    report = run_report(tmp_path, path, "drift_report_members_mode=exact", out="behind")
    assert report.returncode == 0, report.output()
    entry = report.offering("Rancher production")
    assert (entry["status"], entry["drift"]) == ("store_behind", False)
    assert entry["store_behind"] == {"links": 2, "members": 2}
    assert report.json["totals"]["store_behind"] == 1 and report.json["totals"]["drifted"] == 0
    assert "Rancher production: STORE BEHIND (Keycloak matches; the store lacks 2 links and 2 member states" \
        in report.stdout
    markdown = report.markdown
    assert "📝 store behind" in markdown and "Commit the store" in markdown
    assert "link not in the store: admins -> Keycloak group admins (" in markdown
    assert "members of members in Keycloak, pending in the store: bob" in markdown
    assert "local only (in the store" not in markdown and "remote only (in Keycloak" not in markdown
    assert "| 📝 store behind | 2 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |" in markdown
    case = report.testcases()["Rancher production"]
    assert case.find("failure") is None and "link not in the store" in case.find("system-out").text
    assert store_bytes(path) == committed

    strict = run_report(tmp_path, path, "drift_report_fail_on_store_behind=true", out="strict")
    assert strict.returncode != 0
    assert "the store lacks links or member states that Keycloak has in 1 of 1 offerings: 'Rancher production'" \
        in fail_message(strict)
    assert strict.testcases()["Rancher production"].find("failure").get("type") == "store_behind"

    admin.delete_group(realm, admin.group_by_path(realm, "/rancher-prod/members")["id"])
    drift = run_report(tmp_path, path, out="drift")
    assert drift.returncode != 0
    entry = drift.offering("Rancher production")
    assert (entry["status"], entry["drift"]) == ("drift", True)
    assert "Keycloak drift in 1 of 1 offerings: 'Rancher production'" in fail_message(drift)
    assert "create_group /rancher-prod/members" in drift.markdown


# Each would create a MARK* file in the report's directory if an output rendered it as a template.
HOSTILE_NAMES = [
    "{{ lookup('pipe', 'touch MARK-expr') }}",
    "{% set x = lookup('pipe', 'touch MARK-stmt') %}{{ x }}",
    "md | pipe | `tick` <script>x<script> [l](javascript:x) *em* ``` fence",
    "xml <tag> & ]]> <![CDATA[ \" '",
    "line\nbreak\x1b[31m rtl \u202eevil nel\x85 end",
    "long " + "é" * 140,
]


def test_hostile_names_in_a_store_behind_report_are_data(admin, realm, offering_store, tmp_path):
    """The store-behind lines carry names from the store and from Keycloak: text in every output."""
    path, ids = offering_store()
    write_groups(path, [group_record(ids, name, role="role_member", scope_id="s%d" % index)
                        for index, name in enumerate(HOSTILE_NAMES)])
    committed = store_bytes(path)
    assert_ok(run(SYNC, {"store": path, "offering": ids["offering"]}))
    fresh_checkout(path, committed)

    report = run_report(tmp_path, path)
    assert report.returncode == 0, report.output()
    assert not [n for _d, _s, files in os.walk(str(tmp_path)) for n in files if n.startswith("MARK")]
    entry = report.offering("Rancher production")
    assert entry["status"] == "store_behind"
    assert sorted(u["remote_name"] for u in entry["sync_info"]["unrecorded"]) == sorted(HOSTILE_NAMES)
    case = report.testcases()["Rancher production"]   # the JUnit file parses
    assert case.find("failure") is None
    assert "{{ lookup('pipe', 'touch MARK-expr') }}" in case.find("system-out").text
    markdown = report.markdown
    behind = markdown.split("Commit the store from a run that can write it.", 1)[1].split("```text\n", 1)[1]
    block = behind.split("\n```\n", 1)[0].split("\n")
    assert len(block) == len(HOSTILE_NAMES)         # one line each: no name opened or closed the fence
    for row in [line for line in markdown.splitlines() if line.startswith("|")]:
        assert row.count("|") - row.count("\\|") == 15 or row.count("|") - row.count("\\|") == 8, row
    assert "\x1b" not in report.stdout and "\u202e" not in report.stdout
