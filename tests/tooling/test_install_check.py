# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""`make install-test`'s verdict (scripts/install_check.py): the demo ran from the installed collection,
whatever third-party warnings the commands print; a run from the source tree fails it."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import install_check  # noqa: E402  pylint: disable=wrong-import-position

SOURCE = "/home/dev/waldur-keycloak"
VENV = SOURCE + "/.venv"
INSTALLED = "/tmp/waldur-keycloak-install.Ab12/collections/ansible_collections/waldur/keycloak"
# What cryptography 51 prints on every ansible-* command of ansible-core 2.19.14 (issue 20).
DSA_WARNING = (VENV + "/lib/python3.11/site-packages/ansible/_internal/_ssh/_ssh_agent.py:18: "
               "CryptographyDeprecationWarning: DSA is deprecated and support will be removed in a future release.\n"
               "  from cryptography.hazmat.primitives.asymmetric.dsa import (\n")


def demo_log(collection=INSTALLED, before=""):
    return before + (
        "ansible-playbook [core 2.19.14]\n"
        "  python version = 3.11.7 (" + VENV + "/bin/python3.11)\n"
        "PLAY [GitOps demo] ***\n"
        "TASK [waldur.keycloak.keycloak_offering_sync] ***\n"
        "Using module file " + collection + "/plugins/modules/keycloak_offering_sync.py\n"
        "<127.0.0.1> EXEC /bin/sh -c '" + VENV + "/bin/python /root/.ansible/tmp/x/AnsiballZ_x.py && sleep 0'\n"
        "Using module file " + VENV + "/lib/python3.11/site-packages/ansible/modules/stat.py\n"
        "included: " + collection + "/roles/drift_report/tasks/report.yml for localhost\n"
        "PLAY RECAP ***\nlocalhost : ok=30 changed=6 unreachable=0 failed=0\n")


def test_a_run_from_the_installed_copy_passes_whatever_third_party_warnings_name_the_virtualenv():
    assert install_check.findings(demo_log(before=DSA_WARNING), INSTALLED, SOURCE, [VENV]) == []
    assert install_check.findings(demo_log(), INSTALLED, SOURCE, [VENV]) == []


def test_a_run_from_the_source_tree_fails_with_each_place_named():
    problems = install_check.findings(demo_log(collection=SOURCE, before=DSA_WARNING), INSTALLED, SOURCE, [VENV])
    assert any("a module of the collection run from outside the installed copy: " + SOURCE + "/plugins/modules/"
               in problem for problem in problems), problems
    assert any("a task file included from outside the installed collection: " + SOURCE + "/roles/" in problem
               for problem in problems), problems
    assert all("site-packages" not in problem for problem in problems), problems
    # The checkout linked into the virtualenv (`make collection`) is the source tree too.
    linked = VENV + "/collections/ansible_collections/waldur/keycloak"
    problems = install_check.findings(demo_log(collection=linked), INSTALLED, SOURCE, [VENV])
    assert len(problems) == 2 and all(linked in problem for problem in problems), problems


def test_any_other_file_of_the_source_tree_named_in_the_output_fails():
    log = demo_log() + "TASK [read] ok: " + SOURCE + "/playbooks/demo_store.yml\n"
    assert install_check.findings(log, INSTALLED, SOURCE, [VENV]) == [
        "line 11: the source tree is named: " + SOURCE + "/playbooks/demo_store.yml"]
    # A sibling directory that merely starts with the same characters is not the source tree.
    assert install_check.findings(demo_log() + SOURCE + "-old/x\n", INSTALLED, SOURCE, [VENV]) == []


def test_a_log_that_shows_no_collection_at_all_fails():
    problems = install_check.findings("PLAY RECAP ***\n", INSTALLED, SOURCE, [VENV])
    assert len(problems) == 2 and "no task file" in problems[0] and "-vvv" in problems[1]


def test_the_command_line_exits_1_with_one_line_per_finding(tmp_path):
    log = tmp_path / "demo.log"
    log.write_text(demo_log(collection=SOURCE))
    process = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "install_check.py"), str(log), INSTALLED,
                              SOURCE, VENV], capture_output=True, text=True, check=False)
    assert process.returncode == 1
    lines = process.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("install-test: line ") for line in lines), lines
    log.write_text(demo_log(before=DSA_WARNING))
    process = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "install_check.py"), str(log), INSTALLED,
                              SOURCE, VENV], capture_output=True, text=True, check=False)
    assert (process.returncode, process.stderr) == (0, "")
