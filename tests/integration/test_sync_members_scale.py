# -*- coding: utf-8 -*-
"""keycloak_offering_sync with members on every group, against the real Keycloak: every membership lands,
and the requests are what bulk reading implies (member listings side by side, users resolved in bulk).

Keycloak is read with the independent raw-HTTP ``admin`` fixture (kc.RawAdmin); the request counts come
from the module's own counter (WALDUR_KEYCLOAK_STATS_FILE), one line per task.
"""

import json
import os

import playbook
from helpers import bulk_users, group_record, member, store_group, store_groups, write_groups

MODULE = "waldur.keycloak.keycloak_offering_sync"
GROUPS = 40
PER_GROUP = 5
USERS = 60
PAGE = 100      # the client's page size


def sync_counted(store, tmp_path, name):
    """One sync task; its result and the requests it sent."""
    stats = str(tmp_path / ("%s.jsonl" % name))
    run = playbook.run_tasks([{MODULE: {"store": store, "parallelism": 4}}],
                             env={"WALDUR_KEYCLOAK_STATS_FILE": stats})
    result = run.result
    assert not result.get("failed"), result.get("msg")
    with open(stats) as stream:
        lines = [json.loads(line) for line in stream if line.strip()]
    assert len(lines) == 1, lines
    os.unlink(stats)
    return result, lines[0]["requests"]


def test_members_of_many_groups_land_and_a_rerun_reads_one_listing_per_group(admin, realm, offering_store,
                                                                             tmp_path):
    usernames = ["user-%02d" % i for i in range(USERS)]
    bulk_users(admin, realm, [{"username": u} for u in usernames])
    store, ids = offering_store()
    wanted = {}
    records = []
    for index in range(GROUPS):
        names = [usernames[(index * PER_GROUP + j) % USERS] for j in range(PER_GROUP)]
        record = group_record(ids, "team-%02d" % index, role="role_member", scope_id="p%02d" % index,
                              members=[{"username": u} for u in names])     # declared: pending
        records.append(record)
        wanted[record["name"]] = (record["uuid"], sorted(names))
    write_groups(store, records)

    # First apply: the offering's group, 40 groups and 200 memberships. The 60 wanted users are resolved
    # by the realm's user listing (its count, then one page of 100), not by 60 searches.
    result, requests = sync_counted(store, tmp_path, "first")
    report = result["offerings"][0]
    assert len(report["created"]) == GROUPS and len(report["members_added"]) == GROUPS * PER_GROUP
    assert report["pending"] == []
    token, root_lookup, root_create = 1, 1, 1
    assert requests == token + root_lookup + root_create + GROUPS + (1 + USERS // PAGE + 1) + GROUPS * PER_GROUP
    root = admin.group_by_path(realm, "/rancher-prod")
    remote = dict((g["name"], g["id"]) for g in admin.children(realm, root["id"]))
    stored = dict((g["uuid"], g) for g in store_groups(store))
    for name, (group_uuid, names) in wanted.items():
        assert admin.member_names(realm, remote[name]) == names
        assert stored[group_uuid]["backend_id"] == remote[name]
        assert dict((m["username"], m["state"]) for m in stored[group_uuid]["members"]) == dict(
            (u, "active") for u in names)

    # No-op re-apply: a token, the offering's group, its children (one page), one member listing per group.
    result, requests = sync_counted(store, tmp_path, "noop")
    assert result["changed"] is False
    assert requests == token + root_lookup + (GROUPS // PAGE + 1) + GROUPS

    # Two users wanted by a new group: two exact searches are fewer than the count and a page.
    extra = group_record(ids, "team-extra", role="role_member", scope_id="extra",
                         members=[member("user-00", state="pending"), member("USER-59", state="pending")])
    write_groups(store, store_groups(store) + [extra])
    result, requests = sync_counted(store, tmp_path, "extra")
    assert result["offerings"][0]["members_added"] == ["team-extra: user-00", "team-extra: user-59"]
    assert requests == token + root_lookup + 1 + GROUPS + 2 + 1 + 2   # page, listings, searches, POST, PUTs
    extra_id = store_group(store, extra["uuid"])["backend_id"]
    assert admin.member_names(realm, extra_id) == ["user-00", "user-59"]
