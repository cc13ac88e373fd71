# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Keycloak admin events, as the event source ``waldur.keycloak.keycloak_admin_events`` emits them.

Pure logic, no HTTP and no files: reading one admin event (``AdminEventRepresentation``), the cursor
that makes the source resume where it stopped and never emit an event twice, and the mapping of an
event to the offerings of a store whose groups it touches.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import re
import uuid

from ansible_collections.waldur.keycloak.plugins.module_utils._naming import offering_group_path

# The admin-event resource types that concern this collection's groups.
RESOURCE_TYPES = ("GROUP", "GROUP_MEMBERSHIP")
# Keycloak's OperationType.
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "ACTION")
# An id of Keycloak's (event, group, user) as the slim event may carry it: no character that means anything to
# Jinja or YAML. Keycloak's own ids are UUIDs; the source's digest is "sha1:<hex>".
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
# The name of an event's file: <time>-<id with anything but [A-Za-z0-9_.-] as '_'>.
_REF = re.compile(r"^[0-9]{1,16}-[A-Za-z0-9_.-]{1,128}$")


def event_key(raw):
    """A stable identity of one admin event.

    Keycloak 23 and later give every event an ``id``; older ones do not, and two events may share a
    millisecond, so the fallback is a digest of everything the event says.
    """
    if raw.get("id"):
        return str(raw["id"])
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()


def _representation(raw):
    """The representation Keycloak recorded (only with details on): a JSON string, parsed; else None."""
    value = raw.get("representation")
    if not value:
        return None
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _iso(millis):
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=int(millis))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(millis) % 1000)


def parse_event(raw, realm):
    """The event the source emits for one admin event: what changed, where, and who did it.

    ``resourcePath`` is ``groups/<id>`` (a group created at the top, updated or deleted),
    ``groups/<parent>/children`` (a subgroup created: the new id is in the representation) or
    ``users/<user>/groups/<group>`` (a membership).
    """
    parts = [p for p in str(raw.get("resourcePath") or "").split("/") if p]
    representation = _representation(raw)
    group_id = user_id = parent_id = None
    if len(parts) >= 4 and parts[0] == "users" and parts[2] == "groups":
        user_id, group_id = parts[1], parts[3]
    elif len(parts) >= 2 and parts[0] == "groups":
        if len(parts) >= 3 and parts[2] == "children":
            parent_id = parts[1]
            group_id = (representation or {}).get("id")
        else:
            group_id = parts[1]
    auth = raw.get("authDetails") or {}
    details = raw.get("details") or {}
    event = {
        "id": event_key(raw),
        "realm": realm,
        "time": int(raw.get("time") or 0),
        "time_iso": _iso(raw.get("time") or 0),
        "operation": raw.get("operationType"),
        "resource_type": raw.get("resourceType"),
        "resource_path": raw.get("resourcePath"),
        "group_id": group_id,
        "parent_group_id": parent_id,
        "user_id": user_id,
        "username": details.get("username"),
        # A group's representation is the request's body: its "path" is whatever the client sent (Keycloak
        # ignores it), so only a membership's (built by Keycloak) is believed; the caller finds the others.
        "group_path": (representation or {}).get("path") if raw.get("resourceType") == "GROUP_MEMBERSHIP" else None,
        "group_name": (representation or {}).get("name"),
        "by": {"user_id": auth.get("userId"), "client_id": auth.get("clientId"), "ip_address": auth.get("ipAddress")},
        "details": representation is not None,
    }
    if representation is not None:
        event["representation"] = representation
    if raw.get("error"):
        event["error"] = raw["error"]
    return event


class Cursor(object):
    """Where the source stands: the time of the newest event emitted, and the events emitted at that time.

    Keycloak stores event times in milliseconds and several events can share one, so the time alone cannot
    say which of them were emitted: the keys of those at the newest time are kept with it.
    """

    def __init__(self, time=None, keys=()):
        self.time = time
        self.keys = set(keys)

    @property
    def started(self):
        return self.time is not None

    def is_new(self, raw):
        when = int(raw.get("time") or 0)
        if self.time is None or when > self.time:
            return True
        return when == self.time and event_key(raw) not in self.keys

    def new_events(self, raws):
        """The events of ``raws`` (in any order, repeats allowed) not yet emitted, oldest first."""
        seen = set()
        fresh = []
        for raw in raws:
            key = event_key(raw)
            if key in seen or not self.is_new(raw):
                continue
            seen.add(key)
            fresh.append(raw)
        # Stable: events of one millisecond keep the order Keycloak gave (newest first), reversed.
        fresh.reverse()
        fresh.sort(key=lambda r: int(r.get("time") or 0))
        return fresh

    def advance(self, raw):
        """Record ``raw`` as emitted (events come oldest first)."""
        when = int(raw.get("time") or 0)
        if self.time is None or when > self.time:
            self.time = when
            self.keys = set()
        if when == self.time:
            self.keys.add(event_key(raw))

    def start_after(self, raws):
        """Stand at the newest of ``raws`` (Keycloak's newest events), as if they had been emitted."""
        times = [int(r.get("time") or 0) for r in raws]
        self.time = max(times) if times else 0
        self.keys = set(event_key(r) for r in raws if int(r.get("time") or 0) == self.time)

    def to_dict(self):
        return {"time": self.time, "keys": sorted(self.keys)}

    @classmethod
    def from_dict(cls, data, where="state"):
        """A cursor from its saved form; ValueError with a one-line reason when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("time"), int) or isinstance(data.get("time"), bool):
            raise ValueError("%s: not a saved position of this source (expected {time: <ms>, keys: [...]})" % where)
        keys = data.get("keys") or []
        if not isinstance(keys, list):
            raise ValueError("%s: keys must be a list" % where)
        return cls(data["time"], [str(k) for k in keys])


def _within(inner, outer):
    """Whether group path ``inner`` is ``outer`` or below it."""
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


class OfferingIndex(object):
    """Which offerings of a store an admin event touches.

    An event touches an offering when its group is one the store links (``backend_id``), the offering's
    own group (``/<base_group>/<slug>``) or any group below it, or an ancestor of that group (deleting
    ``/base`` deletes every offering below it). Group paths that the event does not carry come from
    ``known_paths`` (group id -> path), which the caller fills from earlier events and lookups.
    """

    def __init__(self, data, realm):
        self.realm = realm
        self.offerings = [o for o in data.offerings if (o.get("keycloak") or {}).get("realm") == realm]
        self.roots = dict((o["uuid"], offering_group_path(o)) for o in self.offerings)
        self.by_backend_id = {}
        self.records = {}
        wanted = set(self.roots)
        for group in data.groups:
            if group.get("backend_id") and group["offering"] in wanted:
                self.by_backend_id.setdefault(group["backend_id"], set()).add(group["offering"])
                self.records.setdefault(group["backend_id"], group)

    def store_group(self, group_id):
        """``{uuid, name}`` of the store's record linked to Keycloak group ``group_id`` (the first one), or None."""
        record = self.records.get(group_id) if group_id else None
        return {"uuid": record["uuid"], "name": record["name"]} if record else None

    def summary(self, offering):
        return {"uuid": offering["uuid"], "name": offering["name"], "slug": offering["slug"],
                "path": self.roots[offering["uuid"]]}

    def offerings_for(self, event, known_paths=None):
        """The offerings ``event`` touches, in store order, as ``{uuid, name, slug, path}``."""
        known = known_paths or {}
        touched = set()
        for group_id in (event.get("group_id"), event.get("parent_group_id")):
            if group_id:
                touched.update(self.by_backend_id.get(group_id, ()))
        paths = set(p for p in (event.get("group_path"), known.get(event.get("group_id"))) if p)
        parent_path = known.get(event.get("parent_group_id"))
        if parent_path and event.get("group_name"):
            paths.add(parent_path.rstrip("/") + "/" + event["group_name"])
        elif parent_path:
            paths.add(parent_path)
        for uuid, root in self.roots.items():
            for path in paths:
                if _within(path, root) or _within(root, path):
                    touched.add(uuid)
        return [self.summary(o) for o in self.offerings if o["uuid"] in touched]

    def root_paths(self):
        """Every offering group's path: the caller resolves their ids, which a DELETE event alone names."""
        return sorted(set(self.roots.values()))


def learn_path(event, known_paths):
    """Remember the path of the event's group, when the event says it (or says its parent's)."""
    group_id = event.get("group_id")
    if not group_id:
        return
    if event.get("group_path"):
        known_paths[group_id] = event["group_path"]
    elif event.get("parent_group_id") in known_paths and event.get("group_name"):
        known_paths[group_id] = known_paths[event["parent_group_id"]].rstrip("/") + "/" + event["group_name"]
    elif event.get("operation") == "CREATE" and not event.get("parent_group_id") and event.get("group_name"):
        known_paths[group_id] = "/" + event["group_name"]


def safe_id(value):
    """``value`` when it is an id that cannot hold template or YAML syntax, else None."""
    return value if isinstance(value, str) and _SAFE_ID.match(value) else None


def _uuid_or_none(value):
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


def event_ref(event):
    """The reference of ``event`` (of parse_event): the name of its file, made of its time and id only."""
    return "%d-%s" % (int(event.get("time") or 0), re.sub(r"[^A-Za-z0-9_.-]", "_", str(event.get("id")))[:128])


def valid_ref(ref):
    """Whether ``ref`` is a reference event_ref could have made (so no path can be smuggled through it)."""
    return isinstance(ref, str) and bool(_REF.match(ref))


def slim_event(event, ref=None, refs=None):
    """What the source puts on ansible-rulebook's queue for ``event`` (of parse_event): nothing Keycloak users wrote.

    ansible-rulebook hands the event to ansible-playbook as extra vars, and ansible-core renders templates in
    extra vars (2.19 and later trust them; before, any variable's text is rendered when used). So the event
    carries only what the collection validated and cannot hold template syntax: ids, times, the operation and
    resource type from fixed lists, offering UUIDs, and ``ref``, the name of the file that holds the whole
    event. Names, paths, usernames, emails and the representation reach a playbook only through that file,
    read by a module (``waldur.keycloak.keycloak_admin_event_info``), whose results Ansible never renders.

    ``refs``: the references of every change that this one event stands for (the source's ``coalesce``); the
    event then also carries them, and ``count``.
    """
    when = event.get("time")
    when = when if isinstance(when, int) and not isinstance(when, bool) and when >= 0 else 0
    slim = {
        "id": safe_id(event.get("id")),
        "time": when,
        "time_iso": _iso(when),
        "operation": event.get("operation") if event.get("operation") in OPERATIONS else None,
        "resource_type": event.get("resource_type") if event.get("resource_type") in RESOURCE_TYPES else None,
        "group_id": safe_id(event.get("group_id")),
        "parent_group_id": safe_id(event.get("parent_group_id")),
        "user_id": safe_id(event.get("user_id")),
        "details": event.get("details") is True,
        "ref": ref if valid_ref(ref) else None,
    }
    if "offerings" in event:
        uuids = [_uuid_or_none(o.get("uuid")) for o in event["offerings"] if isinstance(o, dict)]
        slim["offerings"] = [{"uuid": u} for u in uuids if u]
    if refs is not None:
        slim["refs"] = [r for r in refs if valid_ref(r)]
        slim["count"] = len(slim["refs"])
    return slim


def describe_change(event):
    """One line saying what changed, e.g. ``DELETE GROUP_MEMBERSHIP /hpc/hpc-alpha-pi (bob)``.

    The group is named by its path where Keycloak or the source knew it; else by its name in Keycloak and the
    store's record linked to it (``"team" (path unknown; store record "staff-team"; group <id>)``); never by a
    path guessed from a naming rule.
    """
    where = event.get("group_path")
    if not where:
        name = event.get("group_name")
        record = (event.get("store_group") or {}).get("name")
        notes = ["path unknown"]
        if record is not None and record != name:
            notes.append("store record %s" % json.dumps(record, ensure_ascii=False))
        notes.append("group %s" % (event.get("group_id") or event.get("resource_path") or "?"))
        where = (json.dumps(name, ensure_ascii=False) + " " if name is not None else "") + "(%s)" % "; ".join(notes)
    text = "%s %s %s" % (event.get("operation"), event.get("resource_type"), where)
    if event.get("username"):
        text += " (%s)" % event["username"]
    return text


# The admin event each remote operation of keycloak_offering_sync's plan makes (its RETURN ``plan``).
_OWN_EVENTS = {
    "create_group": ("CREATE", "GROUP"),
    "rename_group": ("UPDATE", "GROUP"),
    "unmark_group": ("UPDATE", "GROUP"),
    "delete_group": ("DELETE", "GROUP"),
    "add_member": ("CREATE", "GROUP_MEMBERSHIP"),
    "remove_member": ("DELETE", "GROUP_MEMBERSHIP"),
}


def own_changes(plan):
    """The admin events that a sync whose result holds ``plan`` made in Keycloak, as items for ``is_own_change``.

    Store-only operations (link, create_record, ...) make no admin event and are left out.
    """
    items = []
    for entry in plan if isinstance(plan, list) else []:
        if not isinstance(entry, dict) or entry.get("action") not in _OWN_EVENTS:
            continue
        operation, resource_type = _OWN_EVENTS[entry["action"]]
        username = entry.get("username")
        items.append({
            "operation": operation,
            "resource_type": resource_type,
            "path": entry.get("target") if isinstance(entry.get("target"), str) else None,
            "id": entry.get("id") if isinstance(entry.get("id"), str) else None,
            "username": username.lower() if isinstance(username, str) else None,
        })
    return items


def is_own_change(event, item):
    """Whether ``event`` (of parse_event, path filled in) is the admin event of ``item`` (of own_changes).

    A group is matched by its id where the plan knew it (rename, delete, unmark), else by its path (a group the sync
    created); a membership by group and username. Each such change moves Keycloak to what the store declares, so a
    hand change that happens to equal one changes nothing a report would show.
    """
    if (event.get("operation"), event.get("resource_type")) != (item["operation"], item["resource_type"]):
        return False
    same_group = bool(item["id"] and item["id"] == event.get("group_id")) or \
        bool(item["path"] and item["path"] == event.get("group_path"))
    if item["resource_type"] == "GROUP_MEMBERSHIP":
        return same_group and bool(item["username"]) and item["username"] == str(event.get("username") or "").lower()
    return same_group
