# -*- coding: utf-8 -*-
"""Text that someone who may change groups (or their own profile) in the realm puts into Keycloak is data, never a
template, through the whole rulebook: the event source, ansible-rulebook, ansible-playbook and the drift report.

Each scenario runs ``ansible-rulebook -r waldur.keycloak.drift`` as an operator runs it, makes one change by hand
with hostile text (Jinja that would ``touch`` a marker file, quotes, newlines, XML, Markdown/HTML, ANSI escapes,
U+202E, YAML-meaningful text, a name of Keycloak's maximum length), waits for the drift report that change
starts, and checks: no marker file, the note and the report JSON hold the exact text, the JUnit XML parses and
carries it, the Markdown tables keep their columns, the report's title names the real group path.

EDA_ANSIBLE_PLAYBOOK_VENV=<virtualenv> puts that virtualenv's bin first on the rulebook's PATH, so the playbook
runs with its ansible-playbook (`make eda-compat` runs one scenario with ansible-core 2.16 and 2.21).
"""

import glob
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from edakit import Rulebook, playbook_venv, wait_for

pytestmark = pytest.mark.timeout(600)

PATIENCE = 240
# What the drift_report role turns into one space on one line (its own definition, read, not copied).
with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "roles", "drift_report", "vars", "main.yml"), encoding="utf-8") as _stream:
    NOT_ONE_LINE = re.compile(yaml.safe_load(_stream)["__drift_report_not_one_line"])


def touch(tag):
    """Jinja that, if ever rendered, creates the marker file <WALDUR_EDA_MARKER>-<tag> (no '/' in the text)."""
    return "lookup('pipe', 'touch \"$WALDUR_EDA_MARKER\"-%s')" % tag


MIXED = ("{# c #}{% raw %}{{ 7*7 }}{% endraw %}{{ " + touch("mix") + " }} \"dq\" 'sq' a\nb <b>&amp; ]]> | c |"
         " <script>x</script> `t` [l](javascript:x) \x1b[31mred\x1b[0m \u202eevil k: v # h *a !!python/object:os.system")
assert len(MIXED) <= 255  # Keycloak's longest group name
LONG = "{{ " + touch("long") + " }}"
LONG = "L" * (240 - len(LONG)) + LONG  # near Keycloak's longest group name (255)
# The profile text: firstName/lastName in a realm whose user profile allows any text, an email Keycloak's default
# validation accepts.
PROFILE = {"firstName": "{{ " + touch("first") + " }} <script>|`", "lastName": "{% set x = " + touch("last")
           + " %}Lee{{ x }} | ]]> \u202e", "email": "x{{7*7}}{%raw%}@example.org"}

SCENARIOS = {
    # kind, text
    "create-lookup": ("create", "{{ " + touch("create") + " }}"),
    "rename-set": ("rename", "{% set x = " + touch("rename") + " %}renamed{{ x }}"),
    "create-mixed": ("create", MIXED),
    "create-long": ("create", LONG),
    "profile": ("profile", None),
}


def strings(value):
    """Every string in a JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def table_rows(markdown):
    """Each Markdown table as a list of rows, each row as its cells (a '|' escaped as '\\|' is no column)."""
    tables, current = [], []
    for line in markdown.split("\n"):
        if line.startswith("|"):
            current.append(re.split(r"(?<!\\)\|", line)[1:-1])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def allow_any_person_name(admin, realm):
    """A realm whose user profile lets users put any text in firstName and lastName (Keycloak's default forbids
    <>&"'$%!#?;*~/\\|^=[]{}() there)."""
    profile = admin.get("/realms/%s/users/profile" % realm)
    for attribute in profile["attributes"]:
        if attribute["name"] in ("firstName", "lastName"):
            attribute["validations"] = {"length": {"max": 255}}
    admin.call("PUT", "/realms/%s/users/profile" % realm, json=profile)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_hostile_text_from_keycloak_is_never_a_template(admin, offerings, keycloak_url, tmp_path, scenario):
    kind, text = SCENARIOS[scenario]
    realm = offerings.realm
    marker = str(tmp_path / "owned")
    rulebook = Rulebook(offerings, keycloak_url, poll_interval=1, env={"WALDUR_EDA_MARKER": marker})
    try:
        rulebook.start()
        alpha = offerings.group_id("/svc/alpha")
        if kind == "create":
            group_id = admin.create_group(realm, text, parent_id=alpha)
            path, operation = "/svc/alpha/" + text, "CREATE GROUP"
        elif kind == "rename":
            group_id = offerings.group_id("/svc/alpha/alpha-admins")
            admin.rename_group(realm, group_id, text)
            path, operation = "/svc/alpha/" + text, "UPDATE GROUP"
        else:
            allow_any_person_name(admin, realm)
            user = admin.create_user(realm, "mallory", email=PROFILE["email"], first_name=PROFILE["firstName"],
                                     last_name=PROFILE["lastName"])
            group_id = offerings.group_id("/svc/alpha/alpha-users")
            admin.join(realm, user, group_id)
            path, operation = "/svc/alpha/alpha-users", "CREATE GROUP_MEMBERSHIP"
        note = wait_for(lambda: [n for n in rulebook.notes().values() if n["event"]["group_id"] == group_id],
                        PATIENCE, "the drift report of the change")[0]
        wait_for(lambda: rulebook.runs_finished() >= 1, PATIENCE, "the drift report run to finish")
        output = rulebook.output()

        # Never rendered: no marker file, anywhere.
        assert glob.glob(marker + "*") == [], "a template from Keycloak was rendered:\n" + output[-3000:]
        assert "Traceback" not in output

        # The note (the event the run started from) holds the exact text.
        event = note["event"]
        assert event["group_path"] == path
        if kind == "create":
            assert event["group_name"] == text and event["representation"]["name"] == text
        elif kind == "rename":
            assert event["representation"]["name"] == text
        else:
            assert event["username"] == "mallory"
        change = "%s %s%s" % (operation, path, " (mallory)" if kind == "profile" else "")
        assert note["change"] == change
        if os.environ.get("EDA_ANSIBLE_PLAYBOOK_VENV"):
            expected = subprocess.run([os.path.join(playbook_venv(), "bin", "python"), "-c",
                                       "import ansible.release as r; print(r.__version__)"],
                                      check=True, capture_output=True, text=True).stdout.strip()
            assert note["ansible_version"] == expected

        # The report: JSON round-trips the exact title, which names the real group path.
        report = wait_for(lambda: rulebook.report("Alpha"), PATIENCE, "Alpha's report")
        assert report["title"] == "Keycloak drift after " + change
        assert report["drift"] and [o["name"] for o in report["offerings"]] == ["Alpha"]
        if kind in ("create", "rename"):
            assert any(text in value for value in strings(report))

        # JUnit XML parses and carries the text (control characters and bidi overrides become spaces there).
        junit = ET.parse(rulebook.report_path("Alpha", "drift-report.junit.xml")).getroot()
        visible = NOT_ONE_LINE.sub(" ", change)
        assert junit.get("name") == "Keycloak drift after " + visible

        # Markdown: every table keeps its columns; the title is one heading line.
        markdown = open(rulebook.report_path("Alpha", "drift-report.md"), encoding="utf-8").read()
        tables = table_rows(markdown)
        assert tables
        for table in tables:
            assert len(set(len(row) for row in table)) == 1, table
        heading = [line for line in markdown.split("\n") if line.startswith("# ")]
        assert len(heading) == 1 and "svc/alpha/" in heading[0]
        # Outside code blocks no HTML from a name (inside, it is shown as text).
        assert "<script>" not in re.sub(r"(?ms)^```.*?^```", "", markdown)
    finally:
        rulebook.stop()
