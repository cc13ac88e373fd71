# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
short_description: Follow the group changes of a Keycloak realm, as they happen
description:
  - An event source plugin for ansible-rulebook (Event-Driven Ansible) that polls one realm's admin events
    (C(GET /admin/realms/{realm}/admin-events), resource types C(GROUP) and C(GROUP_MEMBERSHIP)) and puts one
    event on the queue per change, oldest first; with O(coalesce), one per offering per poll.
  - Each event holds one key, C(keycloak), with only what nobody can write template syntax into, so that
    ansible-rulebook may pass it to a playbook as extra vars (which ansible-core renders as templates),
    C(id), C(time) (milliseconds) and C(time_iso), C(operation) (C(CREATE), C(UPDATE), C(DELETE), C(ACTION)),
    C(resource_type) (C(GROUP), C(GROUP_MEMBERSHIP)), C(group_id), C(parent_group_id) (a subgroup created),
    C(user_id) (a membership), C(details), each id checked against a strict pattern (null otherwise), and C(ref).
  - The whole event, with the text people wrote into Keycloak (C(group_path), C(group_name), C(username),
    C(representation), C(resource_path), C(realm), C(by), the offerings' names and paths, C(store_group),
    C(change)), goes to the file C(<event_dir>/<ref>.json); a playbook reads it with
    M(waldur.keycloak.keycloak_admin_event_info), whose result Ansible never renders. Without O(event_dir)
    (and O(state_file)) C(ref) is null and no file is written.
  - With O(store), each event also has C(offerings), the offerings of the store whose groups it touches
    (a linked group by its C(backend_id), the offering's group C(/<base_group>/<slug>) or anything below it,
    or an ancestor of it), each as C(uuid) in the emitted event (and with C(name), C(slug), C(path) in the
    file); an empty list when none.
  - It logs in once with the collection's client (token refresh, retries) and starts at the newest event
    (history is not replayed). With O(state_file) a restarted source resumes exactly after the last event
    it emitted. It never emits the same event twice, also when several share one millisecond.
  - When Keycloak cannot be reached or answers with an error, it logs that once, backs off (doubling the
    interval up to O(max_backoff)), logs once when Keycloak answers again, and goes on where it stopped.
  - The realm must record admin events (C(adminEventsEnabled)); with C(adminEventsDetailsEnabled) the events
    carry the group's path and the representation. C(waldur.keycloak.keycloak_connection_test) says whether
    they are on; docs/events.md says how to switch them on.
  - Takes the collection's connection options and their C(KEYCLOAK_*) environment variables.
options:
  realm:
    description: The realm whose admin events to follow.
    type: str
    required: true
  url:
    description: Base URL of Keycloak (also C(auth_keycloak_url)); falls back to E(KEYCLOAK_URL).
    type: str
  auth_realm:
    description: Realm that issues the admin token; falls back to E(KEYCLOAK_AUTH_REALM), then C(master).
    type: str
  username:
    description: Admin user for the password grant (also C(auth_username)); falls back to E(KEYCLOAK_USERNAME).
    type: str
  password:
    description: Password of O(username) (also C(auth_password)); falls back to E(KEYCLOAK_PASSWORD).
    type: str
  client_id:
    description: Client that obtains the token (also C(auth_client_id)); E(KEYCLOAK_CLIENT_ID), then C(admin-cli).
    type: str
  client_secret:
    description: Secret of O(client_id) (also C(secret), C(auth_client_secret)); falls back to E(KEYCLOAK_CLIENT_SECRET).
    type: str
  token:
    description: A ready-made bearer token; falls back to E(KEYCLOAK_TOKEN). It cannot be refreshed.
    type: str
  validate_certs:
    description: Verify Keycloak's TLS certificate; falls back to E(KEYCLOAK_VALIDATE_CERTS).
    type: bool
    default: true
  ca_path:
    description: CA bundle that signed the server certificate; falls back to E(KEYCLOAK_CA_PATH).
    type: str
  connection_timeout:
    description: Seconds to wait for one answer; falls back to E(KEYCLOAK_TIMEOUT).
    type: int
    default: 10
  poll_interval:
    description: Seconds between two polls while Keycloak answers. One poll of a quiet realm is one request.
    type: float
    default: 5
  max_backoff:
    description: Longest wait, in seconds, between two attempts while Keycloak cannot be reached.
    type: float
    default: 60
  page_size:
    description: Events asked for per request.
    type: int
    default: 100
  state_file:
    description:
      - A JSON file where the source keeps its position (time and ids of the last events it emitted),
        written atomically after every event; a restart resumes from it. Without it, a restart starts
        at the newest event again.
    type: str
  event_dir:
    description:
      - The directory where the whole events are written, one file C(<ref>.json) each (mode 0700 directory);
        the newest 1000 are kept. Defaults to C(<state_file>.events) with O(state_file), else none.
    type: str
  store:
    description:
      - The collection's store file; each event then names the offerings it touches (C(offerings)).
      - Read again when the file changes. Falls back to E(WALDUR_KEYCLOAK_STORE).
    type: str
  coalesce:
    description:
      - Put one event on the queue per offering per poll, standing for every change of that poll that touches the
        offering (C(refs), oldest first, and C(count); the other keys are the oldest change's, C(offerings) only
        that offering), and one for the changes that touch none; so that changes that arrive together start one
        run. Without it, one event per change.
    type: bool
    default: false
notes:
  - The collection's own changes are not emitted. Before and after it runs C(keycloak_offering_sync), the playbook
    C(waldur.keycloak.eda_drift_report) leaves a record in C(<event_dir>/own/) (the offering, and when finished the
    sync's C(plan)); while an offering's sync runs, the source holds back the changes that touch it, then drops for
    that offering each change that is exactly one of the plan's (the same operation, group and member), once.
    Every other change, one made by hand during the sync included, is emitted as usual.
"""

EXAMPLES = r"""
- name: Keycloak group changes
  hosts: localhost
  sources:
    - waldur.keycloak.keycloak_admin_events:
        realm: hpc
        url: https://sso.example.com       # or KEYCLOAK_URL; credentials from KEYCLOAK_USERNAME/PASSWORD
        store: /srv/keycloak/offerings.yml
        state_file: /var/lib/eda/keycloak-hpc.json  # whole events in /var/lib/eda/keycloak-hpc.json.events/
        poll_interval: 5
  rules:
    - name: Show every change that touches an offering
      condition: event.keycloak.offerings is selectattr('uuid', '!=', '')
      action:
        debug:
          msg: "{{ event.keycloak.operation }} {{ event.keycloak.resource_type }} {{ event.keycloak.ref }}"
"""

import asyncio
import json
import logging
import os
import sys
import tempfile
import time

try:
    from ansible_collections.waldur.keycloak.plugins.module_utils import _client, _connection, _events, _store
except ImportError:
    # ansible-rulebook runs this file by path: make the collections tree that holds it importable.
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 7)))
    from ansible_collections.waldur.keycloak.plugins.module_utils import _client, _connection, _events, _store

LOGGER = logging.getLogger("waldur.keycloak.keycloak_admin_events")

# Event files kept in event_dir (the newest; older ones are removed as new ones come).
EVENT_FILES_KEPT = 1000
# Paths the source remembers (group id -> path); past this many it forgets them all and learns anew.
KNOWN_PATHS_LIMIT = 10000
# Where the drift playbook records the syncs it runs (event_dir/own/<offering>-<start>.json).
OWN_DIR = "own"
# A sync still running after this many seconds belongs to a run that died: its offering is no longer held back.
OWN_RUNNING_LIMIT = 600
# The changes of a finished sync that no poll has seen after this many seconds are forgotten (the file removed).
OWN_KEPT = 600


class SourceError(Exception):
    """A configuration the source cannot run with: one line that says what and where."""


def _number(args, name, default, kind=float, minimum=0):
    value = args.get(name, default)
    try:
        value = kind(value)
    except (TypeError, ValueError):
        raise SourceError("keycloak_admin_events: %s must be a number, not %r" % (name, value))
    if value <= minimum:
        raise SourceError("keycloak_admin_events: %s must be greater than %s, not %r" % (name, minimum, value))
    return value


def _boolean(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off", "n", "f")


class AdminEventSource(object):
    """The blocking half: Keycloak calls, the store and the state file (run in a thread by ``main``)."""

    def __init__(self, args):
        self.realm = args.get("realm")
        if not self.realm:
            raise SourceError("keycloak_admin_events: realm is required (the realm whose admin events to follow)")
        self.poll_interval = _number(args, "poll_interval", 5)
        self.max_backoff = max(_number(args, "max_backoff", 60), self.poll_interval)
        self.page_size = int(_number(args, "page_size", _client.DEFAULT_PAGE_SIZE, int))
        self.state_file = args.get("state_file") or None
        self.event_dir = args.get("event_dir") or (self.state_file + ".events" if self.state_file else None)
        store = args.get("store") or os.environ.get("WALDUR_KEYCLOAK_STORE") or None
        self.store = _store.Store(store) if store else None
        try:
            # The connection options, their names and KEYCLOAK_* fallbacks: one adapter for modules, plugins and this.
            self.client = _connection.ConnectionOptions.from_mapping(args).client()
        except _client.KeycloakError as exc:
            raise SourceError("keycloak_admin_events: %s" % exc.message)
        self.cursor = self._load_state()
        self.known_paths = {}
        self.index = None
        self._store_stamp = None
        self._roots_resolved = False
        self._date_from = True
        self.coalesce = _boolean(args.get("coalesce", False))
        # Items of the sync records already matched by a change: {file name: set of item indexes}.
        self._own_seen = {}

    # ------------------------------------------------------------ state

    def _load_state(self):
        if not self.state_file or not os.path.exists(self.state_file):
            return _events.Cursor()
        try:
            with open(self.state_file) as stream:
                data = json.load(stream)
        except (OSError, ValueError) as exc:
            raise SourceError("keycloak_admin_events: state_file %s cannot be read: %s" % (self.state_file, exc))
        try:
            cursor = _events.Cursor.from_dict(data.get("cursor") if isinstance(data, dict) else None,
                                              "state_file %s" % self.state_file)
        except ValueError as exc:
            raise SourceError("keycloak_admin_events: %s" % exc)
        if data.get("realm") != self.realm:
            raise SourceError("keycloak_admin_events: state_file %s follows realm '%s', not '%s'"
                              % (self.state_file, data.get("realm"), self.realm))
        return cursor

    def save_state(self):
        if not self.state_file:
            return
        directory = os.path.dirname(os.path.abspath(self.state_file))
        handle, temporary = tempfile.mkstemp(prefix=".keycloak-events.", dir=directory)
        with os.fdopen(handle, "w") as stream:
            json.dump({"realm": self.realm, "cursor": self.cursor.to_dict()}, stream)
        os.replace(temporary, self.state_file)

    # ------------------------------------------------------------ Keycloak

    def _page(self, first):
        date_from = self.cursor.time if (self._date_from and self.cursor.time) else None
        try:
            return self.client.admin_events(self.realm, first, self.page_size, _events.RESOURCE_TYPES, date_from)
        except _client.KeycloakError as exc:
            if exc.status != 400 or date_from is None:
                raise
            # A Keycloak that reads dateFrom only as a date: page back to the cursor without it.
            self._date_from = False
            return self.client.admin_events(self.realm, first, self.page_size, _events.RESOURCE_TYPES)

    def start(self):
        """Log in; without a saved position, stand at the newest event (history is not replayed)."""
        self.client.login()
        # Learn the ids of the offering groups now, while they exist: a later DELETE names only the id.
        self._refresh_index()
        where = "its saved position"
        if not self.cursor.started:
            self.cursor.start_after(self._page(0))
            self.save_state()
            where = "the newest event"
        LOGGER.info("following admin events of realm '%s' after %s (%s)", self.realm, where,
                    _events.parse_event({"time": self.cursor.time}, self.realm)["time_iso"])

    def fetch(self):
        """The events newer than the cursor, oldest first, as raw admin events."""
        raws, first = [], 0
        while True:
            page = self._page(first)
            raws.extend(page)
            # Newest first: a page that reaches the cursor's time holds everything newer.
            if len(page) < self.page_size or any(not self.cursor.is_new(r) for r in page):
                break
            first += self.page_size
        return self.cursor.new_events(raws)

    # ------------------------------------------------------------ offerings

    def _refresh_index(self):
        if self.store is None:
            return
        stamp = os.stat(self.store.path).st_mtime_ns
        if stamp != self._store_stamp:
            self.index = _events.OfferingIndex(self.store.load(), self.realm)
            self._store_stamp = stamp
            self._roots_resolved = False
        if not self._roots_resolved:
            # A DELETE names only the group's id: learn the ids of the offering groups and their ancestors.
            for root in self.index.root_paths():
                segments = [s for s in root.split("/") if s]
                for depth in range(1, len(segments) + 1):
                    path = "/" + "/".join(segments[:depth])
                    group = self.client.group_by_path(self.realm, path)
                    if group:
                        self.known_paths[group["id"]] = path
            self._roots_resolved = True

    def _forget(self, group_id):
        """A group was updated (perhaps renamed): forget its path and those below it; they are looked up again."""
        old = self.known_paths.pop(group_id, None)
        if not old:
            return
        below = old.rstrip("/") + "/"
        for key in [k for k, path in self.known_paths.items() if path.startswith(below)]:
            del self.known_paths[key]
        if self.index is not None and any(root == old or root.startswith(below) for root in self.index.root_paths()):
            self._roots_resolved = False

    def describe(self, raw):
        """The event to emit for one raw admin event."""
        event = _events.parse_event(raw, self.realm)
        if self.store is None:
            return {"keycloak": event}
        if len(self.known_paths) > KNOWN_PATHS_LIMIT:
            self.known_paths.clear()
            self._roots_resolved = False
        self._refresh_index()
        group_id = event["group_id"]
        if group_id and event["operation"] == "UPDATE" and event["resource_type"] == "GROUP":
            self._forget(group_id)
            self._refresh_index()
        _events.learn_path(event, self.known_paths)
        if group_id and group_id not in self.known_paths and not (event["operation"] == "DELETE"
                                                                  and event["resource_type"] == "GROUP"):
            # No details recorded: ask Keycloak where the group is (it may be gone by now).
            group = self.client.get_group(self.realm, group_id)
            if group and group.get("path"):
                self.known_paths[group_id] = group["path"]
        if not event["group_path"] and group_id in self.known_paths:
            event["group_path"] = self.known_paths[group_id]
        store_group = self.index.store_group(group_id)
        if store_group:
            # A linked group deleted outside every offering's tree has no path in the event: the store names it.
            event["store_group"] = store_group
        event["offerings"] = self.index.offerings_for(event, self.known_paths)
        return {"keycloak": event}

    def write(self, event):
        """Write the whole ``event`` (of describe) to its file; its reference (None without event_dir)."""
        full = event["keycloak"]
        if not self.event_dir:
            return None
        ref = _events.event_ref(full)
        full["ref"] = ref
        full["change"] = _events.describe_change(full)
        os.makedirs(self.event_dir, mode=0o700, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".event.", dir=self.event_dir)
        # ASCII with escapes: any text Keycloak gave (a lone surrogate too) is written and read back exactly.
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            json.dump({"keycloak": full}, stream, sort_keys=True)
        os.replace(temporary, os.path.join(self.event_dir, ref + ".json"))
        self._prune_event_files()
        return ref

    def emit(self, event):
        """What goes on the queue for ``event`` (of describe): the slim event; the whole one into its file."""
        ref = self.write(event)
        return {"keycloak": _events.slim_event(event["keycloak"], ref)}

    def emit_together(self, events):
        """With ``coalesce``: what goes on the queue for ``events`` (of one poll, oldest first), one slim event per
        offering they touch and one for those that touch none, each standing for its changes (``refs``)."""
        refs = [self.write(event) for event in events]
        groups = {}
        order = []
        for event, ref in zip(events, refs):
            offerings = event["keycloak"].get("offerings")
            for key in [o["uuid"] for o in offerings] if offerings else [None]:
                if key not in groups:
                    order.append(key)
                    groups[key] = []
                groups[key].append((event, ref))
        emitted = []
        for key in order:
            first = dict(groups[key][0][0]["keycloak"])
            if "offerings" in first:
                first["offerings"] = [o for o in first["offerings"] if o["uuid"] == key]
            group_refs = [ref for _event, ref in groups[key] if ref]
            emitted.append({"keycloak": _events.slim_event(first, group_refs[0] if group_refs else None,
                                                           group_refs)})
        return emitted

    # ------------------------------------------------------------ the collection's own changes

    def _own_records(self):
        """The sync records of the drift playbook in <event_dir>/own that still matter, each with its unmatched items."""
        if not self.event_dir:
            return []
        folder = os.path.join(self.event_dir, OWN_DIR)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
        except OSError:
            return []
        now = time.time()
        records = []
        for name in names:
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="utf-8") as stream:
                    data = json.load(stream)
                started, finished = float(data["started"]), data.get("finished")
                finished = None if finished in (None, "") else float(finished)
                offering = str(data["offering"])
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                continue  # not one of the playbook's records
            seen = self._own_seen.setdefault(name, set())
            items = [(index, item) for index, item in enumerate(_events.own_changes(data.get("plan")))
                     if index not in seen]
            stale = now - started > OWN_RUNNING_LIMIT if finished is None else now - finished > OWN_KEPT
            if stale or (finished is not None and not items):
                self._own_seen.pop(name, None)
                try:
                    os.remove(path)
                except OSError:
                    pass
                continue
            records.append({"name": name, "offering": offering, "running": finished is None, "items": items})
        return records

    def settle(self, events):
        """Of ``events`` (of describe, oldest first): how many are handled now, and those of them to emit.

        While a sync of an offering runs, the changes from the first one that touches it on wait for the next poll
        (its own changes are told apart only once the playbook recorded them). A change that is one of a finished
        sync's items is dropped for that offering, once; a change left with no offering it touched is not emitted.
        """
        records = self._own_records()
        running = set(r["offering"] for r in records if r["running"])
        kept = []
        for handled, event in enumerate(events):
            full = event["keycloak"]
            touched = full.get("offerings") or []
            if running.intersection(o["uuid"] for o in touched):
                return handled, kept
            remaining = []
            for offering in touched:
                if not self._own_match(full, offering["uuid"], records):
                    remaining.append(offering)
            if touched and not remaining:
                LOGGER.info("%s: the collection's own sync made it; nothing to run", _events.describe_change(full))
                continue
            if touched:
                full["offerings"] = remaining
            kept.append(event)
        return len(events), kept

    def _own_match(self, full, offering, records):
        for record in records:
            if record["running"] or record["offering"] != offering:
                continue
            for position, (index, item) in enumerate(record["items"]):
                if _events.is_own_change(full, item):
                    self._own_seen.setdefault(record["name"], set()).add(index)
                    del record["items"][position]
                    return True
        return False

    def _prune_event_files(self):
        names = sorted((n for n in os.listdir(self.event_dir) if n.endswith(".json") and _events.valid_ref(n[:-5])),
                       key=lambda n: int(n.split("-", 1)[0]))
        for name in names[:max(0, len(names) - EVENT_FILES_KEPT)]:
            try:
                os.remove(os.path.join(self.event_dir, name))
            except OSError:
                pass


async def main(queue, args):
    """Put one event per group or membership change of ``args['realm']`` on ``queue``, forever."""
    source = AdminEventSource(args)
    delay = source.poll_interval
    down_since = None
    started = False
    while True:
        try:
            if not started:
                await asyncio.to_thread(source.start)
                started = True
            raws = await asyncio.to_thread(source.fetch)
            events = []
            for index, raw in enumerate(raws):
                event = await asyncio.to_thread(source.describe, raw)
                event["index"] = index
                events.append(event)
            handled, kept = await asyncio.to_thread(source.settle, events)
            if source.coalesce:
                for emitted in await asyncio.to_thread(source.emit_together, kept):
                    await queue.put(emitted)
            else:
                for event in kept:
                    await queue.put(await asyncio.to_thread(source.emit, event))
                    # Position saved after every event: a restart emits none of them again.
                    for raw in raws[:event["index"] + 1]:
                        source.cursor.advance(raw)
                    await asyncio.to_thread(source.save_state)
            for raw in raws[:handled]:
                source.cursor.advance(raw)
            if handled:
                await asyncio.to_thread(source.save_state)
            if down_since is not None:
                LOGGER.warning("Keycloak at %s answers again after %.0f s; following realm '%s' from where it stopped",
                               source.client.base_url, time.monotonic() - down_since, source.realm)
                down_since = None
            delay = source.poll_interval
        except (_client.KeycloakError, _store.StoreError) as exc:
            if down_since is None:
                down_since = time.monotonic()
                LOGGER.warning("keycloak_admin_events: %s; retrying with backoff (up to every %.0f s), "
                               "without a word until it works again", exc, source.max_backoff)
            delay = min(source.max_backoff, delay * 2)
        await asyncio.sleep(delay)


if __name__ == "__main__":
    # Try it by hand: python keycloak_admin_events.py <realm> (KEYCLOAK_* in the environment).

    class _PrintQueue(object):
        async def put(self, event):
            print(json.dumps(event), flush=True)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), {"realm": sys.argv[1], "poll_interval": 2}))
