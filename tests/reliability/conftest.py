# -*- coding: utf-8 -*-
"""Fixtures of the reliability and security tests (RELIABILITY.md).

They reuse the integration tests' helpers (tests/integration: the raw-HTTP
Keycloak client ``kc.RawAdmin``, ``playbook.run_tasks``, ``helpers``) and their
fixtures (``admin``, ``realm``, ``client_factory``, ``offering_store``), and add:

- ``figure``: every test measures a figure, asserts it and records it here; the
  figures are printed at the end of the run and written to
  tests/output/reliability/figures.json;
- ``private_keycloak`` (heavy tests only): a second Keycloak of our own, on free
  ports, with HTTP and HTTPS (a CA and a server certificate made with openssl),
  that the kill and TLS tests may kill -9 and restart. The shared Keycloak is
  never stopped.

Heavy tests carry the ``stress`` marker: ``make reliability`` runs the others,
``make stress`` these.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The integration fixtures (tests/integration/kcfixtures.py), for pytest to find by name here.
from kcfixtures import admin, admin_credentials, client_factory, keycloak_url, offering_store, realm  # noqa: F401  # pylint: disable=unused-import

FIGURES_PATH = os.path.join(REPO, "tests", "output", "reliability", "figures.json")
_FIGURES = []


def pytest_configure(config):
    config.addinivalue_line("markers", "stress: heavy reliability test (kill -9, TLS, big concurrency, long runs); "
                                       "run by `make stress`, not by `make test`")


# ---------------------------------------------------------------- figures

@pytest.fixture
def figure(request):
    """``figure(title, **values)``: record (and print) the figure a test measured."""

    def record(title, **values):
        entry = {"test": request.node.nodeid, "title": title, "values": values}
        _FIGURES.append(entry)
        print("FIGURE %s: %s" % (title, json.dumps(values, sort_keys=True)))
        return entry

    return record


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for entry in _FIGURES:
        terminalreporter.write_line("%s: %s" % (entry["title"], json.dumps(entry["values"], sort_keys=True)))
    try:
        os.makedirs(os.path.dirname(FIGURES_PATH), exist_ok=True)
        existing = {}
        if os.path.exists(FIGURES_PATH):
            with open(FIGURES_PATH) as stream:
                existing = dict(((e["test"], e["title"].split(":")[0]), e) for e in json.load(stream))
        for entry in _FIGURES:
            # One entry per test (and kind of figure): a later run replaces it.
            existing[(entry["test"], entry["title"].split(":")[0])] = dict(
                entry, when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        with open(FIGURES_PATH, "w") as stream:
            json.dump(sorted(existing.values(), key=lambda e: e["test"]), stream, indent=2)
        terminalreporter.write_line("(written to %s)" % os.path.relpath(FIGURES_PATH, REPO))
    except (OSError, ValueError) as exc:
        terminalreporter.write_line("could not write %s: %s" % (FIGURES_PATH, exc))


# ------------------------------------------------------------- utilities

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1 and localhost signed by it; returns their paths."""
    paths = dict((name, os.path.join(directory, name)) for name in
                 ("ca.pem", "ca.key", "server.pem", "server.key", "server.csr", "ext.cnf", "other-ca.pem",
                  "other-ca.key"))

    def openssl(*args):
        subprocess.run(("openssl",) + args, check=True, capture_output=True)

    for prefix, subject in (("ca", "/CN=waldur.keycloak reliability test CA"), ("other-ca", "/CN=an unrelated CA")):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", paths[prefix + ".key"],
                "-out", paths[prefix + ".pem"], "-days", "2", "-subj", subject,
                "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", paths["server.key"], "-out", paths["server.csr"],
            "-subj", "/CN=localhost")
    with open(paths["ext.cnf"], "w") as stream:
        stream.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:false\n"
                     "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", paths["server.csr"], "-CA", paths["ca.pem"], "-CAkey", paths["ca.key"],
            "-CAcreateserial", "-out", paths["server.pem"], "-days", "2", "-extfile", paths["ext.cnf"])
    return paths


class PrivateKeycloak(object):
    """A Keycloak of this test session only, driven through scripts/keycloak.sh."""

    def __init__(self, state_dir, certificates):
        self.state_dir = state_dir
        self.certificates = certificates
        self.port, self.mgmt_port, self.https_port = free_port(), free_port(), free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.https_url = "https://127.0.0.1:%d" % self.https_port
        self.username, self.password = "admin", "waldur-kc-dev-pw"
        self.starts = []
        # A home of its own: Keycloak writes its build and transaction logs there.
        version = os.environ.get("KEYCLOAK_VERSION", "26.7.3")
        self.home = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                 "waldur-keycloak", "keycloak-%s-reliability" % version)
        # A fresh database takes a minute or two to set up: the first session keeps a copy of its
        # (by then empty) database here, and later sessions start from that copy.
        self.template = self.home + "-db"
        self.env = dict(os.environ)
        self.env.update({
            "KEYCLOAK_PORT": str(self.port),
            "KEYCLOAK_MGMT_PORT": str(self.mgmt_port),
            "KEYCLOAK_STATE_DIR": state_dir,
            "KEYCLOAK_HOME_DIR": self.home,
            "KEYCLOAK_ADMIN_USER": self.username,
            "KEYCLOAK_ADMIN_PASSWORD": self.password,
            # C1 only: the server starts in a quarter of the time on two busy cores (16 s instead of 60 s),
            # and the kill test restarts it three times.
            "JAVA_OPTS_KC_HEAP": "-Xms128m -Xmx768m -XX:TieredStopAtLevel=1",
            "KEYCLOAK_EXTRA_ARGS": "--https-port=%d --https-certificate-file=%s --https-certificate-key-file=%s "
                                   "--http-management-scheme=http" % (self.https_port, certificates["server.pem"],
                                                                      certificates["server.key"]),
        })

    def _script(self, command, check=True):
        return subprocess.run([os.path.join(REPO, "scripts", "keycloak.sh"), command], env=self.env,
                              capture_output=True, text=True, check=check)

    def up(self):
        start = time.monotonic()
        process = self._script("up", check=False)
        if process.returncode != 0:
            raise AssertionError("private Keycloak did not start:\n%s" % process.stderr[-4000:])
        self.starts.append(round(time.monotonic() - start, 1))

    def pid(self):
        with open(os.path.join(self.state_dir, "keycloak.pid")) as stream:
            return int(stream.read().strip())

    def kill9(self):
        """kill -9 the whole process group of our Keycloak (kc.sh and its java), and wait until it is gone."""
        pid = self.pid()
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        raise AssertionError("Keycloak process group %d survived kill -9" % pid)

    def down(self):
        self._script("down", check=False)

    def seed_database(self):
        if os.path.isdir(self.template):
            shutil.copytree(self.template, os.path.join(self.state_dir, "h2"))

    def keep_database(self, admin):
        """After a clean session (no realm left but master), keep the stopped server's database as the template."""
        if os.path.isdir(self.template) or [r["realm"] for r in admin.get("/realms")] != ["master"]:
            return False
        self.down()
        partial = tempfile.mkdtemp(prefix=".db-", dir=os.path.dirname(self.template))
        shutil.rmtree(partial)
        shutil.copytree(os.path.join(self.state_dir, "h2"), partial)
        try:
            os.rename(partial, self.template)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
        return True


@pytest.fixture(scope="session")
def private_keycloak():
    """A second Keycloak (HTTP and HTTPS) on free ports, stopped and deleted at the end of the session."""
    state_dir = tempfile.mkdtemp(prefix="wk-reliability-kc-")
    certificates = make_certificates(tempfile.mkdtemp(prefix="wk-reliability-tls-"))
    server = PrivateKeycloak(state_dir, certificates)
    try:
        server.seed_database()
        server.up()
        yield server
        try:
            from kc import RawAdmin

            server.keep_database(RawAdmin(server.url, server.username, server.password))
        except Exception:  # pylint: disable=broad-except
            pass
    finally:
        server.down()
        shutil.rmtree(state_dir, ignore_errors=True)
        shutil.rmtree(os.path.dirname(certificates["ca.pem"]), ignore_errors=True)
