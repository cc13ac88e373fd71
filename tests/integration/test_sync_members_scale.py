# -*- coding: utf-8 -*-
"""keycloak_offering_sync with members on every group, against the real Keycloak: every membership lands,
and the requests are what bulk reading implies (member listings side by side, users resolved in bulk).

Keycloak is read with the independent raw-HTTP ``admin`` fixture (kc.RawAdmin); the request counts come
from the module's own counter (WALDUR_KEYCLOAK_STATS_FILE), one line per task.
"""

import json
import os

import playbook
import yaml
from helpers import (bulk_users, check_apply_rerun, group_record, member, store_group, store_groups, user_id,
                     write_groups)

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


def test_many_groups_of_few_users_are_read_from_the_users_side(admin, realm, offering_store, tmp_path):
    """30 groups, 4 store users (one a service account, which the realm's user listing leaves out): additive
    sync reads the users' groups (a count, a page, one exact search, 4 listings) instead of 30 member listings;
    check mode announces what apply does; a member added by hand is left alone and the store says nothing of
    him; exact mode lists the groups and removes him."""
    client = admin.call("POST", "/realms/%s/clients" % realm,
                        json={"clientId": "robot", "serviceAccountsEnabled": True, "publicClient": False})
    assert client.status_code == 201
    robot_client = admin.get("/realms/%s/clients" % realm, clientId="robot")[0]["id"]
    robot = admin.get("/realms/%s/clients/%s/service-account-user" % (realm, robot_client))
    bulk_users(admin, realm, [{"username": u} for u in ("ann", "ben", "cid", "hand")])
    store, ids = offering_store()
    records = [group_record(ids, "crew-%02d" % i, role="role_member", scope_id="c%02d" % i) for i in range(30)]
    write_groups(store, records)
    result, _requests = sync_counted(store, tmp_path, "groups")     # the groups, linked, no members yet
    linked = dict((g["name"], g["backend_id"]) for g in store_groups(store))
    admin.join(realm, user_id(admin, realm, "ann"), linked["crew-00"])
    admin.join(realm, user_id(admin, realm, "hand"), linked["crew-00"])

    # Every group wants ann, ben, cid and the robot; crew-00 has ann (and hand) already.
    names = ["ann", "ben", "cid", robot["username"]]
    groups = store_groups(store)
    for record in groups:
        record["members"] = [{"username": u} for u in names]
    write_groups(store, groups)
    args = {"store": store, "parallelism": 4}
    check, real, _rerun = check_apply_rerun("keycloak_offering_sync", args, store, admin=admin, realm=realm)
    added = sorted(p["target"] + " " + p["username"] for p in real["plan"] if p["action"] == "add_member")
    assert len(added) == 30 * 4 - 1
    for name, group_id in linked.items():
        expected = sorted(names + (["hand"] if name == "crew-00" else []))
        assert admin.member_names(realm, group_id) == expected, name
    assert "crew-00: hand" not in " ".join(real["offerings"][0]["members_added"])
    # The diff shows crew-00's members as the store names them: ann before, the four after.
    shown = dict((d["before_header"], d) for d in check["diff"] if d["before_header"].startswith("keycloak"))
    crew = shown["keycloak realm %s: group /rancher-prod/crew-00" % realm]
    assert yaml.safe_load(crew["before"])["members"] == ["ann"]
    assert yaml.safe_load(crew["after"])["members"] == sorted(names)

    # The no-op's requests: a token, the offering's group, then the users' side: the count, one page of the
    # realm's users, one exact search (the robot), 4 group listings; not 30. The users' groups confirm every
    # link (with its name and path), so the offering's children are not listed.
    result, requests = sync_counted(store, tmp_path, "noop")
    assert result["changed"] is False
    assert requests == 1 + 1 + (1 + 1 + 1 + 4)

    # A group deleted in Keycloak is not among the users' groups: the sync lists the children and says so.
    assert admin.call("DELETE", "/realms/%s/groups/%s" % (realm, linked["crew-07"])).status_code == 204
    result, requests = sync_counted(store, tmp_path, "gone")
    assert result["changed"] is False and result["offerings"][0]["missing_remote"] == ["crew-07"]
    assert requests == 1 + 1 + (1 + 1 + 1 + 4) + 1 + 1     # + crew-07 by id (404), the children's page

    # Exact mode must see members the store does not name: one listing per group, hand removed.
    run = playbook.run_tasks([{MODULE: dict(args, members_mode="exact")}])
    assert run.result["offerings"][0]["members_removed"] == ["crew-00: hand"]
    assert admin.member_names(realm, linked["crew-00"]) == sorted(names)
