# -*- coding: utf-8 -*-
"""Shared helpers for the integration tests of the offering-group modules.

Everything here checks Keycloak through the raw-HTTP ``admin`` fixture (kc.RawAdmin)
and the store through its bytes, never through the collection's own client.
"""

import base64
import json
import uuid

import yaml

import playbook

KNOWN_AFTER_APPLY = "(known after apply)"

# Every field of the original API's serializer (../shared/seed/offering-keycloak-groups-api.md).
SEED_FIELDS = ("uuid", "url", "name", "backend_id", "offering", "offering_uuid", "offering_name", "role",
               "role_name", "role_scope_type", "resource", "resource_uuid", "resource_name", "scope_id",
               "created", "modified")
USER_FIELDS = ("id", "username", "email", "first_name", "last_name")
RECORD_ACTIONS = ("create_record", "update_record", "delete_record", "link", "unlink")

NOT_LINKED = "Group is not linked to a remote Keycloak group. Remap it first to set a backend ID."


def fqcn(module):
    return "waldur.keycloak." + module


def new_uuid():
    return str(uuid.uuid4())


# ------------------------------------------------------------------ the store

def store_bytes(path):
    with open(path, "rb") as stream:
        return stream.read()


def load_store(path):
    with open(path) as stream:
        return yaml.safe_load(stream)


def store_groups(path):
    return load_store(path).get("groups") or []


def store_group(path, group_uuid):
    """The raw record of ``group_uuid`` in the store file, or None."""
    for group in store_groups(path):
        if group["uuid"] == group_uuid:
            return group
    return None


def store_members(path, group_uuid):
    """``{username: state}`` of a stored group."""
    return dict((m["username"], m.get("state", "pending")) for m in store_group(path, group_uuid).get("members") or [])


def write_store(path, document):
    """Write ``document`` in the format the file name says (.json or YAML)."""
    with open(path, "w") as stream:
        if path.endswith(".json"):
            json.dump(document, stream, indent=2)
            stream.write("\n")
        else:
            yaml.safe_dump(document, stream, sort_keys=False)


def write_groups(path, groups):
    """Replace the groups of the store at ``path`` (keeping its offerings)."""
    document = load_store(path)
    document["groups"] = groups
    write_store(path, document)


def group_record(ids, name, role="role_admin", resource="resource_a", backend_id="", scope_id="",
                 created="2026-01-01T00:00:00Z", members=None, group_uuid=None, offering="offering"):
    """A group record for the store, from the ids that ``offering_store`` returned."""
    return {
        "uuid": group_uuid or new_uuid(), "name": name, "backend_id": backend_id,
        "offering": ids[offering], "role": ids[role], "resource": ids[resource] if resource else None,
        "scope_id": scope_id, "created": created, "modified": created, "members": list(members or []),
    }


def member(username, state="active", email="", first_name="", last_name=""):
    return {"username": username, "email": email, "first_name": first_name, "last_name": last_name, "state": state}


def second_offering(role_name="admin", resource_name="login-node"):
    """Another Keycloak-less offering with a role and a resource of its own; returns (offering, ids)."""
    ids = {"offering": new_uuid(), "role": new_uuid(), "resource": new_uuid()}
    offering = {
        "uuid": ids["offering"], "name": "HPC allocations", "slug": "hpc",
        "roles": [{"uuid": ids["role"], "name": role_name, "scope_type": ""}],
        "resources": [{"uuid": ids["resource"], "name": resource_name}],
    }
    return offering, ids


def default_name(ids, role_name="cluster-admin", resource="resource_a", scope_id=""):
    """The naming rule of BEHAVIOUR.md: offering hex, scope_id or resource hex, role name."""
    parts = [uuid.UUID(ids["offering"]).hex, scope_id or (uuid.UUID(ids[resource]).hex if resource else ""),
             role_name]
    return "_".join(p for p in parts if p)


# ------------------------------------------------------------------ Keycloak

def kc_tree(admin, realm):
    """Every group of ``realm``: ``{path: {id, name, attributes, members}}``, through raw HTTP."""
    tree = {}

    def visit(group):
        tree[group["path"]] = {
            "id": group["id"], "name": group["name"], "attributes": group.get("attributes") or {},
            "members": admin.member_names(realm, group["id"]),
        }
        for child in admin.children(realm, group["id"]):
            visit(child)

    for top in admin.get("/realms/%s/groups" % realm, first=0, max=10000, briefRepresentation="false"):
        visit(top)
    return tree


def kc_snapshot(admin, realm):
    """Groups (with members and attributes) and users of ``realm``: compare two of them to see any change."""
    users = sorted((u["username"], u.get("email"), u.get("firstName"), u.get("lastName"))
                   for u in admin.get("/realms/%s/users" % realm, first=0, max=10000))
    return {"groups": kc_tree(admin, realm), "users": users}


def bulk_users(admin, realm, users):
    """Create many users in one call (partial import); each may name ``groups`` (paths) to join."""
    admin.call("POST", "/realms/%s/partialImport" % realm,
               json={"ifResourceExists": "FAIL", "users": [dict(u, enabled=True) for u in users]})


def user_id(admin, realm, username):
    users = admin.get("/realms/%s/users" % realm, username=username, exact="true")
    assert len(users) == 1, users
    return users[0]["id"]


def create_path(admin, realm, path):
    """Create every missing group of ``/a/b/c``; return the id of the last one."""
    parent, current = None, ""
    for segment in [s for s in path.split("/") if s]:
        current += "/" + segment
        existing = admin.group_by_path(realm, current)
        parent = existing["id"] if existing else admin.create_group(realm, segment, parent_id=parent)
    return parent


# ------------------------------------------------------------------ results

def assert_ok(result):
    assert not result.get("failed"), "module failed: %s" % result.get("msg")
    return result


def assert_failed(result, prefix, store=None, before=None):
    """A clean failure: the message starts with ``prefix``, is one line, and the store is untouched."""
    assert result.get("failed"), "expected a failure starting %r, got %r" % (prefix, result)
    msg = result.get("msg") or ""
    assert msg.startswith(prefix), "msg %r does not start with %r" % (msg, prefix)
    assert "\n" not in msg and "\r" not in msg, "msg is not one line: %r" % msg
    assert "Traceback" not in msg
    if store is not None:
        assert store_bytes(store) == before, "a failed call changed the store %s" % store
    return result


def plan_pairs(result):
    return [(entry["action"], entry["target"]) for entry in result.get("plan") or []]


def _announced(check_value, real_value):
    """Did the check-mode value announce ``real_value``? A "(known after apply)" stands for anything."""
    if isinstance(check_value, str) and KNOWN_AFTER_APPLY in check_value:
        return True
    if isinstance(check_value, dict) and isinstance(real_value, dict):
        return set(check_value) == set(real_value) and all(
            _announced(check_value[k], real_value[k]) for k in check_value)
    if isinstance(check_value, list) and isinstance(real_value, list):
        return len(check_value) == len(real_value) and all(
            _announced(c, r) for c, r in zip(check_value, real_value))
    return check_value == real_value


def check_apply_rerun(module, args, store, admin=None, realm=None, expect_plan=None, expect_changed=True,
                      same_fields=()):
    """Run ``module`` with ``args`` in check+diff mode, then for real, then again.

    - check mode: succeeds, changes neither the store (bytes) nor Keycloak (raw-HTTP snapshot of the
      realm's groups, attributes, members and users), and shows a diff when it announces a change;
    - the real run: same ``changed``, same plan as (action, target) pairs, every detail announced
      (a "(known after apply)" value stands for the id the real run made), the store rewritten exactly
      when the plan holds a record change;
    - the rerun: ``changed`` false, an empty plan, the store bytes as the real run left them;
    - ``same_fields``: result keys (e.g. pull_members counts) that check mode must report as the real run does.

    Returns (check, real, rerun) result dicts.
    """
    before = store_bytes(store)
    snapshot = kc_snapshot(admin, realm) if admin is not None else None

    check = assert_ok(playbook.run_module(module, args, check=True, diff=True))
    assert store_bytes(store) == before, "check mode changed the store"
    if admin is not None:
        assert kc_snapshot(admin, realm) == snapshot, "check mode changed Keycloak"
    assert check["changed"] is expect_changed, "check mode: changed=%r, plan %r" % (check["changed"], check["plan"])
    if expect_changed:
        assert check.get("diff"), "check mode with --diff showed no diff"

    # The real run and the rerun share one play; the store is read between them.
    run = playbook.run_tasks([
        {fqcn(module): args},
        {"ansible.builtin.slurp": {"src": store}},
        {fqcn(module): args},
    ])
    real, slurped, rerun = run.results
    assert_ok(real)
    assert_ok(slurped)
    after_real = base64.b64decode(slurped["content"])

    assert real["changed"] == check["changed"]
    assert plan_pairs(real) == plan_pairs(check), "check announced %r, the real run did %r" % (
        plan_pairs(check), plan_pairs(real))
    for announced, done in zip(check["plan"], real["plan"]):
        assert _announced(announced, done), "check announced %r, the real run did %r" % (announced, done)
    if expect_plan is not None:
        assert plan_pairs(real) == list(expect_plan)
    touches_store = any(action in RECORD_ACTIONS for action, _target in plan_pairs(real))
    assert (after_real != before) is touches_store, "store rewritten=%r but plan %r" % (
        after_real != before, real["plan"])
    for key in same_fields:
        assert check.get(key) == real.get(key), "%s: check mode said %r, the real run %r" % (
            key, check.get(key), real.get(key))

    assert_ok(rerun)
    assert rerun["changed"] is False, "the rerun changed: %r" % rerun["plan"]
    assert rerun["plan"] == []
    assert store_bytes(store) == after_real, "the rerun rewrote the store"
    return check, real, rerun


def run_failing(module, args, prefix, store, check_mode=True):
    """One call that must fail with ``prefix``, leaving the store's bytes as they were (also in check mode)."""
    return run_failures(module, [(args, prefix)], store, check_mode=check_mode)[0]


def run_failures(module, cases, store, check_mode=False):
    """Calls ``[(args, prefix), ...]`` that must each fail, in one play.

    Each must fail with its message prefix, in one line, and leave the store's bytes as they were.
    With ``check_mode``, each call is also made in check mode, with the same outcome.
    Returns the (real) runs' results.
    """
    before = store_bytes(store)
    tasks = []
    for args, _prefix in cases:
        tasks.append({fqcn(module): args})
        if check_mode:
            tasks.append({fqcn(module): args, "check_mode": True})
    results = playbook.run_tasks(tasks).results
    per_case = 2 if check_mode else 1
    for index, (_args, prefix) in enumerate(cases):
        for result in results[per_case * index:per_case * (index + 1)]:
            assert_failed(result, prefix, store, before)
    return results[0::per_case]
