# -*- coding: utf-8 -*-
"""Measure the drift rulebook (docs/events.md, "Figures"): `make bench-events` against the running Keycloak.

1. Hand changes, ``--changes`` of them: membership changes made by hand (RawAdmin) in an offering's group, one at a
   time, the rulebook with ``sync: false``. For each: change -> run start (the time the playbook noted,
   events/<ref>.json) and change -> report written (the mtime of <offering>/drift-report.md, the report a person
   reads, the first of the three files written), from the return of the change's HTTP call. Median and worst of each, and the runs per hand change.
2. ``--sync-changes`` groups deleted by hand with ``sync: true``: runs until the rulebook is quiet again (the sync's
   own changes are admin events too), per hand change.
3. What the source costs while nothing changes: every request it sends through a counting proxy during ``--idle``
   seconds, per minute (polls plus token refreshes).

Goal (docs/events.md): change -> report median within poll_interval + 5 s, and one run per hand change.
Everything runs as an operator runs it: ansible-rulebook -r waldur.keycloak.drift with the shipped options.
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
for folder in ("tests/eda", "tests/integration", "tests/reliability"):
    sys.path.insert(0, os.path.join(REPO, folder))

from edakit import Offerings, RecordingProxy, Rulebook, wait_for  # noqa: E402
from kc import RawAdmin  # noqa: E402

# Seconds without a new run after which the rulebook is taken as quiet (several polls of the default interval).
QUIET = 20


def log(message):
    print("[bench-events %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def mtime(path):
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def hand_changes(admin, offerings, rulebook, count):
    realm = offerings.realm
    users = offerings.group_id("/svc/alpha/alpha-users")
    alice = offerings.users["alice"]
    report = rulebook.report_path("Alpha", "drift-report.md")
    starts, reports = [], []
    runs_before = rulebook.runs_finished()
    for number in range(count):
        runs = rulebook.runs_finished()
        before = set(rulebook.notes())
        if number % 2 == 0:
            admin.leave(realm, alice, users)
        else:
            admin.join(realm, alice, users)
        changed = time.time()
        new = wait_for(lambda: set(rulebook.notes()) - before, 300, "the run of change %d" % number)
        note = rulebook.notes()[sorted(new)[0]]
        starts.append(note["started"] - changed)
        wait_for(lambda: mtime(report) > changed, 300, "the report of change %d" % number)
        reports.append(mtime(report) - changed)
        wait_for(lambda: rulebook.runs_finished() > runs, 300, "the run of change %d to end" % number)
        log("change %2d: run started %.2f s, report written %.2f s after it" % (number + 1, starts[-1], reports[-1]))
    runs = rulebook.settle(QUIET) - runs_before
    return starts, reports, runs


def sync_changes(admin, offerings, rulebook, count):
    realm = offerings.realm
    runs_before = rulebook.runs_finished()
    per_change = []
    for number in range(count):
        start = rulebook.runs_finished()
        group = offerings.group_id("/svc/alpha/alpha-admins")
        admin.delete_group(realm, group)
        wait_for(lambda: (admin.group_by_path(realm, "/svc/alpha/alpha-admins") or {}).get("id") not in (None, group)
                 and admin.member_names(realm, admin.group_by_path(realm, "/svc/alpha/alpha-admins")["id"])
                 == ["alice", "bob"], 300, "the sync to repair deletion %d" % number)
        per_change.append(rulebook.settle(QUIET) - start)
        log("sync: true, group deleted %d: %d runs" % (number + 1, per_change[-1]))
    return per_change, rulebook.runs_finished() - runs_before


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--changes", type=int, default=20, help="hand changes to time (default 20)")
    parser.add_argument("--sync-changes", type=int, default=3,
                        help="groups deleted by hand with sync: true, runs counted (default 3)")
    parser.add_argument("--poll-interval", type=float, default=5, help="the source's poll_interval (default 5)")
    parser.add_argument("--idle", type=float, default=120, help="seconds of quiet to count requests (default 120)")
    options = parser.parse_args(argv)

    admin = RawAdmin(os.environ["KEYCLOAK_URL"], os.environ["KEYCLOAK_USERNAME"], os.environ["KEYCLOAK_PASSWORD"])
    realm = admin.create_realm(adminEventsEnabled=True, adminEventsDetailsEnabled=True)
    workdir = tempfile.mkdtemp(prefix="waldur-bench-events-")
    proxy = RecordingProxy(os.environ["KEYCLOAK_URL"]).start()
    rulebook = None
    try:
        log("realm %s, store and reports in %s" % (realm, workdir))
        offerings = Offerings(admin, realm, pathlib.Path(workdir)).apply()
        rulebook = Rulebook(offerings, proxy.url, poll_interval=options.poll_interval).start()
        starts, reports, runs = hand_changes(admin, offerings, rulebook, options.changes)

        log("counting requests for %.0f s of quiet ..." % options.idle)
        start_count, start = proxy.requests, time.monotonic()
        time.sleep(options.idle)
        idle_requests = proxy.requests - start_count
        per_minute = idle_requests * 60.0 / (time.monotonic() - start)
        rulebook.stop()

        sync_runs = []
        if options.sync_changes:
            sync_dir = pathlib.Path(workdir) / "sync"
            sync_dir.mkdir()
            synced = Offerings(admin, realm, sync_dir)
            synced.store, synced.ids, synced.users = offerings.store, offerings.ids, offerings.users
            rulebook = Rulebook(synced, proxy.url, poll_interval=options.poll_interval, sync=True).start()
            sync_runs, _total = sync_changes(admin, offerings, rulebook, options.sync_changes)

        goal = options.poll_interval + 5
        figures = {
            "poll_interval_s": options.poll_interval,
            "changes": len(starts),
            "run_start_median_s": round(statistics.median(starts), 2),
            "run_start_worst_s": round(max(starts), 2),
            "report_median_s": round(statistics.median(reports), 2),
            "report_worst_s": round(max(reports), 2),
            "report_best_s": round(min(reports), 2),
            "runs_per_hand_change": round(runs / float(len(starts)), 2),
            "sync_changes": len(sync_runs),
            "sync_runs_per_hand_change": round(statistics.mean(sync_runs), 2) if sync_runs else None,
            "idle_seconds": options.idle,
            "idle_requests": idle_requests,
            "idle_requests_per_minute": round(per_minute, 1),
            "goal_report_median_s": goal,
            "goal_met": statistics.median(reports) <= goal and runs == len(starts),
        }
        print(json.dumps(figures, indent=2))
        print("\n| poll_interval | changes | change -> run start, median / worst | change -> report written, "
              "median / worst | runs per hand change | with sync: true | idle requests/min |")
        print("|---|---|---|---|---|---|---|")
        print("| %g s | %d | %.1f s / %.1f s | %.1f s / %.1f s | %s | %s | %.1f |" % (
            options.poll_interval, len(starts), figures["run_start_median_s"], figures["run_start_worst_s"],
            figures["report_median_s"], figures["report_worst_s"], "%g" % figures["runs_per_hand_change"],
            "%g" % figures["sync_runs_per_hand_change"] if sync_runs else "-", per_minute))
        print("\ngoal: change -> report median <= poll_interval + 5 s = %g s, and 1 run per hand change: %s"
              % (goal, "met" if figures["goal_met"] else "NOT met"))
        return 0
    finally:
        if rulebook is not None:
            rulebook.stop()
        proxy.stop()
        admin.delete_realm(realm)


if __name__ == "__main__":
    sys.exit(main())
