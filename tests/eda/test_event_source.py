# -*- coding: utf-8 -*-
"""The event source through its documented entry point ``main(queue, args)``, with a real asyncio queue, against
the real Keycloak: what one event says, realms without details, Keycloak going away and coming back, bad input.

The source is loaded by path, as ansible-rulebook loads it. Keycloak is reached through a proxy that the tests stop
(connection refused) and start again on the same port.
"""

import asyncio
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid

import pytest
import yaml

from edakit import RecordingProxy, load_source

pytestmark = pytest.mark.timeout(300)

SOURCE_LOGGER = "waldur.keycloak.keycloak_admin_events"


class Follower(object):
    """The source running as an asyncio task in a thread of its own event loop, its events on a real queue."""

    def __init__(self, args, patch=None):
        self.args = args
        self.patch = patch or {}
        self.loop = asyncio.new_event_loop()
        self.queue = None
        self.task = None

    def __enter__(self):
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.queue = asyncio.Queue()
            try:
                main = load_source()["main"]
                main.__globals__.update(self.patch)  # the module's own constants, for a test that needs them small
                self.task = self.loop.create_task(main(self.queue, self.args))
            finally:
                ready.set()
            try:
                self.loop.run_until_complete(self.task)
            except asyncio.CancelledError:
                pass

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(30)
        assert self.task is not None, "the source could not be loaded (see the thread's exception above)"
        return self

    def __exit__(self, *exc):
        if self.task is None:
            return
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(30)

    def queue_get(self, timeout=60):
        """The next event as emitted (checked to hold no text)."""
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(self.queue.get(), timeout), self.loop)
        slim = future.result(timeout + 5)["keycloak"]
        assert_slim(slim)
        return slim

    def next(self, timeout=60):
        """The next event: the whole one, from the file the emitted one refers to (checked to hold no text)."""
        slim = self.queue_get(timeout)
        state_file = self.args.get("state_file")
        event_dir = self.args.get("event_dir") or (state_file + ".events" if state_file else None)
        if not event_dir:
            return slim
        with open(os.path.join(event_dir, slim["ref"] + ".json"), encoding="utf-8") as stream:
            full = json.load(stream)["keycloak"]
        assert full["ref"] == slim["ref"]
        for key, value in slim.items():
            if key != "offerings":
                assert full[key] == value, key
        assert slim.get("offerings") == [{"uuid": o["uuid"]} for o in full.get("offerings", [])] or \
            "offerings" not in full
        return full

    def pending(self):
        return self.queue.qsize()

    def failure(self):
        if self.task is not None and self.task.done() and not self.task.cancelled():
            return self.task.exception()
        return None


# What the emitted event may hold: ids, times and fixed words, nothing a template or YAML could read as syntax.
SLIM_KEYS = {"id", "time", "time_iso", "operation", "resource_type", "group_id", "parent_group_id", "user_id",
             "details", "ref", "offerings", "refs", "count"}


def assert_slim(event):
    assert set(event) <= SLIM_KEYS, sorted(set(event) - SLIM_KEYS)
    values = [v for k, v in event.items() if k not in ("offerings", "refs")] + \
        [o["uuid"] for o in event.get("offerings", [])] + list(event.get("refs", []))
    for value in values:
        assert value is None or isinstance(value, (bool, int)) or re.match(r"^[A-Za-z0-9_.:-]+$", value), value
    assert all(set(o) == {"uuid"} for o in event.get("offerings", []))


def source_args(realm, url, **extra):
    args = {"realm": realm, "url": url, "poll_interval": 0.3, "max_backoff": 1}
    if "event_dir" not in extra and "state_file" not in extra:
        args["event_dir"] = tempfile.mkdtemp(prefix="keycloak-events-")
    args.update(extra)
    return args


def wait_started(caplog, count=1):
    deadline = time.monotonic() + 60
    while sum("following admin events" in r.getMessage() for r in caplog.records) < count:
        assert time.monotonic() < deadline, "the source did not start"
        time.sleep(0.1)


def test_one_event_per_change_with_what_changed(admin, offerings, keycloak_url, caplog):
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm, alice = offerings.realm, offerings.users["alice"]
    users = offerings.group_id("/svc/alpha/alpha-users")
    with Follower(source_args(realm, keycloak_url, store=offerings.store)) as follower:
        wait_started(caplog)
        admin.leave(realm, alice, users)
        created = admin.create_group(realm, "hand-made", parent_id=offerings.group_id("/svc/beta"))
        admin.rename_group(realm, created, "renamed")
        staff = admin.create_group(realm, "staff")
        removed = follower.next()
        assert removed["operation"] == "DELETE" and removed["resource_type"] == "GROUP_MEMBERSHIP"
        assert (removed["user_id"], removed["username"], removed["group_id"]) == (alice, "alice", users)
        assert removed["group_path"] == "/svc/alpha/alpha-users" and removed["realm"] == realm
        assert removed["resource_path"] == "users/%s/groups/%s" % (alice, users)
        assert removed["time"] > 0 and removed["time_iso"].endswith("Z") and removed["details"] is True
        assert [o["name"] for o in removed["offerings"]] == ["Alpha"]
        child = follower.next()
        assert (child["operation"], child["group_id"], child["group_name"]) == ("CREATE", created, "hand-made")
        assert [o["name"] for o in child["offerings"]] == ["Beta"]
        renamed = follower.next()
        assert (renamed["operation"], renamed["representation"]["name"]) == ("UPDATE", "renamed")
        assert [o["name"] for o in renamed["offerings"]] == ["Beta"]
        top = follower.next()
        assert (top["group_id"], top["offerings"]) == (staff, [])
        assert follower.pending() == 0


def test_a_path_sent_in_a_groups_body_is_not_believed(admin, offerings, keycloak_url, caplog):
    """Keycloak records the request's body as the representation, "path" included, which it ignores: a client can
    write any path there. The event names the group by where it really is."""
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm = offerings.realm
    beta, users = offerings.group_id("/svc/beta"), offerings.group_id("/svc/alpha/alpha-users")
    with Follower(source_args(realm, keycloak_url, store=offerings.store)) as follower:
        wait_started(caplog)
        admin.call("POST", "/realms/%s/groups/%s/children" % (realm, beta),
                   json={"name": "kid", "path": "/svc/alpha/kid"})
        admin.call("PUT", "/realms/%s/groups/%s" % (realm, users),
                   json={"name": "alpha-users-2", "path": "/svc/beta/claimed"})
        created, renamed = follower.next(), follower.next()
        assert created["group_path"] == "/svc/beta/kid" and created["change"] == "CREATE GROUP /svc/beta/kid"
        assert [o["name"] for o in created["offerings"]] == ["Beta"]
        assert renamed["group_path"] == "/svc/alpha/alpha-users-2"
        assert renamed["change"] == "UPDATE GROUP /svc/alpha/alpha-users-2"
        assert [o["name"] for o in renamed["offerings"]] == ["Alpha"]


def test_a_deleted_linked_group_outside_the_offering_is_named_by_its_store_record(
        admin, offerings, keycloak_url, caplog):
    """A DELETE names only the group's id; a linked group outside every offering's tree has no path the source
    knew: the event names it by the store record linked to it, not by a path guessed from the naming rule."""
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm = offerings.realm
    staff = admin.create_group(realm, "staff")
    team = admin.create_group(realm, "team", parent_id=staff)
    with open(offerings.store) as stream:
        data = yaml.safe_load(stream)
    alpha = [o for o in data["offerings"] if o["name"] == "Alpha"][0]
    data["groups"].append({"uuid": str(uuid.uuid4()), "offering": alpha["uuid"], "role": alpha["roles"][0]["uuid"],
                           "scope_id": "team", "name": "staff-team", "backend_id": team, "members": []})
    with open(offerings.store, "w") as stream:
        yaml.safe_dump(data, stream, sort_keys=False)
    with Follower(source_args(realm, keycloak_url, store=offerings.store)) as follower:
        wait_started(caplog)
        admin.delete_group(realm, team)
        deleted = follower.next()
        assert (deleted["operation"], deleted["group_id"], deleted["group_path"]) == ("DELETE", team, None)
        assert deleted["store_group"]["name"] == "staff-team", deleted.get("representation")
        assert deleted["change"] == 'DELETE GROUP "team" (path unknown; store record "staff-team"; group %s)' % team
        assert [o["name"] for o in deleted["offerings"]] == ["Alpha"]


def test_without_details_the_source_maps_through_the_store_and_lookups(admin, offerings, keycloak_url, caplog):
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm = offerings.realm
    admin.call("PUT", "/realms/" + realm, json={"adminEventsEnabled": True, "adminEventsDetailsEnabled": False})
    beta_root = offerings.group_id("/svc/beta")
    with Follower(source_args(realm, keycloak_url, store=offerings.store)) as follower:
        wait_started(caplog)
        admin.leave(realm, offerings.users["bob"], offerings.group_id("/svc/alpha/alpha-admins"))
        admin.delete_group(realm, beta_root)  # the offering's own group: known by the ids resolved at start
        first, second = follower.next(), follower.next()
        assert "representation" not in first and first["details"] is False
        assert [o["name"] for o in first["offerings"]] == ["Alpha"]
        assert first["group_path"] == "/svc/alpha/alpha-admins"
        assert (second["operation"], second["group_id"]) == ("DELETE", beta_root)
        assert [o["name"] for o in second["offerings"]] == ["Beta"]


def test_survives_keycloak_going_away_says_so_once_and_goes_on(admin, events_realm, keycloak_url, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm = events_realm
    proxy = RecordingProxy(keycloak_url).start()
    port = proxy.port
    try:
        state = str(tmp_path / "state.json")
        with Follower(source_args(realm, proxy.url, state_file=state)) as follower:
            wait_started(caplog)
            before = admin.create_group(realm, "before-outage")
            assert follower.next()["group_id"] == before

            proxy.stop()  # connection refused from now on
            during = [admin.create_group(realm, "during-outage-%d" % n) for n in range(3)]
            time.sleep(4)  # several polls and backoffs while nothing answers
            assert follower.pending() == 0 and follower.failure() is None
            proxy = RecordingProxy(keycloak_url, port=port).start()

            caught = [follower.next()["group_id"] for _group in during]
            after = admin.create_group(realm, "after-outage")
            assert follower.next()["group_id"] == after
            assert caught == during, "every change made while Keycloak was unreachable, once, in order"
            time.sleep(1)
            assert follower.pending() == 0
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len([w for w in warnings if "retrying with backoff" in w]) == 1, warnings
        assert "cannot reach Keycloak" in warnings[0]
        assert len([w for w in warnings if "answers again" in w]) == 1, warnings
        assert os.environ["KEYCLOAK_PASSWORD"] not in caplog.text
        with open(state) as stream:
            saved = json.load(stream)
        assert saved["realm"] == realm and saved["cursor"]["time"] > 0
    finally:
        proxy.stop()


def test_keycloak_answering_503_is_an_outage_too(admin, events_realm, keycloak_url, caplog):
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm = events_realm
    with RecordingProxy(keycloak_url) as proxy:
        with Follower(source_args(realm, proxy.url)) as follower:
            wait_started(caplog)
            proxy.rates = [("unavailable", 1.0)]  # Keycloak restarting behind its proxy
            made = admin.create_group(realm, "while-503")
            time.sleep(8)  # longer than the client's own retries (0.5 + 1 + 2 s): the poll fails
            assert follower.pending() == 0 and follower.failure() is None
            proxy.rates = [("unavailable", 0.0)]
            assert follower.next()["group_id"] == made
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "retrying with backoff" in w]) == 1 and "503" in warnings[0], warnings


@pytest.mark.parametrize("args, message", [
    ({}, "realm is required"),
    ({"realm": "r", "poll_interval": "often"}, "poll_interval must be a number"),
    ({"realm": "r", "poll_interval": 0}, "poll_interval must be greater than 0"),
])
def test_bad_options_fail_with_one_line(args, message):
    with pytest.raises(Exception) as error:
        asyncio.run(load_source()["main"](asyncio.Queue(), args))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_state_file_of_another_realm_is_refused(events_realm, keycloak_url, tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"realm": "elsewhere", "cursor": {"time": 5, "keys": []}}))
    with pytest.raises(Exception) as error:
        asyncio.run(load_source()["main"](asyncio.Queue(), source_args(events_realm, keycloak_url,
                                                                       state_file=str(state))))
    assert "follows realm 'elsewhere'" in str(error.value)
