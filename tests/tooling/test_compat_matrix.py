# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The compatibility matrix (tests/compat/matrix.yml) and what README.md and meta/runtime.yml claim from it.

`make compat` checks the same against the results of its run (scripts/compat.py check); these tests
check the committed files against the matrix definition, and the check itself on made-up results.
"""

import copy
import os
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import compat  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def matrix():
    return compat.load_matrix()


def results_passing(matrix, failed=()):
    """Results of a run in which every cell passed, but ``failed`` [(ansible-core, Keycloak)]."""
    venvs = dict((a["version"], {"release": a["release"], "python": a["python"] + ".0"})
                 for a in matrix["ansible_core"])
    cells = [{"ansible_core": v, "keycloak": k, "passed": (v, k) not in failed, "seconds": 1.0}
             for v, k in compat.cells(matrix)]
    return {"complete": True, "venvs": venvs, "cells": cells}


def test_readme_and_requires_ansible_claim_exactly_the_matrix(matrix):
    assert compat.check(None, matrix) == []


def test_the_matrix_covers_every_version_once_and_the_issue_s_range(matrix):
    versions = [a["version"] for a in matrix["ansible_core"]]
    assert versions == ["2.16", "2.17", "2.18", "2.19", "2.20", "2.21"]
    cells = compat.cells(matrix)
    assert len(cells) == len(set(cells)) == len(versions) + len(matrix["keycloak"]) - 1
    assert set(v for v, _k in cells) == set(versions)
    assert set(k for _v, k in cells) == set(matrix["keycloak"])
    for entry in matrix["ansible_core"]:
        # 2.20 and 2.21 need Python 3.12 or later.
        if compat.version_key(entry["version"]) >= (2, 20):
            assert compat.version_key(entry["python"]) >= (3, 12), entry
        assert entry["release"].startswith(entry["version"] + "."), entry


def test_the_main_ansible_core_is_the_one_requirements_test_installs(matrix):
    main = compat.ansible_core(matrix, matrix["main_ansible_core"])
    with open(os.path.join(ROOT, "requirements-test.txt")) as stream:
        pin = [line for line in stream if line.startswith("ansible-core")][0]
    assert ">=%s" % main["release"] in pin and "<2.%d" % (int(main["version"].split(".")[1]) + 1) in pin


def test_a_passed_run_agrees_with_the_readme(matrix):
    assert compat.check(results_passing(matrix), matrix) == []


def test_a_failed_cell_the_readme_claims_is_caught(matrix):
    problems = compat.check(results_passing(matrix, failed=[("2.20", matrix["main_keycloak"])]), matrix)
    assert len(problems) == 1 and "supported-versions table does not match the results" in problems[0]
    assert "2.20" not in problems[0].split("it should read:")[1]


def test_the_oldest_failing_moves_requires_ansible(matrix):
    problems = compat.check(results_passing(matrix, failed=[("2.16", matrix["main_keycloak"])]), matrix)
    assert any("requires_ansible is '>=2.16.0'" in p and "'>=2.17.0'" in p for p in problems), problems
    assert any("README.md does not state requires_ansible: >=2.17.0" in p for p in problems), problems


def test_a_readme_that_omits_a_passed_version_is_caught(matrix, tmp_path):
    with open(compat.README) as stream:
        text = stream.read()
    row = [line for line in text.splitlines() if line.startswith("| 2.18 (")][0]
    readme = tmp_path / "README.md"
    readme.write_text(text.replace(row + "\n", ""))
    problems = compat.check(results_passing(matrix), matrix, readme=str(readme))
    assert len(problems) == 1 and row in problems[0]


def test_a_readme_that_claims_an_untested_keycloak_is_caught(matrix, tmp_path):
    wider = copy.deepcopy(matrix)
    wider["keycloak"].insert(0, "23.0.7")
    readme = tmp_path / "README.md"
    with open(compat.README) as stream:
        text = stream.read()
    readme.write_text(text.replace(compat.readme_table(text), compat.render_table(wider)))
    assert "Keycloak 23.0.7" in readme.read_text()
    problems = compat.check(results_passing(matrix), matrix, readme=str(readme))
    assert len(problems) == 1 and "does not match" in problems[0]


def test_requires_ansible_in_runtime_yml_is_read(matrix, tmp_path):
    runtime = tmp_path / "runtime.yml"
    runtime.write_text(yaml.safe_dump({"requires_ansible": ">=2.19.0"}))
    problems = compat.check(None, matrix, runtime=str(runtime))
    assert problems == ["meta/runtime.yml: requires_ansible is '>=2.19.0', but the oldest ansible-core that passed "
                        "(tests/compat/matrix.yml) makes it '>=2.16.0'"]


def test_a_partial_run_is_not_checked(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"complete": false, "cells": [], "venvs": {}}')
    with pytest.raises(compat.CompatError, match="only some cells"):
        compat.load_results(str(path))


def test_a_missing_python_is_named(monkeypatch):
    monkeypatch.setenv("COMPAT_PYTHON_3_99", "/nonexistent/python3.99")
    with pytest.raises(compat.CompatError) as error:
        compat.find_python("3.99", "ansible-core 9.9.9")
    message = str(error.value)
    assert "ansible-core 9.9.9 needs Python 3.99" in message and "COMPAT_PYTHON_3_99" in message
    assert "\n" not in message


def test_the_venv_key_changes_with_what_it_installs(matrix, monkeypatch, tmp_path):
    entry = compat.ansible_core(matrix, "2.16")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = compat.venv_path(entry, "3.11.7")
    assert first.startswith(str(tmp_path / "waldur-keycloak" / "compat") + os.sep)
    assert compat.venv_path(entry, "3.11.7") == first
    assert compat.venv_path(entry, "3.11.8") != first
    assert compat.venv_path(dict(entry, release="2.16.18"), "3.11.7") != first
    # Locked (CI): the key follows the lock's text, wherever the checkout is.
    monkeypatch.setenv("LOCKED", "1")
    locked = compat.venv_path(entry, "3.11.7")
    monkeypatch.setattr(compat, "ROOT", str(tmp_path))
    (tmp_path / "locks").mkdir()
    with open(os.path.join(ROOT, "locks", "compat-2.16-py3.11.txt")) as lock:
        (tmp_path / "locks" / "compat-2.16-py3.11.txt").write_text(lock.read())
    assert compat.venv_path(entry, "3.11.7") == locked
    (tmp_path / "locks" / "compat-2.16-py3.11.txt").write_text("ansible-core==2.16.19 --hash=sha256:00\n")
    assert compat.venv_path(entry, "3.11.7") != locked
    # From the ranges (make test-latest): the key follows requirements.txt.
    monkeypatch.setenv("LOCKED", "0")
    ranges = compat.venv_path(entry, "3.11.7")
    assert ranges != locked
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests>=2.28\n")
    monkeypatch.setattr(compat, "VENV_REQUIREMENTS", str(requirements))
    assert compat.venv_path(entry, "3.11.7") != ranges


def test_a_missing_lock_is_one_line_naming_make_lock(matrix, monkeypatch, tmp_path):
    monkeypatch.setenv("LOCKED", "1")
    monkeypatch.setattr(compat, "ROOT", str(tmp_path))
    with pytest.raises(compat.CompatError) as error:
        compat.venv_requirements(compat.ansible_core(matrix, "2.21"))
    assert str(error.value) == ("locks/compat-2.21-py3.13.txt is missing: run `make lock` "
                                "(ansible-core 2.21.5 on Python 3.13)")


def test_every_ansible_core_of_the_matrix_has_a_lock_pinning_it_with_hashes(matrix):
    for entry in matrix["ansible_core"]:
        path = os.path.join(ROOT, "locks", "compat-%s-py%s.txt" % (entry["version"], entry["python"]))
        with open(path) as lock:
            text = lock.read()
        assert "\nansible-core==%s \\\n    --hash=sha256:" % entry["release"] in text, path
