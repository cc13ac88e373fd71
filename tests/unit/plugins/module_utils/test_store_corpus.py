# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A generated corpus of hand-written store layouts times every kind of change a module makes.

Layouts: block and flow records and member lists (one-line and multi-line, trailing commas),
plain, quoted and block-scalar values, empty values (nothing, ~, null, ""), comments on every
kind of line, indentation variants (flush or indented dashes, wide dashes, a dash alone on its
line), '---' and '...' markers, a byte-order mark, CRLF line ends, no final line end, and an
empty, null or absent groups list. For each, store_check.check_write asserts that the write
succeeds, the file reads back (PyYAML's pure loader) as exactly the intended document, every line
outside the changed records is byte-identical, and every comment survives.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import tempfile

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.waldur.keycloak.tests.unit.fakes import O1, R1, STAMP
from ansible_collections.waldur.keycloak.tests.unit.plugins.module_utils.store_check import Change, check_write

NEW = "0d000000-0000-4000-8000-0000000000ff"
LATER = "2026-05-06T07:08:09Z"
# Values a person or a module may write: indicators, YAML 1.1 booleans and nulls, ': ', ' #', quotes, non-ASCII.
TRICKY = ["plain", "@at", "`tick", "%pct", "!bang", "&amp", "*star", "yes", "no", "null", "~", "12", "1e3",
          "a: b", "x #y", "'single'", '"double"', "- dash", "? q", "é ü ß", "{brace", "[bracket", "back\\slash",
          "two\nlines", " padded ", "tab\there", "2026-01-01", "0x1F", ".inf", "<<"]
NAMES = [v for v in TRICKY if v.strip() and "/" not in v]


class Raw(str):
    """A value written as it is (an empty value's spelling: ~, null, "")."""


def group_uuid(index):
    return "0d000000-0000-4000-8000-%012d" % (index + 1)


class Writer(object):
    """Builds a store text and remembers which record (or member) owns each comment."""

    def __init__(self, draw):
        self.draw = draw
        self.count = 0
        self.owners = {}

    def comment(self, owner=None, chance=True):
        if chance and not self.draw(st.booleans()):
            return ""
        self.count += 1
        tag = "c%d" % self.count
        if owner is not None:
            self.owners[tag] = owner
        return "  # %s" % tag

    def comment_line(self, indent, owner=None):
        text = self.comment(owner)
        return "%s%s\n" % (" " * indent, text.strip()) if text else ""


def scalar(draw, value, allow_block=True):
    """``value`` written in a drawn style (plain, quoted, or a block scalar indented by two)."""
    styles = ["double"]
    if "\n" not in value and value.isprintable():
        styles.append("single")
    if re.match(r"[a-z][a-z0-9-]*\Z", value) and yaml.safe_load(value) == value:
        styles.append("plain")
    if allow_block and value.isalnum():
        styles += ["folded", "literal"]
    style = draw(st.sampled_from(styles))
    if style == "plain":
        return value
    if style == "single":
        return "'%s'" % value.replace("'", "''")
    if style in ("folded", "literal"):
        return "%s-\n  %s" % (">" if style == "folded" else "|", value)
    return json.dumps(value)


@st.composite
def stores(draw):
    w = Writer(draw)
    offset = draw(st.sampled_from([0, 2, 4]))            # dash column of a list under its key
    wide = draw(st.sampled_from([2, 2, 4]))              # key column after the dash
    container = draw(st.sampled_from(["block", "block", "block", "flow", "empty", "null", "absent"]))
    count = draw(st.integers(min_value=1, max_value=3)) if container in ("block", "flow") else 0
    text = w.comment_line(0) if draw(st.booleans()) else ""
    if draw(st.booleans()):
        text += "---%s\n" % w.comment()
    text += "version: 1%s\n" % w.comment()
    text += "offerings:\n%s- uuid: %s\n%sname: o\n%sroles:\n%s- {uuid: %s, name: r}\n" % (
        " " * offset, O1, " " * (offset + 2), " " * (offset + 2), " " * (offset + 2 + offset), R1)
    records = []
    for index in range(count):
        uuid = group_uuid(index)
        members = [("m%d%d" % (index, j), draw(st.sampled_from(["pending", "active"])))
                   for j in range(draw(st.integers(min_value=0, max_value=2)))]
        fields = [("uuid", uuid), ("name", draw(st.sampled_from(NAMES))), ("offering", O1), ("role", R1),
                  ("scope_id", "s%d" % index)]
        backend = draw(st.sampled_from(["absent", "nothing", "~", "null", '""', "kc"]))
        if backend != "absent":
            fields.insert(2, ("backend_id", {"nothing": None, "kc": "kc-%d" % (index + 1)}.get(backend, Raw(backend))))
        if draw(st.booleans()):
            fields.append(("modified", STAMP))
        if draw(st.integers(0, 3)) == 0:
            fields.append(("unlinked", True))
        tail = fields[1:]
        fields = fields[:1] + draw(st.permutations(tail))
        records.append((uuid, fields, members))
    if container == "absent":
        pass
    elif container == "empty":
        text += "groups: []%s\n" % w.comment() if draw(st.booleans()) else "groups: [\n%s]\n" % (
            w.comment_line(2) or "")
    elif container == "null":
        text += "groups:%s%s\n" % (draw(st.sampled_from(["", " ~", " null"])), w.comment())
    elif container == "flow":
        text += "groups: [%s\n" % w.comment()
        for position, (uuid, fields, members) in enumerate(records):
            text += w.comment_line(2, uuid)
            pairs = ["%s: %s" % (k, _flow_scalar(draw, v)) for k, v in fields]
            if draw(st.booleans()):
                # A record over two lines, a comment inside it.
                pairs[1] += ",%s\n  " % (w.comment(uuid, chance=False))
                pairs = pairs[0] + ", " + pairs[1] + ", ".join(pairs[2:])
            else:
                pairs = ", ".join(pairs)
            member_text = ", ".join("{username: %s, state: %s}" % m for m in members)
            pairs += ", members: [%s]" % member_text if members or draw(st.booleans()) else ""
            comma = "," if position < len(records) - 1 or draw(st.booleans()) else ""
            text += "  {%s}%s%s\n" % (pairs, comma, w.comment(uuid))
        text += "]%s\n" % w.comment()
    else:
        text += "groups:%s\n" % w.comment()
        for uuid, fields, members in records:
            text += _block_record(draw, w, uuid, fields, members, offset, wide)
        text += w.comment_line(0)
    if draw(st.integers(0, 3)) == 0:
        text += "...%s\n" % w.comment()
    if draw(st.integers(0, 3)) == 0:
        text = text.rstrip("\n")
    if draw(st.integers(0, 3)) == 0:
        text = text.replace("\n", "\r\n")
    if draw(st.integers(0, 3)) == 0:
        text = "\ufeff" + text
    return text, records, w.owners


def _flow_scalar(draw, value):
    if value is None:
        return draw(st.sampled_from(["~", "null", "''"]))
    if isinstance(value, Raw):
        return value
    if value is True:
        return "true"
    return scalar(draw, value, allow_block=False)


def _block_record(draw, w, uuid, fields, members, offset, wide):
    dash = " " * offset
    key = " " * (offset + wide)
    text = w.comment_line(offset, uuid)
    if draw(st.integers(0, 4)) == 0:
        # The whole record in flow style.
        pairs = ", ".join("%s: %s" % (k, _flow_scalar(draw, v)) for k, v in fields)
        if members:
            pairs += ", members: [%s]" % ", ".join("{username: %s, state: %s}" % m for m in members)
        return text + "%s- {%s}%s\n" % (dash, pairs, w.comment(uuid))
    alone = draw(st.integers(0, 4)) == 0
    lines = []
    for name, value in fields:
        if value is None:
            written = ""
        elif isinstance(value, Raw):
            written = " " + value
        elif value is True:
            written = " true"
        else:
            written = " " + scalar(draw, value)
        comment = w.comment(uuid) if "\n" not in written else ""
        lines.append("%s:%s%s" % (name, written, comment))
        if draw(st.integers(0, 5)) == 0:
            lines.append(w.comment_line(0, uuid).strip() or "# c-inner")
    if members or draw(st.integers(0, 3)) == 0:
        style = draw(st.sampled_from(["flow-items", "block-items", "inline", "multiline"]))
        member_dash = " " * (offset + wide + offset)
        if not members:
            lines.append("members:%s" % draw(st.sampled_from([" []", "", " ~"])))
        elif style == "inline":
            lines.append("members: [%s]%s" % (", ".join("{username: %s, state: %s}" % m for m in members),
                                              w.comment(uuid)))
        elif style == "multiline":
            body = "".join("%s  {username: %s, state: %s},%s\n" % (key, m[0], m[1], w.comment((uuid, m[0])))
                           for m in members)
            lines.append("members: [\n%s%s]" % (body, key))
        elif style == "flow-items":
            lines.append("members:")
            lines += ["%s- {username: %s, state: %s}%s" % (member_dash[len(key):], m[0], m[1], w.comment((uuid, m[0])))
                      for m in members]
        else:
            lines.append("members:")
            for m in members:
                lines.append("%s- username: %s%s" % (member_dash[len(key):], m[0], w.comment((uuid, m[0]))))
                lines.append("%s  state: %s" % (member_dash[len(key):], m[1]))
    if alone:
        text += "%s-\n" % dash
    else:
        text += "%s-%s%s\n" % (dash, " " * (wide - 1), lines[0].replace("\n", "\n" + key))
        lines = lines[1:]
    return text + "".join("%s%s\n" % (key, line.replace("\n", "\n" + key)) for line in lines)


@st.composite
def changes(draw, records):
    """One or two of the editor calls a module makes."""
    calls = []
    kinds = ["create"]
    if records:
        kinds += ["put", "put", "remove", "add-member", "remove-member", "change-member", "put-and-create",
                  "remove-and-create", "replace-members"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("create", "put-and-create", "remove-and-create"):
        members = [{"username": "new-%d" % j, "email": "", "first_name": "", "last_name": "", "state": "pending"}
                   for j in range(draw(st.integers(0, 2)))]
        calls.append(("put_group", NEW, {"name": draw(st.sampled_from(NAMES)), "backend_id": "",
                                         "unlinked": draw(st.booleans()), "offering": O1, "role": R1,
                                         "resource": None, "scope_id": "s-new", "created": STAMP,
                                         "modified": STAMP, "members": members}))
    if not records:
        return Change(*calls)
    uuid, fields, members = draw(st.sampled_from(records))
    if kind in ("put", "put-and-create"):
        wanted = {}
        for name in draw(st.sets(st.sampled_from(["name", "backend_id", "modified", "unlinked", "scope_id"]),
                                 min_size=1)):
            wanted[name] = {"name": draw(st.sampled_from(NAMES)), "backend_id": draw(st.sampled_from(TRICKY)) + "-x",
                            "modified": LATER, "unlinked": draw(st.booleans()), "scope_id": "s-changed"}[name]
        calls.insert(0, ("put_group", uuid, wanted))
    elif kind == "remove":
        calls.append(("remove_group", uuid))
    elif kind == "remove-and-create":
        # A sync: every record goes, a new one comes.
        calls[:0] = [("remove_group", record[0]) for record in records]
    elif kind == "replace-members":
        # members_mode exact: the old members go, a new one comes.
        calls += [("remove_member", uuid, m[0]) for m in members]
        calls.append(("put_member", uuid, {"username": "replacement", "state": "pending"}))
    elif kind == "add-member":
        calls.append(("put_member", uuid, {"username": draw(st.sampled_from(["zed", "@odd", "yes", "é"])),
                                           "email": draw(st.sampled_from(["", "z@example.com"])),
                                           "first_name": "", "last_name": "", "state": "pending"}))
    elif kind == "remove-member" and members:
        calls.append(("remove_member", uuid, draw(st.sampled_from(members))[0]))
    elif kind == "change-member" and members:
        username, state = draw(st.sampled_from(members))
        calls.append(("put_member", uuid, {"username": username.upper(),
                                           "state": "active" if state == "pending" else "pending"}))
    else:
        calls.append(("put_member", uuid, {"username": "fresh", "state": "active"}))
    return Change(*calls)


@st.composite
def cases(draw):
    text, records, owners = draw(stores())
    return text, draw(changes(records)), owners


class _Files(object):
    def __init__(self):
        self.directory = tempfile.mkdtemp()

    def __call__(self, name, content):
        path = os.path.join(self.directory, name)
        with open(path, "wb") as stream:
            stream.write(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path


@settings(max_examples=int(os.environ.get("STORE_CORPUS_EXAMPLES", "1000")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None)
@given(cases())
def test_every_change_to_every_layout(case):
    text, change, owners = case
    files = _Files()
    try:
        check_write(files, text, change, owners=owners)
    finally:
        shutil.rmtree(files.directory)


# ------------------------------------------------------- JSON written by hand

def _json_string(draw, value):
    """A JSON string as a person may write it: raw or escaped non-ASCII, upper- or lower-case hex, \\/."""
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), text)
    if draw(st.booleans()):
        text = text.replace("/", "\\/")
    return text


def _json_value(draw, value, unit, prefix, newline):
    """``value`` in a drawn layout: each object or list on one line or one entry a line."""
    if isinstance(value, (dict, list)):
        pairs = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
        opening, closing = "{}" if isinstance(value, dict) else "[]"
        if not pairs:
            return opening + closing
        one_line = unit is None or draw(st.booleans())
        colon = draw(st.sampled_from([": ", ":"]))
        inner = prefix if one_line else prefix + unit
        entries = [("%s%s" % (_json_string(draw, k), colon) if k is not None else "")
                   + _json_value(draw, v, unit, inner, newline) for k, v in pairs]
        if one_line:
            return opening + draw(st.sampled_from([", ", ","])).join(entries) + closing
        return opening + newline + inner + ("," + newline + inner).join(entries) + newline + prefix + closing
    if isinstance(value, str):
        return _json_string(draw, value)
    return json.dumps(value)


@st.composite
def json_stores(draw):
    """A JSON store written by hand: a one-line "keycloak" object, \\/ and \\u00E4 escapes, members with
    "email": null or no "state", tabs or spaces, CRLF, a byte-order mark, no final line end."""
    count = draw(st.integers(min_value=0, max_value=3))
    records, groups = [], []
    for index in range(count):
        uuid = group_uuid(index)
        members = [("m%d%d" % (index, j), draw(st.sampled_from(["pending", "active", None])))
                   for j in range(draw(st.integers(min_value=0, max_value=2)))]
        record = {"uuid": uuid, "name": draw(st.sampled_from(NAMES + ["ä/ö", "a/b-ü"])).replace("/", "-"),
                  "backend_id": draw(st.sampled_from(["", "kc/%d" % index, None])), "offering": O1, "role": R1,
                  "scope_id": "s/%d" % index}
        if members:
            record["members"] = [dict([("username", name), ("email", draw(st.sampled_from([None, "", "x@ä.example"])))]
                                      + ([("state", state)] if state else [])) for name, state in members]
        records.append((uuid, record, [(name, state or "pending") for name, state in members]))
        groups.append(record)
    document = {"version": 1, "offerings": [{"uuid": O1, "name": "o/ä", "keycloak": {"url": "https://kc/x", "realm": "r"},
                                             "roles": [{"uuid": R1, "name": "r"}]}]}
    container = draw(st.sampled_from(["list", "empty", "null", "absent"])) if groups else \
        draw(st.sampled_from(["empty", "null", "absent"]))
    if container != "absent":
        document["groups"] = groups if container == "list" else ([] if container == "empty" else None)
    if container != "list":
        records = []
    unit = draw(st.sampled_from([None, "  ", "    ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = _json_value(draw, document, unit, "", newline)
    text = draw(st.sampled_from(["", "\ufeff"])) + text + draw(st.sampled_from(["", newline]))
    return text, records


@settings(max_examples=int(os.environ.get("STORE_CORPUS_EXAMPLES", "1000")) // 2, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None)
@given(st.data())
def test_every_change_to_every_hand_written_json(data):
    text, records = data.draw(json_stores())
    change = data.draw(changes([(uuid, sorted(record.items()), members) for uuid, record, members in records]))
    files = _Files()
    try:
        check_write(files, text, change, name="store.json")
    finally:
        shutil.rmtree(files.directory)
