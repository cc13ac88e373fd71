# -*- coding: utf-8 -*-
"""Every play of README.md and docs/*.md, run with ansible-playbook against the real Keycloak.

What counts as a play: each ```yaml block that scripts/lint_examples.py hands to ansible-lint, taken
from the same extraction (``markdown_blocks``): a list of plays (mappings with ``hosts``), and a list
of named tasks (written, as for the linter, into a ``hosts: localhost`` play). Stores, inventory
configurations and CI jobs are not plays; shell recipes are not either.

Each play runs once per test, in a fresh realm and a temporary directory that holds what the play
expects: the store of docs/gitops.md, step 3 (taken from that page), at the path the play names;
the users ``alice`` and ``bob`` and the hand-made group ``/staff/rancher-project-x`` (made with the
raw-HTTP client, kc.RawAdmin); for the drift reports and the Rancher binding, a store already applied
(the documented order: apply, commit, then report). Only placeholders are replaced: the URL, the
admin's name, the realm ``hpc``, the example Keycloak group id, and the vault variables (given as
extra vars). Credentials come from the play's ``module_defaults`` when it sets them, else from the
environment variables the docs tell users to export (KEYCLOAK_URL, ...). The play must succeed, and
a key effect is checked with RawAdmin or in the files it writes.

A play found in the docs without a scenario below fails: nothing is skipped silently.
"""

import functools
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

import helpers
import playbook
import realmkit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_spec = importlib.util.spec_from_file_location("lint_examples", os.path.join(REPO, "scripts", "lint_examples.py"))
lint_examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lint_examples)

BLOCKS = [(str(rel), line, kind, text, data) for rel, line, kind, text, data in lint_examples.markdown_blocks()]
PLAYS = [block for block in BLOCKS if block[2]]

EXAMPLE_URL = "https://sso.example.com"
EXAMPLE_GROUP_ID = "3f1c3a1e-2b8d-4c55-a0f5-0d7e9c1b2a44"  # "a Keycloak group made by hand"
HAND_MADE_PATH = "/staff/rancher-project-x"
OFFERING_PATH = "/platform/rancher-prod"                 # base_group and slug of the gitops store
CREDENTIAL_VARIABLES = ("KEYCLOAK_URL", "KEYCLOAK_USERNAME", "KEYCLOAK_PASSWORD", "KEYCLOAK_TOKEN",
                        "KEYCLOAK_AUTH_REALM", "KEYCLOAK_CLIENT_ID", "KEYCLOAK_CLIENT_SECRET")


def play_title(kind, data):
    return data[0].get("name") or "(unnamed)"


def the_block(rel, predicate, what):
    found = [text for path, _line, _kind, text, data in BLOCKS if path == rel and predicate(data)]
    assert len(found) == 1, "%s: expected one %s block, found %d" % (rel, what, len(found))
    return found[0]


STORE_TEXT = the_block("docs/gitops.md", lambda d: isinstance(d, dict) and "offerings" in d, "store")
INVENTORY_TEXT = the_block(
    "README.md", lambda d: isinstance(d, dict) and d.get("plugin") == "waldur.keycloak.offering_groups",
    "inventory configuration")


class DocRun(object):
    """One play's world: its realm, directory, store, placeholders; ``play()`` runs it."""

    def __init__(self, admin, realm, tmp_path, url, credentials, collections, rel, kind, text):
        self.admin, self.realm, self.dir = admin, realm, str(tmp_path)
        self.url, (self.username, self.password) = url, credentials
        self.collections = collections
        self.source = "%s (%s)" % (rel, play_title(kind, yaml.safe_load(text)))
        self.kind, self.text = kind, text
        self.store = os.path.join(self.dir, "offerings.yml")
        self.extra_vars = {"vault_keycloak_admin_password": self.password}
        self.k8s_record = os.path.join(self.dir, "k8s-calls.jsonl")

    # ---------------------------------------------------------------- the world the docs assume
    def prepare(self, state):
        self.users = {
            "alice": self.admin.create_user(self.realm, "alice", "alice@example.com", "Alice", "Liddell"),
            "bob": self.admin.create_user(self.realm, "bob", "bob@example.com", "Bob", "Builder"),
        }
        self.hand_made = helpers.create_path(self.admin, self.realm, HAND_MADE_PATH)
        self.admin.join(self.realm, self.users["bob"], self.hand_made)
        assert "realm: hpc" in STORE_TEXT
        with open(self.store, "w") as stream:
            stream.write(STORE_TEXT.replace("realm: hpc", "realm: " + self.realm))
        if state == "applied":
            # What gitops.md does before any drift report: apply the store, keep what it wrote back.
            helpers.assert_ok(playbook.run_module("keycloak_offering_sync",
                                                  {"store": self.store, "members_mode": "exact"},
                                                  env=self.credential_env()))
            assert self.declared_group() is not None

    def credential_env(self):
        return {"KEYCLOAK_URL": self.url, "KEYCLOAK_USERNAME": self.username, "KEYCLOAK_PASSWORD": self.password}

    # ---------------------------------------------------------------- the play, placeholders replaced
    def playbook_text(self):
        text = self.text
        for placeholder, value in ((EXAMPLE_URL, self.url), ("auth_realm: hpc", "auth_realm: " + self.realm),
                                   ("auth_username: admin", "auth_username: " + self.username),
                                   (EXAMPLE_GROUP_ID, self.hand_made)):
            text = text.replace(placeholder, value)
        missing = sorted(set(re.findall(r"\bvault_\w+", text)) - set(self.extra_vars))
        assert not missing, "%s uses %s: give the test a value for it" % (self.source, ", ".join(missing))
        return lint_examples.as_playbook(self.source, self.kind, text)

    def play_path(self):
        # The store is always <dir>/offerings.yml: the play sits where its store path says.
        if "{{ playbook_dir }}/../offerings.yml" in self.text:
            return os.path.join(self.dir, "playbooks", "play.yml")
        return os.path.join(self.dir, "play.yml")

    def play(self, *args, inventory=None):
        path = self.play_path()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as stream:
            stream.write(self.playbook_text())
        with open(os.path.join(self.dir, "vars.json"), "w") as stream:
            json.dump(self.extra_vars, stream)
        if inventory is None:
            inventory = os.path.join(self.dir, "no-hosts.ini")  # only the implicit localhost, as `ansible-playbook x.yml`
            open(inventory, "a").close()
        env = dict((k, v) for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES)
        if "auth_keycloak_url" not in self.text:
            env.update(self.credential_env())  # the docs export them (gitops.md step 2, AWX's credential)
        env.update({
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([self.collections, os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")]),
            "WALDUR_DOCS_K8S_RECORD": self.k8s_record,
        })
        command = ["ansible-playbook", "-i", inventory, path, "-e", "@" + os.path.join(self.dir, "vars.json")]
        process = subprocess.run(command + list(args), capture_output=True, text=True, env=env, cwd=self.dir,
                                 check=False)
        if process.returncode != 0:
            errors = [line for line in (process.stdout + process.stderr).splitlines()
                      if "fatal:" in line or "ERROR" in line or "FAILED" in line]
            pytest.fail("%s failed (ansible-playbook %s, rc %d):\n%s\n--- output tail:\n%s" % (
                self.source, " ".join(args), process.returncode, "\n".join(errors),
                (process.stdout + process.stderr)[-3000:]), pytrace=False)
        return process.stdout

    # ---------------------------------------------------------------- what to check afterwards
    def store_data(self):
        return helpers.load_store(self.store)

    def declared_group(self):
        """The Keycloak group of the gitops store's declared record ``cluster-a-admins``, or None."""
        return self.admin.group_by_path(self.realm, OFFERING_PATH + "/cluster-a-admins")

    def assert_applied(self, members):
        group = self.declared_group()
        assert group is not None, "%s: %s/cluster-a-admins was not created" % (self.source, OFFERING_PATH)
        assert self.admin.member_names(self.realm, group["id"]) == members
        record = [g for g in self.store_data()["groups"] if g["name"] == "cluster-a-admins"]
        assert [r["backend_id"] for r in record] == [group["id"]], "the store does not record the link"

    def assert_clean_report(self, directory):
        with open(os.path.join(directory, "drift-report.json")) as stream:
            report = json.load(stream)
        assert report["drift"] is False, report
        assert report["totals"]["offerings"] == 1 and report["totals"]["in_sync"] == 1, report["totals"]
        for name in ("drift-report.md", "drift-report.junit.xml"):
            assert os.path.getsize(os.path.join(directory, name)) > 0


# ------------------------------------------------------------------------------------------ scenarios
SCENARIOS = {}


def scenario(rel, title, state="declared"):
    def register(function):
        SCENARIOS[(rel, title)] = (state, function)
        return function
    return register


@scenario("README.md", "Make Keycloak match the store, every offering, in one task")
def _readme_sync_task(doc):
    doc.play()
    doc.assert_applied(["alice"])  # carol has no account: pending, not in Keycloak


@scenario("README.md", "Every operation, the connection set once for the whole play")
def _readme_every_operation(doc):
    doc.play()
    data = doc.store_data()
    roles = dict((r["uuid"], r) for r in data["offerings"][0]["roles"])
    # The cluster admins' group was created, then deleted here and in Keycloak, as the last task says.
    assert not [g for g in data["groups"] if roles[g["role"]]["name"] == "cluster-admin" and not g.get("scope_id", "")]
    offering_group = doc.admin.group_by_path(doc.realm, OFFERING_PATH)
    assert offering_group is not None
    assert doc.admin.children(doc.realm, offering_group["id"]) == []
    # The hand-made group was adopted, unlinked and linked again by its id; Keycloak still holds it.
    adopted = [g for g in data["groups"] if g.get("scope_id", "") == "p-7xk2q"]
    assert [(g["name"], g["backend_id"]) for g in adopted] == [("rancher-project-x", doc.hand_made)]
    assert doc.admin.member_names(doc.realm, doc.hand_made) == ["bob"]


@scenario("README.md", "Grant the Keycloak groups their Rancher cluster roles", state="applied")
def _readme_rancher_bindings(doc):
    # Besides the store's own group: the hand-made group adopted as a cluster-scoped one (it stays at
    # /staff/rancher-project-x, not under the offering's group), and an adopted group deleted since (no path: no
    # binding). Each binding must name the group where Keycloak has it.
    gone = helpers.create_path(doc.admin, doc.realm, "/staff/gone")
    for scope_id, group_id in (("c-adopted", doc.hand_made), ("c-gone", gone)):
        helpers.assert_ok(playbook.run_module("keycloak_group_import", {
            "store": doc.store, "offering": "Rancher production", "role": "cluster-admin", "resource": "cluster-a",
            "scope_id": scope_id, "remote_group_id": group_id}, env=doc.credential_env()))
    doc.admin.delete_group(doc.realm, gone)
    inventory = os.path.join(doc.dir, "inventory", "prod.offering_groups.yml")
    os.makedirs(os.path.dirname(inventory))
    with open(inventory, "w") as stream:
        stream.write(INVENTORY_TEXT)
    doc.play(inventory=inventory)
    with open(doc.k8s_record) as stream:
        calls = [json.loads(line) for line in stream]
    data = doc.store_data()
    roles = dict((r["uuid"], r) for r in data["offerings"][0]["roles"])
    expected = []
    for group in data["groups"]:
        role = roles[group["role"]]
        remote = doc.admin.group(doc.realm, group["backend_id"]) if group["backend_id"] else None
        if role["scope_type"] != "cluster" or remote is None:
            continue
        path = remote["path"]  # Keycloak's own path of the group
        expected.append({
            "apiVersion": "management.cattle.io/v3", "kind": "ClusterRoleTemplateBinding",
            "metadata": {"name": "waldur-" + group["uuid"], "namespace": group.get("scope_id", "")},
            "clusterName": group.get("scope_id", ""),
            "roleTemplateName": "cluster-owner" if role["name"] == "cluster-admin" else "cluster-member",
            "groupPrincipalName": "keycloakoidc_group://" + path,
        })
    assert expected and all(e["clusterName"] for e in expected), "the store implies no usable binding"
    assert "keycloakoidc_group://" + HAND_MADE_PATH in [e["groupPrincipalName"] for e in expected]
    assert [c["state"] for c in calls] == ["present"] * len(calls)
    by_content = functools.partial(json.dumps, sort_keys=True)
    assert sorted((c["definition"] for c in calls), key=by_content) == sorted(expected, key=by_content)


@scenario("docs/awx.md", "Make Keycloak match the store")
def _awx_apply(doc):
    doc.play()
    doc.assert_applied(["alice"])


@scenario("docs/awx.md", "Keycloak drift report", state="applied")
def _awx_drift(doc):
    doc.play()
    doc.assert_clean_report(os.path.join(doc.dir, "drift-report"))


@scenario("docs/drift-reports.md", "Keycloak drift report, with a CI client's credentials", state="applied")
def _drift_report_ci_client(doc):
    # The page's client: drift-report-ci in the offerings' realm, its service account with view-users only.
    secret = realmkit.distinctive("drift")
    realmkit.create_service_client(doc.admin, doc.realm, "drift-report-ci", secret, roles=["view-users"])
    doc.extra_vars["vault_drift_report_client_secret"] = secret
    output = doc.play()
    assert secret not in output
    doc.assert_clean_report(os.path.join(doc.dir, "drift-report"))


@scenario("docs/drift-reports.md", "Reconcile")
def _drift_reconcile(doc):
    doc.play()
    doc.assert_applied(["alice"])


@scenario("docs/gitops.md", "Keycloak groups of our offerings")
def _gitops_site(doc):
    # The page's three commands: the plan (nothing changes), the apply, the re-apply (changed=0).
    before_store, before_kc = helpers.store_bytes(doc.store), helpers.kc_snapshot(doc.admin, doc.realm)
    doc.play("--check", "--diff")
    assert helpers.store_bytes(doc.store) == before_store and helpers.kc_snapshot(doc.admin, doc.realm) == before_kc
    doc.play()
    doc.assert_applied(["alice"])
    recap = doc.play().rsplit("PLAY RECAP", 1)[-1]
    assert re.search(r"\bchanged=0\b", recap), recap


@pytest.mark.timeout(300)
@pytest.mark.parametrize("rel,line,kind,text", [block[:4] for block in PLAYS],
                         ids=["%s: %s" % (block[0], play_title(block[2], block[4])) for block in PLAYS])
def test_doc_play(rel, line, kind, text, admin, realm, tmp_path, keycloak_url, admin_credentials,
                  standin_collections):
    title = play_title(kind, yaml.safe_load(text))
    if (rel, title) not in SCENARIOS:
        pytest.fail("%s line %d, %r: a play the tests do not run yet; add its scenario to %s"
                    % (rel, line, title, __file__), pytrace=False)
    state, check = SCENARIOS[(rel, title)]
    doc = DocRun(admin, realm, tmp_path, keycloak_url, admin_credentials, standin_collections, rel, kind, text)
    doc.prepare(state)
    check(doc)


def test_every_scenario_has_its_play():
    """A scenario whose play left the docs (renamed, removed) is dead code: say so."""
    titles = set((block[0], play_title(block[2], block[4])) for block in PLAYS)
    assert sorted(set(SCENARIOS) - titles) == []


def test_localhost_plays_run_locally_with_ansible_python():
    """Run as ``ansible-playbook -i localhost, play.yml``, a play on localhost without ``connection: local``
    tries SSH, and without ``ansible_python_interpreter`` uses a discovered Python that may lack requests."""
    wrong = []
    for rel, line, kind, _text, data in BLOCKS:
        for play in data if kind == "play" else []:
            if play.get("hosts") == "localhost":
                interpreter = (play.get("vars") or {}).get("ansible_python_interpreter")
                if play.get("connection") != "local" or interpreter != "{{ ansible_playbook_python }}":
                    wrong.append("%s line %d: %s" % (rel, line, play.get("name")))
    assert wrong == []
