# -*- coding: utf-8 -*-
"""What every measurement of the benchmark shares: Keycloak, counting HTTP, timing, processes."""

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests
from requests.adapters import HTTPAdapter

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
COUNTING_DIR = os.path.join(BENCH_DIR, "counting")


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values) if values else None


# ------------------------------------------------------------------ Keycloak

def _answers(url):
    try:
        return requests.get(url.rstrip("/") + "/realms/master", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def keycloak_up():
    """The Keycloak to measure against, as KEYCLOAK_URL / _USERNAME / _PASSWORD.

    A server named by those variables that answers is used as it is (it may be shared:
    the benchmark never stops it); otherwise scripts/keycloak.sh starts the test Keycloak,
    or reuses the one it already runs. Either way it is left running.
    """
    given = dict((k, os.environ.get(k)) for k in ("KEYCLOAK_URL", "KEYCLOAK_USERNAME", "KEYCLOAK_PASSWORD"))
    if all(given.values()) and _answers(given["KEYCLOAK_URL"]):
        log("using the running Keycloak at %s" % given["KEYCLOAK_URL"])
        return given
    script = os.path.join(REPO, "scripts", "keycloak.sh")
    if subprocess.run([script, "status"], cwd=REPO, capture_output=True, check=False).returncode != 0:
        subprocess.run([script, "up"], check=True, cwd=REPO)
    output = subprocess.run([script, "env"], check=True, cwd=REPO, capture_output=True, text=True).stdout
    env = {}
    for line in output.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, value = words[1].split("=", 1)
            env[key] = value
    return env


class CountingSession(requests.Session):
    """A requests.Session that counts every request it sends: the baselines' request counter."""

    def __init__(self, pool_size=10):
        super(CountingSession, self).__init__()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.count = 0
        self._lock = threading.Lock()

    def request(self, *args, **kwargs):
        with self._lock:
            self.count += 1
        return super(CountingSession, self).request(*args, **kwargs)


class Token(object):
    """One admin token for a bare loop, renewed shortly before it expires (master tokens live 60 s)."""

    def __init__(self, session, url, username, password):
        self.session, self.url, self.username, self.password = session, url, username, password
        self._value, self._expires, self._lock = None, 0.0, threading.Lock()

    def header(self):
        with self._lock:
            if self._value is None or time.monotonic() > self._expires:
                response = self.session.post(
                    "%s/realms/master/protocol/openid-connect/token" % self.url,
                    data={"grant_type": "password", "client_id": "admin-cli",
                          "username": self.username, "password": self.password}, timeout=30)
                response.raise_for_status()
                body = response.json()
                self._value = body["access_token"]
                self._expires = time.monotonic() + float(body.get("expires_in", 60)) - 10
            return {"Authorization": "Bearer " + self._value}


class Admin(object):
    """The benchmark's own setup client (realms, seeding, checks); never timed."""

    def __init__(self, url, username, password):
        self.url = url.rstrip("/")
        self.session = CountingSession(pool_size=16)
        self.token = Token(self.session, self.url, username, password)
        self.realms = []

    def call(self, method, path, expect=(200, 201, 204), timeout=120, **kwargs):
        response = self.session.request(method, self.url + "/admin" + path, headers=self.token.header(),
                                        timeout=timeout, **kwargs)
        if expect and response.status_code not in expect:
            raise RuntimeError("%s %s -> %s %s" % (method, path, response.status_code, response.text[:300]))
        return response

    def server_version(self):
        return self.call("GET", "/serverinfo").json().get("systemInfo", {}).get("version")

    def create_realm(self, tag):
        name = "bench-%s-%s" % (tag, uuid.uuid4().hex[:6])
        self.call("POST", "/realms", json={"realm": name, "enabled": True}, expect=(201,))
        self.realms.append(name)
        return name

    def delete_realm(self, name):
        # Keycloak deletes a realm's groups one by one: minutes for 10,000 on a busy machine.
        self.call("DELETE", "/realms/" + name, expect=(204, 404), timeout=1800)
        if name in self.realms:
            self.realms.remove(name)

    def delete_all(self):
        for name in list(self.realms):
            try:
                self.delete_realm(name)
            except Exception as exc:  # pylint: disable=broad-except
                log("could not delete realm %s: %s" % (name, exc))

    def create_group(self, realm, name, parent_id=None, attributes=None):
        body = {"name": name}
        if attributes:
            body["attributes"] = attributes
        path = "/realms/%s/groups" % realm + ("/%s/children" % parent_id if parent_id else "")
        response = self.call("POST", path, json=body, expect=(201,))
        return response.headers["Location"].rsplit("/", 1)[-1]

    def seed_children(self, realm, parent_id, bodies, parallelism=8):
        from concurrent.futures import ThreadPoolExecutor

        def create(body):
            return self.create_group(realm, body["name"], parent_id, body.get("attributes"))

        with ThreadPoolExecutor(max_workers=parallelism) as pool:
            return list(pool.map(create, bodies))

    def group_by_path(self, realm, path):
        response = self.call("GET", "/realms/%s/group-by-path/%s" % (realm, path.strip("/")), expect=(200, 404))
        return response.json() if response.status_code == 200 else None

    def listing(self, path, size=1000):
        """Every item of a list endpoint (brief representations), page by page until a short page."""
        items, first = [], 0
        while True:
            page = self.call("GET", path, params={"first": first, "max": size, "briefRepresentation": "true"}).json()
            items.extend(page)
            if len(page) < size:
                return items
            first += size

    def children_count(self, realm, parent_id):
        return len(self.listing("/realms/%s/groups/%s/children" % (realm, parent_id)))


# ------------------------------------------------------------------ processes

class Ansible(object):
    """ansible-playbook and ansible-inventory of the bench virtualenv, with the collection linked in."""

    def __init__(self, collections_dir, keycloak_env, workdir):
        self.bin = os.path.dirname(sys.executable)
        self.collections_dir = collections_dir
        self.workdir = workdir
        env = dict(os.environ)
        env.update(keycloak_env)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": collections_dir,
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
        })
        env.pop("WALDUR_KEYCLOAK_STATS_FILE", None)
        self.env = env

    def _file(self, prefix, suffix):
        handle, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=self.workdir)
        os.close(handle)
        return path

    def playbook(self, tasks, variables=None, module_defaults=None, extra_env=None, prefix=()):
        """Run one play on localhost; return (seconds, stats lines of the collection, urllib counts).

        ``prefix``: a wrapper command to run it under (bench/memory.py's).
        """
        play = {"hosts": "localhost", "gather_facts": False, "tasks": tasks}
        if module_defaults:
            play["module_defaults"] = module_defaults
        if variables:
            play["vars"] = variables
        path = self._file("play-", ".yml")
        with open(path, "w") as stream:
            json.dump([play], stream)   # JSON is YAML
        stats = self._file("stats-", ".jsonl")
        counts = self._file("urllib-", ".txt")
        env = dict(self.env, WALDUR_KEYCLOAK_STATS_FILE=stats, BENCH_URLLIB_COUNT_FILE=counts)
        env.update(extra_env or {})
        command = list(prefix) + [os.path.join(self.bin, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                                  path]
        started = time.perf_counter()
        process = subprocess.run(command, env=env, cwd=self.workdir, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError("ansible-playbook failed (rc %d):\n%s\n%s" % (
                process.returncode, process.stdout[-4000:], process.stderr[-2000:]))
        with open(stats) as stream:
            lines = [json.loads(line) for line in stream if line.strip()]
        with open(counts) as stream:
            urllib_counts = [int(line) for line in stream if line.strip()]
        for name in (path, stats, counts):
            os.unlink(name)
        return seconds, lines, urllib_counts

    def inventory_list(self, config, prefix=()):
        command = list(prefix) + [os.path.join(self.bin, "ansible-inventory"), "-i", config, "--list"]
        started = time.perf_counter()
        process = subprocess.run(command, env=self.env, cwd=self.workdir, capture_output=True, text=True,
                                 check=False)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError("ansible-inventory failed (rc %d):\n%s" % (process.returncode, process.stderr[-3000:]))
        return seconds, json.loads(process.stdout)


def ensure_collection_link(collections_dir):
    """<collections_dir>/ansible_collections/waldur/keycloak -> this repository."""
    parent = os.path.join(collections_dir, "ansible_collections", "waldur")
    os.makedirs(parent, exist_ok=True)
    link = os.path.join(parent, "keycloak")
    if os.path.islink(link) and os.path.realpath(link) == os.path.realpath(REPO):
        return
    if os.path.islink(link):
        os.unlink(link)
    os.symlink(REPO, link)
