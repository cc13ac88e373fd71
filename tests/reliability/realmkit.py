# -*- coding: utf-8 -*-
"""Keycloak set-up for the reliability tests, through the raw-HTTP test client (kc.RawAdmin).

Users with a password and realm-management roles, confidential clients with a
known secret and a service account, and the store that points at a realm.
"""

import uuid

import helpers


def realm_management_roles(admin, realm, names):
    clients = admin.get("/realms/%s/clients" % realm, clientId="realm-management")
    assert len(clients) == 1, clients
    client_id = clients[0]["id"]
    roles = [admin.get("/realms/%s/clients/%s/roles/%s" % (realm, client_id, name)) for name in names]
    return client_id, roles


def grant(admin, realm, user_id, role_names):
    """Give ``user_id`` these client roles of realm-management (e.g. realm-admin, view-users)."""
    if not role_names:
        return
    client_id, roles = realm_management_roles(admin, realm, role_names)
    admin.call("POST", "/realms/%s/users/%s/role-mappings/clients/%s" % (realm, user_id, client_id), json=roles)


def create_user(admin, realm, username, password, roles=()):
    """A fully set-up user (profile filled, so the password grant works) with ``roles`` of realm-management."""
    body = {
        "username": username, "enabled": True, "email": "%s@example.org" % username, "emailVerified": True,
        "firstName": "Test", "lastName": "User",
        "credentials": [{"type": "password", "value": password, "temporary": False}],
    }
    response = admin.call("POST", "/realms/%s/users" % realm, json=body, expect=(201,))
    user_id = response.headers["Location"].rsplit("/", 1)[-1]
    grant(admin, realm, user_id, roles)
    return user_id


def create_service_client(admin, realm, client_id, secret, roles=()):
    """A confidential client with a service account (client-credentials grant) holding ``roles``."""
    body = {
        "clientId": client_id, "enabled": True, "protocol": "openid-connect", "publicClient": False,
        "clientAuthenticatorType": "client-secret", "secret": secret, "serviceAccountsEnabled": True,
        "standardFlowEnabled": False, "directAccessGrantsEnabled": False, "implicitFlowEnabled": False,
    }
    response = admin.call("POST", "/realms/%s/clients" % realm, json=body, expect=(201,))
    internal_id = response.headers["Location"].rsplit("/", 1)[-1]
    account = admin.get("/realms/%s/clients/%s/service-account-user" % (realm, internal_id))
    grant(admin, realm, account["id"], roles)
    return internal_id


def distinctive(prefix):
    """A secret no output would contain by chance (and that Ansible's no_log masking cannot hit elsewhere)."""
    return "%s-%s-Zq9" % (prefix, uuid.uuid4().hex)


def one_offering_store(path, realm, groups=0, base_group="", slug="rel", url=None, resources=3):
    """A store with one offering in ``realm``; ``groups`` records (not linked) named rel-00000...; returns ids."""
    ids = {"offering": helpers.new_uuid(), "role": helpers.new_uuid(), "role2": helpers.new_uuid(),
           "resources": [helpers.new_uuid() for _index in range(resources)]}
    keycloak = {"realm": realm, "base_group": base_group}
    if url:
        keycloak["url"] = url
    offering = {
        "uuid": ids["offering"], "name": "Reliability", "slug": slug, "keycloak": keycloak,
        "roles": [{"uuid": ids["role"], "name": "member", "scope_type": "project"},
                  {"uuid": ids["role2"], "name": "admin", "scope_type": ""}],
        "resources": [{"uuid": r, "name": "res-%d" % i} for i, r in enumerate(ids["resources"])],
    }
    records = []
    for index in range(groups):
        records.append({
            "uuid": helpers.new_uuid(), "name": "rel-%05d" % index, "backend_id": "", "offering": ids["offering"],
            "role": ids["role"], "resource": ids["resources"][0], "scope_id": "p-%05d" % index,
            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "members": [],
        })
    helpers.write_store(path, {"version": 1, "offerings": [offering], "groups": records})
    ids["records"] = records
    return ids
