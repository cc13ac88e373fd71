# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The domain: offerings, their Keycloak groups, hierarchy, matching, planning (naming: _naming.py).

It reads the store's data and asks a Keycloak client questions; it never
speaks HTTP nor touches a file itself. Every change it wants is returned as a
Plan (see _plan.py) that the runner executes, or shows in check mode.
Messages are those of the original "Offering Keycloak Groups" API, detail after.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid as uuidlib

from ansible_collections.waldur.keycloak.plugins.module_utils._client import (
    InvalidId,
    KeycloakError,
    checked_segment,
    group_path_segments,
)
from ansible_collections.waldur.keycloak.plugins.module_utils._plan import (
    AddMember,
    CreateGroup,
    DeleteGroup,
    Plan,
    Ref,
    RemoveMember,
    RenameGroup,
    UnmarkGroup,
)
from ansible_collections.waldur.keycloak.plugins.module_utils._message_text import shown
from ansible_collections.waldur.keycloak.plugins.module_utils._naming import (
    check_group_name,
    group_name,
    group_path,
    hex_uuid,
    offering_group_path,
    slugify,
)
from ansible_collections.waldur.keycloak.plugins.module_utils._service_error import ServiceError
from ansible_collections.waldur.keycloak.plugins.module_utils._store import copy_record
from ansible_collections.waldur.keycloak.plugins.module_utils._store_schema import (
    group_key,
    instant,
    normalize_uuid,
    now_iso,
    username_problem,
)

# Marker attributes on the groups this collection creates, so that later runs
# can tell its own groups from hand-made ones.
OFFERING_ATTRIBUTE = "waldur_offering_uuid"
GROUP_ATTRIBUTE = "waldur_group_uuid"

# Deterministic UUIDs for new records: a check-mode run announces the same
# uuid that the real run then writes, and a rerun finds it again.
RECORD_NAMESPACE = uuidlib.UUID("5b0a1c6e-3f47-4c55-9e4a-7d1f2a0c9b31")


def checked_id_argument(argument, value, is_group_path=False):
    """A Keycloak group id (or, with ``is_group_path``, a group path) given as ``argument``, refused before any call.

    ``..`` would address the realm itself, ``/`` another resource (see _client.checked_segment).
    """
    if not str(value).strip():
        raise ServiceError("%s: This field is required." % argument)
    try:
        if is_group_path:
            group_path_segments(value)
        else:
            checked_segment(value, "group id")
    except InvalidId as exc:
        raise ServiceError("%s: '%s' is not a valid Keycloak %s." % (argument, shown(value), exc.what),
                           "It must be one URL path segment%s: not empty, '.' or '..', and without '/'."
                           % (" per name" if is_group_path else ""))


def check_usernames(usernames):
    """The ``members`` argument, checked by the store's rule (_store_schema.username_problem): one way everywhere."""
    if not all(u.strip() for u in usernames):
        raise ServiceError("members: a username must not be empty.",
                           "Got %s." % ", ".join(repr(u) for u in usernames))
    for username in usernames:
        problem = username_problem(username)
        if problem:
            raise ServiceError("members: %s." % problem)
    return list(usernames)


def checked_uuid_argument(argument, value):
    """``value`` in canonical form, or an error naming ``argument`` and the bad value."""
    key = normalize_uuid(value)
    if key is None:
        raise ServiceError("%s: Must be a valid UUID." % argument, "Got '%s'." % shown(value))
    return key


def user_view(user):
    return {
        "id": user.get("id"),
        "username": user.get("username") or "",
        "email": user.get("email") or "",
        "first_name": user.get("firstName") or "",
        "last_name": user.get("lastName") or "",
    }


def remote_group_view(group):
    return {
        "id": group.get("id"),
        "name": group.get("name"),
        "path": group.get("path"),
        "sub_group_count": group.get("subGroupCount", len(group.get("subGroups") or [])),
    }


class OfferingGroups(object):
    """Operations on the offerings of one store.

    ``client_for(url)`` returns a logged-in Keycloak client for a server URL
    (the offering's ``keycloak.url``; the module's option wins over it).
    """

    def __init__(self, data, client_for=None):
        self.data = data
        self._client_for = client_for

    # ------------------------------------------------------------ lookups

    def offering(self, ref):
        if not ref:
            raise ServiceError("offering_uuid: This field is required.")
        offering = self.data.find_offering(ref)
        if offering is None:
            raise ServiceError("offering_uuid: Offering not found.",
                               "No offering with UUID or name '%s' in %s." % (ref, self.data.store_file))
        return offering

    def keycloak_offering(self, ref):
        offering = self.offering(ref)
        if not (offering.get("keycloak") or {}).get("realm"):
            raise ServiceError("Keycloak integration is not enabled for this offering.",
                               "Offering '%s' has no keycloak.realm in %s." % (offering["name"], self.data.store_file))
        return offering

    def connect(self, offering):
        """The client and realm of a Keycloak-enabled offering."""
        settings = offering["keycloak"]
        return self._client_for(settings.get("url") or None), settings["realm"]

    def role(self, offering, ref):
        if not ref:
            raise ServiceError("role_uuid: This field is required.")
        role = self.data.find_role(offering, ref)
        if role is None:
            key = normalize_uuid(ref)
            if key in self.data.roles_by_uuid or any(
                    r["name"] == ref for o in self.data.offerings for r in o["roles"]):
                raise ServiceError("role_uuid: Role is not available for this offering.",
                                   "Role '%s' is declared by another offering, not by '%s'." % (ref, offering["name"]))
            raise ServiceError("role_uuid: Role not found.", "No role with UUID or name '%s' in %s."
                               % (ref, self.data.store_file))
        return role

    def resource(self, offering, ref):
        if not ref:
            return None
        resource = self.data.find_resource(offering, ref)
        if resource is None:
            raise ServiceError("resource_uuid: Resource not found for this offering.",
                               "Offering '%s' declares no resource with UUID or name '%s'." % (offering["name"], ref))
        return resource

    def group(self, group_uuid):
        key = normalize_uuid(group_uuid)
        group = self.data.groups_by_uuid.get(key) if key else None
        if group is None:
            raise ServiceError("Not found.", "No offering group with UUID '%s' in %s." % (group_uuid, self.data.store_file))
        return group

    # ------------------------------------------------------------- views

    def group_view(self, group):
        """A record with every field of the original API's serializer.

        There is no API server here, so the URI fields hold URNs that name the
        object: ``urn:waldur:<kind>:<uuid>``.
        """
        offering = self.data.offerings_by_uuid[group["offering"]]
        role = self.data.roles_by_uuid[group["role"]]
        resource = self.data.resources_by_uuid.get(group["resource"]) if group["resource"] else None
        return {
            "uuid": group["uuid"],
            "url": "urn:waldur:offering-keycloak-group:%s" % group["uuid"],
            "name": group["name"],
            "backend_id": group["backend_id"],
            "offering": "urn:waldur:offering:%s" % offering["uuid"],
            "offering_uuid": offering["uuid"],
            "offering_name": offering["name"],
            "role": "urn:waldur:offering-role:%s" % role["uuid"],
            "role_name": role["name"],
            "role_scope_type": role["scope_type"],
            "resource": "urn:waldur:resource:%s" % resource["uuid"] if resource else None,
            "resource_uuid": resource["uuid"] if resource else None,
            "resource_name": resource["name"] if resource else None,
            "scope_id": group["scope_id"],
            "created": group["created"],
            "modified": group["modified"],
            "unlinked": bool(group.get("unlinked")),
            "members": [dict(m) for m in group["members"]],
        }

    # ------------------------------------------------------ local reading

    def list_groups(self, offering=None, role=None, resource=None, group_uuid=None, page=None, page_size=None):
        """Local records, newest first, filtered and paged like the original list.

        Without ``offering``, a role or resource given by name is looked up in every
        offering: one match filters by it, several are an error (never a guess).
        """
        groups = self.data.groups
        if group_uuid:
            groups = [self.group(group_uuid)]
        offering_record = self.offering(offering) if offering else None
        if offering_record is not None:
            groups = [g for g in groups if g["offering"] == offering_record["uuid"]]
        if role:
            role_uuid = (self.role(offering_record, role) if offering_record is not None
                         else self._declared_anywhere("role", role))["uuid"]
            groups = [g for g in groups if g["role"] == role_uuid]
        if resource:
            resource_uuid = (self.resource(offering_record, resource) if offering_record is not None
                             else self._declared_anywhere("resource", resource))["uuid"]
            groups = [g for g in groups if g["resource"] == resource_uuid]
        groups = sorted(groups, key=lambda g: (instant(g["created"]), g["uuid"]), reverse=True)
        count = len(groups)
        if page_size:
            start = ((page or 1) - 1) * page_size
            groups = groups[start:start + page_size]
        return {"groups": [self.group_view(g) for g in groups], "count": count}

    def _declared_anywhere(self, kind, ref):
        """The role or resource that ``ref`` (UUID or name) names in any offering; exactly one, or an error."""
        items = "roles" if kind == "role" else "resources"
        key = normalize_uuid(ref)
        found = [(o, item) for o in self.data.offerings for item in o[items]
                 if (key and item["uuid"] == key) or item["name"] == ref]
        message = "role_uuid: Role not found." if kind == "role" else "resource_uuid: Resource not found."
        if not found:
            raise ServiceError(message, "No %s with UUID or name '%s' in %s." % (kind, ref, self.data.store_file))
        if len(found) > 1:
            raise ServiceError("%s_uuid: '%s' names a %s of several offerings (%s); give offering or the %s's UUID."
                               % (kind, ref, kind, ", ".join("'%s'" % o["name"] for o, _item in found), kind))
        return found[0][1]

    # ----------------------------------------------------- remote reading

    def test_connection(self, offering_ref=None, realm=None):
        if not offering_ref and realm is None:
            raise ServiceError("offering_uuid: This field is required.",
                               "Or give realm, to test the connection to that realm.")
        try:
            if offering_ref:
                offering = self.keycloak_offering(offering_ref)
                client, realm = self.connect(offering)
            else:
                client = self._client_for(None)
            groups = client.list_groups(realm)
            version = client.server_version()
            events, details = client.admin_events_settings(realm)
        except KeycloakError as exc:
            raise ServiceError("Unable to connect to Keycloak.", exc.message, status="error")
        names = sorted(g["name"] for g in groups)
        return {"status": "ok", "realm": realm, "groups_count": len(names), "groups": names,
                "server_version": version, "admin_events_enabled": events, "admin_events_details_enabled": details}

    def _offering_root(self, client, realm, offering):
        return client.group_by_path(realm, offering_group_path(offering))

    def _name_derived_root(self, client, realm, offering):
        """Where earlier versions put the groups of an offering without ``slug`` (named after its name), when
        Keycloak has that group, marked as this offering's, and the offering's group is missing: a one-line
        error, so that the offering's groups are never created a second time beside the old ones."""
        if offering["slug"] != hex_uuid(offering["uuid"]):
            return None
        old = dict(offering, slug=slugify(offering["name"]))
        group = client.group_by_path(realm, offering_group_path(old))
        if group is None or offering["uuid"] not in ((group.get("attributes") or {}).get(OFFERING_ATTRIBUTE) or []):
            return None
        return ServiceError("slug: Offering '%s' has its Keycloak groups under %s, which earlier versions named "
                            "after it; without a slug its group is now %s (its UUID, which a rename never changes)."
                            % (offering["name"], offering_group_path(old), offering_group_path(offering)),
                            "Add 'slug: %s' to the offering in %s to keep them where they are."
                            % (old["slug"], self.data.store_file))

    def remote_groups(self, offering_ref):
        offering = self.keycloak_offering(offering_ref)
        try:
            client, realm = self.connect(offering)
            root = self._offering_root(client, realm, offering)
            if root is None:
                moved = self._name_derived_root(client, realm, offering)
                return {"groups": [], "offering_path": offering_group_path(offering),
                        "message": moved.message if moved is not None else
                        "The offering's group %s does not exist in realm '%s' yet."
                        % (offering_group_path(offering), realm)}
            children = client.group_children(realm, root["id"], expected=root.get("subGroupCount"))
        except KeycloakError as exc:
            raise ServiceError("Unable to list remote Keycloak groups.", exc.message)
        groups = sorted((remote_group_view(g) for g in children), key=lambda g: g["name"])
        return {"groups": groups, "offering_path": offering_group_path(offering)}

    def remote_group_members(self, offering_ref, group_id):
        offering = self.keycloak_offering(offering_ref)
        if not group_id:
            raise ServiceError("group_id: This field is required.")
        checked_id_argument("group_id", group_id)
        try:
            client, realm = self.connect(offering)
            members = client.group_members(realm, group_id)
        except KeycloakError as exc:
            raise ServiceError("Unable to list remote group members.", exc.message)
        return {"members": [user_view(u) for u in members]}

    def search_remote_users(self, offering_ref, query, limit=25):
        offering = self.keycloak_offering(offering_ref)
        query = (query or "").strip()
        if not query:
            raise ServiceError("q: This field is required.")
        try:
            client, realm = self.connect(offering)
            users = client.search_users(realm, query, limit)
        except KeycloakError as exc:
            raise ServiceError("Unable to search remote users.", exc.message)
        return {"users": [user_view(u) for u in users]}

    def sync_status(self, offering_ref, members=False):
        """Local and remote groups matched by backend_id, never by name; plus the links the store lacks.

        ``unrecorded``: records the store does not link (yet) to a live group, and the group of the
        offering that carries the record's marker (or, for a record with no backend_id, has its name).
        Keycloak then matches the store, which only lacks the link: ``in_sync`` holds, ``store_behind``
        says so. ``synced``, ``local_only`` and ``remote_only`` stay by backend_id only.
        """
        offering = self.keycloak_offering(offering_ref)
        local = self.data.offering_groups(offering["uuid"])
        try:
            client, realm = self.connect(offering)
            root = self._offering_root(client, realm, offering)
            remote = client.group_children(realm, root["id"], expected=root.get("subGroupCount")) if root else []
            linked = self._linked_groups(client, realm, local, remote)
            needing = [g for g in local if not (g["unlinked"] and not g["backend_id"])
                       and linked.get(g["backend_id"]) is None]
            found = {}
            if needing and remote:
                # Markers are attributes, which the brief listing leaves out: read them only when needed.
                remote = client.group_children(realm, root["id"], brief=False, expected=len(remote))
                claimed = set(g["backend_id"] for g in self.data.groups if g["backend_id"])
                found = dict((uuid, hit) for uuid, hit in self._groups_found(needing, remote, claimed).items()
                             if hit[0]["id"] not in claimed)
            synced, local_only, member_drift, unrecorded = [], [], [], []
            linked_ids = set()
            unrecorded_ids = set()
            # Each synced group's members, listed side by side.
            synced_ids = [g["backend_id"] for g in local if linked.get(g["backend_id"]) is not None]
            found_ids = [hit[0]["id"] for hit in found.values()]
            members_of = client.members_of_groups(realm, synced_ids + found_ids) if members else {}
            for group in local:
                backend_id = group["backend_id"]
                if linked.get(backend_id) is not None:
                    linked_ids.add(backend_id)
                    synced.append({"local_name": group["name"], "remote_name": linked[backend_id]["name"],
                                   "backend_id": backend_id})
                    if members:
                        member_drift.append(self._member_drift(group, members_of[backend_id]))
                    continue
                local_only.append(group["name"])
                if group["uuid"] in found:
                    remote_group, found_by = found[group["uuid"]]
                    unrecorded_ids.add(remote_group["id"])
                    unrecorded.append({"local_name": group["name"], "remote_name": remote_group["name"],
                                       "backend_id": remote_group["id"], "found_by": found_by})
                    if members:
                        member_drift.append(self._member_drift(dict(group, backend_id=remote_group["id"]),
                                                               members_of[remote_group["id"]]))
        except KeycloakError as exc:
            raise ServiceError("Unable to retrieve sync status from Keycloak.", exc.message)
        remote_only = sorted(g["name"] for g in remote if g["id"] not in linked_ids)
        synced.sort(key=lambda s: (s["local_name"], s["backend_id"]))
        unrecorded.sort(key=lambda s: (s["local_name"], s["backend_id"]))
        result = {
            "synced": synced,
            "local_only": sorted(local_only),
            "remote_only": remote_only,
            "unrecorded": unrecorded,
            "counts": {"synced": len(synced), "local_only": len(local_only), "remote_only": len(remote_only)},
        }
        # The links the store lacks are no drift: Keycloak has each group, the store only has to record it.
        in_sync = (len(local_only) == len(unrecorded)
                   and all(g["id"] in unrecorded_ids for g in remote if g["id"] not in linked_ids))
        if members:
            drift = [d for d in member_drift if d["local_only"] or d["remote_only"]]
            result["members"] = sorted(member_drift, key=lambda d: (d["name"], d["backend_id"]))
            in_sync = in_sync and not drift
        result["in_sync"] = in_sync
        result["store_behind"] = bool(unrecorded) or any(d["unrecorded"] for d in member_drift)
        return result

    @staticmethod
    def _group_markers(group):
        """The record uuids a Keycloak group's marker attribute names."""
        return (group.get("attributes") or {}).get(GROUP_ATTRIBUTE) or []

    def _groups_found(self, needing, children, claimed, by_name_for=lambda record: not record["backend_id"]):
        """``{record uuid: (group, "marker" or "name")}``: the offering's group each record of ``needing``
        (records with no live linked group) has in Keycloak.

        The marker is a fact: the group was made (or adopted) for that very record, whatever the store
        recorded since (an apply whose write-back was lost, in AWX). The name is the naming rule's guess,
        taken only for records ``by_name_for`` allows, and never for a group ``claimed`` by a link of the
        store (the caller refuses that adoption) or made for another record.
        """
        marked = {}
        for child in children:
            for record_uuid in self._group_markers(child):
                marked.setdefault(record_uuid, []).append(child)
        found = {}
        for record in needing:
            hits = [g for g in marked.get(record["uuid"], ()) if g["id"] not in claimed]
            if len(hits) > 1:
                named = [g for g in hits if g["name"] == record["name"]]
                if len(named) != 1:
                    raise ServiceError(
                        "Keycloak groups %s all carry the marker of group %s."
                        % (", ".join(sorted(g.get("path") or g["id"] for g in hits)), self._describe_record(record)),
                        "Delete the copies in Keycloak, or link the record with "
                        "waldur.keycloak.keycloak_offering_group backend_id.")
                hits = named
            if hits:
                found[record["uuid"]] = (hits[0], "marker")
        by_name = dict((g["name"], g) for g in children)
        taken = set(hit[0]["id"] for hit in found.values())
        for record in needing:
            if record["uuid"] in found or not by_name_for(record):
                continue
            group = by_name.get(record["name"])
            if group is not None and group["id"] not in taken:
                found[record["uuid"]] = (group, "name")
        return found

    @staticmethod
    def _with_markers(client, realm, parent_id, children, claimed):
        """``children`` (a brief listing, without attributes) with the attributes of those ``claimed`` does not
        hold: read one by one when they are fewer than the pages of a full listing, else the full listing.

        Keycloak reads a group's attributes separately: a full listing of 10,000 groups costs it 2.5 times a
        brief one on a cold cache, and a sync whose every group is linked needs no attribute at all.
        """
        unclaimed = [child for child in children if child["id"] not in claimed]
        if not unclaimed:
            return children
        if len(unclaimed) > len(children) // client.children_page_size + 1:
            return client.group_children(realm, parent_id, brief=False, expected=len(children))
        full = dict((child["id"], group) for child, group in
                    zip(unclaimed, client.concurrently(lambda child: client.get_group(realm, child["id"]), unclaimed)))
        # A group deleted since the listing is gone from it.
        return [full[child["id"]] if child["id"] in full else child for child in children
                if full.get(child["id"], True) is not None]

    @staticmethod
    def _linked_groups(client, realm, records, listed):
        """``{backend_id: remote group or None}`` for the linked ``records``.

        A linked group lives anywhere in the realm (an import from /staff/...): the ids that the groups
        ``listed`` (the offering's children, the users' groups) do not hold are looked up by id side by side,
        and only those.
        """
        by_id = dict((g["id"], g) for g in listed)
        linked = dict((r["backend_id"], by_id[r["backend_id"]]) for r in records if r["backend_id"] in by_id)
        rest = list(dict.fromkeys(r["backend_id"] for r in records if r["backend_id"] and r["backend_id"] not in linked))
        linked.update(zip(rest, client.concurrently(lambda group_id: client.get_group(realm, group_id), rest)))
        return linked

    @staticmethod
    def _child_of(group, parent_id, offering):
        """Whether Keycloak ``group`` lies right under the offering's group ``parent_id`` (its parentId, or its
        path where the server does not say)."""
        if "parentId" in group:
            return group["parentId"] == parent_id
        return group.get("path") == group_path(offering, group["name"])

    def _read_offering(self, client, realm, root_id, count, records, prune, members_mode):
        """``OfferingReads``: what a sync reads of Keycloak before planning, as much of it side by side as can be.

        The memberships are read from the users' side when the store says it is cheaper (see
        ``_users_side_wanted``), else per group. The users' groups name, with its path, every linked group
        that holds one of the store's users: when they confirm all links (or all but fewer than the listing's
        pages, looked up by id) and nothing needs the listing (prune, or a record without a link), the
        offering's children are not listed; a no-op sync of 10,000 groups saves its 25 pages. When the
        listing is likely needed (the store's active members say whether), it is read side by side with the
        users' side. Per group, the member listings of the linked groups go side by side with the children.
        Whatever is read first, the plan is the same.
        """
        wanted, users_count = self._users_side_wanted(client, realm, records, members_mode)

        def users_side():
            return UsersSide.read(client, realm, wanted, users_count)

        def listing():
            return client.group_children(realm, root_id, expected=count) if not isinstance(root_id, Ref) else []

        def both(first, second):
            return client.concurrently(lambda read: read(), [first, second], parallelism=2)

        if wanted is None:
            linked = list(dict.fromkeys(r["backend_id"] for r in records
                                        if r["backend_id"] and (r["members"] or members_mode == "exact")))
            if not linked:
                return OfferingReads(listing(), users_count=users_count)
            children, members_of = both(listing, lambda: client.members_of_groups(realm, linked, missing_ok=True))
            return OfferingReads(children, users_count=users_count, members_of=members_of)
        if isinstance(root_id, Ref):
            return OfferingReads([], users_side(), users_count)
        pages = (count if count is not None else len(records)) // client.children_page_size + 1
        linked = set(r["backend_id"] for r in records if r["backend_id"])
        # A link is likely confirmed when its record has a member Keycloak had when the store was written.
        likely = set(r["backend_id"] for r in records
                     if r["backend_id"] and any(m["state"] == "active" for m in r["members"]))
        if prune or len(linked) < len(records) or len(linked - likely) > pages:
            return OfferingReads(*both(listing, users_side), users_count=users_count)
        side = users_side()
        return OfferingReads(listing() if len(linked - set(side.groups)) > pages else None, side, users_count)

    @staticmethod
    def _stamp(change, record, after):
        """``modified`` of a changed record is now, else as it was; a record without ``created`` gets it now."""
        if record is not None and not change.changed:
            after["modified"] = record["modified"]
            return
        if record is not None:
            after["modified"] = now_iso()
        if not after.get("created"):
            after["created"] = after["modified"]

    @staticmethod
    def _member_drift(group, remote_members):
        """Active members only in the store or only in Keycloak; ``unrecorded``: members the store still
        has as pending whom Keycloak has in the group (the store lacks their state, no drift)."""
        remote = set((u.get("username") or "").lower() for u in remote_members)
        remote.discard("")
        local = set(m["username"].lower() for m in group["members"] if m["state"] == "active")
        pending = set(m["username"].lower() for m in group["members"] if m["state"] != "active")
        return {"name": group["name"], "backend_id": group["backend_id"],
                "local_only": sorted(local - remote), "remote_only": sorted(remote - local - pending),
                "unrecorded": sorted(remote & pending)}

    # ------------------------------------------------------------ planning

    @staticmethod
    def new_record_uuid(offering, role, resource, scope_id):
        key = "|".join([offering["uuid"], role["uuid"], resource["uuid"] if resource else "", scope_id or ""])
        return str(uuidlib.uuid5(RECORD_NAMESPACE, key))

    def _linkers(self, backend_id, except_uuid=None):
        """Every record of the store, of any offering, that links Keycloak group ``backend_id``."""
        return [g for g in self.data.groups_linking(backend_id) if g["uuid"] != except_uuid]

    @staticmethod
    def _describe_record(record):
        return "'%s' (%s)" % (record["name"], record["uuid"])

    def _check_not_a_container(self, remote, realm, argument):
        """Refuse to link an offering's own group or a base group above it: the record's delete would take
        the whole subtree, every other record's group with it."""
        remote_path = remote.get("path") or ""
        for offering in self.data.offerings:
            if (offering.get("keycloak") or {}).get("realm") != realm or not remote_path:
                continue
            root = offering_group_path(offering)
            if root == remote_path or root.startswith(remote_path + "/"):
                raise ServiceError(
                    "%s: Keycloak group %s holds the groups of offering '%s' and cannot be linked to one record."
                    % (argument, remote_path, offering["name"]),
                    "Link or import a group inside %s instead." % root)

    def _check_shared_agree(self, after, members_mode=None):
        """Two records that link one Keycloak group must not pull it two ways on every run."""
        for other in self._linkers(after["backend_id"], after["uuid"]) if after["backend_id"] else []:
            if other["name"] != after["name"]:
                raise ServiceError(
                    "name: Groups %s and %s both link Keycloak group %s under different names."
                    % (self._describe_record(after), self._describe_record(other), after["backend_id"]),
                    "Each run would rename it back; give both records one name in %s." % self.data.store_file)
            if members_mode == "exact":
                mine = set(m["username"].strip().lower() for m in after["members"])
                theirs = set(m["username"].strip().lower() for m in other["members"])
                if mine != theirs:
                    raise ServiceError(
                        "members_mode: Groups %s and %s both link Keycloak group %s with different members; "
                        "members_mode=exact would remove each one's members on the other's run."
                        % (self._describe_record(after), self._describe_record(other), after["backend_id"]),
                        "Declare the same members in both records of %s, or sync with members_mode=additive."
                        % self.data.store_file)

    @staticmethod
    def _check_rename_free(client, realm, remote, new_name, siblings_by_name=None):
        """A rename into a name a sibling has would fail on Keycloak's 409: say so while planning."""
        remote_path = remote.get("path") or ""
        if siblings_by_name is not None:
            sibling = siblings_by_name.get(new_name)
        elif remote_path.startswith("/"):
            sibling = client.group_by_path(realm, "%s/%s" % (remote_path.rsplit("/", 1)[0], new_name))
        else:
            sibling = None
        if sibling is not None and sibling["id"] != remote["id"]:
            raise ServiceError(
                "name: Keycloak group %s cannot be renamed to '%s': its sibling %s has that name."
                % (remote_path or remote["id"], new_name, sibling.get("path") or sibling["id"]),
                "Rename or delete that sibling in Keycloak, or choose another name.")

    def _linked_elsewhere(self, offering, backend_id, except_uuid=None):
        for group in self.data.offering_groups(offering["uuid"]):
            if group["backend_id"] == backend_id and group["uuid"] != except_uuid:
                return group
        return None

    def _key_taken(self, key, except_uuid):
        existing = self.data.groups_by_key.get(key)
        if existing is not None and existing["uuid"] != except_uuid:
            return existing
        return None

    def plan_import(self, offering_ref, role_ref, remote_group_id=None, remote_group_path=None,
                    resource_ref=None, scope_id="", group_uuid=None):
        """import_remote: a local record for an existing remote group; nothing changes in Keycloak."""
        offering = self.keycloak_offering(offering_ref)
        role = self.role(offering, role_ref)
        resource = self.resource(offering, resource_ref)
        scope_id = scope_id or ""
        if group_uuid:
            group_uuid = checked_uuid_argument("uuid", group_uuid)
        if not remote_group_id and not remote_group_path:
            raise ServiceError("remote_group_id: This field is required.")
        if remote_group_id:
            checked_id_argument("remote_group_id", remote_group_id)
        else:
            checked_id_argument("remote_group_path", remote_group_path, is_group_path=True)
        try:
            client, realm = self.connect(offering)
            remote = (client.get_group(realm, remote_group_id) if remote_group_id
                      else client.group_by_path(realm, remote_group_path))
        except KeycloakError as exc:
            raise ServiceError("Unable to connect to Keycloak.", exc.message)
        if remote is None:
            raise ServiceError("remote_group_id: Remote group not found in Keycloak.",
                               "No group %s in realm '%s'." % (remote_group_id or remote_group_path, realm))
        self._check_not_a_container(remote, realm, "remote_group_id" if remote_group_id else "remote_group_path")
        key = (offering["uuid"], role["uuid"], resource["uuid"] if resource else None, scope_id)
        existing = self._linked_elsewhere(offering, remote["id"])
        plan = Plan()
        if existing is not None:
            if group_key(existing) == key:
                return plan, existing
            raise ServiceError("A local group already exists for this remote Keycloak group.",
                               "Group '%s' (%s) is linked to %s." % (existing["name"], existing["uuid"], remote["id"]))
        taken = self._key_taken(key, None)
        if taken is not None:
            raise ServiceError("A local group with this offering, role, resource and scope_id already exists.",
                               "Group '%s' (%s) is linked to '%s'; link it to another remote group with "
                               "waldur.keycloak.keycloak_offering_group backend_id instead."
                               % (taken["name"], taken["uuid"], taken["backend_id"]))
        check_group_name(remote["name"], "remote_group_id" if remote_group_id else "remote_group_path",
                         "The Keycloak group %s cannot be imported under this name." % remote.get("path", remote["id"]))
        stamp = now_iso()
        record = {
            "uuid": group_uuid or self.new_record_uuid(offering, role, resource, scope_id),
            "name": remote["name"], "backend_id": remote["id"], "offering": offering["uuid"], "role": role["uuid"],
            "resource": resource["uuid"] if resource else None, "scope_id": scope_id,
            "created": stamp, "modified": stamp, "members": [],
        }
        if record["uuid"] in self.data.groups_by_uuid:
            raise ServiceError("uuid: A local group with this UUID already exists.", record["uuid"])
        plan.record(None, record)
        return plan, record

    def find_group(self, group_uuid=None, offering=None, role=None, resource=None, scope_id=None):
        """The record addressed by ``group_uuid`` or by its natural key, or None; with its offering, role, resource.

        A ``group_uuid`` is the address when given: an unknown one never falls back to the
        natural key, as that would act on another record. With an unknown ``group_uuid``,
        the offering, role and resource are returned (when ``role`` is given) for a
        create, provided no other record holds the natural key; otherwise all None.
        ``offering``, ``role`` and ``resource`` are references (UUID or name).
        """
        if group_uuid:
            key = checked_uuid_argument("uuid", group_uuid)
            record = self.data.groups_by_uuid.get(key)
            if record is not None:
                record_offering = self.data.offerings_by_uuid[record["offering"]]
                if offering and self.offering(offering) is not record_offering:
                    raise ServiceError("offering_uuid: Group %s belongs to offering '%s'."
                                       % (key, record_offering["name"]))
                record_role = self.data.roles_by_uuid[record["role"]]
                if role and self.role(record_offering, role) is not record_role:
                    raise ServiceError("role_uuid: Group %s has role '%s'; a group's role cannot change."
                                       % (key, record_role["name"]))
                record_resource = self.data.resources_by_uuid.get(record["resource"]) if record["resource"] else None
                return record, record_offering, record_role, record_resource
            if not (offering and role):
                # An unknown uuid and no natural key to create it with: nothing to find
                # (absent is then a no-op, present says Not found.).
                return None, None, None, None
        found_offering = self.offering(offering)
        found_role = self.role(found_offering, role)
        found_resource = self.resource(found_offering, resource)
        key = (found_offering["uuid"], found_role["uuid"], found_resource["uuid"] if found_resource else None,
               scope_id or "")
        record = self.data.groups_by_key.get(key)
        if group_uuid and record is not None:
            raise ServiceError("Not found.", "No offering group with UUID %s in %s; group '%s' (%s) has this "
                               "offering, role, resource and scope_id, and is left alone."
                               % (group_uuid, self.data.store_file, record["name"], record["uuid"]))
        return record, found_offering, found_role, found_resource

    def plan_group_present(self, group_uuid=None, offering=None, role=None, resource=None, scope_id=None, name=None,
                           backend_id=None, members=None, members_mode="additive", pull_members=False,
                           create_remote=True, relink_unlinked=False):
        """keycloak_offering_group state=present: record, remote group, link, members, pull.

        The group is addressed as find_group says. ``backend_id``: link that Keycloak group ("" unlinks);
        ``members``: usernames (None: leave the members as they are); ``pull_members``: Keycloak's members
        into the record, nothing out; ``create_remote``: ensure the remote group (not for a record unlinked
        on purpose, unless ``relink_unlinked``). Returns the plan, the record as it will be, and the
        pull_members counts (or None).
        """
        if name is not None:
            check_group_name(name, "name")
        if members is not None:
            check_usernames(members)
        record, found_offering, found_role, found_resource = self.find_group(group_uuid, offering, role, resource,
                                                                             scope_id)
        if found_offering is None:
            raise ServiceError("Not found.", "No offering group with UUID %s in %s; give offering and role to "
                               "create it." % (group_uuid, self.data.store_file))
        after = self._record_after(record, found_offering, found_role, found_resource, group_uuid, scope_id, name,
                                   resource)
        backend_id = backend_id.strip() if backend_id is not None else None
        if pull_members and members is not None:
            raise ServiceError("pull_members: cannot be combined with members.",
                               "A pull changes nothing in Keycloak; set the members in another task.")
        if pull_members and not (backend_id if backend_id is not None else after["backend_id"]):
            # A pull reads the linked group; it never creates nor adopts one.
            raise ServiceError("Group is not linked to a remote Keycloak group. Remap it first to set a backend ID.")
        # create_remote ensures the remote group, except in a pull (it pulls only) and for a record
        # unlinked on purpose (it stays unlinked unless relink_unlinked says otherwise).
        ensure = bool(create_remote and backend_id is None and not pull_members
                      and not (after.get("unlinked") and not after["backend_id"] and not relink_unlinked))
        plan = Plan()
        needs = []
        client = realm = remote_group = None
        if backend_id or members is not None or pull_members or ensure:
            found_offering = self.keycloak_offering(found_offering["uuid"])
            client, realm = self.connect(found_offering)
        if backend_id is not None:
            remote_group = self._link(client, realm, found_offering, record, after, backend_id)
        elif ensure:
            remote_group = self._plan_ensure(plan, client, realm, found_offering, record, after, needs)
        pull_counts = None
        if pull_members:
            pull_counts = self._pull(client, realm, record, after, remote_group)
        elif client is not None and after["backend_id"] and (
                members is not None or any(m["state"] == "pending" for m in after["members"])):
            remote_group = self._linked_group_for_members(client, realm, after, remote_group)
            self._plan_members(plan, client, realm, after, remote_group, members, members_mode, needs)
        elif members is not None:
            # Not linked: the members wait as pending until the group exists.
            self._set_local_members(after, [u.strip() for u in members], members_mode, set())
        self._check_shared_agree(after, members_mode)
        self._stamp(plan.record(record, after, needs=needs), record, after)
        return plan, after, pull_counts

    def _record_after(self, record, offering, role, resource, group_uuid, scope_id, name, resource_ref):
        """The record as keycloak_offering_group state=present leaves it, before any Keycloak step: a new one,
        or a copy of ``record`` with the given name (and, when addressed by uuid, resource and scope_id)."""
        stamp = now_iso()
        if record is None:
            scope_id = scope_id or ""
            after = {
                "uuid": normalize_uuid(group_uuid) if group_uuid
                else self.new_record_uuid(offering, role, resource, scope_id),
                "name": name or group_name(offering, role, resource, scope_id),
                "backend_id": "", "offering": offering["uuid"], "role": role["uuid"],
                "resource": resource["uuid"] if resource else None, "scope_id": scope_id,
                "created": stamp, "modified": stamp, "unlinked": False, "members": [],
            }
        else:
            after = copy_record(record)
            after["modified"] = stamp
            if name:
                after["name"] = name
            if group_uuid:
                # Addressed by uuid: resource and scope_id given here are changes.
                if resource_ref is not None:
                    changed_resource = self.resource(offering, resource_ref) if resource_ref else None
                    after["resource"] = changed_resource["uuid"] if changed_resource else None
                if scope_id is not None:
                    after["scope_id"] = scope_id
        taken = self._key_taken(group_key(after), after["uuid"])
        if taken is not None:
            raise ServiceError("A local group with this offering, role, resource and scope_id already exists.",
                               "Group '%s' (%s)." % (taken["name"], taken["uuid"]))
        return after

    def _link(self, client, realm, offering, record, after, backend_id):
        """Link ``after`` to Keycloak group ``backend_id`` ("": unlink on purpose); return that group when read."""
        remote_group = None
        if backend_id and backend_id != (record or {}).get("backend_id"):
            checked_id_argument("backend_id", backend_id)
            remote_group = client.get_group(realm, backend_id)
            if remote_group is None:
                raise ServiceError("backend_id: Remote group not found in Keycloak.",
                                   "No group %s in realm '%s'." % (backend_id, realm))
            self._check_not_a_container(remote_group, realm, "backend_id")
            other = self._linked_elsewhere(offering, backend_id, after["uuid"])
            if other is not None:
                raise ServiceError("A local group already exists for this remote Keycloak group.",
                                   "Group '%s' (%s) is linked to %s." % (other["name"], other["uuid"], backend_id))
        after["backend_id"] = backend_id
        # backend_id "" unlinks on purpose: later runs leave it so; a link ends that.
        after["unlinked"] = not backend_id
        return remote_group

    def _plan_ensure(self, plan, client, realm, offering, record, after, needs):
        """create_remote: the linked group, renamed when the declared name changed; or, when not linked or
        gone, the group of that name under the offering's group, adopted or created. Return the group (None:
        to be created)."""
        remote_group = client.get_group(realm, after["backend_id"]) if after["backend_id"] else None
        if remote_group is None:
            # Not linked, or its remote group vanished: ensure it where the offering keeps its groups.
            root_id, _count = self._plan_offering_root(plan, client, realm, offering, needs)
            existing = None if isinstance(root_id, Ref) else client.find_child_group(realm, root_id, after["name"])
            other = self._linked_elsewhere(offering, existing["id"], after["uuid"]) if existing else None
            if other is not None:
                raise ServiceError("A local group already exists for this remote Keycloak group.",
                                   "Group '%s' (%s) is linked to %s, the group named '%s'; choose another name."
                                   % (other["name"], other["uuid"], existing["path"], after["name"]))
            after["backend_id"], remote_group = self._plan_leaf(plan, client, realm, offering, after, root_id,
                                                                existing, needs)
            after["unlinked"] = False
        elif remote_group["name"] != after["name"] and record is not None and record["name"] != after["name"]:
            # The declared name changed: the remote group follows it.
            self._check_rename_free(client, realm, remote_group, after["name"])
            needs.append(plan.add(RenameGroup(client, realm, remote_group.get("path") or remote_group["id"],
                                              remote_group["id"], remote_group["name"], after["name"])))
        return remote_group

    def _pull(self, client, realm, record, after, remote_group):
        """pull_members: what Keycloak holds comes into the store; nothing (not even a pending member) goes out."""
        group_id = after["backend_id"]
        try:
            if remote_group is None:
                remote_group = client.get_group(realm, group_id)
            if remote_group is None:
                raise ServiceError("Unable to fetch members from Keycloak.",
                                   "Group '%s' is linked to %s, which does not exist in realm '%s'; link it "
                                   "again (backend_id) or recreate it (keycloak_offering_sync relink=true)."
                                   % (after["name"], group_id, realm))
            remote_members = client.group_members(realm, group_id)
        except KeycloakError as exc:
            raise ServiceError("Unable to fetch members from Keycloak.", exc.message)
        return self.pull_into(after, remote_members, before=record or {"members": []})

    @staticmethod
    def _linked_group_for_members(client, realm, after, remote_group):
        """The linked group whose members are planned: ``remote_group`` when already read; a link to a group
        gone from Keycloak is an error (a group still to be created, a Ref, has no members yet)."""
        group_id = after["backend_id"]
        if remote_group is None and not isinstance(group_id, Ref):
            remote_group = client.get_group(realm, group_id)
            if remote_group is None:
                raise ServiceError("members: Group '%s' is linked to Keycloak group %s, which does not exist "
                                   "in realm '%s'." % (after["name"], group_id, realm),
                                   "Recreate it (create_remote=true, or keycloak_offering_sync relink=true) or "
                                   "link another group (backend_id).")
        return remote_group

    def _plan_offering_root(self, plan, client, realm, offering, needs):
        """Ensure ``/<base_group>/<slug>``: return its id (or the Ref of the create that will make it) and
        the subGroupCount Keycloak reported for it (None when unknown or not created yet)."""
        segments = [s for s in offering_group_path(offering).split("/") if s]
        parent_id, current, count = None, "", None
        for depth, segment in enumerate(segments):
            current += "/" + segment
            if not isinstance(parent_id, Ref):
                existing = client.group_by_path(realm, current)
                if existing is not None:
                    parent_id, count = existing["id"], existing.get("subGroupCount")
                    continue
            if depth == len(segments) - 1 and not isinstance(parent_id, Ref):
                moved = self._name_derived_root(client, realm, offering)
                if moved is not None:
                    raise moved
            # Only the offering's own group carries the marker: base groups are shared.
            attributes = {OFFERING_ATTRIBUTE: [offering["uuid"]]} if depth == len(segments) - 1 else None
            operation = plan.add_create(CreateGroup(client, realm, current, segment, parent_id, attributes))
            needs.append(operation)
            parent_id, count = operation.ref, None
        return parent_id, count

    def _plan_leaf(self, plan, client, realm, offering, record, root_id, existing, needs, lane=None):
        """The record's group under the offering root: adopt ``existing`` (same name) or create it."""
        if existing is not None:
            return existing["id"], existing
        attributes = {OFFERING_ATTRIBUTE: [offering["uuid"]], GROUP_ATTRIBUTE: [record["uuid"]]}
        operation = plan.add(CreateGroup(client, realm, group_path(offering, record["name"]), record["name"],
                                         root_id, attributes), lane=lane)
        needs.append(operation)
        return operation.ref, None

    def _plan_members(self, plan, client, realm, after, remote_group, desired, members_mode, needs, lane=None,
                      members=None, users=None):
        """Membership operations for ``after``; return the remote members as they will be after the plan.

        ``desired``: the usernames the group must have (None: only the pending members are added);
        ``members_mode == "exact"`` removes every other member.
        ``members``: the group's members as already read (None: read them here); ``users``:
        ``{lower-case username: user or None}`` already resolved (a username not in it is looked up here).
        """
        group_id = after["backend_id"]
        remote_path = (remote_group or {}).get("path") or group_path(
            self.data.offerings_by_uuid[after["offering"]], after["name"])
        if isinstance(group_id, Ref):
            remote_members = []
        else:
            remote_members = members if members is not None else client.group_members(realm, group_id)
        users = users or {}
        remote_by_name = dict(((u.get("username") or "").lower(), u) for u in remote_members)
        current = [u.get("username") for u in remote_members]  # what the check-mode diff shows as "before"
        wanted = [u.strip() for u in desired] if desired is not None else []
        pending = [m["username"] for m in after["members"] if m["state"] == "pending"]
        result_members = list(remote_members)
        known_users = dict(remote_by_name)
        added = set()
        for username in wanted + [p for p in pending if p.lower() not in set(w.lower() for w in wanted)]:
            lower = username.lower()
            if lower in remote_by_name or lower in added:
                continue
            user = users[lower] if lower in users else client.user_by_username(realm, username)
            if user is None:
                continue
            needs.append(plan.add(AddMember(client, realm, remote_path, group_id, user["username"], user["id"], current),
                                  lane=lane))
            result_members.append(user)
            known_users[lower] = user
            added.add(lower)
        active = set(remote_by_name) | added
        # After the plan the store says what exists: a member whose account is gone or renamed (no user by
        # that name, so not added) or who is not in the group any more is pending again.
        for member in after["members"]:
            if member["state"] == "active" and member["username"].strip().lower() not in active:
                member["state"] = "pending"
        if desired is not None:
            self._set_local_members(after, wanted, members_mode, active, known_users)
            if members_mode == "exact":
                keep = set(w.lower() for w in wanted)
                for lower, user in sorted(remote_by_name.items()):
                    if lower and lower not in keep:
                        needs.append(plan.add(RemoveMember(client, realm, remote_path, group_id, user["username"],
                                                           user["id"], current), lane=lane))
                        result_members = [u for u in result_members if u is not user]
        else:
            self._set_local_members(after, [], None, active, known_users)
        return result_members

    @staticmethod
    def _set_local_members(after, wanted, mode, active, known_users=None):
        """Local memberships: add ``wanted`` (pending unless ``active``), activate pending ones now in Keycloak.

        With ``mode == "exact"`` every member not wanted is dropped.
        """
        known_users = known_users or {}
        existing = dict((m["username"].lower(), m) for m in after["members"])
        for username in wanted:
            if username.lower() not in existing:
                member = {"username": username, "email": "", "first_name": "", "last_name": "", "state": "pending"}
                after["members"].append(member)
                existing[username.lower()] = member
        for lower, member in existing.items():
            if lower in active and member["state"] != "active":
                member["state"] = "active"
                view = user_view(known_users[lower]) if lower in known_users else {}
                for field in ("email", "first_name", "last_name"):
                    if view.get(field) and not member.get(field):
                        member[field] = view[field]
        if mode == "exact":
            keep = set(w.lower() for w in wanted)
            after["members"] = [m for m in after["members"] if m["username"].lower() in keep]

    @staticmethod
    def pull_into(record, remote_members, before=None):
        """pull_members: remote members into the record; return created, updated, total_remote.

        Counted against ``before`` (the record as it was before this task; by default
        ``record`` as given), so a
        pending member that this run found and activated counts as updated.
        """
        before = record if before is None else before
        before_members = dict((m["username"].lower(), dict(m)) for m in before.get("members") or [])
        existing = dict((m["username"].lower(), m) for m in record["members"])
        pulled = set()
        for user in remote_members:
            view = user_view(user)
            if not view["username"]:
                continue
            lower = view["username"].lower()
            pulled.add(lower)
            member = existing.get(lower)
            if member is None:
                member = {"username": view["username"], "email": "", "first_name": "", "last_name": "",
                          "state": "active"}
                record["members"].append(member)
                existing[lower] = member
            for field in ("email", "first_name", "last_name"):
                if view[field] and member.get(field) != view[field]:
                    member[field] = view[field]
            member["state"] = "active"
        created = sum(1 for lower in pulled if lower not in before_members)
        updated = sum(1 for lower in pulled if lower in before_members and existing[lower] != before_members[lower])
        return {"created": created, "updated": updated, "total_remote": len(remote_members)}

    def sync_offerings(self, offering_ref=None):
        """The offerings a sync covers: the one named, or every Keycloak-enabled one of the store."""
        if offering_ref:
            return [self.keycloak_offering(offering_ref)]
        return [o for o in self.data.offerings if (o.get("keycloak") or {}).get("realm")]

    def plan_sync(self, offerings, prune=False, relink=False, members_mode="additive", relink_unlinked=False):
        """Make Keycloak match the store for ``offerings``: one plan, and a report per offering.

        Remote state is read in bulk (the offering's children in one paged
        listing); members are read only for groups that declare members, or
        all of them with ``members_mode == "exact"``. Records unlinked on purpose stay so,
        unless ``relink_unlinked``.
        """
        plan = Plan()
        reports = []
        for offering in offerings:
            try:
                reports.append(self._plan_offering_sync(plan, offering, prune, relink, members_mode,
                                                        relink_unlinked))
            except KeycloakError as exc:
                raise ServiceError("Unable to retrieve sync status from Keycloak.",
                                   "Offering '%s': %s" % (offering["name"], exc.message))
        return plan, reports

    def _plan_offering_sync(self, plan, offering, prune, relink, members_mode, relink_unlinked=False):
        client, realm = self.connect(offering)
        report = {"offering": offering["name"], "offering_uuid": offering["uuid"], "realm": realm,
                  "path": offering_group_path(offering), "created": [], "adopted": [], "linked_by_marker": [],
                  "renamed": [],
                  "missing_remote": [], "relinked": [], "unlinked": [], "pruned": [], "members_added": [],
                  "members_removed": [], "pending": []}
        root_needs = []
        root_id, count = self._plan_offering_root(plan, client, realm, offering, root_needs)
        all_records = self.data.offering_groups(offering["uuid"])
        # Unlinked on purpose: left alone (no create, no adoption, no prune of its namesake).
        kept_apart = [] if relink_unlinked else [r for r in all_records if r["unlinked"] and not r["backend_id"]]
        report["unlinked"] = [r["name"] for r in kept_apart]
        kept_uuids = set(r["uuid"] for r in kept_apart)
        records = [r for r in all_records if r["uuid"] not in kept_uuids]
        # A group any record of the store links is claimed, whatever offering this sync is for.
        claimed = set(g["backend_id"] for g in self.data.groups if g["backend_id"])
        reads = self._read_offering(client, realm, root_id, count, records, prune, members_mode)
        children = reads.children
        seen = reads.users_side.groups if reads.users_side is not None else {}
        linked_remote = self._linked_groups(client, realm, records, list(seen.values()) + (children or []))
        unlinked = [r for r in records if linked_remote.get(r["backend_id"]) is None]
        if children is None and unlinked and not isinstance(root_id, Ref):
            children = client.group_children(realm, root_id, expected=count)
        children = children or []
        if prune or unlinked:
            # Markers (attributes) decide a match or a prune: read them for the groups no record claims.
            children = self._with_markers(client, realm, root_id, children, claimed)
        by_id = dict((g["id"], g) for g in children)
        by_name = dict((g["name"], g) for g in children)
        # The group each record without a live link has in Keycloak: by its marker (also when the store's
        # link is stale), or by name where the store links nothing (or relink asks for a new group).
        found = self._groups_found(unlinked, children, claimed, by_name_for=lambda r: relink or not r["backend_id"])
        found_by_group = {}      # Keycloak group id -> the (first) record found to own it
        for uuid, hit in found.items():
            found_by_group.setdefault(hit[0]["id"], uuid)
        # Siblings have unique names in Keycloak: two records that both live under the
        # offering's group cannot share a name (one would adopt the other's group).
        in_tree = {}
        under_root = set(by_id) | set(group_id for group_id, group in linked_remote.items()
                                      if group is not None and self._child_of(group, root_id, offering))
        for record in records:
            if not record["backend_id"] or record["backend_id"] in under_root:
                if record["name"] in in_tree:
                    raise ServiceError("name: Two groups of offering '%s' are named '%s'."
                                       % (offering["name"], record["name"]),
                                       "Groups %s and %s would be the same Keycloak group %s; rename one in %s."
                                       % (in_tree[record["name"]], record["uuid"],
                                          group_path(offering, record["name"]), self.data.store_file))
                in_tree[record["name"]] = record["uuid"]
        # The group each record's members are planned on (None: gone and left so, or still to be created).
        targets = {}
        for record in records:
            remote = linked_remote.get(record["backend_id"]) if record["backend_id"] else None
            if remote is None and record["uuid"] in found:
                remote = found[record["uuid"]][0]
            if remote is not None or relink or not record["backend_id"]:
                targets[record["uuid"]] = remote
        # Every member listing the plan needs, read side by side, and the users they lack resolved in bulk.
        members_of, users = self._prefetch_members(client, realm, records, targets, members_mode, reads)
        linked = set()
        for record in records:
            after = copy_record(record)
            needs = list(root_needs)
            lane = record["uuid"]
            remote = linked_remote[record["backend_id"]] if record["backend_id"] else None
            hit = found.get(record["uuid"]) if remote is None else None
            if hit is not None and hit[1] == "marker":
                # Keycloak has the record's own group: the store only lacks (or has a stale) link to it.
                remote = hit[0]
                after["backend_id"], after["unlinked"] = remote["id"], False
                report["linked_by_marker"].append(after["name"])
            elif remote is None and record["backend_id"]:
                report["missing_remote"].append(record["name"])
                if not relink:
                    continue
                report["relinked"].append(record["name"])
                after["backend_id"] = ""
            if remote is None:
                existing = hit[0] if hit is not None else None
                if existing is not None and existing["id"] in claimed and existing["id"] != record["backend_id"]:
                    other = self._linkers(existing["id"], record["uuid"])[0]
                    raise ServiceError("A local group already exists for this remote Keycloak group.",
                                       "Group '%s' cannot adopt %s: record %s of offering '%s' links it."
                                       % (record["name"], existing["path"], self._describe_record(other),
                                          self.data.offerings_by_uuid[other["offering"]]["name"]))
                namesake = by_name.get(after["name"]) if existing is None else None
                owner = [found_by_group[namesake["id"]]] if namesake is not None and namesake["id"] in found_by_group \
                    else []
                if owner:
                    # The namesake is another record's own group (its marker says so): adopting it would
                    # give one Keycloak group to two records, creating one would meet Keycloak's 409.
                    taken = by_name[after["name"]]
                    raise ServiceError("A local group already exists for this remote Keycloak group.",
                                       "Group '%s' cannot adopt %s: it carries the marker of record %s."
                                       % (record["name"], taken.get("path") or taken["id"],
                                          self._describe_record(self.data.groups_by_uuid[owner[0]])))
                after["backend_id"], remote = self._plan_leaf(plan, client, realm, offering, after, root_id,
                                                              existing, needs, lane=lane)
                after["unlinked"] = False
                report["adopted" if remote is not None else "created"].append(after["name"])
            if remote is not None and remote["name"] != after["name"]:
                self._check_rename_free(client, realm, remote, after["name"],
                                        by_name if remote["id"] in by_id else None)
                needs.append(plan.add(RenameGroup(client, realm, remote.get("path") or remote["id"], remote["id"],
                                                  remote["name"], after["name"]), lane=lane))
                report["renamed"].append(after["name"])
            if not isinstance(after["backend_id"], Ref):
                linked.add(after["backend_id"])
            if after["members"] or members_mode == "exact":
                before_ops = len(plan.remote)
                group_id = after["backend_id"]
                self._plan_members(plan, client, realm, after, remote, [m["username"] for m in after["members"]],
                                   members_mode, needs, lane=lane,
                                   members=None if isinstance(group_id, Ref) else members_of.get(group_id),
                                   users=users)
                for operation in plan.remote[before_ops:]:
                    key = "members_added" if operation.action == "add_member" else "members_removed"
                    report[key].append("%s: %s" % (after["name"], operation.details["username"]))
                report["pending"].extend("%s: %s" % (after["name"], m["username"])
                                         for m in after["members"] if m["state"] == "pending")
            self._check_shared_agree(after, members_mode)
            self._stamp(plan.record(record, after, needs=needs), record, after)
        if prune:
            kept_names = set(r["name"] for r in kept_apart)
            doomed = [child for child in children
                      if (child["id"] not in linked and child["id"] not in claimed
                          and offering["uuid"] in ((child.get("attributes") or {}).get(OFFERING_ATTRIBUTE) or [])
                          and child["name"] not in kept_names)]
            # Their members (what the diff shows as lost), listed side by side.
            doomed_members = client.members_of_groups(realm, [child["id"] for child in doomed])
            for child in doomed:
                members = [u.get("username") for u in doomed_members[child["id"]]]
                plan.add(DeleteGroup(client, realm, child.get("path") or child["id"], child["id"], members),
                         lane=child["id"])
                report["pruned"].append(child["name"])
        for key in report:
            if isinstance(report[key], list):
                report[key].sort()
        return report

    @staticmethod
    def _wanted_usernames(record):
        return set(m["username"].strip().lower() for m in record["members"]) - {""}

    @staticmethod
    def _users_side_wanted(client, realm, records, members_mode):
        """``(usernames, realm user count)`` whose groups a sync reads instead of its groups' members, or
        ``(None, count)`` when the groups are listed (``count``: the realm's user count, if read to decide).

        Keycloak lists the members of one group, or the groups of one user, per request. Where the linked
        groups with members outnumber the users the store names for them, the memberships are read from the
        users' side (resolve the users, then each one's groups): fewer requests for the same answer about
        those users. Only in additive mode: exact mode must see every member, also those the store does not
        name (a hand-added user, a service account, which the realm's user listing leaves out). Decided
        from the store alone, so that the reads can start before the offering's group is listed.
        """
        if members_mode == "exact":
            return None, None
        with_members = [r for r in records if r["members"]]
        linked = [r for r in with_members if r["backend_id"]]
        listed_users = set()
        for record in linked:
            listed_users.update(OfferingGroups._wanted_usernames(record))
        by_user, count = OfferingGroups._by_user_cheaper(client, realm, len(listed_users),
                                                         len(set(r["backend_id"] for r in linked)))
        if not by_user:
            return None, count
        wanted = set()
        for record in with_members:
            wanted.update(OfferingGroups._wanted_usernames(record))
        return sorted(wanted), count

    @staticmethod
    def _prefetch_members(client, realm, records, groups, members_mode, reads):
        """What a sync's member planning reads, read up front: ``({group id: members}, {username: user or None})``.

        The groups are those whose members the sync plans (records with members, or all with
        ``members_mode == "exact"``) that ``groups`` names: ``groups[record uuid]``, the linked group or
        the one the record will be linked to, or None for a group still to be created (it has no members, so
        it is not listed). The users are the wanted ones not yet members of their group. ``reads`` (an
        OfferingReads) holds what was read already: with its users' side, a group's members are the wanted
        users among them (the only ones additive mode acts on), and nothing more is read; else the member
        listings it lacks are read here.
        """
        targets = []
        for record in records:
            if (record["members"] or members_mode == "exact") and record["uuid"] in groups:
                remote = groups[record["uuid"]]
                targets.append((record, remote["id"] if remote is not None else None))
        group_ids = list(dict.fromkeys(group_id for _record, group_id in targets if group_id))
        if reads.users_side is not None:
            return reads.users_side.members_of(group_ids), reads.users_side.users
        members_of = dict((group_id, reads.members_of[group_id]) for group_id in group_ids
                          if reads.members_of.get(group_id) is not None)
        unread = [group_id for group_id in group_ids if group_id not in members_of]
        if unread:
            members_of.update(client.members_of_groups(realm, unread))
        lacking = set()
        for record, group_id in targets:
            present = set((u.get("username") or "").lower() for u in members_of.get(group_id) or [])
            lacking.update(name for name in OfferingGroups._wanted_usernames(record) if name not in present)
        found = client.users_by_username(realm, sorted(lacking), count=reads.users_count) if lacking else {}
        return members_of, dict((name, found.get(name)) for name in lacking)

    @staticmethod
    def _by_user_cheaper(client, realm, users, groups):
        """``(by_user, count)``: whether reading ``users`` users' groups (after resolving them) takes fewer
        requests than listing ``groups`` groups' members, and the realm's user count if it was read (asked only
        when it can decide, with more groups than users; resolving users needs it anyway)."""
        if not 2 < users < groups:
            return False, None
        count = client.users_count(realm)
        return client.users_lookup_cost(users, count) + users < groups, count

    def plan_group_absent(self, group_uuid=None, offering=None, role=None, resource=None, scope_id=None,
                          delete_remote=True, force=False):
        """keycloak_offering_group state=absent: the record (addressed as find_group says), and its remote
        group when linked; ``force`` drops the record even when its remote group cannot be reached.

        A group another record links is never deleted with this one (refused, naming that record); a group
        kept (delete_remote=false) loses the markers that name this record, so no later prune takes it.
        """
        record, offering, _role, _resource = self.find_group(group_uuid, offering, role, resource, scope_id)
        plan = Plan()
        if record is None:
            return plan, None
        needs = []
        others = self._linkers(record["backend_id"], record["uuid"]) if record["backend_id"] else []
        if delete_remote and others:
            raise ServiceError(
                "delete_remote: Keycloak group %s is also linked by group %s of offering '%s'; it is not deleted."
                % (record["backend_id"], self._describe_record(others[0]),
                   self.data.offerings_by_uuid[others[0]["offering"]]["name"]),
                "Delete this record with delete_remote=false to keep the group for the other record.")
        if record["backend_id"]:
            try:
                offering = self.keycloak_offering(offering["uuid"])
            except ServiceError as exc:
                if not delete_remote:
                    # No Keycloak settings: nothing can carry markers we could reach; the record alone goes.
                    plan.record(record, None)
                    return plan, record
                # Without Keycloak settings the remote group cannot be reached: only force drops the record.
                if not force:
                    raise ServiceError(exc.message, "The local record is linked to Keycloak group %s and is kept; "
                                       "use force=true to delete it anyway, or delete_remote=false to keep the "
                                       "remote group." % record["backend_id"])
                plan.record(record, None)
                return plan, record
            try:
                client, realm = self.connect(offering)
                remote = client.get_group(realm, record["backend_id"])
                if remote is not None and delete_remote:
                    members = [u.get("username") for u in client.group_members(realm, remote["id"])]
                    needs.append(plan.add(DeleteGroup(client, realm, remote.get("path") or remote["id"], remote["id"],
                                                      members)))
                elif remote is not None:
                    markers = self._markers_to_drop(remote, record, others)
                    if markers:
                        needs.append(plan.add(UnmarkGroup(client, realm, remote.get("path") or remote["id"],
                                                          remote["id"], markers)))
            except KeycloakError as exc:
                if not force:
                    raise ServiceError("Unable to %s the remote Keycloak group."
                                       % ("delete" if delete_remote else "unmark"),
                                       "%s The local record is kept; use force=true to delete it anyway."
                                       % exc.message)
        plan.record(record, None, needs=[] if force else needs)
        return plan, record

    @staticmethod
    def _markers_to_drop(remote, record, others):
        """The marker attributes of ``remote`` that name ``record`` (or its offering, where no other record
        of that offering links the group)."""
        attributes = remote.get("attributes") or {}
        drop = []
        if record["uuid"] in (attributes.get(GROUP_ATTRIBUTE) or []):
            drop.append(GROUP_ATTRIBUTE)
        if (record["offering"] in (attributes.get(OFFERING_ATTRIBUTE) or [])
                and not any(o["offering"] == record["offering"] for o in others)):
            drop.append(OFFERING_ATTRIBUTE)
        return drop


class OfferingReads(object):
    """What a sync read of one offering before planning (``OfferingGroups._read_offering``)."""

    def __init__(self, children, users_side=None, users_count=None, members_of=None):
        self.children = children        # the offering group's children (brief), or None when not listed
        self.users_side = users_side    # a UsersSide, when the memberships were read from the users' side
        self.users_count = users_count  # the realm's user count, when read
        self.members_of = members_of or {}  # {linked group id: members, or None when it is gone}, per group


class UsersSide(object):
    """The memberships of a sync read from the users' side: every wanted user resolved, and the groups of each
    one found (``groups``: every group seen, by id, as Keycloak's brief representation with its path)."""

    def __init__(self, users, groups_of):
        self.users = users              # {lower-case username: user or None}
        self.groups_of = groups_of      # {user id: [group]}
        self.groups = {}
        for listed in groups_of.values():
            for group in listed:
                self.groups[group["id"]] = group

    @classmethod
    def read(cls, client, realm, wanted, count):
        found = client.users_by_username(realm, wanted, count=count)
        ids = [found[name]["id"] for name in wanted if name in found]
        return cls(dict((name, found.get(name)) for name in wanted), client.groups_of_users(realm, ids))

    def members_of(self, group_ids):
        """``{group id: [user]}``: the wanted users among the members of each of ``group_ids``."""
        members_of = dict((group_id, []) for group_id in group_ids)
        for name in sorted(self.users):
            user = self.users[name]
            if user is None:
                continue
            for group in self.groups_of[user["id"]]:
                if group.get("id") in members_of:
                    members_of[group["id"]].append(user)
        return members_of
