# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the unit tests share: the example ids, the example stores, and the fakes they run against.

- the ids of offerings (O*), roles (R*), resources (X*), local groups (G*) and Keycloak groups (KC*)
- VALID_YAML (the store tests: its line numbers are named in their messages), the hand-written
  COMMENTED_* stores, and STORE_YAML / store_text() (the service and module tests: four offerings,
  each a different Keycloak set-up)
- FakeKeycloak: KeycloakClient's methods in memory (service and module tests)
- FakeSession / FakeResponse: a scripted ``requests`` session under the real KeycloakClient (client tests)
- FakeKeycloakServer: that FakeKeycloak, also over HTTP (token, group and member endpoints), for code that
  runs in another process (ansible-inventory in the inventory tests)
- run_module(): a module's main() with arguments, exit_json and fail_json captured (the module harness)

Import it as ``ansible_collections.waldur.keycloak.tests.unit.fakes``: the name ansible-test gives it.
"""

import contextlib
import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest
from ansible.module_utils import basic

from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakClient, KeycloakError

# ------------------------------------------------------------------ ids

O1 = "0a000000-0000-4000-8000-000000000001"   # Rancher production (STORE_YAML: realm hpc, no base group)
O2 = "0a000000-0000-4000-8000-000000000002"   # HPC allocations (STORE_YAML: base group, name template)
O3 = "0a000000-0000-4000-8000-000000000003"   # STORE_YAML: no keycloak settings
O4 = "0a000000-0000-4000-8000-000000000004"   # STORE_YAML: keycloak settings without a realm
R1 = "0b000000-0000-4000-8000-000000000001"
R2 = "0b000000-0000-4000-8000-000000000002"
R3 = "0b000000-0000-4000-8000-000000000003"
R4 = "0b000000-0000-4000-8000-000000000004"
R5 = "0b000000-0000-4000-8000-000000000005"
R6 = "0b000000-0000-4000-8000-000000000006"
X1 = "0c000000-0000-4000-8000-000000000001"
X2 = "0c000000-0000-4000-8000-000000000002"
X3 = "0c000000-0000-4000-8000-000000000003"
X4 = "0c000000-0000-4000-8000-000000000004"
G1 = "0d000000-0000-4000-8000-000000000001"
G2 = "0d000000-0000-4000-8000-000000000002"
G3 = "0d000000-0000-4000-8000-000000000003"
G4 = "0d000000-0000-4000-8000-000000000004"
KC1 = "1e000000-0000-4000-8000-000000000001"
KC3 = "1e000000-0000-4000-8000-000000000003"
UNKNOWN = "0f000000-0000-4000-8000-00000000000f"
REALM = "hpc"
STAMP = "2026-01-02T03:04:05Z"


# ------------------------------------------------------------------ stores

# Line numbers matter: the table of malformed stores below names them.
VALID_YAML = """\
# Offerings of the test site.
version: 1
offerings:
  - uuid: {O1}
    name: Rancher production
    slug: rancher-prod
    keycloak:
      realm: hpc
      base_group: /waldur
    roles:
      - {{uuid: {R1}, name: cluster-admin, scope_type: cluster}}
      - {{uuid: {R2}, name: project-member, scope_type: project}}
    resources:
      - {{uuid: {X1}, name: cluster-a}}
      - {{uuid: {X2}, name: cluster-b}}
  - uuid: {O2}
    name: HPC allocations
    roles:
      - {{uuid: {R3}, name: pi, scope_type: ""}}
    resources:
      - {{uuid: {X3}, name: alloc-1}}
groups:
  - uuid: {G1}
    name: admins-a
    backend_id: kc-1
    offering: {O1}
    role: {R1}
    resource: {X1}
    scope_id: ""
    created: "{STAMP}"
    modified: "{STAMP}"
    members:
      - {{username: alice, email: alice@example.com, first_name: Alice, last_name: Liddell, state: active}}
      - {{username: bob, state: pending}}
  - uuid: {G2}
    name: members-p1
    backend_id: ""
    offering: {O1}
    role: {R2}
    resource: {X1}
    scope_id: p1
    created: "{STAMP}"
    modified: "{STAMP}"
""".format(O1=O1, O2=O2, R1=R1, R2=R2, R3=R3, X1=X1, X2=X2, X3=X3, G1=G1, G2=G2, STAMP=STAMP)

# A hand-written store: comments everywhere, flow-style roles, quotes as people type them.
COMMENTED_INDENTED = """\
# Top comment: the declared offerings of the test site.
# Edited by hand; keep the comments.
version: 1
offerings:
  - uuid: {O1}
    name: Rancher production   # the big one
    slug: rancher-prod
    keycloak:
      realm: hpc
      base_group: ""
    roles:
      - {{uuid: {R1}, name: cluster-admin, scope_type: cluster}}
      - {{uuid: {R2}, name: project-member, scope_type: project}}
    resources:
      - {{uuid: {X1}, name: cluster-a}}
groups:
  # the admins of cluster A
  - uuid: {G1}
    name: admins-a  # trailing comment
    backend_id: ""
    offering: {O1}
    role: {R1}
    resource: {X1}
    scope_id: ""
    created: "{STAMP}"
    modified: "{STAMP}"
    members:
      - {{username: alice, email: alice@example.com, first_name: Alice, last_name: Liddell, state: active}}
  # the members of project p1
  - uuid: {G2}
    name: members-p1
    backend_id: ""
    offering: {O1}
    role: {R2}
    resource: null
    scope_id: p1
    created: "{STAMP}"
    modified: "{STAMP}"
  # the members of project p2
  - uuid: {G3}
    name: members-p2
    backend_id: ""
    offering: {O1}
    role: {R2}
    resource: null
    scope_id: p2   # project two
    created: "{STAMP}"
    modified: "{STAMP}"
# end of file
""".format(O1=O1, R1=R1, R2=R2, X1=X1, G1=G1, G2=G2, G3=G3, STAMP=STAMP)


COMMENTED_FLUSH = """\
# Top comment: the declared offerings of the test site.
# Edited by hand; keep the comments.
version: 1
offerings:
- uuid: {O1}
  name: Rancher production   # the big one
  slug: rancher-prod
  keycloak:
    realm: hpc
    base_group: ""
  roles:
  - {{uuid: {R1}, name: cluster-admin, scope_type: cluster}}
  - {{uuid: {R2}, name: project-member, scope_type: project}}
  resources:
  - {{uuid: {X1}, name: cluster-a}}
groups:
# the admins of cluster A
- uuid: {G1}
  name: admins-a  # trailing comment
  backend_id: ""
  offering: {O1}
  role: {R1}
  resource: {X1}
  scope_id: ""
  created: "{STAMP}"
  modified: "{STAMP}"
  members:
  - {{username: alice, email: alice@example.com, first_name: Alice, last_name: Liddell, state: active}}
# the members of project p1
- uuid: {G2}
  name: members-p1
  backend_id: ""
  offering: {O1}
  role: {R2}
  resource: null
  scope_id: p1
  created: "{STAMP}"
  modified: "{STAMP}"
# the members of project p2
- uuid: {G3}
  name: members-p2
  backend_id: ""
  offering: {O1}
  role: {R2}
  resource: null
  scope_id: p2   # project two
  created: "{STAMP}"
  modified: "{STAMP}"
# end of file
""".format(O1=O1, R1=R1, R2=R2, X1=X1, G1=G1, G2=G2, G3=G3, STAMP=STAMP)

STYLES = [pytest.param(COMMENTED_INDENTED, "  ", id="indented-dash"),
          pytest.param(COMMENTED_FLUSH, "", id="flush-dash")]


STORE_YAML = """\
version: 1
offerings:
  - uuid: {O1}
    name: Rancher production
    slug: rancher-prod
    keycloak: {{realm: hpc}}
    roles:
      - {{uuid: {R1}, name: cluster-admin, scope_type: cluster}}
      - {{uuid: {R2}, name: project-member, scope_type: project}}
    resources:
      - {{uuid: {X1}, name: cluster-a}}
      - {{uuid: {X2}, name: cluster-b}}
  - uuid: {O2}
    name: HPC allocations
    slug: hpc
    keycloak:
      realm: hpc
      base_group: /waldur/sites/
      group_name_template: "{template}"
    roles:
      - {{uuid: {R3}, name: pi, scope_type: ""}}
    resources:
      - {{uuid: {X3}, name: Alloc One}}
  - uuid: {O3}
    name: Plain
    roles:
      - {{uuid: {R4}, name: member}}
  - uuid: {O4}
    name: Half configured
    keycloak: {{url: "https://sso.example.com"}}
groups:
  - uuid: {G1}
    name: admins-a
    backend_id: kc-g1
    offering: {O1}
    role: {R1}
    resource: {X1}
    scope_id: ""
    created: "2026-01-01T00:00:00Z"
    modified: "2026-01-01T00:00:00Z"
    members:
      - {{username: alice, state: active}}
  - uuid: {G2}
    name: members-p1
    backend_id: ""
    offering: {O1}
    role: {R2}
    resource: {X1}
    scope_id: p1
    created: "2026-01-03T00:00:00Z"
    modified: "2026-01-03T00:00:00Z"
  - uuid: {G3}
    name: members-p2
    backend_id: kc-gone
    offering: {O1}
    role: {R2}
    resource: {X1}
    scope_id: p2
    created: "2026-01-02T00:00:00Z"
    modified: "2026-01-02T00:00:00Z"
"""

DEFAULT_TEMPLATE = "$offering_slug-$resource_slug-$role_name"


def store_text(template=DEFAULT_TEMPLATE):
    return STORE_YAML.format(O1=O1, O2=O2, O3=O3, O4=O4, R1=R1, R2=R2, R3=R3, R4=R4, X1=X1, X2=X2, X3=X3,
                             G1=G1, G2=G2, G3=G3, template=template)


# ------------------------------------------------------------------ an in-memory Keycloak (KeycloakClient's methods)


class FakeKeycloak(object):
    """Just enough of KeycloakClient, in memory: one realm, a group tree, users and memberships."""

    def __init__(self):
        self.groups = {}       # id -> {"id", "name", "path", "parent", "attributes"}
        self.users = {}        # id -> representation
        self.members = {}      # group id -> [user id]
        self.writes = []       # every changing call, in order
        self.reads = []        # member listings and user lookups, in order
        self.children_reads = []   # children listings: (parent id, brief)
        self.got_groups = []       # groups read one by one, by id
        self.fail = None       # a KeycloakError every call raises
        self.admin_events = (True, False)  # (adminEventsEnabled, adminEventsDetailsEnabled) of the realm
        self._next = 0

    def _id(self, prefix):
        self._next += 1
        return "%s-%d" % (prefix, self._next)

    def _check(self, realm):
        if self.fail is not None:
            raise self.fail
        assert realm == REALM, "the service asked realm %r" % realm

    # -- set-up helpers
    def make_group(self, path, group_id=None, attributes=None):
        parent = None
        current = ""
        for segment in [s for s in path.split("/") if s]:
            current += "/" + segment
            existing = self.by_path(current)
            if existing is None:
                gid = group_id if current == path.rstrip("/") and group_id else self._id("g")
                existing = {"id": gid, "name": segment, "path": current, "parent": parent, "attributes": {}}
                self.groups[gid] = existing
                self.members[gid] = []
            parent = existing["id"]
        if attributes:
            self.groups[parent]["attributes"] = attributes
        return parent

    def make_user(self, username, email="", first="", last=""):
        uid = self._id("u")
        self.users[uid] = {"id": uid, "username": username, "email": email, "firstName": first, "lastName": last}
        return uid

    def join(self, username, group_id):
        uid = [u for u in self.users.values() if u["username"] == username][0]["id"]
        self.members[group_id].append(uid)

    def by_path(self, path):
        for group in self.groups.values():
            if group["path"] == path:
                return group
        return None

    parent_ids = True      # Keycloak 26 says a group's parentId; older servers may not (path only)

    def _view(self, group):
        view = dict((k, v) for k, v in group.items() if k != "parent")
        if self.parent_ids:
            view["parentId"] = group["parent"]
        view["subGroupCount"] = len([g for g in self.groups.values() if g["parent"] == group["id"]])
        return copy.deepcopy(view)

    # -- the client API the service uses
    def list_groups(self, realm, search=None, exact=False, brief=True):
        self._check(realm)
        return [self._view(g) for g in self.groups.values() if g["parent"] is None]

    def group_children(self, realm, group_id, brief=True, search=None, expected=None):
        """As Keycloak answers: a brief listing leaves the attributes out."""
        self._check(realm)
        self.children_reads.append((group_id, brief))
        view = self._brief if brief else self._view
        return [view(g) for g in self.groups.values() if g["parent"] == group_id]

    children_page_size = 400

    @staticmethod
    def concurrently(call, items, parallelism=None):
        return [call(item) for item in items]

    def get_group(self, realm, group_id):
        self._check(realm)
        self.got_groups.append(group_id)
        group = self.groups.get(group_id)
        return self._view(group) if group else None

    def group_by_path(self, realm, path):
        self._check(realm)
        group = self.by_path("/" + "/".join(s for s in path.split("/") if s))
        return self._view(group) if group else None

    def find_child_group(self, realm, parent_id, name):
        self._check(realm)
        for group in self.groups.values():
            if group["parent"] == parent_id and group["name"] == name:
                return self._view(group)
        return None

    def create_group(self, realm, name, parent_id=None, attributes=None, exist_ok=False):
        self._check(realm)
        self.writes.append(("create_group", name, parent_id))
        parent_path = self.groups[parent_id]["path"] if parent_id else ""
        existing = self.by_path(parent_path + "/" + name)
        if existing is not None:
            if exist_ok:
                return existing["id"], False
            raise KeycloakError("Keycloak answered 409", status=409)
        gid = self._id("new")
        self.groups[gid] = {"id": gid, "name": name, "path": parent_path + "/" + name, "parent": parent_id,
                            "attributes": copy.deepcopy(attributes or {})}
        self.members[gid] = []
        return gid, True

    def update_group(self, realm, group_id, changes):
        self._check(realm)
        self.writes.append(("update_group", group_id, changes))
        self.groups[group_id].update(changes)

    def delete_group(self, realm, group_id, missing_ok=True):
        self._check(realm)
        self.writes.append(("delete_group", group_id))
        return self.groups.pop(group_id, None) is not None

    def group_members(self, realm, group_id, brief=True, missing_ok=False):
        self._check(realm)
        self.reads.append(("group_members", group_id))
        if group_id not in self.groups:
            if missing_ok:
                return None
            raise KeycloakError("Keycloak answered 404", status=404)
        return [copy.deepcopy(self.users[uid]) for uid in self.members.get(group_id, [])]

    def members_of_groups(self, realm, group_ids, missing_ok=False):
        self.reads.append(("members_of_groups", list(group_ids)))
        return dict((group_id, self.group_members(realm, group_id, missing_ok=missing_ok)) for group_id in group_ids)

    def search_users(self, realm, query, limit=25):
        self._check(realm)
        self.searched = query
        found = [u for u in self.users.values()
                 if any(query.lower() in (u.get(k) or "").lower() for k in ("username", "email", "firstName", "lastName"))]
        return copy.deepcopy(found[:limit])

    def user_by_username(self, realm, username):
        self._check(realm)
        self.reads.append(("user_by_username", username))
        for user in self.users.values():
            if user["username"] == username.lower():
                return copy.deepcopy(user)
        return None

    page_size = 100
    users_lookup_cost = KeycloakClient.users_lookup_cost   # the real client's arithmetic, not a copy of it

    def users_count(self, realm):
        self._check(realm)
        self.reads.append(("users_count",))
        return len(self.users)

    def groups_of_users(self, realm, user_ids):
        self._check(realm)
        self.reads.append(("groups_of_users", list(user_ids)))
        # As Keycloak answers (briefRepresentation): without attributes.
        return dict((uid, [self._brief(self.groups[gid]) for gid, members in self.members.items()
                           if uid in members and gid in self.groups]) for uid in user_ids)

    def _brief(self, group):
        """A group as Keycloak's brief representation shows it: without attributes."""
        view = self._view(group)
        view.pop("attributes", None)
        return view

    def users_by_username(self, realm, usernames, count=None):
        self._check(realm)
        self.reads.append(("users_by_username", sorted(usernames)))
        wanted = set(u.lower() for u in usernames)
        return dict((u["username"], copy.deepcopy(u)) for u in self.users.values() if u["username"] in wanted)

    def add_user_to_group(self, realm, user_id, group_id):
        self._check(realm)
        self.writes.append(("add_user_to_group", user_id, group_id))
        if user_id not in self.members[group_id]:
            self.members[group_id].append(user_id)

    def remove_user_from_group(self, realm, user_id, group_id):
        self._check(realm)
        self.writes.append(("remove_user_from_group", user_id, group_id))
        self.members[group_id].remove(user_id)

    def server_version(self):
        if self.fail is not None:
            raise self.fail
        return "26.0.0"

    def admin_events_settings(self, realm):
        self._check(realm)
        return self.admin_events


def example_keycloak():
    """A FakeKeycloak that matches STORE_YAML's first offering: /rancher-prod holds admins-a (kc-g1, alice as member);
    users alice and bob exist. ``root_id`` is /rancher-prod's id."""
    fake = FakeKeycloak()
    root = fake.make_group("/rancher-prod")
    fake.make_group("/rancher-prod/admins-a", group_id="kc-g1")
    fake.make_user("alice", "alice@example.com", "Alice", "Liddell")
    fake.make_user("bob", "bob@example.com", "Bob", "Builder")
    fake.join("alice", "kc-g1")
    fake.root_id = root
    return fake


# ------------------------------------------------------------------ a Keycloak over HTTP


class FakeKeycloakServer(FakeKeycloak):
    """The same fake Keycloak, also over HTTP (token endpoint, a group, its members: what ansible-inventory asks).

    Set it up as a FakeKeycloak (make_group, make_user, join); ``url`` is its address. It counts every request;
    ``reject_login`` makes the token endpoint answer 401. A realm other than REALM does not exist.
    """

    def __init__(self):
        super(FakeKeycloakServer, self).__init__()
        self.requests = []           # (method, path, query)
        self.reject_login = False
        self.lock = threading.Lock()
        self.delay = 0               # seconds each GET takes, so that concurrent ones overlap
        self.in_flight = 0
        self.most_in_flight = 0      # the most GETs served at the same time
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                url = urlparse(self.path)
                with fake.lock:
                    fake.requests.append(("POST", url.path, {}))
                if url.path == "/realms/master/protocol/openid-connect/token":
                    if fake.reject_login:
                        self._reply(401, {"error": "invalid_grant", "error_description": "Invalid user credentials"})
                    else:
                        self._reply(200, {"access_token": "token", "expires_in": 60, "refresh_token": "refresh",
                                          "refresh_expires_in": 1800})
                    return
                self._reply(404, {"error": "not found"})

            def do_GET(self):
                url = urlparse(self.path)
                query = dict((k, v[0]) for k, v in parse_qs(url.query).items())
                with fake.lock:
                    fake.requests.append(("GET", url.path, query))
                    fake.in_flight += 1
                    fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
                try:
                    time.sleep(fake.delay)
                    status, body = self._get(url, query)
                finally:
                    # Counted out before the answer is written: once the client has it, its freed worker may send
                    # the next request before this thread could count this one out (a false extra in flight).
                    with fake.lock:
                        fake.in_flight -= 1
                self._reply(status, body)

            def _get(self, url, query):
                """The (status, body) of one GET."""
                parts = url.path.strip("/").split("/")
                # admin/realms/<realm>/groups/<id>, admin/realms/<realm>/groups/<id>/members
                if len(parts) in (5, 6) and parts[:2] == ["admin", "realms"] and parts[3] == "groups" \
                        and parts[5:] in ([], ["members"]):
                    group = fake.groups.get(parts[4])
                    if self.headers.get("Authorization") != "Bearer token":
                        return 401, {"error": "HTTP 401 Unauthorized"}
                    elif parts[2] != REALM:
                        return 404, {"error": "Realm not found."}
                    elif group is None:
                        return 404, {"error": "Could not find group by id"}
                    elif len(parts) == 5:
                        return 200, fake._view(group)
                    else:
                        first, size = int(query.get("first", 0)), int(query.get("max", 100))
                        users = [fake.users[uid] for uid in fake.members[group["id"]]]
                        return 200, users[first:first + size]
                return 404, {"error": "not found"}

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, method=None, suffix=""):
        return len([r for r in self.requests if (method is None or r[0] == method) and r[1].endswith(suffix)])

    @property
    def logins(self):
        return self.count("POST", "/protocol/openid-connect/token")

    def group_reads(self, group_id=None):
        return len([r for r in self.requests if "/groups/" in r[1] and not r[1].endswith("/members")
                    and (group_id is None or r[1].endswith("/" + group_id))])

    def listings(self, group_id=None):
        return len([r for r in self.requests if r[1].endswith("/members") and (group_id is None or "/%s/" % group_id in r[1])])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ a scripted requests session

BASE = "https://kc.example.com"
TOKEN_PATH = "/realms/master/protocol/openid-connect/token"
PASSWORD = "pw-S3cr3t!value"
CLIENT_SECRET = "cs-T0p-secret-value"
GROUPS = "/admin/realms/hpc/groups"


class FakeResponse(object):
    def __init__(self, status_code=200, body=None, headers=None, text=None, reason="OK"):
        self.status_code = status_code
        self._body = body
        self.headers = headers or {}
        self.text = text if text is not None else ("" if body is None else json.dumps(body))
        self.reason = reason

    def json(self):
        if self._body is None:
            raise ValueError("No JSON object could be decoded")
        return self._body


class Call(object):
    def __init__(self, method, url, kwargs):
        self.method = method
        self.url = url
        self.path = url[len(BASE):] if url.startswith(BASE) else url
        self.params = kwargs.get("params") or {}
        self.json = kwargs.get("json")
        self.data = kwargs.get("data") or {}
        self.headers = kwargs.get("headers") or {}
        self.timeout = kwargs.get("timeout")

    @property
    def token(self):
        return self.headers.get("Authorization", "").replace("Bearer ", "")

    def __repr__(self):
        return "%s %s %s" % (self.method, self.path, self.params)


class FakeSession(object):
    """Records every request and answers from a script.

    ``on(method, path, *answers)``: answers (FakeResponse, exception or callable(call)) for that
    exact path, used in order, the last one repeating. The token endpoint hands out tok-1, tok-2, ...
    """

    def __init__(self, expires_in=60, refresh_expires_in=None):
        self.headers = {}
        self.verify = None
        self.calls = []
        self.routes = {}
        self.tokens_issued = 0
        self.expires_in = expires_in
        self.refresh_expires_in = refresh_expires_in
        self.on("POST", TOKEN_PATH, self.issue_token)

    def issue_token(self, call):
        self.tokens_issued += 1
        body = {"access_token": "tok-%d" % self.tokens_issued, "expires_in": self.expires_in, "token_type": "Bearer"}
        if self.refresh_expires_in:
            body.update(refresh_token="refresh-%d" % self.tokens_issued, refresh_expires_in=self.refresh_expires_in)
        return FakeResponse(200, body)

    def on(self, method, path, *answers):
        self.routes[(method, path)] = list(answers)
        return self

    def request(self, method, url, **kwargs):
        call = Call(method, url, kwargs)
        self.calls.append(call)
        answers = self.routes.get((method, call.path))
        if not answers:
            answer = FakeResponse(404, {"error": "Could not find resource"}, reason="Not Found")
        else:
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if callable(answer) and not isinstance(answer, FakeResponse):
            answer = answer(call)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def admin_calls(self):
        return [c for c in self.calls if c.path != TOKEN_PATH]

    def token_calls(self):
        return [c for c in self.calls if c.path == TOKEN_PATH]


class FakeTime(object):
    """Stands in for the ``time`` module inside _client: a clock that moves only when told."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def password_client(session, **options):
    return KeycloakClient(BASE, username="admin", password=PASSWORD, session=session, **options)


# ------------------------------------------------------------------ the module harness


class AnsibleExitJson(Exception):
    """The module called exit_json; ``result`` is what it returned."""

    def __init__(self, result):
        super(AnsibleExitJson, self).__init__(result)
        self.result = result


class AnsibleFailJson(AnsibleExitJson):
    """The module called fail_json; ``result`` holds ``failed``, ``msg`` and the other fields it passed."""


def _exit_json(self, **result):
    result.setdefault("changed", False)
    raise AnsibleExitJson(result)


def _fail_json(self, msg, **result):
    result.update(failed=True, msg=msg)
    raise AnsibleFailJson(result)


@contextlib.contextmanager
def set_module_args(args):
    """AnsibleModule instances made inside read ``args`` as their module arguments."""
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19 and later
    except ImportError:
        patch_module_args = None
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")):
        yield


def run_module(main, args, check_mode=False):
    """Run a module's ``main()`` with ``args``; return its result (``failed`` and ``msg`` when it failed)."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    with set_module_args(args), mock.patch.multiple(basic.AnsibleModule, exit_json=_exit_json, fail_json=_fail_json):
        try:
            main()
        except AnsibleExitJson as exc:
            return exc.result
    raise AssertionError("main() returned without calling exit_json or fail_json")
