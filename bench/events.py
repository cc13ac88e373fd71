# -*- coding: utf-8 -*-
"""Measure the drift rulebook (docs/events.md, "Figures"): `make bench-events` against the running Keycloak.

1. Delay from a change in Keycloak to the start of the drift report it triggers: ``--changes`` membership changes
   made by hand (RawAdmin) in an offering's group, one at a time; each delay is the time the playbook noted as its
   start (events/<time>-<id>.json) less the time the change's HTTP call returned. Median and worst are printed.
2. What the source costs while nothing changes: every request it sends through a counting proxy during
   ``--idle`` seconds, per minute (polls plus token refreshes).

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


def log(message):
    print("[bench-events %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--changes", type=int, default=20, help="changes to time (default 20)")
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
        users = offerings.group_id("/svc/alpha/alpha-users")
        alice = offerings.users["alice"]

        delays = []
        for number in range(options.changes):
            runs = rulebook.runs_finished()
            before = set(rulebook.notes())
            if number % 2 == 0:
                admin.leave(realm, alice, users)
            else:
                admin.join(realm, alice, users)
            changed = time.time()
            new = wait_for(lambda: set(rulebook.notes()) - before, 300, "the report of change %d" % number)
            note = rulebook.notes()[sorted(new)[0]]
            delays.append(note["started"] - changed)
            wait_for(lambda: rulebook.runs_finished() > runs, 300, "the report of change %d to end" % number)
            log("change %2d: report started %.2f s after it" % (number + 1, delays[-1]))

        log("counting requests for %.0f s of quiet ..." % options.idle)
        time.sleep(options.poll_interval * 2)
        start_count, start = proxy.requests, time.monotonic()
        time.sleep(options.idle)
        idle_requests = proxy.requests - start_count
        per_minute = idle_requests * 60.0 / (time.monotonic() - start)

        figures = {
            "poll_interval_s": options.poll_interval,
            "changes": len(delays),
            "delay_median_s": round(statistics.median(delays), 2),
            "delay_worst_s": round(max(delays), 2),
            "delay_best_s": round(min(delays), 2),
            "idle_seconds": options.idle,
            "idle_requests": idle_requests,
            "idle_requests_per_minute": round(per_minute, 1),
        }
        print(json.dumps(figures, indent=2))
        print("\n| poll_interval | changes | delay median | delay worst | idle requests/min |")
        print("|---|---|---|---|---|")
        row = (options.poll_interval, len(delays), figures["delay_median_s"], figures["delay_worst_s"], per_minute)
        print("| %g s | %d | %.1f s | %.1f s | %.1f |" % row)
        return 0
    finally:
        if rulebook is not None:
            rulebook.stop()
        proxy.stop()
        admin.delete_realm(realm)


if __name__ == "__main__":
    sys.exit(main())
