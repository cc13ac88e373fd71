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

Three jobs, one file each: parsing, validation and the update cycle here (the
public entry point); the YAML text patcher in _store_patch.py; the file itself
(reading, locking, atomic replacement) in _store_file.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import gc
import json
import os
import re
import traceback
import unicodedata
import uuid as uuidlib
from contextlib import contextmanager

from ansible_collections.waldur.keycloak.plugins.module_utils._store_file import FileError, check_path, locked, read_text, replace
from ansible_collections.waldur.keycloak.plugins.module_utils._store_patch import Unpatchable, _JsonText, _YamlText

try:
    import yaml
except ImportError:
    HAS_PYYAML = False
    PYYAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PYYAML = True
    PYYAML_IMPORT_ERROR = None

STORE_VERSION = 1
BOM = "\ufeff"
NAME_MAX_LENGTH = 150
# Keycloak's column for a group name: a longer slug or base group answers 500, not a clear error.
KEYCLOAK_NAME_MAX_LENGTH = 255
MEMBER_STATES = ("pending", "active")
YAML_EXTENSIONS = (".yml", ".yaml")
JSON_EXTENSIONS = (".json",)

# Key order of records this module writes, so new records look like hand-written ones.
GROUP_KEYS = ("uuid", "name", "backend_id", "unlinked", "offering", "role", "resource", "scope_id",
              "created", "modified", "members")
MEMBER_KEYS = ("username", "email", "first_name", "last_name", "state")
SECRET_WORDS = ("password", "secret", "token")
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


class _Invalid(Exception):
    def __init__(self, where, problem):
        super(_Invalid, self).__init__(problem)
        self.where = where
        self.problem = problem


# A UUID already in canonical form (as every UUID this collection writes) is its own normal form.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def shown(text, limit=80):
    """A value as a message shows it: named, not repeated in full when it is huge."""
    text = str(text)
    return text if len(text) <= limit else "%s... (%d characters)" % (text[:limit], len(text))


# Control characters (C0, C1: NEL and the CSI that starts a terminal escape), line and paragraph separators,
# bidirectional overrides and what XML 1.0 refuses: the drift report's line() macro drops the same set.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]+")


def one_line(text):
    """Text as one line of a console or a report: each run of control characters becomes a space."""
    return _NOT_ONE_LINE.sub(" ", str(text))


def normalize_uuid(value):
    """The canonical form of a UUID, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    if _CANONICAL_UUID.match(value):
        return value
    try:
        return str(uuidlib.UUID(value.strip()))
    except ValueError:
        return None


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def slugify(text):
    """The slug earlier versions derived from any name (non-ASCII letters dropped): only to recognise their groups."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "offering"


def name_slug(name, record_uuid):
    """A resource's default slug: its name in lower-case ASCII letters and digits, ``-`` between.

    Accents are dropped (``Café`` is ``cafe``: Unicode's decompositions never change). A name with
    any other letter or digit (Cyrillic, Greek, CJK...), or none at all, gets the UUID's 32 hex
    digits instead: dropping those letters would give two names one slug, and a transliteration
    table is neither in the standard library nor the same from one release of a library to the next.
    """
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if not slug or any(c.isalnum() and ord(c) > 127 for c in folded):
        return uuidlib.UUID(record_uuid).hex
    return slug


def username_problem(username):
    """Why ``username`` cannot name a Keycloak user as written, or None.

    Keycloak trims usernames (and lower-cases them; the collection compares them without case):
    ``" carol"`` would be a second spelling of ``carol``, so it is refused wherever it is written.
    """
    if username != username.strip():
        return "'%s' has spaces around it; Keycloak trims usernames, write '%s'" % (
            shown(username), shown(username.strip()))
    return None


def instant(timestamp):
    """An ISO 8601 ``created``/``modified`` as an aware datetime, for ordering (text order misplaces
    offsets and fractions of a second); a time without offset is UTC, an empty one the earliest."""
    if not timestamp:
        return datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    value = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.timezone.utc)


# ----------------------------------------------------------------- parsing

_MERGE_TAG = "tag:yaml.org,2002:merge"

if HAS_PYYAML:
    _FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _StoreLoader(_FastLoader):
        """libyaml parsing, plus a refusal of duplicate mapping keys (PyYAML keeps the last one silently)."""

        def __init__(self, stream):
            super(_StoreLoader, self).__init__(stream)
            self._plain_tags = {}

        def resolve(self, kind, value, implicit):
            # The tag of a plain scalar depends on its text alone (a safe loader has no path
            # resolvers), and a store repeats the same keys and references on every record.
            if kind is yaml.ScalarNode and not self.yaml_path_resolvers:
                if not implicit[0]:
                    return self.DEFAULT_SCALAR_TAG   # quoted: always a string
                tag = self._plain_tags.get(value)
                if tag is None:
                    tag = self._plain_tags[value] = super(_StoreLoader, self).resolve(kind, value, implicit)
                return tag
            return super(_StoreLoader, self).resolve(kind, value, implicit)

    def _construct_mapping(loader, node, deep=False):
        # A key written twice in one mapping is refused; a written key that overrides a merged
        # one ("<<: *defaults" then "key: other") is what merge keys are for. flatten_mapping puts
        # the merged pairs first, the mapping's own after them.
        own = len([1 for key_node, _value in node.value if key_node.tag != _MERGE_TAG])
        if own < len(node.value):
            # Flattened on a copy: the node tree keeps its merge key, as the text writer reads it.
            node = yaml.MappingNode(node.tag, list(node.value), node.start_mark, node.end_mark, node.flow_style)
        loader.flatten_mapping(node)
        merged = len(node.value) - own
        mapping, written = {}, {}
        for position, (key_node, value_node) in enumerate(node.value):
            key = loader.construct_object(key_node, deep=deep)
            if position >= merged:
                _refuse_duplicate(written, key, key_node)
                written[key] = True
            mapping[key] = loader.construct_object(value_node, deep=deep)
        return mapping

    def _refuse_duplicate(mapping, key, key_node):
        """PyYAML keeps the last of two equal keys silently; a store refuses them (both constructors)."""
        try:
            duplicate = key in mapping
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value",
                                                    key_node.start_mark)
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, "duplicate key '%s'" % shown(key), key_node.start_mark)

    _StoreLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key '%s'" % shown(key))
        result[key] = value
    return result


def store_format(path):
    lower = path.lower()
    if lower.endswith(YAML_EXTENSIONS):
        return "yaml"
    if lower.endswith(JSON_EXTENSIONS):
        return "json"
    raise StoreError("store %s: the file name must end in .yml, .yaml or .json" % path)


@contextmanager
def gc_paused():
    """Parsing and validating allocate many objects and make no reference cycles.

    The cyclic garbage collector would walk the growing node tree again at every
    few hundred allocations (at 10,000 groups that is more than half of the
    parse time), so it waits until the work is done; the previous setting is restored.
    A module pauses it for its whole task (``_module.KeycloakModule.run``) for the same reason.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


if HAS_PYYAML:
    _SCALAR_NODE, _MAPPING_NODE = yaml.ScalarNode, yaml.MappingNode
    _STR_TAG = "tag:yaml.org,2002:str"
    _NULL_TAG = "tag:yaml.org,2002:null"
    _BOOL_TAG = "tag:yaml.org,2002:bool"
    _MAP_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
    _SEQ_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
    _BOOL_VALUES = yaml.constructor.SafeConstructor.bool_values


class _Constructor(object):
    """Plain data from a composed node tree: what ``yaml.load(text, _StoreLoader)`` returns.

    Strings, nulls, booleans, mappings and lists (nearly every node of a store)
    are built here directly; any other node (numbers, timestamps, merge keys,
    explicit tags) goes to PyYAML's own safe constructor, so the result, and the
    errors, are those of the loader. A node reached twice (an alias) is built once.
    """

    def __init__(self):
        self._built = {}
        self._loader = None

    def _fallback(self, node):
        if self._loader is None:
            self._loader = _StoreLoader("")
        return self._loader.construct_object(node, deep=True)

    def build(self, node):
        kind = node.__class__
        if kind is _SCALAR_NODE:
            tag = node.tag
            if tag == _STR_TAG:
                return node.value
            if tag == _NULL_TAG:
                return None
            if tag == _BOOL_TAG:
                return _BOOL_VALUES[node.value.lower()]
            return self._fallback(node)
        key = id(node)
        if key in self._built:
            return self._built[key]
        if kind is _MAPPING_NODE and node.tag == _MAP_TAG:
            mapping = self._built[key] = {}
            build = self.build
            for key_node, value_node in node.value:
                if key_node.__class__ is _SCALAR_NODE and key_node.tag == _STR_TAG:
                    name = key_node.value
                elif key_node.tag == _MERGE_TAG:
                    # Merge keys ("<<: *defaults"): PyYAML's own flattening builds the whole mapping.
                    result = self._built[key] = self._fallback(node)
                    return result
                else:
                    name = build(key_node)
                _refuse_duplicate(mapping, name, key_node)
                if value_node.__class__ is _SCALAR_NODE and value_node.tag == _STR_TAG:
                    mapping[name] = value_node.value
                else:
                    mapping[name] = build(value_node)
            return mapping
        if kind is not _MAPPING_NODE and node.tag == _SEQ_TAG:
            items = self._built[key] = []
            items.extend([self.build(item) for item in node.value])
            return items
        result = self._built[key] = self._fallback(node)
        return result


def _yaml_error(path, exc):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = ", line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return StoreError("store %s%s: not valid YAML: %s" % (path, where, problem))


def _parse_nodes(path, text, fmt):
    """The plain document and, for YAML, its node tree (positions for the text writer): one parse.

    A byte-order mark is not part of the document (positions count from after it).
    """
    if text.startswith(BOM):
        text = text[1:]
    if fmt == "json":
        try:
            return json.loads(text, object_pairs_hook=_json_pairs), None
        except ValueError as exc:
            # json reports no position for a duplicate key (it comes from our hook): find its line.
            line = _duplicate_key_line(text) if str(exc).startswith("duplicate key") else None
            at = ", line %s" % line if line else ""
            raise StoreError("store %s%s: not valid JSON: %s" % (path, at, exc))
    if not HAS_PYYAML:
        raise StoreError("store %s: reading YAML needs the PyYAML Python library" % path)
    try:
        with gc_paused():
            root = yaml.compose(text, Loader=_StoreLoader)
            return (None if root is None else _Constructor().build(root)), root
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc)


def _parse(path, text, fmt):
    return _parse_nodes(path, text, fmt)[0]


def _duplicate_key_line(text):
    """The line of the first repeated key in a JSON text (JSON is YAML to PyYAML's composer), or None."""
    if not HAS_PYYAML:
        return None
    try:
        stack = [yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))]
    except Exception:  # pylint: disable=broad-except
        return None
    lines = []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, value_node in node.value:
                if key_node.value in seen:
                    lines.append(key_node.start_mark.line + 1)
                seen.add(key_node.value)
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return min(lines) if lines else None


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
        text += "[%d]" % step if isinstance(step, int) else ("." if text else "") + shown(step)
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
            raise _Invalid(where + [key], "unknown key '%s'; allowed: %s%s" % (shown(key), ", ".join(allowed), hint))


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


def _base_group(keycloak, where):
    """``keycloak.base_group`` without its outer slashes; each of its names must fit Keycloak."""
    base = _string(keycloak, "base_group", where).strip("/")
    for name in base.split("/"):
        if len(name) > KEYCLOAK_NAME_MAX_LENGTH:
            raise _Invalid(where + ["base_group"], "a group name in it is %d characters long; at most %d are allowed"
                           % (len(name), KEYCLOAK_NAME_MAX_LENGTH))
    return base


def _uuid(record, key, where, required=True):
    if key not in record or record[key] is None:
        if required:
            raise _Invalid(where + [key], "'%s' is required" % key)
        return None
    value = normalize_uuid(record[key])
    if value is None:
        raise _Invalid(where + [key], "%s is not a valid UUID" % shown(repr(record[key])))
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
            raise _Invalid(where + [key], "%s is not an ISO 8601 date-time" % shown(repr(value)))
        return value
    raise _Invalid(where + [key], "must be an ISO 8601 date-time string, not %s" % _type_name(value))


def _bool(record, key, where):
    """An optional boolean: absent or empty reads as False."""
    value = record.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _Invalid(where + [key], "must be true or false, not %s" % _type_name(value))
    return value


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
        self._groups_by_offering = None

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
        """The offering's groups in store order (indexed once: a store with many offerings stays linear)."""
        if self._groups_by_offering is None:
            index = {}
            for group in self.groups:
                index.setdefault(group["offering"], []).append(group)
            self._groups_by_offering = index
        return list(self._groups_by_offering.get(offering_uuid, ()))


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
        raise _Invalid(["version"], "store version must be %d, not %s" % (STORE_VERSION, shown(repr(version))))

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
                           % (shown(name), seen_names[name]))
        seen_names[name] = index
        # Without a slug, the UUID: a rename never moves the offering's Keycloak group.
        slug = _string(raw, "slug", where, max_length=KEYCLOAK_NAME_MAX_LENGTH) or uuidlib.UUID(offering_uuid).hex
        if "/" in slug:
            raise _Invalid(where + ["slug"], "a slug must not contain '/'")
        if slug in seen_slugs:
            raise _Invalid(where + ["slug"], "offering slug '%s' is used twice (also at offerings[%d]); "
                           "the slug names the offering's group in Keycloak" % (shown(slug), seen_slugs[slug]))
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
                "base_group": _base_group(keycloak, kwhere),
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
                raise _Invalid(rwhere + ["name"], "role name '%s' is used twice in this offering" % shown(role_name))
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
                raise _Invalid(rwhere + ["name"], "resource name '%s' is used twice in this offering" % shown(resource_name))
            resource_names.add(resource_name)
            offering["resources"].append({"uuid": resource_uuid, "name": resource_name, "offering": offering_uuid,
                                          "slug": _string(resource, "slug", rwhere,
                                                          max_length=KEYCLOAK_NAME_MAX_LENGTH)
                                          or name_slug(resource_name, resource_uuid)})
        offerings.append(offering)

    offerings_by_uuid = dict((o["uuid"], o) for o in offerings)
    # Per offering, the UUIDs of its roles and resources: a set lookup per group, never a scan.
    owner_of = dict((o["uuid"], set(r["uuid"] for r in o["roles"] + o["resources"])) for o in offerings)
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
        if role_uuid not in owner_of.get(offering_uuid, ()):
            raise _Invalid(where + ["role"], "role %s is not declared by offering '%s'"
                           % (role_uuid, shown(offering["name"])))
        resource_uuid = _uuid(raw, "resource", where, required=False)
        if resource_uuid and resource_uuid not in owner_of.get(offering_uuid, ()):
            raise _Invalid(where + ["resource"], "resource %s is not declared by offering '%s'"
                           % (resource_uuid, shown(offering["name"])))
        name = _string(raw, "name", where, required=True, max_length=NAME_MAX_LENGTH)
        if "/" in name:
            # Keycloak reads '/' in a group name as a path separator: the module refuses such names too.
            raise _Invalid(where + ["name"], "a group name must not contain '/'")
        group = {
            "uuid": group_uuid,
            "name": name,
            "backend_id": _string(raw, "backend_id", where),
            # True when a run unlinked the group on purpose: it must not be re-adopted by name.
            "unlinked": _bool(raw, "unlinked", where),
            "offering": offering_uuid,
            "role": role_uuid,
            "resource": resource_uuid,
            "scope_id": _string(raw, "scope_id", where),
            "created": _timestamp(raw, "created", where),
            "modified": _timestamp(raw, "modified", where),
            "members": [],
        }
        if "/" in group["name"]:
            raise _Invalid(where + ["name"], "a group name must not contain '/' (it separates Keycloak group paths)")
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
            problem = username_problem(username)
            if problem:
                raise _Invalid(mwhere + ["username"], problem)
            if username.lower() in usernames:
                raise _Invalid(mwhere + ["username"], "member '%s' is listed twice in this group" % shown(username))
            usernames.add(username.lower())
            state = _string(member, "state", mwhere, default="pending") or "pending"
            if state not in MEMBER_STATES:
                raise _Invalid(mwhere + ["state"], "state must be one of %s, not '%s'" % (", ".join(MEMBER_STATES), shown(state)))
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
        self.format = store_format(path)
        # (text, node tree, data) of the last load: an update that finds the same text
        # under the lock reuses that parse instead of parsing the file a second time.
        self._last_parse = None

    def parse(self, text):
        return self._parse_validated(text)[0]

    def _parse_validated(self, text):
        """``(data, document, root)`` of ``text``, parsed once (``root``: the YAML node tree, or None)."""
        with gc_paused():
            document, root = _parse_nodes(self.display_path, text, self.format)
            try:
                return validate(document, self.path), document, root
            except _Invalid as exc:
                raise self._located(text, exc)

    def _located(self, text, exc):
        line = _line_of(text, self.format, exc.where)
        at = ", line %d" % line if line else ""
        return StoreError("store %s%s, %s: %s" % (self.display_path, at, _where_text(exc.where), exc.problem))

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
                document = _Constructor().build(root) if root is not None else _parse_nodes(
                    self.display_path, text, self.format)[0]
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
                    raise self._located(text, _Invalid(["groups"] + ([exc.position] if exc.position is not None
                                                                     else []), exc.problem))
            if new_text == text:
                return result, False
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
        except _Invalid as exc:
            raise StoreError("the change was not saved because it would make the store invalid: %s"
                             % self._located(new_text, exc).message)
        try:
            written = _parse_nodes(self.display_path, new_text, self.format)[0]
        except StoreError as exc:
            raise StoreError("the change was not saved because it would make the store invalid: %s" % exc.message)
        if _comparable(written) != _comparable(document):
            raise StoreError("the change to store %s was not saved: its text would not read back as the change "
                             "(a bug in the writer; please report it)" % self.display_path)

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
