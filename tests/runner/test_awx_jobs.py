# -*- coding: utf-8 -*-
"""The collection run as AWX runs it: jobs through ansible-runner, read from the runner's artifacts.

Each job is what docs/awx.md sets up, run by ``ansible_runner.interface.run`` (the Python API AWX calls;
the ``ansible-runner worker`` inside an execution environment calls the same function) with a private
data directory laid out as AWX lays it (tests/runner/awxjob.py): ``project/`` a fresh copy of the
project repository (the playbooks of docs/awx.md, section 3, taken from that page, and the store of
docs/gitops.md), ``inventory/hosts``, ``env/extravars``, ``env/cmdline`` (``--check`` for a Check job,
``--diff`` for Show Changes) and ``env/envvars`` holding the environment that the credential type of
docs/awx.md (inputs and injector, taken from that page) gives the job. Nothing else carries a
credential: KEYCLOAK_* are removed from the test's own environment while a job runs.

The modules reach Keycloak through a recording pass-through proxy (tests/reliability/faultproxy.py; the
credential's URL is the proxy's), so every token Keycloak hands out to a job is known. After each job no
password, token or Basic/Bearer header is anywhere in its private data directory, except where AWX keeps
the credential too: ``env/`` (the job's input) and the environment that ansible-runner itself records in
``artifacts/<id>/command`` (mode 0600; AWX shows a masked copy as the job's environment and deletes the
private data directory when the job ends). Keycloak's state is checked with the raw client kc.RawAdmin. The
fixture ``awx`` and the secret search are in conftest.py, shared with test_execution_nodes.py (the same jobs on an
execution node).
"""

import json
import os
import shutil

import helpers
from awxjob import read
from docblocks import APPLY_TASK, OFFERING_PATH, write_project


def test_check_then_run_then_rerun_as_awx_jobs(awx, admin, realm):
    """docs/awx.md, template "Keycloak apply": Check with Show Changes, Run, then a run of the committed store."""
    admin.create_user(realm, "alice", "alice@example.com", "Alice", "Liddell")
    store = write_project(awx, realm, "# playbooks/keycloak-apply.yml", "# playbooks/keycloak-drift.yml")
    committed = read(store)

    # Job type Check, Show Changes: the plan and the diff in the job events; nothing changes anywhere.
    before = helpers.kc_snapshot(admin, realm)
    check = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply", job_type="check", diff_mode=True)
    assert (check.status, check.rc) == ("successful", 0), check.summary()
    results = check.task_results(APPLY_TASK)
    assert len(results) == 1, check.summary()
    plan, diff = results[0]["plan"], results[0]["diff"]
    assert results[0]["changed"] is True
    actions = [(op["action"], op["target"]) for op in plan]
    group_path, record = OFFERING_PATH + "/cluster-a-admins", "0c1d2e3f-4a5b-4c6d-8e7f-000000000001"
    assert actions == [("create_group", "/platform"), ("create_group", OFFERING_PATH), ("create_group", group_path),
                       ("add_member", group_path), ("link", record)], plan
    assert plan[3]["username"] == "alice"                   # carol has no account: she stays pending
    # The diff: the store record, then Keycloak before and after, per group.
    assert "group cluster-a-admins (%s)" % record in diff[0]["after_header"], diff
    assert diff[0]["before"] != diff[0]["after"]
    keycloak = dict((d["after_header"].rsplit(": group ", 1)[-1], (d["before"], d["after"])) for d in diff[1:])
    assert sorted(keycloak) == ["/platform", OFFERING_PATH, group_path], diff
    assert keycloak[group_path] == ("", "path: %s\nname: cluster-a-admins\nmembers:\n- alice\n" % group_path)
    assert "--check" in json.loads(check.artifact("command"))["command"]
    assert helpers.kc_snapshot(admin, realm) == before
    assert admin.group_by_path(realm, OFFERING_PATH) is None
    assert read(check.project_file("offerings.yml")) == committed
    awx.assert_no_secrets(check)

    # Job type Run: Keycloak now holds the groups; the job's own checkout of the store records the link.
    run = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply")
    assert (run.status, run.rc) == ("successful", 0), run.summary()
    results = run.task_results(APPLY_TASK)
    assert len(results) == 1 and results[0]["changed"] is True, run.summary()
    assert [(op["action"], op["target"]) for op in results[0]["plan"]] == actions
    group = admin.group_by_path(realm, OFFERING_PATH + "/cluster-a-admins")
    assert group is not None
    assert admin.member_names(realm, group["id"]) == ["alice"]    # carol has no account: pending
    linked = [g for g in helpers.load_store(run.project_file("offerings.yml"))["groups"]
              if g["name"] == "cluster-a-admins"]
    assert [g["backend_id"] for g in linked] == [group["id"]]
    assert read(store) == committed      # the repository did not change: the job wrote into its own copy
    awx.assert_no_secrets(run)

    # The next job starts from the unchanged repository: nobody committed the links. Keycloak's markers say
    # which group is whose, so the job has nothing to do in Keycloak and reports changed=0; its store write
    # (into its own discarded checkout) only records the links again.
    again = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply")
    assert (again.status, again.rc) == ("successful", 0), again.summary()
    results = again.task_results(APPLY_TASK)
    assert results[0]["changed"] is False, results[0]["plan"]
    assert [op["action"] for op in results[0]["plan"]] == ["link"], results[0]["plan"]
    assert results[0]["offerings"][0]["linked_by_marker"] == ["cluster-a-admins"]
    assert "changed=0" in again.stdout() and "failed=0" in again.stdout()
    assert helpers.kc_tree(admin, realm)[OFFERING_PATH + "/cluster-a-admins"]["id"] == group["id"]
    assert read(store) == committed
    awx.assert_no_secrets(again)

    # The drift job from the same checkout: Keycloak matches, the store is behind: not drift, the job succeeds.
    behind = awx.launch("playbooks/keycloak-drift.yml", "Keycloak drift report")
    assert (behind.status, behind.rc) == ("successful", 0), behind.summary()
    with open(behind.project_file("drift-report", "drift-report.json")) as stream:
        report = json.load(stream)
    assert (report["drift"], report["offerings"][0]["status"]) == (False, "store_behind")
    assert report["offerings"][0]["store_behind"] == {"links": 1, "members": 1}     # the link, alice's state
    awx.assert_no_secrets(behind)

    # A group deleted by hand still fails the drift job, committed links or not.
    admin.delete_group(realm, group["id"])
    drifted = awx.launch("playbooks/keycloak-drift.yml", "Keycloak drift report")
    assert (drifted.status, drifted.rc) == ("failed", 2), drifted.summary()
    with open(drifted.project_file("drift-report", "drift-report.json")) as stream:
        report = json.load(stream)
    assert (report["drift"], report["offerings"][0]["status"]) == (True, "drift")
    assert report["offerings"][0]["summary"]["created"] == ["cluster-a-admins"]
    awx.assert_no_secrets(drifted)
    run = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply")     # made again, as declared
    assert (run.status, run.rc) == ("successful", 0), run.summary()
    group = admin.group_by_path(realm, OFFERING_PATH + "/cluster-a-admins")

    # Commit the links (docs/awx.md: record them in Git once): the store is current, the plan empty.
    shutil.copy(run.project_file("offerings.yml"), store)
    after = helpers.kc_snapshot(admin, realm)
    rerun = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply")
    assert (rerun.status, rerun.rc) == ("successful", 0), rerun.summary()
    results = rerun.task_results(APPLY_TASK)
    assert (results[0]["changed"], results[0]["plan"]) == (False, []), results[0]
    assert "changed=0" in rerun.stdout() and "failed=0" in rerun.stdout()
    assert helpers.kc_snapshot(admin, realm) == after
    awx.assert_no_secrets(rerun)


def test_drift_report_job_fails_on_drift_made_by_hand(awx, admin, realm):
    """docs/awx.md, template "Keycloak drift report": successful while in sync, failed on drift, reports name it."""
    admin.create_user(realm, "alice", "alice@example.com", "Alice", "Liddell")
    bob = admin.create_user(realm, "bob", "bob@example.com", "Bob", "Builder")
    store = write_project(awx, realm, "# playbooks/keycloak-apply.yml", "# playbooks/keycloak-drift.yml")
    # A second declared group, with bob, so that a member can go missing while its group stays.
    document = helpers.load_store(store)
    first = document["groups"][0]
    roles = dict((r["name"], r["uuid"]) for r in document["offerings"][0]["roles"])
    document["groups"].append({
        "uuid": "0c1d2e3f-4a5b-4c6d-8e7f-000000000002", "name": "project-x-members",
        "offering": first["offering"], "role": roles["project-member"], "resource": first["resource"],
        "scope_id": "p-x7kq2", "members": [{"username": "alice"}, {"username": "bob"}]})
    helpers.write_store(store, document)

    applied = awx.launch("playbooks/keycloak-apply.yml", "Keycloak apply")
    assert (applied.status, applied.rc) == ("successful", 0), applied.summary()
    shutil.copy(applied.project_file("offerings.yml"), store)     # the links, committed
    tree = helpers.kc_tree(admin, realm)
    admins, members = tree[OFFERING_PATH + "/cluster-a-admins"], tree[OFFERING_PATH + "/project-x-members"]
    assert members["members"] == ["alice", "bob"]

    clean = awx.launch("playbooks/keycloak-drift.yml", "Keycloak drift report")
    assert (clean.status, clean.rc) == ("successful", 0), clean.summary()
    with open(clean.project_file("drift-report", "drift-report.json")) as stream:
        assert json.load(stream)["drift"] is False
    awx.assert_no_secrets(clean)

    # By hand, behind the collection's back: a managed group deleted, a member removed.
    admin.delete_group(realm, admins["id"])
    admin.leave(realm, bob, members["id"])
    before = helpers.kc_snapshot(admin, realm)
    drift = awx.launch("playbooks/keycloak-drift.yml", "Keycloak drift report", fact_storage=True)
    assert (drift.status, drift.rc) == ("failed", 2), drift.summary()
    assert helpers.kc_snapshot(admin, realm) == before              # the report only looks
    failures = [e["event_data"]["res"]["msg"] for e in drift.events() if e["event"] == "runner_on_failed"]
    assert len(failures) == 1 and "Keycloak drift in 1 of 1 offerings: 'Rancher production'" in failures[0], failures
    reports = drift.project_file("drift-report")
    assert drift.project_file("drift-report", "drift-report.md") in failures[0]   # where the report landed
    with open(os.path.join(reports, "drift-report.json")) as stream:
        report = json.load(stream)
    rancher = report["offerings"][0]
    assert (report["drift"], rancher["status"]) == (True, "drift")
    assert rancher["summary"]["missing_remote"] == ["cluster-a-admins"]
    assert [(g["name"], g["local_only"], g["remote_only"]) for g in rancher["sync_info"]["members"]
            if g["local_only"] or g["remote_only"]] == [("project-x-members", ["bob"], [])]
    with open(os.path.join(reports, "drift-report.md"), encoding="utf-8") as stream:
        markdown = stream.read()
    assert "missing in Keycloak: cluster-a-admins (linked, but its remote group is gone)" in markdown
    assert "members of project-x-members: only in the store: bob" in markdown
    with open(os.path.join(reports, "drift-report.junit.xml"), encoding="utf-8") as stream:
        junit = stream.read()
    assert "cluster-a-admins" in junit and "bob" in junit
    # What AWX keeps once the job's directory is gone: the output, whose summary lists each difference.
    summary = drift.task_results("Show the summary")
    assert len(summary) == 1, drift.summary()
    for line in ("  missing in Keycloak: cluster-a-admins (linked, but its remote group is gone)",
                 "  members of project-x-members: only in the store: bob"):
        assert line in summary[0]["msg"], summary[0]["msg"]
        assert line in drift.stdout()
    awx.assert_no_secrets(drift)


def test_demo_as_an_awx_job(awx, admin):
    """The demo (waldur.keycloak.demo) as a job template's playbook: every step, from AWX's side."""
    with open(os.path.join(awx.repository, "playbooks", "demo.yml"), "w") as stream:
        stream.write("---\n- name: The waldur.keycloak demo\n  ansible.builtin.import_playbook: waldur.keycloak.demo\n")
    demo_realm = "runner-demo-" + os.urandom(4).hex()
    try:
        # The imported play's playbook_dir is the collection's: the demo's files go to the job's own directory,
        # which AWX names in the job's environment.
        demo_dir = "{{ lookup('ansible.builtin.env', 'AWX_PRIVATE_DATA_DIR') }}/project/demo"
        job = awx.launch("playbooks/demo.yml", "Keycloak demo", extra_vars={"demo_realm": demo_realm, "demo_dir": demo_dir})
        assert (job.status, job.rc) == ("successful", 0), job.summary()
        plan = job.task_results("4. Plan | what applying the store would do (check mode: nothing is written; "
                                "'changed' = work to do)")
        assert len(plan) == 1 and plan[0]["plan"], job.summary()
        reconcile = job.task_results("9. Reconcile | one task: rename back, re-create the deleted group, remove mallory")
        assert len(reconcile) == 1 and reconcile[0]["changed"] is True
        assert {"rename_group", "create_group", "remove_member"} <= set(op["action"] for op in reconcile[0]["plan"])
        with open(job.project_file("demo", "report-2-drift", "drift-report.json")) as stream:
            assert json.load(stream)["drift"] is True
        with open(job.project_file("demo", "report-3-clean", "drift-report.json")) as stream:
            assert json.load(stream)["drift"] is False
        tree = helpers.kc_tree(admin, demo_realm)
        assert tree["/hpc/hpc-alpha-user"]["id"]                       # re-created by the reconcile
        # No secret anywhere: the collection's modules hide theirs, and the demo's own set-up calls
        # (ansible.builtin.uri with the admin token in an Authorization header) run with no_log.
        awx.assert_no_secrets(job)
    finally:
        admin.call("DELETE", "/realms/" + demo_realm, expect=(204, 404))
