# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Hand-written store layouts that every change must handle (issue #11, section 3): one test each.

Each writes with the store and checks from outside (store_check.check_write): the file reads
back as the intended change, lines outside the changed records are byte-identical, comments survive.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store, StoreError

from ansible_collections.waldur.keycloak.tests.unit.plugins.module_utils.store_check import Change, check_write

O1 = "0a000000-0000-4000-8000-000000000001"
R1 = "0b000000-0000-4000-8000-000000000001"
G1 = "0d000000-0000-4000-8000-000000000001"
G2 = "0d000000-0000-4000-8000-000000000002"
G3 = "0d000000-0000-4000-8000-000000000003"
STAMP = "2026-01-02T03:04:05Z"

HEAD = """\
version: 1
offerings:
  - uuid: {O1}
    name: o
    roles:
      - {{uuid: {R1}, name: r}}
""".format(O1=O1, R1=R1)


def fmt(text):
    return text.format(O1=O1, R1=R1, G1=G1, G2=G2, G3=G3)


ONE = HEAD + fmt("""\
groups:
  - uuid: {G1}
    name: g1
    offering: {O1}
    role: {R1}
""")

NEW_GROUP = ("put_group", G3, {"name": "g3", "backend_id": "", "offering": O1, "role": R1, "resource": None,
                               "scope_id": "s3", "created": STAMP, "modified": STAMP})
ALICE = {"username": "alice", "email": "", "first_name": "", "last_name": "", "state": "pending"}
EVERY_CHANGE = [
    pytest.param(Change(("put_group", G1, {"backend_id": "kc-1", "modified": STAMP})), id="link"),
    pytest.param(Change(("put_group", G1, {"name": "renamed"})), id="rename"),
    pytest.param(Change(("put_group", G1, {"unlinked": True})), id="unlink"),
    pytest.param(Change(NEW_GROUP), id="create"),
    pytest.param(Change(("put_group", G1, {"backend_id": "kc-9"}), NEW_GROUP), id="update-and-create"),
    pytest.param(Change(("remove_group", G1)), id="remove-group"),
    pytest.param(Change(("put_member", G1, ALICE)), id="add-member"),
    pytest.param(Change(("put_member", G1, {"username": "bob", "state": "active"})), id="change-member"),
    pytest.param(Change(("remove_member", G1, "bob")), id="remove-member"),
    pytest.param(Change(("remove_member", G1, "bob"), ("put_member", G1, ALICE)), id="replace-members"),
    pytest.param(Change(("remove_group", G1), ("remove_group", G2), NEW_GROUP), id="replace-groups"),
]


@pytest.mark.parametrize("value", ["@kc", "`kc", "%kc", "!kc", "&kc", "*kc", "|kc", ">kc", "?kc", ":kc", ",kc",
                                   "[kc", "{kc", "#kc", "-kc", "- kc", "'kc", '"kc', "kc: x", "kc #x", " kc"])
def test_a_value_that_starts_with_an_indicator_is_quoted(write_file, value):
    new = check_write(write_file, ONE, Change(("put_group", G1, {"backend_id": value})))
    assert Store(write_file("again.yml", new)).load().groups[0]["backend_id"] == value


@pytest.mark.parametrize("empty", ["backend_id:", "backend_id: ~", "backend_id: null", "backend_id:   # none yet",
                                   "backend_id: !!null ''"])
def test_an_empty_value_then_a_link(write_file, empty):
    text = ONE.replace("    name: g1\n", "    name: g1\n    %s\n" % empty)
    new = check_write(write_file, text, Change(("put_group", G1, {"backend_id": "kc-1"})))
    assert new.splitlines()[-3].split("#")[0].rstrip() in ("    backend_id: kc-1", "    backend_id: 'kc-1'")


@pytest.mark.parametrize("block", ["name: >-\n      a long\n      name", "name: |-\n      g1\n",
                                   "name: >  # folded\n      g1\n\n"])
def test_a_block_scalar_is_replaced(write_file, block):
    text = ONE.replace("    name: g1\n", "    %s\n" % block.rstrip("\n") + "\n" * (1 + block.count("\n\n")))
    new = check_write(write_file, text, Change(("put_group", G1, {"name": "renamed"})))
    assert "    name: renamed" in new
    assert ("# folded" in new) is ("# folded" in text)


@pytest.mark.parametrize("change", EVERY_CHANGE)
def test_a_byte_order_mark(write_file, change):
    check_write(write_file, "\ufeff" + ONE.replace("    role:", "    members: [{username: bob}]\n    role:"), change)


@pytest.mark.parametrize("change", EVERY_CHANGE)
def test_no_line_end_at_the_end_of_the_file(write_file, change):
    text = ONE.replace("    role:", "    members:\n      - {username: bob}\n    role:").rstrip("\n")
    check_write(write_file, text, change)


@pytest.mark.parametrize("marker", ["...\n", "...\n# after the end\n", "...  # end"])
def test_a_document_end_marker_and_no_groups_yet(write_file, marker):
    new = check_write(write_file, "---\n" + HEAD + marker, Change(NEW_GROUP))
    assert new.index("groups:") < new.index("...")


FLOW = HEAD + fmt("""\
groups:
  - {{uuid: {G1}, name: g1, offering: {O1}, role: {R1}, members: [{{username: bob}}]}}  # c1
  - {{uuid: {G2}, name: g2, offering: {O1}, role: {R1}, scope_id: s2}}  # c2
""")

FLOW_MULTILINE = HEAD + fmt("""\
groups: [
  # c1 the first group
  {{uuid: {G1}, name: g1, offering: {O1}, role: {R1},  # c2
   members: [
     {{username: bob}},  # c3 bob
     # c4 more to come
   ]}},
  {{uuid: {G2}, name: g2, offering: {O1}, role: {R1}, scope_id: s2, members: [{{username: carol}}]}}  # c5
  # c6 the end
]  # c7
""")


@pytest.mark.parametrize("text, owners", [
    pytest.param(FLOW, {"c1": G1, "c2": G2}, id="one-line"),
    pytest.param(FLOW_MULTILINE, {"c2": G1, "c3": (G1, "bob"), "c4": G1, "c5": G2}, id="multi-line")])
@pytest.mark.parametrize("change", EVERY_CHANGE + [pytest.param(Change(("remove_group", G2)), id="remove-last")])
def test_flow_style_records_and_member_lists(write_file, text, owners, change):
    check_write(write_file, text, change, owners=owners)


DASH_ALONE = HEAD + fmt("""\
groups:
  -
    uuid: {G1}
    name: g1
    offering: {O1}
    role: {R1}
    members:
      -
        username: bob
  -
    uuid: {G2}
    name: g2
    offering: {O1}
    role: {R1}
    scope_id: s2
""")


@pytest.mark.parametrize("change", EVERY_CHANGE)
def test_a_dash_alone_on_its_line(write_file, change):
    check_write(write_file, DASH_ALONE, change)


def test_a_key_added_to_the_last_record_lands_in_it_when_a_group_is_appended(write_file):
    """A sync links the last record (which lacks backend_id and modified) and appends a new one."""
    change = Change(("put_group", G1, {"backend_id": "kc-1", "modified": STAMP}), NEW_GROUP)
    new = check_write(write_file, ONE, change)
    data = Store(write_file("again.yml", new)).load()
    assert data.groups_by_uuid[G1]["backend_id"] == "kc-1" and data.groups_by_uuid[G3]["backend_id"] == ""


MERGED = fmt("""\
version: 1
offerings:
  - uuid: {O1}
    name: o
    keycloak: &kc {{realm: hpc, base_group: waldur}}
    roles:
      - {{uuid: {R1}, name: r}}
  - uuid: 0a000000-0000-4000-8000-000000000002
    name: o2
    keycloak: {{<<: *kc, base_group: hpc}}  # c1 the same realm, another base group
groups:
  - uuid: {G1}
    name: g1
    offering: {O1}
    role: {R1}
""")


@pytest.mark.parametrize("change", EVERY_CHANGE)
def test_a_merge_key_overriding_a_merged_value_loads_and_writes(write_file, change):
    data = Store(write_file("first.yml", MERGED)).load()
    assert data.offerings[1]["keycloak"]["base_group"] == "hpc" and data.offerings[1]["keycloak"]["realm"] == "hpc"
    check_write(write_file, MERGED, change)


ABOVE = HEAD + fmt("""groups:
  # c1 the first group
  - uuid: {G1}
    name: g1
    offering: {O1}
    role: {R1}
    # c2 a note at the end of the first group, about its role
  # c3 the second group
  - uuid: {G2}
    name: g2
    offering: {O1}
    role: {R1}
    scope_id: s2
# c4 end of file
""")


def test_deleting_a_record_keeps_the_comment_of_the_record_above(write_file):
    new = check_write(write_file, ABOVE, Change(("remove_group", G2)), owners={"c3": G2})
    assert "    # c2 a note at the end of the first group, about its role\n# c4" in new


@pytest.mark.parametrize("change", EVERY_CHANGE)
def test_crlf_line_ends_stay(write_file, change):
    text = ONE.replace("    role:", "    members:\n      - {username: bob}  # c1\n    role:").replace("\n", "\r\n")
    check_write(write_file, text, change, owners={"c1": (G1, "bob")})


@pytest.mark.parametrize("empty", ["groups: []  # c1 none yet", "groups:  # c1 none yet", "groups: ~  # c1 none yet",
                                   "groups: [\n  # c1 none yet\n]"])
def test_an_empty_groups_list_with_a_comment(write_file, empty):
    new = check_write(write_file, HEAD + empty + "\n", Change(NEW_GROUP))
    if "[\n" not in empty:
        assert "\ngroups:  # c1 none yet\n" in new
    assert not [line for line in new.splitlines() if line != line.rstrip()], "a line gained trailing whitespace"


def _json_store(text):
    return json.loads(text.lstrip("\ufeff"))


@pytest.mark.parametrize("change", EVERY_CHANGE)
def test_json_with_a_byte_order_mark(write_file, change):
    document = Store.__new__(Store)   # the same store as ONE, as JSON
    import yaml
    document = yaml.safe_load(ONE)
    document["groups"][0]["members"] = [{"username": "bob"}]
    check_write(write_file, "\ufeff" + json.dumps(document, indent=2) + "\n", change, name="store.json")


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
@pytest.mark.parametrize("change", EVERY_CHANGE)
def test_compact_json_stays_compact(write_file, change, separators):
    import yaml
    document = yaml.safe_load(ONE)
    document["groups"][0]["members"] = [{"username": "bob"}]
    text = json.dumps(document, separators=separators)
    new = check_write(write_file, text, change, name="store.json")
    assert new == json.dumps(_json_store(new), separators=separators), "the layout changed"


ALIASED = fmt("""\
version: 1
offerings:
  - uuid: &o1 {O1}
    name: o
    roles:
      - {{uuid: &r1 {R1}, name: r}}
groups:
  - uuid: {G1}  # c1
    name: &n g1
    offering: *o1
    role: *r1
    members: &team
      - {{username: bob}}
  - uuid: {G2}
    name: *n
    offering: *o1
    role: *r1
    scope_id: s2
    members: *team  # c2
""")


# Changes that would reach the anchors g1 defines for g2 (&n, &team): refused, cleanly.
REACHES_G2 = ("rename", "remove-group", "add-member", "change-member", "remove-member", "replace-members",
              "replace-groups")


@pytest.mark.parametrize("change", EVERY_CHANGE + [
    pytest.param(Change(("put_group", G2, {"name": "renamed"})), id="rename-alias"),
    pytest.param(Change(("put_member", G2, ALICE)), id="add-member-to-alias"),
    pytest.param(Change(("remove_member", G2, "bob")), id="remove-member-of-alias"),
    pytest.param(Change(("remove_group", G2)), id="remove-alias-user")])
def test_records_that_use_aliases(write_file, file_state, request, change):
    """A record that uses aliases is changed (the value is written out in it); a change to a value that
    g1 anchors and g2 uses is refused with a clean error, the file untouched."""
    path = write_file("first.yml", ALIASED)
    before = file_state(path)
    if request.node.callspec.id in REACHES_G2:
        with pytest.raises(StoreError) as exc_info:
            Store(path).update(change.mutate)
        assert "shares YAML anchors or aliases" in str(exc_info.value) and "groups[0]" in str(exc_info.value)
        assert file_state(path) == before
        return
    check_write(write_file, ALIASED, change, owners={"c1": G1, "c2": G2})


MORE = [
    pytest.param(fmt("{{version: 1, offerings: [{{uuid: {O1}, name: o, roles: [{{uuid: {R1}, name: r}}]}}],\n"
                     " groups: [{{uuid: {G1}, name: g1, offering: {O1}, role: {R1}, members: [{{username: bob}}]}}]}}\n"),
                 id="flow-document"),
    pytest.param(ONE + "    members:\n      # the team\n      - username: bob  # c1\n        email: b@example.com\n"
                 "      - username: zoe\n", id="members-as-block-mappings"),
    pytest.param(ONE + "    members: [  # c2 nobody yet\n    ]\n", id="empty-flow-members-with-a-comment"),
    pytest.param(ONE + "    created: 2026-01-02T03:04:05Z\n    modified: 2026-01-02T03:04:05Z\n", id="unquoted-dates"),
]


@pytest.mark.parametrize("text", MORE)
@pytest.mark.parametrize("change", EVERY_CHANGE)
def test_more_layouts(write_file, text, change):
    check_write(write_file, text, change, owners={"c1": (G1, "bob"), "c2": G1})


# ------------------------------------------- the writer's last tail (issue 22, item 17)

HAND_JSON = fmt("""{{
    "version": 1,
    "offerings": [
        {{"uuid": "{O1}", "name": "o\\u00E4\\/x",
         "keycloak": {{"url": "https:\\/\\/kc.example", "realm": "hpc"}},
         "roles": [{{"uuid": "{R1}", "name": "r"}}]}}
    ],
    "groups": [
        {{
            "uuid": "{G1}",
            "name": "g1",
            "offering": "{O1}",
            "role": "{R1}",
            "members": [{{"username": "bob", "email": null}}]
        }},
        {{"uuid": "{G2}", "name": "g\\u00C4", "offering": "{O1}", "role": "{R1}", "scope_id": "s\\/2"}}
    ]
}}
""")


@pytest.mark.parametrize("change", EVERY_CHANGE + [pytest.param(Change(("remove_group", G2)), id="remove-last"),
                                                   pytest.param(Change(("put_group", G2, {"name": "x"})),
                                                                id="rename-one-line")])
def test_hand_written_json_keeps_its_layout(write_file, change):
    """A one-line object, \\/ and upper-case \\u00E4 escapes: a write that does not touch them keeps them."""
    new = check_write(write_file, HAND_JSON, change, name="store.json")
    assert '"keycloak": {"url": "https:\\/\\/kc.example", "realm": "hpc"}' in new
    assert '"name": "o\\u00E4\\/x",' in new
    if G2 not in change.touched():
        assert '{"uuid": "%s", "name": "g\\u00C4", "offering": "%s", "role": "%s", "scope_id": "s\\/2"}' % (
            G2, O1, R1) in new


def test_a_changed_one_line_json_record_stays_on_one_line(write_file):
    new = check_write(write_file, HAND_JSON, Change(("put_group", G2, {"backend_id": "kc-2"})), name="store.json")
    assert [line for line in new.splitlines() if G2 in line][0].strip().startswith('{"uuid": "%s"' % G2)


MEMBER_FIELDS = ONE + """\
    members:
      - username: bob
        email: ~
      - {username: carol, email: ~}
      - username: dave
        email: d@example.com
"""


def test_a_member_field_change_keeps_what_reads_the_same(write_file):
    """email: ~ stays ~ (it reads as ""), a member without state gains none (it reads as pending), when a
    sync re-puts every member with its fields and changes only one of them."""
    full = {"email": "", "first_name": "", "last_name": "", "state": "pending"}
    change = Change(("put_member", G1, dict(full, username="bob")),
                    ("put_member", G1, dict(full, username="carol", state="active")),
                    ("put_member", G1, dict(full, username="dave", email="d@example.com", first_name="Dave")))
    new = check_write(write_file, MEMBER_FIELDS, change)
    assert "      - username: bob\n        email: ~\n" in new
    assert "      - {username: carol, email: ~, state: active}\n" in new
    assert "state: pending" not in new


def test_a_comment_after_the_last_member_stays_when_the_next_group_goes(write_file):
    text = ONE + "    members:\n      - username: bob\n        # c1 about bob's group\n" + fmt(
        "  - uuid: {G2}\n    name: g2\n    offering: {O1}\n    role: {R1}\n    scope_id: s2\n")
    new = check_write(write_file, text, Change(("remove_group", G2)), owners={"c1": G1})
    assert "        # c1 about bob's group\n" in new
