# -*- coding: utf-8 -*-
"""The jobs of docs/awx.md on a remote execution node: ansible-runner's streaming pipeline, as AWX drives it.

AWX runs a job on an execution node through receptor (awx/main/tasks/receptor.py, ``AWXReceptorJob``):
``ansible_runner.interface.run(streamer='transmit')`` on the controller streams the job's kwargs and its private
data directory (the project with the store and the playbooks, the inventory, ``env/``); ``ansible-runner
worker`` on the node unpacks it into a directory of its own and runs the job; its events, its status and its
``artifacts/<id>`` come back in a second stream to ``interface.run(streamer='process')`` on the controller
(tests/runner/awxjob.py, ``Awx.launch_on_node``). Here a pipe stands for receptor and the node's disk is
another directory: nothing passes between the two but the streams.

These tests read the jobs from the processed artifacts on the controller, as AWX does, and check what does
not come back: what the job wrote in the node's copy of the project (the store, the report files). The
fixtures (the credential of docs/awx.md through a recording proxy, the secret search) are tests/runner's
conftest.py; the secret search covers the controller's directory and the node's.
"""

import json
import os

import helpers
from awxjob import read
from docblocks import APPLY_TASK, OFFERING_PATH, write_project

GROUP_PATH = OFFERING_PATH + "/cluster-a-admins"
RECORD = "0c1d2e3f-4a5b-4c6d-8e7f-000000000001"


def files_under(directory):
    return sorted(os.path.relpath(os.path.join(folder, name), directory)
                  for folder, _dirs, names in os.walk(directory) for name in names)


def assert_nothing_came_back_but_artifacts(awx, job):
    """The controller's directory holds its own input and the processed artifacts; its project is the checkout."""
    assert sorted(os.listdir(job.dir)) == ["artifacts", "env", "inventory", "project"]
    assert os.listdir(os.path.join(job.dir, "artifacts")) == [str(job.id)]
    # status, rc, stdout, the events and ansible-runner's record of the command came back from the node.
    assert {"status", "rc", "stdout", "command", "job_events"} <= set(os.listdir(job.artifacts))
    assert files_under(job.project_file()) == files_under(awx.repository)
    for name in files_under(awx.repository):
        assert read(job.project_file(name)) == read(os.path.join(awx.repository, name)), name


def test_check_and_run_jobs_on_an_execution_node(awx, admin, realm):
    """Template "Keycloak apply" on an execution node: Check changes nothing, Run creates the groups; the plan, the
    diff, the status and the rc come back; the store the job wrote stays on the node."""
    admin.create_user(realm, "alice", "alice@example.com", "Alice", "Liddell")
    store = write_project(awx, realm, "# playbooks/keycloak-apply.yml")
    committed = read(store)
    actions = [("create_group", "/platform"), ("create_group", OFFERING_PATH), ("create_group", GROUP_PATH),
               ("add_member", GROUP_PATH), ("link", RECORD)]

    before = helpers.kc_snapshot(admin, realm)
    check = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply", job_type="check", diff_mode=True,
                       execution_node=True)
    assert (check.status, check.rc) == ("successful", 0), check.summary()
    assert "--check" in json.loads(check.artifact("command"))["command"]
    results = check.task_results(APPLY_TASK)
    assert len(results) == 1 and results[0]["changed"] is True, check.summary()
    assert [(op["action"], op["target"]) for op in results[0]["plan"]] == actions, results[0]["plan"]
    diff = results[0]["diff"]
    assert diff[0]["before"] != diff[0]["after"]
    # The store's path in the diff is the node's: playbook_dir there is the node's copy of the project.
    assert diff[0]["after_header"].startswith(check.node_file("playbooks", "..", "offerings.yml") + ": group "), diff[0]
    keycloak = dict((d["after_header"].rsplit(": group ", 1)[-1], (d["before"], d["after"])) for d in diff[1:])
    assert keycloak[GROUP_PATH] == ("", "path: %s\nname: cluster-a-admins\nmembers:\n- alice\n" % GROUP_PATH)
    assert "changed=1" in check.stdout()
    assert helpers.kc_snapshot(admin, realm) == before
    assert read(check.node_file("offerings.yml")) == committed
    assert_nothing_came_back_but_artifacts(awx, check)
    awx.assert_no_secrets(check)

    run = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply", execution_node=True)
    assert (run.status, run.rc) == ("successful", 0), run.summary()
    results = run.task_results(APPLY_TASK)
    assert len(results) == 1 and results[0]["changed"] is True, run.summary()
    assert [(op["action"], op["target"]) for op in results[0]["plan"]] == actions
    group = admin.group_by_path(realm, GROUP_PATH)
    assert group is not None
    assert admin.member_names(realm, group["id"]) == ["alice"]      # carol has no account: pending
    # The job wrote the link into the node's copy of the store; none of it comes back to the controller.
    linked = [g["backend_id"] for g in helpers.load_store(run.node_file("offerings.yml"))["groups"]
              if g["name"] == "cluster-a-admins"]
    assert linked == [group["id"]]
    assert group["id"] not in read(run.project_file("offerings.yml")).decode()
    assert read(store) == committed
    assert_nothing_came_back_but_artifacts(awx, run)
    awx.assert_no_secrets(run)

    # The next job gets a fresh node directory from the unchanged checkout: the link the last one wrote is lost
    # with its node directory, and the job still has nothing to do in Keycloak (the group's marker says whose).
    again = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply", execution_node=True)
    assert (again.status, again.rc) == ("successful", 0), again.summary()
    results = again.task_results(APPLY_TASK)
    assert results[0]["changed"] is False and [op["action"] for op in results[0]["plan"]] == ["link"], results[0]
    assert "changed=0" in again.stdout()
    assert admin.group_by_path(realm, GROUP_PATH)["id"] == group["id"]
    awx.assert_no_secrets(again)


def test_drift_job_on_an_execution_node_fails_on_a_group_deleted_by_hand(awx, admin, realm):
    """Template "Keycloak drift report" on an execution node: failed, rc 2, its output names the deleted group; the
    report files are written on the node and do not come back."""
    admin.create_user(realm, "alice", "alice@example.com", "Alice", "Liddell")
    store = write_project(awx, realm, "# playbooks/keycloak-apply.yml", "# playbooks/keycloak-drift.yml")
    applied = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply")
    assert (applied.status, applied.rc) == ("successful", 0), applied.summary()
    with open(store, "wb") as stream:                                  # the links, committed
        stream.write(read(applied.project_file("offerings.yml")))

    admin.delete_group(realm, helpers.kc_tree(admin, realm)[GROUP_PATH]["id"])     # by hand
    before = helpers.kc_snapshot(admin, realm)
    drift = awx.launch("playbooks/keycloak-drift.yml", "Keycloak drift report", fact_storage=True,
                       execution_node=True)
    assert (drift.status, drift.rc) == ("failed", 2), drift.summary()
    assert helpers.kc_snapshot(admin, realm) == before
    failures = [e["event_data"]["res"]["msg"] for e in drift.events() if e["event"] == "runner_on_failed"]
    assert len(failures) == 1 and "Keycloak drift in 1 of 1 offerings: 'Rancher production'" in failures[0], failures
    # The message names where the report landed: the node's copy of the project.
    assert drift.node_file("drift-report", "drift-report.md") in failures[0]
    line = "  missing in Keycloak: cluster-a-admins (linked, but its remote group is gone)"
    summary = drift.task_results("Show the summary")
    assert len(summary) == 1 and line in summary[0]["msg"], drift.summary()
    assert line in drift.stdout()

    # The report files are on the node, and nowhere on the controller.
    with open(drift.node_file("drift-report", "drift-report.json")) as stream:
        report = json.load(stream)
    assert report["drift"] is True
    assert report["offerings"][0]["summary"]["missing_remote"] == ["cluster-a-admins"]
    for name in ("drift-report.md", "drift-report.junit.xml"):
        with open(drift.node_file("drift-report", name), encoding="utf-8") as stream:
            assert "cluster-a-admins" in stream.read(), name
    assert not os.path.exists(drift.project_file("drift-report"))
    assert [f for f in files_under(drift.dir) if "drift-report" in f] == []
    assert_nothing_came_back_but_artifacts(awx, drift)
    awx.assert_no_secrets(drift)
