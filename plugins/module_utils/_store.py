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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fcntl
import json
import os
import re
import tempfile
import traceback
import uuid as uuidlib
from contextlib import contextmanager
from io import StringIO

try:
    import yaml
except ImportError:
    HAS_PYYAML = False
    PYYAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PYYAML = True
    PYYAML_IMPORT_ERROR = None

try:
    from ruamel.yaml import YAML as RoundTripYAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken
except ImportError:
    HAS_RUAMEL = False
    RUAMEL_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_RUAMEL = True
    RUAMEL_IMPORT_ERROR = None


STORE_VERSION = 1
NAME_MAX_LENGTH = 150
MEMBER_STATES = ("pending", "active")
YAML_EXTENSIONS = (".yml", ".yaml")
JSON_EXTENSIONS = (".json",)

# Key order of records this module writes, so new records look like hand-written ones.
GROUP_KEYS = ("uuid", "name", "backend_id", "offering", "role", "resource", "scope_id",
              "created", "modified", "members")
MEMBER_KEYS = ("username", "email", "first_name", "last_name", "state")
SECRET_WORDS = ("password", "secret", "token")


class StoreError(Exception):
    """A store problem, as one line: file, place, what is wrong."""

    def __init__(self, message):
        message = " ".join(str(message).split())
        super(StoreError, self).__init__(message)
        self.message = message


class _Invalid(Exception):
    def __init__(self, where, problem):
        super(_Invalid, self).__init__(problem)
        self.where = where
        self.problem = problem


def normalize_uuid(value):
    """The canonical form of a UUID, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuidlib.UUID(value.strip()))
    except ValueError:
        return None


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def slugify(text):
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "offering"


# ----------------------------------------------------------------- parsing

if HAS_PYYAML:
    _FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _StoreLoader(_FastLoader):
        """libyaml parsing, plus a refusal of duplicate mapping keys (PyYAML keeps the last one silently)."""

    def _construct_mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        mapping = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                duplicate = key in mapping
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value",
                                                        key_node.start_mark)
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, "duplicate key '%s'" % key, key_node.start_mark)
            mapping[key] = loader.construct_object(value_node, deep=deep)
        return mapping

    _StoreLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key '%s'" % key)
        result[key] = value
    return result


def store_format(path):
    lower = path.lower()
    if lower.endswith(YAML_EXTENSIONS):
        return "yaml"
    if lower.endswith(JSON_EXTENSIONS):
        return "json"
    raise StoreError("store %s: the file name must end in .yml, .yaml or .json" % path)


def _parse(path, text, fmt):
    if fmt == "json":
        try:
            return json.loads(text, object_pairs_hook=_json_pairs)
        except ValueError as exc:
            raise StoreError("store %s: not valid JSON: %s" % (path, exc))
    if not HAS_PYYAML:
        raise StoreError("store %s: reading YAML needs the PyYAML Python library" % path)
    try:
        return yaml.load(text, Loader=_StoreLoader)  # nosec B506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = ", line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise StoreError("store %s%s: not valid YAML: %s" % (path, where, problem))


def _line_of(text, fmt, where):
    """The line of ``where`` (a list of keys and indexes) in the document, or None.

    Only used on the error path: the fast loader keeps no positions.
    """
    if not HAS_PYYAML:
        return None
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        line = node.start_mark.line if node is not None else None
        for step in where:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == step:
                        line = key_node.start_mark.line
                        node = value_node
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line
            else:
                break
        return None if line is None else line + 1
    except Exception:  # pylint: disable=broad-except
        return None


def _where_text(where):
    text = ""
    for step in where:
        text += "[%d]" % step if isinstance(step, int) else ("." if text else "") + str(step)
    return text or "top level"


# --------------------------------------------------------------- validation

def _require_mapping(value, where, what):
    if not isinstance(value, dict):
        raise _Invalid(where, "%s must be a mapping, not %s" % (what, _type_name(value)))


def _type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _check_keys(record, allowed, where):
    for key in record:
        if key not in allowed:
            hint = ""
            if any(word in str(key).lower() for word in SECRET_WORDS):
                hint = " (secrets never belong in the store: pass them as module options or environment variables)"
            raise _Invalid(where + [key], "unknown key '%s'; allowed: %s%s" % (key, ", ".join(allowed), hint))


def _string(record, key, where, required=False, default="", max_length=None, non_empty=False):
    if key not in record or record[key] is None:
        if required:
            raise _Invalid(where + [key], "'%s' is required" % key)
        return default
    value = record[key]
    if not isinstance(value, str):
        raise _Invalid(where + [key], "must be a string, not %s (quote it)" % _type_name(value))
    if (required or non_empty) and not value.strip():
        raise _Invalid(where + [key], "must not be empty")
    if max_length and len(value) > max_length:
        raise _Invalid(where + [key], "is %d characters long; at most %d are allowed" % (len(value), max_length))
    return value


def _uuid(record, key, where, required=True):
    if key not in record or record[key] is None:
        if required:
            raise _Invalid(where + [key], "'%s' is required" % key)
        return None
    value = normalize_uuid(record[key])
    if value is None:
        raise _Invalid(where + [key], "%r is not a valid UUID" % (record[key],))
    return value


def _timestamp(record, key, where):
    value = record.get(key)
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid(where + [key], "%r is not an ISO 8601 date-time" % value)
        return value
    raise _Invalid(where + [key], "must be an ISO 8601 date-time string, not %s" % _type_name(value))


def _list(record, key, where):
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(where + [key], "must be a list, not %s" % _type_name(value))
    return value


class StoreData(object):
    """A validated, read-only view of a store, with indexes for lookups."""

    def __init__(self, path, offerings, groups):
        self.path = path
        self.offerings = offerings
        self.groups = groups
        self.offerings_by_uuid = dict((o["uuid"], o) for o in offerings)
        self.roles_by_uuid = {}
        self.resources_by_uuid = {}
        for offering in offerings:
            for role in offering["roles"]:
                self.roles_by_uuid[role["uuid"]] = role
            for resource in offering["resources"]:
                self.resources_by_uuid[resource["uuid"]] = resource
        self.groups_by_uuid = dict((g["uuid"], g) for g in groups)
        self.groups_by_key = dict((group_key(g), g) for g in groups)

    def find_offering(self, ref):
        """An offering by UUID or by name, or None."""
        if ref is None:
            return None
        key = normalize_uuid(ref)
        if key and key in self.offerings_by_uuid:
            return self.offerings_by_uuid[key]
        for offering in self.offerings:
            if offering["name"] == ref:
                return offering
        return None

    @staticmethod
    def _find_in(items, ref):
        key = normalize_uuid(ref)
        for item in items:
            if (key and item["uuid"] == key) or item["name"] == ref:
                return item
        return None

    def find_role(self, offering, ref):
        return self._find_in(offering["roles"], ref)

    def find_resource(self, offering, ref):
        return self._find_in(offering["resources"], ref)

    def offering_groups(self, offering_uuid):
        return [g for g in self.groups if g["offering"] == offering_uuid]


def group_key(group):
    """The natural key: (offering, role, resource, scope_id) is unique."""
    return (group["offering"], group["role"], group["resource"], group["scope_id"])


def validate(document, path):
    """Check a parsed document; return a StoreData or raise _Invalid."""
    if document is None:
        raise _Invalid([], "the store is empty; it needs at least 'version: 1'")
    _require_mapping(document, [], "the store")
    _check_keys(document, ("version", "offerings", "groups"), [])
    version = document.get("version")
    if version != STORE_VERSION:
        raise _Invalid(["version"], "store version must be %d, not %r" % (STORE_VERSION, version))

    offerings = []
    seen_offerings, seen_names, seen_slugs, seen_roles, seen_resources = {}, {}, {}, {}, {}
    for index, raw in enumerate(_list(document, "offerings", [])):
        where = ["offerings", index]
        _require_mapping(raw, where, "an offering")
        _check_keys(raw, ("uuid", "name", "slug", "keycloak", "roles", "resources"), where)
        offering_uuid = _uuid(raw, "uuid", where)
        if offering_uuid in seen_offerings:
            raise _Invalid(where + ["uuid"], "offering %s is declared twice (also at offerings[%d])"
                           % (offering_uuid, seen_offerings[offering_uuid]))
        seen_offerings[offering_uuid] = index
        name = _string(raw, "name", where, required=True)
        if name in seen_names:
            raise _Invalid(where + ["name"], "offering name '%s' is used twice (also at offerings[%d])"
                           % (name, seen_names[name]))
        seen_names[name] = index
        slug = _string(raw, "slug", where) or slugify(name)
        if "/" in slug:
            raise _Invalid(where + ["slug"], "a slug must not contain '/'")
        if slug in seen_slugs:
            raise _Invalid(where + ["slug"], "offering slug '%s' is used twice (also at offerings[%d]); "
                           "the slug names the offering's group in Keycloak" % (slug, seen_slugs[slug]))
        seen_slugs[slug] = index
        keycloak = raw.get("keycloak")
        settings = None
        if keycloak is not None:
            kwhere = where + ["keycloak"]
            _require_mapping(keycloak, kwhere, "'keycloak'")
            _check_keys(keycloak, ("url", "realm", "base_group", "group_name_template"), kwhere)
            settings = {
                "url": _string(keycloak, "url", kwhere),
                "realm": _string(keycloak, "realm", kwhere),
                "base_group": _string(keycloak, "base_group", kwhere).strip("/"),
                "group_name_template": _string(keycloak, "group_name_template", kwhere),
            }
        offering = {"uuid": offering_uuid, "name": name, "slug": slug, "keycloak": settings,
                    "roles": [], "resources": []}
        role_names = set()
        for rindex, role in enumerate(_list(raw, "roles", where)):
            rwhere = where + ["roles", rindex]
            _require_mapping(role, rwhere, "a role")
            _check_keys(role, ("uuid", "name", "scope_type"), rwhere)
            role_uuid = _uuid(role, "uuid", rwhere)
            if role_uuid in seen_roles:
                raise _Invalid(rwhere + ["uuid"], "role %s is declared twice (also at %s)"
                               % (role_uuid, seen_roles[role_uuid]))
            seen_roles[role_uuid] = _where_text(rwhere)
            role_name = _string(role, "name", rwhere, required=True)
            if role_name in role_names:
                raise _Invalid(rwhere + ["name"], "role name '%s' is used twice in this offering" % role_name)
            role_names.add(role_name)
            offering["roles"].append({"uuid": role_uuid, "name": role_name, "offering": offering_uuid,
                                      "scope_type": _string(role, "scope_type", rwhere)})
        resource_names = set()
        for rindex, resource in enumerate(_list(raw, "resources", where)):
            rwhere = where + ["resources", rindex]
            _require_mapping(resource, rwhere, "a resource")
            _check_keys(resource, ("uuid", "name", "slug"), rwhere)
            resource_uuid = _uuid(resource, "uuid", rwhere)
            if resource_uuid in seen_resources:
                raise _Invalid(rwhere + ["uuid"], "resource %s is declared twice (also at %s)"
                               % (resource_uuid, seen_resources[resource_uuid]))
            seen_resources[resource_uuid] = _where_text(rwhere)
            resource_name = _string(resource, "name", rwhere, required=True)
            if resource_name in resource_names:
                raise _Invalid(rwhere + ["name"], "resource name '%s' is used twice in this offering" % resource_name)
            resource_names.add(resource_name)
            offering["resources"].append({"uuid": resource_uuid, "name": resource_name, "offering": offering_uuid,
                                          "slug": _string(resource, "slug", rwhere) or slugify(resource_name)})
        offerings.append(offering)

    offerings_by_uuid = dict((o["uuid"], o) for o in offerings)
    groups = []
    seen_groups, seen_keys, seen_backend = {}, {}, {}
    for index, raw in enumerate(_list(document, "groups", [])):
        where = ["groups", index]
        _require_mapping(raw, where, "a group")
        _check_keys(raw, GROUP_KEYS, where)
        group_uuid = _uuid(raw, "uuid", where)
        if group_uuid in seen_groups:
            raise _Invalid(where + ["uuid"], "group %s is declared twice (also at groups[%d])"
                           % (group_uuid, seen_groups[group_uuid]))
        seen_groups[group_uuid] = index
        offering_uuid = _uuid(raw, "offering", where)
        offering = offerings_by_uuid.get(offering_uuid)
        if offering is None:
            raise _Invalid(where + ["offering"], "offering %s is not declared under 'offerings'" % offering_uuid)
        role_uuid = _uuid(raw, "role", where)
        if role_uuid not in seen_roles:
            raise _Invalid(where + ["role"], "role %s is not declared by any offering" % role_uuid)
        if not any(r["uuid"] == role_uuid for r in offering["roles"]):
            raise _Invalid(where + ["role"], "role %s is not declared by offering '%s'"
                           % (role_uuid, offering["name"]))
        resource_uuid = _uuid(raw, "resource", where, required=False)
        if resource_uuid and not any(r["uuid"] == resource_uuid for r in offering["resources"]):
            raise _Invalid(where + ["resource"], "resource %s is not declared by offering '%s'"
                           % (resource_uuid, offering["name"]))
        group = {
            "uuid": group_uuid,
            "name": _string(raw, "name", where, required=True, max_length=NAME_MAX_LENGTH),
            "backend_id": _string(raw, "backend_id", where),
            "offering": offering_uuid,
            "role": role_uuid,
            "resource": resource_uuid,
            "scope_id": _string(raw, "scope_id", where),
            "created": _timestamp(raw, "created", where),
            "modified": _timestamp(raw, "modified", where),
            "members": [],
        }
        key = group_key(group)
        if key in seen_keys:
            raise _Invalid(where, "groups[%d] and groups[%d] have the same offering, role, resource and scope_id"
                           % (seen_keys[key], index))
        seen_keys[key] = index
        if group["backend_id"]:
            backend_key = (offering_uuid, group["backend_id"])
            if backend_key in seen_backend:
                raise _Invalid(where + ["backend_id"], "Keycloak group %s is already linked by groups[%d] "
                               "of the same offering" % (group["backend_id"], seen_backend[backend_key]))
            seen_backend[backend_key] = index
        usernames = set()
        for mindex, member in enumerate(_list(raw, "members", where)):
            mwhere = where + ["members", mindex]
            _require_mapping(member, mwhere, "a member")
            _check_keys(member, MEMBER_KEYS, mwhere)
            username = _string(member, "username", mwhere, required=True)
            if username.lower() in usernames:
                raise _Invalid(mwhere + ["username"], "member '%s' is listed twice in this group" % username)
            usernames.add(username.lower())
            state = _string(member, "state", mwhere, default="pending") or "pending"
            if state not in MEMBER_STATES:
                raise _Invalid(mwhere + ["state"], "state must be one of %s, not '%s'" % (", ".join(MEMBER_STATES), state))
            group["members"].append({
                "username": username,
                "email": _string(member, "email", mwhere),
                "first_name": _string(member, "first_name", mwhere),
                "last_name": _string(member, "last_name", mwhere),
                "state": state,
            })
        groups.append(group)
    return StoreData(path, offerings, groups)


# ------------------------------------------------------------------ editing

class _Tail(object):
    """The comment lines that follow a node in ruamel's round-trip tree.

    They hang on the node's deepest last value: a mapping keeps them at
    ``ca.items[key][2]`` and a sequence at ``ca.items[index][0]`` (text:
    "inline comment" + newline + following lines), or, after a flow-style
    item, in the sequence's ``ca.end`` (following lines only).
    """

    def __init__(self, node):
        self.slot = self.index = self.end_of = None
        while True:
            if isinstance(node, dict) and len(node):
                key = list(node.keys())[-1]
                value = node[key]
                if isinstance(value, (dict, list)) and len(value) and not _is_flow(value):
                    node = value
                    continue
                self._use_slot(node, key, 2)
                return
            if isinstance(node, list) and len(node):
                index = len(node) - 1
                value = node[index]
                if isinstance(value, (dict, list)) and len(value) and not _is_flow(value):
                    node = value
                    continue
                if isinstance(value, (dict, list)) and hasattr(node, "ca"):
                    self.end_of = node
                else:
                    self._use_slot(node, index, 0)
                return
            return

    def _use_slot(self, node, key, index):
        if hasattr(node, "ca"):
            slot = node.ca.items.get(key)
            if slot is None:
                slot = node.ca.items[key] = [None, None, None, None]
            self.slot, self.index = slot, index

    def token(self):
        if self.end_of is not None:
            return self.end_of.ca.end[0] if self.end_of.ca.end else None
        return self.slot[self.index] if self.slot is not None else None

    def parts(self):
        """(inline comment, following lines)."""
        if self.end_of is not None:
            # These tokens hold their indentation as a column, not as text.
            return "", "".join(" " * _column(t) + t.value for t in self.end_of.ca.end or [])
        token = self.token()
        if token is None:
            return "", ""
        inline, _newline, following = token.value.partition("\n")
        return inline, following

    def assign(self, inline, following, donor):
        token = self.token() or donor
        if self.end_of is not None:
            if following:
                text = following.lstrip(" ")
                self.end_of.ca.end = [CommentToken(text, start_mark=CommentMark(len(following) - len(text)))]
            else:
                self.end_of.ca.end = []
        elif self.slot is not None:
            if (inline or following) and token is not None:
                token.value = inline + "\n" + following
                self.slot[self.index] = token
            else:
                self.slot[self.index] = None


def _column(token):
    mark = getattr(token, "start_mark", None)
    return mark.column if mark is not None else getattr(token, "_column", 0) or 0


def _is_flow(node):
    return hasattr(node, "fa") and node.fa.flow_style()


def _remove_item(sequence, position):
    """Delete ``sequence[position]``, keeping the comments that belong to its neighbours.

    The comment lines above an item are stored with the item before it, so a
    plain delete would drop the comment that introduces the next item and
    leave the removed item's own comment behind.
    """
    if not hasattr(sequence, "ca"):
        del sequence[position]
        return
    tail = _Tail(sequence[position])
    donor = tail.token()
    _inline, following = tail.parts()
    if position > 0:
        previous = _Tail(sequence[position - 1])
        previous_inline, _own_comment = previous.parts()
        previous.assign(previous_inline, following, donor)
    elif len(sequence) > 1 and (following or (sequence.ca.comment and sequence.ca.comment[1])):
        # The first item's leading comment lives on the sequence itself.
        if following and donor is not None:
            donor.value = following
            sequence.ca.comment = [None, [donor]]
        else:
            sequence.ca.comment = [None, []]
    del sequence[position]


class StoreEditor(object):
    """Record-level changes to a parsed document, touching nothing else.

    Works on plain JSON data and on ruamel's round-trip YAML nodes alike (both
    are dicts and lists), so comments, key order and layout of untouched parts
    survive a write.
    """

    def __init__(self, document, new_map=dict):
        self.document = document
        self._new_map = new_map
        self.changed = False
        self._index = None

    def _groups(self, create=False):
        groups = self.document.get("groups")
        if groups is None and create:
            self.document["groups"] = groups = []
            self.changed = True
        return groups if groups is not None else []

    def _find(self, group_uuid):
        if self._index is None:
            self._index = {}
            for raw in self._groups():
                if isinstance(raw, dict):
                    self._index[normalize_uuid(raw.get("uuid"))] = raw
        return self._index.get(group_uuid)

    def _ordered(self, fields, order):
        record = self._new_map()
        for key in order:
            if key in fields:
                record[key] = fields[key]
        for key in fields:
            if key not in record:
                record[key] = fields[key]
        return record

    def put_group(self, group_uuid, fields):
        """Create the group record or set the given fields on it; other fields stay as they are."""
        raw = self._find(group_uuid)
        if raw is None:
            fields = dict(fields, uuid=group_uuid)
            fields.setdefault("members", [])
            record = self._ordered(dict((k, v) for k, v in fields.items() if k != "members"), GROUP_KEYS)
            self._groups(create=True).append(record)
            self._index[group_uuid] = record
            self.changed = True
            for member in fields["members"]:
                self.put_member(group_uuid, member)
            return
        for key, value in fields.items():
            if key == "members":
                continue
            if raw.get(key) != value or key not in raw:
                raw[key] = value
                self.changed = True

    def remove_group(self, group_uuid):
        raw = self._find(group_uuid)
        if raw is None:
            return False
        groups = self._groups()
        for position, item in enumerate(groups):
            if item is raw:
                _remove_item(groups, position)
                break
        del self._index[group_uuid]
        self.changed = True
        return True

    def put_member(self, group_uuid, member):
        """Add the member or set the given fields of it (matched by username, case-insensitively)."""
        raw = self._find(group_uuid)
        if raw is None:
            raise KeyError(group_uuid)
        members = raw.get("members")
        if members is None:
            raw["members"] = members = []
        wanted = member["username"].lower()
        for existing in members:
            if isinstance(existing, dict) and str(existing.get("username", "")).lower() == wanted:
                for key, value in member.items():
                    # An empty optional field may stay absent: absent reads as "".
                    if key != "username" and existing.get(key, "") != value:
                        existing[key] = value
                        self.changed = True
                return
        record = self._ordered(dict((k, v) for k, v in member.items() if v != "" or k == "username"), MEMBER_KEYS)
        # One line per member ({...}), so that a membership change is a one-line
        # diff; unless the siblings are written in block style.
        if HAS_RUAMEL and isinstance(record, CommentedMap):
            sibling = members[-1] if members else None
            if not isinstance(sibling, CommentedMap) or sibling.fa.flow_style():
                record.fa.set_flow_style()
        members.append(record)
        self.changed = True

    def remove_member(self, group_uuid, username):
        raw = self._find(group_uuid)
        members = (raw or {}).get("members") or []
        wanted = username.lower()
        for position, existing in enumerate(members):
            if isinstance(existing, dict) and str(existing.get("username", "")).lower() == wanted:
                _remove_item(members, position)
                self.changed = True
                return True
        return False


def _represent_str(representer, value):
    # A plain scalar that a YAML 1.1 reader (PyYAML) would take for a boolean,
    # a number or a date (yes, off, 12:30, 2026-01-01) is written quoted, so
    # the store reads back exactly what was written.
    style = None
    if HAS_PYYAML and value and yaml.resolver.Resolver().resolve(yaml.ScalarNode, value, (True, False)) != \
            "tag:yaml.org,2002:str":
        style = '"'
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_null(representer, _value):
    # "resource: null" reads better than ruamel's bare "resource:".
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _guess_yaml_indent(text):
    """The file's own indentation, so that a round-trip dump rewrites nothing else.

    Returns ruamel's (mapping, sequence, offset): how far a nested mapping is
    indented, how far a sequence item's content is, and where its dash stands.
    """
    mapping = sequence = offset = None
    previous = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        column = len(line) - len(line.lstrip(" "))
        if previous is not None and previous[1].endswith(":"):
            parent_column = previous[0]
            if previous[1].startswith("- "):
                parent_column += 2 + (len(previous[1]) - 2 - len(previous[1][2:].lstrip(" ")))
            if stripped.startswith("- ") and offset is None and column >= parent_column:
                offset = column - parent_column
                sequence = offset + (len(stripped) - len(stripped[1:].lstrip(" ")))
            elif not stripped.startswith("- ") and mapping is None and column > parent_column:
                mapping = column - parent_column
        previous = (column, stripped)
        if mapping is not None and offset is not None:
            break
    mapping = mapping or 2
    if offset is None:
        offset, sequence = 0, 2
    return mapping, max(sequence, offset + 2), offset


class _Format(object):
    """Round-trip load and dump for one file format."""

    def __init__(self, fmt, path):
        self.fmt = fmt
        self.path = path
        self._yaml = None
        self._json_indent = 2
        self._json_ascii = False
        self._prefix = ""

    def load(self, text):
        if self.fmt == "json":
            match = re.search(r"^([ \t]+)\S", text, re.MULTILINE)
            self._json_indent = match.group(1) if match else 2
            # A file written with \uXXXX escapes keeps them.
            self._json_ascii = all(ord(c) < 128 for c in text)
            return json.loads(text, object_pairs_hook=_json_pairs)
        if not HAS_RUAMEL:
            raise StoreError("store %s: writing YAML needs the ruamel.yaml Python library "
                             "(it keeps your comments and layout)" % self.path)
        mapping, sequence, offset = _guess_yaml_indent(text)
        handler = RoundTripYAML(typ="rt")
        handler.preserve_quotes = True
        handler.width = 4096
        handler.indent(mapping=mapping, sequence=sequence, offset=offset)
        handler.representer.add_representer(type(None), _represent_null)
        handler.representer.add_representer(str, _represent_str)
        self._yaml = handler
        # ruamel drops a "---" line and the comments above it; they are kept as they are.
        match = re.match(r"(?:[ \t]*(?:#[^\n]*)?\n)*---[ \t]*(?:#[^\n]*)?\n", text)
        self._prefix = match.group(0) if match and "---" in match.group(0) else ""
        document = handler.load(text)
        if document is None:
            document = CommentedMap()
        return document

    def new_map(self):
        return CommentedMap() if self.fmt == "yaml" else dict()

    def dump(self, document):
        if self.fmt == "json":
            return json.dumps(document, indent=self._json_indent, ensure_ascii=self._json_ascii) + "\n"
        stream = StringIO()
        self._yaml.dump(document, stream)
        return self._prefix + stream.getvalue()


class Store(object):
    """The store file at ``path``."""

    def __init__(self, path):
        if not path:
            raise StoreError("no store given: set the 'store' option or WALDUR_KEYCLOAK_STORE")
        # A symlinked store is written through the link, not replaced by a file.
        self.path = os.path.realpath(os.path.expanduser(path))
        self.display_path = path
        self.format = store_format(path)

    def _read_text(self, handle=None):
        try:
            if handle is None:
                with open(self.path, "rb") as stream:
                    raw = stream.read()
            else:
                raw = handle.read()
        except (IOError, OSError) as exc:
            raise StoreError("cannot read store %s: %s" % (self.display_path, exc.strerror or exc))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StoreError("store %s is not UTF-8 text (byte %d)" % (self.display_path, exc.start))

    def _check_path(self):
        if os.path.isdir(self.path):
            raise StoreError("store %s is a directory, not a file" % self.display_path)
        if not os.path.exists(self.path):
            raise StoreError("store %s does not exist" % self.display_path)

    def parse(self, text):
        document = _parse(self.display_path, text, self.format)
        try:
            return validate(document, self.path)
        except _Invalid as exc:
            raise self._located(text, exc)

    def _located(self, text, exc):
        line = _line_of(text, self.format, exc.where)
        at = ", line %d" % line if line else ""
        return StoreError("store %s%s, %s: %s" % (self.display_path, at, _where_text(exc.where), exc.problem))

    def load(self):
        """Read and validate the store, without a lock."""
        self._check_path()
        return self.parse(self._read_text())

    @contextmanager
    def _locked(self):
        """An exclusive lock on the store file itself, then its handle.

        An atomic save replaces the file, so a writer that waited on the old
        inode tries again on the new one; no lock file is left beside the store.
        """
        self._check_path()
        while True:
            try:
                handle = open(self.path, "rb")
            except (IOError, OSError) as exc:
                raise StoreError("cannot open store %s: %s" % (self.display_path, exc.strerror or exc))
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                opened = os.fstat(handle.fileno())
                current = os.stat(self.path)
            except (IOError, OSError):
                handle.close()
                continue
            if (opened.st_ino, opened.st_dev) == (current.st_ino, current.st_dev):
                break
            handle.close()
        try:
            yield handle
        finally:
            handle.close()

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
        data = self.parse(text)
        codec = _Format(self.format, self.display_path)
        document = codec.load(text)
        editor = StoreEditor(document, new_map=codec.new_map)
        result = mutate(data, editor)
        if not editor.changed:
            return result, False
        new_text = codec.dump(document)
        if new_text == text:
            return result, False
        try:
            # The text about to be written is read back as the next run will read it.
            self.parse(new_text)
        except StoreError as exc:
            raise StoreError("the change was not saved because it would make the store invalid: %s" % exc.message)
        if write:
            try:
                self._replace(new_text)
            except (IOError, OSError) as exc:
                raise StoreError("cannot write store %s: %s (the file is unchanged)"
                                 % (self.display_path, exc.strerror or exc))
        return result, True

    def _replace(self, text):
        directory = os.path.dirname(self.path)
        mode = os.stat(self.path)
        handle, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(self.path) + ".")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(text.encode("utf-8"))
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_path, mode.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(temp_path, mode.st_uid, mode.st_gid)
            os.rename(temp_path, self.path)
        except BaseException:
            if os.path.exists(temp_path):
                os.unlink(temp_path)
            raise
        try:
            directory_fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)
