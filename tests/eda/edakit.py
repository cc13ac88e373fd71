# -*- coding: utf-8 -*-
"""Helpers of the Event-Driven Ansible tests: a store applied to Keycloak, ansible-rulebook as a process,
the event source loaded the way ansible-rulebook loads it, and a proxy that can be stopped and started again.
"""

import glob
import json
import os
import runpy
import signal
import subprocess
import threading
import time
import uuid

import yaml

import playbook
from faultproxy import FaultProxy

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PLUGIN = os.path.join("extensions", "eda", "plugins", "event_source", "keycloak_admin_events.py")


def source_path():
    """The plugin inside the collections tree ansible-rulebook searches (ANSIBLE_COLLECTIONS_PATH), as it finds it."""
    for root in (os.environ.get("ANSIBLE_COLLECTIONS_PATH") or "").split(os.pathsep):
        candidate = os.path.join(root, "ansible_collections", "waldur", "keycloak", PLUGIN)
        if root and os.path.exists(candidate):
            return candidate
    raise AssertionError("waldur.keycloak is not in ANSIBLE_COLLECTIONS_PATH: run the tests with `make eda`")


ADMIN_EVENTS = "/admin-events"


def playbook_venv():
    """The virtualenv whose ansible-playbook the rulebook runs (EDA_ANSIBLE_PLAYBOOK_VENV), or None: .venv-eda's."""
    venv = os.environ.get("EDA_ANSIBLE_PLAYBOOK_VENV") or None
    if venv and not os.path.exists(os.path.join(venv, "bin", "ansible-playbook")):
        raise AssertionError("EDA_ANSIBLE_PLAYBOOK_VENV=%s has no bin/ansible-playbook" % venv)
    return venv


def load_source():
    """The event source's globals, loaded by path as ansible-rulebook loads it (runpy.run_path)."""
    return runpy.run_path(source_path())


def wait_for(predicate, timeout, what, interval=0.2):
    """Poll ``predicate`` until it returns something true; fail naming ``what`` after ``timeout`` seconds.

    The timeout only stops a hung test: no assertion is made on how long anything took.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


class Offerings(object):
    """Two offerings of one realm under ``/svc``: Alpha (groups admins, users) and Beta (group users)."""

    def __init__(self, admin, realm, tmp_path):
        self.admin = admin
        self.realm = realm
        self.dir = str(tmp_path)
        self.store = os.path.join(self.dir, "offerings.yml")
        self.ids = {}
        self.users = {}

    def apply(self):
        for name in ("alice", "bob"):
            self.users[name] = self.admin.create_user(self.realm, name)
        offerings, groups = [], []
        for name, group_names in (("Alpha", ("admins", "users")), ("Beta", ("users",))):
            offering_uuid, role_uuid = str(uuid.uuid4()), str(uuid.uuid4())
            self.ids[name] = offering_uuid
            offerings.append({"uuid": offering_uuid, "name": name, "slug": name.lower(),
                              "roles": [{"uuid": role_uuid, "name": "member", "scope_type": "offering"}],
                              "resources": [], "keycloak": {"realm": self.realm, "base_group": "svc"}})
            for group_name in group_names:
                groups.append({"uuid": str(uuid.uuid4()), "offering": offering_uuid, "role": role_uuid,
                               "scope_id": group_name, "name": "%s-%s" % (name.lower(), group_name),
                               "members": [{"username": "alice"}, {"username": "bob"}]})
        with open(self.store, "w") as stream:
            yaml.safe_dump({"version": 1, "offerings": offerings, "groups": groups}, stream, sort_keys=False)
        result = playbook.run_module("keycloak_offering_sync", {"store": self.store})
        assert not result.get("failed"), result
        return self

    def group_id(self, path):
        group = self.admin.group_by_path(self.realm, path)
        assert group, "no group %s in realm %s" % (path, self.realm)
        return group["id"]


class Rulebook(object):
    """``ansible-rulebook -r waldur.keycloak.drift`` as an operator runs it, output in a log file."""

    def __init__(self, offerings, url, poll_interval=1, sync=False, env=None):
        self.offerings = offerings
        self.env = dict(env or {})
        self.dir = offerings.dir
        self.reports = os.path.join(self.dir, "reports")
        self.state_file = os.path.join(self.dir, "state.json")
        self.log = os.path.join(self.dir, "rulebook.log")
        self.url = url
        self.process = None
        self.starts = 0
        with open(os.path.join(self.dir, "vars.yml"), "w") as stream:
            yaml.safe_dump({"keycloak_realm": offerings.realm, "store": offerings.store, "report_dir": self.reports,
                            "state_file": self.state_file, "poll_interval": poll_interval, "sync": sync}, stream)
        with open(os.path.join(self.dir, "inventory.yml"), "w") as stream:
            stream.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")

    def start(self):
        environment = dict(os.environ, KEYCLOAK_URL=self.url, ANSIBLE_NOCOLOR="1")
        # As an operator runs it: the source finds the collection's module_utils by itself.
        environment.pop("PYTHONPATH", None)
        environment.update(self.env)
        venv = playbook_venv()
        if venv:
            # ansible-runner starts ansible-playbook from PATH: that virtualenv's ansible-core runs the playbook.
            environment["PATH"] = os.path.join(venv, "bin") + os.pathsep + environment["PATH"]
        self.starts += 1
        log = open(self.log, "a")
        log.write("\n=== start %d\n" % self.starts)
        log.flush()
        self.process = subprocess.Popen(
            ["ansible-rulebook", "-r", "waldur.keycloak.drift", "--vars", "vars.yml", "-i", "inventory.yml", "-v"],
            cwd=self.dir, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        # Started: the source has logged in and stands at its position.
        wait_for(lambda: self.output().count("following admin events of realm") >= self.starts
                 or self._dead(), 120, "the event source to start")
        assert self.process.poll() is None, "ansible-rulebook stopped:\n" + self.output()[-4000:]
        return self

    def _dead(self):
        return self.process.poll() is not None

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def output(self):
        with open(self.log, errors="replace") as stream:
            return stream.read()

    def runs_finished(self):
        """How many playbook runs ended, across every start.

        Each run prints one PLAY RECAP; a failed run (drift) is printed a second time after ansible-rulebook's
        "run_playbook - ERROR" line, which is not another run.
        """
        count, repeated = 0, False
        for line in self.output().splitlines():
            if "ansible_rulebook.action.run_playbook - ERROR" in line:
                repeated = True
            elif line.startswith("PLAY RECAP"):
                count += 0 if repeated else 1
                repeated = False
        return count

    def settle(self, quiet, timeout=600):
        """Wait until no run has started or ended for ``quiet`` seconds; then the number of runs that ended."""
        deadline = time.monotonic() + timeout
        last, seen = time.monotonic(), None
        while time.monotonic() - last < quiet:
            now = (self.runs_finished(), len(self.notes()))
            if now != seen:
                seen, last = now, time.monotonic()
            if time.monotonic() > deadline:
                raise AssertionError("the rulebook never became quiet")
            time.sleep(0.5)
        return seen[0]

    def notes(self):
        """{event id: note} of every drift report run so far (events/<time>-<id>.json); ``events`` holds every
        change that the run stood for, ``event`` the first."""
        notes = {}
        for path in glob.glob(os.path.join(self.reports, "events", "*.json")):
            with open(path) as stream:
                note = json.load(stream)
            note["mtime_ns"] = os.stat(path).st_mtime_ns
            notes[note["event"]["id"]] = note
        return notes

    def report_path(self, offering_name, name):
        return os.path.join(self.reports, self.offerings.ids[offering_name], name)

    def report(self, offering_name):
        path = self.report_path(offering_name, "drift-report.json")
        if not os.path.exists(path):
            return None
        with open(path) as stream:
            return json.load(stream)

    def report_dirs(self):
        return sorted(d for d in os.listdir(self.reports) if d != "events") if os.path.isdir(self.reports) else []


class RecordingProxy(FaultProxy):
    """A proxy in front of Keycloak that records every admin-events answer, and can be stopped and started
    again on the same port (Keycloak unreachable, then back)."""

    def __init__(self, upstream_url, port=0, **kwargs):
        self.answers = []  # (monotonic time, body) of every admin-events answer
        self._record_lock = threading.Lock()
        super(RecordingProxy, self).__init__(upstream_url, max_seconds=1800, on_response=self._record, port=port,
                                             **kwargs)

    def _record(self, method, target, status, body):
        if ADMIN_EVENTS in target.split("?")[0]:
            with self._record_lock:
                self.answers.append((time.monotonic(), body if isinstance(body, str) else body.decode("utf-8",
                                                                                                      "replace")))

    def polls_since(self, moment):
        with self._record_lock:
            return [(when, body) for when, body in self.answers if when >= moment]

    def polls_until_seen(self, moment, text):
        """How many admin-events polls began after ``moment`` up to the first whose answer holds ``text``."""
        for count, (_when, body) in enumerate(self.polls_since(moment), 1):
            if text in body:
                return count
        return None
