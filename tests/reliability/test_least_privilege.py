# -*- coding: utf-8 -*-
"""8. Least privilege: a client-credentials service account with view rights only.

Each reading module runs with only the one realm-management role README's
table gives it (view-users), so the table is tested row by row; query-users
and query-groups alone are shown to see nothing. ``viewer`` holds view-users and query-groups: every module
that would change Keycloak fails with a clear permission message (403, and the
role that is missing) and leaves the store's bytes as they were. ``manager``
holds only manage-users, the role README documents for the changing modules:
with it they work.
"""

import helpers
import playbook
import realmkit


def test_view_only_service_account(admin, realm, tmp_path, figure):
    viewer_secret, manager_secret = realmkit.distinctive("Viewer"), realmkit.distinctive("Manager")
    realmkit.create_service_client(admin, realm, "viewer", viewer_secret, roles=["view-users", "query-groups"])
    realmkit.create_service_client(admin, realm, "manager", manager_secret, roles=["manage-users"])
    # One client per role of README's table.
    only = {}
    for role in ("query-groups", "query-users", "view-users"):
        only[role] = realmkit.distinctive(role)
        realmkit.create_service_client(admin, realm, "only-" + role, only[role], roles=[role])
    existing_id = helpers.create_path(admin, realm, "/lp/existing")
    alice = admin.create_user(realm, "alice", email="alice@example.org")
    admin.create_user(realm, "bob", email="bob@example.org")
    admin.join(realm, alice, existing_id)
    handmade = helpers.create_path(admin, realm, "/handmade")

    store = str(tmp_path / "store.yml")
    ids = realmkit.one_offering_store(store, realm, groups=2, slug="lp")
    records = helpers.load_store(store)["groups"]
    records[0].update(name="existing", backend_id=existing_id,
                      members=[{"username": "alice", "state": "active"}])
    records[1]["name"] = "not-yet-in-keycloak"
    helpers.write_groups(store, records)
    fq = helpers.fqcn
    offering = ids["offering"]
    viewer = {"store": store, "auth_realm": realm, "auth_client_id": "viewer", "auth_client_secret": viewer_secret}
    manager = dict(viewer, auth_client_id="manager", auth_client_secret=manager_secret)
    query_groups, query_users, view_users = [dict(viewer, auth_client_id="only-" + role, auth_client_secret=only[role])
                                             for role in ("query-groups", "query-users", "view-users")]
    env = {"KEYCLOAK_USERNAME": "", "KEYCLOAK_PASSWORD": ""}

    reading = [
        {fq("keycloak_connection_test"): dict(view_users, offering=offering)},
        {fq("keycloak_offering_group_info"): {"store": store, "offering": offering}},
        {fq("keycloak_remote_group_info"): dict(view_users, offering=offering)},
        {fq("keycloak_remote_group_info"): dict(view_users, offering=offering, group_id=existing_id)},
        {fq("keycloak_remote_user_info"): dict(view_users, offering=offering, q="ali")},
        # query-users or query-groups alone is not enough: Keycloak then answers with empty lists.
        {fq("keycloak_remote_user_info"): dict(query_users, offering=offering, q="ali")},
        {fq("keycloak_connection_test"): dict(query_groups, offering=offering)},
        {fq("keycloak_group_sync_info"): dict(view_users, offering=offering, members=True)},
        {fq("keycloak_offering_sync"): dict(view_users, offering=offering), "check_mode": True},
        {fq("keycloak_offering_group"): dict(view_users, uuid=records[0]["uuid"], pull_members=True),
         "check_mode": True},
    ]
    changing = [
        {fq("keycloak_offering_group"): dict(viewer, offering=offering, role="admin", resource="res-1")},
        {fq("keycloak_offering_sync"): dict(viewer, offering=offering)},
        {fq("keycloak_offering_group"): dict(viewer, uuid=records[0]["uuid"], members=["bob"])},
        {fq("keycloak_offering_group"): dict(viewer, uuid=records[0]["uuid"], name="renamed")},
        {fq("keycloak_offering_group"): dict(viewer, uuid=records[0]["uuid"], state="absent")},
    ]
    before = helpers.store_bytes(store)
    snapshot = helpers.kc_snapshot(admin, realm)
    run = playbook.run_tasks(reading + changing, env=env)
    read_results, change_results = run.results[:len(reading)], run.results[len(reading):]
    store_unchanged = helpers.store_bytes(store) == before
    keycloak_unchanged = helpers.kc_snapshot(admin, realm) == snapshot

    read_failures = [r.get("msg") for r in read_results if r.get("failed")]
    unclear = []
    for result in change_results:
        msg = result.get("msg") or ""
        if not (result.get("failed") and "403" in msg and "Forbidden" in msg and "manage-users" in msg
                and "\n" not in msg):
            unclear.append(msg or "did not fail")

    # The documented role for the changing modules (manage-users alone) does the same changes; and
    # keycloak_group_import needs only view-users (it reads Keycloak and writes the store).
    after_view = helpers.store_bytes(store)
    manager_run = playbook.run_tasks([
        {fq("keycloak_offering_group"): dict(manager, offering=offering, role="admin", resource="res-1")},
        {fq("keycloak_offering_sync"): dict(manager, offering=offering)},
        {fq("keycloak_offering_group"): dict(manager, uuid=records[0]["uuid"], members=["bob"])},
        {fq("keycloak_group_import"): dict(view_users, offering=offering, role="admin", remote_group_id=handmade)},
    ], env=env)
    manager_failures = [r.get("msg") for r in manager_run.results if r.get("failed")]
    figure("least privilege: service accounts (client credentials) with one realm-management role each",
           info_calls=len(reading), info_ok=len(reading) - len(read_failures), changing_calls=len(changing),
           clear_permission_errors=len(changing) - len(unclear), store_unchanged=store_unchanged,
           keycloak_unchanged=keycloak_unchanged, manage_users_calls=len(manager_run.results),
           manage_users_ok=len(manager_run.results) - len(manager_failures),
           server_version_seen=read_results[0].get("server_version"),
           example_message=(change_results[0].get("msg") or "")[:400])
    assert not read_failures, read_failures
    # They did read: the role was enough, not just the call allowed to come back empty.
    assert [u["username"] for u in read_results[4]["users"]] == ["alice"], read_results[4]
    assert read_results[0]["status"] == "ok" and read_results[0]["groups_count"] >= 1, read_results[0]
    assert read_results[2]["groups"], read_results[2]
    assert [m["username"] for m in read_results[3]["members"]] == ["alice"], read_results[3]
    assert read_results[5]["users"] == [], read_results[5]
    assert read_results[6]["status"] == "ok" and read_results[6]["groups_count"] == 0, read_results[6]
    assert not unclear, unclear
    assert store_unchanged and keycloak_unchanged
    assert not manager_failures, manager_failures
    assert helpers.store_bytes(store) != after_view
