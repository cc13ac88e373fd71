# -*- coding: utf-8 -*-
"""The compact suite of one cell of the compatibility matrix (scripts/compat.py, `make compat`).

pytest runs from the project's virtualenv; ansible-playbook, ansible-inventory and the modules' Python
come from the cell's virtualenv (COMPAT_VENV, with COMPAT_RELEASE its ansible-core), and Keycloak is the
one of the cell (KEYCLOAK_URL ...). Keycloak is checked with the integration tests' raw client.
"""

import os

import pytest

# The integration fixtures (tests/integration/kcfixtures.py), for pytest to find by name here.
from kcfixtures import admin, admin_credentials, keycloak_url  # noqa: F401  # pylint: disable=unused-import


def _cell_venv():
    venv = os.environ.get("COMPAT_VENV")
    if not venv or not os.path.isfile(os.path.join(venv, "bin", "ansible-playbook")):
        pytest.exit("COMPAT_VENV is not a cell's virtualenv: run the compact suite with `make compat` "
                    "(scripts/compat.py run)", returncode=2)
    return venv


COMPAT_VENV = _cell_venv()
# ansible-playbook and ansible-inventory of the cell, found first on PATH by every run.
os.environ["PATH"] = os.path.join(COMPAT_VENV, "bin") + os.pathsep + os.environ.get("PATH", "")


# The collection the cell runs: the one linked into the virtualenv, or COMPAT_COLLECTIONS (a collections path of
# one's own: checkouts that share the cached virtualenv then do not run each other's code).
COLLECTIONS = os.environ.get("COMPAT_COLLECTIONS") or os.path.join(COMPAT_VENV, "collections")


@pytest.fixture(scope="session")
def cell_env():
    """Environment of every Ansible run of the cell: its Python runs the modules."""
    return {"ANSIBLE_PYTHON_INTERPRETER": os.path.join(COMPAT_VENV, "bin", "python"),
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS}


@pytest.fixture(scope="module")
def compat_realm(admin):
    """One realm for the cell's suite (its tests build on each other's state), deleted afterwards."""
    name = admin.create_realm()
    yield name
    admin.delete_realm(name)
