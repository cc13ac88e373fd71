# -*- coding: utf-8 -*-
"""Hostile text stays data on the cell's ansible-core (issue 21): the compact version of
tests/reliability/test_hostile_input.py's corpus check.

Names that are Jinja templates (each would create a MARK file if anything rendered it), with quotes, line
breaks, XML and Markdown specials, terminal escapes and NEL, come from the store and from groups made by
hand in Keycloak. They go through a check-mode sync with --diff, its result registered and used by later
tasks, the apply, and the drift_report playbook. No MARK file appears; Keycloak (read with the raw
client) and the store (read with PyYAML) hold the text exactly; the JSON report round-trips, the JUnit
report parses and names the offering, the Markdown tables keep their columns.
"""

import os
import re

import playbook
import yaml
from helpers import create_path, fqcn, new_uuid, write_store
from test_drift_report import run_report

JINJA = ["{{ lookup('pipe', 'touch MARK-expr') }}",
         "{% set x = lookup('pipe', 'touch MARK-stmt') %}set{{ x }}",
         "{# c #}{% raw %}{{ lookup('pipe', 'touch MARK-raw') }}{% endraw %}{{ lookup('pipe', 'touch MARK-after') }}"]
TEXT = JINJA + ["quote ' \" \\ <x> & ]]> | `tick` *em*", "line\nbreak \x1b[31mred\x07 nel\x85 ls\u2028 end"]


def _markers(root):
    return sorted(name for _d, _dirs, files in os.walk(str(root)) for name in files if name.startswith("MARK"))


def test_hostile_text_is_never_a_template(admin, compat_realm, tmp_path, cell_env):
    ids = dict((key, new_uuid()) for key in ("offering", "role", "resource"))
    offering_name = "Offering " + JINJA[0] + " </testcase> \x1b[31m"
    groups = [{"uuid": new_uuid(), "name": text, "backend_id": "", "offering": ids["offering"], "role": ids["role"],
               "resource": ids["resource"], "scope_id": "%d %s" % (index, text),
               "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z",
               "members": [{"username": "%s-%d" % (JINJA[index % 3], index), "state": "pending"}]}
              for index, text in enumerate(TEXT)]
    path = str(tmp_path / "store.yml")
    write_store(path, {"version": 1, "offerings": [{
        "uuid": ids["offering"], "name": offering_name, "slug": "hostile",
        "roles": [{"uuid": ids["role"], "name": "admin", "scope_type": "cluster"}],
        "resources": [{"uuid": ids["resource"], "name": "cluster"}],
        "keycloak": {"realm": compat_realm}}], "groups": groups})
    root = create_path(admin, compat_realm, "/hostile")
    handmade = ["hand " + text for text in TEXT]
    for name in handmade:
        admin.create_group(compat_realm, name, parent_id=root)
    (tmp_path / "play").mkdir()
    run = playbook.run_tasks([
        {fqcn("keycloak_offering_sync"): {"store": path, "offering": ids["offering"]}, "check_mode": True,
         "diff": True},
        {"ansible.builtin.set_fact": {"seen": "{{ result_0.plan | map(attribute='target') | list }}"}},
        {"ansible.builtin.debug": {"msg": "{{ seen + [result_0.offerings[0].offering] }}"}},
        {fqcn("keycloak_offering_sync"): {"store": path, "offering": ids["offering"]}},
        {"ansible.builtin.debug": {"msg": "{{ result_3.plan | map(attribute='target') | join(', ') }}"}},
    ], env=cell_env, workdir=str(tmp_path / "play"))
    assert not run.results[0].get("failed") and not run.results[3].get("failed"), run.stdout[-3000:]
    report = run_report(tmp_path, path, "drift_report_fail_on_drift=false", env=cell_env)
    assert report.returncode == 0, report.output()

    assert _markers(tmp_path) == [], "a template was rendered"
    names = sorted(g["name"] for g in admin.children(compat_realm, root))
    assert sorted(TEXT + handmade) == names
    with open(path, encoding="utf-8") as stream:
        assert sorted(g["name"] for g in yaml.safe_load(stream)["groups"]) == sorted(TEXT)
    [entry] = report.json["offerings"]
    assert entry["name"] == offering_name
    assert set(handmade) <= set(entry["sync_info"]["remote_only"])
    assert [case.get("name") for case in report.junit.iter("testcase")] == [offering_name.replace("\x1b", " ")]
    for table in re.findall(r"(?:^\|.*\n)+", report.markdown, re.M):
        assert len(set(len(re.findall(r"(?<!\\)\|", row)) for row in table.splitlines())) == 1, table
