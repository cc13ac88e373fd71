# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The store's YAML text writer: only the touched group records change, as text.

libyaml gives every node's position; a changed value is replaced where it stands,
a new key, record or member is inserted in the style of its neighbours (block or
flow), a removed one loses exactly its own text. Every other byte of the file,
comments, quoting, indentation, markers and line ends included, stays as it was.
The caller reads the result back before writing it (``_store.Store._check_written``).
This module knows nothing of the store's schema beyond "groups", "uuid" and "members".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re
import uuid as uuidlib

try:
    import yaml
except ImportError:
    yaml = None


class _Mark(object):
    """A text position, as a node's end mark gives it."""

    def __init__(self, index, column):
        self.index = index
        self.column = column


class Unpatchable(Exception):
    """A change the text writer cannot make without changing something else too."""

    def __init__(self, position, problem):
        super(Unpatchable, self).__init__(problem)
        self.position = position
        self.problem = problem


# Characters a YAML reader refuses even inside double quotes, or reads as line breaks (NEL, LS, PS: a
# double-quoted scalar folds them into a space), so they are written as escapes. json.dumps escapes CR and LF.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
# A plain scalar may not start with an indicator (@ and ` are reserved), nor hold ": ", " #", or flow characters.
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./+(][A-Za-z0-9 _./@+()-]*$")
_JSON_VERBATIM = re.compile(r'[ !#-\[\]-~]*\Z')
# PyYAML's own implicit resolver: a plain scalar is written only when it reads back as a string.
_RESOLVER = yaml.resolver.Resolver() if yaml is not None else None
_COMMENT_LINE = re.compile(r"[ \t]*#")


def render_scalar(value, style=None):
    """One scalar as YAML text that PyYAML reads back as exactly ``value`` (block or flow context).

    ``style`` is the original's (None: plain, "'" or '"'), kept where it can be.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, datetime.datetime):
        value = value.isoformat()
    text = str(value)
    if style != '"' and text and _PLAIN_SAFE.match(text) and not text.endswith(" ") and \
            _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str":
        return "'%s'" % text if style == "'" else text
    if style == "'" and text and "\n" not in text and not _YAML_UNSAFE.search(text) and text.isprintable():
        return "'%s'" % text.replace("'", "''")
    if _JSON_VERBATIM.match(text):
        return '"%s"' % text     # what json.dumps gives for printable ASCII without '"' or backslash
    quoted = json.dumps(text, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: "\\u%04x" % ord(m.group(0)), quoted)


def flow_map(record):
    return "{%s}" % ", ".join("%s: %s" % (k, flow_value(v)) for k, v in record.items())


def flow_value(value):
    if isinstance(value, dict):
        return flow_map(value)
    if isinstance(value, list):
        return "[%s]" % ", ".join(flow_value(v) for v in value)
    return render_scalar(value)


def _uuid_key(value):
    try:
        return str(uuidlib.UUID(str(value).strip()))
    except ValueError:
        return value


def _same(before, after):
    if isinstance(before, datetime.datetime) or isinstance(after, datetime.datetime):
        return str(render_scalar(before)).strip('"') == str(render_scalar(after)).strip('"')
    return before == after


def _is_mapping(node):
    return isinstance(node, yaml.MappingNode)


def _is_sequence(node):
    return isinstance(node, yaml.SequenceNode)


def _mapping_pair(node, key):
    """(index, key node, value node) of ``key`` in a mapping node, or None."""
    if _is_mapping(node):
        for index, (key_node, value_node) in enumerate(node.value):
            if key_node.value == key:
                return index, key_node, value_node
    return None


def _shared_nodes(root):
    """ids of the nodes reached more than once: an anchored node and its aliases are one node."""
    seen, shared, stack = set(), set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if _is_mapping(node):
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))
        elif _is_sequence(node):
            stack.extend(node.value)
    return shared


def _reaches(node, shared):
    stack = [node]
    while stack:
        node = stack.pop()
        if id(node) in shared:
            return True
        if _is_mapping(node):
            stack.extend(value for pair in node.value for value in pair)
        elif _is_sequence(node):
            stack.extend(node.value)
    return False


def _plain_members(members_node):
    """The members as they are written, by lower-case username (plain scalar values)."""
    result = {}
    for item in members_node.value if _is_sequence(members_node) else ():
        if _is_mapping(item):
            record = dict((k.value, None if v.tag.endswith(":null") else v.value) for k, v in item.value
                          if isinstance(v, yaml.ScalarNode))
            result[str(record.get("username", "")).lower()] = record
    return result


class _YamlText(object):
    """Rewrites only the touched group records of a YAML store, as text (see the module's docstring)."""

    def __init__(self, text):
        self.text = text
        self.patches = []
        # Line ends of inserted text follow the file's own (CRLF stays CRLF).
        first = text.find("\n")
        self.newline = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"
        self.offset = 2   # where a list's dash stands, relative to its key (the file's own habit)
        self.shared = ()  # ids of the nodes that an alias reaches too
        self.deleted = set()  # ids of the flow entries (items, keys) this write removes
        self.position = None

    # ------------------------------------------------------------- entry

    def render(self, document, editor, root=None):
        """The new text; ``root`` is the node tree of ``self.text`` when the caller has it already."""
        if root is None:
            root = yaml.compose(self.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        found = _mapping_pair(root, "groups")
        groups_node = found[2] if found else None
        final = dict((_uuid_key(g.get("uuid")), g) for g in document.get("groups") or [] if isinstance(g, dict))
        new_records = [final[u] for u, original in editor.originals.items() if original is None]
        items = list(groups_node.value) if _is_sequence(groups_node) else []
        self._learn_offset(root, groups_node)
        if not items:
            if new_records:
                self._write_list(root, "groups", found, new_records)
            return self._apply()
        nodes, positions = {}, {}
        for position, item in enumerate(items):
            uuid_node = _mapping_pair(item, "uuid")
            if uuid_node is not None:
                nodes[_uuid_key(uuid_node[2].value)] = item
                positions[_uuid_key(uuid_node[2].value)] = position
        # No anchor (&), no alias: the walk over the whole tree is only needed when the text has one.
        self.shared = _shared_nodes(root) if "&" in self.text else ()
        for group_uuid, original in editor.originals.items():
            if original is not None and group_uuid in nodes:
                self.position = positions[group_uuid]
                self._guard(nodes[group_uuid])
                self._patch_mapping(nodes[group_uuid], original, final[group_uuid])
        removed = [nodes[u] for u in editor.removed if u in nodes]
        for group_uuid in editor.removed:
            if group_uuid in nodes:
                self.position = positions[group_uuid]
                self._guard_anchors_inside(nodes[group_uuid])
                self._delete_item(groups_node, nodes[group_uuid])
        if new_records:
            self._append_items(groups_node, new_records)
        return self._apply()

    # ------------------------------------------------- anchors and aliases

    def _guard(self, node):
        """A node reached through an alias too is one text for several places: it is never patched."""
        if id(node) in self.shared:
            raise Unpatchable(self.position, "this group shares YAML anchors or aliases (& and *) with another "
                              "part of the store, so changing it would change that too; write it out in full, "
                              "without them (the file is unchanged)")

    def _alias(self, key_node, value_node):
        """(start, end) of an alias (``*name``) written as this key's value, or None.

        The node tree knows no alias positions (an alias is its anchor's node), but the text does:
        the value of a key starts after its colon."""
        if id(value_node) not in self.shared:
            return None
        index = self._skip_space_and_comments(key_node.end_mark.index)
        if not self.text.startswith(":", index):
            return None
        index = self._skip_space_and_comments(index + 1)
        match = re.compile(r"\*[^\s,\[\]{}]+").match(self.text, index)
        return (match.start(), match.end()) if match else None

    def _end(self, node):
        """Where a node's own text ends. A block collection's end mark lies at the next token (past
        any comments), so the last value's end is taken instead; an alias ends where its name ends."""
        while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
            if _is_mapping(node):
                key_node, value_node = node.value[-1]
                alias = self._alias(key_node, value_node)
                if alias is not None:
                    return _Mark(alias[1], 1)
                node = value_node
            else:
                item = node.value[-1]
                if id(item) in self.shared:
                    match = re.compile(r"-\s*(\*[^\s,\[\]{}]+)").match(self.text, self._dash(node, item))
                    if match:
                        return _Mark(match.end(), 1)
                node = item
        return node.end_mark

    def _guard_anchors_inside(self, item):
        """A removed record may use aliases, but not define an anchor that another place uses."""
        if not _reaches(item, self.shared):
            return
        start, end = item.start_mark.index, self._end(item).index
        stack = [item]
        while stack:
            node = stack.pop()
            if id(node) in self.shared and start <= node.start_mark.index < end:
                self._guard(node)
            if _is_mapping(node):
                stack.extend(value for pair in node.value for value in pair)
            elif _is_sequence(node):
                stack.extend(node.value)

    # --------------------------------------------------- text positions

    def _patch(self, start, end, replacement):
        self.patches.append((start, end, replacement, len(self.patches)))

    def _insert(self, at, text):
        self._patch(at, at, text)

    def _insert_lines(self, at, text):
        """Whole lines at a line start (the end of a file without a final line end gets one first)."""
        if at >= len(self.text) and self.text and not self.text.endswith("\n"):
            text = "\n" + text
        self._insert(at, text)

    def _apply(self):
        # One pass over the text; patches in order of place, then of creation.
        pieces, position = [], 0
        for start, end, replacement, _order in sorted(self.patches, key=lambda p: (p[0], p[3])):
            if start > position:
                pieces.append(self.text[position:start])
            if self.newline != "\n":
                replacement = replacement.replace("\n", self.newline)
            pieces.append(replacement)
            position = max(position, end)
        pieces.append(self.text[position:])
        return "".join(pieces)

    def _line_start(self, index):
        return self.text.rfind("\n", 0, index) + 1

    def _next_line(self, index):
        """The start of the line after the one holding ``index`` (the text's end on the last line)."""
        newline = self.text.find("\n", index)
        return len(self.text) if newline < 0 else newline + 1

    def _line_end(self, mark):
        """The index just after the line on which ``mark`` (an end mark) lies, its comment included."""
        if mark.column == 0 and mark.index > 0:
            return mark.index
        return self._next_line(mark.index)

    def _eol(self, index):
        """The index of the line end (before CR LF) of the line holding ``index``."""
        end = self.text.find("\n", index)
        end = len(self.text) if end < 0 else end
        return end - 1 if end > 0 and self.text[end - 1] == "\r" else end

    def _only_space_before(self, index):
        return not self.text[self._line_start(index):index].strip()

    def _skip_space_and_comments(self, index):
        """The index of the next token at or after ``index``: whitespace and comments skipped."""
        text = self.text
        while index < len(text):
            char = text[index]
            if char in " \t\r\n":
                index += 1
            elif char == "#":
                index = self._next_line(index)
            else:
                break
        return index

    def _indent(self, index):
        line = self.text[self._line_start(index):index]
        return len(line) - len(line.lstrip(" "))

    def _comment_lines_after(self, index, deeper_than):
        """The end of the comment lines from ``index`` (a line start) indented deeper than a column."""
        while index < len(self.text):
            end = self._next_line(index)
            line = self.text[index:end]
            if not _COMMENT_LINE.match(line) or len(line) - len(line.lstrip(" ")) <= deeper_than:
                break
            index = end
        return index

    def _dash(self, sequence, item):
        """The index of a block sequence item's dash."""
        position = sequence.value.index(item)
        if position == 0:
            return sequence.start_mark.index
        index = self._skip_space_and_comments(self._end(sequence.value[position - 1]).index)
        return index if self.text.startswith("-", index) else self._line_start(item.start_mark.index)

    def _learn_offset(self, root, groups_node):
        """The file's dash offset: where the dash of a list under a key stands, relative to the key."""
        for node in (groups_node, (_mapping_pair(root, "offerings") or (None, None, None))[2]):
            if _is_sequence(node) and node.value and not node.flow_style and _is_mapping(root) \
                    and not root.flow_style and root.value:
                key_column = root.value[0][0].start_mark.column
                self.offset = max(self._indent(self._dash(node, node.value[0])) - key_column, 0)
                return

    # ------------------------------------------------------------ values

    def _replace_scalar(self, node, value):
        start, end = node.start_mark.index, node.end_mark.index
        if start == end:
            # An empty value ("key:" and nothing after it): the new one follows the colon.
            self._patch(start, end, " " + render_scalar(value))
        elif node.style in ("|", ">"):
            # A block scalar spans its lines: the new value takes its header's place, with its comment.
            header_end = self._eol(start)
            comment = re.search(r"\s#.*$", self.text[start:header_end])
            ending = "\n" if self.text[end - 1:end] == "\n" else ""
            self._patch(start, end, render_scalar(value) + (comment.group(0) if comment else "") + ending)
        else:
            self._patch(start, end, render_scalar(value, node.style))

    # ---------------------------------------------------------- mappings

    def _patch_mapping(self, node, before, after):
        """Change a record (group or member) from ``before`` to ``after`` (plain dicts)."""
        if not _is_mapping(node):
            raise Unpatchable(None, "a record is not a mapping")
        added = []
        for key, value in after.items():
            if key == "members" or (key in before and _same(before[key], value)):
                continue
            found = _mapping_pair(node, key)
            alias = self._alias(found[1], found[2]) if found is not None else None
            if alias is not None:
                # An alias in this record: the value is written out here; the anchor stays as it is.
                self._patch(alias[0], alias[1], render_scalar(value))
                continue
            if found is not None:
                self._guard(found[2])
            if found is not None and isinstance(found[2], yaml.ScalarNode):
                self._replace_scalar(found[2], value)
            elif found is not None:
                self._delete_pair(node, found[0])
                added.append((key, value))
            else:
                added.append((key, value))
        for index, (key_node, value_node) in enumerate(node.value):
            if key_node.value not in after and key_node.value in before:
                if self._alias(key_node, value_node) is None:
                    self._guard(value_node)
                self._delete_pair(node, index)
        if added:
            self._add_pairs(node, added)
        before_members = before.get("members") or []
        after_members = after.get("members") or []
        if before_members != after_members:
            found = _mapping_pair(node, "members")
            members_node = found[2] if found else None
            members = [m for m in after_members if isinstance(m, dict)]
            alias = self._alias(found[1], members_node) if found is not None else None
            if alias is not None:
                self._patch(alias[0], alias[1], "[%s]" % ", ".join(flow_map(m) for m in members))
                return
            if members_node is not None:
                self._guard(members_node)
            if _is_sequence(members_node) and members_node.value:
                self._patch_members(members_node, before_members, members)
            elif members:
                self._write_list(node, "members", found, members)

    def _delete_pair(self, node, index):
        key_node, value_node = node.value[index]
        alias = self._alias(key_node, value_node)
        value_end = self._end(value_node) if alias is None else _Mark(alias[1], 1)
        if node.flow_style:
            self._delete_flow_entry(node, index, key_node.start_mark.index, value_end.index)
            return
        if self._only_space_before(key_node.start_mark.index):
            start, end = self._line_start(key_node.start_mark.index), self._line_end(value_end)
            # A comment on the key's line outlives the key, on a line of its own.
            comment = re.search(r"#.*", self.text[value_end.index:self._eol(value_end.index)])
            self._patch(start, end, "%s%s\n" % (" " * key_node.start_mark.column, comment.group(0)) if comment else "")
        else:
            # The first key on its dash line ("- key: v"): the next key moves up onto the dash line.
            self._patch(key_node.start_mark.index, node.value[index + 1][0].start_mark.index, "")

    def _add_pairs(self, node, pairs):
        if node.flow_style:
            text = ", ".join("%s: %s" % (k, flow_value(v)) for k, v in pairs)
            self._add_flow_entry(node, text)
            return
        key_column = node.value[0][0].start_mark.column
        lines = "".join("%s%s: %s\n" % (" " * key_column, k, render_scalar(v)) for k, v in pairs)
        found = _mapping_pair(node, "members")
        if found is not None and self._only_space_before(found[1].start_mark.index):
            # New keys go before the members list, as a new record would have them.
            self._insert_lines(self._line_start(found[1].start_mark.index), lines)
        else:
            self._insert_lines(self._block_end(node), lines)

    def _block_end(self, node):
        """Just after a block node's own lines, its trailing comment lines included."""
        end = self._line_end(self._end(node))
        return self._comment_lines_after(end, node.start_mark.column - 1) if end < len(self.text) else end

    # ------------------------------------------------------- collections

    def _delete_flow_entry(self, collection, index, start, end):
        """Remove a flow entry (``key: value`` or an item) with one of its commas; comments stay."""
        entries = collection.value
        entry = entries[index]
        self.deleted.add(id(entry[0] if isinstance(entry, tuple) else entry))
        comma = self._skip_space_and_comments(end)
        if self.text.startswith(",", comma):
            stop = comma + 1
            while self.text[stop:stop + 1] in (" ", "\t"):
                stop += 1
            rest = self.text[stop:self._eol(stop)].strip()
            if self._only_space_before(start) and (not rest or rest.startswith("#")):
                # The entry stood alone on its line: the line goes.
                start, stop = self._line_start(start), self._next_line(stop)
            self._patch(start, stop, "")
            return
        if index > 0:
            previous = entries[index - 1]
            previous_end = (previous[1] if isinstance(previous, tuple) else previous).end_mark.index
            before = self._skip_space_and_comments(previous_end)
            if self.text.startswith(",", before):
                self._patch(before, before + 1, "")
        if self._only_space_before(start) and not self.text[end:self._eol(end)].strip():
            start, end = self._line_start(start), self._eol(end)
            if self.text[end:self._next_line(end)].strip() == "":
                end = self._next_line(end)
        self._patch(start, end, "")

    def _add_flow_entry(self, collection, text):
        """Append an entry to a flow collection, on a line of its own when its entries stand so."""
        # After the last entry that stays (one removed in the same write is no place to stand on).
        entries = [e for e in collection.value if id(e[0] if isinstance(e, tuple) else e) not in self.deleted]
        if not entries:
            self._insert(collection.start_mark.index + 1, text)
            return
        last = entries[-1][1] if _is_mapping(collection) else entries[-1]
        first_start = entries[0][0].start_mark.index if _is_mapping(collection) else entries[0].start_mark.index
        last_start = entries[-1][0].start_mark.index if _is_mapping(collection) else last.start_mark.index
        end = last.end_mark.index
        one_per_line = self._only_space_before(last_start) and self._only_space_before(first_start)
        after = self._skip_space_and_comments(end)
        if not one_per_line:
            self._insert(end, ", " + text)
        elif self.text.startswith(",", after):
            # A trailing comma: the new entry goes on the next line, with its own.
            rest = self.text[after + 1:self._eol(after + 1)].strip()
            if not rest or rest.startswith("#"):
                self._insert(self._next_line(after), " " * self._indent(last_start) + text + ",\n")
            else:
                self._insert(after + 1, " " + text + ",")
        else:
            indent = " " * self._indent(last_start)
            rest = self.text[end:self._eol(end)].strip()
            if not rest or rest.startswith("#"):
                self._insert(end, ",")
                self._insert(self._eol(end), "\n" + indent + text)
            else:
                self._insert(end, ",\n" + indent + text)

    def _delete_item(self, sequence, item):
        """Remove a list item's text, and the comment lines at its dash's column just above it
        (they introduce it); comment lines indented deeper belong to the item above and stay."""
        if sequence.flow_style:
            self._delete_flow_entry(sequence, sequence.value.index(item), item.start_mark.index, item.end_mark.index)
            return
        dash = self._dash(sequence, item)
        column = self._indent(dash)
        start = self._line_start(dash)
        while start > 0:
            previous = self._line_start(start - 1)
            line = self.text[previous:start]
            if not _COMMENT_LINE.match(line) or len(line) - len(line.lstrip(" ")) != column:
                break
            start = previous
        end = self._line_end(self._end(item))
        end = self._comment_lines_after(end, column) if end < len(self.text) else end
        self._patch(start, end, "")

    def _append_items(self, sequence, records):
        """New items after the last one, in the style of the last one."""
        last = sequence.value[-1]
        if sequence.flow_style:
            for record in records:
                self._add_flow_entry(sequence, flow_map(record))
            return
        dash = self._dash(sequence, last)
        dash_column = self._indent(dash)
        alone = last.start_mark.line != self.text.count("\n", 0, dash)
        key_column = last.start_mark.column if _is_mapping(last) and not last.flow_style else dash_column + 2
        if alone or key_column <= dash_column + 1:
            alone, key_column = True, max(key_column, dash_column + 1)
        flow = _is_mapping(last) and last.flow_style
        text = "".join(self._item_text(r, dash_column, key_column, alone, flow) for r in records)
        self._insert_lines(self._block_end(last), text)

    def _item_text(self, record, dash_column, key_column, alone=False, flow=False):
        if flow:
            return "%s- %s\n" % (" " * dash_column, flow_map(record))
        lines = ["%s: %s" % (k, render_scalar(v)) for k, v in record.items() if k != "members"]
        pad = " " * key_column
        if alone:
            text = "%s-\n" % (" " * dash_column) + "".join("%s%s\n" % (pad, line) for line in lines)
        else:
            text = "%s-%s%s\n" % (" " * dash_column, " " * (key_column - dash_column - 1), lines[0]) + \
                "".join("%s%s\n" % (pad, line) for line in lines[1:])
        members = [m for m in record.get("members") or [] if isinstance(m, dict)]
        if members:
            text += "%smembers:\n" % pad
            text += "".join("%s- %s\n" % (" " * (key_column + self.offset), flow_map(m)) for m in members)
        return text

    def _write_list(self, parent, key, found, records):
        """The first items of a list that is empty ([], null, nothing) or absent, under ``parent``."""
        value_node = found[2] if found else None
        if parent.flow_style:
            text = "[%s]" % ", ".join(flow_map(r) for r in records)
            if value_node is None:
                self._add_flow_entry(parent, "%s: %s" % (key, text))
            elif _is_sequence(value_node):
                self._insert(value_node.start_mark.index + 1, ", ".join(flow_map(r) for r in records))
            else:
                self._replace_value(value_node, text)
            return
        key_column = parent.value[0][0].start_mark.column if parent.value else 0
        dash_column = key_column + self.offset
        body = "".join(self._item_text(r, dash_column, dash_column + 2) if key == "groups" else
                       "%s- %s\n" % (" " * dash_column, flow_map(r)) for r in records)
        if value_node is None:
            at = self._document_end(parent) if key == "groups" else self._block_end(parent)
            self._insert_lines(at, "%s%s:\n%s" % (" " * key_column, key, body))
            return
        if _is_sequence(value_node) and "#" in self.text[value_node.start_mark.index:value_node.end_mark.index]:
            # An empty flow list that holds comments: the items go inside it, the comments stay.
            self._insert(value_node.start_mark.index + 1, ", ".join(flow_map(r) for r in records))
            return
        # "key: []", "key: ~" or "key:": the value goes, the key line keeps its comment, the list follows.
        start, end = value_node.start_mark.index, value_node.end_mark.index
        if end > start:
            while start > 0 and self.text[start - 1] in " \t":
                start -= 1
            self._patch(start, end, "")
        self._insert_lines(self._next_line(found[1].start_mark.index if end == start else end), body)

    def _replace_value(self, node, text):
        start, end = node.start_mark.index, node.end_mark.index
        self._patch(start, end, (" " if start == end else "") + text)

    def _document_end(self, root):
        """Where a new top-level key goes: after the document's text, before a '...' end marker."""
        index = self._line_end(self._end(root))
        while index < len(self.text):
            end = self._next_line(index)
            if re.match(r"\.\.\.(\s|$)", self.text[index:end]):
                return index
            index = end
        return len(self.text)

    def _patch_members(self, members_node, before_members, members):
        existing = {}
        for item in members_node.value:
            username = _mapping_pair(item, "username")
            if username is not None:
                existing[str(username[2].value).lower()] = item
        after_by_name = dict((str(m.get("username", "")).lower(), m) for m in members)
        before_by_name = dict((str(m.get("username", "")).lower(), m) for m in before_members if isinstance(m, dict))
        written = _plain_members(members_node)
        for name, item in existing.items():
            if name not in after_by_name:
                self._guard(item)
                self._guard_anchors_inside(item)
                self._delete_item(members_node, item)
            elif (before_by_name.get(name) or written.get(name)) != after_by_name[name]:
                self._guard(item)
                self._patch_mapping(item, before_by_name.get(name) or written.get(name) or {}, after_by_name[name])
        added = [m for name, m in after_by_name.items() if name not in existing]
        if not added:
            return
        if members_node.flow_style:
            for member in added:
                self._add_flow_entry(members_node, flow_map(member))
            return
        last = members_node.value[-1]
        column = self._indent(self._dash(members_node, last))
        if _is_mapping(last) and not last.flow_style:
            text = "".join(self._item_text(m, column, last.start_mark.column) for m in added)
        else:
            text = "".join("%s- %s\n" % (" " * column, flow_map(m)) for m in added)
        self._insert_lines(self._block_end(last), text)


# ------------------------------------------------------------------ JSON

_JSON_SPACE = " \t\n\r"
# Raw, these are fine in JSON but line breaks to a YAML reader (the drift role reads the store with from_yaml).
_JSON_RAW_BREAKS = re.compile("[\x85\u2028\u2029]")


class _JsonNode(object):
    """A JSON value's span in the text and its value; ``items``: (key, node) pairs of the document's
    object, nodes of the groups list."""

    def __init__(self, start, end, value, items=None):
        self.start, self.end, self.value, self.items = start, end, value, items


def _json_nodes(text):
    """The span tree of a JSON store (which json.loads has accepted already): the document's keys, and
    the items of its "groups" list. Values are decoded by the json module's own scanner (C speed)."""
    decoder = json.JSONDecoder()

    def space(i):
        while i < len(text) and text[i] in _JSON_SPACE:
            i += 1
        return i

    def entries(i, close, keyed):
        """(key, node) or node of each entry of the object or list whose first character is at ``i``."""
        result = []
        i = space(i + 1)
        while text[i] != close:
            key = None
            if keyed:
                key, i = json.decoder.scanstring(text, i + 1)
                i = space(space(i) + 1)    # past the colon
            value, end = decoder.raw_decode(text, i)
            node = _JsonNode(i, end, value)
            result.append((key, node) if keyed else node)
            i = space(end)
            if text[i] == ",":
                i = space(i + 1)
        return result, i + 1

    start = space(0)
    if text[start] != "{":
        value, end = decoder.raw_decode(text, start)
        return _JsonNode(start, end, value, [])
    items, end = entries(start, "}", True)
    for key, node in items:
        if key == "groups" and isinstance(node.value, list):
            node.items = entries(node.start, "]", False)[0]
    return _JsonNode(start, end, None, items)


class _JsonText(object):
    """Rewrites only the touched group records of a JSON store, as text: every other byte (a hand-written
    one-line object, escapes such as \\/ or \\u00E4, the layout) stays as it was."""

    def __init__(self, text):
        self.text = text
        body = text.rstrip()
        self.indent = None
        if "\n" in body:
            match = re.search(r"^([ \t]+)\S", text, re.MULTILINE)
            self.indent = match.group(1) if match else "  "
        self.comma = "," if self.indent is not None or (re.search(r",\S", body) and not re.search(r",\s", body)) \
            else ", "
        self.colon = ":" if re.search(r'":\S', body) and not re.search(r'":\s', body) else ": "
        self.ascii_only = all(ord(c) < 128 for c in text)
        self.newline = "\r\n" if "\r\n" in text else "\n"

    def _dumps(self, value, prefix, one_line):
        """``value`` as JSON in the file's style, its lines after the first indented by ``prefix``."""
        if one_line or self.indent is None:
            separators = (self.comma if self.indent is None else ", ", self.colon)
            text = json.dumps(value, separators=separators, ensure_ascii=self.ascii_only)
        else:
            text = json.dumps(value, indent=self.indent, separators=(",", self.colon), ensure_ascii=self.ascii_only)
            text = text.replace("\n", self.newline + prefix)
        return _JSON_RAW_BREAKS.sub(lambda m: "\\u%04x" % ord(m.group(0)), text)

    def _prefix(self, index):
        """The whitespace that starts the line holding ``index``."""
        line_start = self.text.rfind("\n", 0, index) + 1
        line = self.text[line_start:index]
        return line[:len(line) - len(line.lstrip(" \t"))]

    def render(self, document, editor):
        root = _json_nodes(self.text)
        final = dict((_uuid_key(g.get("uuid")), g) for g in document.get("groups") or [] if isinstance(g, dict))
        new_records = [final[u] for u, original in editor.originals.items() if original is None]
        groups = next((node for key, node in root.items if key == "groups"), None)
        if groups is not None and groups.items:
            return self._patch_array(groups, final, editor, new_records)
        if not new_records:
            return self.text    # nothing to write where there is no list
        if groups is not None:
            # "groups": [] or null: the list takes the value's place.
            return self.text[:groups.start] + self._new_array(new_records, self._prefix(groups.start)) + \
                self.text[groups.end:]
        # No "groups" yet: a new last key of the document.
        last = root.items[-1][1] if root.items else None
        key_prefix = self._prefix(last.start) if last is not None else ""
        if last is None:
            at, lead = root.start + 1, ""
        else:
            at = last.end
            lead = self.comma if self.indent is None else "," + self.newline + key_prefix
        return self.text[:at] + lead + '"groups"' + self.colon + self._new_array(new_records, key_prefix) + \
            self.text[at:]

    def _new_array(self, records, key_prefix):
        if self.indent is None:
            return "[%s]" % self.comma.join(self._dumps(r, "", False) for r in records)
        prefix = key_prefix + self.indent
        return "[" + self.newline + prefix + ("," + self.newline + prefix).join(
            self._dumps(r, prefix, False) for r in records) + self.newline + key_prefix + "]"

    def _patch_array(self, groups, final, editor, new_records):
        items = groups.items
        # Separators as written after each item but the last (",\n    " or ", " or ",").
        separators = [self.text[a.end:b.start] for a, b in zip(items, items[1:])]
        default = separators[-1] if separators else (
            self.comma if self.indent is None else "," + self.newline + self._prefix(items[0].start))
        pieces = []   # (text, separator written after it in the original or None)
        for position, item in enumerate(items):
            group_uuid = _uuid_key(item.value.get("uuid")) if isinstance(item.value, dict) else None
            after = separators[position] if position < len(separators) else None
            text = self.text[item.start:item.end]
            if group_uuid in editor.removed:
                continue
            if group_uuid in editor.originals and editor.originals[group_uuid] is not None and group_uuid in final:
                text = self._dumps(final[group_uuid], self._prefix(item.start), "\n" not in text)
            pieces.append((text, after))
        last_item = items[-1]
        style_one_line = "\n" not in self.text[last_item.start:last_item.end]
        prefix = self._prefix(last_item.start)
        for record in new_records:
            pieces.append((self._dumps(record, prefix, style_one_line), None))
        if not pieces:
            return self.text[:groups.start] + "[]" + self.text[groups.end:]
        out = []
        for position, (text, after) in enumerate(pieces):
            out.append(text)
            if position < len(pieces) - 1:
                out.append(after if after is not None else default)
        return self.text[:items[0].start] + "".join(out) + self.text[last_item.end:]
