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

from ansible_collections.waldur.keycloak.plugins.module_utils._service import OfferingGroups

# The admin-event resource types that concern this collection's groups.
RESOURCE_TYPES = ("GROUP", "GROUP_MEMBERSHIP")


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
        "group_path": (representation or {}).get("path"),
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
        self.roots = dict((o["uuid"], OfferingGroups.offering_path(o)) for o in self.offerings)
        self.by_backend_id = {}
        wanted = set(self.roots)
        for group in data.groups:
            if group.get("backend_id") and group["offering"] in wanted:
                self.by_backend_id.setdefault(group["backend_id"], set()).add(group["offering"])

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
