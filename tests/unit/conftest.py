# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared fixtures of the unit tests (files on disk, child Python processes), and the collection made importable.

The unit tests need neither Keycloak nor the network. They import the collection as
``ansible_collections.waldur.keycloak``, which Python finds only in a tree
``<dir>/ansible_collections/waldur/keycloak`` with ``<dir>`` on sys.path. ``ansible-test units`` runs
in such a tree and ``make unit`` puts one on PYTHONPATH; for a plain ``pytest tests/unit/...`` in a
checkout, this file links the checkout into a temporary tree before any test module is imported
(see CONTRIBUTING.md).
"""

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _imported_from():
    """The directories ``ansible_collections.waldur.keycloak`` would be imported from now (none: not importable)."""
    try:
        spec = importlib.util.find_spec("ansible_collections.waldur.keycloak")
    except ImportError:
        return []
    return [os.path.realpath(p) for p in (spec.submodule_search_locations or [])] if spec else []


def make_collection_importable():
    """Make ``ansible_collections.waldur.keycloak`` this checkout; return the directory added to sys.path, if any.

    A tree that already has it (ansible-test, ``make unit``) is kept. A checkout that sits in such a tree itself
    (``~/src/ansible_collections/waldur/keycloak``) adds that tree. Any other checkout is linked as
    ``<temp>/ansible_collections/waldur/keycloak``, removed when the run ends; ANSIBLE_COLLECTIONS_PATH then
    names it first too, so that the ansible-inventory the inventory tests start finds this checkout as well.
    """
    here = os.path.realpath(CHECKOUT)
    if here in _imported_from():
        return None
    parts = CHECKOUT.split(os.sep)
    if parts[-3:] == ["ansible_collections", "waldur", "keycloak"]:
        root = os.sep.join(parts[:-3])
    else:
        root = tempfile.mkdtemp(prefix="waldur-keycloak-unit-")
        atexit.register(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "ansible_collections", "waldur"))
        os.symlink(here, os.path.join(root, "ansible_collections", "waldur", "keycloak"))
    sys.path.insert(0, root)
    importlib.invalidate_caches()
    previous = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = root + (os.pathsep + previous if previous else "")
    return root


make_collection_importable()


class FileState(object):
    """What a test may compare about a file: bytes, mtime, inode and mode (None when absent)."""

    def __init__(self, path):
        self.path = str(path)
        try:
            stat = os.stat(self.path)
        except OSError:
            self.exists = False
            self.content = self.mtime_ns = self.inode = self.mode = self.is_dir = None
            return
        self.exists = True
        self.is_dir = os.path.isdir(self.path)
        self.mtime_ns = stat.st_mtime_ns
        self.inode = stat.st_ino
        self.mode = stat.st_mode & 0o7777
        if self.is_dir:
            self.content = sorted(os.listdir(self.path))
        else:
            with open(self.path, "rb") as stream:
                self.content = stream.read()

    def __eq__(self, other):
        return (self.exists, self.is_dir, self.content, self.mtime_ns, self.inode, self.mode) == (
            other.exists, other.is_dir, other.content, other.mtime_ns, other.inode, other.mode)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return "FileState(%s, exists=%s, %d bytes, mtime_ns=%s, inode=%s)" % (
            self.path, self.exists, len(self.content or b""), self.mtime_ns, self.inode)


@pytest.fixture
def file_state():
    """``file_state(path)``: a snapshot of a file to compare with a later one."""
    return FileState


@pytest.fixture
def write_file(tmp_path):
    """``write_file(name, content)``: write text (UTF-8) or bytes under tmp_path; return the path as a string."""

    def write(name, content):
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return str(path)

    return write


@pytest.fixture
def python_child():
    """``python_child(code, *args)``: start ``python -c code args`` seeing the same modules as this process."""

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)

    def start(code, *args):
        return subprocess.Popen([sys.executable, "-c", code] + [str(a) for a in args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    return start


@pytest.fixture
def clock(monkeypatch):
    """_client's ``time``, replaced by a FakeTime: no test waits for a retry or a token to expire."""
    from ansible_collections.waldur.keycloak.plugins.module_utils import _client  # importable only from here on
    from ansible_collections.waldur.keycloak.tests.unit.fakes import FakeTime

    fake = FakeTime()
    monkeypatch.setattr(_client, "time", fake)
    return fake


# ------------------------------------------------------------------ modules: harness, fake client, store


@pytest.fixture
def run_module(monkeypatch):
    """``run_module(main, args, check_mode=False)``: fakes.run_module, with no KEYCLOAK_* or WALDUR_KEYCLOAK_*
    variable of the caller's shell reaching the module's option fallbacks."""
    from ansible_collections.waldur.keycloak.tests.unit import fakes

    for name in list(os.environ):
        if name.startswith(("KEYCLOAK_", "WALDUR_KEYCLOAK_")):
            monkeypatch.delenv(name)
    return fakes.run_module


@pytest.fixture
def keycloak(monkeypatch):
    """fakes.example_keycloak(), the client of every module run in the test: no network.

    ``keycloak.connections``: the settings each client was built from (KeycloakClient's arguments, with the
    URL it talks to).
    """
    from ansible_collections.waldur.keycloak.plugins.module_utils._connection import ConnectionOptions
    from ansible_collections.waldur.keycloak.tests.unit.fakes import example_keycloak

    fake = example_keycloak()
    fake.connections = []

    class LoggedIn(object):
        def login(self):
            return fake

    def client(options, default_url=None):
        fake.connections.append(dict(options.settings, url=options.server(default_url)))
        return LoggedIn()

    monkeypatch.setattr(ConnectionOptions, "client", client)
    return fake


@pytest.fixture
def store_path(tmp_path):
    """fakes.store_text() in a file: the store of the module tests."""
    from ansible_collections.waldur.keycloak.tests.unit.fakes import store_text

    path = tmp_path / "offerings.yml"
    path.write_text(store_text())
    return str(path)
