# -*- coding: utf-8 -*-
"""The source's ``coalesce`` option and the collection's own changes, through ``main(queue, args)`` against the real
Keycloak: the changes of one poll start one event per offering; the changes a sync of the collection made (recorded
by the drift playbook in <event_dir>/own/) start none, while a hand change made among them still does.
"""

import json
import logging
import os
import time

import pytest

import playbook
from test_event_source import SOURCE_LOGGER, Follower, source_args, wait_started

pytestmark = pytest.mark.timeout(300)


def read(event_dir, ref):
    with open(os.path.join(event_dir, ref + ".json"), encoding="utf-8") as stream:
        return json.load(stream)["keycloak"]


def record(event_dir, offering, started, finished=None, plan=None):
    """What playbooks/eda_drift_report.yml writes around its sync (the same keys, written atomically)."""
    folder = os.path.join(event_dir, "own")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "%s-%d.json" % (offering, int(started * 1000)))
    with open(path + ".tmp", "w") as stream:
        json.dump({"offering": offering, "started": started, "finished": finished, "plan": plan}, stream)
    os.replace(path + ".tmp", path)
    return path


def test_the_changes_of_one_poll_are_one_event_per_offering(admin, offerings, keycloak_url, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm = offerings.realm
    state = str(tmp_path / "state.json")
    args = source_args(realm, keycloak_url, store=offerings.store, state_file=state, coalesce=True)
    with Follower(args):
        wait_started(caplog)  # stands at the newest event, saved
    # Made while the source is stopped: its first poll after the restart reads them all at once.
    users, admins = offerings.group_id("/svc/alpha/alpha-users"), offerings.group_id("/svc/alpha/alpha-admins")
    admin.leave(realm, offerings.users["alice"], users)
    admin.leave(realm, offerings.users["bob"], admins)
    admin.leave(realm, offerings.users["bob"], offerings.group_id("/svc/beta/beta-users"))
    admin.create_group(realm, "staff")
    with Follower(args) as follower:
        emitted = [follower.queue_get() for _n in range(3)]
        time.sleep(1.5)  # several polls: nothing more comes
        assert follower.pending() == 0
    alpha, beta, none = emitted
    assert alpha["offerings"] == [{"uuid": offerings.ids["Alpha"]}] and alpha["count"] == 2
    assert [read(state + ".events", r)["change"] for r in alpha["refs"]] == [
        "DELETE GROUP_MEMBERSHIP /svc/alpha/alpha-users (alice)", "DELETE GROUP_MEMBERSHIP /svc/alpha/alpha-admins (bob)"]
    assert alpha["ref"] == alpha["refs"][0] and alpha["user_id"] == offerings.users["alice"]
    assert beta["offerings"] == [{"uuid": offerings.ids["Beta"]}] and beta["count"] == 1
    assert read(state + ".events", beta["ref"])["change"] == "DELETE GROUP_MEMBERSHIP /svc/beta/beta-users (bob)"
    assert none["offerings"] == [] and none["count"] == 1


def test_the_syncs_own_changes_start_nothing_and_a_hand_change_among_them_does(
        admin, offerings, keycloak_url, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm, alpha = offerings.realm, offerings.ids["Alpha"]
    state = str(tmp_path / "state.json")
    events = state + ".events"
    with Follower(source_args(realm, keycloak_url, store=offerings.store, state_file=state,
                              coalesce=True)) as follower:
        wait_started(caplog)
        admins = offerings.group_id("/svc/alpha/alpha-admins")
        admin.delete_group(realm, admins)  # by hand
        first = follower.queue_get()
        assert first["offerings"] == [{"uuid": alpha}]
        assert [read(events, r)["group_id"] for r in first["refs"]] == [admins]

        # As the drift playbook does: record that the sync runs, sync, record what it did. A hand change lands
        # among the sync's own changes (the source holds the offering's changes back while the sync runs).
        started = time.time()
        record(events, alpha, started)
        result = playbook.run_module("keycloak_offering_sync",
                                     {"store": offerings.store, "offering": alpha, "relink": True})
        assert not result.get("failed"), result
        assert [e["action"] for e in result["plan"] if e["action"] in ("create_group", "add_member")] == \
            ["create_group", "add_member", "add_member"]
        users = offerings.group_id("/svc/alpha/alpha-users")
        admin.leave(realm, offerings.users["bob"], users)  # by hand, during the sync
        time.sleep(1.5)  # several polls while the record says the sync runs: nothing is emitted
        assert follower.pending() == 0
        path = record(events, alpha, started, time.time(), result["plan"])

        second = follower.queue_get()
        assert second["offerings"] == [{"uuid": alpha}]
        assert [read(events, r)["change"] for r in second["refs"]] == [
            "DELETE GROUP_MEMBERSHIP /svc/alpha/alpha-users (bob)"], "only the hand change, not the sync's"
        time.sleep(1.5)
        assert follower.pending() == 0
        # Every change of the record was seen: the record is gone.
        assert not os.path.exists(path)
    own = [r.getMessage() for r in caplog.records if "own sync made it" in r.getMessage()]
    assert sorted(own) == sorted([
        "CREATE GROUP /svc/alpha/alpha-admins: the collection's own sync made it; nothing to run",
        "CREATE GROUP_MEMBERSHIP /svc/alpha/alpha-admins (alice): the collection's own sync made it; nothing to run",
        "CREATE GROUP_MEMBERSHIP /svc/alpha/alpha-admins (bob): the collection's own sync made it; nothing to run"])


def test_a_sync_that_never_finished_holds_its_offering_back_only_for_a_while(
        admin, offerings, keycloak_url, tmp_path, caplog):
    """A run that died between its two records: its offering's changes wait OWN_RUNNING_LIMIT, then come."""
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    realm, alpha = offerings.realm, offerings.ids["Alpha"]
    state = str(tmp_path / "state.json")
    events = state + ".events"
    limit = 2
    with Follower(source_args(realm, keycloak_url, store=offerings.store, state_file=state, coalesce=True),
                  patch={"OWN_RUNNING_LIMIT": limit}) as follower:
        wait_started(caplog)
        path = record(events, alpha, time.time())
        admin.leave(realm, offerings.users["bob"], offerings.group_id("/svc/alpha/alpha-users"))
        admin.leave(realm, offerings.users["bob"], offerings.group_id("/svc/beta/beta-users"))
        time.sleep(1)  # several polls: Alpha's change is held, and Beta's, which came after it, waits in order
        assert follower.pending() == 0
        got = [follower.queue_get(timeout=30), follower.queue_get(timeout=30)]
        assert [[o["uuid"] for o in e["offerings"]] for e in got] == [[alpha], [offerings.ids["Beta"]]]
        assert not os.path.exists(path)
