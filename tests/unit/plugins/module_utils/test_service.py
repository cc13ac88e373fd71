# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The domain service over a store and an in-memory Keycloak: names, paths, matching, plans, messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile
import uuid

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.waldur.keycloak.plugins.module_utils import _plan
from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError
from ansible_collections.waldur.keycloak.plugins.module_utils._plan import Ref
from ansible_collections.waldur.keycloak.plugins.module_utils._naming import check_group_name, group_name, group_path, offering_group_path
from ansible_collections.waldur.keycloak.plugins.module_utils._service import (
    GROUP_ATTRIBUTE,
    OFFERING_ATTRIBUTE,
    OfferingGroups,
    check_usernames,
)
from ansible_collections.waldur.keycloak.plugins.module_utils._service_error import ServiceError
from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store
from ansible_collections.waldur.keycloak.tests.unit.fakes import (
    G1, G2, G3, O1, O2, O3, R1, R2, R3, R4, REALM, UNKNOWN, X1, X2, X3, example_keycloak, store_text,
)


def parse(text=None):
    """The store's data from ``text``, read as a module reads it (Store.load)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "store.yml")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text if text is not None else store_text())
        return Store(path).load()


def hexed(value):
    return uuid.UUID(value).hex


# ------------------------------------------------------------ a fake Keycloak (fakes.FakeKeycloak)


@pytest.fixture
def kc():
    return example_keycloak()


def service(kc, text=None):
    return OfferingGroups(parse(text), client_for=lambda url: kc)


def error_of(call, *args, **kwargs):
    with pytest.raises(ServiceError) as exc_info:
        call(*args, **kwargs)
    message = exc_info.value.message
    assert "\n" not in message and str(exc_info.value) == message
    return message


# ------------------------------------------------------------------ naming


def test_default_group_names(kc):
    svc = service(kc)
    data = svc.data
    o1 = data.find_offering(O1)
    admin, member = data.roles_by_uuid[R1], data.roles_by_uuid[R2]
    cluster_a = data.resources_by_uuid[X1]
    assert group_name(o1, admin, cluster_a, "") == "%s_%s_cluster-admin" % (hexed(O1), hexed(X1))
    assert group_name(o1, member, cluster_a, "p1") == "%s_p1_project-member" % hexed(O1)   # scope_id wins
    assert group_name(o1, admin, None, "") == "%s_cluster-admin" % hexed(O1)
    assert group_name(o1, admin, None, "p7") == "%s_p7_cluster-admin" % hexed(O1)


def test_template_group_names(kc):
    svc = service(kc)
    o2 = svc.data.find_offering(O2)
    assert group_name(o2, svc.data.roles_by_uuid[R3], svc.data.resources_by_uuid[X3], "s1") == "hpc-alloc-one-pi"
    assert group_name(o2, svc.data.roles_by_uuid[R3], None, "") == "hpc--pi"


def test_every_template_variable(kc):
    template = "${offering_uuid}|${offering_name}|${offering_slug}|${resource_uuid}|${resource_name}|" \
               "${resource_slug}|${role_name}|${scope_id}"
    svc = service(kc, store_text(template))
    o2 = svc.data.find_offering(O2)
    name = group_name(o2, svc.data.roles_by_uuid[R3], svc.data.resources_by_uuid[X3], "s1")
    assert name.split("|") == [hexed(O2), "HPC allocations", "hpc", hexed(X3), "Alloc One", "alloc-one", "pi", "s1"]


def test_unknown_template_variable_is_a_clear_error(kc):
    svc = service(kc, store_text("$offering_slug-$project_name"))
    o2 = svc.data.find_offering(O2)
    message = error_of(group_name, o2, svc.data.roles_by_uuid[R3], None, "")
    assert message.startswith("group_name_template: unknown variable $project_name")
    assert "$role_name" in message and "$scope_id" in message    # the known ones are listed


@pytest.mark.parametrize("template, words", [("$offering_slug/$role_name", "not a valid group name"),
                                             ("pi-$", "invalid template")])
def test_template_that_cannot_make_a_group_name(kc, template, words):
    svc = service(kc, store_text(template))
    message = error_of(group_name, svc.data.find_offering(O2), svc.data.roles_by_uuid[R3], None, "")
    assert words in message


def test_offering_path_with_and_without_base_group(kc):
    svc = service(kc)
    assert offering_group_path(svc.data.find_offering(O1)) == "/rancher-prod"
    assert offering_group_path(svc.data.find_offering(O2)) == "/waldur/sites/hpc"
    assert offering_group_path(svc.data.find_offering(O3)) == "/" + uuid.UUID(O3).hex   # no slug: the UUID
    assert group_path(svc.data.find_offering(O2), "hpc-x-pi") == "/waldur/sites/hpc/hpc-x-pi"


# ---------------------------------------------------------------- messages


@pytest.mark.parametrize("operation", [
    lambda svc, ref: svc.remote_groups(ref),
    lambda svc, ref: svc.sync_status(ref),
    lambda svc, ref: svc.search_remote_users(ref, "alice"),
    lambda svc, ref: svc.remote_group_members(ref, "kc-g1"),
    lambda svc, ref: svc.plan_import(ref, R1, "kc-g1"),
], ids=["remote_groups", "sync_status", "search_remote_users", "remote_group_members", "import"])
def test_offering_errors(kc, operation):
    svc = service(kc)
    assert error_of(operation, svc, None) == "offering_uuid: This field is required."
    assert error_of(operation, svc, "") == "offering_uuid: This field is required."
    assert error_of(operation, svc, UNKNOWN).startswith("offering_uuid: Offering not found.")
    assert error_of(operation, svc, "Rancher").startswith("offering_uuid: Offering not found.")
    for ref in (O3, "Half configured"):
        assert error_of(operation, svc, ref).startswith("Keycloak integration is not enabled for this offering.")
    assert kc.writes == []


def test_offering_found_by_name(kc):
    assert service(kc).remote_groups("Rancher production")["offering_path"] == "/rancher-prod"


@pytest.mark.parametrize("query", [None, "", "   "])
def test_search_needs_a_query(kc, query):
    assert error_of(service(kc).search_remote_users, O1, query) == "q: This field is required."


def test_search_strips_the_query_and_shapes_users(kc):
    result = service(kc).search_remote_users(O1, "  ALI  ")
    assert kc.searched == "ALI"
    assert [{k: v for k, v in u.items() if k != "id"} for u in result["users"]] == [
        {"username": "alice", "email": "alice@example.com", "first_name": "Alice", "last_name": "Liddell"}]


def test_remote_group_members_needs_a_group_id(kc):
    assert error_of(service(kc).remote_group_members, O1, "") == "group_id: This field is required."
    members = service(kc).remote_group_members(O1, "kc-g1")["members"]
    assert [m["username"] for m in members] == ["alice"]


@pytest.mark.parametrize("operation, message", [
    (lambda svc: svc.remote_groups(O1), "Unable to list remote Keycloak groups."),
    (lambda svc: svc.sync_status(O1), "Unable to retrieve sync status from Keycloak."),
    (lambda svc: svc.search_remote_users(O1, "a"), "Unable to search remote users."),
    (lambda svc: svc.remote_group_members(O1, "kc-g1"), "Unable to list remote group members."),
    (lambda svc: svc.test_connection(O1), "Unable to connect to Keycloak."),
])
def test_remote_failures_keep_the_original_message_and_add_the_cause(kc, operation, message):
    kc.fail = KeycloakError("cannot reach Keycloak at https://kc: Connection refused")
    text = error_of(operation, service(kc))
    assert text.startswith(message)
    assert "Connection refused" in text


def test_connection_test(kc):
    kc.make_group("/zebra")
    result = service(kc).test_connection(O1)
    assert result["status"] == "ok" and result["realm"] == REALM
    assert result["groups"] == ["rancher-prod", "zebra"] and result["groups_count"] == 2
    assert (result["admin_events_enabled"], result["admin_events_details_enabled"]) == (True, False)
    kc.admin_events = (None, None)
    assert service(kc).test_connection(O1)["admin_events_enabled"] is None
    kc.fail = KeycloakError("authentication failed for user 'admin'", status=401)
    with pytest.raises(ServiceError) as exc_info:
        service(kc).test_connection(O1)
    assert exc_info.value.result == {"status": "error"}


def test_remote_groups_lists_only_the_offering_children(kc):
    kc.make_group("/rancher-prod/zeta/deeper")
    kc.make_group("/elsewhere/beta")
    kc.make_group("/beta")
    groups = service(kc).remote_groups(O1)["groups"]
    assert [(g["name"], g["path"], g["sub_group_count"]) for g in groups] == [
        ("admins-a", "/rancher-prod/admins-a", 0), ("zeta", "/rancher-prod/zeta", 1)]


def test_remote_groups_without_the_offering_group_is_empty_not_the_realm(kc):
    kc.make_group("/some/thing")
    result = service(kc).remote_groups(O2)
    assert result["groups"] == []
    assert "/waldur/sites/hpc" in result["message"]


# -------------------------------------------------------------- sync status


def test_sync_status_matches_by_backend_id_only(kc):
    kc.groups["kc-g1"]["name"] = "admins-a-renamed-in-keycloak"
    kc.make_group("/rancher-prod/members-p1", group_id="kc-same-name")   # same NAME as the unlinked local G2
    kc.make_group("/rancher-prod/zeta-hand-made")
    kc.make_group("/rancher-prod/alpha")
    kc.make_group("/members-p2")                                           # not under the offering
    status = service(kc).sync_status(O1)
    assert status["synced"] == [{"local_name": "admins-a", "remote_name": "admins-a-renamed-in-keycloak",
                                 "backend_id": "kc-g1"}]
    assert status["remote_only"] == ["alpha", "members-p1", "zeta-hand-made"]
    assert status["local_only"] == ["members-p1", "members-p2"]
    assert status["in_sync"] is False
    assert kc.writes == []


def test_sync_status_finds_linked_groups_outside_the_offering_by_id_only_when_not_listed(kc):
    kc.make_group("/staff/x", group_id="kc-staff")
    text = store_text().replace("backend_id: kc-gone", "backend_id: kc-staff")
    asked = []
    get_group = kc.get_group
    kc.get_group = lambda realm, group_id: asked.append(group_id) or get_group(realm, group_id)
    status = service(kc, text).sync_status(O1, members=True)
    assert status["synced"] == [{"local_name": "admins-a", "remote_name": "admins-a", "backend_id": "kc-g1"},
                                {"local_name": "members-p2", "remote_name": "x", "backend_id": "kc-staff"}]
    assert (status["local_only"], status["remote_only"]) == (["members-p1"], [])
    assert [d["name"] for d in status["members"]] == ["admins-a", "members-p2"]
    assert asked == ["kc-staff"]      # kc-g1 came with the offering's listing


def test_sync_status_lists_are_sorted(kc):
    for name in ("delta", "Alpha", "charlie", "bravo"):
        kc.make_group("/rancher-prod/" + name)
    text = store_text()
    for uuid_, name in ((G2, "zz-last"), (G3, "aa-first")):
        text = text.replace("    name: %s" % {G2: "members-p1", G3: "members-p2"}[uuid_], "    name: %s" % name)
    status = service(kc, text).sync_status(O1)
    assert status["remote_only"] == sorted(["delta", "Alpha", "charlie", "bravo"])
    assert status["local_only"] == ["aa-first", "zz-last"]


def test_sync_status_when_the_offering_group_is_missing(kc):
    kc.groups.clear()
    status = service(kc).sync_status(O1)
    assert status["synced"] == [] and status["remote_only"] == []
    assert status["local_only"] == ["admins-a", "members-p1", "members-p2"]


def test_sync_status_in_sync(kc):
    text = store_text()
    cut = text.index("  - uuid: %s" % G2)
    status = service(kc, text[:cut]).sync_status(O1)
    assert status["in_sync"] is True and status["counts"] == {"synced": 1, "local_only": 0, "remote_only": 0}


# ------------------------------------------------------------------ import


@pytest.fixture
def store_file(tmp_path):
    path = tmp_path / "store.yml"
    path.write_text(store_text())
    return str(path)


def test_import_checks_in_the_documented_order(kc):
    kc.make_group("/rancher-prod/other", group_id="kc-other")
    svc = service(kc)
    # Each call is also wrong in every later respect: only the first problem is reported.
    assert error_of(svc.plan_import, O1, UNKNOWN, "missing", resource_ref=X3).startswith("role_uuid: Role not found.")
    assert error_of(svc.plan_import, O1, "no-such-role", "missing").startswith("role_uuid: Role not found.")
    assert error_of(svc.plan_import, O1, R3, "missing", resource_ref=X3).startswith(
        "role_uuid: Role is not available for this offering.")
    assert error_of(svc.plan_import, O1, "pi", "missing").startswith(
        "role_uuid: Role is not available for this offering.")
    assert error_of(svc.plan_import, O1, R2, "missing", resource_ref=X3).startswith(
        "resource_uuid: Resource not found for this offering.")
    assert error_of(svc.plan_import, O1, R2, "missing", resource_ref=X2).startswith(
        "remote_group_id: Remote group not found in Keycloak.")
    assert error_of(svc.plan_import, O1, R2, "kc-g1", resource_ref=X2).startswith(
        "A local group already exists for this remote Keycloak group.")
    assert error_of(svc.plan_import, O1, R1, "kc-other", resource_ref=X1).startswith(
        "A local group with this offering, role, resource and scope_id already exists.")
    assert kc.writes == []


def test_import_records_the_remote_group_and_changes_nothing_in_keycloak(kc, store_file, file_state):
    kc.make_group("/rancher-prod/hand-made", group_id="kc-hand")
    kc.join("bob", "kc-hand")
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    plan, record = svc.plan_import(O1, "project-member", "kc-hand", resource_ref="cluster-b", scope_id="p9")
    assert plan.remote == []
    assert [change.action for change in plan.records] == ["create_record"]
    assert (record["name"], record["backend_id"], record["offering"], record["role"], record["resource"],
            record["scope_id"], record["members"]) == ("hand-made", "kc-hand", O1, R2, X2, "p9", [])

    before = file_state(store_file)
    _ctx, changed = _plan.execute(plan, Store(store_file), check_mode=True)
    assert changed is True and file_state(store_file) == before

    _ctx, changed = _plan.execute(plan, Store(store_file), check_mode=False)
    assert changed is True
    assert kc.writes == []
    data = Store(store_file).load()
    stored = data.groups_by_uuid[record["uuid"]]
    assert (stored["name"], stored["backend_id"], stored["resource"], stored["scope_id"]) == (
        "hand-made", "kc-hand", X2, "p9")
    assert stored["members"] == []

    # The same import again: nothing to do.
    rerun, again = OfferingGroups(data, client_for=lambda url: kc).plan_import(
        O1, R2, "kc-hand", resource_ref=X2, scope_id="p9")
    assert rerun.changed is False and rerun.remote == [] and rerun.records == []
    assert again["uuid"] == record["uuid"]


def test_import_by_path(kc):
    kc.make_group("/rancher-prod/by-path", group_id="kc-path")
    _plan_, record = service(kc).plan_import(O1, R2, remote_group_path="/rancher-prod/by-path", resource_ref=X2)
    assert record["backend_id"] == "kc-path"


def test_import_needs_a_remote_group(kc):
    assert error_of(service(kc).plan_import, O1, R2).startswith("remote_group_id: This field is required.")


# --------------------------------------------------------- group, planned


def _present(**params):
    """plan_group_present's arguments: a new group of O1 by default, with ``params`` over it."""
    base = dict(group_uuid=None, offering=O1, role=R2, resource=X2, scope_id="p5", name=None, backend_id=None,
                members=None, members_mode=None, pull_members=False, create_remote=True)
    base.update(params)
    return base


def test_check_mode_plan_writes_nothing_and_shows_every_step(kc, store_file, file_state):
    kc.groups.clear()                       # not even the offering's group exists yet
    before = file_state(store_file)
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    plan, after, pull = svc.plan_group_present(**_present(members=["alice", "ghost"]))
    assert pull is None
    name = "%s_p5_project-member" % hexed(O1)

    ctx, changed = _plan.execute(plan, Store(store_file), check_mode=True)
    assert changed is True
    assert file_state(store_file) == before
    assert kc.writes == [] and kc.groups == {}

    steps = plan.describe(ctx)
    assert [(s["action"], s["target"]) for s in steps] == [
        ("create_group", "/rancher-prod"),
        ("create_group", "/rancher-prod/" + name),
        ("add_member", "/rancher-prod/" + name),
        ("create_record", after["uuid"]),
    ]
    assert steps[2]["username"] == "alice"
    assert steps[3]["members"]["added"] == ["alice", "ghost"]
    assert isinstance(after["backend_id"], Ref)
    assert dict((m["username"], m["state"]) for m in after["members"]) == {"alice": "active", "ghost": "pending"}
    assert (after["offering"], after["role"], after["resource"], after["scope_id"], after["name"]) == (
        O1, R2, X2, "p5", name)


def test_applied_plan_creates_marks_links_and_is_idempotent(kc, store_file):
    kc.groups.clear()
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    plan, after, _pull = svc.plan_group_present(**_present(members=["alice", "ghost"]))
    ctx, changed = _plan.execute(plan, Store(store_file), check_mode=False)
    assert changed is True

    name = "%s_p5_project-member" % hexed(O1)
    group = kc.by_path("/rancher-prod/" + name)
    assert group is not None
    assert group["attributes"][OFFERING_ATTRIBUTE] == [O1]
    assert group["attributes"][GROUP_ATTRIBUTE] == [after["uuid"]]
    assert [kc.users[u]["username"] for u in kc.members[group["id"]]] == ["alice"]

    data = Store(store_file).load()
    stored = data.groups_by_uuid[after["uuid"]]
    assert stored["backend_id"] == group["id"]
    assert dict((m["username"], m["state"]) for m in stored["members"]) == {"alice": "active", "ghost": "pending"}

    writes = len(kc.writes)
    rerun, _after, _pull = OfferingGroups(data, client_for=lambda url: kc).plan_group_present(
        **_present(members=["alice", "ghost"]))
    assert rerun.changed is False
    assert len(kc.writes) == writes


def test_failed_remote_step_records_only_what_was_done(kc, store_file, file_state):
    kc.groups.clear()
    create = kc.create_group

    def create_only_the_root(realm, name, parent_id=None, attributes=None, exist_ok=False):
        if parent_id is not None:
            raise KeycloakError("Keycloak answered 403 to POST /admin/realms/hpc/groups/x/children: forbidden",
                                status=403)
        return create(realm, name, parent_id, attributes, exist_ok)

    kc.create_group = create_only_the_root
    before = file_state(store_file)
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    plan, _after, _pull = svc.plan_group_present(**_present(members=["alice"]))
    with pytest.raises(_plan.PlanError) as exc_info:
        _plan.execute(plan, Store(store_file), check_mode=False)
    assert "\n" not in exc_info.value.message and "forbidden" in exc_info.value.message
    assert [d["target"] for d in exc_info.value.done] == ["/rancher-prod"]
    failed = exc_info.value.failed if isinstance(exc_info.value.failed, list) else [exc_info.value.failed]
    assert [(f["action"], f["target"]) for f in failed] == [
        ("create_group", "/rancher-prod/%s_p5_project-member" % hexed(O1))]
    assert file_state(store_file) == before       # the record needs the group that was not created
    assert kc.by_path("/rancher-prod") is not None


def test_plan_reuses_existing_parents(kc, store_file):
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    plan, _after, _pull = svc.plan_group_present(**_present())
    ctx = _plan.RunContext(True)
    assert [(s["action"], s["target"]) for s in plan.describe(ctx)][:1] == [
        ("create_group", "/rancher-prod/%s_p5_project-member" % hexed(O1))]


def test_plan_creates_only_the_missing_parents_under_the_base_group(kc, store_file):
    kc.make_group("/waldur")
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    plan, after, _pull = svc.plan_group_present(**_present(offering=O2, role=R3, resource=X3, scope_id=""))
    ctx, _changed = _plan.execute(plan, Store(store_file), check_mode=True)
    assert [(s["action"], s["target"]) for s in plan.describe(ctx)] == [
        ("create_group", "/waldur/sites"), ("create_group", "/waldur/sites/hpc"),
        ("create_group", "/waldur/sites/hpc/hpc-alloc-one-pi"), ("create_record", after["uuid"])]
    _plan.execute(plan, Store(store_file), check_mode=False)
    offering_group = kc.by_path("/waldur/sites/hpc")
    leaf = kc.by_path("/waldur/sites/hpc/hpc-alloc-one-pi")
    assert offering_group["attributes"][OFFERING_ATTRIBUTE] == [O2]
    assert leaf["attributes"] == {OFFERING_ATTRIBUTE: [O2], GROUP_ATTRIBUTE: [after["uuid"]]}
    assert Store(store_file).load().groups_by_uuid[after["uuid"]]["backend_id"] == leaf["id"]


def test_pull_members_needs_a_linked_group(kc):
    svc = service(kc)
    message = error_of(svc.plan_group_present, **_present(group_uuid=G2, role=None, resource=None, scope_id=None,
                                                          pull_members=True, create_remote=False))
    assert message == "Group is not linked to a remote Keycloak group. Remap it first to set a backend ID."


@pytest.mark.parametrize("create_remote", [True, False])
def test_pull_members_never_creates_nor_adopts(kc, create_remote):
    kc.make_group("/rancher-prod/members-p1")              # what create_remote would adopt for G2
    svc = service(kc)
    message = error_of(svc.plan_group_present, **_present(group_uuid=G2, role=None, resource=None, scope_id=None,
                                                          pull_members=True, create_remote=create_remote))
    assert message == "Group is not linked to a remote Keycloak group. Remap it first to set a backend ID."
    message = error_of(svc.plan_group_present, **_present(pull_members=True, create_remote=create_remote))
    assert message == "Group is not linked to a remote Keycloak group. Remap it first to set a backend ID."
    assert kc.writes == []


def test_pull_members_of_a_vanished_group_fails_with_the_detail(kc):
    message = error_of(service(kc).plan_group_present, **_present(group_uuid=G3, role=None, resource=None, scope_id=None,
                                                                  pull_members=True))
    assert message.startswith("Unable to fetch members from Keycloak. Group 'members-p2' is linked to kc-gone, "
                              "which does not exist in realm 'hpc'")
    kc.fail = KeycloakError("Keycloak answered 500")
    message = error_of(service(kc).plan_group_present, **_present(group_uuid=G1, role=None, resource=None, scope_id=None,
                                                                  pull_members=True))
    assert message == "Unable to fetch members from Keycloak. Keycloak answered 500"
    assert kc.writes == []


def test_pull_members_pushes_no_pending_member(kc):
    text = store_text().replace("      - {username: alice, state: active}",
                                "      - {username: alice, state: active}\n      - {username: bob, state: pending}")
    args = _present(group_uuid=G1, role=None, resource=None, scope_id=None, pull_members=True)
    plan, after, pull = service(kc, text).plan_group_present(**args)
    assert plan.remote == []
    assert pull == {"created": 0, "updated": 1, "total_remote": 1}     # alice's names; bob is not counted
    assert dict((m["username"], m["state"]) for m in after["members"]) == {"alice": "active", "bob": "pending"}


def test_pull_members_with_members_is_refused(kc):
    message = error_of(service(kc).plan_group_present, **_present(group_uuid=G1, role=None, resource=None, scope_id=None,
                                                                  pull_members=True, members=["bob"]))
    assert message.startswith("pull_members: cannot be combined with members.")


def test_unknown_backend_id_is_refused(kc):
    message = error_of(service(kc).plan_group_present, **_present(backend_id="nope", create_remote=False))
    assert message.startswith("backend_id: Remote group not found in Keycloak.")


# -------------------------------------------------------------------- pull


def test_pull_into_counts_created_updated_and_every_remote_member():
    record = {"members": [
        {"username": "alice", "email": "", "first_name": "", "last_name": "", "state": "pending"},
        {"username": "bob", "email": "bob@old.example", "first_name": "Bob", "last_name": "B", "state": "active"},
        {"username": "carol", "email": "carol@example.com", "first_name": "", "last_name": "", "state": "active"},
        {"username": "erin", "email": "erin@example.com", "first_name": "Erin", "last_name": "E", "state": "active"},
        {"username": "frank", "email": "frank@example.com", "first_name": "", "last_name": "", "state": "pending"},
    ]}
    remote = [
        {"id": "1", "username": "alice", "email": "alice@example.com", "firstName": "Alice"},   # pending -> active
        {"id": "2", "username": "BOB", "email": "bob@new.example", "firstName": "Bob", "lastName": "B"},
        {"id": "3", "username": "dave", "email": "dave@example.com", "firstName": "Dave", "lastName": "D"},
        {"id": "4", "username": "erin", "email": "erin@example.com", "firstName": "Erin", "lastName": "E"},
        {"id": "5", "username": None, "email": "service@example.com"},                         # no username
        {"id": "6", "username": "", "email": ""},
        {"id": "7", "username": "frank", "email": "", "firstName": "", "lastName": ""},        # pending, empty data
    ]
    counts = OfferingGroups.pull_into(record, remote)
    assert counts == {"created": 1, "updated": 3, "total_remote": 7}
    members = dict((m["username"], m) for m in record["members"])
    assert sorted(members) == ["alice", "bob", "carol", "dave", "erin", "frank"]   # carol is kept
    assert members["alice"] == {"username": "alice", "email": "alice@example.com", "first_name": "Alice",
                                "last_name": "", "state": "active"}
    assert members["bob"]["email"] == "bob@new.example"
    assert members["dave"] == {"username": "dave", "email": "dave@example.com", "first_name": "Dave",
                               "last_name": "D", "state": "active"}
    assert members["frank"] == {"username": "frank", "email": "frank@example.com", "first_name": "", "last_name": "",
                                "state": "active"}       # empty remote values never clear local ones
    assert OfferingGroups.pull_into(record, remote) == {"created": 0, "updated": 0, "total_remote": 7}


def test_pull_members_through_the_plan(kc, store_file):
    kc.make_user("dave", "dave@example.com", "Dave", "D")
    kc.join("dave", "kc-g1")
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    plan, after, pull = svc.plan_group_present(**_present(group_uuid=G1, role=None, resource=None, scope_id=None,
                                                          create_remote=False, pull_members=True))
    assert pull == {"created": 1, "updated": 1, "total_remote": 2}   # alice gets her email and names
    assert plan.remote == []
    _plan.execute(plan, Store(store_file), check_mode=False)
    members = dict((m["username"], m) for m in Store(store_file).load().groups_by_uuid[G1]["members"])
    assert members["dave"]["state"] == "active" and members["alice"]["email"] == "alice@example.com"
    assert kc.writes == []


# ------------------------------------------------------------ local reading


def test_list_is_newest_first_filtered_and_paged(kc):
    svc = service(kc)
    result = svc.list_groups()
    assert [g["uuid"] for g in result["groups"]] == [G2, G3, G1] and result["count"] == 3
    assert [g["uuid"] for g in svc.list_groups(offering=O1, role=R2)["groups"]] == [G2, G3]
    assert svc.list_groups(offering=O1, role="cluster-admin")["groups"][0]["uuid"] == G1
    page = svc.list_groups(page=2, page_size=2)
    assert [g["uuid"] for g in page["groups"]] == [G1] and page["count"] == 3
    view = svc.list_groups(group_uuid=G1)["groups"][0]
    assert set(view) >= {"uuid", "url", "name", "backend_id", "offering", "offering_uuid", "offering_name", "role",
                         "role_name", "role_scope_type", "resource", "resource_uuid", "resource_name", "scope_id",
                         "created", "modified"}
    assert (view["offering_name"], view["role_name"], view["role_scope_type"], view["resource_name"]) == (
        "Rancher production", "cluster-admin", "cluster", "cluster-a")


# ------------------------------------------------------------------ delete


def test_delete_of_a_linked_group_deletes_the_remote_group(kc, store_file):
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    plan, record = svc.plan_group_absent(group_uuid=G1, delete_remote=True, force=False)
    assert record["uuid"] == G1
    ctx = _plan.RunContext(True)
    steps = plan.describe(ctx)
    assert [(s["action"], s["target"]) for s in steps] == [("delete_group", "/rancher-prod/admins-a"),
                                                           ("delete_record", G1)]
    assert steps[0]["members"] == ["alice"]
    _plan.execute(plan, Store(store_file), check_mode=False)
    assert "kc-g1" not in kc.groups
    assert G1 not in Store(store_file).load().groups_by_uuid


def test_delete_keeps_the_record_when_keycloak_fails_unless_forced(kc, store_file, file_state):
    kc.fail = KeycloakError("cannot reach Keycloak at https://kc: Connection refused")
    before = file_state(store_file)
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    message = error_of(svc.plan_group_absent, group_uuid=G1, delete_remote=True, force=False)
    assert "Connection refused" in message
    assert file_state(store_file) == before
    plan, _record = svc.plan_group_absent(group_uuid=G1, delete_remote=True, force=True)
    _plan.execute(plan, Store(store_file), check_mode=False)
    assert G1 not in Store(store_file).load().groups_by_uuid


# ------------------------------------------------------------ unlinked on purpose


UNLINKED_G2 = "    scope_id: p1\n    unlinked: true\n"


def unlinked_text():
    text = store_text()
    assert "    scope_id: p1\n" in text
    return text.replace("    scope_id: p1\n", UNLINKED_G2)


def test_unlinking_marks_the_record_and_linking_clears_the_mark(kc):
    plan, after, _pull = service(kc).plan_group_present(**_present(group_uuid=G1, role=None, resource=None, scope_id=None,
                                                                   backend_id=""))
    assert (after["backend_id"], after["unlinked"]) == ("", True)
    assert plan.remote == [] and plan.records[0].action == "unlink"
    kc.make_group("/staff/p1", group_id="kc-staff")
    plan, after, _pull = service(kc, unlinked_text()).plan_group_present(
        **_present(group_uuid=G2, role=None, resource=None, scope_id=None, backend_id="kc-staff"))
    assert (after["backend_id"], after["unlinked"]) == ("kc-staff", False)
    assert plan.records[0].changed_fields() == ["backend_id", "unlinked"]


def test_create_remote_leaves_an_unlinked_record_alone_unless_relink_unlinked(kc):
    kc.make_group("/rancher-prod/members-p1", group_id="kc-p1")
    svc = service(kc, unlinked_text())
    args = _present(group_uuid=G2, role=None, resource=None, scope_id=None)
    plan, after, _pull = svc.plan_group_present(**args)
    assert plan.changed is False and after["backend_id"] == "" and after["unlinked"] is True
    plan, after, _pull = svc.plan_group_present(**dict(args, relink_unlinked=True))
    assert (after["backend_id"], after["unlinked"]) == ("kc-p1", False)
    assert plan.remote == [] and plan.records[0].action == "link"


def test_sync_leaves_an_unlinked_record_alone_and_prunes_not_its_group(kc):
    kc.make_group("/rancher-prod/members-p1", group_id="kc-p1", attributes={OFFERING_ATTRIBUTE: [O1]})
    kc.make_group("/rancher-prod/stray", group_id="kc-stray", attributes={OFFERING_ATTRIBUTE: [O1]})
    svc = service(kc, unlinked_text())
    offering = svc.keycloak_offering(O1)
    plan, reports = svc.plan_sync([offering], prune=True)
    assert reports[0]["unlinked"] == ["members-p1"] and reports[0]["adopted"] == []
    assert reports[0]["pruned"] == ["stray"]
    assert G2 not in [c.uuid for c in plan.records]
    plan, reports = svc.plan_sync([offering], prune=True, relink_unlinked=True)
    assert reports[0]["unlinked"] == [] and reports[0]["adopted"] == ["members-p1"]
    change = [c for c in plan.records if c.uuid == G2][0]
    assert (change.action, change.after["backend_id"], change.after["unlinked"]) == ("link", "kc-p1", False)


def test_sync_fills_created_of_a_record_it_changes(kc):
    text = store_text().replace('    created: "2026-01-03T00:00:00Z"\n', "")
    plan, _reports = service(kc, text).plan_sync([service(kc, text).keycloak_offering(O1)])
    change = [c for c in plan.records if c.uuid == G2][0]
    assert change.action == "link"
    assert change.after["created"] and change.after["created"] == change.after["modified"]
    assert change.changed_fields() == ["backend_id", "created"]


def test_unlinked_must_be_a_boolean():
    with pytest.raises(Exception) as exc_info:
        parse(store_text().replace("    scope_id: p1\n", "    scope_id: p1\n    unlinked: sometimes\n"))
    assert "unlinked" in str(exc_info.value) and "true or false" in str(exc_info.value)
    assert parse(unlinked_text()).groups_by_uuid[G2]["unlinked"] is True
    assert parse().groups_by_uuid[G1]["unlinked"] is False


# ------------------------------------------------------------ an unknown uuid


def test_unknown_uuid_never_falls_back_to_the_record_holding_the_natural_key(kc, store_file, file_state):
    before = file_state(store_file)
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    key = {"group_uuid": UNKNOWN, "offering": O1, "role": R1, "resource": X1, "scope_id": ""}
    for message in (error_of(svc.find_group, **key),
                    error_of(svc.plan_group_absent, delete_remote=True, force=True, **key),
                    error_of(svc.plan_group_present, **_present(members=["bob"], **key))):
        assert message.startswith("Not found. No offering group with UUID %s" % UNKNOWN), message
        assert G1 in message
    assert file_state(store_file) == before
    assert "kc-g1" in kc.groups and svc.data.groups_by_uuid[G1]["members"][0]["username"] == "alice"


def test_unknown_uuid_without_a_natural_key(kc):
    svc = service(kc)
    # An offering alone (module_defaults may give one) is no natural key: absent is a no-op, present Not found.
    for address in ({"group_uuid": UNKNOWN}, {"group_uuid": UNKNOWN, "offering": O1}):
        assert svc.find_group(**address) == (None, None, None, None)
        plan, record = svc.plan_group_absent(delete_remote=True, force=False, **address)
        assert record is None and not plan.changed
    message = error_of(svc.plan_group_present, **_present(group_uuid=UNKNOWN, role=None))
    assert message.startswith("Not found. No offering group with UUID %s" % UNKNOWN)
    assert "give offering and role to create it" in message


def test_unknown_uuid_with_a_free_natural_key_is_the_new_record_uuid(kc):
    _plan_, after, _pull = service(kc).plan_group_present(**_present(group_uuid=UNKNOWN, create_remote=False))
    assert after["uuid"] == UNKNOWN and after["scope_id"] == "p5"


# ------------------------------------------------------------ force without Keycloak settings


def test_force_deletes_a_linked_record_of_an_offering_without_keycloak(kc, store_file):
    text = store_text().replace("offering: %s\n    role: %s\n    resource: %s\n    scope_id: \"\"" % (O1, R1, X1),
                                "offering: %s\n    role: %s\n    resource: null\n    scope_id: \"\"" % (O3, R4))
    with open(store_file, "w") as stream:
        stream.write(text)
    svc = OfferingGroups(Store(store_file).load(), client_for=lambda url: kc)
    assert svc.data.groups_by_uuid[G1]["offering"] == O3
    message = error_of(svc.plan_group_absent, group_uuid=G1, delete_remote=True, force=False)
    assert message.startswith("Keycloak integration is not enabled for this offering.")
    assert "kc-g1" in message and "force=true" in message
    plan, record = svc.plan_group_absent(group_uuid=G1, delete_remote=True, force=True)
    assert [(s["action"], s["target"]) for s in plan.describe(_plan.RunContext(True))] == [("delete_record", G1)]
    _plan.execute(plan, Store(store_file), check_mode=False)
    assert G1 not in Store(store_file).load().groups_by_uuid
    assert "kc-g1" in kc.groups


# ------------------------------------------------------------ names without offering


def test_list_resolves_role_and_resource_names_across_offerings(kc):
    svc = service(kc)
    assert [g["uuid"] for g in svc.list_groups(role="project-member")["groups"]] == [G2, G3]
    assert [g["uuid"] for g in svc.list_groups(resource="cluster-a")["groups"]] == [G2, G3, G1]
    assert svc.list_groups(resource="cluster-b")["groups"] == []
    assert [g["uuid"] for g in svc.list_groups(role="cluster-admin", resource=X1)["groups"]] == [G1]
    assert error_of(svc.list_groups, role="nope").startswith("role_uuid: Role not found. No role with UUID or name")
    assert error_of(svc.list_groups, role=UNKNOWN).startswith("role_uuid: Role not found.")
    assert error_of(svc.list_groups, resource="nope").startswith("resource_uuid: Resource not found.")
    ambiguous = service(kc, store_text().replace("name: pi,", "name: cluster-admin,"))
    message = error_of(ambiguous.list_groups, role="cluster-admin")
    assert message == ("role_uuid: 'cluster-admin' names a role of several offerings ('Rancher production', "
                       "'HPC allocations'); give offering or the role's UUID.")
    assert [g["uuid"] for g in ambiguous.list_groups(offering=O1, role="cluster-admin")["groups"]] == [G1]


# ------------------------------------------------------------ arguments named in messages


@pytest.mark.parametrize("name, message", [
    ("", "name: This field may not be blank."),
    ("  ", "name: This field may not be blank."),
    ("a/b", "name: 'a/b' is not a valid group name."),
    ("x" * 151, "name: '%s... (151 characters)' is not a valid group name." % ("x" * 80)),
])
def test_check_group_name(name, message):
    assert error_of(check_group_name, name, "name").startswith(message)


def test_check_group_name_accepts_a_valid_name():
    assert check_group_name("x" * 150, "name") == "x" * 150


def test_check_usernames():
    assert check_usernames(["alice", "Bob"]) == ["alice", "Bob"]
    assert error_of(check_usernames, ["alice", " bob"]) == (
        "members: ' bob' has spaces around it; Keycloak trims usernames, write 'bob'.")
    assert error_of(check_usernames, ["alice", " "]) == "members: a username must not be empty. Got 'alice', ' '."


# ------------------------------------------------------- members at scale


def members_text():
    """G1 (linked, alice active) also wants bob and ghost; G2 (unlinked, its namesake exists) wants alice and
    bob; G3's group is gone (not relinked): nothing is read for it."""
    return (store_text()
            .replace("      - {username: alice, state: active}\n",
                     "      - {username: alice, state: active}\n      - {username: Bob}\n      - {username: ghost}\n")
            .replace("    scope_id: p1\n", "    scope_id: p1\n    members: [{username: alice}, {username: bob}]\n")
            .replace("    scope_id: p2\n", "    scope_id: p2\n    members: [{username: carol}]\n"))


def test_sync_reads_every_member_listing_up_front_and_resolves_users_once(kc):
    kc.make_group("/rancher-prod/members-p1", group_id="kc-p1")
    svc = service(kc, members_text())
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    # The linked groups' listings read alongside the children (G2's link is stale: its listing answers 404),
    # then the group G2 adopts by name, then one bulk user resolution of the users not yet members; nothing
    # read one by one afterwards.
    assert kc.reads == [("members_of_groups", ["kc-g1", "kc-gone"]), ("group_members", "kc-g1"),
                        ("group_members", "kc-gone"), ("members_of_groups", ["kc-p1"]), ("group_members", "kc-p1"),
                        ("users_by_username", ["alice", "bob", "ghost"])]
    assert reports[0]["members_added"] == ["admins-a: bob", "members-p1: alice", "members-p1: bob"]
    assert reports[0]["pending"] == ["admins-a: ghost"]
    states = dict((c.uuid, dict((m["username"], m["state"]) for m in c.after["members"])) for c in plan.records)
    assert states[G1] == {"alice": "active", "Bob": "active", "ghost": "pending"}
    assert states[G2] == {"alice": "active", "bob": "active"}


def test_sync_no_op_with_members_reads_the_listings_and_no_user(kc):
    kc.join("bob", "kc-g1")
    text = store_text().replace("      - {username: alice, state: active}\n",
                                "      - {username: alice, state: active}\n      - {username: bob, state: active}\n")
    cut = text.index("  - uuid: %s" % G2)
    svc = service(kc, text[:cut])
    plan, _reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert plan.changed is False and plan.remote == []
    assert kc.reads == [("members_of_groups", ["kc-g1"]), ("group_members", "kc-g1")]


def test_sync_of_a_group_to_create_resolves_its_users_in_bulk_and_reads_no_listing(kc):
    text = store_text().replace("    scope_id: p1\n", "    scope_id: p1\n    members: [{username: alice}]\n")
    cut = text.index("  - uuid: %s" % G3)
    svc = service(kc, text[:cut])
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert reports[0]["created"] == ["members-p1"] and reports[0]["members_added"] == ["members-p1: alice"]
    assert kc.reads == [("members_of_groups", ["kc-g1"]), ("group_members", "kc-g1"),
                        ("users_by_username", ["alice"])]


def test_exact_sync_reads_the_members_of_groups_without_declared_members(kc):
    kc.join("bob", "kc-g1")
    text = store_text().replace("    members:\n      - {username: alice, state: active}\n", "    members: []\n")
    cut = text.index("  - uuid: %s" % G2)
    svc = service(kc, text[:cut])
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)], members_mode="exact")
    assert reports[0]["members_removed"] == ["admins-a: alice", "admins-a: bob"]
    assert kc.reads == [("members_of_groups", ["kc-g1"]), ("group_members", "kc-g1")]


def test_sync_status_with_members_lists_them_in_one_bulk_read(kc):
    kc.make_group("/rancher-prod/p2", group_id="kc-gone")
    kc.join("bob", "kc-gone")
    status = service(kc).sync_status(O1, members=True)
    assert kc.reads == [("members_of_groups", ["kc-g1", "kc-gone"]), ("group_members", "kc-g1"),
                        ("group_members", "kc-gone")]
    assert [(d["name"], d["local_only"], d["remote_only"]) for d in status["members"]] == [
        ("admins-a", [], []), ("members-p2", [], ["bob"])]


# ------------------------------------------------- links the store lacks (issue 23)

def marked(record_uuid):
    return {"waldur_group_uuid": [record_uuid], "waldur_offering_uuid": [O1]}


def test_sync_links_a_stale_record_to_the_group_carrying_its_marker(kc):
    """G3's stored link is gone; the group made for it since carries its marker: linked, not missing."""
    kc.make_group("/rancher-prod/members-p2", group_id="kc-new", attributes=marked(G3))
    svc = service(kc)
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert reports[0]["linked_by_marker"] == ["members-p2"] and reports[0]["missing_remote"] == []
    assert [(op.action, op.target) for op in plan.remote] == [("create_group", "/rancher-prod/members-p1")]  # G2
    changes = dict((c.uuid, c) for c in plan.records)
    assert changes[G3].after["backend_id"] == "kc-new" and changes[G3].action == "link"


def test_a_marker_wins_over_a_namesake_and_renames_its_group(kc):
    kc.make_group("/rancher-prod/old-name", group_id="kc-marked", attributes=marked(G2))
    svc = service(kc)
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert reports[0]["linked_by_marker"] == ["members-p1"] and reports[0]["renamed"] == ["members-p1"]
    assert [(op.action, op.target) for op in plan.remote] == [("rename_group", "/rancher-prod/old-name")]
    # A namesake made by hand meanwhile is not adopted instead: the rename into its name is refused.
    kc.make_group("/rancher-prod/members-p1", group_id="kc-namesake")
    assert error_of(svc.plan_sync, [svc.keycloak_offering(O1)]).startswith(
        "name: Keycloak group /rancher-prod/old-name cannot be renamed to 'members-p1': its sibling "
        "/rancher-prod/members-p1 has that name.")


def test_two_groups_with_one_records_marker(kc):
    kc.make_group("/rancher-prod/members-p1", group_id="kc-a", attributes=marked(G2))
    kc.make_group("/rancher-prod/copy", group_id="kc-b", attributes=marked(G2))
    svc = service(kc)
    _plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert reports[0]["linked_by_marker"] == ["members-p1"]     # the one with the record's name
    kc.groups["kc-a"]["name"], kc.groups["kc-a"]["path"] = "copy-2", "/rancher-prod/copy-2"
    assert error_of(svc.plan_sync, [svc.keycloak_offering(O1)]) == (
        "Keycloak groups /rancher-prod/copy, /rancher-prod/copy-2 all carry the marker of group 'members-p1' (%s). "
        "Delete the copies in Keycloak, or link the record with waldur.keycloak.keycloak_offering_group backend_id."
        % G2)


def test_a_marked_group_another_record_links_is_not_taken(kc):
    """G1 links kc-g1; a copy of G1's marker on G2's namesake is no claim on it, and kc-g1 stays G1's."""
    kc.groups["kc-g1"]["attributes"] = marked(G2)
    svc = service(kc)
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert reports[0]["linked_by_marker"] == [] and reports[0]["created"] == ["members-p1"]
    status = svc.sync_status(O1)
    assert status["unrecorded"] == [] and status["store_behind"] is False


def test_sync_status_lists_unrecorded_links_and_keeps_the_spec_lists(kc):
    kc.make_group("/rancher-prod/members-p1", group_id="kc-p1")                       # G2 by name
    kc.make_group("/rancher-prod/p2-now", group_id="kc-p2", attributes=marked(G3))   # G3 by marker
    status = service(kc).sync_status(O1)
    assert status["unrecorded"] == [
        {"local_name": "members-p1", "remote_name": "members-p1", "backend_id": "kc-p1", "found_by": "name"},
        {"local_name": "members-p2", "remote_name": "p2-now", "backend_id": "kc-p2", "found_by": "marker"}]
    assert status["local_only"] == ["members-p1", "members-p2"]
    assert status["remote_only"] == ["members-p1", "p2-now"]
    assert (status["in_sync"], status["store_behind"]) == (True, True)
    assert kc.writes == []


# ------------------------------------------- memberships read from the users' side (issue 25)

def offering_groups_text(groups):
    """store_text()'s offerings, and ``groups`` as O1's only records: ``[(name, backend_id, [(username, state)])]``
    (state None: written without one, as a person declares a member)."""
    lines = [store_text().partition("groups:\n")[0] + "groups:"]
    for index, (name, backend_id, members) in enumerate(groups):
        lines += ["  - uuid: 3a000000-0000-4000-8000-%012d" % index, "    name: %s" % name,
                  '    backend_id: "%s"' % backend_id, "    offering: %s" % O1, "    role: %s" % R2,
                  "    resource: %s" % X1, "    scope_id: s%d" % index, "    members:"]
        lines += ["      - {username: %s%s}" % (user, ", state: %s" % state if state else "") for user, state in members]
        if not members:
            lines[-1] = "    members: []"
    return "\n".join(lines) + "\n"


def offering_groups_keycloak(count, memberships):
    """example_keycloak() plus /rancher-prod/g<i> (id kc-<i>) for i < count, users carol, dave and the service
    account svc (which a realm's user listing leaves out), and ``memberships``: {i: [username]}."""
    kc = example_keycloak()
    for user in ("carol", "dave", "svc"):
        kc.make_user(user)
    for index in range(count):
        kc.make_group("/rancher-prod/g%d" % index, group_id="kc-%d" % index)
    for index, users in memberships.items():
        for user in users:
            kc.join(user, "kc-%d" % index)
    return kc


def member_outcome(plan, reports):
    """What a sync plan does and records, whatever it read: its Keycloak operations, the records' members after it,
    and the report's member lists."""
    operations = [(op.action, op.target, op.details.get("username")) for op in plan.remote]
    records = sorted((change.uuid, sorted((m["username"], m["state"]) for m in change.after["members"]))
                     for change in plan.records)
    return operations, records, [(r["members_added"], r["members_removed"], r["pending"]) for r in reports]


def test_sync_reads_the_groups_of_few_users_instead_of_the_members_of_many_groups():
    # Eight linked groups, three store users: resolving them (a count, one listing page) and reading their
    # groups (3) beats eight member listings. dave, added by hand, is left alone and never read.
    kc = offering_groups_keycloak(8, {0: ["alice", "dave"], 1: ["bob"], 5: ["carol"]})
    groups = [("g%d" % i, "kc-%d" % i, [("alice", "active"), ("Bob", None), ("carol", None)]) for i in range(8)]
    svc = service(kc, offering_groups_text(groups))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    ids = dict((u["username"], u["id"]) for u in kc.users.values())
    assert kc.reads == [("users_count",), ("users_by_username", ["alice", "bob", "carol"]),
                        ("groups_of_users", [ids["alice"], ids["bob"], ids["carol"]])]
    added = [(op.group_id, op.details["username"]) for op in plan.remote]
    assert all(op.action == "add_member" for op in plan.remote) and len(added) == 24 - 3
    assert ("kc-0", "alice") not in added and ("kc-1", "bob") not in added and ("kc-5", "carol") not in added
    # The diff shows the members the store names (dave is not read, and additive mode leaves him).
    first = [op for op in plan.remote if op.group_id == "kc-0"][0]
    assert first.current == ["alice"]
    states = dict((c.after["name"], dict((m["username"], m["state"]) for m in c.after["members"])) for c in plan.records)
    assert states["g0"] == {"alice": "active", "Bob": "active", "carol": "active"}
    assert reports[0]["members_removed"] == []


def test_exact_sync_lists_every_group_however_many_and_removes_whom_the_store_does_not_name():
    kc = offering_groups_keycloak(8, {0: ["alice", "dave", "svc"], 1: ["bob"]})
    groups = [("g%d" % i, "kc-%d" % i, [("alice", None), ("bob", None), ("carol", None)]) for i in range(8)]
    svc = service(kc, offering_groups_text(groups))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)], members_mode="exact")
    assert kc.reads[0] == ("members_of_groups", ["kc-%d" % i for i in range(8)])
    assert "groups_of_users" not in [read[0] for read in kc.reads]
    assert reports[0]["members_removed"] == ["g0: dave", "g0: svc"]


def test_sync_lists_members_per_group_when_the_users_outnumber_the_groups(kc):
    kc = offering_groups_keycloak(3, {})
    groups = [("g%d" % i, "kc-%d" % i, [("alice", None), ("bob", None), ("carol", None), ("dave", None)])
              for i in range(3)]
    svc = service(kc, offering_groups_text(groups))
    svc.plan_sync([svc.keycloak_offering(O1)])
    assert kc.reads[0] == ("members_of_groups", ["kc-0", "kc-1", "kc-2"])
    assert ("users_count",) not in kc.reads


USERNAMES = ["alice", "bob", "carol", "dave", "svc", "ghost"]
# What became in Keycloak of a linked record's group: as linked, renamed there, deleted, moved out of the offering.
FATES = ["kept", "renamed", "gone", "moved"]


def keycloak_with_fates(shapes, parent_ids):
    """offering_groups_keycloak for ``shapes`` ``[(linked, members, store members, fate)]``: a record not linked
    has no group yet (the sync creates it)."""
    kc = offering_groups_keycloak(len(shapes), dict((i, sorted(s[1])) for i, s in enumerate(shapes) if s[0]))
    kc.parent_ids = parent_ids
    for i, (linked, _kc, _members, fate) in enumerate(shapes):
        group = kc.groups["kc-%d" % i]
        if not linked or fate == "gone":
            kc.delete_group(REALM, "kc-%d" % i)
        elif fate == "renamed":
            group.update(name="g%d-there" % i, path="/rancher-prod/g%d-there" % i)
        elif fate == "moved":
            group.update(parent=kc.make_group("/staff"), path="/staff/g%d" % i)
    return kc


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(),                                               # linked (else to create)
                          st.sets(st.sampled_from(USERNAMES[:5])),                     # Keycloak's members
                          st.lists(st.tuples(st.sampled_from(USERNAMES + ["Bob", "ALICE"]),
                                             st.sampled_from(["active", "pending", None])),
                                   max_size=5, unique_by=lambda m: m[0].lower()),     # the store's members
                          st.sampled_from(FATES)),
                min_size=1, max_size=12),
       st.booleans())
def test_reading_memberships_from_either_side_plans_the_same_sync(shapes, parent_ids):
    """Whichever side the memberships are read from, and whether the offering's children were listed or the
    users' groups confirmed the links, additive sync plans the same operations, records and report, in check
    mode and apply alike (one plan)."""
    groups = [("g%d" % i, "kc-%d" % i if s[0] else "", s[2]) for i, s in enumerate(shapes)]
    text = offering_groups_text(groups)
    kc = keycloak_with_fates(shapes, parent_ids)
    svc = service(kc, text)
    by_choice = member_outcome(*svc.plan_sync([svc.keycloak_offering(O1)]))
    chose_users = "groups_of_users" in [read[0] for read in kc.reads]
    original = OfferingGroups._by_user_cheaper
    try:
        OfferingGroups._by_user_cheaper = staticmethod(lambda *args: (False, None))
        kc = keycloak_with_fates(shapes, parent_ids)
        svc = service(kc, text)
        by_group = member_outcome(*svc.plan_sync([svc.keycloak_offering(O1)]))
        assert kc.children_reads[0] == (kc.root_id, True)      # the baseline: the children always listed
    finally:
        OfferingGroups._by_user_cheaper = original
    assert by_choice == by_group
    listed = set(m[0].lower() for linked, _kc, members, _fate in shapes if linked for m in members)
    linked_groups = sum(1 for s in shapes if s[0] and s[2])
    # The fake realm lists 5 users (one page): resolving costs 1 request, then one per user.
    assert chose_users == (2 < len(listed) and 1 + len(listed) < linked_groups)


def test_a_no_op_sync_whose_links_the_users_groups_confirm_lists_no_children():
    # Eight linked groups, each holding one of three users, as the store (written by the last apply) says.
    kc = offering_groups_keycloak(8, dict((i, [("alice", "bob", "carol")[i % 3]]) for i in range(8)))
    groups = [("g%d" % i, "kc-%d" % i, [(("alice", "bob", "carol")[i % 3], "active")]) for i in range(8)]
    groups += [("g8", "kc-8", [])]                  # linked, no members: not confirmed by any user
    kc.make_group("/rancher-prod/g8", group_id="kc-8")
    svc = service(kc, offering_groups_text(groups))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert plan.remote == [] and not plan.changed
    assert kc.children_reads == [] and kc.got_groups == ["kc-8"]
    assert reports[0]["missing_remote"] == [] and reports[0]["members_added"] == []


def test_a_link_the_users_groups_do_not_confirm_sends_the_sync_to_the_listing():
    # g3's group was deleted in Keycloak and a marked copy made: only the children's listing finds it.
    kc = offering_groups_keycloak(8, dict((i, [("alice", "bob", "carol")[i % 3]]) for i in range(8)))
    groups = [("g%d" % i, "kc-%d" % i, [(("alice", "bob", "carol")[i % 3], "active")]) for i in range(8)]
    kc.delete_group(REALM, "kc-3")
    kc.make_group("/rancher-prod/g3", group_id="kc-3b", attributes=marked("3a000000-0000-4000-8000-000000000003"))
    svc = service(kc, offering_groups_text(groups))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert kc.children_reads[0] == (kc.root_id, True)
    assert reports[0]["linked_by_marker"] == ["g3"] and reports[0]["missing_remote"] == []
    assert [c.after["backend_id"] for c in plan.records if c.after["name"] == "g3"] == ["kc-3b"]


def test_a_first_apply_lists_the_children_and_reads_the_users_side_side_by_side():
    # Every member pending (never seen in Keycloak): the users' groups will not confirm the links.
    kc = offering_groups_keycloak(8, {})
    groups = [("g%d" % i, "kc-%d" % i, [("alice", None), ("bob", None), ("carol", None)]) for i in range(8)]
    svc = service(kc, offering_groups_text(groups))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert kc.children_reads == [(kc.root_id, True)] and "groups_of_users" in [read[0] for read in kc.reads]
    assert len(reports[0]["members_added"]) == 24 and kc.got_groups == []


@pytest.mark.parametrize("parent_ids", [True, False])
def test_two_records_named_alike_under_the_offering_fail_also_when_the_children_are_not_listed(parent_ids):
    # g1 is linked to a group Keycloak names g1-there; its record wants the name g0 has.
    kc = offering_groups_keycloak(8, dict((i, [("alice", "bob", "carol")[i % 3]]) for i in range(8)))
    kc.parent_ids = parent_ids
    kc.groups["kc-1"].update(name="g1-there", path="/rancher-prod/g1-there")
    groups = [("g%d" % i, "kc-%d" % i, [(("alice", "bob", "carol")[i % 3], "active")]) for i in range(8)]
    groups[1] = ("g0",) + groups[1][1:]
    svc = service(kc, offering_groups_text(groups))
    message = error_of(svc.plan_sync, [svc.keycloak_offering(O1)])
    assert message.startswith("name: Two groups of offering 'Rancher production' are named 'g0'.")
    assert kc.children_reads == []


@pytest.mark.parametrize("parent_ids", [True, False])
def test_a_namesake_linked_outside_the_offering_is_no_conflict_when_the_children_are_not_listed(parent_ids):
    # g0's group was moved to /staff (still linked there); g1's record takes the name g0 under the offering.
    kc = offering_groups_keycloak(8, dict((i, [("alice", "bob", "carol")[i % 3]]) for i in range(8)))
    kc.parent_ids = parent_ids
    kc.groups["kc-0"].update(parent=kc.make_group("/staff"), path="/staff/g0")
    groups = [("g%d" % i, "kc-%d" % i, [(("alice", "bob", "carol")[i % 3], "active")]) for i in range(8)]
    groups[1] = ("g0",) + groups[1][1:]
    svc = service(kc, offering_groups_text(groups))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert reports[0]["renamed"] == ["g0"] and kc.children_reads == []
    assert [(op.action, op.target) for op in plan.remote] == [("rename_group", "/rancher-prod/g1")]


def reads_side_by_side(kc):
    """Record the calls ``kc.concurrently`` makes at a time: ``[(parallelism, [what each call read])]``."""
    batches = []

    def concurrently(call, items, parallelism=None):
        items = list(items)
        before = len(kc.reads), len(kc.children_reads)
        results = [call(item) for item in items]
        batches.append((parallelism, [r[0] for r in kc.reads[before[0]:]] +
                        ["children"] * (len(kc.children_reads) - before[1])))
        return results
    kc.concurrently = concurrently
    return batches


def test_the_children_and_the_linked_groups_members_are_read_side_by_side():
    kc = offering_groups_keycloak(3, {0: ["alice"]})
    groups = [("g%d" % i, "kc-%d" % i, [("alice", None), ("bob", None), ("carol", None), ("dave", None)])
              for i in range(3)]
    batches = reads_side_by_side(kc)
    svc = service(kc, offering_groups_text(groups))
    svc.plan_sync([svc.keycloak_offering(O1)])
    assert (2, ["members_of_groups", "group_members", "group_members", "group_members", "children"]) in batches


def test_a_first_apply_reads_the_children_and_the_users_groups_side_by_side():
    kc = offering_groups_keycloak(8, {})
    groups = [("g%d" % i, "kc-%d" % i, [("alice", None), ("bob", None), ("carol", None)]) for i in range(8)]
    batches = reads_side_by_side(kc)
    svc = service(kc, offering_groups_text(groups))
    svc.plan_sync([svc.keycloak_offering(O1)])
    assert (2, ["users_by_username", "groups_of_users", "children"]) in batches


# ------------------------------------- a brief listing of children, attributes only where needed (issue 25)

def test_a_sync_whose_groups_are_all_linked_reads_the_brief_listing_only():
    kc = offering_groups_keycloak(6, {})
    svc = service(kc, offering_groups_text([("g%d" % i, "kc-%d" % i, []) for i in range(6)]))
    plan, _reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert plan.remote == [] and kc.children_reads == [(kc.root_id, True)] and kc.got_groups == []


def test_markers_of_the_few_unclaimed_groups_are_read_one_by_one():
    # g0..g5 linked; a marked copy of g6's record (its link lost) and kc-g1 (admins-a, nobody's) unclaimed.
    kc = offering_groups_keycloak(6, {})
    groups = [("g%d" % i, "kc-%d" % i, []) for i in range(6)] + [("g6", "", [])]
    kc.make_group("/rancher-prod/g6", group_id="kc-6",
                  attributes={"waldur_group_uuid": ["3a000000-0000-4000-8000-000000000006"],
                              "waldur_offering_uuid": [O1]})
    kc.children_page_size = 2          # 8 children: a full listing is 5 pages, more than the 2 reads by id
    svc = service(kc, offering_groups_text(groups))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)])
    assert reports[0]["linked_by_marker"] == ["g6"] and reports[0]["created"] == []
    assert kc.children_reads == [(kc.root_id, True)] and sorted(kc.got_groups) == ["kc-6", "kc-g1"]


def test_markers_of_many_unclaimed_groups_come_from_one_full_listing():
    kc = offering_groups_keycloak(6, {})
    kc.children_page_size = 2          # 7 children: 4 pages; 7 unclaimed are more than that
    svc = service(kc, offering_groups_text([("g%d" % i, "", []) for i in range(6)]))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)], prune=True)
    assert reports[0]["adopted"] == ["g%d" % i for i in range(6)]
    assert kc.children_reads == [(kc.root_id, True), (kc.root_id, False)] and kc.got_groups == []


def test_prune_reads_the_markers_of_unclaimed_groups_and_deletes_only_its_own():
    kc = offering_groups_keycloak(3, {})
    kc.make_group("/rancher-prod/old", group_id="kc-old", attributes={"waldur_offering_uuid": [O1]})
    kc.children_page_size = 2
    svc = service(kc, offering_groups_text([("g%d" % i, "kc-%d" % i, []) for i in range(3)]))
    plan, reports = svc.plan_sync([svc.keycloak_offering(O1)], prune=True)
    assert reports[0]["pruned"] == ["old"]       # admins-a carries no marker: kept
    assert sorted(kc.got_groups) == ["kc-g1", "kc-old"]
