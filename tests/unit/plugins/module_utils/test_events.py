# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The pure half of the event source: reading admin events, the cursor (resume, no repeats), the mapping to offerings.

The raw events are shaped as Keycloak 26 records them (captured from the real server: tests/eda runs the same
paths end to end).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import random

import pytest

from ansible_collections.waldur.keycloak.plugins.module_utils._events import (
    Cursor,
    OfferingIndex,
    describe_change,
    event_key,
    event_ref,
    is_own_change,
    learn_path,
    own_changes,
    parse_event,
    slim_event,
    valid_ref,
)
from ansible_collections.waldur.keycloak.plugins.module_utils._store_schema import validate

ALPHA, BETA, GAMMA = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                      "33333333-3333-4333-8333-333333333333")
ROLE_A, ROLE_B, ROLE_C = ("aaaaaaaa-1111-4111-8111-111111111111", "bbbbbbbb-2222-4222-8222-222222222222",
                          "cccccccc-3333-4333-8333-333333333333")


def raw(time, operation="DELETE", kind="GROUP", path="groups/g1", representation=None, event_id=None, **extra):
    event = {"time": time, "realmId": "r", "operationType": operation, "resourceType": kind,
             "resourcePath": path, "authDetails": {"userId": "admin-id", "clientId": "cli", "ipAddress": "127.0.0.1"}}
    if event_id is not False:
        event["id"] = event_id or "ev-%s-%s-%s" % (time, operation, path)
    if representation is not None:
        event["representation"] = json.dumps(representation)
    event.update(extra)
    return event


# ------------------------------------------------------------------ parse_event

def test_membership_event_names_user_group_and_path():
    event = parse_event(raw(1796025345230, "DELETE", "GROUP_MEMBERSHIP", "users/u1/groups/g1",
                            {"id": "g1", "name": "child", "path": "/base/child"}, details={"username": "alice"}),
                        "hpc")
    assert (event["operation"], event["resource_type"], event["user_id"], event["group_id"]) == \
        ("DELETE", "GROUP_MEMBERSHIP", "u1", "g1")
    assert event["username"] == "alice"
    assert event["group_path"] == "/base/child"
    assert event["representation"]["name"] == "child"
    assert event["details"] is True
    assert event["time_iso"] == "2026-11-30T07:55:45.230Z"
    assert event["realm"] == "hpc"
    assert event["by"] == {"user_id": "admin-id", "client_id": "cli", "ip_address": "127.0.0.1"}


def test_subgroup_creation_names_the_new_group_and_its_parent():
    event = parse_event(raw(5, "CREATE", "GROUP", "groups/parent/children", {"id": "new", "name": "child"}), "hpc")
    assert (event["group_id"], event["parent_group_id"], event["group_name"]) == ("new", "parent", "child")


def test_event_without_details_has_no_representation():
    event = parse_event(raw(5, "DELETE", "GROUP", "groups/g1"), "hpc")
    assert event["group_id"] == "g1" and event["details"] is False
    assert "representation" not in event and event["group_path"] is None


def test_unparsable_representation_is_ignored_not_fatal():
    event = parse_event(dict(raw(5), representation="{not json"), "hpc")
    assert event["details"] is False


def test_event_key_without_id_is_stable_and_tells_same_millisecond_events_apart():
    first = raw(7, path="groups/a", event_id=False)
    second = raw(7, path="groups/b", event_id=False)
    assert event_key(first) == event_key(json.loads(json.dumps(first)))
    assert event_key(first) != event_key(second)


# ------------------------------------------------------------------ the cursor

def test_start_after_skips_history():
    cursor = Cursor()
    history = [raw(30, path="groups/c"), raw(20, path="groups/b"), raw(10, path="groups/a")]
    cursor.start_after(history)
    assert cursor.new_events(history) == []
    assert cursor.new_events([raw(31)] + history) == [raw(31)]


def test_start_on_an_empty_realm_emits_everything_later():
    cursor = Cursor()
    cursor.start_after([])
    assert cursor.started and cursor.new_events([raw(1)]) == [raw(1)]


def test_new_events_come_oldest_first_and_once_even_when_pages_overlap():
    cursor = Cursor(10, ["ev-10-DELETE-groups/g1"])
    newest_first = [raw(13, path="groups/c"), raw(12, path="groups/b"), raw(11, path="groups/a")]
    # A page boundary shifted by an event that arrived meanwhile repeats an event: it comes out once.
    fresh = cursor.new_events(newest_first + [raw(11, path="groups/a")] + [raw(10)])
    assert [e["time"] for e in fresh] == [11, 12, 13]


def test_events_sharing_a_millisecond_are_each_emitted_once():
    cursor = Cursor()
    cursor.start_after([raw(100, path="groups/old")])
    # Two more events land in the same millisecond as the last one seen, after the source looked.
    page = [raw(100, path="groups/x"), raw(100, path="groups/old"), raw(100, path="groups/y")]
    fresh = cursor.new_events(page)
    assert sorted(e["resourcePath"] for e in fresh) == ["groups/x", "groups/y"]
    for event in fresh:
        cursor.advance(event)
    assert cursor.new_events(page) == []
    assert cursor.to_dict() == {"time": 100, "keys": sorted(event_key(e) for e in page)}


def test_same_millisecond_order_is_keycloaks_reversed():
    cursor = Cursor(0)
    newest_first = [raw(5, path="groups/second"), raw(5, path="groups/first")]
    assert [e["resourcePath"] for e in cursor.new_events(newest_first)] == ["groups/first", "groups/second"]


def test_advance_forgets_keys_of_older_milliseconds():
    cursor = Cursor(5, ["a", "b"])
    cursor.advance(raw(6, event_id="c"))
    assert cursor.to_dict() == {"time": 6, "keys": ["c"]}


def test_a_saved_cursor_resumes_exactly():
    cursor = Cursor()
    stream = [raw(t, path="groups/%d-%d" % (t, n)) for t in (1, 2, 2, 3) for n in (0, 1)]
    cursor.start_after([])
    emitted = []
    for event in cursor.new_events(stream[:5]):
        emitted.append(event)
        cursor.advance(event)
    restored = Cursor.from_dict(json.loads(json.dumps(cursor.to_dict())))
    for event in restored.new_events(list(reversed(stream))):
        emitted.append(event)
        restored.advance(event)
    keys = [event_key(e) for e in emitted]
    assert sorted(keys) == sorted(set(event_key(e) for e in stream)) and len(keys) == len(set(keys))


def test_random_polls_never_repeat_nor_lose_an_event():
    rng = random.Random(14)
    universe = [raw(t // 3, path="groups/%d" % t) for t in range(300)]  # three events per millisecond
    cursor = Cursor()
    cursor.start_after([])
    emitted = []
    seen_until = 0
    while seen_until < len(universe):
        seen_until = min(len(universe), seen_until + rng.randint(1, 7))
        visible = list(reversed(universe[:seen_until]))
        window = visible[:rng.randint(1, len(visible))] + visible[:rng.randint(0, 3)]
        # Keycloak returns everything from dateFrom on: the window always reaches back to the cursor.
        window += [e for e in visible if cursor.time is None or e["time"] >= cursor.time]
        for event in cursor.new_events(window):
            emitted.append(event_key(event))
            cursor.advance(event)
    assert emitted == [event_key(e) for e in universe]


@pytest.mark.parametrize("data", [None, {}, {"time": "5"}, {"time": True}, {"time": 5, "keys": "a"}])
def test_a_broken_saved_cursor_is_refused_with_one_line(data):
    with pytest.raises(ValueError) as error:
        Cursor.from_dict(data, "state_file /x.json")
    assert "state_file /x.json" in str(error.value) and "\n" not in str(error.value)


# ------------------------------------------------------------------ offerings

def store(realm="hpc"):
    def offering(uuid, name, slug, role, base="svc", realm=realm):
        return {"uuid": uuid, "name": name, "slug": slug, "roles": [{"uuid": role, "name": "member",
                                                                     "scope_type": "offering"}],
                "resources": [], "keycloak": {"realm": realm, "base_group": base}}
    document = {"version": 1, "offerings": [
        offering(ALPHA, "Alpha", "alpha", ROLE_A),
        offering(BETA, "Beta", "beta", ROLE_B),
        offering(GAMMA, "Gamma", "gamma", ROLE_C, realm="other")],
        "groups": [
            {"uuid": "44444444-4444-4444-8444-444444444444", "offering": ALPHA, "role": ROLE_A, "name": "a",
             "backend_id": "linked-a"},
            # Imported from elsewhere in the realm: linked, but not under the offering's group.
            {"uuid": "55555555-5555-4555-8555-555555555555", "offering": BETA, "role": ROLE_B, "name": "b",
             "backend_id": "linked-staff"},
            {"uuid": "66666666-6666-4666-8666-666666666666", "offering": GAMMA, "role": ROLE_C, "name": "c",
             "backend_id": "linked-c"}]}
    return validate(document, "store.yml")


def names(offerings):
    return [o["name"] for o in offerings]


def test_a_linked_group_maps_by_backend_id_without_any_path():
    index = OfferingIndex(store(), "hpc")
    assert names(index.offerings_for(parse_event(raw(1, path="groups/linked-a"), "hpc"))) == ["Alpha"]
    membership = parse_event(raw(1, "DELETE", "GROUP_MEMBERSHIP", "users/u/groups/linked-staff"), "hpc")
    assert names(index.offerings_for(membership)) == ["Beta"]


def test_offerings_of_other_realms_are_never_touched():
    index = OfferingIndex(store(), "hpc")
    assert index.offerings_for(parse_event(raw(1, path="groups/linked-c"), "hpc")) == []
    assert names(index.offerings_for({"group_id": "x", "group_path": "/svc/gamma"})) == []


def test_subtree_and_ancestors_map_by_path():
    index = OfferingIndex(store(), "hpc")

    def touched(path):
        return names(index.offerings_for({"group_id": "x", "group_path": path}))

    assert touched("/svc/alpha") == ["Alpha"]
    assert touched("/svc/alpha/hand-made/deeper") == ["Alpha"]
    assert touched("/svc") == ["Alpha", "Beta"]          # deleting the base deletes both offerings' groups
    assert touched("/svc/alphabet") == []                # a sibling whose name starts alike is not inside
    assert touched("/staff") == []


def test_a_deleted_group_maps_through_known_paths():
    index = OfferingIndex(store(), "hpc")
    event = parse_event(raw(1, path="groups/root-beta"), "hpc")
    assert index.offerings_for(event) == []
    assert names(index.offerings_for(event, {"root-beta": "/svc/beta"})) == ["Beta"]


def test_a_subgroup_created_under_a_known_group_is_learnt_and_mapped():
    index = OfferingIndex(store(), "hpc")
    known = {"root-alpha": "/svc/alpha"}
    event = parse_event(raw(1, "CREATE", "GROUP", "groups/root-alpha/children", {"id": "new", "name": "x"}), "hpc")
    assert names(index.offerings_for(event, known)) == ["Alpha"]
    learn_path(event, known)
    assert known["new"] == "/svc/alpha/x"
    later = parse_event(raw(2, path="groups/new"), "hpc")
    assert names(index.offerings_for(later, known)) == ["Alpha"]


def test_learn_path_from_details_and_top_level_creation():
    known = {}
    learn_path(parse_event(raw(1, "DELETE", "GROUP_MEMBERSHIP", "users/u/groups/g", {"id": "g", "path": "/p/g"}),
                           "hpc"), known)
    learn_path(parse_event(raw(2, "CREATE", "GROUP", "groups/t", {"id": "t", "name": "top"}), "hpc"), known)
    assert known == {"g": "/p/g", "t": "/top"}


@pytest.mark.parametrize("operation, path", [("UPDATE", "groups/g"), ("CREATE", "groups/p/children")])
def test_a_path_in_a_groups_body_is_not_believed(operation, path):
    """Keycloak records a group's request body as the representation; its "path" is the client's word."""
    event = parse_event(raw(1, operation, "GROUP", path, {"id": "g", "name": "n", "path": "/svc/beta/claimed"}), "hpc")
    assert event["group_path"] is None and event["group_name"] == "n"
    known = {}
    learn_path(event, known)
    assert "/svc/beta/claimed" not in known.values()


# ------------------------------------------------------------------ what reaches ansible-rulebook

HOSTILE = "{{ lookup('pipe', 'id') }}{% raw %}\n: *a !!python/object"


def test_the_slim_event_holds_ids_times_and_fixed_words_only():
    event = parse_event(raw(1796025345230, "CREATE", "GROUP_MEMBERSHIP", "users/u-1/groups/g-1",
                            {"id": "g-1", "name": HOSTILE, "path": "/svc/" + HOSTILE}, event_id="e-1",
                            details={"username": HOSTILE}),
                        "hpc")
    event["offerings"] = [{"uuid": ALPHA, "name": HOSTILE, "slug": "a", "path": "/svc/a"}]
    ref = event_ref(event)
    slim = slim_event(event, ref)
    assert slim == {"id": "e-1", "time": 1796025345230, "time_iso": "2026-11-30T07:55:45.230Z",
                    "operation": "CREATE", "resource_type": "GROUP_MEMBERSHIP", "group_id": "g-1",
                    "parent_group_id": None, "user_id": "u-1", "details": True, "ref": ref,
                    "offerings": [{"uuid": ALPHA}]}
    assert valid_ref(ref) and HOSTILE not in json.dumps(slim)


@pytest.mark.parametrize("field, value", [("id", HOSTILE), ("operation", HOSTILE), ("resource_type", "{{ x }}"),
                                          ("group_id", "{{ x }}"), ("user_id", "a b"), ("time", "{{ x }}")])
def test_the_slim_event_drops_whatever_is_not_what_it_should_be(field, value):
    event = parse_event(raw(5, "CREATE", "GROUP", "groups/g"), "hpc")
    event[field] = value
    event["offerings"] = [{"uuid": "{{ x }}"}, {"uuid": BETA}]
    slim = slim_event(event, "{{ ref }}")
    assert "{{" not in json.dumps(slim) and slim["ref"] is None and slim["offerings"] == [{"uuid": BETA}]


@pytest.mark.parametrize("ref, valid", [("1-abc", True), ("1796025345230-sha1_0a.b", True), ("../x", False),
                                        ("1-a/b", False), ("x-1", False), ("1-{{x}}", False), (None, False)])
def test_valid_ref(ref, valid):
    assert valid_ref(ref) is valid


def test_describe_change_names_a_group_by_its_path_else_its_names_never_a_guess():
    event = {"operation": "DELETE", "resource_type": "GROUP_MEMBERSHIP", "group_path": "/hpc/pi", "username": "bob"}
    assert describe_change(event) == "DELETE GROUP_MEMBERSHIP /hpc/pi (bob)"
    deleted = {"operation": "DELETE", "resource_type": "GROUP", "group_path": None, "group_id": "g-1",
               "group_name": "team", "store_group": {"uuid": ALPHA, "name": "staff-team"}}
    assert describe_change(deleted) == 'DELETE GROUP "team" (path unknown; store record "staff-team"; group g-1)'
    deleted["group_name"] = None
    assert describe_change(deleted) == 'DELETE GROUP (path unknown; store record "staff-team"; group g-1)'
    deleted["store_group"] = None
    assert describe_change(deleted) == "DELETE GROUP (path unknown; group g-1)"


def test_root_paths_are_what_the_source_resolves():
    assert OfferingIndex(store(), "hpc").root_paths() == ["/svc/alpha", "/svc/beta"]


# What keycloak_offering_sync's result ``plan`` says it did (its RETURN), and a store-only step.
SYNC_PLAN = [
    {"action": "create_group", "target": "/svc/alpha/alpha-admins", "realm": "r", "name": "alpha-admins"},
    {"action": "link", "target": "0b5e7c1e-8d4f-5a43-9d0e-6f1f5f9a2b11", "changes": {"backend_id": ["", "g2"]}},
    {"action": "add_member", "target": "/svc/alpha/alpha-admins", "realm": "r", "username": "Alice"},
    {"action": "remove_member", "target": "/svc/alpha/alpha-users", "realm": "r", "username": "carol"},
    {"action": "rename_group", "target": "/svc/alpha/old", "realm": "r", "id": "g9", "name": ["old", "new"]},
    {"action": "delete_group", "target": "/svc/alpha/gone", "realm": "r", "id": "g7", "members": []},
    {"action": "unmark_group", "target": "/svc/alpha/kept", "realm": "r", "id": "g8", "attributes": ["a"]},
]


def _event(operation, resource_type, path=None, group_id=None, username=None):
    return {"operation": operation, "resource_type": resource_type, "group_path": path, "group_id": group_id,
            "username": username}


def test_own_changes_are_the_admin_events_of_the_plans_remote_operations():
    items = own_changes(SYNC_PLAN)
    assert [(i["operation"], i["resource_type"]) for i in items] == [
        ("CREATE", "GROUP"), ("CREATE", "GROUP_MEMBERSHIP"), ("DELETE", "GROUP_MEMBERSHIP"), ("UPDATE", "GROUP"),
        ("DELETE", "GROUP"), ("UPDATE", "GROUP")]
    assert own_changes(None) == [] and own_changes("x") == [] and own_changes([1, {"action": "link"}]) == []


@pytest.mark.parametrize("event, own", [
    (_event("CREATE", "GROUP", "/svc/alpha/alpha-admins", "g2"), True),
    (_event("CREATE", "GROUP_MEMBERSHIP", "/svc/alpha/alpha-admins", "g2", "alice"), True),  # usernames: any case
    (_event("DELETE", "GROUP_MEMBERSHIP", "/svc/alpha/alpha-users", "g3", "carol"), True),
    (_event("UPDATE", "GROUP", "/svc/alpha/new", "g9"), True),  # renamed: by id, its path is the new one
    (_event("DELETE", "GROUP", None, "g7"), True),  # a DELETE names only the id
    (_event("UPDATE", "GROUP", None, "g8"), True),
    # Hand changes beside them: other member, other group, other operation, the opposite of what the sync did.
    (_event("CREATE", "GROUP_MEMBERSHIP", "/svc/alpha/alpha-admins", "g2", "bob"), False),
    (_event("DELETE", "GROUP_MEMBERSHIP", "/svc/alpha/alpha-admins", "g2", "alice"), False),
    (_event("CREATE", "GROUP_MEMBERSHIP", "/svc/alpha/alpha-users", "g3", "carol"), False),
    (_event("DELETE", "GROUP", "/svc/alpha/alpha-admins", "g2"), False),
    (_event("UPDATE", "GROUP", "/svc/alpha/alpha-admins", "g2"), False),
    (_event("CREATE", "GROUP", "/svc/alpha/alpha-admins-2", "g5"), False),
    (_event("CREATE", "GROUP_MEMBERSHIP", "/svc/alpha/alpha-admins", "g2", None), False),
])
def test_a_change_is_the_syncs_own_only_when_it_is_exactly_one_of_its_operations(event, own):
    assert any(is_own_change(event, item) for item in own_changes(SYNC_PLAN)) is own


def test_the_slim_event_of_several_changes_carries_their_valid_refs():
    event = {"id": "e1", "time": 5, "operation": "DELETE", "resource_type": "GROUP"}
    slim = slim_event(event, "5-e1", ["5-e1", "6-e2", "../etc/passwd", "{{ x }}"])
    assert slim["ref"] == "5-e1" and slim["refs"] == ["5-e1", "6-e2"] and slim["count"] == 2
    assert "refs" not in slim_event(event, "5-e1")
