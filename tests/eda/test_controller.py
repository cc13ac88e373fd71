# -*- coding: utf-8 -*-
"""The drift rulebook as a rulebook activation of EDA controller (docs/events.md, section 3): both rulebooks are valid
for the ansible-rulebook of the lock, and the job template's playbook runs as EDA controller launches it: the event as
extra vars, no event files (they stay in the decision environment), no store in the source (every offering).
"""

import json
import os
import subprocess

import jsonschema
import pytest
import yaml

import ansible_rulebook

pytestmark = pytest.mark.timeout(300)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULEBOOKS = os.path.join(REPO, "extensions", "eda", "rulebooks")


@pytest.mark.parametrize("name", ["drift.yml", "drift_controller.yml"])
def test_the_rulebooks_are_valid_for_ansible_rulebook(name):
    with open(os.path.join(os.path.dirname(ansible_rulebook.__file__), "schema", "ruleset_schema.json")) as stream:
        schema = json.load(stream)
    with open(os.path.join(RULEBOOKS, name)) as stream:
        rulebook = yaml.safe_load(stream)
    jsonschema.validate(rulebook, schema)
    (source,) = rulebook[0]["sources"]
    assert source["waldur.keycloak.keycloak_admin_events"]["coalesce"] is True


def test_the_job_template_reports_every_offering_from_the_event_alone(admin, offerings, tmp_path):
    realm = offerings.realm
    admin.leave(realm, offerings.users["alice"], offerings.group_id("/svc/alpha/alpha-users"))  # by hand
    reports = str(tmp_path / "reports")
    # What run_job_template passes: the slim event of drift_controller.yml's source (coalesce, no store).
    event = {"id": "e2", "time": 2, "time_iso": "1970-01-01T00:00:00.002Z", "operation": "DELETE",
             "resource_type": "GROUP_MEMBERSHIP", "group_id": None, "parent_group_id": None, "user_id": None,
             "details": True, "ref": "1-e1", "refs": ["1-e1", "2-e2"], "count": 2}
    extra = {"ansible_eda": {"event": {"keycloak": event}}, "eda_drift_report_store": offerings.store,
             "eda_drift_report_dir": reports, "eda_drift_report_sync": False}
    run = subprocess.run(["ansible-playbook", "waldur.keycloak.eda_drift_report", "-e", json.dumps(extra)],
                         cwd=str(tmp_path), capture_output=True, text=True, check=False,
                         env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-2000:]
    failure = [line for line in run.stdout.splitlines() if "Keycloak drift in" in line]
    assert failure and offerings.ids["Alpha"] in failure[0] and offerings.ids["Beta"] not in failure[0], run.stdout
    assert "after 2 change(s) in Keycloak" in run.stdout
    with open(os.path.join(reports, "all", "drift-report.json")) as stream:
        report = json.load(stream)
    assert report["title"] == "Keycloak drift after 2 change(s) in Keycloak"
    assert sorted((o["name"], o["drift"]) for o in report["offerings"]) == [("Alpha", True), ("Beta", False)]
    with open(os.path.join(reports, "events", "1-e1.json")) as stream:
        note = json.load(stream)
    assert note["event"] == event and note["events"] == [event] and note["changes"] == []
