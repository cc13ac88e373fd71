# -*- coding: utf-8 -*-
"""One cell of the compatibility matrix: what a user does with the collection, in three Ansible runs.

1. one play: keycloak_offering_sync in check mode, applied, rerun; then every module of the action group
   once (module_defaults for group/waldur.keycloak.keycloak);
2. the drift_report playbook on the synced store (clean), then after a change made behind its back (drift);
3. the inventory plugin through ansible-inventory, with live members.

Everything runs with the cell's ansible-core and Python (conftest.py); Keycloak is checked with RawAdmin.
The integration suite (tests/integration) covers each of these in depth on the main ansible-core.
"""

import base64
import json
import os
import re
import subprocess

import pytest
import yaml

import playbook
from helpers import (assert_ok, create_path, fqcn, group_record, load_store, member, new_uuid, plan_pairs,
                     store_bytes, store_group, user_id, write_store)
from test_drift_report import run_report
from test_inventory import unwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED_MODULES = ("keycloak_connection_test", "keycloak_offering_group", "keycloak_offering_group_info",
                "keycloak_remote_group_info", "keycloak_remote_user_info", "keycloak_group_import",
                "keycloak_group_sync_info", "keycloak_offering_sync")


@pytest.fixture(scope="module")
def store(tmp_path_factory, admin, compat_realm):
    """A store with one offering in the cell's realm and one unlinked group record (alice, pending)."""
    ids = {"offering": new_uuid(), "role_admin": new_uuid(), "role_member": new_uuid(),
           "resource_a": new_uuid(), "resource_b": new_uuid()}
    document = {"version": 1, "offerings": [{
        "uuid": ids["offering"], "name": "Rancher production", "slug": "rancher-prod",
        "roles": [{"uuid": ids["role_admin"], "name": "cluster-admin", "scope_type": "cluster"},
                  {"uuid": ids["role_member"], "name": "project-member", "scope_type": "project"}],
        "resources": [{"uuid": ids["resource_a"], "name": "cluster-a"},
                      {"uuid": ids["resource_b"], "name": "cluster-b"}],
        "keycloak": {"realm": compat_realm, "base_group": "", "group_name_template": ""},
    }], "groups": [group_record(ids, "cluster-b-admins", resource="resource_b", members=[member("alice", "pending")])]}
    path = str(tmp_path_factory.mktemp("compat") / "store.yml")
    write_store(path, document)
    for name in ("alice", "bob"):
        admin.create_user(compat_realm, name)
    return path, ids, document["groups"][0]["uuid"]


@pytest.fixture(scope="module")
def seeded(store, admin, compat_realm, keycloak_url, admin_credentials, cell_env):
    """The first run: the sync (check, apply, rerun) and every module of the action group."""
    path, _ids, _record = store
    handmade = create_path(admin, compat_realm, "/staff/handmade")
    before = store_bytes(path)
    shared = {"auth_keycloak_url": keycloak_url, "auth_realm": "master", "auth_client_id": "admin-cli",
              "auth_username": admin_credentials[0], "auth_password": admin_credentials[1],
              "store": path, "offering": "Rancher production"}
    tasks = [
        {"ansible.builtin.set_fact": {"compat_ansible": "{{ ansible_version.full }}",
                                      "compat_python": "{{ ansible_playbook_python }}"}},
        {fqcn("keycloak_offering_sync"): {}, "check_mode": True, "diff": True},
        {"ansible.builtin.slurp": {"src": path}},
        {fqcn("keycloak_offering_sync"): {}},
        {fqcn("keycloak_offering_sync"): {}},
        {fqcn("keycloak_connection_test"): {}},
        {fqcn("keycloak_connection_test"): {"realm": compat_realm}},
        {fqcn("keycloak_offering_group"): {"role": "cluster-admin", "resource": "cluster-a", "members": ["bob"]}},
        {fqcn("keycloak_offering_group_info"): {}},
        {fqcn("keycloak_remote_group_info"): {}},
        {fqcn("keycloak_remote_user_info"): {"q": "alice"}},
        {fqcn("keycloak_group_import"): {"role": "project-member", "remote_group_id": handmade}},
        {fqcn("keycloak_group_sync_info"): {}},
    ]
    # The environment leads nowhere: only module_defaults (the action group) can make these calls work.
    env = dict(cell_env, KEYCLOAK_URL="http://127.0.0.1:1", KEYCLOAK_USERNAME="nobody", KEYCLOAK_PASSWORD="wrong",
               WALDUR_KEYCLOAK_STORE="/nonexistent/store.yml")
    run = playbook.run_tasks(tasks, env=env, module_defaults={"group/waldur.keycloak.keycloak": shared})
    return run, before, handmade


def test_the_cell_runs_its_own_ansible_core_python_and_keycloak(seeded, admin):
    facts = seeded[0].results[0]["ansible_facts"]
    assert facts["compat_ansible"] == os.environ["COMPAT_RELEASE"]
    assert facts["compat_python"].startswith(os.environ["COMPAT_VENV"] + "/")
    assert admin.get("/serverinfo")["systemInfo"]["version"] == os.environ["KEYCLOAK_VERSION"]


def test_sync_check_mode_plan_apply_and_rerun(seeded, store, admin, compat_realm):
    run, before, _handmade = seeded
    path, _ids, record = store
    check, slurped, real, rerun = run.results[1:5]
    for result in (check, real, rerun):
        assert_ok(result)
    assert base64.b64decode(slurped["content"]) == before, "check mode wrote the store"
    assert check["changed"] is True and check.get("diff"), check
    assert ("link", record) in plan_pairs(check)
    assert any(action == "add_member" for action, _target in plan_pairs(check)), check["plan"]
    # Check mode changed nothing in Keycloak, so the real run does exactly what it announced.
    assert plan_pairs(real) == plan_pairs(check)
    assert real["changed"] is True
    assert (rerun["changed"], rerun["plan"]) == (False, [])
    linked = store_group(path, record)
    assert linked["backend_id"]
    assert admin.group(compat_realm, linked["backend_id"])["path"] == "/rancher-prod/cluster-b-admins"
    assert admin.member_names(compat_realm, linked["backend_id"]) == ["alice"]


def test_every_module_of_the_action_group(seeded, store, admin, compat_realm, admin_credentials):
    run, _before, handmade = seeded
    path, _ids, _record = store
    with open(os.path.join(REPO, "meta", "runtime.yml")) as stream:
        runtime = yaml.safe_load(stream)
    assert set(runtime["action_groups"]["keycloak"]) == set(SEED_MODULES)
    calls = run.results[5:]
    for result in calls:
        assert_ok(result)
    by_offering, by_realm, created, listed, remote, users, imported, status = calls
    assert (by_offering["status"], by_offering["realm"]) == ("ok", compat_realm)
    assert (by_realm["status"], by_realm["realm"]) == ("ok", compat_realm)
    group = created["group"]
    assert created["changed"] is True
    assert admin.member_names(compat_realm, group["backend_id"]) == ["bob"]
    assert admin.group(compat_realm, group["backend_id"])["path"] == "/rancher-prod/" + group["name"]
    assert group["uuid"] in [g["uuid"] for g in listed["groups"]]
    assert group["backend_id"] in [g["id"] for g in remote["groups"]]
    assert [u["id"] for u in users["users"]] == [user_id(admin, compat_realm, "alice")]
    assert store_group(path, imported["group"]["uuid"])["backend_id"] == handmade
    assert status["in_sync"] is True, status
    assert group["backend_id"] in [s["backend_id"] for s in status["synced"]]
    assert admin_credentials[1] not in run.stdout + run.stderr


def test_drift_report_clean_then_with_drift(seeded, store, admin, compat_realm, tmp_path, cell_env):
    path, _ids, record = store
    clean = run_report(tmp_path, path, env=cell_env, out="clean")
    assert clean.returncode == 0, clean.output()
    assert clean.json["drift"] is False
    assert clean.json["totals"] == {"offerings": 1, "in_sync": 1, "drifted": 0, "store_behind": 0, "errors": 0, "operations": 0}
    assert "**1 offering checked: 1 in sync, 0 with drift.**" in clean.markdown
    assert clean.testcases()["Rancher production"].find("failure") is None

    # Drift behind the collection's back: a group renamed in Keycloak.
    backend_id = store_group(path, record)["backend_id"]
    admin.rename_group(compat_realm, backend_id, "renamed-by-hand")
    try:
        drift = run_report(tmp_path, path, env=cell_env, out="drift")
    finally:
        admin.rename_group(compat_realm, backend_id, "cluster-b-admins")
    assert drift.returncode != 0, drift.output()
    data = drift.json
    assert data["drift"] is True
    assert data["totals"] == {"offerings": 1, "in_sync": 0, "drifted": 1, "store_behind": 0, "errors": 0, "operations": 1}
    assert [(op["action"], op["target"]) for op in data["offerings"][0]["plan"]] == [
        ("rename_group", "/rancher-prod/renamed-by-hand")]
    assert "**1 offering checked: 0 in sync, 1 with drift.**" in drift.markdown
    assert "rename_group /rancher-prod/renamed-by-hand (renamed-by-hand -> cluster-b-admins)" in drift.markdown
    failure = drift.testcases()["Rancher production"].find("failure")
    assert failure is not None and failure.get("message") == "Rancher production: 1 planned operation"


def test_inventory_with_live_members(seeded, store, admin, compat_realm, cell_env):
    path, _ids, _record = store
    directory = os.path.dirname(path)
    config = os.path.join(directory, "live.offering_groups.yml")
    with open(config, "w") as stream:
        yaml.safe_dump({"plugin": "waldur.keycloak.offering_groups", "store": os.path.basename(path),
                        "live_members": True}, stream)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_UNPARSED_FAILED="1", **cell_env)
    env.pop("WALDUR_KEYCLOAK_STORE", None)
    process = subprocess.run([os.path.join(os.environ["COMPAT_VENV"], "bin", "ansible-inventory"), "-i", config,
                              "--list"], capture_output=True, text=True, env=env, cwd=directory, check=False,
                             timeout=300)
    assert process.returncode == 0, process.stderr
    assert "WARNING" not in process.stderr, process.stderr
    data = unwrap(json.loads(process.stdout))
    hostvars = data["_meta"]["hostvars"]
    # The imported group has no resource: it belongs to the offering's own host.
    assert sorted(hostvars) == ["cluster-a", "cluster-b", "rancher-prod"]
    assert sorted(data["offering_rancher_prod"]["hosts"]) == ["cluster-a", "cluster-b", "rancher-prod"]
    linked = dict((g["name"], g["backend_id"]) for g in load_store(path)["groups"])
    for host, groups in hostvars.items():
        for group in groups["keycloak_groups"]:
            assert group["members_source"] == "keycloak", group
            # Live members are Keycloak's, as the raw client sees them.
            assert group["members"] == admin.member_names(compat_realm, linked[group["name"]]), (host, group)
            # Paths are Keycloak's (live_members reads them): the imported group is at /staff/handmade.
            assert (group["path"], group["path_source"]) == (
                admin.group(compat_realm, linked[group["name"]])["path"], "keycloak"), group
            assert group["path"] != "/rancher-prod/handmade"


# ------------------------------------------------------------------ store text is data, on every ansible-core

def _run(command, directory, env):
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=directory, check=False, timeout=300)


TEMPLATE = "{{ lookup('pipe', 'touch pwned-%s') }}"
# (offering slug, {resource slug: its host name, with <uuid> for the resource's}, the offering's host name)
HOST_NAME_CASES = {
    "templates": (TEMPLATE % "offering", {TEMPLATE % "resource": "resource-<uuid>", "{% raw %}x": "resource-<uuid>",
                                          "cluster-a": "cluster-a"}, "offering-<offering>"),
    "group-names": ("tenant", {"all": "tenant-all", "ungrouped": "tenant-ungrouped", "role_admin": "resource-<uuid>",
                               "webservers": "tenant-webservers", "other": "tenant-other", "a b": "resource-<uuid>",
                               "a,b": "resource-<uuid>", "x\ny": "resource-<uuid>", "!x": "resource-<uuid>",
                               "&x": "resource-<uuid>", "localhost": "tenant-localhost", "cluster-a": "cluster-a"},
                    "tenant"),
}


@pytest.mark.parametrize("case", sorted(HOST_NAME_CASES))
def test_store_text_names_no_host_that_runs_a_template_or_stands_for_a_group(case, tmp_path, cell_env):
    """Issue 21, items 1 and 2, with the cell's ansible-inventory and ansible-playbook, next to a static source.

    Before 2.19 ansible-core templates a host's name: a slug ``{{ lookup('pipe', ...) }}`` that became a host ran
    the command in a play on ``all`` that only pings. Slugs that are Ansible's own group names, a generated group's
    name or the static source's host or group must not change any group. Host variables (also through compose)
    stay data: a group name and a member that look like templates run nothing.
    """
    offering_slug, slugs, offering_host = HOST_NAME_CASES[case]
    directory = str(tmp_path)
    ids = dict((name, new_uuid()) for name in ("offering", "role", "wide"))
    resources = [{"uuid": new_uuid(), "name": "resource %d" % n, "slug": slug} for n, slug in enumerate(sorted(slugs))]
    document = {"version": 1, "offerings": [{
        "uuid": ids["offering"], "name": "Tenant", "slug": offering_slug,
        "roles": [{"uuid": ids["role"], "name": "admin", "scope_type": "cluster"},
                  {"uuid": ids["wide"], "name": "everyone", "scope_type": ""}],
        "resources": resources}], "groups": []}
    for n, resource in enumerate(resources):
        document["groups"].append({
            "uuid": new_uuid(), "name": "g%d %s" % (n, TEMPLATE % "group"), "backend_id": "",
            "offering": ids["offering"], "role": ids["role"], "resource": resource["uuid"], "scope_id": "",
            "members": [{"username": TEMPLATE % "member", "state": "active"}]})
    document["groups"].append({"uuid": new_uuid(), "name": "everyone", "backend_id": "", "offering": ids["offering"],
                               "role": ids["wide"], "resource": None, "scope_id": "", "members": []})
    write_store(os.path.join(directory, "store.yml"), document)
    with open(os.path.join(directory, "static.yml"), "w") as stream:
        yaml.safe_dump({"all": {"hosts": {"other": {"static_var": 1}},
                                "children": {"webservers": {"hosts": {"web1": {}}}}}}, stream)
    with open(os.path.join(directory, "site.offering_groups.yml"), "w") as stream:
        yaml.safe_dump({"plugin": "waldur.keycloak.offering_groups", "store": "store.yml",
                        "compose": {"group_names_seen": "keycloak_groups | map(attribute='name') | list"}}, stream)
    with open(os.path.join(directory, "play.yml"), "w") as stream:
        yaml.safe_dump([
            {"name": "Every host", "hosts": "all", "connection": "local", "gather_facts": False,
             "tasks": [{"ansible.builtin.ping": {}},
                       {"ansible.builtin.debug": {"msg": "{{ inventory_hostname }} {{ group_names_seen | default([]) }}"
                                                         " {{ keycloak_groups | default([]) }}"}}]},
            {"name": "The role's group", "hosts": "role_admin", "connection": "local", "gather_facts": False,
             "tasks": [{"ansible.builtin.debug": {"msg": "{{ inventory_hostname }}"}}]},
        ], stream)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", **cell_env)
    env.pop("WALDUR_KEYCLOAK_STORE", None)
    sources = ["-i", "static.yml", "-i", "site.offering_groups.yml"]
    bin_dir = os.path.join(os.environ["COMPAT_VENV"], "bin")

    played = _run([os.path.join(bin_dir, "ansible-playbook")] + sources + ["play.yml"], directory, env)
    # No template ran: no marker in the directory (the pipe lookup's working directory).
    assert sorted(name for name in os.listdir(directory) if name.startswith("pwned")) == [], played.stdout
    assert played.returncode == 0, played.stdout + played.stderr
    env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "1"
    listed = _run([os.path.join(bin_dir, "ansible-inventory")] + sources + ["--list"], directory, env)
    assert listed.returncode == 0, listed.stderr

    data = unwrap(json.loads(listed.stdout))
    hostvars = data["_meta"]["hostvars"]
    names = dict((v["waldur_resource"]["uuid"], host) for host, v in hostvars.items() if v.get("waldur_resource"))
    assert names == dict((r["uuid"], slugs[r["slug"]].replace("<uuid>", r["uuid"])) for r in resources)
    offering_host = offering_host.replace("<offering>", ids["offering"])
    assert hostvars[offering_host]["waldur_resource"] is None
    ours = sorted(list(names.values()) + [offering_host])
    # The static source keeps its hosts and groups as they were; no group holds another group.
    assert "waldur_offering" not in hostvars.get("other", {}) and "group_names_seen" not in hostvars.get("other", {})
    assert data["webservers"]["hosts"] == ["web1"]
    assert data["ungrouped"]["hosts"] == ["other"]
    assert sorted(data["role_admin"]["hosts"]) == sorted(names.values())
    for name, group in data.items():
        if name not in ("_meta", "all"):
            assert "children" not in group, (name, group)
    for host in ours:
        assert re.match(r"\A[A-Za-z0-9][A-Za-z0-9.-]*\Z", host), host
        assert ("ok: [%s]" % host) in played.stdout
    # The group and member names reached the play as text.
    assert "touch pwned-group" in played.stdout and "touch pwned-member" in played.stdout


def test_memberships_read_from_the_users_side(admin, compat_realm, keycloak_url, admin_credentials, cell_env,
                                              tmp_path):
    """Eight groups wanting the same three users: the sync reads those users' groups instead of eight member
    listings, and a re-apply takes the links they confirm without listing the offering's children. On this
    Keycloak's representation of a user's groups (parentId, or the path alone): check mode announces what
    apply does, the rerun is a no-op, a group renamed behind the sync's back is renamed back, a deleted one
    is reported missing. What varies here is the server, so it runs in the cells of the main ansible-core (one
    per Keycloak of the matrix), not in every cell."""
    with open(os.path.join(REPO, "tests", "compat", "matrix.yml")) as stream:
        main = yaml.safe_load(stream)["main_ansible_core"]
    if not os.environ["COMPAT_RELEASE"].startswith(main + "."):
        pytest.skip("runs with ansible-core %s, once per Keycloak of the matrix" % main)
    ids = {"offering": new_uuid(), "role_admin": new_uuid(), "resource_a": new_uuid()}
    users = ["carol", "dave", "erin"]
    for name in users:
        admin.create_user(compat_realm, name)
    document = {"version": 1, "offerings": [{
        "uuid": ids["offering"], "name": "Crew", "slug": "crew",
        "roles": [{"uuid": ids["role_admin"], "name": "crew-admin", "scope_type": "cluster"}],
        "resources": [{"uuid": ids["resource_a"], "name": "crew-a"}],
        "keycloak": {"realm": compat_realm, "base_group": "", "group_name_template": ""},
    }], "groups": [group_record(ids, "crew-%d" % i, scope_id="c%d" % i, members=[member(u, "pending") for u in users])
                   for i in range(8)]}
    path = str(tmp_path / "crew.yml")
    write_store(path, document)
    sync = {fqcn("keycloak_offering_sync"): {
        "auth_keycloak_url": keycloak_url, "auth_username": admin_credentials[0],
        "auth_password": admin_credentials[1], "store": path, "offering": "Crew"}}
    stats = str(tmp_path / "requests.jsonl")
    check, real, rerun = playbook.run_tasks([dict(sync, check_mode=True), sync, sync],
                                            env=dict(cell_env, WALDUR_KEYCLOAK_STATS_FILE=stats)).results
    for result in (check, real, rerun):
        assert_ok(result)
    assert plan_pairs(real) == plan_pairs(check)
    actions = [action for action, _target in plan_pairs(real)]
    assert (actions.count("create_group"), actions.count("add_member")) == (1 + 8, 8 * 3)   # /crew, its groups
    assert (rerun["changed"], rerun["plan"]) == (False, [])
    with open(stats) as stream:
        requests = [json.loads(line)["requests"] for line in stream if line.strip()]
    # The rerun: a token, /crew by path, the realm's user count, one page of its users, the 3 users' groups;
    # no member listing per group, and no listing of /crew's children (the users' groups confirm the links).
    assert len(requests) == 3 and requests[2] == 1 + 1 + 1 + 1 + 3, requests
    linked = dict((g["name"], g["backend_id"]) for g in load_store(path)["groups"])
    for name, group_id in linked.items():
        assert admin.member_names(compat_realm, group_id) == users, name
        assert admin.group(compat_realm, group_id)["path"] == "/crew/" + name

    admin.call("PUT", "/realms/%s/groups/%s" % (compat_realm, linked["crew-3"]), json={"name": "crew-3-there"})
    renamed = assert_ok(playbook.run_tasks([sync], env=cell_env).results[0])
    assert renamed["offerings"][0]["renamed"] == ["crew-3"] and renamed["offerings"][0]["missing_remote"] == []
    assert admin.group(compat_realm, linked["crew-3"])["path"] == "/crew/crew-3"

    admin.call("DELETE", "/realms/%s/groups/%s" % (compat_realm, linked["crew-5"]))
    missing = assert_ok(playbook.run_tasks([sync], env=cell_env).results[0])
    assert missing["offerings"][0]["missing_remote"] == ["crew-5"] and missing["offerings"][0]["renamed"] == []
