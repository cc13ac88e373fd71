# -*- coding: utf-8 -*-
"""The rulebook waldur.keycloak.drift, run by ansible-rulebook against the real Keycloak, as an operator runs it.

Changes are made by hand with the raw-HTTP client (kc.RawAdmin); what the rulebook did is read from the files its
playbook writes (one note per run under events/, one report directory per offering). The source reaches Keycloak
through a recording proxy, so that "caught within a bounded number of polls" is counted in polls, not seconds.
"""

import os
import time

import pytest

from edakit import RecordingProxy, Rulebook, wait_for

pytestmark = pytest.mark.timeout(600)

# Polls between a change and the first answer that holds it: the poll in flight when the change is made,
# and the next one.
MAX_POLLS = 2
# Only stops a hung test (a drift report run takes a few seconds): never an assertion on speed.
PATIENCE = 180
# Seconds without a run starting or ending after which the rulebook is quiet (many polls at poll_interval 1).
QUIET = 12


@pytest.fixture
def proxy(keycloak_url):
    with RecordingProxy(keycloak_url) as running:
        yield running


@pytest.fixture
def rulebook(offerings, proxy):
    running = Rulebook(offerings, proxy.url, poll_interval=1)
    yield running
    running.stop()


def test_hand_made_drift_runs_the_report_of_exactly_that_offering(admin, offerings, proxy, rulebook):
    realm = offerings.realm
    rulebook.start()
    admins = offerings.group_id("/svc/alpha/alpha-admins")
    users = offerings.group_id("/svc/alpha/alpha-users")

    changed = time.monotonic()
    admin.delete_group(realm, admins)
    admin.leave(realm, offerings.users["alice"], users)

    # Both changes reach the source within MAX_POLLS polls each.
    deleted_in = wait_for(lambda: proxy.polls_until_seen(changed, "groups/" + admins), 60, "the DELETE in a poll")
    membership = "users/%s/groups/%s" % (offerings.users["alice"], users)
    left_in = wait_for(lambda: proxy.polls_until_seen(changed, membership), 60, "the membership removal in a poll")
    assert deleted_in <= MAX_POLLS and left_in <= MAX_POLLS

    def both_drifts():
        report = rulebook.report("Alpha")
        text = str(report) if report else ""
        return report if (admins in text or "alpha-admins" in text) and "alice" in text and report["drift"] else None

    report = wait_for(both_drifts, PATIENCE, "a drift report of Alpha naming both drifts")
    (entry,) = report["offerings"]
    assert entry["name"] == "Alpha" and entry["drift"]
    markdown = open(rulebook.report_path("Alpha", "drift-report.md")).read()
    assert "alpha-admins" in markdown and "alice" in markdown
    # Exactly that offering: Beta, untouched, got no report; every run was for Alpha's events.
    assert rulebook.report_dirs() == [offerings.ids["Alpha"]]
    notes = wait_for(lambda: sum(len(n["events"]) for n in rulebook.notes().values()) >= 2 and rulebook.notes(),
                     PATIENCE, "a note naming each change")
    assert sorted(e["operation"] + " " + e["resource_type"] for n in notes.values() for e in n["events"]) == \
        ["DELETE GROUP", "DELETE GROUP_MEMBERSHIP"]
    assert all([o["name"] for o in e["offerings"]] == ["Alpha"] for n in notes.values() for e in n["events"])
    # Changes that came in one poll start one run (the source's coalesce); else one run each.
    assert len(notes) == (1 if deleted_in == left_in else 2), (deleted_in, left_in, notes)
    assert rulebook.settle(QUIET) == len(notes)


def test_changes_outside_every_offering_trigger_nothing_and_a_restart_replays_nothing(
        admin, offerings, proxy, rulebook):
    realm = offerings.realm
    rulebook.start()
    bob, users = offerings.users["bob"], offerings.group_id("/svc/alpha/alpha-users")

    # Outside every offering: a top-level group, a subgroup of it, a membership in it, a sibling of /svc/alpha
    # whose name starts alike.
    outside = admin.create_group(realm, "staff")
    sub = admin.create_group(realm, "interns", parent_id=outside)
    admin.join(realm, bob, sub)
    admin.create_group(realm, "alphabet", parent_id=offerings.group_id("/svc"))
    # A sentinel inside Alpha, made after them: once its report ran, the source has been past them all.
    changed = time.monotonic()
    admin.leave(realm, bob, users)
    sentinel = wait_for(lambda: [n for n in rulebook.notes().values() if n["event"]["user_id"] == bob
                                 and n["event"]["group_id"] == users], PATIENCE, "the sentinel's report")
    assert proxy.polls_until_seen(changed, "users/%s/groups/%s" % (bob, users)) <= MAX_POLLS
    wait_for(lambda: rulebook.runs_finished() >= 1, PATIENCE, "the sentinel's report to finish")
    notes = rulebook.notes()
    assert [n["event"]["group_id"] for n in notes.values()] == [users], "only the change inside Alpha ran a report"
    assert rulebook.report_dirs() == [offerings.ids["Alpha"]]
    before = dict((key, note["mtime_ns"]) for key, note in notes.items())

    # Restart. A change made while the rulebook is down is caught after the restart (it resumes from its
    # state file, not from "now"), and nothing it had already handled runs again.
    rulebook.stop()
    admin.join(realm, bob, users)
    rulebook.start()
    rejoined = wait_for(lambda: [n for n in rulebook.notes().values()
                                 if n["event"]["operation"] == "CREATE" and n["event"]["user_id"] == bob],
                        PATIENCE, "the report of the change made while the rulebook was down")
    assert len(rejoined) == 1
    # One more change after the restart: when its report ran, any replay would have run before it.
    admin.leave(realm, offerings.users["alice"], users)
    wait_for(lambda: [n for n in rulebook.notes().values() if n["event"]["user_id"] == offerings.users["alice"]],
             PATIENCE, "the report of a change after the restart")
    # Actions may run side by side: let every run finish before counting them.
    wait_for(lambda: rulebook.runs_finished() >= 3, PATIENCE, "every report to finish")
    time.sleep(3)  # a replayed event would have started its run by now, right after the restart
    after = rulebook.notes()
    assert rulebook.runs_finished() == 3, rulebook.output()[-3000:]
    assert dict((key, after[key]["mtime_ns"]) for key in before) == before, "an old event ran its report again"
    assert len(after) == 3
    assert sentinel[0]["event"]["id"] in after
    assert "Traceback" not in rulebook.output()


def test_with_sync_opted_in_the_rulebook_repairs_the_drift_in_one_run_per_hand_change(admin, offerings, proxy):
    """sync: true - the sync puts back the deleted group and the removed member; its own changes (admin events
    too) start no other run: one run per hand change."""
    realm = offerings.realm
    rulebook = Rulebook(offerings, proxy.url, poll_interval=1, sync=True)
    try:
        rulebook.start()
        admins = offerings.group_id("/svc/alpha/alpha-admins")
        users = offerings.group_id("/svc/alpha/alpha-users")

        admin.delete_group(realm, admins)
        wait_for(lambda: (admin.group_by_path(realm, "/svc/alpha/alpha-admins") or {}).get("id") not in (None, admins)
                 and admin.member_names(realm, admin.group_by_path(realm, "/svc/alpha/alpha-admins")["id"])
                 == ["alice", "bob"], PATIENCE, "the sync to re-create alpha-admins with its members")
        after_delete = rulebook.settle(QUIET)

        admin.leave(realm, offerings.users["alice"], users)
        wait_for(lambda: admin.member_names(realm, users) == ["alice", "bob"], PATIENCE, "the sync to put alice back")
        after_leave = rulebook.settle(QUIET)
        print("sync: true - runs per hand change: %d, %d" % (after_delete, after_leave - after_delete))
        assert (after_delete, after_leave) == (1, 2), rulebook.output()[-6000:]
        # Each run stood for exactly its hand change; the sync's own changes ran nothing.
        changes = sorted(c for n in rulebook.notes().values() for c in n["changes"])
        assert len(changes) == 2 and changes[0].startswith("DELETE GROUP ") and admins in changes[0], changes
        assert changes[1] == "DELETE GROUP_MEMBERSHIP /svc/alpha/alpha-users (alice)", changes
        # Beta was never touched by the rulebook; every sync record was matched and removed.
        assert rulebook.report_dirs() == [offerings.ids["Alpha"]]
        assert os.listdir(rulebook.state_file + ".events/own") == []
    finally:
        rulebook.stop()
