# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Check-mode diffs read as a drift report: Keycloak's groups before and after, as YAML, named by path."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.waldur.keycloak.plugins.module_utils._diff import _SlowDiffDumper, _yaml_text, plan_diff
from ansible_collections.waldur.keycloak.plugins.module_utils._plan import (
    AddMember,
    CreateGroup,
    DeleteGroup,
    Plan,
    RemoveMember,
    RenameGroup,
    RunContext,
)

ROOT = "/waldur/rancher"


def keycloak_diffs(plan):
    diffs = plan_diff(plan, RunContext(check_mode=True), "store.yml")
    for entry in diffs:
        # The shape Ansible's diff callback expects.
        assert sorted(entry) == ["after", "after_header", "before", "before_header"]
    return [d for d in diffs if d["before_header"].startswith("keycloak")]


def parsed(text):
    return yaml.safe_load(text) if text else None


def test_a_rename_shows_the_old_and_the_new_path_and_name():
    plan = Plan()
    plan.add(RenameGroup(None, "demo", ROOT + "/hand-made", "id-1", "hand-made", "cluster-b-members"))
    [diff] = keycloak_diffs(plan)
    assert diff["before_header"] == "keycloak realm demo: group /waldur/rancher/hand-made"
    assert diff["after_header"] == "keycloak realm demo: group /waldur/rancher/cluster-b-members"
    assert parsed(diff["before"]) == {"path": ROOT + "/hand-made", "name": "hand-made"}
    assert parsed(diff["after"]) == {"path": ROOT + "/cluster-b-members", "name": "cluster-b-members"}


def test_a_member_removal_is_a_line_gone_from_the_members_before():
    plan = Plan()
    current = ["alice", "Mallory"]
    plan.add(RemoveMember(None, "demo", ROOT + "/admins", "id-2", "Mallory", "u-m", current), lane="id-2")
    plan.add(AddMember(None, "demo", ROOT + "/admins", "id-2", "bob", "u-b", current), lane="id-2")
    [diff] = keycloak_diffs(plan)
    assert diff["before_header"] == diff["after_header"] == "keycloak realm demo: group /waldur/rancher/admins"
    assert parsed(diff["before"]) == {"path": ROOT + "/admins", "name": "admins", "members": ["alice", "Mallory"]}
    assert parsed(diff["after"]) == {"path": ROOT + "/admins", "name": "admins", "members": ["alice", "bob"]}
    # Block YAML, one member a line: a removal is a "-" line of the unified diff, an addition a "+" line.
    assert diff["before"] == "path: /waldur/rancher/admins\nname: admins\nmembers:\n- alice\n- Mallory\n"


def test_a_deletion_shows_the_group_before_and_nothing_after():
    plan = Plan()
    plan.add(DeleteGroup(None, "demo", ROOT + "/old", "id-3", ["carol", "alice"]))
    [diff] = keycloak_diffs(plan)
    assert parsed(diff["before"]) == {"path": ROOT + "/old", "name": "old", "members": ["alice", "carol"]}
    assert diff["after"] == ""
    assert diff["after_header"] == "keycloak realm demo: group (absent)"


def test_a_created_group_with_its_members_is_one_entry_with_nothing_before():
    plan = Plan()
    create = plan.add(CreateGroup(None, "demo", ROOT + "/new", "new", "root-id"))
    plan.add(AddMember(None, "demo", ROOT + "/new", create.ref, "alice", "u-a", []), lane="x")
    [diff] = keycloak_diffs(plan)
    assert diff["before"] == "" and diff["before_header"] == "keycloak realm demo: group (absent)"
    assert parsed(diff["after"]) == {"path": ROOT + "/new", "name": "new", "members": ["alice"]}


def test_values_are_yaml_not_python_reprs():
    plan = Plan()
    plan.add(RenameGroup(None, "demo", ROOT + "/a", "id-1", "a", "b"))
    plan.record(
        {"uuid": "u1", "name": "g", "description": None, "modified": "2026-01-01T00:00:00Z",
         "members": [{"username": "alice", "email": "", "first_name": "", "state": "active"}]},
        {"uuid": "u1", "name": "h", "description": None, "modified": "2026-02-02T00:00:00Z",
         "members": [{"username": "alice", "email": "", "first_name": "", "state": "active"}]})
    text = "".join(d["before"] + d["after"] for d in plan_diff(plan, RunContext(check_mode=True), "store.yml"))
    for python_repr in ("None", "['", "email: ,"):
        assert python_repr not in text
    store = [d for d in plan_diff(plan, RunContext(check_mode=True), "store.yml") if d["before_header"].startswith("store")]
    assert store[0]["before_header"] == "store.yml: group g (u1)"
    assert store[0]["after_header"] == "store.yml: group h (u1)"
    assert parsed(store[0]["before"])["members"] == [
        {"username": "alice", "email": "", "first_name": "", "state": "active"}]
    assert parsed(store[0]["before"])["description"] is None


def test_the_update_timestamp_is_not_shown():
    plan = Plan()
    plan.record({"uuid": "u1", "name": "g", "modified": "2026-01-01T00:00:00Z", "members": []},
                {"uuid": "u1", "name": "h", "modified": "2026-02-02T00:00:00Z", "members": []})
    [diff] = plan_diff(plan, RunContext(check_mode=True), "store.yml")
    assert "modified" not in diff["before"] + diff["after"]
    assert parsed(diff["before"]) == {"uuid": "u1", "name": "g", "members": []}


def test_a_value_safe_dump_refuses_still_renders():
    class Text(str):
        pass

    plan = Plan()
    plan.record(None, {"uuid": "u1", "name": Text("g"), "members": []})
    [diff] = plan_diff(plan, RunContext(check_mode=True), "store.yml")
    assert parsed(diff["after"]) == {"uuid": "u1", "name": "g", "members": []}


# The diff's YAML comes from libyaml's emitter (CSafeDumper, ~4x faster at 10,000 groups): it must write
# exactly what PyYAML's own emitter writes, for whatever a store record may hold; and it reads back as the record.
_LINE_BREAKS = ["\n", "\r", "\x85", "\u2028", "\u2029"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40),
                     st.text(st.sampled_from(["a", " ", ":", "#", "'"] + _LINE_BREAKS), max_size=8),
                     st.sampled_from(["", "~", "null", "yes", "0123", "a: b #c", "- x", "'q'", '"d"', "multi\nline",
                                      "ünïcödé", "tab\there", " lead", "trail ", "x" * 300, "nel\x85x",
                                      "\x1b[31mred\x07\x00", "\u202egnp.exe"]))
_records = st.dictionaries(st.text(min_size=1, max_size=12), st.one_of(
    _scalars, st.lists(st.dictionaries(st.text(min_size=1, max_size=8), _scalars, max_size=4), max_size=3)),
    max_size=8)


def _line_breaks_in(value):
    if isinstance(value, dict):
        return sum(_line_breaks_in(k) + _line_breaks_in(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_line_breaks_in(v) for v in value)
    return 0


@settings(max_examples=300, deadline=None)
@given(_records, st.booleans())
def test_diff_yaml_is_what_pyyaml_itself_writes(record, sort_keys):
    expected = yaml.dump(record, Dumper=_SlowDiffDumper, default_flow_style=False, sort_keys=sort_keys,
                         allow_unicode=True, width=1000)
    text = _yaml_text(record, sort_keys=sort_keys)
    assert text == (expected if record else "")
    if record:
        assert yaml.safe_load(text) == record
        assert yaml.load(text, Loader=yaml.CSafeLoader) == record


def test_a_value_with_a_line_break_is_one_line_that_reads_back():
    """NEL, LS, PS, CR, LF in a name (a user's own email may hold NEL): one diff line each, read back exactly.
    Before, a name with NEL was written single-quoted with a raw NEL, which reads back as a space."""
    record = {"uuid": "u1", "name": "a\x85b\u2028c\u2029d\re\nf",
              "members": [{"username": "nel", "email": '"nel\x85x"@example.org'}]}
    text = _yaml_text(record)
    assert yaml.safe_load(text) == record
    assert yaml.load(text, Loader=yaml.CSafeLoader) == record
    assert not any(c in text for c in "\r\x85\u2028\u2029")
    assert len(text.splitlines()) == 5   # members:, - email, username, name, uuid: one line each


def test_headers_are_one_line_without_control_characters():
    """A group renamed by hand to hold a newline, ESC or BEL: the diff's headers stay one line each."""
    plan = Plan()
    plan.add(RenameGroup(None, "demo", ROOT + "/x\ny\x1b[31m\x07", "id-1", "x\ny\x1b[31m\x07", "b"))
    plan.record({"uuid": "u1", "name": "g\r\n\x00\x85\u202e", "members": []},
                {"uuid": "u1", "name": "h", "members": []})
    diffs = plan_diff(plan, RunContext(check_mode=True), "store.yml")
    headers = [d[key] for d in diffs for key in ("before_header", "after_header")]
    assert headers[0] == "store.yml: group g  (u1)"
    for header in headers:
        assert header.isprintable(), repr(header)
    assert "keycloak realm demo: group /waldur/rancher/x y [31m " in headers
