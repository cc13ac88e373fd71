# -*- coding: utf-8 -*-
"""Fixtures of the documentation tests (tests/docs): every play of README.md and docs/*.md, run.

They reuse the integration tests' raw-HTTP Keycloak client and fixtures (tests/integration: ``admin``,
``realm``) and the reliability tests' realm set-up (tests/reliability/realmkit.py), and add
``standin_collections``: a collections path holding the test-only ``kubernetes.core.k8s`` stand-in.
"""

import os
import shutil

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

# The integration fixtures (tests/integration/kcfixtures.py), for pytest to find by name here.
from kcfixtures import admin, admin_credentials, keycloak_url, realm  # noqa: F401  # pylint: disable=unused-import


@pytest.fixture(scope="session")
def standin_collections(tmp_path_factory):
    """A collections path with ``kubernetes.core`` whose only module, ``k8s``, is tests/docs/k8s_standin.py."""
    root = tmp_path_factory.mktemp("standin-collections")
    modules = root / "ansible_collections" / "kubernetes" / "core" / "plugins" / "modules"
    modules.mkdir(parents=True)
    shutil.copy(os.path.join(HERE, "k8s_standin.py"), str(modules / "k8s.py"))
    return str(root)
