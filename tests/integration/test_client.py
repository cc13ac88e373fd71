# -*- coding: utf-8 -*-
"""The collection's Keycloak client against the real Keycloak.

Every effect is checked with the independent raw-HTTP ``admin`` client
(tests/integration/kc.py), not only through the client under test.
"""

import secrets
import time
import uuid

import pytest
import requests

from ansible_collections.waldur.keycloak.plugins.module_utils._client import (
    InvalidId,
    KeycloakClient,
    KeycloakError,
    RealmNotFound,
)


# ------------------------------------------------------------------ helpers


def make_realm_admin(admin, realm, username=None):
    """A user of ``realm`` holding realm-management/realm-admin; return (user id, username, password)."""
    username = username or "kc-admin-" + uuid.uuid4().hex[:6]
    password = "pw-" + secrets.token_urlsafe(16)
    # A complete profile (email, first and last name): otherwise Keycloak 26's
    # user profile adds VERIFY_PROFILE and the password grant is refused.
    user_id = admin.create_user(realm, username, email=username + "@example.com",
                                first_name="Realm", last_name="Admin")
    admin.call("PUT", "/realms/%s/users/%s/reset-password" % (realm, user_id),
               json={"type": "password", "value": password, "temporary": False})
    management = admin.get("/realms/%s/clients" % realm, clientId="realm-management")
    assert len(management) == 1
    client_uuid = management[0]["id"]
    role = admin.get("/realms/%s/clients/%s/roles/realm-admin" % (realm, client_uuid))
    admin.call("POST", "/realms/%s/users/%s/role-mappings/clients/%s" % (realm, user_id, client_uuid), json=[role])
    return user_id, username, password


class Recorder(object):
    """A requests.Session whose responses are recorded: (method, path, status)."""

    def __init__(self):
        self.session = requests.Session()
        self.calls = []
        self.session.hooks["response"].append(self._record)

    def _record(self, response, *args, **kwargs):
        path = requests.utils.urlparse(response.request.url).path
        self.calls.append((response.request.method, path, response.status_code))

    def token_posts(self):
        return [c for c in self.calls if c[1].endswith("/protocol/openid-connect/token")]

    def admin_calls(self):
        return [c for c in self.calls if c[1].startswith("/admin/")]


def count_obtains(client):
    """Wrap client._obtain_token so the test can count (re-)authentications."""
    counter = {"n": 0}
    original = client._obtain_token

    def wrapped():
        counter["n"] += 1
        return original()

    client._obtain_token = wrapped
    return counter


def top_names(admin, realm):
    return sorted(g["name"] for g in admin.top_groups(realm))


# ------------------------------------------------------------------ tokens


@pytest.fixture
def short_token_realm(admin):
    """A realm whose access tokens live 3 seconds."""
    name = admin.create_realm(accessTokenLifespan=3)
    yield name
    admin.delete_realm(name)


def test_token_expiring_mid_session_is_refreshed(admin, short_token_realm, client_factory):
    realm = short_token_realm
    assert admin.get("/realms/" + realm)["accessTokenLifespan"] == 3
    _user_id, username, password = make_realm_admin(admin, realm)
    recorder = Recorder()
    client = client_factory(auth_realm=realm, username=username, password=password, client_id="admin-cli",
                            session=recorder.session)
    client.login()
    tokens = [client._token]
    created = []
    start = time.monotonic()
    index = 0
    # Calls spread over more than two lifespans (3 s each).
    while time.monotonic() - start < 8.0:
        group_id, was_created = client.create_group(realm, "tick-%02d" % index)
        assert was_created
        created.append(("tick-%02d" % index, group_id))
        assert client.get_group(realm, group_id)["name"] == "tick-%02d" % index
        assert [g["name"] for g in client.list_groups(realm)] == sorted(name for name, _group_id in created)
        tokens.append(client._token)
        index += 1
        time.sleep(1.2)
    assert time.monotonic() - start > 6.0
    # New tokens were obtained during the session (about one per 2.4 s).
    distinct = []
    for token in tokens:
        if token not in distinct:
            distinct.append(token)
    assert len(distinct) >= 3, "expected at least 2 refreshes, saw %d tokens" % len(distinct)
    # Every admin call ended well (a 401 may only appear if it was then retried).
    admin_calls = recorder.admin_calls()
    failures = [c for c in admin_calls if c[2] >= 400 and c[2] != 401]
    assert failures == []
    unauthorized = [c for c in admin_calls if c[2] == 401]
    # At least one refresh happened before the token ran out (not only after a 401).
    assert len(recorder.token_posts()) - 1 > len(unauthorized)
    assert all(c[2] == 200 for c in recorder.token_posts())
    # Keycloak holds exactly what was created.
    by_name = {g["name"]: g["id"] for g in admin.top_groups(realm)}
    assert by_name == dict(created)


def test_token_revoked_mid_session_triggers_one_reauthentication(admin, realm, client_factory):
    user_id, username, password = make_realm_admin(admin, realm)
    recorder = Recorder()
    client = client_factory(auth_realm=realm, username=username, password=password, session=recorder.session)
    client.login()
    assert client.list_groups(realm) == []
    first_token = client._token
    obtains = count_obtains(client)

    # End every session of the user: its token is now refused with 401.
    admin.call("POST", "/realms/%s/users/%s/logout" % (realm, user_id))
    recorder.calls[:] = []
    group_id, created = client.create_group(realm, "after-logout")
    assert created
    assert obtains["n"] == 1
    assert client._token != first_token
    assert [c[2] for c in recorder.admin_calls()] == [401, 201]
    assert admin.group(realm, group_id)["name"] == "after-logout"
    assert top_names(admin, realm) == ["after-logout"]

    # A garbage token: one re-authentication, the call succeeds.
    client._token = "garbage"
    recorder.calls[:] = []
    group = client.get_group(realm, group_id)
    assert group["id"] == group_id
    assert obtains["n"] == 2
    assert client._token != "garbage"
    assert [c[2] for c in recorder.admin_calls()] == [401, 200]

    # Later calls reuse the new token: no further login.
    client.list_groups(realm)
    assert obtains["n"] == 2


def test_rejected_static_token_fails_after_one_attempt(realm, client_factory):
    client = client_factory(username=None, password=None, token="not-a-token")
    with pytest.raises(KeycloakError) as info:
        client.list_groups(realm)
    assert info.value.status == 401
    assert client.request_count == 1
    assert "\n" not in str(info.value)
    assert "not-a-token" not in str(info.value)


# ------------------------------------------------------------------ paging

N_CHILDREN = 25
N_USERS = 150


@pytest.fixture(scope="module")
def big_realm(admin):
    """One realm: a group with 25 children, a group with 150 members, 150 users."""
    realm = admin.create_realm()
    try:
        parent_id = admin.create_group(realm, "parent")
        children = [admin.create_group(realm, "child-%02d" % i, parent_id=parent_id) for i in range(N_CHILDREN)]
        crowd_id = admin.create_group(realm, "crowd")
        users = []
        for i in range(N_USERS):
            username = "pager-user-%03d" % i
            user_id = admin.create_user(realm, username, email="%s@paging.example.org" % username,
                                        first_name="Pager", last_name="User%03d" % i)
            admin.join(realm, user_id, crowd_id)
            users.append(user_id)
        yield {"realm": realm, "parent": parent_id, "children": children, "crowd": crowd_id, "users": users}
    finally:
        admin.delete_realm(realm)


def _admin_users(admin, realm):
    return admin.get("/realms/%s/users" % realm, first=0, max=10000, briefRepresentation="true")


def test_group_children_pages_past_server_default(admin, big_realm, client_factory):
    realm, parent_id = big_realm["realm"], big_realm["parent"]
    # The server's own default really is smaller than 25.
    assert len(admin.get("/realms/%s/groups/%s/children" % (realm, parent_id))) == 10
    expected = sorted(g["id"] for g in admin.children(realm, parent_id))
    assert expected == sorted(big_realm["children"])

    client = client_factory(children_page_size=10).login()
    before = client.request_count
    children = client.group_children(realm, parent_id)
    assert client.request_count - before == 3  # 10 + 10 + 5
    assert len(children) == N_CHILDREN
    assert sorted(g["id"] for g in children) == expected
    assert sorted(g["name"] for g in children) == ["child-%02d" % i for i in range(N_CHILDREN)]

    # With the default page size of children (400): one request holds them all.
    client = client_factory().login()
    before = client.request_count
    assert sorted(g["id"] for g in client.group_children(realm, parent_id)) == expected
    assert client.request_count - before == 1

    # A page size that divides the count exactly needs one more (empty) page.
    client = client_factory(children_page_size=5).login()
    before = client.request_count
    assert sorted(g["id"] for g in client.group_children(realm, parent_id)) == expected
    assert client.request_count - before == 6


def test_group_children_read_side_by_side_from_the_reported_count(admin, big_realm, client_factory,
                                                                  keycloak_version):
    """With the parent's subGroupCount the pages are read concurrently: same groups, same request count."""
    realm, parent_id = big_realm["realm"], big_realm["parent"]
    expected = sorted(g["id"] for g in admin.children(realm, parent_id))
    client = client_factory(children_page_size=10, parallelism=3).login()
    parent = client.group_by_path(realm, "/parent")
    # Keycloak 26 reports the count; 24 and 25 do not (the client then pages one by one).
    count = parent.get("subGroupCount")
    assert count == (N_CHILDREN if keycloak_version >= (26,) else None)
    before = client.request_count
    children = client.group_children(realm, parent_id, expected=count)
    assert sorted(g["id"] for g in children) == expected
    assert len(children) == N_CHILDREN   # no page read twice
    assert client.request_count - before == 3  # 10 + 10 + 5, whether concurrently or not

    # A count that is stale (a child created meanwhile) still reads every child.
    extra = admin.create_group(realm, "child-late", parent_id=parent_id)
    try:
        client = client_factory(children_page_size=5, parallelism=4).login()
        children = client.group_children(realm, parent_id, expected=N_CHILDREN)
        assert sorted(g["id"] for g in children) == sorted(expected + [extra])
    finally:
        admin.delete_group(realm, extra)


def test_group_members_pages_past_150(admin, big_realm, client_factory):
    realm, crowd_id = big_realm["realm"], big_realm["crowd"]
    expected = sorted(u["id"] for u in admin.members(realm, crowd_id))
    assert len(expected) == N_USERS
    assert expected == sorted(big_realm["users"])
    # The server's default page is 100.
    assert len(admin.get("/realms/%s/groups/%s/members" % (realm, crowd_id))) == 100

    client = client_factory().login()
    before = client.request_count
    members = client.group_members(realm, crowd_id)
    assert client.request_count - before == 2  # 100 + 50
    assert len(members) == N_USERS
    assert sorted(m["id"] for m in members) == expected
    assert sorted(m["username"] for m in members) == ["pager-user-%03d" % i for i in range(N_USERS)]

    client = client_factory(page_size=50).login()
    before = client.request_count
    assert sorted(m["id"] for m in client.group_members(realm, crowd_id)) == expected
    assert client.request_count - before == 4  # 50 + 50 + 50 + an empty page


def test_users_search_and_paging_past_150(admin, big_realm, client_factory):
    realm = big_realm["realm"]
    expected = sorted(u["id"] for u in _admin_users(admin, realm))
    assert len(expected) == N_USERS
    assert expected == sorted(big_realm["users"])

    client = client_factory().login()
    before = client.request_count
    found = client.search_users(realm, "pager-user", limit=200)
    assert client.request_count - before == 1
    assert len(found) == N_USERS
    assert sorted(u["id"] for u in found) == expected

    # The default limit is 25.
    assert len(client.search_users(realm, "pager-user")) == 25

    # The last name and the email are searched too.
    assert [u["username"] for u in client.search_users(realm, "User042", limit=200)] == ["pager-user-042"]
    assert [u["username"] for u in client.search_users(realm, "pager-user-007@", limit=200)] == ["pager-user-007"]

    client = client_factory(page_size=40).login()
    before = client.request_count
    paged = list(client.paged(client.realm_path(realm, "users"), {"briefRepresentation": "true"}))
    assert client.request_count - before == 4  # 40 + 40 + 40 + 30
    assert len(paged) == N_USERS
    assert sorted(u["id"] for u in paged) == expected

    before = client.request_count
    paged = list(client.paged(client.realm_path(realm, "users"), page_size=75))
    assert client.request_count - before == 3  # 75 + 75 + an empty page
    assert sorted(u["id"] for u in paged) == expected


def test_users_search_is_a_substring_match(admin, big_realm, client_factory):
    """search_users promises "contains" (BEHAVIOUR.md: searches username, email, first and last name).

    Keycloak >= 22 treats a bare ``search`` value as a *prefix*; ``*q*`` is its infix form.
    """
    realm = big_realm["realm"]
    client = client_factory().login()
    users = _admin_users(admin, realm)
    # From the middle of a username.
    expected = sorted(u["id"] for u in users if "user-04" in u["username"])
    assert len(expected) == 10
    assert sorted(u["id"] for u in client.search_users(realm, "user-04", limit=200)) == expected
    # The domain of an email address.
    expected = sorted(u["id"] for u in users if u["email"].endswith("@paging.example.org"))
    assert len(expected) == N_USERS
    assert sorted(u["id"] for u in client.search_users(realm, "paging.example.org", limit=200)) == expected


# ------------------------------------------------------------------ conflicts


def test_duplicate_sibling_is_a_409(admin, realm, client_factory):
    client = client_factory().login()
    parent_id, created = client.create_group(realm, "parent")
    assert created
    assert admin.group(realm, parent_id)["name"] == "parent"

    child_id, created = client.create_group(realm, "dup", parent_id=parent_id)
    assert created
    with pytest.raises(KeycloakError) as info:
        client.create_group(realm, "dup", parent_id=parent_id)
    assert info.value.status == 409
    assert info.value.is_conflict
    assert "\n" not in info.value.message
    with pytest.raises(KeycloakError) as info:
        client.create_group(realm, "dup", parent_id=parent_id, exist_ok=False)
    assert info.value.is_conflict
    assert client.create_group(realm, "dup", parent_id=parent_id, exist_ok=True) == (child_id, False)
    children = admin.children(realm, parent_id)
    assert [(g["id"], g["name"]) for g in children] == [(child_id, "dup")]

    # The same name under another parent is no conflict.
    other_id, _created = client.create_group(realm, "other")
    cousin_id, created = client.create_group(realm, "dup", parent_id=other_id)
    assert created and cousin_id != child_id
    assert [g["id"] for g in admin.children(realm, other_id)] == [cousin_id]

    # At the top level too; a child named "dup" does not hide the top-level one.
    top_id, created = client.create_group(realm, "dup")
    assert created and top_id not in (child_id, cousin_id)
    with pytest.raises(KeycloakError) as info:
        client.create_group(realm, "dup")
    assert info.value.status == 409 and info.value.is_conflict
    assert client.create_group(realm, "dup", exist_ok=True) == (top_id, False)
    assert top_names(admin, realm) == ["dup", "other", "parent"]
    assert [g["id"] for g in admin.top_groups(realm) if g["name"] == "dup"] == [top_id]
    assert [g["id"] for g in admin.children(realm, parent_id)] == [child_id]


# ------------------------------------------------------------------ errors


def test_wrong_password_is_a_one_line_authentication_error(keycloak_url, client_factory, admin_credentials):
    wrong = "wrong-" + secrets.token_hex(12)
    client = client_factory(password=wrong)
    with pytest.raises(KeycloakError) as info:
        client.login()
    message = str(info.value)
    # The server was reached: the message says it refused the login, in Keycloak's own words.
    assert message == "Keycloak at %s refused the login of user '%s' in realm 'master': Invalid user credentials" % (
        keycloak_url.rstrip("/"), admin_credentials[0])
    assert "\n" not in message and "\r" not in message
    assert wrong not in message
    assert info.value.status in (400, 401)  # Keycloak 26 answers 400 invalid_grant
    assert keycloak_url.rstrip("/") in message

    # The same through an ordinary call (no explicit login).
    with pytest.raises(KeycloakError) as info:
        client_factory(password=wrong).list_groups("master")
    assert "refused the login of user" in str(info.value)
    assert wrong not in str(info.value)


def test_unknown_user_is_a_one_line_authentication_error(realm, client_factory):
    secret = "pw-" + secrets.token_hex(12)
    client = client_factory(auth_realm=realm, username="nobody", password=secret)
    with pytest.raises(KeycloakError) as info:
        client.login()
    assert "refused the login of user 'nobody' in realm '%s': Invalid user credentials" % realm in info.value.message
    assert "\n" not in info.value.message
    assert secret not in info.value.message


def test_unreachable_url_is_a_one_line_error(admin_credentials, client_factory):
    password = admin_credentials[1]
    client = client_factory(url="http://127.0.0.1:1", retries=1, backoff=0.01, timeout=2)
    start = time.monotonic()
    with pytest.raises(KeycloakError) as info:
        client.login()
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert message.lower().startswith("cannot reach keycloak"), message
    assert "127.0.0.1:1" in message
    assert "\n" not in message
    assert password not in message
    assert info.value.status is None
    assert client.request_count == 2  # one try, one retry


# ------------------------------------------------------------------ groups and users


def test_group_by_path(admin, realm, client_factory):
    a = admin.create_group(realm, "a")
    b = admin.create_group(realm, "b", parent_id=a)
    c = admin.create_group(realm, "c", parent_id=b)
    spaced = admin.create_group(realm, "my team", parent_id=a)
    client = client_factory().login()
    assert client.group_by_path(realm, "/a")["id"] == a
    assert client.group_by_path(realm, "/a/b")["id"] == b
    found = client.group_by_path(realm, "/a/b/c")
    assert found["id"] == c and found["name"] == "c" and found["path"] == "/a/b/c"
    assert client.group_by_path(realm, "a/b/c/")["id"] == c
    assert client.group_by_path(realm, "/a/my team")["id"] == spaced
    assert client.group_by_path(realm, "/a/b/missing") is None
    assert client.group_by_path(realm, "/missing") is None
    assert client.group_by_path(realm, "/") is None


def test_find_child_group_is_exact(admin, realm, client_factory):
    parent = admin.create_group(realm, "parent")
    # Created first, so a substring match would find it first.
    team2 = admin.create_group(realm, "team-2", parent_id=parent)
    team = admin.create_group(realm, "team", parent_id=parent)
    top_team2 = admin.create_group(realm, "team-2")
    top_team = admin.create_group(realm, "team")
    # A subgroup with the name of a top-level group, and the reverse.
    deep = admin.create_group(realm, "deep-only", parent_id=parent)
    client = client_factory().login()

    assert client.find_child_group(realm, parent, "team")["id"] == team
    assert client.find_child_group(realm, parent, "team-2")["id"] == team2
    assert client.find_child_group(realm, None, "team")["id"] == top_team
    assert client.find_child_group(realm, None, "team-2")["id"] == top_team2
    assert client.find_child_group(realm, parent, "tea") is None
    assert client.find_child_group(realm, None, "tea") is None
    assert client.find_child_group(realm, None, "deep-only") is None
    assert client.find_child_group(realm, parent, "deep-only")["id"] == deep
    assert client.find_child_group(realm, parent, "parent") is None
    assert client.find_child_group(realm, None, "parent")["id"] == parent


def test_update_group_keeps_attributes_and_description(admin, realm, client_factory, keycloak_version):
    parent = admin.create_group(realm, "parent")
    body = {"name": "old-name", "description": "kept description",
            "attributes": {"waldur_offering_uuid": ["abc"], "multi": ["1", "2"]}}
    # Groups have no description before 26.1 (24.0.5, 25.0.6 and 26.0.8 refuse the field): the client
    # must then keep the rest without ever sending one.
    has_description = keycloak_version >= (26, 1)
    if not has_description:
        refused = admin.call("POST", "/realms/%s/groups/%s/children" % (realm, parent), expect=(400,), json=body)
        assert 'Unrecognized field \\"description\\"' in refused.text, refused.text
        del body["description"]
    response = admin.call("POST", "/realms/%s/groups/%s/children" % (realm, parent), expect=(201,), json=body)
    group_id = response.headers["Location"].rsplit("/", 1)[-1]
    grandchild = admin.create_group(realm, "grandchild", parent_id=group_id)
    client = client_factory().login()

    client.update_group(realm, group_id, {"name": "new-name"})
    group = admin.group(realm, group_id)
    assert group["name"] == "new-name"
    assert group.get("description") == ("kept description" if has_description else None)
    assert group["attributes"] == {"waldur_offering_uuid": ["abc"], "multi": ["1", "2"]}
    assert group["path"] == "/parent/new-name"
    assert admin.group_by_path(realm, "/parent/new-name")["id"] == group_id
    assert admin.group_by_path(realm, "/parent/old-name") is None
    # Its subgroups stay where they were.
    assert [g["id"] for g in admin.children(realm, group_id)] == [grandchild]

    # Changing an attribute keeps the name and the description.
    client.update_group(realm, group_id, {"attributes": {"multi": ["3"]}})
    group = admin.group(realm, group_id)
    assert group["name"] == "new-name"
    assert group.get("description") == ("kept description" if has_description else None)
    assert group["attributes"] == {"multi": ["3"]}

    with pytest.raises(KeycloakError) as info:
        client.update_group(realm, str(uuid.uuid4()), {"name": "x"})
    assert info.value.is_not_found


def test_delete_group_missing_ok(admin, realm, client_factory):
    keep = admin.create_group(realm, "keep")
    doomed = admin.create_group(realm, "doomed")
    client = client_factory().login()
    assert client.delete_group(realm, doomed) is True
    assert admin.group(realm, doomed) is None
    assert top_names(admin, realm) == ["keep"]
    assert client.delete_group(realm, doomed) is False
    assert client.delete_group(realm, doomed, missing_ok=True) is False
    with pytest.raises(KeycloakError) as info:
        client.delete_group(realm, doomed, missing_ok=False)
    assert info.value.is_not_found and info.value.status == 404
    assert admin.group(realm, keep)["name"] == "keep"


def test_errors_say_what_keycloak_said_on_every_version(admin, realm, client_factory):
    """24 and 25 send {"error": <what>, "error_description": "For more on this error consult the server log
    at the debug level."}, 26 {"error": <what>} alone: the message carries <what> on each."""
    user = admin.create_user(realm, "erin")
    client = client_factory().login()
    missing = str(uuid.uuid4())
    with pytest.raises(KeycloakError) as info:
        client.delete_group(realm, missing, missing_ok=False)
    assert info.value.message.endswith(": Could not find group by id"), info.value.message
    with pytest.raises(KeycloakError) as info:
        client.add_user_to_group(realm, user, missing)
    assert info.value.message.endswith(": Group not found"), info.value.message
    assert "server log" not in info.value.message


def test_get_group_unknown_is_none(admin, realm, client_factory):
    known = admin.create_group(realm, "known")
    client = client_factory().login()
    assert client.get_group(realm, str(uuid.uuid4())) is None
    # No id is not "no group": /groups/ would be the whole list (see test_ids_that_are_paths_are_never_sent).
    for empty in ("", None):
        with pytest.raises(InvalidId):
            client.get_group(realm, empty)
    group = client.get_group(realm, known)
    assert group["id"] == known and group["name"] == "known"


def test_user_by_username_is_exact(admin, realm, client_factory):
    # "bobby" first: a substring/prefix match would find it first.
    bobby = admin.create_user(realm, "bobby")
    bob = admin.create_user(realm, "bob")
    admin.create_user(realm, "xbob")
    client = client_factory().login()
    assert client.user_by_username(realm, "bob")["id"] == bob
    assert client.user_by_username(realm, "bobby")["id"] == bobby
    assert client.user_by_username(realm, "BOB")["id"] == bob
    assert client.user_by_username(realm, "bo") is None
    assert client.user_by_username(realm, "bobb") is None
    assert client.user_by_username(realm, "nobody") is None


def test_add_and_remove_user_to_group(admin, realm, client_factory):
    group = admin.create_group(realm, "team")
    other = admin.create_group(realm, "other")
    bob = admin.create_user(realm, "bob")
    alice = admin.create_user(realm, "alice")
    admin.join(realm, alice, group)
    client = client_factory().login()

    client.add_user_to_group(realm, bob, group)
    assert admin.member_names(realm, group) == ["alice", "bob"]
    assert admin.member_names(realm, other) == []
    # Joining twice is harmless.
    client.add_user_to_group(realm, bob, group)
    assert admin.member_names(realm, group) == ["alice", "bob"]
    assert sorted(m["username"] for m in client.group_members(realm, group)) == ["alice", "bob"]

    client.remove_user_from_group(realm, bob, group)
    assert admin.member_names(realm, group) == ["alice"]
    user_groups = admin.get("/realms/%s/users/%s/groups" % (realm, bob))
    assert user_groups == []

    with pytest.raises(KeycloakError) as info:
        client.add_user_to_group(realm, str(uuid.uuid4()), group)
    assert info.value.is_not_found
    assert admin.member_names(realm, group) == ["alice"]


def test_client_constructor_needs_credentials(keycloak_url):
    with pytest.raises(KeycloakError):
        KeycloakClient(keycloak_url)
    with pytest.raises(KeycloakError):
        KeycloakClient(keycloak_url, username="someone")
    with pytest.raises(KeycloakError):
        KeycloakClient("", username="someone", password="x")


# ------------------------------------------------------------ missing realm


def test_a_missing_realm_is_its_own_error_on_every_call(admin, realm, client_factory, keycloak_url):
    """Keycloak answers 404 "Realm not found." below a missing realm: never read as "no such group"."""
    group = admin.create_group(realm, "kept")
    user = admin.create_user(realm, "alice")
    admin.join(realm, user, group)
    client = client_factory().login()
    missing = realm + "-typo"
    calls = {
        "get_group": lambda: client.get_group(missing, group),
        "group_by_path": lambda: client.group_by_path(missing, "/kept"),
        "delete_group": lambda: client.delete_group(missing, group),
        "group_members": lambda: client.group_members(missing, group),
        "group_children": lambda: client.group_children(missing, group),
        "list_groups": lambda: client.list_groups(missing),
        "find_child_group": lambda: client.find_child_group(missing, None, "kept"),
        "create_group": lambda: client.create_group(missing, "new", exist_ok=True),
        "update_group": lambda: client.update_group(missing, group, {"name": "renamed"}),
        "search_users": lambda: client.search_users(missing, "alice"),
        "user_by_username": lambda: client.user_by_username(missing, "alice"),
        "remove_user_from_group": lambda: client.remove_user_from_group(missing, user, group),
    }
    messages = {}
    for name, call in sorted(calls.items()):
        with pytest.raises(RealmNotFound) as info:
            call()
        messages[name] = str(info.value)
        assert not info.value.is_not_found and info.value.status == 404
    assert set(messages.values()) == {"realm '%s' does not exist on %s" % (missing, keycloak_url.rstrip("/"))}
    assert client.get_realm(missing) is None
    assert client.get_realm(realm)["realm"] == realm
    # The real realm, seen through the raw client, is as it was.
    assert admin.group(realm, group)["name"] == "kept"
    assert admin.member_names(realm, group) == ["alice"]
    # A missing group in an existing realm is still just that.
    assert client.get_group(realm, str(uuid.uuid4())) is None
    assert client.delete_group(realm, str(uuid.uuid4())) is False


# ------------------------------------------------------- ids are path segments


@pytest.mark.parametrize("bad", ["..", ".", "", None, "a/b", "/", "../..", "../../master"])
def test_ids_that_are_paths_are_never_sent(admin, realm, client_factory, bad):
    group = admin.create_group(realm, "kept")
    user = admin.create_user(realm, "alice")
    admin.join(realm, user, group)
    client = client_factory().login()
    sent = client.request_count
    calls = [
        lambda: client.get_group(realm, bad),
        lambda: client.delete_group(realm, bad),
        lambda: client.update_group(realm, bad, {"name": "x"}),
        lambda: client.group_members(realm, bad),
        lambda: client.group_children(realm, bad),
        lambda: client.create_group(realm, "child", parent_id=bad or ".."),
        lambda: client.add_user_to_group(realm, user, bad),
        lambda: client.remove_user_from_group(realm, user, bad),
        lambda: client.remove_user_from_group(realm, bad, group),
        lambda: client.list_groups(bad),
        lambda: client.delete_group(bad, group),
    ]
    for call in calls:
        with pytest.raises(InvalidId) as info:
            call()
        assert "one URL path segment" in str(info.value)
    assert client.request_count == sent
    assert admin.get("/realms/%s" % realm)["realm"] == realm
    assert admin.group(realm, group)["name"] == "kept" and admin.member_names(realm, group) == ["alice"]


def test_odd_ids_are_percent_encoded_and_address_nothing(admin, realm, client_factory):
    """Ids that are one segment but look like paths once decoded or normalised: Keycloak sees them as ids."""
    group = admin.create_group(realm, "kept")
    client = client_factory().login()
    for odd in ["%2e%2e", "%2E%2E", "..;", "..\\", "\\..", ".. ", "%2F", "..%2f..", ";", "?", "#", "..%00",
                "\u2025", "%252e%252e"]:
        assert client.get_group(realm, odd) is None, odd
        assert client.delete_group(realm, odd) is False, odd
    for path in ["/%2e%2e", "/..;", "/kept\\..", "/%2e"]:
        assert client.group_by_path(realm, path) is None, path
    assert admin.group(realm, group)["name"] == "kept"
    assert admin.get("/realms/%s" % realm)["realm"] == realm


def test_unknown_auth_realm_says_the_realm_does_not_exist(keycloak_url, client_factory, admin_credentials):
    missing = "no-such-realm-" + secrets.token_hex(4)
    with pytest.raises(KeycloakError) as info:
        client_factory(auth_realm=missing).login()
    assert info.value.message == ("Keycloak at %s cannot log in user '%s': realm '%s' does not exist (check "
                                  "auth_realm)" % (keycloak_url.rstrip("/"), admin_credentials[0], missing))


def test_a_url_that_is_not_keycloak_says_so(plain_http_server, client_factory, admin_credentials):
    with pytest.raises(KeycloakError) as info:
        client_factory(url=plain_http_server).login()
    assert info.value.message == (
        "nothing at %s looks like Keycloak (it answered 404 Not Found to the login of user '%s' in realm "
        "'master'): check auth_keycloak_url (old servers need the /auth prefix)"
        % (plain_http_server, admin_credentials[0]))


def test_keycloak_under_a_wrong_prefix_says_the_url_is_not_keycloak(keycloak_url, client_factory):
    """A server that is Keycloak, reached under a path it does not serve (the old /auth prefix on a new one)."""
    url = keycloak_url.rstrip("/") + "/auth"
    with pytest.raises(KeycloakError) as info:
        client_factory(url=url).login()
    assert info.value.message.startswith("nothing at %s looks like Keycloak (it answered 404 " % url)
    assert "check auth_keycloak_url (old servers need the /auth prefix)" in info.value.message
