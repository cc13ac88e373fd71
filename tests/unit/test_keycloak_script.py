# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""scripts/keycloak.sh up: how it waits for Keycloak, driven by a fake kc.sh.

The fake is a small Python program installed as bin/kc.sh of a Keycloak home
unpacked by the script from a zip in a private Maven repository. It writes
Keycloak's log lines at a chosen pace, then answers /health/ready and the
token endpoint on the ports it was given (or never does, or exits). Free ports
and a private state directory: no real Keycloak is touched.
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
VERSION = "0.0.0-fake"

FAKE_KC = r'''#!{python}
import json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = dict(a[2:].split("=", 1) for a in sys.argv[2:] if a.startswith("--") and "=" in a)
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
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._json({{"access_token": "fake"}})

    def log_message(self, *a):
        pass


for port in (args["http-port"], args["http-management-port"]):
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
def kc(tmp_path):
    """Run scripts/keycloak.sh with a private Maven repository, home, state dir and ports."""
    m2 = tmp_path / "m2"
    zip_dir = m2 / "org/keycloak/keycloak-quarkus-dist" / VERSION
    zip_dir.mkdir(parents=True)
    with zipfile.ZipFile(str(zip_dir / ("keycloak-quarkus-dist-%s.zip" % VERSION)), "w") as zf:
        info = zipfile.ZipInfo("keycloak-%s/bin/kc.sh" % VERSION)
        info.external_attr = 0o755 << 16
        zf.writestr(info, FAKE_KC.format(python=sys.executable))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"  # only looked for, never run: kc.sh is the fake
    java.write_text("#!/bin/sh\nexit 0\n")
    java.chmod(0o755)
    env = dict(
        os.environ,
        PATH="%s:%s" % (bin_dir, os.environ["PATH"]),
        KEYCLOAK_VERSION=VERSION,
        MAVEN_REPO_LOCAL=str(m2),
        KEYCLOAK_HOME_DIR=str(tmp_path / "home" / ("keycloak-" + VERSION)),
        KEYCLOAK_STATE_DIR=str(tmp_path / "state"),
        KEYCLOAK_PORT=str(free_port()),
        KEYCLOAK_MGMT_PORT=str(free_port()),
    )
    for name in ("KEYCLOAK_START_TIMEOUT", "KEYCLOAK_STALL_TIMEOUT", "KEYCLOAK_PROGRESS_EVERY"):
        env.pop(name, None)

    def run(command, timeout=120, **extra):
        return subprocess.run(
            ["bash", SCRIPT, command], env=dict(env, **extra), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout, check=False,
        )

    run.state_dir = tmp_path / "state"
    yield run
    run("down")
    pid_file = run.state_dir / "keycloak.pid"
    if pid_file.exists():  # the script failed to stop its own process: do not leak it
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


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
