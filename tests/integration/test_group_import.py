# -*- coding: utf-8 -*-
"""waldur.keycloak.keycloak_group_import (import_remote) against the real Keycloak."""

import playbook
from helpers import (
    SEED_FIELDS,
    assert_failed,
    assert_ok,
    check_apply_rerun,
    create_path,
    group_record,
    kc_snapshot,
    run_failures,
    second_offering,
    store_bytes,
    store_group,
    store_groups,
    user_id,
    write_groups,
)

MODULE = "keycloak_group_import"


def test_import_checks_in_order(admin, realm, offering_store):
    hpc, hpc_ids = second_offering()
    path, ids = offering_store(extra_offerings=[hpc])
    handmade = create_path(admin, realm, "/staff/handmade")
    linked = create_path(admin, realm, "/staff/linked")
    taken = create_path(admin, realm, "/staff/taken")
    write_groups(path, [
        group_record(ids, "linked", role="role_member", resource="resource_b", backend_id=linked),
        group_record(ids, "taken", role="role_admin", resource="resource_a", backend_id=taken),
    ])
    snapshot = kc_snapshot(admin, realm)

    base = {"store": path, "offering": ids["offering"]}
    cases = [
        # Each case breaks its own check and, where it can, the later ones: only the order decides the message.
        (dict(role="00000000-0000-4000-8000-000000000000", resource="login-node", remote_group_id="nope"),
         "role_uuid: Role not found."),
        (dict(role=hpc_ids["role"], resource="login-node", remote_group_id="nope"),
         "role_uuid: Role is not available for this offering."),
        (dict(role="cluster-admin", resource=hpc_ids["resource"], remote_group_id="nope"),
         "resource_uuid: Resource not found for this offering."),
        (dict(role="cluster-admin", resource="no-such-cluster", remote_group_id="nope"),
         "resource_uuid: Resource not found for this offering."),
        (dict(role="cluster-admin", resource="cluster-b", remote_group_id="00000000-0000-4000-8000-00000000dead"),
         "remote_group_id: Remote group not found in Keycloak."),
        (dict(role="cluster-admin", resource="cluster-b", remote_group_path="/staff/no-such-group"),
         "remote_group_id: Remote group not found in Keycloak."),
        # linked by a group of another key (and the key is taken too: the link check comes first)
        (dict(role="cluster-admin", resource="cluster-a", remote_group_id=linked),
         "A local group already exists for this remote Keycloak group."),
        # the natural key (cluster-admin, cluster-a, "") belongs to "taken": a clear error, not a crash
        (dict(role="cluster-admin", resource="cluster-a", remote_group_id=handmade),
         "A local group with this offering, role, resource and scope_id already exists."),
        # offering-level errors
        (dict(offering=None, role="cluster-admin", remote_group_id=handmade), "offering_uuid: This field is required."),
        (dict(offering="Nope", role="cluster-admin", remote_group_id=handmade), "offering_uuid: Offering not found."),
        (dict(offering=hpc_ids["offering"], role="admin", remote_group_id=handmade),
         "Keycloak integration is not enabled for this offering."),
    ]
    run_failures(MODULE, [(dict((k, v) for k, v in dict(base, **changes).items() if v is not None), message)
                          for changes, message in cases], path)
    assert kc_snapshot(admin, realm) == snapshot


def test_import_by_id_creates_only_the_record(admin, realm, offering_store):
    path, ids = offering_store()
    remote = create_path(admin, realm, "/rancher-prod/handmade-admins")
    admin.create_user(realm, "alice")
    admin.join(realm, user_id(admin, realm, "alice"), remote)
    groups_before = admin.top_groups(realm)

    args = {"store": path, "offering": "Rancher production", "role": ids["role_admin"],
            "resource": ids["resource_a"], "remote_group_id": remote}
    check, real, rerun = check_apply_rerun(MODULE, args, path, admin, realm)
    assert real["plan"] == [{"action": "create_record", "target": real["group"]["uuid"]}]
    group = real["group"]
    assert set(SEED_FIELDS) <= set(group)
    assert (group["name"], group["backend_id"]) == ("handmade-admins", remote)
    assert (group["role_name"], group["resource_name"], group["scope_id"]) == ("cluster-admin", "cluster-a", "")
    assert check["group"]["uuid"] == group["uuid"] == rerun["group"]["uuid"]
    stored = store_group(path, group["uuid"])
    assert (stored["name"], stored["backend_id"]) == ("handmade-admins", remote)
    assert not stored.get("members")  # no members imported
    # Nothing created in Keycloak, the remote members as they were.
    assert admin.top_groups(realm) == groups_before
    assert [g["name"] for g in admin.children(realm, admin.group_by_path(realm, "/rancher-prod")["id"])] == [
        "handmade-admins"]
    assert admin.member_names(realm, remote) == ["alice"]


def test_import_by_path_outside_the_offering(admin, realm, offering_store):
    path, ids = offering_store()
    remote = create_path(admin, realm, "/staff/hpc-admins")
    args = {"store": path, "offering": ids["offering"], "role": "project-member", "resource": "cluster-b",
            "scope_id": "p-7xk2q", "remote_group_path": "/staff/hpc-admins"}
    _check, real, _rerun = check_apply_rerun(MODULE, args, path, admin, realm)
    group = real["group"]
    assert (group["name"], group["backend_id"], group["scope_id"], group["role_scope_type"]) == (
        "hpc-admins", remote, "p-7xk2q", "project")
    assert len(store_groups(path)) == 1

    # The same group by id, same key: nothing to do.
    before = store_bytes(path)
    by_id = dict((k, v) for k, v in args.items() if k != "remote_group_path")
    again = playbook.run_module(MODULE, dict(by_id, remote_group_id=remote))
    assert_ok(again)
    assert again["changed"] is False
    assert store_bytes(path) == before


def test_a_keycloak_group_named_with_a_slash_names_the_argument(admin, realm, offering_store):
    """Keycloak allows '/' in a group name; the store cannot hold it: the error names remote_group_id."""
    path, ids = offering_store()
    slashed = admin.create_group(realm, "a/b")
    before = store_bytes(path)
    result = playbook.run_module("keycloak_group_import", {"store": path, "offering": ids["offering"],
                                                           "role": "cluster-admin", "remote_group_id": slashed})
    assert_failed(result, "remote_group_id: 'a/b' is not a valid group name.", path, before)
    assert " line " not in result["msg"], result["msg"]
