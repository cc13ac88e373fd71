# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Keycloak client against a scripted session: paging, tokens, retries, groups, error messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import logging

import pytest
import requests

from ansible_collections.waldur.keycloak.plugins.module_utils import _client
from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakClient, KeycloakError
from ansible_collections.waldur.keycloak.tests.unit.fakes import (
    BASE, CLIENT_SECRET, GROUPS, PASSWORD, REALM, TOKEN_PATH, Call, FakeKeycloakServer, FakeResponse, FakeSession,
    password_client,
)


def token_client(session, **options):
    return KeycloakClient(BASE, token="static-token", session=session, **options)


def paged_answer(items):
    """A list endpoint that honours first/max."""

    def answer(call):
        first, size = int(call.params["first"]), int(call.params["max"])
        return FakeResponse(200, items[first:first + size])

    return answer


def one_line(exc):
    message = str(exc)
    assert "\n" not in message and "\r" not in message
    return message


# ------------------------------------------------------------------ paging


def test_paged_walks_first_and_max_until_a_short_page(clock):
    session = FakeSession().on("GET", "/admin/x", paged_answer(list(range(7))))
    client = token_client(session)
    assert list(client.paged("/admin/x", {"q": "v"}, page_size=3)) == list(range(7))
    assert [(c.params["first"], c.params["max"]) for c in session.admin_calls()] == [(0, 3), (3, 3), (6, 3)]
    assert all(c.params["q"] == "v" for c in session.admin_calls())


def test_paged_stops_at_an_empty_page_after_full_ones(clock):
    session = FakeSession().on("GET", "/admin/x", paged_answer(list(range(6))))
    assert list(token_client(session).paged("/admin/x", page_size=3)) == list(range(6))
    assert [c.params["first"] for c in session.admin_calls()] == [0, 3, 6]


def test_paged_reads_the_pages_an_expected_count_implies_side_by_side(clock):
    # 25 items reported, page size 10: pages 0, 10, 20 are read concurrently; the short page
    # at 20 ends the listing, so the count is what paging one by one sends.
    session = FakeSession().on("GET", "/admin/x", paged_answer(list(range(25))))
    client = token_client(session, parallelism=3)
    assert client.paged("/admin/x", page_size=10, expected=25) == list(range(25))
    assert sorted(c.params["first"] for c in session.admin_calls()) == [0, 10, 20]


def test_paged_with_an_expected_count_still_reads_what_grew_meanwhile(clock):
    # The count said 20 (two full pages), 27 exist by now: the pages past the count are read one by one.
    session = FakeSession().on("GET", "/admin/x", paged_answer(list(range(27))))
    client = token_client(session, parallelism=4)
    assert client.paged("/admin/x", page_size=10, expected=20) == list(range(27))
    assert sorted(c.params["first"] for c in session.admin_calls()) == [0, 10, 20]


def test_paged_with_a_count_larger_than_the_listing_stops_at_the_first_short_page(clock):
    # Deleted meanwhile: the count said 35, 12 are left; the items come back once, in order.
    session = FakeSession().on("GET", "/admin/x", paged_answer(list(range(12))))
    client = token_client(session, parallelism=4)
    assert client.paged("/admin/x", page_size=10, expected=35) == list(range(12))
    assert len(session.admin_calls()) == 4


def test_concurrently_keeps_the_order_and_raises_the_first_error(clock):
    client = token_client(FakeSession(), parallelism=3)
    assert client.concurrently(lambda x: x * 2, range(10)) == [x * 2 for x in range(10)]

    def fail_on_five(x):
        if x == 5:
            raise KeycloakError("five")
        return x

    with pytest.raises(KeycloakError, match="five"):
        client.concurrently(fail_on_five, range(10))


def test_group_children_pages_past_the_server_default_of_ten(clock):
    children = [{"id": "c%02d" % i, "name": "child-%02d" % i} for i in range(25)]
    session = FakeSession().on("GET", GROUPS + "/p1/children", paged_answer(children))
    client = token_client(session, children_page_size=10)
    assert client.group_children("hpc", "p1") == children
    calls = session.admin_calls()
    assert len(calls) == 3
    assert [(c.params["first"], c.params["max"]) for c in calls] == [(0, 10), (10, 10), (20, 10)]


def test_group_children_are_read_in_larger_pages_than_other_listings(clock):
    # Keycloak's cost of a page of children grows with its offset: 400 a page, not the client's 100.
    children = [{"id": "c%04d" % i, "name": "child-%04d" % i} for i in range(1000)]
    session = FakeSession().on("GET", GROUPS + "/p1/children", paged_answer(children))
    client = token_client(session)
    assert client.page_size == 100
    assert client.group_children("hpc", "p1", expected=1000) == children
    assert sorted((c.params["first"], c.params["max"]) for c in session.admin_calls()) == [
        (0, 400), (400, 400), (800, 400)]


def test_members_and_top_level_groups_are_paged_with_the_client_page_size(clock):
    members = [{"id": "u%d" % i, "username": "user%d" % i} for i in range(150)]
    groups = [{"id": "g%d" % i, "name": "g%d" % i, "path": "/g%d" % i} for i in range(101)]
    session = (FakeSession().on("GET", GROUPS + "/p1/members", paged_answer(members))
               .on("GET", GROUPS, paged_answer(groups)))
    client = token_client(session)
    assert client.group_members("hpc", "p1") == members
    assert client.list_groups("hpc") == groups
    assert [(c.path, c.params["first"]) for c in session.admin_calls()] == [
        (GROUPS + "/p1/members", 0), (GROUPS + "/p1/members", 100), (GROUPS, 0), (GROUPS, 100)]
    assert all(c.params["max"] == 100 for c in session.admin_calls())


# ------------------------------------------------------------------ tokens


def test_token_is_obtained_once_and_reused(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(200, []))
    client = password_client(session)
    for _attempt in range(5):
        client.list_groups("hpc")
        clock.now += 5
    assert len(session.token_calls()) == 1
    assert {c.token for c in session.admin_calls()} == {"tok-1"}
    grant = session.token_calls()[0].data
    assert grant["grant_type"] == "password" and grant["username"] == "admin" and grant["client_id"] == "admin-cli"


def test_expired_token_is_renewed_before_the_call(clock):
    session = FakeSession(expires_in=2).on("GET", GROUPS, FakeResponse(200, []))
    client = password_client(session)
    client.list_groups("hpc")
    clock.now += 3
    client.list_groups("hpc")
    assert [(c.path, c.token) for c in session.calls] == [
        (TOKEN_PATH, ""), (GROUPS, "tok-1"), (TOKEN_PATH, ""), (GROUPS, "tok-2")]


def test_token_is_refreshed_before_it_runs_out(clock):
    """A master-realm token lives 60 s: one with a fraction of a second left is not sent."""
    session = FakeSession(expires_in=60).on("GET", GROUPS, FakeResponse(200, []))
    client = password_client(session)
    client.list_groups("hpc")
    clock.now += 30
    client.list_groups("hpc")
    assert session.tokens_issued == 1
    clock.now += 29.5
    client.list_groups("hpc")
    assert session.tokens_issued == 2
    assert session.admin_calls()[-1].token == "tok-2"


def test_refresh_uses_the_refresh_token_not_the_password(clock):
    session = FakeSession(expires_in=2, refresh_expires_in=1800).on("GET", GROUPS, FakeResponse(200, []))
    client = password_client(session)
    client.list_groups("hpc")
    clock.now += 3
    client.list_groups("hpc")
    first, second = session.token_calls()
    assert first.data["grant_type"] == "password"
    assert second.data["grant_type"] == "refresh_token" and second.data["refresh_token"] == "refresh-1"
    assert "password" not in second.data
    assert session.admin_calls()[-1].token == "tok-2"


def test_refused_refresh_token_falls_back_to_a_fresh_login(clock):
    session = FakeSession(expires_in=2, refresh_expires_in=1800).on("GET", GROUPS, FakeResponse(200, []))
    issue = session.routes[("POST", TOKEN_PATH)][0]
    session.on("POST", TOKEN_PATH, issue,
               FakeResponse(400, {"error": "invalid_grant", "error_description": "Session not active"}), issue)
    client = password_client(session)
    client.list_groups("hpc")
    clock.now += 3
    client.list_groups("hpc")
    assert [c.data["grant_type"] for c in session.token_calls()] == ["password", "refresh_token", "password"]
    assert session.admin_calls()[-1].token == "tok-2"


def test_a_401_causes_exactly_one_new_login_and_a_retry(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(401, {"error": "HTTP 401 Unauthorized"}),
                               FakeResponse(200, [{"id": "g1", "name": "a", "path": "/a"}]))
    client = password_client(session)
    assert client.list_groups("hpc") == [{"id": "g1", "name": "a", "path": "/a"}]
    assert [(c.path, c.token) for c in session.calls] == [
        (TOKEN_PATH, ""), (GROUPS, "tok-1"), (TOKEN_PATH, ""), (GROUPS, "tok-2")]


def test_a_second_401_is_an_error(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(401, {"error": "HTTP 401 Unauthorized"}))
    client = password_client(session)
    with pytest.raises(KeycloakError) as exc_info:
        client.list_groups("hpc")
    assert exc_info.value.status == 401
    assert len(session.token_calls()) == 2
    assert len(session.admin_calls()) == 2
    assert "401" in one_line(exc_info.value)


def test_a_401_with_a_given_token_is_not_retried(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(401, {"error": "HTTP 401 Unauthorized"}))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session).list_groups("hpc")
    assert exc_info.value.status == 401
    assert session.token_calls() == []
    assert len(session.admin_calls()) == 1
    assert session.admin_calls()[0].token == "static-token"
    assert "static-token" not in str(exc_info.value)


def test_client_credentials_grant(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(200, []))
    client = KeycloakClient(BASE, client_id="waldur", client_secret=CLIENT_SECRET, session=session)
    client.list_groups("hpc")
    grant = session.token_calls()[0].data
    assert grant == {"client_id": "waldur", "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"}


def test_base_url_is_taken_as_given(clock):
    session = FakeSession()
    session.on("POST", "/auth/realms/other/protocol/openid-connect/token", session.issue_token)
    session.on("GET", "/auth/admin/realms/hpc/groups", FakeResponse(200, []))
    client = KeycloakClient(BASE + "/auth/", auth_realm="other", username="admin", password=PASSWORD, session=session)
    client.list_groups("hpc")
    assert [c.path for c in session.calls] == ["/auth/realms/other/protocol/openid-connect/token",
                                               "/auth/admin/realms/hpc/groups"]


@pytest.mark.parametrize("options, words", [
    (dict(url="", token="t"), "auth_keycloak_url"),
    (dict(url=BASE), "no credentials"),
    (dict(url=BASE, username="admin"), "auth_password"),
])
def test_missing_settings_are_reported(options, words):
    with pytest.raises(KeycloakError) as exc_info:
        KeycloakClient(session=FakeSession(), **options)
    assert words in one_line(exc_info.value)


# ----------------------------------------------------------------- retries


def test_get_is_retried_after_connection_errors_with_backoff(clock):
    session = FakeSession().on("GET", GROUPS, requests.exceptions.ConnectionError("refused"),
                               requests.exceptions.Timeout("slow"), FakeResponse(200, []))
    assert token_client(session, retries=3, backoff=0.5).list_groups("hpc") == []
    assert len(session.admin_calls()) == 3
    assert clock.sleeps == [0.5, 1.0]


def test_get_gives_up_after_the_configured_retries(clock):
    session = FakeSession().on("GET", GROUPS, requests.exceptions.ConnectionError("[Errno 111] Connection refused"))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session, retries=3).list_groups("hpc")
    assert len(session.admin_calls()) == 4
    assert len(clock.sleeps) == 3
    message = one_line(exc_info.value)
    assert "cannot reach Keycloak at %s" % BASE in message and "Connection refused" in message
    assert exc_info.value.status is None


@pytest.mark.parametrize("status", [502, 503, 504])
def test_get_is_retried_on_gateway_errors(clock, status):
    session = FakeSession().on("GET", GROUPS, FakeResponse(status, text="busy", reason="Busy"), FakeResponse(200, []))
    assert token_client(session, retries=2).list_groups("hpc") == []
    assert len(session.admin_calls()) == 2


def test_persistent_503_on_get_is_an_error_after_the_retries(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(503, text="Service Unavailable", reason="Service Unavailable"))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session, retries=2).list_groups("hpc")
    assert exc_info.value.status == 503
    assert len(session.admin_calls()) == 3


def test_other_server_errors_are_not_retried(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(500, {"error": "unknown_error"}), FakeResponse(200, []))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session).list_groups("hpc")
    assert exc_info.value.status == 500
    assert len(session.admin_calls()) == 1


@pytest.mark.parametrize("answer", [requests.exceptions.ConnectionError("reset"),
                                    FakeResponse(503, text="Service Unavailable")], ids=["connection-error", "503"])
def test_post_is_not_retried_unless_asked(clock, answer):
    session = FakeSession().on("POST", GROUPS, answer, FakeResponse(201, headers={"Location": BASE + GROUPS + "/new"}))
    client = token_client(session)
    with pytest.raises(KeycloakError):
        client.request("POST", GROUPS, json={"name": "x"})
    assert len(session.admin_calls()) == 1
    assert clock.sleeps == []
    response = client.request("POST", GROUPS, json={"name": "x"}, retry=True)
    assert response.status_code == 201


def test_create_group_without_exist_ok_is_sent_once(clock):
    session = FakeSession().on("POST", GROUPS, FakeResponse(503, text="Service Unavailable"))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session).create_group("hpc", "team")
    assert exc_info.value.status == 503
    assert len(session.admin_calls()) == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_put_and_delete_are_retried(clock, method):
    session = FakeSession().on(method, GROUPS + "/g1", requests.exceptions.ConnectionError("reset"), FakeResponse(204))
    assert token_client(session).request(method, GROUPS + "/g1").status_code == 204
    assert len(session.admin_calls()) == 2


def test_every_request_has_a_timeout(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(200, []))
    password_client(session, timeout=7).list_groups("hpc")
    assert [c.timeout for c in session.calls] == [7, 7]


# ------------------------------------------------------------------ groups


def test_create_group_returns_the_id_from_the_location_header(clock):
    session = FakeSession().on("POST", GROUPS, FakeResponse(201, headers={"Location": BASE + GROUPS + "/4f1e-9a"}))
    group_id, created = token_client(session).create_group("hpc", "team", attributes={"k": ["v"]})
    assert (group_id, created) == ("4f1e-9a", True)
    call = session.admin_calls()[0]
    assert call.method == "POST" and call.path == GROUPS
    assert call.json == {"name": "team", "attributes": {"k": ["v"]}}


def test_create_child_group_posts_to_the_parent(clock):
    session = FakeSession().on("POST", GROUPS + "/p1/children",
                               FakeResponse(201, headers={"Location": BASE + GROUPS + "/c9/"}))
    assert token_client(session).create_group("hpc", "sub", parent_id="p1") == ("c9", True)
    assert session.admin_calls()[0].json == {"name": "sub"}


CONFLICT_BODIES = [
    pytest.param({"errorMessage": "Sibling group named 'team' already exists."}, "Sibling group named 'team'",
                 id="errorMessage"),
    pytest.param({"error": "conflict", "error_description": "Top level group named 'team' already exists."},
                 "Top level group named 'team'", id="error-description"),
]


@pytest.mark.parametrize("body, words", CONFLICT_BODIES)
def test_create_child_group_that_exists_is_found_by_exact_name(clock, body, words):
    siblings = [{"id": "x1", "name": "team-extra"}, {"id": "x2", "name": "my-team"}, {"id": "t1", "name": "team"}]
    session = (FakeSession().on("POST", GROUPS + "/p1/children", FakeResponse(409, body, reason="Conflict"))
               .on("GET", GROUPS + "/p1/children", paged_answer(siblings)))
    assert token_client(session).create_group("hpc", "team", parent_id="p1", exist_ok=True) == ("t1", False)
    lookup = session.admin_calls()[1]
    assert lookup.params["search"] == "team" and lookup.params["exact"] == "true"


@pytest.mark.parametrize("body, words", CONFLICT_BODIES)
def test_create_top_level_group_that_exists_is_found_by_exact_name(clock, body, words):
    found = [{"id": "deep", "name": "team", "path": "/other/team"}, {"id": "t1", "name": "team", "path": "/team"}]
    session = (FakeSession().on("POST", GROUPS, FakeResponse(409, body, reason="Conflict"))
               .on("GET", GROUPS, paged_answer(found)))
    assert token_client(session).create_group("hpc", "team", exist_ok=True) == ("t1", False)


@pytest.mark.parametrize("body, words", CONFLICT_BODIES)
def test_create_group_conflict_without_exist_ok_is_an_error(clock, body, words):
    session = FakeSession().on("POST", GROUPS, FakeResponse(409, body, reason="Conflict"))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session).create_group("hpc", "team")
    assert exc_info.value.is_conflict and exc_info.value.status == 409
    assert words in one_line(exc_info.value)
    assert len(session.admin_calls()) == 1


def test_conflict_without_a_matching_sibling_is_still_an_error(clock):
    session = (FakeSession().on("POST", GROUPS + "/p1/children", FakeResponse(409, {"errorMessage": "exists"}))
               .on("GET", GROUPS + "/p1/children", FakeResponse(200, [{"id": "x", "name": "teams"}])))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session).create_group("hpc", "team", parent_id="p1", exist_ok=True)
    assert exc_info.value.is_conflict


def test_create_group_with_exist_ok_survives_a_lost_answer(clock):
    """The POST went through but its answer was lost: the retry's 409 finds the group, no duplicate."""
    session = (FakeSession().on("POST", GROUPS + "/p1/children", requests.exceptions.ConnectionError("reset"),
                                FakeResponse(409, {"errorMessage": "exists"}))
               .on("GET", GROUPS + "/p1/children", FakeResponse(200, [{"id": "t1", "name": "team"}])))
    assert token_client(session).create_group("hpc", "team", parent_id="p1", exist_ok=True) == ("t1", False)


def test_update_group_sends_back_the_whole_representation(clock):
    current = {"id": "g1", "name": "old", "path": "/o/old", "description": "kept description",
               "attributes": {"waldur_offering_uuid": ["o-1"], "note": ["hand-made"]},
               "subGroupCount": 2, "subGroups": [{"id": "s1"}], "access": {"view": True}}
    session = (FakeSession().on("GET", GROUPS + "/g1", FakeResponse(200, current))
               .on("PUT", GROUPS + "/g1", FakeResponse(204)))
    token_client(session).update_group("hpc", "g1", {"name": "new"})
    put = [c for c in session.admin_calls() if c.method == "PUT"]
    assert len(put) == 1
    expected = dict(current, name="new")
    del expected["subGroups"]
    assert put[0].json == expected


def test_update_of_a_missing_group_is_a_404(clock):
    session = FakeSession()
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session).update_group("hpc", "gone", {"name": "x"})
    assert exc_info.value.is_not_found
    assert [c.method for c in session.admin_calls()] == ["GET"]


def test_find_child_group_checks_names_itself(clock):
    session = FakeSession().on("GET", GROUPS + "/p1/children",
                               FakeResponse(200, [{"id": "a", "name": "team-a"}, {"id": "b", "name": "ateam"},
                                                  {"id": "c", "name": "Team"}]))
    client = token_client(session)
    assert client.find_child_group("hpc", "p1", "team") is None
    session.on("GET", GROUPS + "/p1/children",
               FakeResponse(200, [{"id": "a", "name": "team-a"}, {"id": "t", "name": "team"}]))
    assert client.find_child_group("hpc", "p1", "team")["id"] == "t"


def test_find_top_level_group_ignores_deeper_matches(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(200, [{"id": "d", "name": "team", "path": "/x/team"},
                                                                 {"id": "e", "name": "teams", "path": "/teams"}]))
    client = token_client(session)
    assert client.find_child_group("hpc", None, "team") is None
    call = session.admin_calls()[0]
    assert call.params["search"] == "team" and call.params["exact"] == "true"


def test_group_by_path_quotes_segments_and_returns_none_when_missing(clock):
    session = FakeSession().on("GET", "/admin/realms/hpc/group-by-path/waldur/rancher%20prod",
                               FakeResponse(200, {"id": "r1", "name": "rancher prod"}))
    client = token_client(session)
    assert client.group_by_path("hpc", "/waldur/rancher prod/")["id"] == "r1"
    assert client.group_by_path("hpc", "/waldur/none") is None
    assert client.group_by_path("hpc", "/") is None


def test_delete_group_of_a_missing_group(clock):
    session = FakeSession()
    client = token_client(session)
    assert client.delete_group("hpc", "gone") is False
    with pytest.raises(KeycloakError):
        client.delete_group("hpc", "gone", missing_ok=False)


def test_user_by_username_is_exact(clock):
    users = "/admin/realms/hpc/users"
    session = FakeSession().on("GET", users, FakeResponse(200, [{"id": "1", "username": "alice2"},
                                                                {"id": "2", "username": "alice"}]))
    client = token_client(session)
    assert client.user_by_username("hpc", "Alice")["id"] == "2"
    assert session.admin_calls()[0].params["exact"] == "true"
    session.on("GET", users, FakeResponse(200, [{"id": "1", "username": "alice2"}]))
    assert client.user_by_username("hpc", "alice") is None


USERS = "/admin/realms/hpc/users"


def user_directory(session, users):
    """Keycloak's user endpoints over ``users``: the exact search, the count and the paged listing."""

    def listing(call):
        if call.params.get("exact") == "true":
            return FakeResponse(200, [u for u in users if u["username"] == call.params["username"].lower()])
        return paged_answer(users)(call)

    return session.on("GET", USERS, listing).on("GET", USERS + "/count", FakeResponse(200, len(users)))


def realm_users(count):
    return [{"id": "u%04d" % i, "username": "user%04d" % i} for i in range(count)]


def test_users_by_username_searches_up_to_two_names_without_a_count(clock):
    session = user_directory(FakeSession(), realm_users(500))
    found = token_client(session).users_by_username("hpc", ["User0007", "user0007", "nobody"])
    assert found == {"user0007": {"id": "u0007", "username": "user0007"}}
    assert sorted(c.params["username"] for c in session.admin_calls()) == ["nobody", "user0007"]
    assert all(c.params["exact"] == "true" for c in session.admin_calls())


def test_users_by_username_lists_the_realm_when_its_pages_are_fewer_than_the_searches(clock):
    # 250 users, page 100: the count and 3 pages (read side by side) instead of 5 searches.
    session = user_directory(FakeSession(), realm_users(250))
    client = token_client(session, parallelism=3)
    found = client.users_by_username("hpc", ["user0001", "user0120", "user0249", "user0200", "user0003"])
    assert sorted(found) == ["user0001", "user0003", "user0120", "user0200", "user0249"]
    calls = session.admin_calls()
    assert calls[0].path == USERS + "/count"
    assert sorted(c.params["first"] for c in calls[1:]) == [0, 100, 200]
    assert all(c.params["briefRepresentation"] == "true" and "exact" not in c.params for c in calls[1:])


def test_users_by_username_searches_when_the_realm_is_larger_than_the_names(clock):
    # 1,000 users are 11 pages: 4 searches are cheaper, and the count said so.
    session = user_directory(FakeSession(), realm_users(1000))
    found = token_client(session).users_by_username("hpc", ["user0001", "user0500", "user0999", "ghost"])
    assert sorted(found) == ["user0001", "user0500", "user0999"]
    calls = session.admin_calls()
    assert [c.path for c in calls] == [USERS + "/count"] + [USERS] * 4
    assert sorted(c.params["username"] for c in calls[1:]) == ["ghost", "user0001", "user0500", "user0999"]


def test_users_by_username_searches_what_the_listing_did_not_return(clock):
    # A user a federation provider serves on a search but not in the listing is still found.
    listed = realm_users(50)
    session = user_directory(FakeSession(), listed)
    hidden = {"id": "ldap-1", "username": "ldap-user"}

    def listing(call):
        if call.params.get("exact") == "true":
            everyone = listed + [hidden]
            return FakeResponse(200, [u for u in everyone if u["username"] == call.params["username"]])
        return paged_answer(listed)(call)

    session.on("GET", USERS, listing)
    found = token_client(session).users_by_username("hpc", ["user0001", "user0002", "ldap-user", "ghost"])
    assert sorted(found) == ["ldap-user", "user0001", "user0002"]
    assert sorted(c.params.get("username") for c in session.admin_calls() if c.params.get("exact")) == [
        "ghost", "ldap-user"]
    assert len(session.admin_calls()) == 1 + 1 + 2


def test_members_of_groups_lists_each_group_once(clock):
    session = FakeSession()
    for group_id in ("g1", "g2", "g3"):
        session.on("GET", GROUPS + "/%s/members" % group_id,
                   FakeResponse(200, [{"id": "u-" + group_id, "username": "user-" + group_id}]))
    client = token_client(session, parallelism=2)
    members = client.members_of_groups("hpc", ["g2", "g1", "g2", "g3"])
    assert list(members) == ["g2", "g1", "g3"]
    assert members["g3"] == [{"id": "u-g3", "username": "user-g3"}]
    assert sorted(c.path for c in session.admin_calls()) == [GROUPS + "/%s/members" % g for g in ("g1", "g2", "g3")]


def test_membership_calls(clock):
    path = "/admin/realms/hpc/users/u1/groups/g1"
    session = FakeSession().on("PUT", path, FakeResponse(204)).on("DELETE", path, FakeResponse(204))
    client = token_client(session)
    client.add_user_to_group("hpc", "u1", "g1")
    client.remove_user_from_group("hpc", "u1", "g1")
    assert [(c.method, c.path) for c in session.admin_calls()] == [("PUT", path), ("DELETE", path)]


# ----------------------------------------------------------- error messages


def _secrets_absent(message, *tokens):
    for secret in (PASSWORD, CLIENT_SECRET) + tokens:
        assert secret not in message


@pytest.mark.parametrize("answer, said", [
    (FakeResponse(401, {"error": "invalid_grant", "error_description": "Invalid user credentials"}),
     "Keycloak at %s refused the login of user 'admin' in realm 'master': Invalid user credentials" % BASE),
    (FakeResponse(401, {"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"}),
     "Keycloak at %s refused the login of user 'admin' in realm 'master': Invalid client" % BASE),
    # Not Keycloak's words, and GET /realms/master is no realm either (the fake answers 404).
    (FakeResponse(400, text="<html>\n<body>\nBad Request\n</body>\n</html>", reason="Bad Request"),
     "nothing at %s looks like Keycloak (it answered 400 Bad Request to the login of user 'admin' in realm "
     "'master'): check auth_keycloak_url" % BASE),
])
def test_failed_login_is_one_line_without_secrets(clock, answer, said):
    session = FakeSession().on("POST", TOKEN_PATH, answer)
    client = KeycloakClient(BASE, username="admin", password=PASSWORD, client_secret=CLIENT_SECRET, session=session)
    with pytest.raises(KeycloakError) as exc_info:
        client.login()
    message = one_line(exc_info.value)
    assert exc_info.value.status == answer.status_code
    assert said in message
    _secrets_absent(message)
    assert session.token_calls()[0].data["password"] == PASSWORD   # it was sent, and yet is not shown


def test_failed_login_does_not_repeat_credentials_echoed_by_the_server(clock):
    """A proxy that echoes the form it refused must not put the password into the task's message."""
    echo = FakeResponse(400, text="Bad Request: grant_type=password&username=admin&password=%s&client_secret=%s"
                        % (PASSWORD, CLIENT_SECRET), reason="Bad Request")
    session = FakeSession().on("POST", TOKEN_PATH, echo)
    client = KeycloakClient(BASE, username="admin", password=PASSWORD, client_secret=CLIENT_SECRET, session=session)
    with pytest.raises(KeycloakError) as exc_info:
        client.login()
    _secrets_absent(one_line(exc_info.value))


def test_failed_call_is_one_line_without_secrets(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(500, text="Internal\nServer\nError", reason="Server Error"))
    client = KeycloakClient(BASE, username="admin", password=PASSWORD, client_secret=CLIENT_SECRET, session=session)
    with pytest.raises(KeycloakError) as exc_info:
        client.list_groups("hpc")
    message = one_line(exc_info.value)
    assert "500" in message and GROUPS in message and "Internal Server Error" in message
    _secrets_absent(message, "tok-1")


def test_unreachable_server_is_one_line_without_secrets(clock):
    error = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='kc.example.com', port=443): Max retries exceeded with url: %s "
        "(Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: "
        "Failed to establish a new connection: [Errno 111] Connection refused'))" % TOKEN_PATH)
    session = FakeSession().on("POST", TOKEN_PATH, error)
    client = KeycloakClient(BASE, username="admin", password=PASSWORD, session=session, retries=1)
    with pytest.raises(KeycloakError) as exc_info:
        client.login()
    message = one_line(exc_info.value)
    assert message == "cannot reach Keycloak at %s: Connection refused" % BASE
    _secrets_absent(message)


def test_long_error_bodies_are_cut(clock):
    session = FakeSession().on("GET", GROUPS, FakeResponse(400, {"errorMessage": "x" * 5000}))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session).list_groups("hpc")
    assert len(one_line(exc_info.value)) < 600


def test_answer_without_a_token_is_explained(clock):
    session = FakeSession().on("POST", TOKEN_PATH, FakeResponse(200, text="<html>welcome</html>"))
    with pytest.raises(KeycloakError) as exc_info:
        password_client(session).login()
    assert "no access token" in one_line(exc_info.value)


def test_an_answer_that_is_not_json_is_a_keycloak_error(clock):
    """A proxy's HTML page instead of JSON: still the client's one exception type, so callers can report it."""
    session = FakeSession().on("GET", GROUPS, FakeResponse(200, text="<html><body>Sign in</body></html>"))
    with pytest.raises(KeycloakError) as exc_info:
        token_client(session).list_groups("hpc")
    one_line(exc_info.value)


# ------------------------------------------------------------ missing realm

REALM_GONE = FakeResponse(404, {"error": "Realm not found."}, reason="Not Found")


def missing_realm_calls(client):
    """Every call that answers None, False or an empty list when a *group* is missing."""
    return {
        "get_group": lambda: client.get_group("nosuch", "g1"),
        "group_by_path": lambda: client.group_by_path("nosuch", "/a/b"),
        "delete_group": lambda: client.delete_group("nosuch", "g1"),
        "group_members": lambda: client.group_members("nosuch", "g1"),
        "group_children": lambda: client.group_children("nosuch", "g1"),
        "list_groups": lambda: client.list_groups("nosuch"),
        "find_child_group": lambda: client.find_child_group("nosuch", "g1", "x"),
        "update_group": lambda: client.update_group("nosuch", "g1", {"name": "y"}),
        "user_by_username": lambda: client.user_by_username("nosuch", "alice"),
        "search_users": lambda: client.search_users("nosuch", "alice"),
        "add_user_to_group": lambda: client.add_user_to_group("nosuch", "u1", "g1"),
        "create_group": lambda: client.create_group("nosuch", "x", exist_ok=True),
    }


@pytest.mark.parametrize("call", sorted(missing_realm_calls(None)))
def test_a_missing_realm_is_never_a_missing_group(clock, call):
    session = FakeSession()
    session.request = _answer_everything(session, REALM_GONE)
    client = token_client(session)
    with pytest.raises(_client.RealmNotFound) as raised:
        missing_realm_calls(client)[call]()
    assert one_line(raised.value) == "realm 'nosuch' does not exist on %s" % BASE
    assert raised.value.status == 404 and not raised.value.is_not_found
    # Keycloak said so: no second call to confirm it.
    assert len(session.admin_calls()) == 1


def _answer_everything(session, answer):
    def request(method, url, **kwargs):
        call = Call(method, url, kwargs)
        session.calls.append(call)
        return answer
    return request


def test_a_missing_group_in_an_existing_realm_is_still_none(clock):
    session = FakeSession().on("GET", "/admin/realms/hpc/groups/g1",
                               FakeResponse(404, {"error": "Could not find group by id"}))
    client = token_client(session)
    assert client.get_group("hpc", "g1") is None
    assert client.delete_group("hpc", "g1") is False
    # Keycloak's own body named the group: the realm was not asked about.
    assert [c.path for c in session.admin_calls()] == ["/admin/realms/hpc/groups/g1"] * 2


@pytest.mark.parametrize("realm_answer, missing", [
    (FakeResponse(404, None, text="", reason="Not Found"), True),
    (FakeResponse(200, {"realm": "hpc"}), False),
    (FakeResponse(403, {"error": "HTTP 403 Forbidden"}), False),   # cannot tell: taken to exist
])
def test_a_404_that_does_not_say_whose_is_settled_by_one_look_at_the_realm(clock, realm_answer, missing):
    proxy_404 = FakeResponse(404, None, text="<html>Not Found</html>", reason="Not Found")
    session = (FakeSession().on("GET", "/admin/realms/hpc/groups/g1", proxy_404)
               .on("GET", "/admin/realms/hpc/groups/g2", proxy_404)
               .on("GET", "/admin/realms/hpc", realm_answer))
    client = token_client(session)
    for group_id in ("g1", "g2"):
        if missing:
            with pytest.raises(_client.RealmNotFound):
                client.get_group("hpc", group_id)
        else:
            assert client.get_group("hpc", group_id) is None
    # The realm is looked at once, then remembered.
    assert [c.path for c in session.admin_calls()] == [
        "/admin/realms/hpc/groups/g1", "/admin/realms/hpc", "/admin/realms/hpc/groups/g2"]


def test_get_realm_of_a_missing_realm_is_none(clock):
    session = FakeSession().on("GET", "/admin/realms/nosuch", REALM_GONE)
    assert token_client(session).get_realm("nosuch") is None


# ------------------------------------------------------ ids are path segments

BAD_IDS = ["..", ".", "", "a/b", "/", "../../master", None]


def id_calls(client, bad):
    return {
        "get_group": lambda: client.get_group("hpc", bad),
        "delete_group": lambda: client.delete_group("hpc", bad),
        "update_group": lambda: client.update_group("hpc", bad, {"name": "x"}),
        "group_members": lambda: client.group_members("hpc", bad),
        "group_children": lambda: client.group_children("hpc", bad),
        "create_group_under": lambda: client.create_group("hpc", "x", parent_id=bad or "..", exist_ok=True),
        "add_user_to_group": lambda: client.add_user_to_group("hpc", "u1", bad),
        "remove_user_from_group": lambda: client.remove_user_from_group("hpc", "u1", bad),
        "remove_user_by_bad_user_id": lambda: client.remove_user_from_group("hpc", bad, "g1"),
        "realm_name": lambda: client.list_groups(bad),
        "realm_of_a_delete": lambda: client.delete_group(bad, "g1"),
    }


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("call", sorted(id_calls(None, None)))
def test_ids_that_are_not_one_path_segment_are_refused_before_any_call(clock, call, bad):
    session = FakeSession()
    client = token_client(session)
    with pytest.raises(_client.InvalidId) as raised:
        id_calls(client, bad)[call]()
    message = one_line(raised.value)
    assert "is not a valid Keycloak" in message and "one URL path segment" in message, message
    assert session.admin_calls() == []


@pytest.mark.parametrize("path", ["/..", "/a/../b", "/.", "./a", "/a/."])
def test_group_paths_with_dot_segments_are_refused(clock, path):
    session = FakeSession()
    with pytest.raises(_client.InvalidId) as raised:
        token_client(session).group_by_path("hpc", path)
    assert "is not a valid Keycloak group path" in one_line(raised.value)
    assert session.admin_calls() == []


def test_odd_but_valid_ids_are_percent_encoded(clock):
    session = FakeSession().on("GET", "/admin/realms/hpc/groups/..%20/members", paged_answer([]))
    session.on("DELETE", "/admin/realms/hpc/groups/%252e%252e", FakeResponse(204))
    session.on("PUT", "/admin/realms/h%3Fpc/users/u%3F1/groups/g%231", FakeResponse(204))
    client = token_client(session)
    assert client.group_members("hpc", ".. ") == []
    assert client.delete_group("hpc", "%2e%2e") is True
    client.add_user_to_group("h?pc", "u?1", "g#1")
    assert [c.method for c in session.admin_calls()] == ["GET", "DELETE", "PUT"]


def test_a_huge_bad_id_is_not_repeated_in_full(clock):
    with pytest.raises(_client.InvalidId) as raised:
        token_client(FakeSession()).get_group("hpc", "a/" + "x" * 5000)
    assert "(5002 characters)" in one_line(raised.value) and len(str(raised.value)) < 300


def test_users_by_username_with_a_count_already_read_does_not_ask_it_again(clock):
    session = user_directory(FakeSession(), realm_users(250))
    names = ["user0001", "user0120", "user0249", "user0200", "user0003"]
    found = token_client(session).users_by_username("hpc", names, count=250)
    assert sorted(found) == sorted(names)
    assert [c.path for c in session.admin_calls()] == [USERS] * 3 and all(
        "exact" not in c.params for c in session.admin_calls())


@pytest.mark.parametrize("wanted, count, cost", [(2, 10 ** 6, 2), (3, 250, 3), (5, 250, 3), (5000, 5000, 51),
                                                 (4, 1000, 4)])
def test_users_lookup_cost_is_what_users_by_username_sends(clock, wanted, count, cost):
    assert token_client(FakeSession()).users_lookup_cost(wanted, count) == cost
    session = user_directory(FakeSession(), realm_users(count if count < 10 ** 4 else 3))
    token_client(session).users_by_username("hpc", ["user%04d" % i for i in range(wanted)], count=count)
    assert len(session.admin_calls()) == cost


def test_groups_of_users_pages_each_user_once(clock):
    session = FakeSession()
    many = [{"id": "g%03d" % i, "name": "g%03d" % i, "path": "/g%03d" % i} for i in range(150)]
    session.on("GET", USERS + "/u1/groups", paged_answer(many))
    session.on("GET", USERS + "/u2/groups", FakeResponse(200, [many[0]]))
    groups = token_client(session, parallelism=2).groups_of_users("hpc", ["u1", "u2", "u1"])
    assert list(groups) == ["u1", "u2"] and len(groups["u1"]) == 150 and groups["u2"] == [many[0]]
    calls = session.admin_calls()
    assert sorted((c.path, c.params["first"]) for c in calls) == [
        (USERS + "/u1/groups", 0), (USERS + "/u1/groups", 100), (USERS + "/u2/groups", 0)]
    assert all(c.params["briefRepresentation"] == "true" for c in calls)


def test_groups_of_user_refuses_an_id_that_is_a_path(clock):
    with pytest.raises(KeycloakError) as exc_info:
        token_client(FakeSession()).groups_of_user("hpc", "../groups")
    assert "user id" in str(exc_info.value)


def test_two_listings_side_by_side_at_a_high_parallelism_keep_every_connection(caplog):
    """A sync reads two listings side by side, each ``parallelism`` at a time: 12 requests in flight at
    parallelism 6 must not overflow the connection pool (urllib3 would drop connections and warn on stderr)."""
    fake = FakeKeycloakServer()
    try:
        fake.make_group("/p")
        ids = [fake.make_group("/p/g%d" % i) for i in range(12)]
        fake.delay = 0.05
        client = KeycloakClient(fake.url, username="admin", password="secret", parallelism=6).login()
        with caplog.at_level(logging.WARNING, logger="urllib3"):
            halves = client.concurrently(lambda half: client.members_of_groups(REALM, half),
                                         [ids[:6], ids[6:]], parallelism=2)
        assert [len(half) for half in halves] == [6, 6] and fake.most_in_flight == 12
        assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []
    finally:
        fake.close()
