# -*- coding: utf-8 -*-
"""The read-only modules against the real Keycloak.

keycloak_offering_group_info (list, retrieve), keycloak_remote_group_info (remote_groups,
remote_group_members), keycloak_remote_user_info (search_remote_users) and
keycloak_group_sync_info (sync_status). Keycloak is set up with the raw-HTTP ``admin``.
"""

import playbook
from helpers import (
    SEED_FIELDS,
    USER_FIELDS,
    assert_failed,
    assert_ok,
    bulk_users,
    create_path,
    fqcn,
    group_record,
    load_store,
    member,
    second_offering,
    store_bytes,
    write_groups,
)


def run_all(calls):
    """Several module calls in one play: ``[(module, args), ...]`` -> their results."""
    return playbook.run_tasks([{fqcn(module): args} for module, args in calls]).results


# ------------------------------------------------------------------ list and retrieve

def test_list_and_retrieve(realm, offering_store):
    hpc, hpc_ids = second_offering()
    path, ids = offering_store(extra_offerings=[hpc])
    g1 = group_record(ids, "g1-admins-a", created="2026-01-01T10:00:00Z")
    g2 = group_record(ids, "g2-members-a", role="role_member", created="2026-01-03T10:00:00Z", scope_id="p-1")
    g3 = group_record(ids, "g3-admins-b", resource="resource_b", created="2026-01-02T10:00:00Z",
                      backend_id="3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44")
    g4 = group_record(ids, "g4-members-none", role="role_member", resource=None, created="2026-01-05T10:00:00Z")
    g5 = group_record(ids, "g5-members-b", role="role_member", resource="resource_b",
                      created="2026-01-04T10:00:00Z", members=[member("alice")])
    h1 = group_record(hpc_ids, "h1-hpc", role="role", resource="resource", offering="offering",
                      created="2026-01-06T10:00:00Z")
    write_groups(path, [g1, g2, g3, g4, g5, h1])
    before = store_bytes(path)
    newest_first = ["g4-members-none", "g5-members-b", "g2-members-a", "g3-admins-b", "g1-admins-a"]

    module = "keycloak_offering_group_info"
    base = {"store": path, "offering": ids["offering"]}
    calls = [
        (module, {"store": path}),                                                   # 0 everything
        (module, base),                                                               # 1 one offering
        (module, {"store": path, "offering": "Rancher production"}),                  # 2 offering by name
        (module, dict(base, role="project-member")),                                  # 3 role by name
        (module, {"store": path, "role": ids["role_member"]}),                        # 4 role by uuid alone
        (module, dict(base, resource="cluster-b")),                                   # 5 resource
        (module, {"store": path, "resource": ids["resource_a"]}),                     # 6 resource by uuid
        (module, dict(base, role="project-member", resource=ids["resource_b"])),      # 7 both
        (module, {"store": path, "uuid": g3["uuid"]}),                                # 8 retrieve
        (module, dict(base, page=1, page_size=2)),                                    # 9
        (module, dict(base, page=2, page_size=2)),                                    # 10
        (module, dict(base, page=3, page_size=2)),                                    # 11
        (module, dict(base, page=4, page_size=2)),                                    # 12 past the end
        (module, {"store": path, "uuid": "00000000-0000-4000-8000-000000000000"}),   # 13 unknown
        (module, {"store": path, "uuid": "not-a-uuid"}),                              # 14 not a uuid
    ]
    results = run_all(calls)
    for result in results[:13]:
        assert_ok(result)
        for group in result["groups"]:
            assert set(SEED_FIELDS) <= set(group), sorted(set(SEED_FIELDS) - set(group))

    def names(result):
        return [g["name"] for g in result["groups"]]

    assert names(results[0]) == ["h1-hpc"] + newest_first and results[0]["count"] == 6
    assert names(results[1]) == newest_first and results[1]["count"] == 5
    assert names(results[2]) == newest_first
    assert names(results[3]) == ["g4-members-none", "g5-members-b", "g2-members-a"]
    assert names(results[4]) == ["g4-members-none", "g5-members-b", "g2-members-a"]
    assert names(results[5]) == ["g5-members-b", "g3-admins-b"]
    assert names(results[6]) == ["g2-members-a", "g1-admins-a"]
    assert names(results[7]) == ["g5-members-b"] and results[7]["count"] == 1
    assert names(results[8]) == ["g3-admins-b"] and results[8]["count"] == 1
    pages = [results[i] for i in (9, 10, 11, 12)]
    assert [names(p) for p in pages] == [newest_first[0:2], newest_first[2:4], newest_first[4:], []]
    assert [p["count"] for p in pages] == [5, 5, 5, 5]

    retrieved = results[8]["groups"][0]
    assert dict((k, retrieved[k]) for k in SEED_FIELDS) == {
        "uuid": g3["uuid"], "url": "urn:waldur:offering-keycloak-group:" + g3["uuid"], "name": "g3-admins-b",
        "backend_id": "3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44",
        "offering": "urn:waldur:offering:" + ids["offering"], "offering_uuid": ids["offering"],
        "offering_name": "Rancher production",
        "role": "urn:waldur:offering-role:" + ids["role_admin"], "role_name": "cluster-admin",
        "role_scope_type": "cluster",
        "resource": "urn:waldur:resource:" + ids["resource_b"], "resource_uuid": ids["resource_b"],
        "resource_name": "cluster-b", "scope_id": "",
        "created": "2026-01-02T10:00:00Z", "modified": "2026-01-02T10:00:00Z",
    }
    without_resource = results[1]["groups"][0]
    assert (without_resource["resource"], without_resource["resource_uuid"], without_resource["resource_name"]) == (
        None, None, None)
    assert [g["scope_id"] for g in results[3]["groups"]] == ["", "", "p-1"]

    assert_failed(results[13], "Not found.", path, before)
    assert_failed(results[14], "Not found.", path, before)
    assert store_bytes(path) == before


def test_role_and_resource_names_without_offering(realm, offering_store):
    """A name given without offering is looked up in every offering: one match filters, several fail."""
    hpc, hpc_ids = second_offering(role_name="cluster-admin", resource_name="login-node")
    path, ids = offering_store(extra_offerings=[hpc])
    g1 = group_record(ids, "g1-admins-a", created="2026-01-01T10:00:00Z")
    g2 = group_record(ids, "g2-members-a", role="role_member", created="2026-01-03T10:00:00Z")
    g3 = group_record(ids, "g3-admins-b", resource="resource_b", created="2026-01-02T10:00:00Z")
    g4 = group_record(ids, "g4-members-none", role="role_member", resource=None, created="2026-01-05T10:00:00Z")
    h1 = group_record(hpc_ids, "h1-hpc", role="role", resource="resource", created="2026-01-06T10:00:00Z")
    h2 = group_record(hpc_ids, "h2-hpc-none", role="role", resource=None, created="2026-01-07T10:00:00Z")
    write_groups(path, [g1, g2, g3, g4, h1, h2])
    before = store_bytes(path)

    module = "keycloak_offering_group_info"
    results = run_all([
        (module, {"store": path, "role": "project-member"}),                        # 0 a role name of one offering
        (module, {"store": path, "resource": "cluster-b"}),                         # 1 a resource name
        (module, {"store": path, "resource": "login-node"}),                        # 2 the other offering's
        (module, {"store": path, "role": "project-member", "resource": "cluster-a"}),  # 3 both names
        (module, {"store": path, "role": "cluster-admin", "offering": "HPC allocations"}),  # 4 disambiguated
        (module, {"store": path, "role": hpc_ids["role"]}),                         # 5 or by uuid
        (module, {"store": path, "role": "cluster-admin"}),                         # 6 ambiguous
        (module, {"store": path, "role": "no-such-role"}),                          # 7 unknown name
        (module, {"store": path, "resource": "no-such-resource"}),                  # 8 unknown name
        (module, {"store": path, "role": "00000000-0000-4000-8000-000000000000"}),  # 9 unknown uuid
    ])

    def names(result):
        return [g["name"] for g in assert_ok(result)["groups"]]

    assert names(results[0]) == ["g4-members-none", "g2-members-a"]
    assert names(results[1]) == ["g3-admins-b"]
    assert names(results[2]) == ["h1-hpc"]
    assert names(results[3]) == ["g2-members-a"]
    assert names(results[4]) == ["h2-hpc-none", "h1-hpc"]
    assert names(results[5]) == ["h2-hpc-none", "h1-hpc"]
    failed = assert_failed(results[6], "role_uuid: 'cluster-admin' names a role of several offerings", path, before)
    assert "'Rancher production'" in failed["msg"] and "'HPC allocations'" in failed["msg"], failed["msg"]
    assert "give offering" in failed["msg"]
    assert_failed(results[7], "role_uuid: Role not found. No role with UUID or name 'no-such-role'", path, before)
    assert_failed(results[8], "resource_uuid: Resource not found. No resource with UUID or name 'no-such-resource'",
                  path, before)
    assert_failed(results[9], "role_uuid: Role not found.", path, before)


def test_paging_arguments_are_validated(realm, offering_store):
    """Out-of-range page and page_size fail naming the argument, never an empty or a full list."""
    path, ids = offering_store()
    write_groups(path, [group_record(ids, "g%d" % i, scope_id="s%d" % i, created="2026-01-0%dT10:00:00Z" % i)
                        for i in range(1, 4)])
    before = store_bytes(path)
    module = "keycloak_offering_group_info"
    base = {"store": path, "offering": ids["offering"]}
    cases = [
        (dict(base, page=0, page_size=2), "page: Ensure this value is greater than or equal to 1. Got 0."),
        (dict(base, page=-1, page_size=2), "page: Ensure this value is greater than or equal to 1. Got -1."),
        (dict(base, page=1, page_size=0), "page_size: Ensure this value is greater than or equal to 1. Got 0."),
        (dict(base, page_size=-1), "page_size: Ensure this value is greater than or equal to 1. Got -1."),
        (dict(base, page_size=1001), "page_size: Ensure this value is less than or equal to 1000. Got 1001."),
        (dict(base, page=2), "missing parameter(s) required by 'page': page_size"),
    ]
    results = run_all([(module, args) for args, _msg in cases] + [(module, dict(base, page_size=1000))])
    for result, (_args, message) in zip(results, cases):
        assert_failed(result, message, path, before)
    assert [g["name"] for g in assert_ok(results[-1])["groups"]] == ["g3", "g2", "g1"]


# ------------------------------------------------------------------ remote_groups

def test_remote_groups_are_the_children_of_the_offering_group(admin, realm, offering_store):
    path, ids = offering_store()
    based, _based_ids = offering_store(base_group="platform/hpc", suffix=".yaml")
    missing, _missing_ids = offering_store(base_group="nowhere", suffix=".yml.d.yml")
    plain, _plain_ids = offering_store(keycloak=False, suffix=".plain.yml")

    # /rancher-prod with 12 children (more than a /children page of 10); one child has 2 subgroups.
    names = ["team-%02d" % i for i in range(12, 0, -1)]
    for name in names:
        create_path(admin, realm, "/rancher-prod/" + name)
    create_path(admin, realm, "/rancher-prod/team-05/sub-a")
    create_path(admin, realm, "/rancher-prod/team-05/sub-b")
    # Unrelated groups: top level, a look-alike, an offering slug deeper down, the base group's own offering.
    create_path(admin, realm, "/unrelated/child")
    create_path(admin, realm, "/rancher-prod-staging/team-99")
    create_path(admin, realm, "/other/rancher-prod/team-98")
    based_child = create_path(admin, realm, "/platform/hpc/rancher-prod/hpc-team")

    module = "keycloak_remote_group_info"
    results = run_all([
        (module, {"store": path, "offering": ids["offering"]}),
        (module, {"store": based, "offering": "Rancher production"}),
        (module, {"store": missing, "offering": "Rancher production"}),
        (module, {"store": plain, "offering": "Rancher production"}),
        (module, {"store": path, "offering": "No such offering"}),
        (module, {"store": path}),
    ])
    for result in results[:3]:
        assert_ok(result)

    groups = results[0]["groups"]
    assert [g["name"] for g in groups] == sorted(names)
    assert all(set(g) == {"id", "name", "path", "sub_group_count"} for g in groups)
    assert all(g["path"] == "/rancher-prod/" + g["name"] for g in groups)
    counts = dict((g["name"], g["sub_group_count"]) for g in groups)
    assert counts.pop("team-05") == 2
    assert set(counts.values()) == {0}
    for group in groups:
        assert admin.group(realm, group["id"])["path"] == group["path"]
    assert results[0]["offering_path"] == "/rancher-prod"
    assert "message" not in results[0]

    assert results[1]["groups"] == [
        {"id": based_child, "name": "hpc-team", "path": "/platform/hpc/rancher-prod/hpc-team", "sub_group_count": 0}]

    # The offering's group is missing: an empty list and why, never every group of the realm.
    assert results[2]["groups"] == []
    assert "/nowhere/rancher-prod" in results[2]["message"]

    assert_failed(results[3], "Keycloak integration is not enabled for this offering.")
    assert_failed(results[4], "offering_uuid: Offering not found.")
    assert_failed(results[5], "offering_uuid: This field is required.")


# ------------------------------------------------------------------ remote_group_members

def test_remote_group_members(admin, realm, offering_store):
    path, ids = offering_store()
    big = create_path(admin, realm, "/rancher-prod/big")
    small = create_path(admin, realm, "/rancher-prod/small")
    users = [{"username": "user-%03d" % i, "email": "user-%03d@example.org" % i, "groups": ["/rancher-prod/big"]}
             for i in range(120)]
    users.append({"username": "alice", "email": "alice@example.org", "firstName": "Alice", "lastName": "Liddell",
                  "groups": ["/rancher-prod/small"]})
    users.append({"username": "bob", "groups": ["/rancher-prod/small"]})
    bulk_users(admin, realm, users)
    assert len(admin.members(realm, big)) == 120

    module = "keycloak_remote_group_info"
    base = {"store": path, "offering": ids["offering"]}
    results = run_all([
        (module, dict(base, group_id=big)),
        (module, dict(base, group_id=small)),
        (module, dict(base, group_id="00000000-0000-4000-8000-00000000dead")),
        (module, dict(base, group_id="")),
    ])
    assert_ok(results[0])
    members = results[0]["members"]
    assert len(members) == 120
    assert sorted(m["username"] for m in members) == ["user-%03d" % i for i in range(120)]
    assert len(set(m["id"] for m in members)) == 120

    assert_ok(results[1])
    alice_id = [u["id"] for u in admin.members(realm, small) if u["username"] == "alice"][0]
    assert sorted(results[1]["members"], key=lambda m: m["username"]) == [
        {"id": alice_id, "username": "alice", "email": "alice@example.org", "first_name": "Alice",
         "last_name": "Liddell"},
        {"id": results[1]["members"][[m["username"] for m in results[1]["members"]].index("bob")]["id"],
         "username": "bob", "email": "", "first_name": "", "last_name": ""},
    ]
    assert all(set(m) == set(USER_FIELDS) for m in results[1]["members"])

    assert_failed(results[2], "Unable to list remote group members.")
    assert_failed(results[3], "group_id: This field is required.")


# ------------------------------------------------------------------ search_remote_users

def test_search_remote_users(admin, realm, offering_store):
    path, ids = offering_store()
    bulk_users(admin, realm, [
        {"username": "alice", "email": "alice@wonderland.example", "firstName": "Alice", "lastName": "Liddell"},
        {"username": "bob", "email": "bob@builders.example", "firstName": "Bob", "lastName": "Builder"},
        {"username": "carol", "email": "carol@wonderland.example", "firstName": "Carol", "lastName": "Singer"},
    ] + [{"username": "crowd-%02d" % i, "email": "crowd-%02d@crowd.example" % i} for i in range(30)])

    module = "keycloak_remote_user_info"
    base = {"store": path, "offering": ids["offering"]}
    results = run_all([
        (module, dict(base, q="alice")),           # 0 by username
        (module, dict(base, q="wonderland")),      # 1 by email
        (module, dict(base, q="Builder")),         # 2 by last name
        (module, dict(base, q="  Carol  ")),       # 3 stripped, first name
        (module, dict(base, q="zzz-nobody")),      # 4 nothing
        (module, dict(base, q="crowd")),           # 5 the default max: 25
        (module, dict(base, q="crowd", max=3)),    # 6 max
        (module, dict(base, q="")),                # 7 empty
        (module, dict(base, q="   ")),             # 8 blank
    ])
    for result in results[:7]:
        assert_ok(result)
        assert all(set(u) == set(USER_FIELDS) for u in result["users"])

    assert [u["username"] for u in results[0]["users"]] == ["alice"]
    alice = results[0]["users"][0]
    assert (alice["email"], alice["first_name"], alice["last_name"]) == (
        "alice@wonderland.example", "Alice", "Liddell")
    assert alice["id"] == admin.get("/realms/%s/users" % realm, username="alice", exact="true")[0]["id"]
    assert sorted(u["username"] for u in results[1]["users"]) == ["alice", "carol"]
    assert [u["username"] for u in results[2]["users"]] == ["bob"]
    assert [u["username"] for u in results[3]["users"]] == ["carol"]
    assert results[4]["users"] == []
    assert len(results[5]["users"]) == 25
    assert len(results[6]["users"]) == 3
    assert all(u["username"].startswith("crowd-") for u in results[5]["users"] + results[6]["users"])

    assert_failed(results[7], "q: This field is required.")
    assert_failed(results[8], "q: This field is required.")


def test_search_max_is_validated(admin, realm, offering_store):
    """max outside 1..1000 fails naming it; Keycloak is not asked."""
    path, ids = offering_store()
    bulk_users(admin, realm, [{"username": "crowd-%02d" % i} for i in range(3)])
    module = "keycloak_remote_user_info"
    base = {"store": path, "offering": ids["offering"], "q": "crowd"}
    cases = [
        (0, "max: Ensure this value is greater than or equal to 1. Got 0."),
        (-1, "max: Ensure this value is greater than or equal to 1. Got -1."),
        (1001, "max: Ensure this value is less than or equal to 1000. Got 1001."),
    ]
    results = run_all([(module, dict(base, max=value)) for value, _msg in cases] + [(module, dict(base, max=1))])
    for result, (_value, message) in zip(results, cases):
        assert_failed(result, message)
    assert len(assert_ok(results[-1])["users"]) == 1


# ------------------------------------------------------------------ sync_status

def test_sync_status(admin, realm, offering_store):
    path, ids = offering_store()
    bulk_users(admin, realm, [{"username": name} for name in ("alice", "bob", "carol")])

    # Remote children of /rancher-prod, created in an unsorted order.
    zeta = create_path(admin, realm, "/rancher-prod/zeta")
    alpha = create_path(admin, realm, "/rancher-prod/alpha")
    renamed = create_path(admin, realm, "/rancher-prod/remote-name")
    create_path(admin, realm, "/rancher-prod/same-name")     # same name as a local group, other id
    create_path(admin, realm, "/rancher-prod/handmade")      # no local group at all
    outside = create_path(admin, realm, "/elsewhere/outside")  # linked, not under the offering: still synced
    gone = create_path(admin, realm, "/rancher-prod/gone")
    admin.delete_group(realm, gone)
    for username in ("alice", "carol"):
        admin.join(realm, admin.get("/realms/%s/users" % realm, username=username, exact="true")[0]["id"], zeta)

    write_groups(path, [
        group_record(ids, "zeta", backend_id=zeta, members=[member("alice"), member("bob")]),
        group_record(ids, "alpha", role="role_member", backend_id=alpha),
        group_record(ids, "local-name", resource="resource_b", backend_id=renamed),
        group_record(ids, "same-name", role="role_member", resource="resource_b", backend_id=gone),
        group_record(ids, "unlinked-b", role="role_member", resource=None),
        group_record(ids, "outside", resource=None, backend_id=outside),
    ])
    before = store_bytes(path)

    module = "keycloak_group_sync_info"
    results = run_all([
        (module, {"store": path, "offering": ids["offering"]}),
        (module, {"store": path, "offering": ids["offering"], "members": True}),
    ])
    status, with_members = assert_ok(results[0]), assert_ok(results[1])
    assert status["synced"] == [
        {"local_name": "alpha", "remote_name": "alpha", "backend_id": alpha},
        {"local_name": "local-name", "remote_name": "remote-name", "backend_id": renamed},
        {"local_name": "outside", "remote_name": "outside", "backend_id": outside},
        {"local_name": "zeta", "remote_name": "zeta", "backend_id": zeta},
    ]
    # Matched by backend_id only: "same-name" exists on both sides under different ids.
    assert status["local_only"] == ["same-name", "unlinked-b"]
    assert status["remote_only"] == ["handmade", "same-name"]
    assert status["counts"] == {"synced": 4, "local_only": 2, "remote_only": 2}
    assert status["in_sync"] is False
    assert "members" not in status

    assert with_members["synced"] == status["synced"]
    drift = dict((d["name"], d) for d in with_members["members"])
    assert drift["zeta"]["local_only"] == ["bob"] and drift["zeta"]["remote_only"] == ["carol"]
    assert drift["alpha"]["local_only"] == [] and drift["alpha"]["remote_only"] == []
    assert drift["outside"] == {"name": "outside", "backend_id": outside, "local_only": [], "remote_only": [], "unrecorded": []}
    assert store_bytes(path) == before


def test_sync_status_in_sync(admin, realm, offering_store):
    path, ids = offering_store()
    bulk_users(admin, realm, [{"username": "alice"}])
    only = create_path(admin, realm, "/rancher-prod/only")
    admin.join(realm, admin.get("/realms/%s/users" % realm, username="alice", exact="true")[0]["id"], only)
    write_groups(path, [group_record(ids, "only", backend_id=only, members=[member("alice")])])
    module = "keycloak_group_sync_info"
    results = run_all([
        (module, {"store": path, "offering": ids["offering"]}),
        (module, {"store": path, "offering": ids["offering"], "members": True}),
    ])
    assert assert_ok(results[0])["in_sync"] is True
    assert results[0]["counts"] == {"synced": 1, "local_only": 0, "remote_only": 0}
    assert assert_ok(results[1])["in_sync"] is True
    assert results[1]["members"] == [{"name": "only", "backend_id": only, "local_only": [], "remote_only": [], "unrecorded": []}]

    # A member added by hand in Keycloak: the groups still match, the members do not.
    bulk_users(admin, realm, [{"username": "mallory", "groups": ["/rancher-prod/only"]}])
    results = run_all([
        (module, {"store": path, "offering": ids["offering"]}),
        (module, {"store": path, "offering": ids["offering"], "members": True}),
    ])
    assert results[0]["in_sync"] is True
    assert results[1]["in_sync"] is False
    assert results[1]["members"][0]["remote_only"] == ["mallory"]


def test_sync_status_lists_an_unlinked_record_once(admin, realm, offering_store):
    """Unlinked on purpose (backend_id "" through the module): local only, once; its old group is remote only."""
    path, ids = offering_store()
    kept = create_path(admin, realm, "/rancher-prod/kept")
    write_groups(path, [group_record(ids, "kept", backend_id=kept)])
    group_uuid = load_store(path)["groups"][0]["uuid"]
    results = run_all([
        ("keycloak_offering_group", {"store": path, "uuid": group_uuid, "backend_id": ""}),
        ("keycloak_group_sync_info", {"store": path, "offering": ids["offering"], "members": True}),
    ])
    assert assert_ok(results[0])["group"]["unlinked"] is True
    status = assert_ok(results[1])
    assert (status["synced"], status["local_only"], status["remote_only"]) == ([], ["kept"], ["kept"])
    assert status["counts"] == {"synced": 0, "local_only": 1, "remote_only": 1}
    assert (status["members"], status["in_sync"]) == ([], False)
