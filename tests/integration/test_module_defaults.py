# -*- coding: utf-8 -*-
"""One module_defaults entry for the action group drives every module of the collection.

The README sets the connection and the store once for a play with
``module_defaults: group/waldur.keycloak.keycloak``. Ansible hands a group's defaults to
every module of the group, so each must accept every shared option (auth, store,
offering), even one that never contacts Keycloak. Keycloak is checked with RawAdmin.
"""

import pathlib

import yaml

import playbook
from helpers import assert_ok, create_path, fqcn, store_group, user_id

ROOT = pathlib.Path(__file__).resolve().parents[2]


def action_group():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    return runtime["action_groups"]["keycloak"]


def test_every_module_of_the_group_runs_with_the_shared_options_as_module_defaults(
        admin, realm, offering_store, keycloak_url, admin_credentials):
    path, ids = offering_store()
    admin.create_user(realm, "alice")
    handmade = create_path(admin, realm, "/staff/handmade")
    shared = {
        # Every shared option with a value valid for the test Keycloak. Left out: token and
        # auth_client_secret (they select another grant) and ca_path (the test server is plain HTTP).
        "auth_keycloak_url": keycloak_url,
        "auth_realm": "master",
        "auth_client_id": "admin-cli",
        "auth_username": admin_credentials[0],
        "auth_password": admin_credentials[1],
        "validate_certs": True,
        "connection_timeout": 30,
        "store": path,
        "offering": "Rancher production",
    }
    # One call of each module, with only its own options: the rest comes from module_defaults.
    calls = [
        ("keycloak_connection_test", {}),
        ("keycloak_connection_test", {"realm": realm}),
        ("keycloak_offering_group", {"role": "cluster-admin", "resource": "cluster-a", "members": ["alice"]}),
        ("keycloak_offering_group_info", {}),
        ("keycloak_remote_group_info", {}),
        ("keycloak_remote_user_info", {"q": "alice"}),
        ("keycloak_group_import", {"role": "project-member", "remote_group_id": handmade}),
        ("keycloak_group_sync_info", {}),
        ("keycloak_offering_sync", {}),
    ]
    assert set(module for module, _args in calls) == set(action_group()), "a module of the group is not tried"
    # The environment would lead anywhere else: only module_defaults can make these calls work.
    env = {"KEYCLOAK_URL": "http://127.0.0.1:1", "KEYCLOAK_USERNAME": "nobody", "KEYCLOAK_PASSWORD": "wrong",
           "WALDUR_KEYCLOAK_STORE": str(ROOT / "no-such-store.yml")}
    run = playbook.run_tasks([{fqcn(module): args} for module, args in calls], env=env,
                             module_defaults={"group/waldur.keycloak.keycloak": shared})
    for (module, _args), result in zip(calls, run.results):
        assert not result.get("failed"), "%s failed: %s" % (module, result.get("msg"))
    (by_offering, by_realm, created, listed, remote, users, imported, status, synced) = run.results

    assert (by_offering["status"], by_offering["realm"]) == ("ok", realm)
    assert (by_realm["status"], by_realm["realm"]) == ("ok", realm)
    group = created["group"]
    assert admin.member_names(realm, group["backend_id"]) == ["alice"]
    assert admin.group(realm, group["backend_id"])["path"] == "/rancher-prod/" + group["name"]
    assert [g["uuid"] for g in listed["groups"]] == [group["uuid"]]
    assert [g["id"] for g in remote["groups"]] == [group["backend_id"]]
    assert [u["id"] for u in users["users"]] == [user_id(admin, realm, "alice")]
    assert store_group(path, imported["group"]["uuid"])["backend_id"] == handmade
    assert group["backend_id"] in [s["backend_id"] for s in status["synced"]]
    assert synced["changed"] is False
    assert_ok(synced)
    # The password given through module_defaults is shown nowhere.
    assert admin_credentials[1] not in run.stdout + run.stderr
