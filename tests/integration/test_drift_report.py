# -*- coding: utf-8 -*-
"""The drift report (role and playbook ``waldur.keycloak.drift_report``) through real ansible-playbook runs.

The store is applied first with keycloak_offering_sync; drift is then made behind the collection's back
with the independent raw-HTTP ``admin`` client, and the three report files are read as a CI system would:
the JSON with json, the JUnit XML with xml.etree (which also proves it is well-formed), the Markdown as text.
"""

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import playbook
from helpers import group_record, kc_snapshot, load_store, member, new_uuid, store_bytes, write_groups

# An offering name that breaks XML, HTML and Markdown unless every output escapes it.
WEIRD = 'Ops <&> "QA" \'x\''
# A remote group renamed by hand to a name just as hostile.
HAND_NAME = 'renamed <by> "hand" & co'
CLASSNAME = "waldur.keycloak.drift"
FILES = ("drift-report.md", "drift-report.json", "drift-report.junit.xml")


class Report(object):
    """One ansible-playbook run of waldur.keycloak.drift_report and the files it wrote."""

    def __init__(self, process, out_dir):
        self.returncode = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr
        self.out_dir = out_dir

    def path(self, name):
        return os.path.join(self.out_dir, name)

    @property
    def markdown(self):
        with open(self.path("drift-report.md"), encoding="utf-8") as stream:
            return stream.read()

    @property
    def json(self):
        with open(self.path("drift-report.json"), encoding="utf-8") as stream:
            return json.load(stream)

    @property
    def junit(self):
        return ET.parse(self.path("drift-report.junit.xml")).getroot()

    def offering(self, name):
        matches = [o for o in self.json["offerings"] if o["name"] == name]
        assert len(matches) == 1, "offering %r not in the report: %r" % (name, self.json["offerings"])
        return matches[0]

    def testcases(self):
        root = self.junit
        assert root.tag == "testsuites"
        suites = root.findall("testsuite")
        assert len(suites) == 1, "one testsuite expected"
        return dict((case.get("name"), case) for case in suites[0].findall("testcase"))

    def output(self):
        return "rc %d\n%s\n%s" % (self.returncode, self.stdout[-4000:], self.stderr[-2000:])


def run_report(tmp_path, store, *extra_vars, env=None, unset=(), out="report", inventory=None):
    """ansible-playbook waldur.keycloak.drift_report, as the docs show it; credentials come from KEYCLOAK_*.

    ``env`` adds environment variables, ``unset`` removes some; ``inventory`` is passed with -i.
    """
    out_dir = str(tmp_path / out)
    command = ["ansible-playbook", "waldur.keycloak.drift_report"]
    if inventory is not None:
        command += ["-i", inventory]
    if store is not None:
        command += ["-e", "drift_report_store=" + store]
    command += ["-e", "drift_report_dir=" + out_dir]
    for extra in extra_vars:
        command += ["-e", extra]
    environment = dict(os.environ)
    for name in ("WALDUR_KEYCLOAK_STORE",) + tuple(unset):
        environment.pop(name, None)
    environment["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    environment["ANSIBLE_NOCOLOR"] = "1"
    environment.update(env or {})
    process = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=str(tmp_path),
                             check=False, timeout=600)
    return Report(process, out_dir)


def fail_message(report):
    """The ``msg`` of the role's final fail task."""
    messages = re.findall(r'fatal: \[localhost\]: FAILED! => (\{.*\})', report.stdout)
    assert messages, "no failed task:\n" + report.output()
    return json.loads(messages[-1])["msg"]


@pytest.fixture
def applied_store(admin, realm, offering_store):
    """Two Keycloak offerings (one named WEIRD) and one without Keycloak, applied with keycloak_offering_sync.

    Returns (store path, {group name: backend_id}).
    """
    for username in ("alice", "bob", "mallory"):
        admin.create_user(realm, username)
    weird = {"offering": new_uuid(), "role_admin": new_uuid(), "resource_a": new_uuid()}
    extra = [
        {"uuid": weird["offering"], "name": WEIRD, "slug": "ops-qa", "keycloak": {"realm": realm},
         "roles": [{"uuid": weird["role_admin"], "name": "admin", "scope_type": ""}],
         "resources": [{"uuid": weird["resource_a"], "name": "node"}]},
        {"uuid": new_uuid(), "name": "No Keycloak here", "roles": [], "resources": []},
    ]
    store, ids = offering_store(extra_offerings=extra)
    write_groups(store, [
        # carol never exists in Keycloak: she stays pending, which is not drift.
        group_record(ids, "cluster-a-admins", members=[member("alice", "pending"), member("carol", "pending")]),
        group_record(ids, "project-x-members", role="role_member", scope_id="p-1",
                     members=[member("bob", "pending")]),
        group_record(weird, "ops-admins", members=[member("alice", "pending")]),
    ])
    applied = playbook.run_module("keycloak_offering_sync", {"store": store})
    assert not applied.get("failed"), applied.get("msg")
    assert applied["changed"]
    linked = dict((g["name"], g["backend_id"]) for g in load_store(store)["groups"])
    assert all(linked.values()), linked
    return store, linked


def test_clean_store_reports_no_drift(tmp_path, applied_store):
    store, _linked = applied_store
    report = run_report(tmp_path, store)
    assert report.returncode == 0, report.output()
    for name in FILES:
        assert os.path.isfile(report.path(name)), name

    data = report.json
    assert data["drift"] is False
    assert data["totals"] == {"offerings": 2, "in_sync": 2, "drifted": 0, "store_behind": 0, "errors": 0, "operations": 0}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", data["generated"])
    assert data["store"] == os.path.realpath(store)
    assert data["options"] == {"members_mode": "additive", "prune": False, "relink": False,
                               "fail_on_store_behind": False}
    assert [o["name"] for o in data["offerings"]] == ["Rancher production", WEIRD]   # not "No Keycloak here"
    for entry in data["offerings"]:
        assert entry["status"] == "in_sync" and entry["drift"] is False and entry["errors"] == []
        assert entry["plan"] == []
        assert entry["sync_info"]["in_sync"] is True
        assert entry["sync_info"]["local_only"] == [] and entry["sync_info"]["remote_only"] == []
        assert all(not g["local_only"] and not g["remote_only"] for g in entry["sync_info"]["members"])
    rancher = report.offering("Rancher production")
    assert rancher["path"] == "/rancher-prod"
    assert rancher["summary"]["pending"] == ["cluster-a-admins: carol"]
    assert rancher["sync_info"]["counts"] == {"synced": 2, "local_only": 0, "remote_only": 0}

    cases = report.testcases()
    assert sorted(cases) == sorted(["Rancher production", WEIRD])
    suite = report.junit.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "0")
    for case in cases.values():
        assert case.get("classname") == CLASSNAME
        assert case.find("failure") is None and case.find("error") is None
        float(case.get("time"))

    markdown = report.markdown
    assert "**2 offerings checked: 2 in sync, 0 with drift.**" in markdown
    assert "| Rancher production | ✅ in sync | 0 | 0 | 0 | 0 | 0 |" in markdown
    # The name is text in Markdown (GitHub renders HTML), never markup.
    assert "## Ops &lt;&amp;&gt; \"QA\" 'x'" in markdown
    assert "<&>" not in markdown
    assert "No planned operations." in markdown
    assert "cluster-a-admins: carol" in markdown
    assert "DRIFT" not in report.stdout
    # A report reads as a few lines, not a task log: three tasks per offering, eleven around them.
    role_tasks = re.findall(r"^TASK \[waldur\.keycloak\.drift_report : (.*?)\] ", report.stdout, re.M)
    assert len(role_tasks) <= 11 + 3 * 2, role_tasks


def test_known_drift_is_reported_and_fails_the_run(tmp_path, admin, realm, applied_store):
    store, linked = applied_store
    admin.rename_group(realm, linked["cluster-a-admins"], HAND_NAME)
    admin.delete_group(realm, linked["project-x-members"])
    mallory = admin.get("/realms/%s/users" % realm, username="mallory", exact="true")[0]["id"]
    admin.join(realm, mallory, linked["ops-admins"])
    store_before, keycloak_before = store_bytes(store), kc_snapshot(admin, realm)

    report = run_report(tmp_path, store)
    assert report.returncode != 0, report.output()
    # The report only looks: check mode changed neither the store nor Keycloak.
    assert store_bytes(store) == store_before
    assert kc_snapshot(admin, realm) == keycloak_before

    message = fail_message(report)
    assert "\n" not in message
    assert "Keycloak drift in 2 of 2 offerings" in message
    assert "'Rancher production'" in message and "'%s'" % WEIRD in message
    assert os.path.join(report.out_dir, "drift-report.md") in message

    data = report.json
    assert data["drift"] is True
    assert data["totals"] == {"offerings": 2, "in_sync": 0, "drifted": 2, "store_behind": 0, "errors": 0, "operations": 1}
    rancher = report.offering("Rancher production")
    assert (rancher["status"], rancher["drift"]) == ("drift", True)
    assert [(op["action"], op["target"], op["name"]) for op in rancher["plan"]] == [
        ("rename_group", "/rancher-prod/" + HAND_NAME, [HAND_NAME, "cluster-a-admins"])]
    assert rancher["summary"]["renamed"] == ["cluster-a-admins"]
    assert rancher["summary"]["missing_remote"] == ["project-x-members"]
    assert rancher["sync_info"]["local_only"] == ["project-x-members"]
    assert rancher["sync_info"]["in_sync"] is False
    weird = report.offering(WEIRD)
    assert (weird["status"], weird["drift"], weird["plan"]) == ("drift", True, [])
    assert [(g["name"], g["local_only"], g["remote_only"]) for g in weird["sync_info"]["members"]] == [
        ("ops-admins", [], ["mallory"])]

    rename_line = "rename_group /rancher-prod/%s (%s -> cluster-a-admins)" % (HAND_NAME, HAND_NAME)
    missing_line = "missing in Keycloak: project-x-members (linked, but its remote group is gone)"
    local_line = "local only (in the store, not in Keycloak): project-x-members"
    member_line = "members of ops-admins: only in Keycloak: mallory"
    markdown = report.markdown
    assert "**2 offerings checked: 0 in sync, 2 with drift.**" in markdown
    assert "| Rancher production | ❌ drift | 1 | 1 | 1 | 0 | 0 |" in markdown
    for line in (rename_line, missing_line, local_line, member_line):
        assert line in markdown, line      # inside ```text blocks: verbatim

    cases = report.testcases()
    suite = report.junit.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "2", "0")
    rancher_failure = cases["Rancher production"].find("failure")
    assert rancher_failure is not None
    assert rancher_failure.get("message") == (
        "Rancher production: 1 planned operation, 1 missing in Keycloak, 1 local only")
    assert rancher_failure.text.splitlines() == [rename_line, missing_line, local_line]
    weird_failure = cases[WEIRD].find("failure")
    assert weird_failure is not None
    assert weird_failure.get("message") == WEIRD + ": 1 group with member drift"
    assert weird_failure.text == member_line
    with open(report.path("drift-report.junit.xml"), encoding="utf-8") as stream:
        raw = stream.read()
    assert 'name="Ops &lt;&amp;&gt; &#34;QA&#34; &#39;x&#39;"' in raw

    summary = report.stdout
    assert "Rancher production: DRIFT" in summary and "mallory" in summary

    # The same drift with fail_on_drift=false (as a plain -e key=value string): reported, not failed.
    lenient = run_report(tmp_path, store, "drift_report_fail_on_drift=false", out="lenient")
    assert lenient.returncode == 0, lenient.output()
    assert lenient.json["drift"] is True
    assert lenient.json["totals"]["drifted"] == 2
    assert lenient.testcases()["Rancher production"].find("failure") is not None
    assert kc_snapshot(admin, realm) == keycloak_before


def test_selected_offerings_and_an_unknown_one(tmp_path, applied_store):
    store, _linked = applied_store
    selection = json.dumps({"drift_report_offerings": [WEIRD, "No such offering"],
                            "drift_report_fail_on_drift": False, "drift_report_members_mode": "exact"})
    report = run_report(tmp_path, store, selection)
    # An offering that cannot be checked fails the run even with fail_on_drift false, after the files.
    assert report.returncode != 0, report.output()
    message = fail_message(report)
    assert message.startswith("could not check 1 of 2 offerings: 'No such offering' (No such offering: ")
    assert "Offering not found" in message

    data = report.json
    assert [o["name"] for o in data["offerings"]] == [WEIRD, "No such offering"]
    assert data["options"]["members_mode"] == "exact"
    assert data["totals"] == {"offerings": 2, "in_sync": 1, "drifted": 0, "store_behind": 0, "errors": 1, "operations": 0}
    unknown = report.offering("No such offering")
    assert unknown["status"] == "error" and unknown["drift"] is False
    assert len(unknown["errors"]) == 1 and "Offering not found" in unknown["errors"][0]
    cases = report.testcases()
    assert cases[WEIRD].find("failure") is None and cases[WEIRD].find("error") is None
    error = cases["No such offering"].find("error")
    assert error is not None and "Offering not found" in error.get("message")
    assert "| No such offering | ⚠️ error | - | - | - | - | - |" in report.markdown


def test_without_a_store_the_role_says_so(tmp_path):
    report = run_report(tmp_path, None)
    assert report.returncode != 0
    assert "drift_report_store" in report.stdout + report.stderr
    assert not os.path.exists(report.path("drift-report.json"))


def test_a_read_only_service_account_is_enough(tmp_path, admin, realm, applied_store):
    """What docs/drift-reports.md recommends for CI: client credentials with realm-management's view-users only."""
    store, _linked = applied_store
    admin.call("POST", "/realms/%s/clients" % realm, expect=(201,), json={
        "clientId": "drift-report-ci", "secret": "ci-secret-" + new_uuid(), "publicClient": False,
        "serviceAccountsEnabled": True, "standardFlowEnabled": False, "directAccessGrantsEnabled": False})
    client = admin.get("/realms/%s/clients" % realm, clientId="drift-report-ci")[0]
    secret = admin.get("/realms/%s/clients/%s/client-secret" % (realm, client["id"]))["value"]
    account = admin.get("/realms/%s/clients/%s/service-account-user" % (realm, client["id"]))
    management = admin.get("/realms/%s/clients" % realm, clientId="realm-management")[0]
    view_users = admin.get("/realms/%s/clients/%s/roles/view-users" % (realm, management["id"]))
    admin.call("POST", "/realms/%s/users/%s/role-mappings/clients/%s" % (realm, account["id"], management["id"]),
               json=[view_users])

    report = run_report(tmp_path, store, unset=("KEYCLOAK_USERNAME", "KEYCLOAK_PASSWORD", "KEYCLOAK_TOKEN"),
                        env={"KEYCLOAK_AUTH_REALM": realm, "KEYCLOAK_CLIENT_ID": "drift-report-ci",
                             "KEYCLOAK_CLIENT_SECRET": secret})
    assert report.returncode == 0, report.output()
    assert report.json["totals"] == {"offerings": 2, "in_sync": 2, "drifted": 0, "store_behind": 0, "errors": 0, "operations": 0}
    assert secret not in report.stdout + report.stderr
    with open(report.path("drift-report.json"), encoding="utf-8") as stream:
        assert secret not in stream.read()


def test_a_group_imported_from_outside_the_offering_is_no_drift(tmp_path, admin, realm, offering_store):
    """The README's import of a /staff/... group, then a sync: the report clears (it used to fail forever)."""
    store, ids = offering_store()
    staff = admin.create_group(realm, "staff")
    admin.join(realm, admin.create_user(realm, "alice"), admin.create_group(realm, "project-x", parent_id=staff))
    run = playbook.run_tasks([
        {"waldur.keycloak.keycloak_group_import": {"store": store, "offering": ids["offering"],
                                                   "role": "project-member", "scope_id": "p-x",
                                                   "remote_group_path": "/staff/project-x"}},
        {"waldur.keycloak.keycloak_offering_group": {"store": store, "offering": ids["offering"],
                                                     "role": "project-member", "scope_id": "p-x",
                                                     "pull_members": True}},
        {"waldur.keycloak.keycloak_offering_sync": {"store": store}},
    ])
    for result in run.results:
        assert not result.get("failed"), result.get("msg")
    snapshot = kc_snapshot(admin, realm)

    report = run_report(tmp_path, store)
    assert report.returncode == 0, report.output()
    entry = report.offering("Rancher production")
    assert (entry["status"], entry["plan"]) == ("in_sync", [])
    assert entry["sync_info"]["synced"] == [{"local_name": "project-x", "remote_name": "project-x",
                                             "backend_id": load_store(store)["groups"][0]["backend_id"]}]
    assert entry["sync_info"]["local_only"] == []
    assert kc_snapshot(admin, realm) == snapshot


def warnings_in(report):
    """Every warning ansible-playbook printed: deprecations, plain warnings, errors it carried on after."""
    text = report.stdout + "\n" + report.stderr
    return [line for line in text.splitlines() if re.search(r"\[(DEPRECATION WARNING|WARNING)\]", line)]


def test_the_report_prints_no_warning(tmp_path, admin, realm, applied_store):
    """In sync, drifted and unknown offerings, with drift that does and does not fail the run: no warning.

    Deprecations are shown (ANSIBLE_DEPRECATION_WARNINGS, on by default) so a coerced ``bool`` would be seen.
    The inventory is given: without one, ansible-playbook itself warns that only the implicit localhost exists.
    """
    store, linked = applied_store
    env = {"ANSIBLE_DEPRECATION_WARNINGS": "1"}
    clean = run_report(tmp_path, store, env=env, out="clean", inventory="localhost,")
    assert clean.returncode == 0, clean.output()
    admin.delete_group(realm, linked["project-x-members"])
    selection = json.dumps({"drift_report_offerings": ["Rancher production", WEIRD, "No such offering"],
                            "drift_report_fail_on_drift": "no"})
    drifted = run_report(tmp_path, store, selection, env=env, out="drifted", inventory="localhost,")
    assert drifted.returncode != 0, drifted.output()
    assert drifted.json["totals"]["drifted"] == 1 and drifted.json["totals"]["errors"] == 1, drifted.json["totals"]
    for report in (clean, drifted):
        assert warnings_in(report) == [], report.output()


def test_the_role_lints_without_a_deprecation_warning():
    """ansible-lint templates the role's vars without their values: a `| bool` on what is then a template
    string is a deprecated coercion ansible-core 2.23 removes (it showed in every `make lint`)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    process = subprocess.run(["ansible-lint", "--nocolor", "roles/drift_report"], capture_output=True, text=True,
                             cwd=root, check=False, timeout=600, env=dict(os.environ, NO_COLOR="1"))
    output = process.stdout + process.stderr
    assert process.returncode == 0, output
    assert "DEPRECATION WARNING" not in output, output
