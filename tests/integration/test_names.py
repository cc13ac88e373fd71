# -*- coding: utf-8 -*-
"""Names people actually use, from the user's side (issue 22, items 7, 9 to 13 and 15).

An offering renamed without a slug, names in Cyrillic, usernames written with spaces, user
searches of several words, names longer than Keycloak holds, ``created`` written with offsets
and fractions, and the messages that name the options. Keycloak is checked through the
raw-HTTP ``admin``, the store through its bytes.
"""

import uuid

import playbook
from helpers import (
    assert_failed,
    assert_ok,
    create_path,
    fqcn,
    group_record,
    kc_snapshot,
    kc_tree,
    load_store,
    member,
    new_uuid,
    store_bytes,
    write_store,
)


def run_all(calls):
    return playbook.run_tasks([{fqcn(module): args} for module, args in calls]).results


def offering(realm, name, slug=None, template="", base_group="", resources=("cluster-a",)):
    """An offering document with one role and ``resources`` (names); ``slug`` None: no slug key."""
    record = {
        "uuid": new_uuid(), "name": name,
        "keycloak": {"realm": realm, "base_group": base_group, "group_name_template": template},
        "roles": [{"uuid": new_uuid(), "name": "admin", "scope_type": ""}],
        "resources": [{"uuid": new_uuid(), "name": r} for r in resources],
    }
    if slug is not None:
        record["slug"] = slug
    return record


def group_of(off, name, resource=0, members=None, created="2026-01-01T00:00:00Z"):
    ids = {"offering": off["uuid"], "role_admin": off["roles"][0]["uuid"],
           "resource": off["resources"][resource]["uuid"] if resource is not None else None}
    return group_record(ids, name, resource="resource" if resource is not None else None, members=members,
                        created=created)


def write(tmp_path, offerings, groups=(), name="store.yml"):
    path = str(tmp_path / name)
    write_store(path, {"version": 1, "offerings": list(offerings), "groups": list(groups)})
    return path


def hexof(value):
    return uuid.UUID(value).hex


# ------------------------------------------------------------------ item 7: renaming an offering

def test_renaming_an_offering_without_slug_moves_nothing(realm, admin, tmp_path):
    """Without ``slug`` the offering's group is named after its UUID: a rename keeps every path."""
    off = offering(realm, "Rancher production")
    path = write(tmp_path, [off], [group_of(off, "admins", members=[member("alice", "pending")])])
    admin.create_user(realm, "alice")
    root = "/" + hexof(off["uuid"])
    assert_ok(playbook.run_module("keycloak_offering_sync", {"store": path}))
    assert sorted(kc_tree(admin, realm)) == [root, root + "/admins"]

    document = load_store(path)
    document["offerings"][0]["name"] = "Rancher production (EU)"
    write_store(path, document)
    sync, listed, status, info = run_all([
        ("keycloak_offering_sync", {"store": path, "members_mode": "exact", "prune": True}),
        ("keycloak_remote_group_info", {"store": path, "offering": "Rancher production (EU)"}),
        ("keycloak_group_sync_info", {"store": path, "offering": "Rancher production (EU)", "members": True}),
        ("keycloak_offering_group_info", {"store": path, "offering": "Rancher production (EU)"}),
    ])
    assert_ok(sync)
    assert sync["changed"] is False, sync["plan"]
    tree = kc_tree(admin, realm)
    assert sorted(tree) == [root, root + "/admins"]
    assert tree[root + "/admins"]["members"] == ["alice"]
    assert assert_ok(listed)["offering_path"] == root
    assert [(g["name"], g["path"]) for g in listed["groups"]] == [("admins", root + "/admins")]
    assert "message" not in listed
    assert assert_ok(status)["in_sync"] is True
    assert assert_ok(info)["groups"][0]["backend_id"] == tree[root + "/admins"]["id"]


def test_groups_of_a_name_derived_slug_are_not_left_behind(realm, admin, tmp_path):
    """An offering whose group an earlier version put under its name-derived slug: refused, not duplicated."""
    off = offering(realm, "Rancher production")
    legacy = admin.create_group(realm, "rancher-production", attributes={"waldur_offering_uuid": [off["uuid"]]})
    admin.create_group(realm, "admins", parent_id=legacy,
                       attributes={"waldur_offering_uuid": [off["uuid"]], "waldur_group_uuid": [new_uuid()]})
    path = write(tmp_path, [off], [group_of(off, "admins")])
    before, snapshot = store_bytes(path), kc_snapshot(admin, realm)
    message = ("slug: Offering 'Rancher production' has its Keycloak groups under /rancher-production, "
               "which earlier versions named after it;")
    for module, args in (("keycloak_offering_sync", {"store": path}),
                         ("keycloak_offering_group", {"store": path, "offering": "Rancher production",
                                                      "role": "admin", "resource": "cluster-a"})):
        for check in (True, False):
            result = playbook.run_module(module, args, check=check)
            assert_failed(result, message, store=path, before=before)
            assert "slug: rancher-production" in result["msg"]
    listed = assert_ok(playbook.run_module("keycloak_remote_group_info", {"store": path,
                                                                          "offering": off["uuid"]}))
    assert listed["groups"] == [] and "slug: rancher-production" in listed["message"]
    assert kc_snapshot(admin, realm) == snapshot

    # The slug the message names keeps the groups where they are.
    document = load_store(path)
    document["offerings"][0]["slug"] = "rancher-production"
    write_store(path, document)
    sync = assert_ok(playbook.run_module("keycloak_offering_sync", {"store": path}))
    assert [p["action"] for p in sync["plan"]] == ["link"]     # the record adopts its group there
    assert sorted(kc_tree(admin, realm)) == ["/rancher-production", "/rancher-production/admins"]


# ------------------------------------------------------------------ item 9: names that are not ASCII

def test_names_in_cyrillic_get_distinct_stable_slugs(realm, admin, tmp_path):
    first = offering(realm, "Кластер", template="$resource_slug-$role_name", resources=("Кластер", "Узел", "Café"))
    second = offering(realm, "Кластерный сервис", template="$offering_slug-$resource_slug")
    path = write(tmp_path, [first, second])
    calls = [("keycloak_offering_group", {"store": path, "offering": "Кластер", "role": "admin", "resource": r})
             for r in ("Кластер", "Узел", "Café")]
    calls.append(("keycloak_offering_group", {"store": path, "offering": "Кластерный сервис", "role": "admin",
                                              "resource": "cluster-a"}))
    results = run_all(calls)
    for result in results:
        assert_ok(result)
    root1, root2 = "/" + hexof(first["uuid"]), "/" + hexof(second["uuid"])
    names = [hexof(first["resources"][0]["uuid"]) + "-admin", hexof(first["resources"][1]["uuid"]) + "-admin",
             "cafe-admin"]
    assert [r["group"]["name"] for r in results] == names + [hexof(second["uuid"]) + "-cluster-a"]
    tree = kc_tree(admin, realm)
    assert sorted(tree) == sorted([root1, root2, root2 + "/" + results[3]["group"]["name"]]
                                  + [root1 + "/" + n for n in names])
    # Stable: a second run names the same groups again and changes nothing.
    for result in run_all(calls):
        assert assert_ok(result)["changed"] is False


# ------------------------------------------------------------------ item 10: usernames with spaces

def test_a_username_with_spaces_is_refused_in_one_line(realm, admin, tmp_path):
    admin.create_user(realm, "carol")
    off = offering(realm, "Rancher production", slug="rancher")
    path = write(tmp_path, [off], [group_of(off, "admins", members=[member(" carol", "pending")])])
    before, snapshot = store_bytes(path), kc_snapshot(admin, realm)
    result = playbook.run_module("keycloak_offering_sync", {"store": path})
    assert_failed(result, "store %s, line " % path, store=path, before=before)
    assert ("groups[0].members[0].username: ' carol' has spaces around it; Keycloak trims usernames, "
            "write 'carol'") in result["msg"]
    # The members option follows the same rule, with the same words.
    write_store(path, {"version": 1, "offerings": [off], "groups": []})
    before = store_bytes(path)
    result = playbook.run_module("keycloak_offering_group", {"store": path, "offering": "Rancher production",
                                                             "role": "admin", "members": ["alice", "carol "]})
    assert_failed(result, "members: 'carol ' has spaces around it; Keycloak trims usernames, write 'carol'",
                  store=path, before=before)
    assert kc_snapshot(admin, realm) == snapshot


# ------------------------------------------------------------------ item 11: searches of several words

def test_user_search_of_several_words(realm, admin, tmp_path):
    admin.create_user(realm, "anna", email="anna@example.com", first_name="Anna", last_name="Van Der Berg")
    admin.create_user(realm, "vanberg", email="vb@example.com", first_name="Van", last_name="Berg")
    admin.create_user(realm, "derek", email="derek@example.com", first_name="Derek", last_name="Vance")
    path = write(tmp_path, [offering(realm, "Rancher production", slug="rancher")])

    def search(q, **extra):
        return [u["username"] for u in assert_ok(playbook.run_module(
            "keycloak_remote_user_info", dict({"store": path, "offering": "Rancher production", "q": q},
                                              **extra)))["users"]]

    assert search("Van Der Berg") == ["anna"]
    assert search("  van   der ") == ["anna"]        # inside a last name, runs of spaces as one
    assert search("Anna Van") == ["anna"]            # inside the full name
    assert search("an") == ["anna", "derek", "vanberg"]
    assert search("Van Berg") == ["vanberg"]         # the full name "Van Berg", not anna's "Van Der Berg"
    assert search("example.com", max=2) == ["anna", "derek"]


# ------------------------------------------------------------------ item 12: lengths

def test_slugs_and_group_names_longer_than_keycloak_holds_are_refused_at_load(realm, admin, tmp_path):
    snapshot = kc_snapshot(admin, realm)
    long_resource = offering(realm, "C", slug="c", resources=("r",))
    long_resource["resources"][0]["slug"] = "r" * 256
    cases = [
        (offering(realm, "A", slug="s" * 256), "offerings[0].slug: is 256 characters long; at most 255"),
        (offering(realm, "B", slug="b", base_group="platform/" + "p" * 256),
         "offerings[0].keycloak.base_group: a group name in it is 256 characters long; at most 255"),
        (long_resource, "offerings[0].resources[0].slug: is 256 characters long; at most 255"),
        (offering(realm, "x" * 256), None),   # the name names no group: the slug is the UUID
        (offering(realm, "D", slug="d" * 255, base_group="p" * 255), None),
    ]
    for index, (off, expected) in enumerate(cases):
        path = write(tmp_path, [off], [group_of(off, "admins")], name="s%d.yml" % index)
        before = store_bytes(path)
        result = playbook.run_module("keycloak_offering_sync", {"store": path}, check=True)
        if expected is None:
            assert_ok(result)
            continue
        assert_failed(result, "store %s, line " % path, store=path, before=before)
        assert expected in result["msg"], result["msg"]
    assert kc_snapshot(admin, realm) == snapshot


# ------------------------------------------------------------------ item 13: newest first, by the instant

def test_list_is_newest_first_by_the_instant(realm, tmp_path):
    off = offering(realm, "Rancher production", slug="rancher", resources=("a", "b", "c", "d"))
    groups = [
        group_of(off, "ten-utc-written-at-plus-two", resource=0, created="2026-01-01T12:00:00+02:00"),
        group_of(off, "eleven", resource=1, created="2026-01-01T11:00:00Z"),
        group_of(off, "ten-and-a-half-second", resource=2, created="2026-01-01T10:00:00.5Z"),
        group_of(off, "ten-ten", resource=3, created="2026-01-01T10:10:00+00:00"),
    ]
    path = write(tmp_path, [off], groups)
    result = assert_ok(playbook.run_module("keycloak_offering_group_info", {"store": path}))
    assert [g["name"] for g in result["groups"]] == [
        "eleven", "ten-ten", "ten-and-a-half-second", "ten-utc-written-at-plus-two"]
    assert result["groups"][3]["created"] == "2026-01-01T12:00:00+02:00"   # shown as written


# ------------------------------------------------------------------ item 15: messages name the options

def test_messages_name_the_option(realm, admin, tmp_path):
    off = offering(realm, "Rancher production", slug="rancher")
    path = write(tmp_path, [off])
    create_path(admin, realm, "/staff/hand-made")
    before, snapshot = store_bytes(path), kc_snapshot(admin, realm)
    base = {"store": path, "offering": "Rancher production"}
    cases = [
        ("keycloak_group_import", dict(base, role="admin", remote_group_path="/staff/hand-made", uuid="not-a-uuid"),
         "uuid: Must be a valid UUID. Got 'not-a-uuid'."),
        ("keycloak_group_import", dict(base, remote_group_path="/staff/hand-made"),
         "role_uuid: This field is required."),
        ("keycloak_group_import", dict(base, role="admin"), "remote_group_id: This field is required."),
        ("keycloak_group_import", dict(base, role="admin", remote_group_id="  "),
         "remote_group_id: This field is required."),
        ("keycloak_offering_group", {"store": path, "role": "admin"}, "offering_uuid: This field is required."),
        ("keycloak_remote_group_info", dict(base, group_id="  "), "group_id: This field is required."),
        ("keycloak_remote_user_info", base, "q: This field is required."),
        ("keycloak_connection_test", {"store": path}, "offering_uuid: This field is required."),
    ]
    results = run_all([(module, args) for module, args, _message in cases])
    for (module, _args, message), result in zip(cases, results):
        assert_failed(result, message, store=path, before=before)
    assert kc_snapshot(admin, realm) == snapshot
