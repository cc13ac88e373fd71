# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The declared store: loading, validation messages, minimal writes, atomicity, locking."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import json
import os
import re
import time
import uuid
import weakref

import pytest
import yaml

from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store, StoreError
from ansible_collections.waldur.keycloak.plugins.module_utils._store_schema import GROUP_KEYS

from ansible_collections.waldur.keycloak.tests.unit.fakes import (
    COMMENTED_FLUSH, COMMENTED_INDENTED, G1, G2, G3, O1, O2, R1, R2, R3, STAMP, STYLES, UNKNOWN, VALID_YAML, X1, X2, X3,
)

VALID_DOC = yaml.safe_load(VALID_YAML)


def edit(old, new, nth=None):
    """VALID_YAML with the whole line ``old`` replaced by ``new`` (which may hold several lines).

    ``old`` must be there exactly once, unless ``nth`` says which occurrence (0-based) to replace.
    """
    lines = VALID_YAML.splitlines()
    positions = [i for i, line in enumerate(lines) if line == old]
    if nth is None:
        assert len(positions) == 1, "%r is not exactly once in VALID_YAML" % old
        nth = 0
    lines[positions[nth]] = new
    return "\n".join(lines) + "\n"


def insert_after(anchor, new):
    return edit(anchor, anchor + "\n" + new)


def remove(old):
    assert VALID_YAML.splitlines().count(old) == 1
    return "\n".join(line for line in VALID_YAML.splitlines() if line != old) + "\n"


def as_json(change=None, indent=2):
    document = copy.deepcopy(VALID_DOC)
    if change:
        change(document)
    return json.dumps(document, indent=indent) + "\n"


def _set(path, value):
    def change(document):
        node = document
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return change


# ------------------------------------------------------------------ valid


def read(path):
    with open(path, encoding="utf-8") as stream:
        return stream.read()


def _load(write_file, name, text):
    return Store(write_file(name, text)).load()


def test_yaml_and_json_of_the_same_store_load_to_the_same_data(write_file):
    from_yaml = _load(write_file, "store.yml", VALID_YAML)
    from_json = _load(write_file, "store.json", as_json())
    assert from_yaml.offerings == from_json.offerings
    assert from_yaml.groups == from_json.groups
    assert [g["uuid"] for g in from_yaml.groups] == [G1, G2]
    assert [o["uuid"] for o in from_yaml.offerings] == [O1, O2]


def test_unquoted_yaml_timestamps_load_like_the_json_strings(write_file):
    unquoted = VALID_YAML.replace('"%s"' % STAMP, STAMP)
    assert unquoted != VALID_YAML
    from_yaml = _load(write_file, "store.yaml", unquoted)
    from_json = _load(write_file, "store.json", as_json())
    assert from_yaml.groups == from_json.groups
    assert from_yaml.groups[0]["created"] == STAMP


def test_loaded_records_carry_defaults(write_file):
    data = _load(write_file, "store.yml", VALID_YAML)
    hpc = data.find_offering(O2)
    assert hpc["slug"] == uuid.UUID(O2).hex           # no slug: the UUID, which a rename never changes
    assert hpc["keycloak"] is None                   # Keycloak not configured
    rancher = data.find_offering(O1)
    assert rancher["keycloak"]["base_group"] == "waldur"   # slashes trimmed
    assert rancher["resources"][0]["slug"] == "cluster-a"
    bob = data.groups_by_uuid[G1]["members"][1]
    assert bob == {"username": "bob", "email": "", "first_name": "", "last_name": "", "state": "pending"}
    assert data.groups_by_uuid[G2]["scope_id"] == "p1"


def test_lookup_by_uuid_and_by_name(write_file):
    data = _load(write_file, "store.yml", VALID_YAML)
    rancher = data.find_offering(O1)
    assert rancher["name"] == "Rancher production"
    assert data.find_offering("Rancher production") is rancher
    assert data.find_offering(O1.upper()) is rancher              # any spelling of the UUID
    assert data.find_offering(O1.replace("-", "")) is rancher
    assert data.find_offering("HPC allocations")["uuid"] == O2
    assert data.find_offering(UNKNOWN) is None
    assert data.find_offering("Rancher") is None                  # names match exactly
    assert data.find_offering(None) is None

    assert data.find_role(rancher, R2)["name"] == "project-member"
    assert data.find_role(rancher, "cluster-admin")["uuid"] == R1
    assert data.find_role(rancher, "pi") is None                  # a role of the other offering
    assert data.find_role(rancher, R3) is None
    assert data.find_resource(rancher, X2)["name"] == "cluster-b"
    assert data.find_resource(rancher, "cluster-a")["uuid"] == X1
    assert data.find_resource(rancher, "alloc-1") is None
    assert data.find_resource(rancher, X3) is None

    assert data.roles_by_uuid[R3]["offering"] == O2
    assert data.resources_by_uuid[X3]["offering"] == O2
    assert data.groups_by_key[(O1, R2, X1, "p1")]["uuid"] == G2
    assert [g["uuid"] for g in data.offering_groups(O1)] == [G1, G2]
    assert data.offering_groups(O2) == []


# -------------------------------------------------------------- malformed


def case(case_id, text, place, line=None, words=(), name="store.yml"):
    return pytest.param(name, text, place, line, words, id=case_id)


def _json_dup_key():
    text = as_json()
    needle = '"name": "members-p1",'
    assert text.count(needle) == 1
    return text.replace(needle, needle + ' "name": "again",')


MALFORMED = [
    # ---- syntax
    case("yaml-unclosed-flow", edit("      - {uuid: %s, name: cluster-b}" % X2, "      - {uuid: %s, name: cluster-b" % X2),
         None, line=16, words=("not valid YAML",)),
    case("yaml-bad-indent", edit("    backend_id: kc-1", "   backend_id: kc-1"), None, line=25, words=("not valid YAML",)),
    case("yaml-tab", edit("    name: admins-a", "\tname: admins-a"), None, line=24, words=("not valid YAML",)),
    case("json-trailing-comma", as_json().replace('"scope_id": "p1",', '"scope_id": "p1",,'), None,
         words=("not valid JSON",), name="store.json"),
    case("json-truncated", as_json()[:200], None, words=("not valid JSON",), name="store.json"),
    case("yaml-duplicate-key", insert_after("    name: members-p1", "    name: again"), None, line=37,
         words=("duplicate key 'name'",)),
    case("json-duplicate-key", _json_dup_key(), None, words=("duplicate key 'name'",), name="store.json"),
    # ---- types
    case("top-level-list", "- version: 1\n", "top level", words=("must be a mapping",)),
    case("offerings-not-a-list", "version: 1\nofferings: rancher\n", "offerings", line=2, words=("must be a list",)),
    case("group-name-number", edit("    name: members-p1", "    name: 42"), "groups[1].name", line=36,
         words=("must be a string",)),
    case("scope-id-number", edit("    scope_id: p1", "    scope_id: 7"), "groups[1].scope_id", line=41,
         words=("must be a string",)),
    case("member-not-mapping", edit("      - {username: bob, state: pending}", "      - bob"), "groups[0].members[1]",
         line=34, words=("must be a mapping",)),
    case("json-members-not-a-list", as_json(_set(["groups", 0, "members"], "alice")), "groups[0].members",
         words=("must be a list",), name="store.json"),
    # ---- unknown keys
    case("unknown-group-key", insert_after("    name: members-p1", "    colour: blue"), "groups[1].colour", line=37,
         words=("unknown key 'colour'",)),
    case("unknown-top-key", VALID_YAML + "extra: 1\n", "extra", line=44, words=("unknown key 'extra'",)),
    case("password-under-keycloak", insert_after("      realm: hpc", "      password: hunter2"),
         "offerings[0].keycloak.password", line=9, words=("unknown key 'password'", "secrets")),
    case("client-secret-under-keycloak", insert_after("      realm: hpc", "      client_secret: s3cr3t-value"),
         "offerings[0].keycloak.client_secret", line=9, words=("secrets",)),
    case("json-unknown-member-key", as_json(_set(["groups", 0, "members", 0, "phone"], "123")),
         "groups[0].members[0].phone", words=("unknown key 'phone'",), name="store.json"),
    # ---- UUIDs
    case("bad-offering-uuid", edit("  - uuid: %s" % O2, "  - uuid: not-a-uuid"), "offerings[1].uuid", line=16,
         words=("not a valid UUID",)),
    case("bad-group-uuid-number", edit("  - uuid: %s" % G2, "  - uuid: 1234"), "groups[1].uuid", line=35,
         words=("not a valid UUID",)),
    case("bad-role-reference", edit("    role: %s" % R2, "    role: project-member"), "groups[1].role", line=39,
         words=("not a valid UUID",)),
    case("json-bad-resource-uuid", as_json(_set(["offerings", 1, "resources", 0, "uuid"], "xyz")),
         "offerings[1].resources[0].uuid", words=("not a valid UUID",), name="store.json"),
    # ---- duplicates
    case("duplicate-offering-uuid", edit("  - uuid: %s" % O2, "  - uuid: %s" % O1.upper()), "offerings[1].uuid",
         line=16, words=("declared twice",)),
    case("duplicate-role-uuid", VALID_YAML.replace("{uuid: %s, name: pi" % R3, "{uuid: %s, name: pi" % R1),
         "offerings[1].roles[0].uuid", line=19, words=("declared twice",)),
    case("duplicate-resource-uuid", VALID_YAML.replace("{uuid: %s, name: alloc-1" % X3, "{uuid: %s, name: alloc-1" % X1),
         "offerings[1].resources[0].uuid", line=21, words=("declared twice",)),
    case("duplicate-group-uuid", edit("  - uuid: %s" % G2, "  - uuid: %s" % G1), "groups[1].uuid", line=35,
         words=("declared twice",)),
    case("duplicate-offering-name", edit("    name: HPC allocations", "    name: Rancher production"),
         "offerings[1].name", line=17, words=("used twice",)),
    case("duplicate-offering-slug", insert_after("    name: HPC allocations", "    slug: rancher-prod"),
         "offerings[1].slug", line=18, words=("used twice",)),
    case("duplicate-role-name", VALID_YAML.replace("name: project-member", "name: cluster-admin"),
         "offerings[0].roles[1].name", line=12, words=("used twice",)),
    case("duplicate-resource-name", VALID_YAML.replace("name: cluster-b", "name: cluster-a"),
         "offerings[0].resources[1].name", line=15, words=("used twice",)),
    case("duplicate-natural-key", edit("    role: %s" % R2, "    role: %s" % R1).replace("scope_id: p1", 'scope_id: ""'),
         "groups[1]", line=35, words=("same offering, role, resource and scope_id",)),
    case("duplicate-natural-key-scope-id", edit("    role: %s" % R1, "    role: %s" % R2).replace('scope_id: ""', "scope_id: p1"),
         "groups[1]", line=35, words=("same offering, role, resource and scope_id",)),
    case("json-duplicate-natural-key-no-resource",
         as_json(lambda d: [g.update(resource=None, role=R2, scope_id="") for g in d["groups"]]),
         "groups[1]", words=("same offering, role, resource and scope_id",), name="store.json"),
    case("duplicate-backend-id", edit('    backend_id: ""', "    backend_id: kc-1"), "groups[1].backend_id", line=37,
         words=("already linked by groups[0]",)),
    case("duplicate-member-username", edit("      - {username: bob, state: pending}", "      - {username: ALICE, state: pending}"),
         "groups[0].members[1].username", line=34, words=("listed twice",)),
    # ---- references
    case("undeclared-offering", edit("    offering: %s" % O1, "    offering: %s" % UNKNOWN, nth=1), "groups[1].offering",
         line=38, words=("not declared",)),
    case("undeclared-role", edit("    role: %s" % R2, "    role: %s" % UNKNOWN), "groups[1].role", line=39,
         words=("not declared by any offering",)),
    case("role-of-another-offering", edit("    role: %s" % R2, "    role: %s" % R3), "groups[1].role", line=39,
         words=("not declared by offering 'Rancher production'",)),
    case("resource-of-another-offering", VALID_YAML.replace("    resource: %s\n    scope_id: p1" % X1,
                                                            "    resource: %s\n    scope_id: p1" % X3),
         "groups[1].resource", line=40, words=("not declared by offering 'Rancher production'",)),
    # ---- values
    case("bad-member-state", edit("      - {username: bob, state: pending}", "      - {username: bob, state: invited}"),
         "groups[0].members[1].state", line=34, words=("pending, active", "invited")),
    case("name-too-long", edit("    name: members-p1", "    name: " + "n" * 151), "groups[1].name", line=36,
         words=("151", "150")),
    case("empty-name", edit("    name: members-p1", '    name: ""'), "groups[1].name", line=36, words=("must not be empty",)),
    case("missing-role", remove("    role: %s" % R2), "groups[1].role", line=35, words=("'role' is required",)),
    case("bad-timestamp", VALID_YAML.replace('    created: "%s"\n    modified: "%s"\n' % (STAMP, STAMP),
                                             '    created: "yesterday"\n    modified: "%s"\n' % STAMP, 1),
         "groups[0].created", line=30, words=("ISO 8601",)),
    case("slug-with-slash", edit("    slug: rancher-prod", "    slug: rancher/prod"), "offerings[0].slug", line=6,
         words=("'/'",)),
    case("unlinked-not-a-boolean", insert_after("    name: members-p1", "    unlinked: 'yes'"), "groups[1].unlinked",
         line=37, words=("must be true or false, not a string",)),
    case("json-unlinked-number", as_json(_set(["groups", 0, "unlinked"], 1)), "groups[0].unlinked",
         words=("must be true or false, not a number",), name="store.json"),
    case("wrong-version", edit("version: 1", "version: 2"), "version", line=2, words=("must be 1",)),
    case("version-as-string", edit("version: 1", "version: '1'"), "version", line=2, words=("must be 1",)),
    case("missing-version", remove("version: 1"), "version", words=("must be 1",)),
    case("empty-file", "", "top level", words=("empty",)),
    case("comments-only", "# nothing declared yet\n", "top level", words=("empty",)),
    case("json-empty-file", "", None, words=("not valid JSON",), name="store.json"),
    # ---- the file itself
    case("non-utf8", VALID_YAML.replace("Liddell", "Lidd\xe9ll").encode("latin-1"), None, words=("UTF-8",)),
    case("wrong-extension", VALID_YAML, None, words=(".yml, .yaml or .json",), name="store.txt"),
    case("no-extension", VALID_YAML, None, words=(".yml, .yaml or .json",), name="store"),
]


def _add_group(_data, editor):
    editor.put_group(G3, {"name": "new", "backend_id": "", "offering": O1, "role": R2, "resource": None,
                          "scope_id": "", "created": STAMP, "modified": STAMP})
    return "mutated"


def _assert_one_line_error(exc_info, path, place, line, words):
    message = str(exc_info.value)
    assert "\n" not in message and "\r" not in message
    assert message == exc_info.value.message
    assert path in message, "the message does not name the file"
    if place:
        assert place in message, "the message does not name the place %r" % place
    if line:
        assert re.search(r"\bline %d\b" % line, message), "the message does not say line %d" % line
    for word in words:
        assert word in message


@pytest.mark.parametrize("name, content, place, line, words", MALFORMED)
def test_malformed_store_gives_one_line_error_and_is_left_alone(write_file, file_state, name, content, place,
                                                                line, words):
    path = write_file(name, content)
    before = file_state(path)
    with pytest.raises(StoreError) as exc_info:
        Store(path).load()
    _assert_one_line_error(exc_info, path, place, line, words)
    assert file_state(path) == before

    calls = []
    for check_mode in (False, True):
        with pytest.raises(StoreError) as exc_info:
            Store(path).update(lambda data, editor: calls.append(1) or _add_group(data, editor), check_mode=check_mode)
        _assert_one_line_error(exc_info, path, place, line, words)
        assert file_state(path) == before
    assert calls == [], "a store that does not load must not be edited"
    assert sorted(os.listdir(os.path.dirname(path))) == [name]


def test_secret_in_store_is_not_repeated_in_the_error(write_file):
    path = write_file("store.yml", insert_after("      realm: hpc", "      password: hunter2"))
    with pytest.raises(StoreError) as exc_info:
        Store(path).load()
    assert "hunter2" not in str(exc_info.value)


@pytest.mark.parametrize("kind", ["directory", "missing"])
def test_store_path_that_is_not_a_file(tmp_path, file_state, kind):
    path = tmp_path / "store.yml"
    if kind == "directory":
        path.mkdir()
    before = file_state(path)
    for attempt in (lambda: Store(str(path)).load(), lambda: Store(str(path)).update(_add_group),
                    lambda: Store(str(path)).update(_add_group, check_mode=True)):
        with pytest.raises(StoreError) as exc_info:
            attempt()
        _assert_one_line_error(exc_info, str(path), None, None, ("directory",) if kind == "directory" else ("does not exist",))
        assert file_state(path) == before
    assert sorted(os.listdir(str(tmp_path))) == (["store.yml"] if kind == "directory" else [])


def test_no_store_given():
    with pytest.raises(StoreError) as exc_info:
        Store("")
    assert "WALDUR_KEYCLOAK_STORE" in str(exc_info.value)


# ------------------------------------------------------------- minimal writes

NEW_STAMP = "2026-03-04T05:06:07Z"


def _diff(old, new):
    """(removed lines, added lines) of a line diff."""
    removed, added = [], []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("---") or line.startswith("+++") or line.startswith("@@"):
            continue
        (removed if line.startswith("-") else added).append(line[1:])
    return removed, added


def _comments(text):
    return [line[line.index("#"):] for line in text.splitlines() if "#" in line]


def _update(path, mutate, check_mode=False):
    return Store(path).update(mutate, check_mode=check_mode)


def test_commented_fixtures_are_the_same_store(write_file):
    indented = Store(write_file("a.yml", COMMENTED_INDENTED)).load()
    flush = Store(write_file("b.yml", COMMENTED_FLUSH)).load()
    assert indented.groups == flush.groups and indented.offerings == flush.offerings
    assert len(indented.groups) == 3


@pytest.mark.parametrize("text, dash", STYLES)
def test_changing_one_field_changes_only_its_lines(write_file, text, dash):
    path = write_file("store.yml", text)
    change = {"name": "renamed-a", "modified": NEW_STAMP}
    result, changed = _update(path, lambda data, editor: editor.put_group(G1, change))
    assert changed is True and result is None
    new = read(path)
    removed, added = _diff(text, new)
    assert removed == [dash + "  name: admins-a  # trailing comment", dash + '  modified: "%s"' % STAMP]
    assert len(added) == 2
    assert re.match(r"^%s  name: renamed-a +# trailing comment$" % dash, added[0]), added[0]
    assert added[1] == dash + '  modified: "%s"' % NEW_STAMP
    assert _comments(new) == _comments(text)
    data = Store(path).load()
    assert data.groups_by_uuid[G1]["name"] == "renamed-a"
    assert data.groups_by_uuid[G1]["members"][0]["username"] == "alice"


@pytest.mark.parametrize("text, dash", STYLES)
def test_adding_a_group_appends_it_with_keys_in_order(write_file, text, dash):
    path = write_file("store.yml", text)
    g4 = "0d000000-0000-4000-8000-000000000004"
    fields = {"modified": NEW_STAMP, "scope_id": "p4", "created": NEW_STAMP, "resource": None, "role": R2,
              "offering": O1, "backend_id": "", "name": "members-p4"}   # deliberately out of order
    _result, changed = _update(path, lambda data, editor: editor.put_group(g4, fields))
    assert changed is True
    new = read(path)
    removed, appended = _diff(text, new)
    assert removed == [], "existing lines must not change when a group is added"
    # The new record follows the last one; a comment that closes the file stays last.
    assert new.endswith("\n".join(appended) + "\n# end of file\n")
    assert appended[0] == dash + "- uuid: " + g4
    keys = [re.match(r"^\s*(?:- )?(\w+):", line).group(1) for line in appended]
    assert keys == [k for k in GROUP_KEYS if k not in ("members", "unlinked")]
    assert all(line.startswith(dash + "  ") for line in appended[1:])
    data = Store(path).load()
    assert data.groups[-1]["uuid"] == g4 and data.groups[-1]["scope_id"] == "p4"
    assert data.groups[-1]["resource"] is None
    assert _comments(new) == _comments(text)


@pytest.mark.parametrize("text, dash", STYLES)
def test_removing_a_group_removes_only_its_lines(write_file, text, dash):
    """The middle record goes; the comment that introduces the next record stays with it."""
    path = write_file("store.yml", text)
    _result, changed = _update(path, lambda data, editor: editor.remove_group(G2))
    assert changed is True
    new = read(path)
    assert "# the members of project p2" in new, "the comment that introduces the next record was dropped"
    removed, added = _diff(text, new)
    assert added == []
    start = text.splitlines().index(dash + "- uuid: " + G2)
    record = text.splitlines()[start:start + 9]
    own_comment = dash + "# the members of project p1"
    assert removed in (record, [own_comment] + record)
    kept_comments = [c for c in _comments(text) if c != "# the members of project p1"]
    assert [c for c in _comments(new) if c != "# the members of project p1"] == kept_comments
    assert new.index("# the members of project p2") < new.index("- uuid: " + G3)
    assert [g["uuid"] for g in Store(path).load().groups] == [G1, G3]


@pytest.mark.parametrize("text, dash", STYLES)
def test_removing_the_last_group_keeps_the_end_comment(write_file, text, dash):
    path = write_file("store.yml", text)
    _result, changed = _update(path, lambda data, editor: editor.remove_group(G3))
    assert changed is True
    new = read(path)
    assert new.rstrip("\n").endswith("# end of file"), "the file's closing comment was dropped"
    assert "# the members of project p1" in new
    assert [g["uuid"] for g in Store(path).load().groups] == [G1, G2]


@pytest.mark.parametrize("text, dash", STYLES)
def test_adding_a_member_to_flow_style_members_keeps_the_style(write_file, text, dash):
    path = write_file("store.yml", text)
    member = {"username": "carol", "email": "carol@example.com", "first_name": "Carol", "last_name": "C",
              "state": "pending"}
    _update(path, lambda data, editor: editor.put_member(G1, member))
    new = read(path)
    removed, added = _diff(text, new)
    assert removed == []
    alice = [line for line in text.splitlines() if "{username: alice" in line][0]
    indent = alice[:alice.index("- {")]
    assert added == [indent + "- {username: carol, email: carol@example.com, first_name: Carol, last_name: C, "
                     "state: pending}"]
    assert Store(path).load().groups_by_uuid[G1]["members"][1]["username"] == "carol"


def test_changing_a_member_changes_only_its_line(write_file):
    path = write_file("store.yml", COMMENTED_INDENTED)
    _update(path, lambda data, editor: editor.put_member(G1, {"username": "ALICE", "state": "pending"}))
    removed, added = _diff(COMMENTED_INDENTED, read(path))
    assert removed == ["      - {username: alice, email: alice@example.com, first_name: Alice, last_name: Liddell, "
                       "state: active}"]
    assert added == ["      - {username: alice, email: alice@example.com, first_name: Alice, last_name: Liddell, "
                     "state: pending}"]


def test_document_start_marker_and_the_comment_before_it_survive(write_file):
    """Ansible-style YAML (yamllint's default) opens with '---'; a write must not drop it nor what precedes it."""
    text = "# Store of the test site, checked by yamllint.\n---\n" + COMMENTED_INDENTED
    path = write_file("store.yml", text)
    _update(path, lambda data, editor: editor.put_group(G2, {"backend_id": "kc-2"}))
    removed, added = _diff(text, read(path))
    assert removed == ['    backend_id: ""']
    assert added in (['    backend_id: kc-2'], ['    backend_id: "kc-2"'])


@pytest.mark.parametrize("value", ["yes", "off", "12:30", "123", "null", "2026-01-01", "~", "0x1F"])
def test_written_strings_read_back_as_the_same_strings(write_file, value):
    """Values that a YAML reader could take for a boolean, number, date or null stay strings after a write."""
    path = write_file("store.yml", COMMENTED_INDENTED)
    g4 = "0d000000-0000-4000-8000-000000000004"
    _update(path, lambda data, editor: editor.put_group(G1, {"name": value, "backend_id": value}))
    _update(path, lambda data, editor: editor.put_group(g4, {
        "name": value, "backend_id": "", "offering": O1, "role": R1, "resource": None, "scope_id": value,
        "created": STAMP, "modified": STAMP}))
    _update(path, lambda data, editor: editor.put_member(g4, {"username": value, "state": "pending"}))
    data = Store(path).load()
    assert (data.groups_by_uuid[G1]["name"], data.groups_by_uuid[G1]["backend_id"]) == (value, value)
    assert (data.groups_by_uuid[g4]["name"], data.groups_by_uuid[g4]["scope_id"]) == (value, value)
    assert data.groups_by_uuid[g4]["members"][0]["username"] == value


def test_symlinked_store_is_written_through_the_link(tmp_path):
    """A store kept in a Git checkout and linked from elsewhere: the checkout's file is the one that changes."""
    repo = tmp_path / "repo"
    repo.mkdir()
    real = repo / "store.yml"
    real.write_text(COMMENTED_INDENTED)
    link = tmp_path / "store.yml"
    link.symlink_to(real)
    _update(str(link), lambda data, editor: editor.put_group(G2, {"name": "renamed"}))
    assert link.is_symlink(), "the link was replaced by a copy"
    assert Store(str(real)).load().groups_by_uuid[G2]["name"] == "renamed"
    assert sorted(os.listdir(str(repo))) == ["store.yml"]


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda data, editor: None, id="editor-untouched"),
    pytest.param(lambda data, editor: editor.put_group(G1, {"name": "admins-a", "scope_id": "", "role": R1}),
                 id="same-values"),
    pytest.param(lambda data, editor: editor.put_member(G1, {"username": "alice", "state": "active"}),
                 id="same-member"),
    pytest.param(lambda data, editor: editor.remove_group(UNKNOWN), id="remove-absent"),
])
def test_no_op_update_writes_nothing(write_file, file_state, mutate):
    path = write_file("store.yml", COMMENTED_INDENTED)
    old = os.stat(path)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns - 10 ** 9))   # an mtime a rewrite would surely change
    before = file_state(path)
    _result, changed = _update(path, mutate)
    assert changed is False
    assert file_state(path) == before
    assert os.listdir(os.path.dirname(path)) == ["store.yml"]


def test_update_returns_what_the_mutation_returns(write_file):
    path = write_file("store.yml", COMMENTED_INDENTED)
    seen = []

    def mutate(data, editor):
        seen.append(sorted(g["name"] for g in data.groups))
        editor.put_group(G2, {"backend_id": "kc-2"})
        return "the result"

    assert _update(path, mutate) == ("the result", True)
    assert seen == [["admins-a", "members-p1", "members-p2"]]
    assert Store(path).load().groups_by_uuid[G2]["backend_id"] == "kc-2"


@pytest.mark.parametrize("name, text", [("store.yml", COMMENTED_INDENTED), ("store.json", as_json())])
def test_check_mode_never_writes(write_file, file_state, name, text):
    path = write_file(name, text)
    old = os.stat(path)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns - 10 ** 9))
    before = file_state(path)
    _result, changed = _update(path, lambda data, editor: editor.put_group(G2, {"name": "renamed"}), check_mode=True)
    assert changed is True
    _result, changed = _update(path, lambda data, editor: editor.put_group(G2, {"name": data.groups_by_uuid[G2]["name"]}),
                               check_mode=True)
    assert changed is False
    assert file_state(path) == before
    assert os.listdir(os.path.dirname(path)) == [name]


@pytest.mark.parametrize("name, text, resource", [("store.yml", COMMENTED_INDENTED, None),
                                                  ("store.json", as_json(), X1)])
def test_update_that_would_make_the_store_invalid_is_refused(write_file, file_state, name, text, resource):
    path = write_file(name, text)
    before = file_state(path)
    g9 = "0d000000-0000-4000-8000-000000000009"

    def duplicate(data, editor):
        # Both stores declare G2 as (O1, R2, resource, "p1").
        editor.put_group(g9, {"name": "twin", "backend_id": "", "offering": O1, "role": R2, "resource": resource,
                              "scope_id": "p1", "created": STAMP, "modified": STAMP})

    for check_mode in (False, True):
        with pytest.raises(StoreError) as exc_info:
            _update(path, duplicate, check_mode=check_mode)
        message = str(exc_info.value)
        assert "\n" not in message and path in message
        assert "not saved" in message and "same offering, role, resource and scope_id" in message
        assert file_state(path) == before
    with pytest.raises(StoreError):
        _update(path, lambda data, editor: editor.put_group(G2, {"role": UNKNOWN}))
    assert file_state(path) == before
    assert os.listdir(os.path.dirname(path)) == [name]


@pytest.mark.parametrize("name, text", [("store.yml", COMMENTED_INDENTED), ("store.json", as_json())])
def test_atomic_save_keeps_the_mode_and_leaves_no_temporary_file(write_file, name, text):
    path = write_file(name, text)
    os.chmod(path, 0o640)
    inode = os.stat(path).st_ino
    _result, changed = _update(path, lambda data, editor: editor.put_group(G2, {"name": "renamed"}))
    assert changed is True
    stat = os.stat(path)
    assert stat.st_mode & 0o7777 == 0o640
    assert stat.st_ino != inode, "the file is replaced by a rename, not rewritten in place"
    assert os.listdir(os.path.dirname(path)) == [name]
    assert Store(path).load().groups_by_uuid[G2]["name"] == "renamed"


def test_failed_mutation_writes_nothing(write_file, file_state):
    path = write_file("store.yml", COMMENTED_INDENTED)
    before = file_state(path)

    def mutate(data, editor):
        editor.put_group(G2, {"name": "half-done"})
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        _update(path, mutate)
    assert file_state(path) == before
    assert os.listdir(os.path.dirname(path)) == ["store.yml"]


def test_the_loaded_node_tree_is_freed_before_the_written_text_is_read_back(write_file, monkeypatch):
    """The read-back check parses a second whole store: the first one's node tree (kept by load() for the
    writer) must be gone by then, or a sync of 10,000 groups peaks at both (measured: 372 MiB, not 289)."""
    path = write_file("store.yml", COMMENTED_INDENTED)
    store = Store(path)
    store.load()
    tree = weakref.ref(store._last_parse[1])
    alive = []
    check_written = Store._check_written

    def spy(self, document, new_text):
        alive.append(tree() is not None)
        return check_written(self, document, new_text)

    monkeypatch.setattr(Store, "_check_written", spy)
    assert store.update(lambda data, editor: editor.put_group(G2, {"backend_id": "kc-2"}))[1] is True
    assert alive == [False]


def test_update_reads_the_file_afresh(write_file):
    """A Store object made before another writer changed the file still sees that change."""
    path = write_file("store.yml", COMMENTED_INDENTED)
    store = Store(path)
    store.load()
    Store(path).update(lambda data, editor: editor.put_group(G1, {"backend_id": "kc-1"}))
    store.update(lambda data, editor: editor.put_group(G2, {"backend_id": "kc-2"}))
    data = Store(path).load()
    assert data.groups_by_uuid[G1]["backend_id"] == "kc-1"
    assert data.groups_by_uuid[G2]["backend_id"] == "kc-2"


# -------------------------------------------------------------- JSON layout


def _json_store(indent):
    document = copy.deepcopy(VALID_DOC)
    # Keys in an order nobody would choose: a write must keep it.
    document["groups"] = [dict(reversed(list(g.items()))) for g in document["groups"]]
    document = dict(reversed(list(document.items())))
    return json.dumps(document, indent=indent) + "\n"


@pytest.mark.parametrize("indent", [pytest.param(2, id="two-spaces"), pytest.param(4, id="four-spaces"),
                                    pytest.param("\t", id="tabs")])
def test_json_write_keeps_key_order_and_indentation(write_file, indent):
    text = _json_store(indent)
    path = write_file("store.json", text)
    _update(path, lambda data, editor: editor.put_group(G2, {"name": "renamed", "modified": NEW_STAMP}))
    new = read(path)
    removed, added = _diff(text, new)
    pad = indent * 3 if isinstance(indent, str) else " " * indent * 3
    assert removed == [pad + '"modified": "%s",' % STAMP, pad + '"name": "members-p1",']
    assert added == [pad + '"modified": "%s",' % NEW_STAMP, pad + '"name": "renamed",']


def test_json_added_group_has_keys_in_order(write_file):
    text = as_json(indent=2)
    path = write_file("store.json", text)
    _update(path, _add_group)
    document = json.loads(read(path))
    assert list(document["groups"][-1]) == [k for k in GROUP_KEYS if k not in ("members", "unlinked")]
    assert document["groups"][:2] == VALID_DOC["groups"]
    assert list(document) == list(VALID_DOC)


def test_json_write_keeps_escaped_non_ascii_text(write_file):
    """A store written by json.dump (ASCII escapes) must not be rewritten everywhere by one change."""
    document = copy.deepcopy(VALID_DOC)
    document["offerings"][1]["name"] = "Universit\u00e9 HPC"
    text = json.dumps(document, indent=2) + "\n"
    assert "\\u00e9" in text
    path = write_file("store.json", text)
    _update(path, lambda data, editor: editor.put_group(G2, {"name": "renamed"}))
    removed, added = _diff(text, read(path))
    assert removed == ['      "name": "members-p1",']
    assert added == ['      "name": "renamed",']


# -------------------------------------------------------------- concurrency

_ADD_GROUPS = r"""
import sys, time
from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store
path, worker, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
O1, R2 = "%s", "%s"
import os
open("%%s.ready.%%d" %% (go, worker), "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
store = Store(path)
for i in range(count):
    uuid = "1e000000-0000-4000-8000-%%06d%%06d" %% (worker, i)
    def mutate(data, editor):
        editor.put_group(uuid, {"name": "w%%d-g%%d" %% (worker, i), "backend_id": "", "offering": O1, "role": R2,
                                "resource": None, "scope_id": "w%%d-%%d" %% (worker, i),
                                "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"})
    store.update(mutate)
""" % (O1, R2)

_RENAME_GROUP = r"""
import sys, time, os
from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store
path, worker, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
G2 = "%s"
open("%%s.ready.%%d" %% (go, worker), "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
store = Store(path)
for i in range(count):
    store.update(lambda data, editor: editor.put_group(G2, {"name": "w%%d-n%%d" %% (worker, i)}))
    data = store.load()
""" % G2


def _run_workers(python_child, code, path, workers, count, tmp_path):
    """Start the workers, wait until every one has imported everything, then let them all go at once."""
    gate = tmp_path / "gate"
    gate.mkdir()
    go = str(gate / "go")
    children = [python_child(code, path, worker, count, go) for worker in range(workers)]
    deadline = time.time() + 60
    while len([n for n in os.listdir(str(gate)) if ".ready." in n]) < workers and time.time() < deadline:
        if any(child.poll() is not None for child in children):
            break
        time.sleep(0.01)
    with open(go, "w", encoding="utf-8"):
        pass
    failures = []
    for child in children:
        _out, err = child.communicate(timeout=120)
        if child.returncode != 0:
            failures.append(err.decode("utf-8", "replace")[-2000:])
    assert failures == []
    assert len([n for n in os.listdir(str(gate)) if ".ready." in n]) == workers


def _files_beside(path):
    return sorted(n for n in os.listdir(os.path.dirname(path)) if n != "gate")


def test_concurrent_writers_lose_no_update(write_file, python_child, tmp_path):
    """10 processes each add 20 groups to one store at the same time: all 200 are there.

    JSON keeps the test fast; the locking and re-reading do not depend on the format
    (the YAML variant below runs fewer, heavier writes).
    """
    path = write_file("store.json", as_json())
    _run_workers(python_child, _ADD_GROUPS, path, 10, 20, tmp_path)
    data = Store(path).load()
    added = [g for g in data.groups if g["uuid"].startswith("1e000000")]
    assert len(added) == 200
    assert len(data.groups) == 202
    assert _files_beside(path) == ["store.json"]


def test_concurrent_yaml_writers_lose_no_update_and_keep_comments(write_file, python_child, tmp_path):
    path = write_file("store.yml", COMMENTED_INDENTED)
    _run_workers(python_child, _ADD_GROUPS, path, 10, 3, tmp_path)
    data = Store(path).load()
    assert len([g for g in data.groups if g["uuid"].startswith("1e000000")]) == 30
    text = read(path)
    for comment in ("# Top comment", "# trailing comment", "# the members of project p1", "# project two"):
        assert comment in text
    assert _files_beside(path) == ["store.yml"]


def test_concurrent_writers_of_one_group_keep_the_store_valid(write_file, python_child, tmp_path):
    path = write_file("store.yml", COMMENTED_INDENTED)
    _run_workers(python_child, _RENAME_GROUP, path, 10, 5, tmp_path)
    data = Store(path).load()
    assert len(data.groups) == 3
    assert re.match(r"^w\d-n4$", data.groups_by_uuid[G2]["name"])
    assert data.groups_by_uuid[G1]["name"] == "admins-a"
    assert _files_beside(path) == ["store.yml"]


# ------------------------------------------------------------- unlinked


def test_unlinked_is_false_unless_the_record_says_true(write_file):
    assert [g["unlinked"] for g in _load(write_file, "store.yml", VALID_YAML).groups] == [False, False]
    text = insert_after("    name: members-p1", "    unlinked: true")
    assert [g["unlinked"] for g in _load(write_file, "store.yml", text).groups] == [False, True]
    text = insert_after("    name: members-p1", "    unlinked:")
    assert [g["unlinked"] for g in _load(write_file, "store.yml", text).groups] == [False, False]


@pytest.mark.parametrize("name, text", [("store.yml", VALID_YAML), ("store.json", as_json())])
def test_unlinked_is_written_only_while_true(write_file, name, text):
    """Setting it writes ``unlinked: true``; clearing it removes the key: the file is as it was."""
    path = write_file(name, text)
    _result, changed = Store(path).update(lambda data, editor: editor.put_group(G2, {"unlinked": True}))
    assert changed is True
    assert Store(path).load().groups_by_uuid[G2]["unlinked"] is True
    if name == "store.yml":
        assert _diff(text, read(path)) == ([], ["    unlinked: true"])
    _result, changed = Store(path).update(lambda data, editor: editor.put_group(G2, {"unlinked": False}))
    assert changed is True
    assert read(path) == text
    _result, changed = Store(path).update(lambda data, editor: editor.put_group(G1, {"unlinked": False}))
    assert changed is False, "a record without the key is already not unlinked"
    g4 = "0d000000-0000-4000-8000-000000000004"
    Store(path).update(lambda data, editor: editor.put_group(g4, {
        "name": "new", "backend_id": "", "unlinked": False, "offering": O1, "role": R1, "resource": None,
        "scope_id": "p4", "created": STAMP, "modified": STAMP}))
    assert "unlinked" not in read(path), "a new record that is not unlinked was written with the key"
    assert Store(path).load().groups_by_uuid[g4]["unlinked"] is False


# ------------------------------------------------------------------ names (issue 22)

def test_resource_slugs_of_names_that_are_not_ascii_are_their_uuids():
    from ansible_collections.waldur.keycloak.plugins.module_utils._store_schema import name_slug
    a, b = "0a000000-0000-4000-8000-000000000001", "0a000000-0000-4000-8000-000000000002"
    assert name_slug("Cluster A", a) == "cluster-a"                # ASCII: as before
    assert name_slug("Café Müller", a) == "cafe-muller"           # accents dropped
    assert name_slug("Кластер", a) == uuid.UUID(a).hex             # distinct, and stable across renames
    assert name_slug("Кластер 1", a) != name_slug("Узел 1", b)
    assert name_slug("Straße", a) == uuid.UUID(a).hex              # a letter no decomposition makes ASCII
    assert name_slug("!!!", a) == uuid.UUID(a).hex


def test_instant_orders_offsets_and_fractions():
    from ansible_collections.waldur.keycloak.plugins.module_utils._store_schema import instant
    stamps = ["2026-01-01T12:00:00+02:00", "2026-01-01T10:00:00.5Z", "2026-01-01T11:00:00", ""]
    assert sorted(stamps, key=instant) == ["", "2026-01-01T12:00:00+02:00", "2026-01-01T10:00:00.5Z",
                                           "2026-01-01T11:00:00"]
