# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The declared store: offerings, their roles and resources, and offering groups.

A YAML or JSON file (by extension) that people keep in Git. Reading is fast
(libyaml when present) and validates everything, reporting the file, line and
place in the document in one line. Writing happens under an exclusive lock on
the file, re-reads it first, changes only the touched records (keeping the
comments and layout of a hand-edited YAML file), and replaces the file
atomically. This module knows nothing of Keycloak.

This is the public entry point (Store: load and update; record-level editing). Each other
job has a file of its own: parsing the text in _store_yaml.py, the schema and validation in
_store_schema.py, the YAML text patcher in _store_patch.py, the file itself (reading,
locking, atomic replacement) in _store_file.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
from contextlib import contextmanager

from ansible_collections.waldur.keycloak.plugins.module_utils._store_file import FileError, check_path, locked, read_text, replace
from ansible_collections.waldur.keycloak.plugins.module_utils._store_patch import Unpatchable, _JsonText, _YamlText
from ansible_collections.waldur.keycloak.plugins.module_utils._store_schema import GROUP_KEYS, MEMBER_KEYS, Invalid, normalize_uuid, validate, where_text
from ansible_collections.waldur.keycloak.plugins.module_utils._store_yaml import (
    BOM,
    ParseError,
    document_of,
    gc_paused,
    line_of,
    parse_text,
    store_format,
)

# Optional boolean keys of a group record that the writer writes only when true.
_OMITTED_WHEN_FALSE = ("unlinked",)


class StoreError(Exception):
    """A store problem, as one line: file, place, what is wrong."""

    def __init__(self, message):
        message = " ".join(str(message).split())
        super(StoreError, self).__init__(message)
        self.message = message


class StoreWriteError(StoreError):
    """The changed store could not be written (read-only checkout, no permission, full disk): the file is unchanged."""


# ------------------------------------------------------------------ editing

class StoreEditor(object):
    """Record-level changes to the parsed document.

    It changes plain data and remembers which group records it touched, as
    they were before, so that the YAML writer rewrites only those records.
    """

    def __init__(self, document):
        self.document = document
        self.changed = False
        self.originals = {}
        self.removed = {}
        self._index = None

    def _groups(self, create=False):
        groups = self.document.get("groups")
        if not isinstance(groups, list):
            if not create:
                return []
            self.document["groups"] = groups = []
        return groups

    def _find(self, group_uuid):
        if self._index is None:
            self._index = {}
            for raw in self._groups():
                if isinstance(raw, dict):
                    self._index[normalize_uuid(raw.get("uuid"))] = raw
        return self._index.get(group_uuid)

    def _touch(self, group_uuid, raw):
        if group_uuid not in self.originals:
            self.originals[group_uuid] = copy_record(raw)
            # A member list may be a YAML alias, one object in two records: the changed record gets its own.
            if isinstance(raw.get("members"), list):
                raw["members"] = [dict(m) if isinstance(m, dict) else m for m in raw["members"]]
        self.changed = True

    def put_group(self, group_uuid, fields):
        """Create the group record or set the given fields on it; other fields stay as they are."""
        raw = self._find(group_uuid)
        if raw is None:
            fields = dict(fields, uuid=group_uuid)
            if not fields.get("unlinked", True):
                del fields["unlinked"]   # written only when true
            record = _ordered(dict((k, v) for k, v in fields.items() if k != "members"), GROUP_KEYS)
            self._groups(create=True).append(record)
            self._index[group_uuid] = record
            self.originals[group_uuid] = None
            self.changed = True
            for member in fields.get("members") or []:
                self.put_member(group_uuid, member)
            return
        for key, value in fields.items():
            if key in _OMITTED_WHEN_FALSE and not value:
                # Absent means false: the key leaves the record instead of reading "false".
                if raw.get(key):
                    self._touch(group_uuid, raw)
                    del raw[key]
            elif key != "members" and (key not in raw or raw[key] != value):
                self._touch(group_uuid, raw)
                raw[key] = value

    def remove_group(self, group_uuid):
        raw = self._find(group_uuid)
        if raw is None:
            return False
        groups = self._groups()
        for position, item in enumerate(groups):
            if item is raw:
                del groups[position]
                break
        del self._index[group_uuid]
        if self.originals.get(group_uuid, raw) is not None:
            self.removed[group_uuid] = raw
        self.originals.pop(group_uuid, None)
        self.changed = True
        return True

    def put_member(self, group_uuid, member):
        """Add the member or set the given fields of it (matched by username, case-insensitively)."""
        raw = self._find(group_uuid)
        if raw is None:
            raise KeyError(group_uuid)
        members = raw.get("members")
        wanted = member["username"].lower()
        for position, existing in enumerate(members if isinstance(members, list) else []):
            if isinstance(existing, dict) and str(existing.get("username", "")).lower() == wanted:
                for key, value in member.items():
                    # A field is changed only when it reads (validate) as another value: an absent or null
                    # email stays as written, an absent state reads as pending.
                    if key != "username" and _member_field(existing, key) != _member_field(member, key):
                        self._touch(group_uuid, raw)
                        existing = raw["members"][position]
                        existing[key] = value
                return
        self._touch(group_uuid, raw)
        if not isinstance(raw.get("members"), list):
            raw["members"] = []
        raw["members"].append(_ordered(dict((k, v) for k, v in member.items() if v != "" or k == "username"),
                                       MEMBER_KEYS))

    def remove_member(self, group_uuid, username):
        raw = self._find(group_uuid)
        members = (raw or {}).get("members") or []
        wanted = username.lower()
        for position, existing in enumerate(members):
            if isinstance(existing, dict) and str(existing.get("username", "")).lower() == wanted:
                self._touch(group_uuid, raw)
                del raw["members"][position]
                return True
        return False


def _member_field(member, key):
    """A member's field as validate() reads it: absent, null and "" are "" (state: "pending")."""
    value = member.get(key)
    if value is None or value == "":
        return "pending" if key == "state" else ""
    return value


def copy_record(raw):
    """A copy of a validated group record: plain values, and members that are flat mappings.

    Several times faster than ``copy.deepcopy`` on the planner's path, which copies every record.
    """
    record = dict(raw)
    members = record.get("members")
    if isinstance(members, list):
        record["members"] = [dict(m) if isinstance(m, dict) else copy.deepcopy(m) for m in members]
    for key, value in record.items():
        if key != "members" and isinstance(value, (dict, list)):
            record[key] = copy.deepcopy(value)
    return record


def _ordered(fields, order):
    record = {}
    for key in order:
        if key in fields:
            record[key] = fields[key]
    for key in fields:
        if key not in record:
            record[key] = fields[key]
    return record


def _comparable(document):
    """The document without the differences that loading ignores: an empty list of groups or of
    a group's members may be ``[]``, ``null`` or absent (a block list whose last item was removed
    reads as null)."""
    if not isinstance(document, dict):
        return document

    def without_empty(mapping, key):
        if key in mapping and (mapping[key] is None or mapping[key] == []):
            mapping = dict(mapping)
            del mapping[key]
        return mapping

    result = without_empty(document, "groups")
    groups = result.get("groups")
    if isinstance(groups, list):
        result = dict(result, groups=[without_empty(g, "members") if isinstance(g, dict) else g for g in groups])
    return result


class Store(object):
    """The store file at ``path``."""

    def __init__(self, path):
        if not path:
            raise StoreError("no store given: set the 'store' option or WALDUR_KEYCLOAK_STORE")
        # A symlinked store is written through the link, not replaced by a file.
        self.path = os.path.realpath(os.path.expanduser(path))
        self.display_path = path
        try:
            self.format = store_format(path)
        except ParseError as exc:
            raise StoreError(str(exc))
        # (text, node tree, data) of the last load: an update that finds the same text
        # under the lock reuses that parse instead of parsing the file a second time.
        self._last_parse = None

    def _parse_validated(self, text):
        """``(data, document, root)`` of ``text``, parsed once (``root``: the YAML node tree, or None)."""
        with gc_paused():
            document, root = self._parse(text)
            try:
                return validate(document, self.path), document, root
            except Invalid as exc:
                raise self._located(text, exc)

    def _located(self, text, exc):
        line = line_of(text, self.format, exc.where)
        at = ", line %d" % line if line else ""
        return StoreError("store %s%s, %s: %s" % (self.display_path, at, where_text(exc.where), exc.problem))

    def load(self):
        """Read and validate the store, without a lock.

        The data is a read-only view: a later ``update`` of this Store may hand the very
        same object to its mutation when the file has not changed since.
        """
        self._check_path()
        text = self._read_text()
        data, _document, root = self._parse_validated(text)
        self._last_parse = (text, root, data)
        return data

    def update(self, mutate, check_mode=False):
        """Apply ``mutate(data, editor)`` to the current store; return ``(result, changed)``.

        Under the lock the file is read afresh, so concurrent writers never lose
        each other's updates. The changed document is validated as a whole before
        anything is written; in check mode nothing is written at all, but the same
        code decides whether anything would change.
        """
        if check_mode:
            return self._update(self._read_text_checked(), mutate, write=False)
        with self._locked() as handle:
            return self._update(self._read_text(handle), mutate, write=True)

    def _read_text_checked(self):
        self._check_path()
        return self._read_text()

    def _update(self, text, mutate, write):
        # Read once: when the file under the lock is the very text that load() parsed, its
        # node tree and validated data are reused; the plain document that the editor
        # changes is built afresh from the nodes, so nothing load() returned is touched.
        last, self._last_parse = self._last_parse, None
        if last is not None and last[0] == text:
            _text, root, data = last
            with gc_paused():
                document = document_of(root) if root is not None else self._parse(text)[0]
        else:
            data, document, root = self._parse_validated(text)
        editor = StoreEditor(document)
        result = mutate(data, editor)
        if not editor.changed:
            return result, False
        # A byte-order mark stays, outside the text that is patched (node positions count from after it).
        bom = BOM if text.startswith(BOM) else ""
        body = text[len(bom):]
        with gc_paused():
            if self.format == "json":
                new_text = bom + _JsonText(body).render(document, editor)
            else:
                try:
                    new_text = bom + _YamlText(body).render(document, editor, root)
                except Unpatchable as exc:
                    raise self._located(text, Invalid(["groups"] + ([exc.position] if exc.position is not None
                                                                    else []), exc.problem))
            if new_text == text:
                return result, False
            # The old text's node tree served the render only: freed before the read-back parses a second
            # whole store (at 10,000 groups it is the largest object alive then).
            del last, root
            self._check_written(document, new_text)
        if write:
            try:
                self._replace(new_text)
            except (IOError, OSError) as exc:
                raise StoreWriteError("cannot write store %s: %s (the file is unchanged)"
                                      % (self.display_path, exc.strerror or exc))
        return result, True

    def _check_written(self, document, new_text):
        """Refuse a change that is invalid, or whose text would not read back as the change.

        The changed plain document is validated as a whole; then the text about to be
        written is parsed once, as the next run will read it, and must give the same
        offerings and groups (a writer bug can never leave a store that says something else).
        """
        try:
            validate(document, self.path)
        except Invalid as exc:
            raise StoreError("the change was not saved because it would make the store invalid: %s"
                             % self._located(new_text, exc).message)
        try:
            written = parse_text(self.display_path, new_text, self.format)[0]
        except ParseError as exc:
            raise StoreError("the change was not saved because it would make the store invalid: %s" % exc)
        if _comparable(written) != _comparable(document):
            raise StoreError("the change to store %s was not saved: its text would not read back as the change "
                             "(a bug in the writer; please report it)" % self.display_path)

    def _parse(self, text):
        """``(document, root)`` of ``text`` (_store_yaml.py; its one-line message becomes a StoreError)."""
        try:
            return parse_text(self.display_path, text, self.format)
        except ParseError as exc:
            raise StoreError(str(exc))

    # The file itself: _store_file.py (its one-line messages become StoreErrors).

    def _read_text(self, handle=None):
        try:
            return read_text(self.path, self.display_path, handle)
        except FileError as exc:
            raise StoreError(str(exc))

    def _check_path(self):
        try:
            check_path(self.path, self.display_path)
        except FileError as exc:
            raise StoreError(str(exc))

    @contextmanager
    def _locked(self):
        try:
            with locked(self.path, self.display_path) as handle:
                yield handle
        except FileError as exc:
            raise StoreError(str(exc))

    def _replace(self, text):
        replace(self.path, text)
