# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Makefile's stages: `make test` runs every test directory; `make check` is what CONTRIBUTING.md says."""

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def recipes():
    """target -> its recipe (continuation lines joined), from the Makefile."""
    with open(os.path.join(ROOT, "Makefile")) as stream:
        lines = stream.read().replace("\\\n", " ").splitlines()
    found, current = {}, None
    for line in lines:
        match = re.match(r"^([a-z][a-z-]*):", line)
        if match:
            current = match.group(1)
            found[current] = ""
        elif line.startswith("\t") and current:
            found[current] += line + "\n"
        elif not line.startswith("#"):
            current = None
    return found


def stages(target):
    return re.findall(r"\bstage ([a-z][a-z-]*)", recipes()[target])


def what_runs(target):
    """The recipe of ``target`` and the text of each script it starts: where a test directory would be named."""
    text = recipes()[target]
    for script in sorted(set(re.findall(r"\bscripts/[\w.-]+", text))):
        with open(os.path.join(ROOT, script)) as stream:
            text += stream.read()
    return text


def test_make_test_runs_every_test_directory():
    directories = sorted(set(os.path.relpath(os.path.dirname(path), ROOT).split(os.sep)[1]
                             for path in glob.glob(os.path.join(ROOT, "tests", "**", "test_*.py"), recursive=True)))
    assert {"unit", "tooling", "integration"} <= set(directories)
    ran = "".join(what_runs(stage) for stage in stages("test"))
    missing = [d for d in directories if not re.search(r"\btests/%s\b" % d, ran)]
    assert not missing, "no stage of make test runs tests/%s" % missing


def test_make_check_is_the_fast_checks_contributing_md_names_and_needs_no_keycloak():
    assert stages("check") == ["venv", "collection", "unit", "tooling", "lint", "changelog-lint", "sanity"]
    for stage in stages("check"):
        assert "$(KEYCLOAK)" not in recipes()[stage], "make %s needs Keycloak" % stage
    with open(os.path.join(ROOT, "CONTRIBUTING.md")) as stream:
        sentence = re.search(r"^`make check` runs (.*?)\.", stream.read(), re.M | re.S).group(1)
    assert re.findall(r"`([a-z-]+)`", sentence) == stages("check")[2:]


def test_the_unit_tests_run_under_ansible_test_too():
    assert "units" in what_runs("ansible-units")
    assert "ansible-units" in stages("test")
