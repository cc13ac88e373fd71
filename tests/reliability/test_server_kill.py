# -*- coding: utf-8 -*-
"""2. Kill the server mid-run: kill -9 a private Keycloak during a 500-group keycloak_offering_sync.

After each kill the store must be parseable with every record intact (uuid,
name, offering, role, resource, scope_id, created unchanged); after a restart
a rerun must converge (the run after it changes nothing) and Keycloak must hold
exactly one group per record, each linked from the store, no duplicates, no orphans.
"""

import threading
import time

import pytest

import helpers
import playbook
import realmkit
from faultproxy import FaultProxy
from kc import RawAdmin

GROUPS = 500
# When to kill: after the module's first request (its login), after 50 and after 250 groups were created.
# A proxy in front of the server counts them, so the points do not depend on the machine's speed.
KILL_POINTS = (("after login", "requests", 1), ("50 groups created", "created", 50), ("250 groups created", "created", 250))
IDENTITY = ("uuid", "name", "offering", "role", "resource", "scope_id", "created")

pytestmark = pytest.mark.stress


def identities(path):
    from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store

    Store(path).load()  # parseable and valid, by the collection's own rules
    return dict((g["uuid"], tuple(str(g.get(k)) for k in IDENTITY)) for g in helpers.load_store(path)["groups"])


def log(text, started=time.monotonic()):
    print("[%6.1fs] %s" % (time.monotonic() - started, text), flush=True)


def test_kill_keycloak_during_sync(private_keycloak, tmp_path, figure):
    server = private_keycloak
    log("private Keycloak up (%s s)" % server.starts)
    admin = RawAdmin(server.url, server.username, server.password)
    realm = admin.create_realm()
    store = str(tmp_path / "store.yml")
    realmkit.one_offering_store(store, realm, groups=GROUPS)
    original = identities(store)
    counts = {"requests": 0, "created": 0}

    def count(method, target, status, _body):
        counts["requests"] += 1
        if method == "POST" and status == 201 and "/groups" in target:
            counts["created"] += 1

    proxy = FaultProxy(server.url, on_response=count, max_seconds=1200).start()
    env = {"KEYCLOAK_URL": proxy.url, "KEYCLOAK_USERNAME": server.username, "KEYCLOAK_PASSWORD": server.password}
    task = {helpers.fqcn("keycloak_offering_sync"): {"store": store, "relink": True}}
    kills, lost_records, killed_runs, unclean = [], 0, [], []
    try:
        for point, counter, threshold in KILL_POINTS:
            outcome = {}

            def run():
                outcome["run"] = playbook.run_tasks([task], env=env)

            counts.update(requests=0, created=0)
            started = time.monotonic()
            thread = threading.Thread(target=run)
            thread.start()
            while counts[counter] < threshold and thread.is_alive():
                time.sleep(0.02)
            assert thread.is_alive(), "the sync ended before the kill point %r" % point
            killed_at = time.monotonic()
            server.kill9()
            log("killed Keycloak at %r, %.1f s after the sync started" % (point, killed_at - started))
            thread.join(timeout=300)
            assert not thread.is_alive(), "the sync did not end within 300 s of the kill"
            result = outcome["run"].result
            killed_runs.append({"kill_at": point, "created_before_kill": counts["created"],
                                "seconds_into_run": round(killed_at - started, 1), "failed": bool(result.get("failed")),
                                "ended_after_kill_s": round(time.monotonic() - killed_at, 1),
                                "linked": sum(1 for g in helpers.load_store(store)["groups"] if g["backend_id"])})
            message = result.get("msg") or ""
            if result.get("failed") and ("\n" in message or "Traceback" in outcome["run"].stdout + outcome["run"].stderr
                                         or message.startswith("unexpected error")):
                unclean.append(message)
            after = identities(store)
            lost_records += sum(1 for key, value in original.items() if after.get(key) != value)
            lost_records += len(set(after) - set(original))
            kills.append(point)
            log("the killed run ended; restarting Keycloak")
            server.up()
            log("Keycloak restarted in %s s" % server.starts[-1])
        # Rerun until nothing changes; the second one must already be a no-op.
        reruns = []
        for _attempt in range(3):
            result = playbook.run_tasks([task], env=env).result
            assert not result.get("failed"), result.get("msg")
            reruns.append(bool(result.get("changed")))
            log("rerun: changed=%s" % reruns[-1])
            if not result.get("changed"):
                break
        converged = reruns[-1] is False
        missing_after_restart = sum(len(o.get("missing_remote") or []) for o in result.get("offerings") or [])
        tree = helpers.kc_tree(admin, realm)
        children = dict((path, node) for path, node in tree.items() if path.startswith("/rel/"))
        by_name = dict((node["name"], node["id"]) for node in children.values())
        stored = helpers.load_store(store)["groups"]
        duplicates = len(children) - len(set(node["name"] for node in children.values()))
        orphans = len(set(node["id"] for node in children.values()) - set(g["backend_id"] for g in stored))
        wrong_links = sum(1 for g in stored if by_name.get(g["name"]) != g["backend_id"])
        final = identities(store)
        lost_records += sum(1 for key, value in original.items() if final.get(key) != value)
        figure("server kill: kill -9 Keycloak during a %d-group keycloak_offering_sync" % GROUPS,
               kills=len(kills), killed_runs=killed_runs,
               restart_s=server.starts[1:], unclean_failures=len(unclean), runs_to_converge=len(reruns),
               converged=converged, lost_records=lost_records, remote_groups=len(children), duplicates=duplicates,
               orphans=orphans, wrong_links=wrong_links, missing_remote_seen=missing_after_restart)
        assert len(kills) == len(KILL_POINTS)
        assert not unclean, unclean
        # Once Keycloak is gone the run stops starting operations (each would wait out its retries): it ends
        # in seconds, not after one retry cycle per remaining group (minutes for 450 groups).
        assert all(r["ended_after_kill_s"] <= 60 for r in killed_runs), killed_runs
        assert lost_records == 0
        assert converged and len(reruns) <= 2, reruns
        assert len(children) == GROUPS and duplicates == 0 and orphans == 0 and wrong_links == 0
    finally:
        proxy.stop()
        try:
            admin.delete_realm(realm)
        except Exception:  # pylint: disable=broad-except
            pass
