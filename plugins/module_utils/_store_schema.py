# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The store's schema: what a valid document holds, its validation, and the validated read-only view.

``validate`` checks a plain document (from _store_yaml.py) as a whole and returns a
StoreData; a problem is an Invalid naming its place in the document (the store adds
the file and line). The rules of names, UUIDs, usernames and timestamps the other
modules check their arguments by live here too, so that there is one of each.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import unicodedata
import uuid as uuidlib

from ansible_collections.waldur.keycloak.plugins.module_utils._message_text import shown

STORE_VERSION = 1
NAME_MAX_LENGTH = 150
# Keycloak's column for a group name: a longer slug or base group answers 500, not a clear error.
KEYCLOAK_NAME_MAX_LENGTH = 255
MEMBER_STATES = ("pending", "active")

# Key order of the records the store writes, so new records look like hand-written ones.
GROUP_KEYS = ("uuid", "name", "backend_id", "unlinked", "offering", "role", "resource", "scope_id",
              "created", "modified", "members")
MEMBER_KEYS = ("username", "email", "first_name", "last_name", "state")
SECRET_WORDS = ("password", "secret", "token")


class Invalid(Exception):
    """A document that breaks the schema: ``where`` (keys and indexes) and what is wrong there."""

    def __init__(self, where, problem):
        super(Invalid, self).__init__(problem)
        self.where = where
        self.problem = problem


# A UUID already in canonical form (as every UUID this collection writes) is its own normal form.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


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


def where_text(where):
    """``where`` as a message shows it: ``groups[3].members[0]``."""
    text = ""
    for step in where:
        text += "[%d]" % step if isinstance(step, int) else ("." if text else "") + shown(step)
    return text or "top level"


# --------------------------------------------------------------- validation

def _require_mapping(value, where, what):
    if not isinstance(value, dict):
        raise Invalid(where, "%s must be a mapping, not %s" % (what, _type_name(value)))


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
            raise Invalid(where + [key], "unknown key '%s'; allowed: %s%s" % (shown(key), ", ".join(allowed), hint))


def _string(record, key, where, required=False, default="", max_length=None, non_empty=False):
    if key not in record or record[key] is None:
        if required:
            raise Invalid(where + [key], "'%s' is required" % key)
        return default
    value = record[key]
    if not isinstance(value, str):
        raise Invalid(where + [key], "must be a string, not %s (quote it)" % _type_name(value))
    if (required or non_empty) and not value.strip():
        raise Invalid(where + [key], "must not be empty")
    if max_length and len(value) > max_length:
        raise Invalid(where + [key], "is %d characters long; at most %d are allowed" % (len(value), max_length))
    return value


def _base_group(keycloak, where):
    """``keycloak.base_group`` without its outer slashes; each of its names must fit Keycloak."""
    base = _string(keycloak, "base_group", where).strip("/")
    for name in base.split("/"):
        if len(name) > KEYCLOAK_NAME_MAX_LENGTH:
            raise Invalid(where + ["base_group"], "a group name in it is %d characters long; at most %d are allowed"
                          % (len(name), KEYCLOAK_NAME_MAX_LENGTH))
    return base


def _uuid(record, key, where, required=True):
    if key not in record or record[key] is None:
        if required:
            raise Invalid(where + [key], "'%s' is required" % key)
        return None
    value = normalize_uuid(record[key])
    if value is None:
        raise Invalid(where + [key], "%s is not a valid UUID" % shown(repr(record[key])))
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
            raise Invalid(where + [key], "%s is not an ISO 8601 date-time" % shown(repr(value)))
        return value
    raise Invalid(where + [key], "must be an ISO 8601 date-time string, not %s" % _type_name(value))


def _bool(record, key, where):
    """An optional boolean: absent or empty reads as False."""
    value = record.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Invalid(where + [key], "must be true or false, not %s" % _type_name(value))
    return value


def _list(record, key, where):
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(where + [key], "must be a list, not %s" % _type_name(value))
    return value


class StoreData(object):
    """A validated, read-only view of a store, with indexes for lookups."""

    def __init__(self, store_file, offerings, groups):
        self.store_file = store_file   # the file's path, for messages
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
        self._groups_by_backend_id = None

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

    def groups_linking(self, backend_id):
        """The groups, of any offering, that link Keycloak group ``backend_id``, in store order (indexed once:
        a sync asks for every record's group)."""
        if self._groups_by_backend_id is None:
            index = {}
            for group in self.groups:
                if group["backend_id"]:
                    index.setdefault(group["backend_id"], []).append(group)
            self._groups_by_backend_id = index
        return list(self._groups_by_backend_id.get(backend_id, ()))


def group_key(group):
    """The natural key: (offering, role, resource, scope_id) is unique."""
    return (group["offering"], group["role"], group["resource"], group["scope_id"])


def validate(document, store_file):
    """Check a parsed document; return a StoreData or raise Invalid."""
    if document is None:
        raise Invalid([], "the store is empty; it needs at least 'version: 1'")
    _require_mapping(document, [], "the store")
    _check_keys(document, ("version", "offerings", "groups"), [])
    version = document.get("version")
    if version != STORE_VERSION:
        raise Invalid(["version"], "store version must be %d, not %s" % (STORE_VERSION, shown(repr(version))))

    offerings = []
    seen_offerings, seen_names, seen_slugs, seen_roles, seen_resources = {}, {}, {}, {}, {}
    for index, raw in enumerate(_list(document, "offerings", [])):
        where = ["offerings", index]
        _require_mapping(raw, where, "an offering")
        _check_keys(raw, ("uuid", "name", "slug", "keycloak", "roles", "resources"), where)
        offering_uuid = _uuid(raw, "uuid", where)
        if offering_uuid in seen_offerings:
            raise Invalid(where + ["uuid"], "offering %s is declared twice (also at offerings[%d])"
                          % (offering_uuid, seen_offerings[offering_uuid]))
        seen_offerings[offering_uuid] = index
        name = _string(raw, "name", where, required=True)
        if name in seen_names:
            raise Invalid(where + ["name"], "offering name '%s' is used twice (also at offerings[%d])"
                          % (shown(name), seen_names[name]))
        seen_names[name] = index
        # Without a slug, the UUID: a rename never moves the offering's Keycloak group.
        slug = _string(raw, "slug", where, max_length=KEYCLOAK_NAME_MAX_LENGTH) or uuidlib.UUID(offering_uuid).hex
        if "/" in slug:
            raise Invalid(where + ["slug"], "a slug must not contain '/'")
        if slug in seen_slugs:
            raise Invalid(where + ["slug"], "offering slug '%s' is used twice (also at offerings[%d]); "
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
                raise Invalid(rwhere + ["uuid"], "role %s is declared twice (also at %s)"
                              % (role_uuid, seen_roles[role_uuid]))
            seen_roles[role_uuid] = where_text(rwhere)
            role_name = _string(role, "name", rwhere, required=True)
            if role_name in role_names:
                raise Invalid(rwhere + ["name"], "role name '%s' is used twice in this offering" % shown(role_name))
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
                raise Invalid(rwhere + ["uuid"], "resource %s is declared twice (also at %s)"
                              % (resource_uuid, seen_resources[resource_uuid]))
            seen_resources[resource_uuid] = where_text(rwhere)
            resource_name = _string(resource, "name", rwhere, required=True)
            if resource_name in resource_names:
                raise Invalid(rwhere + ["name"], "resource name '%s' is used twice in this offering" % shown(resource_name))
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
            raise Invalid(where + ["uuid"], "group %s is declared twice (also at groups[%d])"
                          % (group_uuid, seen_groups[group_uuid]))
        seen_groups[group_uuid] = index
        offering_uuid = _uuid(raw, "offering", where)
        offering = offerings_by_uuid.get(offering_uuid)
        if offering is None:
            raise Invalid(where + ["offering"], "offering %s is not declared under 'offerings'" % offering_uuid)
        role_uuid = _uuid(raw, "role", where)
        if role_uuid not in seen_roles:
            raise Invalid(where + ["role"], "role %s is not declared by any offering" % role_uuid)
        if role_uuid not in owner_of.get(offering_uuid, ()):
            raise Invalid(where + ["role"], "role %s is not declared by offering '%s'"
                          % (role_uuid, shown(offering["name"])))
        resource_uuid = _uuid(raw, "resource", where, required=False)
        if resource_uuid and resource_uuid not in owner_of.get(offering_uuid, ()):
            raise Invalid(where + ["resource"], "resource %s is not declared by offering '%s'"
                          % (resource_uuid, shown(offering["name"])))
        name = _string(raw, "name", where, required=True, max_length=NAME_MAX_LENGTH)
        if "/" in name:
            # Keycloak reads '/' in a group name as a path separator: the module refuses such names too.
            raise Invalid(where + ["name"], "a group name must not contain '/'")
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
        key = group_key(group)
        if key in seen_keys:
            raise Invalid(where, "groups[%d] and groups[%d] have the same offering, role, resource and scope_id"
                          % (seen_keys[key], index))
        seen_keys[key] = index
        if group["backend_id"]:
            backend_key = (offering_uuid, group["backend_id"])
            if backend_key in seen_backend:
                raise Invalid(where + ["backend_id"], "Keycloak group %s is already linked by groups[%d] "
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
                raise Invalid(mwhere + ["username"], problem)
            if username.lower() in usernames:
                raise Invalid(mwhere + ["username"], "member '%s' is listed twice in this group" % shown(username))
            usernames.add(username.lower())
            state = _string(member, "state", mwhere, default="pending") or "pending"
            if state not in MEMBER_STATES:
                raise Invalid(mwhere + ["state"], "state must be one of %s, not '%s'" % (", ".join(MEMBER_STATES), shown(state)))
            group["members"].append({
                "username": username,
                "email": _string(member, "email", mwhere),
                "first_name": _string(member, "first_name", mwhere),
                "last_name": _string(member, "last_name", mwhere),
                "state": state,
            })
        groups.append(group)
    return StoreData(store_file, offerings, groups)
