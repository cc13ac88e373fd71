# -*- coding: utf-8 -*-
"""6. Secrets: every module at -vvv and with ANSIBLE_DEBUG=1; no password, client secret or token anywhere.

A realm with an admin user (a distinctive password) and a confidential client
(a distinctive secret) holding realm-admin. Every module runs with the
password grant; some also with the client-credentials grant, with a ready-made
token, and with distinctive wrong credentials. The modules talk to Keycloak
through a pass-through proxy that records every token Keycloak hands out, so
the tokens the modules obtained are known too. Then stdout, stderr, the
ANSIBLE_LOG_PATH log, the registered results, every file the run left and the
store are searched for all of them (the playbook file itself, the input, aside).

- At ``-vvv`` the credentials are module options, as from a vault.
- With ``ANSIBLE_DEBUG=1`` they come from the controller's environment
  (KEYCLOAK_PASSWORD, KEYCLOAK_CLIENT_SECRET): ansible-core's
  debug output prints every module option, no_log or not (Ansible documents
  that debug mode is not for production), which no module can prevent.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote_plus

import helpers
import playbook
import realmkit
from faultproxy import FaultProxy, TokenRecorder

MODULES = ("keycloak_connection_test", "keycloak_group_import", "keycloak_group_sync_info", "keycloak_offering_group",
           "keycloak_offering_group_info", "keycloak_offering_sync", "keycloak_remote_group_info",
           "keycloak_remote_user_info")


def every_module(store, ids, label, args):
    """One task (or more) per module, each with ``args`` (connection and credentials) added."""
    fq = helpers.fqcn
    group = {"offering": ids["offering"], "role": "member", "resource": "res-0", "scope_id": "s-" + label}

    def a(extra):
        return dict(args, store=store, **extra)

    return [
        {fq("keycloak_connection_test"): a({"offering": ids["offering"]})},
        {fq("keycloak_offering_group"): a(dict(group, members=["alice", "nobody-yet"]))},
        {fq("keycloak_offering_group"): a(dict(group, pull_members=True))},
        {fq("keycloak_offering_group_info"): {"store": store, "offering": ids["offering"]}},
        {fq("keycloak_remote_group_info"): a({"offering": ids["offering"]})},
        {fq("keycloak_remote_user_info"): a({"offering": ids["offering"], "q": "ali"})},
        {fq("keycloak_group_sync_info"): a({"offering": ids["offering"], "members": True})},
        {fq("keycloak_group_import"): a({"offering": ids["offering"], "role": "admin", "scope_id": "s-" + label,
                                         "remote_group_path": "/handmade-" + label})},
        {fq("keycloak_offering_sync"): a({"offering": ids["offering"], "members_mode": "exact"})},
        {fq("keycloak_offering_group"): a(dict(group, state="absent"))},
    ]


def some_modules(store, ids, args):
    fq = helpers.fqcn
    return [
        {fq("keycloak_connection_test"): dict(args, store=store, offering=ids["offering"])},
        {fq("keycloak_offering_sync"): dict(args, store=store, offering=ids["offering"])},
        {fq("keycloak_remote_user_info"): dict(args, store=store, offering=ids["offering"], q="ali")},
    ]


def test_no_secret_in_any_output(admin, realm, client_factory, tmp_path, figure):
    password, secret = realmkit.distinctive("Pw"), realmkit.distinctive("Cs")
    wrong_password, wrong_secret = realmkit.distinctive("WrongPw"), realmkit.distinctive("WrongCs")
    realmkit.create_user(admin, realm, "ops-admin", password, roles=["realm-admin"])
    realmkit.create_service_client(admin, realm, "ops-cc", secret, roles=["realm-admin"])
    admin.create_user(realm, "alice", email="alice@example.org")
    tokens = TokenRecorder()
    issued = tokens.issued
    proxy = FaultProxy(admin.url, on_response=tokens, max_seconds=600).start()
    # A token obtained here (through the proxy: its issuer is the proxy's URL), handed to modules as `token`.
    given_token = client_factory(url=proxy.url, auth_realm=realm, username="ops-admin", password=password).login()._token
    wrong_token = given_token[:-12] + "AAAAAAAAAAAA"

    # Nothing from the test's own environment: only what each run gives.
    no_env = {"KEYCLOAK_USERNAME": "", "KEYCLOAK_PASSWORD": "", "KEYCLOAK_CLIENT_ID": "", "KEYCLOAK_CLIENT_SECRET": "",
              "KEYCLOAK_TOKEN": ""}
    as_options = {
        "password": {"auth_username": "ops-admin", "auth_password": password},
        "client": {"auth_client_id": "ops-cc", "auth_client_secret": secret},
        "token": {"token": given_token},
        "wrong_password": {"auth_username": "ops-admin", "auth_password": wrong_password},
        "wrong_client": {"auth_client_id": "ops-cc", "auth_client_secret": wrong_secret},
        "wrong_token": {"token": wrong_token},
    }
    as_env = {
        "password": {"KEYCLOAK_USERNAME": "ops-admin", "KEYCLOAK_PASSWORD": password},
        "client": {"KEYCLOAK_CLIENT_ID": "ops-cc", "KEYCLOAK_CLIENT_SECRET": secret},
    }
    stores = {}
    # A store per run: the runs go two at a time and must not change each other's records.
    for label in ("vvv", "vvv-other", "debug", "debug-client"):
        if label in ("vvv", "debug"):  # every_module imports it
            helpers.create_path(admin, realm, "/handmade-" + label)
        path = str(tmp_path / ("store-%s.yml" % label))
        stores[label] = (path, realmkit.one_offering_store(path, realm, slug="rel-" + label))

    places, outcomes = {}, {}
    try:
        connection = {"auth_keycloak_url": proxy.url, "auth_realm": realm}
        store, ids = stores["vvv-other"]
        other_tasks = []
        for kind in ("client", "token", "wrong_password", "wrong_client", "wrong_token"):
            other_tasks += some_modules(store, ids, dict(connection, **as_options[kind]))
        # Longest first, so that the two at a time finish together.
        runs = [("vvv-other", {}, ["-vvv"], other_tasks)]
        store, ids = stores["vvv"]
        runs.append(("vvv", {}, ["-vvv"], every_module(store, ids, "vvv", dict(connection, **as_options["password"]))))
        store, ids = stores["debug"]
        runs.append(("debug-password", dict(as_env["password"], ANSIBLE_DEBUG="1"), [],
                     every_module(store, ids, "debug", connection)))
        store, ids = stores["debug-client"]
        runs.append(("debug-client", dict(as_env["client"], ANSIBLE_DEBUG="1"), [], some_modules(store, ids, connection)))

        def run(spec):
            name, env, args, tasks = spec
            workdir = str(tmp_path / name)
            os.mkdir(workdir)
            env = dict(no_env, ANSIBLE_LOG_PATH=os.path.join(workdir, "ansible.log"), **env)
            return name, playbook.run_tasks(tasks, env=env, extra_args=args, workdir=workdir), workdir

        with ThreadPoolExecutor(max_workers=2) as pool:
            for name, result, workdir in pool.map(run, runs):
                outcomes[name] = result
                places["%s stdout" % name] = result.stdout
                places["%s stderr" % name] = result.stderr
                for root, _dirs, files in os.walk(workdir):
                    for filename in files:
                        if filename != "play.yml":  # the input: it holds the -vvv run's options
                            with open(os.path.join(root, filename), "rb") as stream:
                                places["%s %s" % (name, filename)] = stream.read().decode("utf-8", "replace")
    finally:
        proxy.stop()
    for label, (path, _ids) in stores.items():
        with open(path) as stream:
            places["store " + label] = stream.read()

    secrets = {"password": password, "client_secret": secret, "wrong_password": wrong_password,
               "wrong_client_secret": wrong_secret, "given_token": given_token, "wrong_token": wrong_token}
    for index, token in enumerate(sorted(issued)):
        secrets["issued_token_%d" % index] = token
    forms = {}
    for name, value in secrets.items():
        forms[name] = set([value, quote_plus(value)])
        if value.count(".") == 2:  # a JWT: its signature alone is secret too (headers repeat)
            forms[name].add(value.rsplit(".", 1)[1])
    hits = sorted("%s in %s" % (name, place) for name, values in forms.items() for place, text in places.items()
                  if any(v in text for v in values))

    modules_run = set(list(task)[0].split(".")[-1] for _n, _e, _a, tasks in runs for task in tasks)
    failing = dict((name, [i for i, r in enumerate(result.results) if r.get("failed")])
                   for name, result in outcomes.items())
    logs = dict((name, len(places.get("%s ansible.log" % name, ""))) for name in outcomes)
    figure("secrets: every module at -vvv and with ANSIBLE_DEBUG=1, three kinds of credentials and wrong ones",
           modules=len(modules_run), runs=len(runs), tasks=sum(len(r.results) for r in outcomes.values()),
           secrets_searched=len(secrets), tokens_issued=len(issued), places_searched=len(places),
           bytes_searched=sum(len(t) for t in places.values()), hits=len(hits), hit_list=hits)
    assert not hits, hits
    assert modules_run == set(MODULES)
    # The runs did what they should: the wrong credentials failed, everything else worked.
    assert failing["vvv-other"] == list(range(6, 15)), failing
    assert failing["vvv"] == failing["debug-password"] == failing["debug-client"] == [], failing
    assert all(size > 0 for size in logs.values()), logs
    assert len(issued) >= 6
