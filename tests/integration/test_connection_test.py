# -*- coding: utf-8 -*-
"""waldur.keycloak.keycloak_connection_test through real ansible-playbook runs.

Credentials reach the module through the KEYCLOAK_* environment fallbacks
(scripts/keycloak.sh env); Keycloak's state is read with the raw ``admin`` client.
"""

import re
import secrets
import uuid

import pytest

import playbook

MODULE = "keycloak_connection_test"
CONNECT_ERROR = "Unable to connect to Keycloak."


def run(args, **kwargs):
    return playbook.run_module(MODULE, args, **kwargs)


def run_many(args_list, **kwargs):
    """Several calls in one ansible-playbook run (each run costs seconds of startup)."""
    return playbook.run_tasks([{"waldur.keycloak." + MODULE: args} for args in args_list], **kwargs)


def one_line(text):
    return "\n" not in text and "\r" not in text


@pytest.fixture
def realm_with_groups(admin, realm):
    """The test realm with two top-level groups (and a subgroup, which is not top-level)."""
    staff = admin.create_group(realm, "staff")
    admin.create_group(realm, "rancher-prod")
    admin.create_group(realm, "nested", parent_id=staff)
    return realm


@pytest.fixture
def server_version(admin):
    return admin.get("/serverinfo")["systemInfo"]["version"]


def expected_ok(admin, realm, server_version):
    names = sorted(g["name"] for g in admin.top_groups(realm))
    assert names == ["rancher-prod", "staff"]
    return {"status": "ok", "realm": realm, "groups_count": len(names), "groups": names,
            "server_version": server_version}


def ok_fields(result):
    assert not result.get("failed"), result.get("msg")
    return {key: result.get(key) for key in ("status", "realm", "groups_count", "groups", "server_version")}


def test_ok_with_offering(admin, realm_with_groups, offering_store, server_version, admin_credentials):
    realm = realm_with_groups
    store, ids = offering_store()
    result = run({"store": store, "offering": ids["offering"]})
    assert ok_fields(result) == expected_ok(admin, realm, server_version)
    assert result["changed"] is False
    # A real version string of a Keycloak the collection supports (24 to 26).
    assert re.match(r"^(24|25|26)\.\d+\.\d+", server_version), server_version
    # The password from the environment is shown nowhere.
    assert admin_credentials[1] not in result["_stdout"] + result["_stderr"]


def test_ok_with_realm(admin, realm_with_groups, server_version):
    result = run({"realm": realm_with_groups})
    assert ok_fields(result) == expected_ok(admin, realm_with_groups, server_version)
    assert result["changed"] is False


def test_ok_with_explicit_credentials(admin, realm_with_groups, server_version, keycloak_url, admin_credentials):
    """Options win over the environment: a wrong KEYCLOAK_PASSWORD is not used."""
    env = {"KEYCLOAK_PASSWORD": "wrong-" + secrets.token_hex(8), "KEYCLOAK_URL": "http://127.0.0.1:1"}
    result = run({"realm": realm_with_groups, "auth_keycloak_url": keycloak_url,
                  "auth_username": admin_credentials[0], "auth_password": admin_credentials[1]}, env=env)
    assert ok_fields(result) == expected_ok(admin, realm_with_groups, server_version)
    assert admin_credentials[1] not in result["_stdout"] + result["_stderr"]


def test_check_mode_gives_the_same_result(admin, realm_with_groups, offering_store, server_version):
    store, ids = offering_store()
    expected = expected_ok(admin, realm_with_groups, server_version)
    played = run_many([{"store": store, "offering": ids["offering"]},
                       {"store": store, "offering": "Rancher production"},  # by name
                       {"realm": realm_with_groups}], check=True)
    for result in played.results:
        assert ok_fields(result) == expected
        assert result["changed"] is False
    # Not skipped in check mode: the module really ran (status and version come from Keycloak).
    assert not any(r.get("skipped") for r in played.results)


def test_wrong_password(realm_with_groups, offering_store):
    store, ids = offering_store()
    wrong = "wrong-" + secrets.token_hex(12)
    wrong_env = "wrong-env-" + secrets.token_hex(12)
    played = run_many([
        {"store": store, "offering": ids["offering"], "auth_password": wrong},
        # From the KEYCLOAK_PASSWORD fallback.
        {"realm": realm_with_groups},
    ], env={"KEYCLOAK_PASSWORD": wrong_env})
    for result, secret in zip(played.results, (wrong, wrong_env)):
        assert result["failed"] is True
        assert result["status"] == "error"
        msg = result["msg"]
        assert msg.startswith(CONNECT_ERROR), msg
        assert one_line(msg)
        # The lead is the original API's; the cause says the server was reached and refused the login.
        assert "refused the login of user" in msg and msg.endswith(": Invalid user credentials"), msg
        assert secret not in msg
        assert "groups" not in result
    output = played.stdout + played.stderr
    assert wrong not in output
    assert wrong_env not in output
    assert "Unable to connect to Keycloak." in played.stdout  # the output was really captured


def test_an_unknown_auth_realm_and_a_url_that_is_not_keycloak(realm_with_groups, plain_http_server,
                                                              admin_credentials, keycloak_url):
    """Both reach a server; the message says what is wrong instead of "authentication failed ...: Not Found"."""
    missing = "no-such-realm-" + secrets.token_hex(4)
    played = run_many([
        {"realm": realm_with_groups, "auth_realm": missing},
        {"realm": realm_with_groups, "auth_keycloak_url": plain_http_server},
    ])
    wrong_realm, not_keycloak = played.results
    assert wrong_realm["failed"] is True and wrong_realm["status"] == "error"
    assert wrong_realm["msg"] == ("%s Keycloak at %s cannot log in user '%s': realm '%s' does not exist (check "
                                  "auth_realm)" % (CONNECT_ERROR, keycloak_url.rstrip("/"), admin_credentials[0],
                                                   missing))
    assert not_keycloak["failed"] is True and not_keycloak["status"] == "error"
    assert not_keycloak["msg"] == (
        "%s nothing at %s looks like Keycloak (it answered 404 Not Found to the login of user '%s' in realm "
        "'master'): check auth_keycloak_url (old servers need the /auth prefix)"
        % (CONNECT_ERROR, plain_http_server, admin_credentials[0]))


def test_unreachable_url(realm_with_groups, offering_store, admin_credentials):
    store, ids = offering_store()
    result = run({"store": store, "offering": ids["offering"], "auth_keycloak_url": "http://127.0.0.1:1",
                  "connection_timeout": 2})
    assert result["failed"] is True
    assert result["status"] == "error"
    msg = result["msg"]
    assert msg.startswith(CONNECT_ERROR), msg
    assert one_line(msg)
    cause = msg[len(CONNECT_ERROR):].strip()
    assert cause.lower().startswith("cannot reach keycloak"), msg
    assert "127.0.0.1:1" in cause
    assert admin_credentials[1] not in result["_stdout"] + result["_stderr"]


def test_offering_errors(offering_store, realm):
    """Not enabled, unknown, neither offering nor realm: each fails with its own message; with both, realm wins."""
    store, ids = offering_store(keycloak=False)
    played = run_many([
        {"store": store, "offering": ids["offering"]},
        {"store": store, "offering": str(uuid.uuid4())},
        {"store": store, "offering": "No such offering"},
        {"store": store},
        {"store": store, "offering": ids["offering"], "realm": realm},
    ])
    not_enabled, unknown, unknown_name, neither, both = played.results
    for result in played.results[:4]:
        assert result["failed"] is True
        assert one_line(result["msg"]), result["msg"]
    assert not_enabled["msg"].startswith("Keycloak integration is not enabled for this offering."), not_enabled["msg"]
    assert unknown["msg"].startswith("offering_uuid: Offering not found."), unknown["msg"]
    assert unknown_name["msg"].startswith("offering_uuid: Offering not found."), unknown_name["msg"]
    assert neither["msg"] == ("offering_uuid: This field is required. Or give realm, to test the connection to "
                              "that realm."), neither["msg"]
    # realm wins over offering, so that a play's module_defaults may set an offering (here not even enabled).
    assert not both.get("failed"), both.get("msg")
    assert (both["status"], both["realm"]) == ("ok", realm)


def test_it_says_whether_the_realm_records_admin_events(admin, realm_with_groups):
    """Off by default; on (with details, or not) after PUT /admin/realms/{realm}, as docs/events.md says."""
    realm = realm_with_groups
    results = [run({"realm": realm})]
    for events, details in ((True, True), (True, False)):
        admin.call("PUT", "/realms/" + realm, json={"adminEventsEnabled": events, "adminEventsDetailsEnabled": details})
        results.append(run({"realm": realm}))
    seen = [(r["admin_events_enabled"], r["admin_events_details_enabled"]) for r in results]
    assert seen == [(False, False), (True, True), (True, False)]
    raw = admin.get("/realms/" + realm)
    assert (raw["adminEventsEnabled"], raw["adminEventsDetailsEnabled"]) == (True, False)


def test_an_account_that_may_not_read_realm_settings_gets_null(admin, realm_with_groups):
    """A service account with view-users only: Keycloak hides the event settings, so they are unknown, not false."""
    import realmkit   # tests/reliability (pytest.ini's pythonpath)

    realm = realm_with_groups
    admin.call("PUT", "/realms/" + realm, json={"adminEventsEnabled": True})
    secret = secrets.token_hex(16)
    realmkit.create_service_client(admin, realm, "viewer", secret, roles=["view-users", "query-groups"])
    result = run({"realm": realm, "auth_realm": realm, "auth_client_id": "viewer", "auth_client_secret": secret},
                 env={"KEYCLOAK_USERNAME": "", "KEYCLOAK_PASSWORD": ""})
    assert result["status"] == "ok", result.get("msg")
    assert (result["admin_events_enabled"], result["admin_events_details_enabled"]) == (None, None)
