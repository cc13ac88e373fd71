# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Plans and the runner that carries them out.

The service describes every change as a Plan: remote operations (on
Keycloak) in order, then record changes (on the store). Check mode returns
the plan; apply mode executes the very same plan, so the two cannot
disagree. A value that only exists once an operation ran (the id of a group
created in this run) is a Ref, shown as "(known after apply)" until then.
_diff.py shows a plan as Ansible diffs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError, RealmNotFound
from ansible_collections.waldur.keycloak.plugins.module_utils._store import StoreWriteError, copy_record

KNOWN_AFTER_APPLY = "(known after apply)"


class PlanError(Exception):
    """A remote operation failed part-way; what was done is recorded, the rest is not."""

    def __init__(self, message, done, failed, store_changed=False):
        super(PlanError, self).__init__(message)
        self.message = message
        self.done = done
        self.failed = failed
        self.store_changed = store_changed

    @property
    def changed(self):
        return bool(self.done) or self.store_changed


class Ref(object):
    """A value produced by a remote operation of the same plan."""

    def __init__(self, key):
        self.key = key

    def __eq__(self, other):
        return isinstance(other, Ref) and other.key == self.key

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return "Ref(%r)" % self.key


class RunContext(object):
    """One run of a plan: the ids Keycloak gave what it created, and why the store was not written, if so."""

    def __init__(self, check_mode):
        self.store_error = None
        self.check_mode = check_mode
        self.values = {}

    def resolve(self, value, for_display=False):
        if isinstance(value, Ref):
            if value.key in self.values:
                return self.values[value.key]
            # Placeholders stay distinct, so that the store's checks (one link per
            # remote group) hold in check mode just as they will after apply.
            return KNOWN_AFTER_APPLY if for_display else "%s %s" % (KNOWN_AFTER_APPLY, value.key)
        if isinstance(value, dict):
            return dict((k, self.resolve(v, for_display)) for k, v in value.items())
        if isinstance(value, list):
            return [self.resolve(v, for_display) for v in value]
        return value


# ---------------------------------------------------------- remote operations

class RemoteOperation(object):
    """One change in Keycloak; ``target`` is the group's Keycloak path (its id when the path is unknown)."""

    action = None

    def __init__(self, client, realm, target, **details):
        self.client = client
        self.realm = realm
        self.target = target
        self.details = details

    def describe(self, ctx):
        entry = {"action": self.action, "target": self.target, "realm": self.realm}
        entry.update(ctx.resolve(self.details, for_display=True))
        return entry

    def run(self, ctx):
        raise NotImplementedError


class CreateGroup(RemoteOperation):
    """Create a group (or adopt the one that appeared meanwhile: 409 means it exists)."""

    action = "create_group"

    def __init__(self, client, realm, group_path, name, parent_id, attributes=None):
        super(CreateGroup, self).__init__(client, realm, group_path, name=name)
        self.parent_id = parent_id
        self.attributes = attributes
        self.ref = Ref("create_group %s" % group_path)

    def run(self, ctx):
        group_id, _created = self.client.create_group(
            self.realm, self.details["name"], parent_id=ctx.resolve(self.parent_id),
            attributes=self.attributes, exist_ok=True)
        ctx.values[self.ref.key] = group_id


class RenameGroup(RemoteOperation):
    action = "rename_group"

    def __init__(self, client, realm, group_path, group_id, old_name, new_name):
        super(RenameGroup, self).__init__(client, realm, group_path, id=group_id, name=[old_name, new_name])

    def run(self, ctx):
        self.client.update_group(self.realm, self.details["id"], {"name": self.details["name"][1]})


class DeleteGroup(RemoteOperation):
    action = "delete_group"

    def __init__(self, client, realm, group_path, group_id, members=None):
        super(DeleteGroup, self).__init__(client, realm, group_path, id=group_id, members=sorted(members or []))

    def run(self, ctx):
        # Deleting the group ends every membership in it in the same call.
        self.client.delete_group(self.realm, self.details["id"], missing_ok=True)


class UnmarkGroup(RemoteOperation):
    """Take the collection's markers off a group that stays in Keycloak without its record, so that no
    later prune takes it for one of ours."""

    action = "unmark_group"

    def __init__(self, client, realm, group_path, group_id, attributes):
        super(UnmarkGroup, self).__init__(client, realm, group_path, id=group_id, attributes=sorted(attributes))

    def run(self, ctx):
        markers = self.details["attributes"]

        def without_markers(current):
            return {"attributes": dict((k, v) for k, v in (current.get("attributes") or {}).items()
                                       if k not in markers)}
        try:
            # update_group reads the group once and sends back the rest of its attributes.
            self.client.update_group(self.realm, self.details["id"], without_markers)
        except KeycloakError as exc:
            # Gone meanwhile (404): nothing carries the markers any more.
            if not exc.is_not_found:
                raise


class MembershipOperation(RemoteOperation):
    """One user joins or leaves one group."""

    def __init__(self, client, realm, group_path, group_id, username, user_id, current=None):
        super(MembershipOperation, self).__init__(client, realm, group_path, username=username)
        self.group_id = group_id
        self.user_id = user_id
        # The group's members before the plan (for the diff), when the planner read them.
        self.current = current


class AddMember(MembershipOperation):
    action = "add_member"

    def run(self, ctx):
        self.client.add_user_to_group(self.realm, self.user_id, ctx.resolve(self.group_id))


class RemoveMember(MembershipOperation):
    action = "remove_member"

    def run(self, ctx):
        self.client.remove_user_from_group(self.realm, self.user_id, ctx.resolve(self.group_id))


# ----------------------------------------------------------- record changes

def _members_by_name(record):
    return dict((m["username"].lower(), m) for m in (record or {}).get("members") or [])


class RecordChange(object):
    """One group record of the store, from ``before`` to ``after`` (None: absent)."""

    def __init__(self, before, after, needs=()):
        self.before = before or None
        self.after = after
        self.needs = list(needs)

    def freeze(self):
        """Keep ``before`` as it is now (a planner may go on changing the record it came from)."""
        if self.before is not None:
            self.before = copy_record(self.before)
        return self

    @property
    def uuid(self):
        return (self.after or self.before)["uuid"]

    @property
    def action(self):
        if self.before is None:
            return "create_record"
        if self.after is None:
            return "delete_record"
        old, new = self.before.get("backend_id") or "", self.after.get("backend_id") or ""
        if old != new:
            return "link" if new else "unlink"
        return "update_record"

    def changed_fields(self):
        if self.before is None or self.after is None:
            return []
        return sorted(k for k in self.after if k not in ("members", "modified")
                      and self.after.get(k) != self.before.get(k))

    def member_changes(self):
        before, after = _members_by_name(self.before), _members_by_name(self.after)
        added = sorted(after[k]["username"] for k in after if k not in before)
        removed = sorted(before[k]["username"] for k in before if k not in after)
        updated = sorted(after[k]["username"] for k in after if k in before and after[k] != before[k])
        return added, removed, updated

    @property
    def changed(self):
        if self.before is None or self.after is None:
            return True
        return bool(self.changed_fields()) or any(self.member_changes())

    def describe(self, ctx):
        entry = {"action": self.action, "target": self.uuid}
        fields = self.changed_fields()
        if fields:
            entry["changes"] = dict((k, [self.before.get(k), ctx.resolve(self.after.get(k), for_display=True)])
                                    for k in fields)
        added, removed, updated = self.member_changes()
        if self.after is not None and (added or removed or updated):
            entry["members"] = {"added": added, "removed": removed, "updated": updated}
        return entry

    def apply(self, editor, ctx):
        if self.after is None:
            editor.remove_group(self.uuid)
            return
        after = ctx.resolve(self.after)
        if self.before is None:
            editor.put_group(self.uuid, dict((k, v) for k, v in after.items() if k != "members"))
        else:
            fields = dict((k, after[k]) for k in self.changed_fields())
            if fields:
                fields["modified"] = after["modified"]
            editor.put_group(self.uuid, fields)
        before_members = _members_by_name(self.before)
        after_members = _members_by_name(after)
        for key, member in after_members.items():
            if before_members.get(key) != member:
                editor.put_member(self.uuid, member)
        for key, member in before_members.items():
            if key not in after_members:
                editor.remove_member(self.uuid, member["username"])


class Plan(object):
    """Remote operations in order, then the record changes that follow from them."""

    def __init__(self):
        self.remote = []
        self.records = []
        self._creates = {}

    def add(self, operation, lane=None):
        """Append a remote operation. Operations of one ``lane`` (one group) run in order;
        different lanes may run in parallel after every lane-less operation has run."""
        operation.lane = lane
        self.remote.append(operation)
        return operation

    def add_create(self, operation, lane=None):
        """Append a CreateGroup unless the plan already creates that group (two offerings sharing a missing
        base group): then return the operation that does, whose ``ref`` stands for the group's id."""
        key = (operation.realm, operation.target)
        if key not in self._creates:
            self._creates[key] = self.add(operation, lane=lane)
        return self._creates[key]

    def record(self, before, after, needs=()):
        change = RecordChange(before, after, needs)
        if change.changed:   # only kept changes are copied: a no-op sync of 10,000 records copies none
            self.records.append(change.freeze())
        return change

    @property
    def changed(self):
        return bool(self.remote or self.records)

    def describe(self, ctx):
        return [op.describe(ctx) for op in self.remote] + [rc.describe(ctx) for rc in self.records]


def _run_lane(operations, ctx, done, unreachable=None):
    """Run operations in order, stop at the first failure; return (operation, error) or None.

    Once an operation got no answer at all (Keycloak unreachable after the client's
    retries; recorded in ``unreachable``), no lane starts another operation: each
    would only wait out the same retries, minutes for a large plan.
    """
    for operation in operations:
        if unreachable:
            return operation, unreachable[0]
        try:
            operation.run(ctx)
        except KeycloakError as exc:
            if exc.status is None and unreachable is not None:
                unreachable.append(exc)
            return operation, exc
        done.add(id(operation))
    return None


def _next_step(errors):
    """What finishes the job: a rerun, unless a failure is one that a rerun would meet again."""
    missing = sorted(set(e.realm for e in errors if isinstance(e, RealmNotFound)))
    if missing:
        return ("a rerun cannot finish the job while realm %s does not exist: correct the offering's "
                "keycloak.realm in the store (or create the realm), then rerun"
                % ", ".join("'%s'" % r for r in missing))
    if any(e.is_forbidden for e in errors):
        return "a rerun cannot finish the job until the account is granted the missing permission"
    return "a rerun finishes the job"


def execute(plan, store, check_mode, parallelism=1, store_optional=False):
    """Carry out ``plan``; return the run context (with created ids) and whether the store changed.

    Lane-less remote operations (shared parents) run first, in order; then each
    lane (the operations of one group) runs in order, up to ``parallelism`` lanes
    at a time. A lane stops at its first failure; the others go on. The store is
    then written once, with every record change whose remote operations all
    succeeded, so it always matches what was done, and a rerun finishes the job (unless
    the failure is one a rerun meets again: see _next_step).

    ``store_optional``: the record changes only record what Keycloak now holds (a sync, which finds
    its groups again by their markers), so a store that cannot be written (a read-only checkout)
    fails nothing: ``ctx.store_error`` says why it was not written.
    """
    ctx = RunContext(check_mode)
    done, failures, unreachable = set(), [], []
    if not check_mode and plan.remote:
        prelude = [op for op in plan.remote if op.lane is None]
        lanes = {}
        for operation in plan.remote:
            if operation.lane is not None:
                lanes.setdefault(operation.lane, []).append(operation)
        failure = _run_lane(prelude, ctx, done, unreachable)
        if failure:
            failures.append(failure)
        elif lanes and parallelism > 1 and len(lanes) > 1:
            with ThreadPoolExecutor(max_workers=min(parallelism, len(lanes))) as pool:
                for failure in pool.map(lambda ops: _run_lane(ops, ctx, done, unreachable), list(lanes.values())):
                    if failure:
                        failures.append(failure)
        else:
            for operations in lanes.values():
                failure = _run_lane(operations, ctx, done, unreachable)
                if failure:
                    failures.append(failure)
    changes = [c for c in plan.records if check_mode or all(id(op) in done for op in c.needs)]

    def mutate(_data, editor):
        for change in changes:
            change.apply(editor, ctx)

    store_changed = False
    if changes:
        try:
            _unused, store_changed = store.update(mutate, check_mode=check_mode)
        except StoreWriteError as exc:
            if not store_optional:
                raise
            ctx.store_error = exc.message
    if failures:
        operation, exc = failures[0]
        more = " (and %d more failures)" % (len(failures) - 1) if len(failures) > 1 else ""
        recorded = ("what succeeded is recorded in the store" if ctx.store_error is None else
                    "what succeeded is done in Keycloak (%s)" % ctx.store_error)
        raise PlanError("%s %s failed: %s%s; %s, %s"
                        % (operation.action, operation.target, exc.message, more, recorded,
                           _next_step([e for _op, e in failures])),
                        done=[op.describe(ctx) for op in plan.remote if id(op) in done],
                        failed=[op.describe(ctx) for op, _exc in failures], store_changed=store_changed)
    return ctx, store_changed
