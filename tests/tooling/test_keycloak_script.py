# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""scripts/keycloak.sh up: how it waits for Keycloak, driven by a fake kc.sh.

The fake is a small Python program installed as bin/kc.sh of a Keycloak home
unpacked by the script from a zip in a private Maven repository. It writes
Keycloak's log lines at a chosen pace, then answers /health/ready and the
token endpoint on the ports it was given (or never does, or exits). Free ports
and a private state directory: no real Keycloak is touched. The fake behaves
like the major version it is installed as, where real Keycloaks differ at start:
24 has no management interface (it refuses --http-management-port and answers
/health/ready on the main port) and, like 25, takes its bootstrap admin from
KEYCLOAK_ADMIN/KEYCLOAK_ADMIN_PASSWORD; 26 from KC_BOOTSTRAP_ADMIN_*.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "keycloak.sh")
VERSION = "26.99.0-fake"

FAKE_KC = r'''#!{python}
import json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = dict(a[2:].split("=", 1) for a in sys.argv[2:] if a.startswith("--") and "=" in a)
major = int("{version}".split(".")[0])
if major < 25 and "http-management-port" in args:
    print("Unknown option: '--http-management-port'", flush=True)
    sys.exit(2)
user_var, password_var = (
    ("KC_BOOTSTRAP_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_PASSWORD") if major >= 26
    else ("KEYCLOAK_ADMIN", "KEYCLOAK_ADMIN_PASSWORD"))
admin_vars = [name for name in ("KEYCLOAK_ADMIN", "KEYCLOAK_ADMIN_PASSWORD", "KC_BOOTSTRAP_ADMIN_USERNAME",
                                "KC_BOOTSTRAP_ADMIN_PASSWORD") if name in os.environ]
print("FAKE admin variables: " + " ".join(admin_vars), flush=True)
print("FAKE features: " + args.get("features", "-"), flush=True)
# FAKE_KC_STEPS: "<seconds>|<log line>" separated by newlines; then FAKE_KC_END:
# serve (answer as a ready Keycloak), hang (alive, silent), exit (status 1), chatter (a line a second).
for step in os.environ.get("FAKE_KC_STEPS", "").splitlines():
    delay, line = step.split("|", 1)
    time.sleep(float(delay))
    print(line, flush=True)
end = os.environ.get("FAKE_KC_END", "serve")
if end == "exit":
    sys.exit(1)
if end == "hang":
    time.sleep(3600)
if end == "chatter":
    while True:
        time.sleep(0.5)
        print("INFO still doing something", flush=True)


class Handler(BaseHTTPRequestHandler):
    def _json(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._json({{"status": "UP"}})

    def do_POST(self):
        form = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if "username=%s&" % os.environ.get(user_var) not in form + "&":
            self.send_response(401)
            self.end_headers()
            return
        self._json({{"access_token": "fake"}})

    def log_message(self, *a):
        pass


for port in (args["http-port"], args.get("http-management-port")):
    if port is None:
        continue
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
time.sleep(3600)
'''

# What a real first start writes (Keycloak 26), one line every 0.6 s: longer in all
# than the stall timeout the tests set, but never quiet for that long.
SLOW_START = "\n".join(
    "0.6|" + line
    for line in (
        "Updating the configuration and installing your custom providers, if any. Please wait.",
        "INFO  [io.quarkus.deployment.QuarkusAugmentor] Quarkus augmentation completed in 9000ms",
        "Running the server in development mode. DO NOT use this configuration in production.",
        "INFO  [org.keycloak.quarkus.runtime.storage.database.liquibase.QuarkusJpaUpdaterProvider] (main) "
        "Initializing database schema. Using changelog META-INF/jpa-changelog-master.xml",
        "INFO  [org.keycloak.services] (main) KC-SERVICES0050: Initializing master realm",
        "INFO  [org.keycloak.services] (main) KC-SERVICES0077: Created temporary admin user with username admin",
        "INFO  [io.quarkus] (main) Keycloak 0.0.0-fake on JVM (powered by Quarkus 3.33.3.1) started in 4.2s.",
    )
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def kc_factory(tmp_path):
    """kc_factory(version): run scripts/keycloak.sh for a fake Keycloak of that version, with a
    private Maven repository, home, state dir and ports."""
    runners = []

    def make(version):
        base = tmp_path / version
        m2 = base / "m2"
        zip_dir = m2 / "org/keycloak/keycloak-quarkus-dist" / version
        zip_dir.mkdir(parents=True)
        with zipfile.ZipFile(str(zip_dir / ("keycloak-quarkus-dist-%s.zip" % version)), "w") as zf:
            info = zipfile.ZipInfo("keycloak-%s/bin/kc.sh" % version)
            info.external_attr = 0o755 << 16
            zf.writestr(info, FAKE_KC.format(python=sys.executable, version=version))
        bin_dir = base / "bin"
        bin_dir.mkdir()
        java = bin_dir / "java"  # only looked for, never run: kc.sh is the fake
        java.write_text("#!/bin/sh\nexit 0\n")
        java.chmod(0o755)
        env = dict(
            os.environ,
            PATH="%s:%s" % (bin_dir, os.environ["PATH"]),
            KEYCLOAK_VERSION=version,
            MAVEN_REPO_LOCAL=str(m2),
            KEYCLOAK_HOME_DIR=str(base / "home" / ("keycloak-" + version)),
            KEYCLOAK_STATE_DIR=str(base / "state"),
            KEYCLOAK_PORT=str(free_port()),
            KEYCLOAK_MGMT_PORT=str(free_port()),
        )
        for name in ("KEYCLOAK_START_TIMEOUT", "KEYCLOAK_STALL_TIMEOUT", "KEYCLOAK_PROGRESS_EVERY",
                     "KEYCLOAK_ADMIN", "KEYCLOAK_ADMIN_USER", "KEYCLOAK_ADMIN_PASSWORD",
                     "KC_BOOTSTRAP_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_PASSWORD"):
            env.pop(name, None)

        def run(command, timeout=120, **extra):
            return subprocess.run(
                ["bash", SCRIPT, command], env=dict(env, **extra), stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout, check=False,
            )

        run.state_dir = base / "state"
        run.port = env["KEYCLOAK_PORT"]
        run.mgmt_port = env["KEYCLOAK_MGMT_PORT"]
        runners.append(run)
        return run

    yield make
    for run in runners:
        run("down")
        pid_file = run.state_dir / "keycloak.pid"
        if pid_file.exists():  # the script failed to stop its own process: do not leak it
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


@pytest.fixture
def kc(kc_factory):
    return kc_factory(VERSION)


def lines_in_order(output, *needles):
    position = 0
    for needle in needles:
        found = output.find(needle, position)
        assert found >= 0, "%r not found (in order) in:\n%s" % (needle, output)
        position = found + len(needle)


def test_slow_start_with_a_moving_log_succeeds_and_shows_each_step(kc):
    result = kc("up", FAKE_KC_STEPS=SLOW_START, KEYCLOAK_STALL_TIMEOUT="2")
    assert result.returncode == 0, result.stdout
    lines_in_order(
        result.stdout,
        "unpacking", "unpacked",
        "starting Keycloak " + VERSION,
        "building the server",
        "build done, starting the server",
        "creating the database",
        "creating the master realm",
        "creating the admin user",
        "server started",
        "ready at http://127.0.0.1:",
    )
    # every step line carries the seconds elapsed since the launch
    assert all(
        line.split()[1].endswith("s") and line.split()[1][:-1].isdigit()
        for line in result.stdout.splitlines()
        if "creating the" in line
    ), result.stdout
    assert kc("status").stdout.startswith("running")


def test_silent_log_fails_after_the_stall_timeout_with_what_to_do(kc):
    started = time.time()
    result = kc("up", FAKE_KC_STEPS="0|Updating the configuration and installing your custom providers, if any. Please wait.",
                FAKE_KC_END="hang", KEYCLOAK_STALL_TIMEOUT="3", KEYCLOAK_START_TIMEOUT="60")
    assert result.returncode == 1, result.stdout
    assert time.time() - started < 50, "did not give up on the stall timeout"
    out = result.stdout
    assert "no new log output" in out and "while building the server" in out, out
    assert str(kc.state_dir / "keycloak.log") in out, out
    assert "keycloak.sh logs" in out, out
    assert "KEYCLOAK_STALL_TIMEOUT=6" in out and "KEYCLOAK_START_TIMEOUT=120" in out, out
    # the hung process was stopped
    assert not (kc.state_dir / "keycloak.pid").exists()
    assert kc("status").stdout.strip() == "stopped"


def test_a_log_that_keeps_moving_still_stops_at_the_overall_cap(kc):
    result = kc("up", FAKE_KC_END="chatter", KEYCLOAK_STALL_TIMEOUT="3", KEYCLOAK_START_TIMEOUT="5",
                KEYCLOAK_PROGRESS_EVERY="2")
    assert result.returncode == 1, result.stdout
    assert "not ready after" in result.stdout and "KEYCLOAK_START_TIMEOUT=5)" in result.stdout, result.stdout
    assert "no new log output" not in result.stdout
    assert "still starting the JVM (log quiet for" in result.stdout, result.stdout
    assert kc("status").stdout.strip() == "stopped"


def test_process_that_exits_is_reported_with_common_causes(kc):
    result = kc("up", FAKE_KC_STEPS="0.2|ERROR: Port 1234 already in use", FAKE_KC_END="exit")
    assert result.returncode == 1, result.stdout
    out = result.stdout
    assert "exited before becoming ready" in out, out
    assert "ERROR: Port 1234 already in use" in out  # the end of the log is shown
    assert "keycloak.sh logs" in out and "keycloak.sh reset" in out, out


@pytest.mark.parametrize("name", ["KEYCLOAK_STALL_TIMEOUT", "KEYCLOAK_START_TIMEOUT"])
def test_a_timeout_that_is_not_a_number_is_refused(kc, name):
    result = kc("up", **{name: "5m"})
    assert result.returncode == 1
    assert result.stdout.strip() == "[keycloak] ERROR: %s must be a whole number of seconds, got '5m'" % name


def fake_said(run, what):
    for line in (run.state_dir / "keycloak.log").read_text().splitlines():
        if line.startswith("FAKE %s:" % what):
            return line.split(":", 1)[1].split()
    raise AssertionError("the fake did not start")


def admin_variables(run):
    return fake_said(run, "admin variables")


def listening(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", int(port))) == 0


# What Keycloak 24.0.5 and 25.0.6 write where 26 writes "Created temporary admin user".
ADDED_ADMIN = "INFO  [org.keycloak.services] (main) KC-SERVICES0009: Added user 'admin' to realm 'master'"


def test_keycloak_24_has_health_on_the_main_port_and_the_old_admin_variables(kc_factory):
    kc24 = kc_factory("24.0.5")
    result = kc24("up", FAKE_KC_STEPS="0.1|" + ADDED_ADMIN)
    assert result.returncode == 0, result.stdout
    lines_in_order(result.stdout, "starting Keycloak 24.0.5 on http://127.0.0.1:%s (health on the same port)" % kc24.port,
                   "creating the admin user", "ready at http://127.0.0.1:%s" % kc24.port)
    assert "management" not in result.stdout
    assert admin_variables(kc24) == ["KEYCLOAK_ADMIN", "KEYCLOAK_ADMIN_PASSWORD"]
    assert not listening(kc24.mgmt_port)
    assert kc24("status").stdout.startswith("running (pid ")
    assert "KEYCLOAK_URL=http://127.0.0.1:%s\n" % kc24.port in kc24("env").stdout
    assert "reusing it" in kc24("up").stdout  # the ready check of a running 24 is on the main port too
    reset = kc24("reset")
    assert reset.returncode == 0 and "stopped" in reset.stdout, reset.stdout
    assert kc24("status").stdout.strip() == "stopped"
    assert not listening(kc24.port)


def test_keycloak_24_does_not_need_the_management_port_free(kc_factory):
    kc24 = kc_factory("24.0.5")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(kc24.mgmt_port)))
        busy.listen(1)
        result = kc24("up")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("version, variables", [
    ("25.0.6", ["KEYCLOAK_ADMIN", "KEYCLOAK_ADMIN_PASSWORD"]),
    ("26.0.8", ["KC_BOOTSTRAP_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_PASSWORD"]),
])
def test_keycloak_25_on_has_health_on_the_management_port(kc_factory, version, variables):
    run = kc_factory(version)
    result = run("up", FAKE_KC_STEPS="0.1|" + ADDED_ADMIN)
    assert result.returncode == 0, result.stdout
    assert "(management 127.0.0.1:%s)" % run.mgmt_port in result.stdout, result.stdout
    assert "creating the admin user" in result.stdout, result.stdout
    assert admin_variables(run) == variables
    assert listening(run.mgmt_port)
    assert run("status").returncode == 0
    assert run("down").returncode == 0
    assert run("status").stdout.strip() == "stopped"


@pytest.mark.parametrize("version, features", [
    ("24.0.5", ["admin-fine-grained-authz"]),
    ("26.1.5", ["admin-fine-grained-authz"]),
    ("26.2.0", ["-"]),
    (VERSION, ["-"]),
])
def test_fine_grained_admin_permissions_v1_are_enabled_before_26_2(kc_factory, version, features):
    # The integration tests' limited account needs them; from 26.2 version 2 is on by default.
    run = kc_factory(version)
    result = run("up")
    assert result.returncode == 0, result.stdout
    assert fake_said(run, "features") == features


FAKE_MVN = r'''#!{python}
# Maven's dependency:get, as far as the script uses it: the zip lands in -Dmaven.repo.local, or else in
# Java's user.home (the password database's home directory, NOT $HOME), here {user_home}.
import os, shutil, sys
repo = "{user_home}/.m2/repository"
for arg in sys.argv[1:]:
    if arg.startswith("-Dmaven.repo.local="):
        repo = arg.split("=", 1)[1]
target = repo + "/org/keycloak/keycloak-quarkus-dist/{version}"
os.makedirs(target, exist_ok=True)
shutil.copy("{source}", target + "/keycloak-quarkus-dist-{version}.zip")
'''


def test_the_zip_is_fetched_into_the_repository_the_script_reads_whatever_home_is(kc_factory, tmp_path):
    """A HOME other than Java's user.home (a CI runner's, sudo -E) must not send Maven's download elsewhere."""
    run = kc_factory(VERSION)
    m2 = tmp_path / VERSION / "m2"
    source = tmp_path / "dist.zip"
    os.rename(str(m2 / "org/keycloak/keycloak-quarkus-dist" / VERSION / ("keycloak-quarkus-dist-%s.zip" % VERSION)),
              str(source))
    home = tmp_path / "ci-home"
    home.mkdir()
    mvn = tmp_path / VERSION / "bin" / "mvn"
    mvn.write_text(FAKE_MVN.format(python=sys.executable, user_home=tmp_path / "java-user-home", version=VERSION,
                                   source=source))
    mvn.chmod(0o755)
    result = run("up", HOME=str(home), MAVEN_REPO_LOCAL="", FAKE_KC_STEPS="0.1|Keycloak 26 on JVM started in 1s")
    assert result.returncode == 0, result.stdout
    assert (home / ".m2/repository/org/keycloak/keycloak-quarkus-dist" / VERSION).is_dir(), result.stdout
    assert not (tmp_path / "java-user-home").exists()
