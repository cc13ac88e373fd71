# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""`make help` lists every target of the Makefile, each with a description."""

import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKEFILE = os.path.join(ROOT, "Makefile")


def phony_targets():
    with open(MAKEFILE) as f:
        text = f.read().replace("\\\n", " ")
    targets = []
    for line in text.splitlines():
        if line.startswith(".PHONY:"):
            targets.extend(line.split(":", 1)[1].split())
    return targets


def help_lines():
    out = subprocess.run(
        ["make", "-s", "-C", ROOT, "help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, check=True,
    ).stdout
    listed = {}
    for line in out.splitlines():
        match = re.match(r"^  ([a-z][a-z-]*) +(\S.*)$", line)
        if match:
            listed[match.group(1)] = match.group(2)
    return listed


def test_make_help_lists_every_phony_target_with_a_description():
    targets = phony_targets()
    assert len(targets) > 20 and "install-test" in targets and "doc-plays" in targets
    listed = help_lines()
    missing = [t for t in targets if t not in listed]
    assert not missing, "make help misses %s: give each a '## ' line just above its rule" % missing
    assert all(description.strip() for description in listed.values())


def test_make_help_lists_only_real_targets():
    assert sorted(help_lines()) == sorted(set(phony_targets()))
