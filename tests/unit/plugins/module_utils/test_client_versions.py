# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The client against each Keycloak version the collection supports, replayed.

Every body and status below was captured from the real server of that version
(scripts/keycloak.sh, dev mode; ids shortened), and each fake endpoint behaves as
that version did: where the versions differ (docs/keycloak-versions.md), a change
that breaks one of them fails here, without a Keycloak.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError, RealmNotFound
from ansible_collections.waldur.keycloak.plugins.module_utils._service import remote_group_view

from ansible_collections.waldur.keycloak.tests.unit.fakes import TOKEN_PATH, FakeResponse, FakeSession, password_client

VERSIONS = ("24.0.5", "25.0.6", "26.0.8", "26.7.3")
OLD = ("24.0.5", "25.0.6")  # the error bodies and group-by-path shape of 24 and 25
GENERIC = "For more on this error consult the server log at the debug level."
REALM = "/admin/realms/hpc"
ACCESS = {"manage": True, "manageMembers": True, "manageMembership": True, "view": True, "viewMembers": True}


def admin_error(version, what):
    """An admin API error body: 24 and 25 add a description that says nothing."""
    return {"error": what, "error_description": GENERIC} if version in OLD else {"error": what}


def child(name, sub_groups=0):
    """One item of GET /groups/{id}/children, the same on every version."""
    return {"access": ACCESS, "attributes": {}, "clientRoles": {}, "id": "id-" + name, "name": name,
            "parentId": "id-a", "path": "/a/" + name, "realmRoles": [], "subGroupCount": sub_groups,
            "subGroups": []}


CHILDREN = [child("c%02d" % i, 1 if i == 0 else 0) for i in range(12)]


def children_endpoint(version):
    """GET /groups/{id}/children as each version answers it: ``first``/``max`` everywhere (10 when
    ``max`` is absent); ``search`` (substring) and ``exact`` from 25 on, ignored by 24."""

    def answer(call):
        items = CHILDREN
        search = call.params.get("search")
        if search and version != "24.0.5":
            exact = call.params.get("exact") == "true"
            items = [g for g in items if (g["name"] == search if exact else search in g["name"])]
        first, size = int(call.params.get("first", 0)), int(call.params.get("max", 10))
        return FakeResponse(200, items[first:first + size])

    return answer


@pytest.mark.parametrize("version", VERSIONS)
def test_a_missing_group_is_reported_in_keycloaks_words(clock, version):
    session = FakeSession().on("DELETE", REALM + "/groups/gone",
                               FakeResponse(404, admin_error(version, "Could not find group by id")))
    client = password_client(session)
    with pytest.raises(KeycloakError) as info:
        client.delete_group("hpc", "gone", missing_ok=False)
    assert info.value.message == "Keycloak answered 404 to DELETE %s/groups/gone: Could not find group by id" % REALM
    assert client.delete_group("hpc", "gone") is False


@pytest.mark.parametrize("version", VERSIONS)
def test_a_membership_in_a_missing_group_says_group_not_found(clock, version):
    session = FakeSession().on("PUT", REALM + "/users/u1/groups/gone",
                               FakeResponse(404, admin_error(version, "Group not found")))
    with pytest.raises(KeycloakError) as info:
        password_client(session).add_user_to_group("hpc", "u1", "gone")
    assert info.value.message.endswith(": Group not found"), info.value.message


@pytest.mark.parametrize("version", VERSIONS)
def test_a_missing_realm_is_told_by_the_body_alone(clock, version):
    session = FakeSession().on("GET", "/admin/realms/nope/groups",
                               FakeResponse(404, admin_error(version, "Realm not found.")))
    client = password_client(session)
    with pytest.raises(RealmNotFound):
        client.list_groups("nope")
    assert len(session.admin_calls()) == 1  # the body settles it: no second look at the realm


@pytest.mark.parametrize("version", VERSIONS)
def test_a_refused_password_is_reported_on_every_version(clock, version):
    # 26.7.3 answers a wrong password with 400, the older ones with 401; the body is the same.
    status = 400 if version == "26.7.3" else 401
    session = FakeSession().on("POST", TOKEN_PATH, FakeResponse(status, {
        "error": "invalid_grant", "error_description": "Invalid user credentials"}))
    with pytest.raises(KeycloakError) as info:
        password_client(session).login()
    assert info.value.message == ("Keycloak at https://kc.example.com refused the login of user 'admin' in realm "
                                  "'master': Invalid user credentials")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_login_in_a_missing_realm_names_auth_realm(clock, version):
    session = FakeSession().on("POST", "/realms/nope/protocol/openid-connect/token",
                               FakeResponse(404, admin_error(version, "Realm does not exist")))
    client = password_client(session, auth_realm="nope")
    with pytest.raises(KeycloakError) as info:
        client.login()
    assert "realm 'nope' does not exist (check auth_realm)" in info.value.message
    assert GENERIC not in info.value.message


@pytest.mark.parametrize("version", VERSIONS)
def test_find_child_group_pages_through_children_where_search_is_ignored(clock, version):
    session = FakeSession().on("GET", REALM + "/groups/id-a/children", children_endpoint(version))
    client = password_client(session, children_page_size=5)
    assert client.find_child_group("hpc", "id-a", "c11")["id"] == "id-c11"
    assert client.find_child_group("hpc", "id-a", "c1") is None  # "c1" is a substring of c10 and c11 only
    pages = [c.params["first"] for c in session.admin_calls()]
    # 24 returns every child whatever the search: three pages of 5 for each lookup; 25 on, one short page.
    assert pages == ([0, 5, 10] * 2 if version == "24.0.5" else [0, 0])


@pytest.mark.parametrize("version", VERSIONS)
def test_group_children_never_rely_on_the_server_default_page(clock, version):
    session = FakeSession().on("GET", REALM + "/groups/id-a/children", children_endpoint(version))
    children = password_client(session, page_size=10).group_children("hpc", "id-a")
    assert [g["name"] for g in children] == ["c%02d" % i for i in range(12)]
    # subGroupCount is on every version's children (subGroups is always empty): the views use it.
    assert [remote_group_view(g)["sub_group_count"] for g in children[:2]] == [1, 0]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_sibling_that_exists_is_found_after_the_409(clock, version):
    session = FakeSession()
    session.on("POST", REALM + "/groups/id-a/children",
               FakeResponse(409, {"errorMessage": "Sibling group named 'c03' already exists."}))
    session.on("GET", REALM + "/groups/id-a/children", children_endpoint(version))
    client = password_client(session)
    assert client.create_group("hpc", "c03", parent_id="id-a", exist_ok=True) == ("id-c03", False)
    with pytest.raises(KeycloakError) as info:
        client.create_group("hpc", "c03", parent_id="id-a")
    assert info.value.message.endswith(": Sibling group named 'c03' already exists.")


def group_representation(version):
    """GET /groups/{id} of a top-level group with attributes (26.7.3: and a description)."""
    body = {"access": ACCESS, "attributes": {"k": ["v"]}, "clientRoles": {}, "id": "id-a", "name": "a",
            "path": "/a", "realmRoles": [], "subGroupCount": 12, "subGroups": []}
    if version == "26.7.3":
        body["description"] = "desc"
    return body


@pytest.mark.parametrize("version", VERSIONS)
def test_update_group_sends_back_only_fields_that_version_knows(clock, version):
    # 24.0.5, 25.0.6 and 26.0.8 answer 400 'Unrecognized field "description"' to a group that has one.
    session = FakeSession()
    session.on("GET", REALM + "/groups/id-a", FakeResponse(200, group_representation(version)))
    session.on("PUT", REALM + "/groups/id-a", FakeResponse(204))
    password_client(session).update_group("hpc", "id-a", {"name": "b"})
    sent = [c for c in session.admin_calls() if c.method == "PUT"][0].json
    assert sent["name"] == "b" and sent["attributes"] == {"k": ["v"]}
    assert "subGroups" not in sent
    assert ("description" in sent) == (version == "26.7.3")
    if version == "26.7.3":
        assert sent["description"] == "desc"


@pytest.mark.parametrize("version", VERSIONS)
def test_group_by_path_without_sub_group_count(clock, version):
    # group-by-path has no subGroupCount on 24 and 25; the client passes the group on as it came.
    body = {"attributes": {}, "clientRoles": {}, "id": "id-c00", "name": "c00", "parentId": "id-a",
            "path": "/a/c00", "realmRoles": [], "subGroups": []}
    if version not in OLD:
        body["subGroupCount"] = 1
    session = FakeSession().on("GET", REALM + "/group-by-path/a/c00", FakeResponse(200, body))
    session.on("GET", REALM + "/group-by-path/a/zz",
               FakeResponse(404, admin_error(version, "Group path does not exist")))
    client = password_client(session)
    assert client.group_by_path("hpc", "/a/c00")["id"] == "id-c00"
    assert client.group_by_path("hpc", "/a/zz") is None
