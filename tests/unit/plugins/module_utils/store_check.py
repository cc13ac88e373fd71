# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a store write must keep, checked from outside the writer (tests of the store's layouts).

``Change`` applies a module's kind of change twice: through ``Store.update`` and, independently,
to the plain document that PyYAML's own safe loader reads. ``check_write`` then asserts
that the file reads back (with that loader, not the store's) as exactly the intended document,
that every line outside the changed records is byte-identical, and that every comment survives
(a removed record's own comments may go with it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import json
import re

import yaml

from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store

BOM = "\ufeff"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
COMMENT = re.compile(r"#\s*(c\d+)\b")


def _uuid(value):
    return str(value).lower()


class Change(object):
    """One store change, as a list of editor calls: ("put_group", uuid, fields), ("remove_group", uuid),
    ("put_member", uuid, member), ("remove_member", uuid, username)."""

    def __init__(self, *calls):
        self.calls = calls

    def __repr__(self):
        return "Change%r" % (self.calls,)

    def mutate(self, _data, editor):
        for call in self.calls:
            getattr(editor, call[0])(*call[1:])

    def touched(self):
        return set(_uuid(call[1]) for call in self.calls)

    def removed(self):
        """What goes with its comments: group uuids, and (group uuid, username) of members."""
        gone = set(_uuid(call[1]) for call in self.calls if call[0] == "remove_group")
        return gone | set((_uuid(call[1]), call[2].lower()) for call in self.calls if call[0] == "remove_member")

    def expected(self, document):
        """The intended document, by the editor's documented semantics, on a plain copy."""
        document = copy.deepcopy(document)
        for call in self.calls:
            groups = document.get("groups") or []
            record = next((g for g in groups if _uuid(g["uuid"]) == _uuid(call[1])), None)
            if call[0] == "put_group":
                fields = dict(call[2])
                if record is None:
                    record = dict(uuid=call[1], **dict((k, v) for k, v in fields.items()
                                                       if k != "members" and not (k == "unlinked" and not v)))
                    document["groups"] = groups + [record]
                    for member in fields.get("members") or []:
                        record.setdefault("members", []).append(dict((k, v) for k, v in member.items()
                                                                     if v != "" or k == "username"))
                    continue
                for key, value in fields.items():
                    if key == "unlinked" and not value:
                        if record.get(key):
                            del record[key]
                    elif key != "members":
                        record[key] = value
            elif call[0] == "remove_group":
                document["groups"] = [g for g in groups if g is not record]
            elif call[0] == "put_member":
                members = record.get("members") or []
                member = call[2]
                same = [m for m in members if m["username"].lower() == member["username"].lower()]
                if same:
                    same[0].update((k, v) for k, v in member.items()
                                   if k != "username" and _read(same[0], k) != _read(member, k))
                else:
                    record["members"] = members + [dict((k, v) for k, v in member.items()
                                                        if v != "" or k == "username")]
            elif call[0] == "remove_member":
                if record.get("members"):
                    record["members"] = [m for m in record["members"] if m["username"].lower() != call[2].lower()]
        return document


def _read(member, key):
    """A member field as the store reads it: absent, null and "" are "", an absent state is pending."""
    value = member.get(key)
    return ("pending" if key == "state" else "") if value in (None, "") else value


def plain(document):
    """Differences loading ignores: an empty list of groups or members is [], null or absent."""
    document = dict(document)
    if not document.get("groups"):
        document.pop("groups", None)
    groups = []
    for group in document.get("groups") or []:
        group = dict(group)
        if not group.get("members"):
            group.pop("members", None)
        groups.append(group)
    if groups:
        document["groups"] = groups
    return document


def load_plain(text, name):
    text = text[1:] if text.startswith(BOM) else text
    if name.endswith(".json"):
        return json.loads(text)
    return yaml.load(text, Loader=LOADER)  # nosec B506 - PyYAML's own safe loader, not the store's


def record_lines(text, uuids):
    """Line numbers (0-based) that the records of ``uuids`` own in a YAML text: their own lines, the
    comment lines just above them, and, in a flow list, the line before (its comma may move)."""
    text = text[1:] if text.startswith(BOM) else text
    root = yaml.compose(text, Loader=LOADER)
    owned = set()
    groups = next((v for k, v in root.value if k.value == "groups"), None)
    if groups is None and root.flow_style and root.value:
        # No list yet in a JSON (flow) document: the new last key follows the last value, on its line.
        return {root.value[-1][1].end_mark.line, root.end_mark.line}
    if groups is not None and (not groups.value or groups.tag.endswith(":null")):
        # An empty list ([], null or nothing) is rewritten as a whole.
        return set(range(groups.start_mark.line, groups.end_mark.line + 1))
    if not isinstance(groups, yaml.SequenceNode):
        return owned
    lines = text.splitlines()
    for item in groups.value:
        uuid_node = next((v for k, v in item.value if k.value == "uuid"), None)
        if uuid_node is None or _uuid(uuid_node.value) not in uuids:
            continue
        first = item.start_mark.line
        while first > 0 and (lines[first - 1].strip() in ("-", "") or lines[first - 1].lstrip().startswith("#")):
            first -= 1
        last = item.end_mark.line
        owned.update(range(max(first - 1, 0), last + 1))
    if groups.flow_style and groups.value:
        # A new item after the last one in a flow list puts a comma on the last one's line.
        owned.add(groups.value[-1].end_mark.line)
        # A flow list whose last item goes becomes "[]", its closing bracket included.
        owned.add(groups.end_mark.line)
    return owned


def comment_tags(text):
    return [m.group(1) for m in COMMENT.finditer(text)]


def check_write(write_file, text, change, name="store.yml", owners=None):
    """Apply ``change`` to a store file holding ``text``; assert everything the writer promises.

    ``owners`` maps a comment tag (``# c12``) to the uuid of the record it belongs to.
    Returns the new text.
    """
    path = write_file(name, text.encode("utf-8"))
    before = load_plain(text, name)
    _result, changed = Store(path).update(change.mutate)
    with open(path, "rb") as stream:
        new = stream.read().decode("utf-8")
    expected = change.expected(before)
    assert plain(load_plain(new, name)) == plain(expected), "the file does not read back as the change"
    assert changed or new == text
    Store(path).load()    # and the store's own loader takes it
    assert new.startswith(BOM) == text.startswith(BOM), "the byte-order mark was lost or added"
    if "\r\n" in text:
        assert "\n" not in new.replace("\r\n", ""), "a line end other than CRLF was written"
    # Every line outside the changed records is byte-identical (a last line may gain its line end): JSON is
    # YAML to libyaml, so its node positions name the records' lines in a JSON text too.
    owned = record_lines(text, change.touched())
    old_lines, new_lines = text.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    outside = []
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            outside += [line for line in range(i1, i2) if line not in owned
                        and not old_lines[line].lstrip(BOM).lstrip().startswith(("groups:", '"groups"'))]
    if outside:
        # A diff aligns repeated lines ("    {", "    },") one way of several: a removed record may be shown as
        # taking its neighbour's brace. The promise holds when the lines outside the changed records are all
        # still there, in their order.
        rest = iter(new_lines)
        for line, old_line in enumerate(old_lines):
            if line in owned or old_line.lstrip(BOM).lstrip().startswith(("groups:", '"groups"')):
                continue
            assert any(candidate == old_line for candidate in rest), (
                "line %d changed outside the changed records: %r" % (outside[0] + 1, old_lines[outside[0]]))
    # Every comment survives, once; a removed record's own comments may go with it.
    gone = change.removed()
    new_tags = comment_tags(new)
    for tag in comment_tags(text):
        owner = (owners or {}).get(tag)
        if owner in gone or (isinstance(owner, tuple) and owner[0] in gone):
            assert new_tags.count(tag) <= 1
        else:
            assert new_tags.count(tag) == 1, "comment %s lost or repeated" % tag
    return new
