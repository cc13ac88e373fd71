# -*- coding: utf-8 -*-
"""The ```yaml blocks of the docs that the jobs run: taken from the pages, as tests/docs and tests/recipes take them
(scripts/lint_examples.py's extraction), so the tests run what docs/awx.md and docs/gitops.md say."""

import importlib.util
import os

# The apply playbook's one task (docs/awx.md, section 3), and the offering's group of docs/gitops.md's store.
APPLY_TASK = "Apply the store, every offering in one task"
OFFERING_PATH = "/platform/rancher-prod"

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("lint_examples", os.path.join(REPO, "scripts", "lint_examples.py"))
lint_examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lint_examples)


def _blocks():
    return [(str(rel), text, data) for rel, _line, _kind, text, data in lint_examples.markdown_blocks()]


def block(rel, first_line):
    """The text of the one ```yaml block of ``rel`` whose first line is ``first_line``."""
    return lint_examples.yaml_block(rel, first_line)


def gitops_store():
    """The store of docs/gitops.md, step 3 (the one block of that page with ``offerings``)."""
    found = [text for path, text, data in _blocks()
             if path == "docs/gitops.md" and isinstance(data, dict) and "offerings" in data]
    assert len(found) == 1, "docs/gitops.md: expected one store block, found %d" % len(found)
    return found[0]


def write_project(awx, realm, *playbooks):
    """The project repository: the store of docs/gitops.md (realm replaced) and the named playbooks of docs/awx.md."""
    store = gitops_store().replace("realm: hpc", "realm: " + realm)
    with open(os.path.join(awx.repository, "offerings.yml"), "w") as stream:
        stream.write(store)
    for first_line in playbooks:
        relative = first_line.lstrip("# ").strip()
        with open(os.path.join(awx.repository, relative), "w") as stream:
            stream.write(block("docs/awx.md", first_line))
    return os.path.join(awx.repository, "offerings.yml")
