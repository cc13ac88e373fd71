# -*- coding: utf-8 -*-
"""3. Concurrency: many ansible-playbook runs at once writing to ONE store.

Most writers add groups of their own (some also creating them in Keycloak, so
that they race to create the offering's parent group); the others add members
to one shared group. Every addition must be in the file afterwards, the file
valid, and Keycloak without duplicates.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

import helpers
import playbook
import realmkit

CASES = [
    # writers, tasks per writer, writers adding members to the shared group, writers also creating in Keycloak
    pytest.param(8, 1, 2, 2, id="8-writers"),
    pytest.param(20, 1, 5, 4, id="20-writers", marks=pytest.mark.stress),
    pytest.param(24, 4, 6, 6, id="24-writers-4-tasks", marks=pytest.mark.stress),
]


@pytest.mark.parametrize("writers,tasks_each,member_writers,remote_writers", CASES)
def test_concurrent_writers(admin, realm, keycloak_url, tmp_path, figure, writers, tasks_each, member_writers,
                            remote_writers):
    store = str(tmp_path / "store.yml")
    ids = realmkit.one_offering_store(store, realm, groups=1)
    shared = ids["records"][0]
    module = helpers.fqcn("keycloak_offering_group")
    plays, expected_groups, expected_members = [], {}, set()
    additions = []  # per play, per task: the group scope or the member names it adds
    for writer in range(writers):
        tasks, adds = [], []
        if writer < member_writers:
            for task in range(tasks_each):
                names = ["w%02d-t%d-%s" % (writer, task, suffix) for suffix in ("a", "b")]
                expected_members.update(names)
                adds.append(("members", names))
                tasks.append({module: {"store": store, "uuid": shared["uuid"], "members": names,
                                       "create_remote": False}})
        else:
            remote = writer >= writers - remote_writers
            for task in range(tasks_each):
                scope = "w%02d-t%d" % (writer, task)
                expected_groups[scope] = remote
                adds.append(("group", [scope]))
                tasks.append({module: {"store": store, "offering": ids["offering"], "role": "member",
                                       "resource": "res-%d" % (task % 3), "scope_id": scope, "name": "grp-" + scope,
                                       "create_remote": remote}})
        plays.append(tasks)
        additions.append(adds)

    # The promise under test is the store's; 24 ansible-playbook runs on two cores can keep Keycloak from
    # answering within the default 10 s, which would only measure the machine.
    env = {"KEYCLOAK_URL": keycloak_url, "KEYCLOAK_TIMEOUT": "60"}
    with ThreadPoolExecutor(max_workers=writers) as pool:
        runs = list(pool.map(lambda tasks: playbook.run_tasks(tasks, env=env), plays))

    failed = [r["msg"] for run in runs for r in run.results if r.get("failed")]
    from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store, StoreError

    try:
        Store(store).load()
        invalid = 0
    except StoreError:
        invalid = 1
    groups = helpers.load_store(store)["groups"]
    by_scope = dict((g["scope_id"], g) for g in groups)
    lost_groups = sorted(scope for scope in expected_groups if scope not in by_scope)
    shared_after = [g for g in groups if g["uuid"] == shared["uuid"]]
    members = set(m["username"] for m in shared_after[0]["members"]) if shared_after else set()
    lost_members = sorted(expected_members - members)
    # Lost updates: additions whose task reported success but that are not in the file.
    lost_updates = 0
    for run, adds in zip(runs, additions):
        for result, (kind, names) in zip(run.results, adds):
            if not result.get("failed"):
                present = members if kind == "members" else by_scope
                lost_updates += sum(1 for name in names if name not in present)
    tree = helpers.kc_tree(admin, realm)
    remote_children = [node for path, node in tree.items() if path.startswith("/rel/")]
    remote_expected = sorted("grp-" + scope for scope, remote in expected_groups.items() if remote)
    duplicates = len(remote_children) - len(set(node["name"] for node in remote_children)) + \
        sum(1 for path in tree if path.count("/") == 1 and path != "/rel")
    unlinked = sorted(scope for scope, remote in expected_groups.items()
                      if remote and scope in by_scope and not by_scope[scope]["backend_id"])
    figure("concurrency: %d ansible-playbook runs at once on one store" % writers,
           writers=writers, tasks=writers * tasks_each, groups_added=len(expected_groups),
           members_added=len(expected_members), remote_creates=len(remote_expected), failed_tasks=len(failed),
           lost_updates=lost_updates, invalid_files=invalid, duplicates=duplicates,
           unlinked=len(unlinked))
    assert lost_updates == 0 and invalid == 0
    assert not failed, failed[:3]
    assert not lost_groups and not lost_members, (lost_groups, lost_members)
    assert len(groups) == len(expected_groups) + 1
    assert sorted(node["name"] for node in remote_children) == remote_expected
    assert duplicates == 0 and not unlinked
