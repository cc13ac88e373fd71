# -*- coding: utf-8 -*-
"""1. Faults on the wire: the collection's client and a module through a fault-injecting proxy.

Dropped connections (before and after Keycloak did the work), 503s, delays and
stalls longer than the client's timeout, at set rates from a seeded generator.
Idempotent operations must succeed through the retries; a group create whose
answer was lost must not leave a duplicate. Keycloak's state is checked with
the independent raw-HTTP client, straight to Keycloak, never through the proxy.
"""

import collections
import os

import helpers
import playbook
import realmkit
from faultproxy import FaultProxy

SEED = int(os.environ.get("RELIABILITY_SEED", "20261128"))
RATES = dict(drop_request=0.04, drop_response=0.04, unavailable=0.04, delay=0.05, stall=0.01)
# The client retries an idempotent call 3 times: no request meets more failing faults in a row than
# that (at these rates 4 in a row would hit about one request in 3,500; a run sends ~600).
MAX_IN_A_ROW = 3
# The module test loses more answers, so that some of its creates must be recovered after a 409.
MODULE_RATES = dict((kind, 0.1 if kind == "drop_response" else rate) for kind, rate in RATES.items())


def duplicates_in(tree):
    """Groups that share a name under one parent (Keycloak should refuse them; count anyway)."""
    seen = collections.Counter(path for path in tree)
    by_parent = collections.Counter((path.rsplit("/", 1)[0], node["name"]) for path, node in tree.items())
    return sum(n - 1 for n in seen.values() if n > 1) + sum(n - 1 for n in by_parent.values() if n > 1)


def test_client_through_faults(admin, realm, client_factory, figure):
    users = ["u%02d" % i for i in range(12)]
    helpers.bulk_users(admin, realm, [{"username": u} for u in users])
    proxy = FaultProxy(admin.url, seed=SEED, stall_seconds=2.5, max_seconds=600,
                       max_consecutive=MAX_IN_A_ROW, **RATES).start()
    operations, failures, errors = collections.Counter(), 0, []
    expected = {}  # name -> (id, members)
    try:
        # The modules' own retry policy (3 retries), with a short backoff to keep the run short.
        client = client_factory(url=proxy.url, timeout=2, backoff=0.05)

        def op(name, function, *args, **kwargs):
            nonlocal failures
            operations[name] += 1
            try:
                return function(*args, **kwargs)
            except Exception as exc:  # pylint: disable=broad-except
                failures += 1
                errors.append("%s: %s" % (name, exc))
                return None

        parent = op("create_group", client.create_group, realm, "faults", exist_ok=True)
        assert parent is not None, errors
        parent_id = parent[0]
        # Creating it again answers 409 and finds it: never a second group.
        again = op("create_group", client.create_group, realm, "faults", exist_ok=True)
        assert again == (parent_id, False), again
        user_ids = {}
        for username in users:
            user = op("user_by_username", client.user_by_username, realm, username)
            if user:
                user_ids[username] = user["id"]
        for index in range(60):
            name = "g-%03d" % index
            created = op("create_group", client.create_group, realm, name, parent_id=parent_id,
                         attributes={"waldur_test": [str(index)]}, exist_ok=True)
            if created is None:
                continue
            group_id = created[0]
            members = set()
            for username in (users[index % 12], users[(index + 5) % 12]):
                op("add_user_to_group", client.add_user_to_group, realm, user_ids[username], group_id)
                members.add(username)
            if index % 3 == 0:
                op("remove_user_from_group", client.remove_user_from_group, realm, user_ids[users[index % 12]],
                   group_id)
                members.discard(users[index % 12])
            if index % 4 == 0:
                name = "renamed-%03d" % index
                op("update_group", client.update_group, realm, group_id, {"name": name})
            op("get_group", client.get_group, realm, group_id)
            op("group_members", client.group_members, realm, group_id)
            expected[name] = (group_id, members)
        for index in range(0, 60, 6):
            name = "g-%03d" % index if index % 4 else "renamed-%03d" % index
            group_id = expected.pop(name)[0]
            op("delete_group", client.delete_group, realm, group_id)
            # Deleting again (a retry whose first answer was lost looks just like this) is not an error.
            op("delete_group", client.delete_group, realm, group_id)
        op("group_children", client.group_children, realm, parent_id)
        op("list_groups", client.list_groups, realm)
        op("group_by_path", client.group_by_path, realm, "/faults")
        op("search_users", client.search_users, realm, "u0")
        op("find_child_group", client.find_child_group, realm, parent_id, "g-001")
    finally:
        proxy.stop()
    # Then creates alone, a third of them losing their answer (dropped, or stalled past the timeout).
    creates = FaultProxy(admin.url, seed=SEED + 2, drop_response=0.25, stall=0.08, stall_seconds=2.5,
                         max_consecutive=MAX_IN_A_ROW, spare=lambda method, target: method != "POST"
                         or "/groups" not in target, max_seconds=600).start()
    try:
        client = client_factory(url=creates.url, timeout=2, backoff=0.05)
        for index in range(40):
            name = "c-%03d" % index
            created = op("create_group", client.create_group, realm, name, parent_id=parent_id, exist_ok=True)
            if created is not None:
                expected[name] = (created[0], set())
    finally:
        creates.stop()

    # Keycloak as it is, seen directly.
    tree = helpers.kc_tree(admin, realm)
    children = dict((path.rsplit("/", 1)[1], node) for path, node in tree.items() if path.startswith("/faults/"))
    duplicates = duplicates_in(tree)
    unexpected = sorted(set(children) - set(expected)) + sorted(p for p in tree if p != "/faults"
                                                                and not p.startswith("/faults/"))
    missing = sorted(set(expected) - set(children))
    wrong = sorted(name for name, (group_id, members) in expected.items() if name in children and (
        children[name]["id"] != group_id or set(children[name]["members"]) != members))
    stats = proxy.summary()
    for kind, count in creates.summary()["faults"].items():
        stats["faults"][kind] += count
    stats["faults_total"] += creates.injected
    stats["requests"] += creates.requests
    lost_creates = sum(p.lost_answers("POST", "/children") + p.lost_answers("POST", "/groups") for p in (proxy, creates))
    figure("wire faults: KeycloakClient through the fault proxy",
           seed=SEED, rates=RATES, operations=sum(operations.values()), http_requests=stats["requests"],
           lost_create_answers=lost_creates,
           faults_injected=stats["faults_total"], faults=stats["faults"], failures=failures,
           duplicates=duplicates, unexpected_groups=len(unexpected), missing_groups=len(missing),
           wrong_state=len(wrong))
    assert stats["faults"]["drop_response"] > 0 and stats["faults"]["stall"] > 0, stats
    assert lost_creates >= 5, "too few creates lost their answer: pick another seed"
    assert failures == 0, errors[:5]
    assert duplicates == 0
    assert not unexpected and not missing and not wrong, (unexpected, missing, wrong)


def test_sync_module_through_faults(admin, realm, tmp_path, figure):
    """keycloak_offering_sync of 40 groups (with members) through the proxy, with the module's own settings."""
    store = str(tmp_path / "store.yml")
    ids = realmkit.one_offering_store(store, realm, groups=40)
    users = ["m%02d" % i for i in range(8)]
    helpers.bulk_users(admin, realm, [{"username": u} for u in users])
    records = helpers.load_store(store)["groups"]
    for index, record in enumerate(records):
        record["members"] = [{"username": users[index % 8], "state": "pending"}]
    helpers.write_groups(store, records)
    proxy = FaultProxy(admin.url, seed=SEED + 1, stall_seconds=4, max_seconds=600,
                       max_consecutive=MAX_IN_A_ROW, **MODULE_RATES).start()
    try:
        args = {"store": store, "auth_keycloak_url": proxy.url, "parallelism": 4, "connection_timeout": 3}
        run = playbook.run_tasks([{helpers.fqcn("keycloak_offering_sync"): args}])
    finally:
        proxy.stop()
    result = run.result
    # Check Keycloak directly, and the store against it.
    tree = helpers.kc_tree(admin, realm)
    children = dict((path.rsplit("/", 1)[1], node) for path, node in tree.items() if path.startswith("/rel/"))
    stored = dict((g["name"], g) for g in helpers.load_store(store)["groups"])
    wrong_links = sorted(name for name, g in stored.items() if g["backend_id"] and children.get(name, {}).get("id")
                         != g["backend_id"])
    missing_members = sorted(name for name, g in stored.items() if name in children and
                             set(m["username"] for m in g["members"]) - set(children[name]["members"]))
    stats = proxy.summary()
    lost_creates = proxy.lost_answers("POST", "/children") + proxy.lost_answers("POST", "/groups")
    figure("wire faults: keycloak_offering_sync (40 groups, 40 members) through the fault proxy",
           seed=SEED + 1, rates=MODULE_RATES, http_requests=stats["requests"],
           faults_injected=stats["faults_total"],
           faults=stats["faults"], lost_create_answers=lost_creates, failures=int(bool(result.get("failed"))),
           duplicates=duplicates_in(tree),
           remote_groups=len(children), wrong_links=len(wrong_links), missing_members=len(missing_members))
    assert not result.get("failed"), result.get("msg")
    assert stats["faults_total"] > 0
    assert duplicates_in(tree) == 0
    assert sorted(children) == sorted(stored) and len(children) == 40
    assert not wrong_links and not missing_members, (wrong_links, missing_members)
    assert all(g["backend_id"] for g in stored.values())
    assert ids["records"][0]["uuid"] in [g["uuid"] for g in stored.values()]
