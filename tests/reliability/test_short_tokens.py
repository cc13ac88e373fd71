# -*- coding: utf-8 -*-
"""4. Short tokens: one module run that outlives its access token many times over.

An auth realm whose access tokens live 2 s (5 s in the heavy variant) and an
admin of that realm (realm-management realm-admin). A proxy that adds a fixed
delay to every answer (and nothing else) stretches one keycloak_offering_sync
past the wanted duration without loading Keycloak; it also counts the token
requests and any 401 answer.
"""

import time

import pytest

import helpers
import playbook
import realmkit
from faultproxy import FaultProxy

CASES = [
    # lifespan (s), groups (3 requests each: create, 2 memberships; the users are resolved in bulk, a few
    # requests for all of them), delay per answer, minimum run (s)
    pytest.param(2, 24, 0.2, 12, id="2s-tokens-20s-run"),
    pytest.param(5, 120, 0.2, 61, id="5s-tokens-over-a-minute", marks=pytest.mark.stress),
]


@pytest.mark.parametrize("lifespan,groups,delay,minimum", CASES)
def test_run_outlives_tokens(admin, tmp_path, figure, lifespan, groups, delay, minimum):
    realm = admin.create_realm(accessTokenLifespan=lifespan)
    try:
        password = realmkit.distinctive("Pw")
        realmkit.create_user(admin, realm, "ops-admin", password, roles=["realm-admin"])
        users = ["user%03d" % i for i in range(groups + 1)]
        helpers.bulk_users(admin, realm, [{"username": u} for u in users])
        store = str(tmp_path / "store.yml")
        realmkit.one_offering_store(store, realm, groups=groups)
        records = helpers.load_store(store)["groups"]
        for index, record in enumerate(records):
            record["members"] = [{"username": users[index], "state": "pending"},
                                 {"username": users[index + 1], "state": "pending"}]
        helpers.write_groups(store, records)

        statuses = []
        proxy = FaultProxy(admin.url, always_delay=delay, max_seconds=600,
                           on_response=lambda method, target, status, body: statuses.append((target, status)))
        proxy.start()
        try:
            args = {"store": store, "auth_keycloak_url": proxy.url, "auth_realm": realm,
                    "auth_username": "ops-admin", "auth_password": password, "parallelism": 1}
            started = time.monotonic()
            result = playbook.run_tasks([{helpers.fqcn("keycloak_offering_sync"): args}]).result
            duration = time.monotonic() - started
        finally:
            proxy.stop()
        token_requests = sum(1 for target, _status in statuses if target.endswith("/protocol/openid-connect/token"))
        unauthorized = sum(1 for _target, status in statuses if status == 401)
        tree = helpers.kc_tree(admin, realm)
        made = dict((node["name"], node) for path, node in tree.items() if path.startswith("/rel/"))
        incomplete = sum(1 for r in records if set(made.get(r["name"], {}).get("members") or [])
                         != set(m["username"] for m in r["members"]))
        figure("short tokens: %d s access tokens, one keycloak_offering_sync of %d groups" % (lifespan, groups),
               token_lifespan_s=lifespan, run_s=round(duration, 1), token_lifetimes_spanned=round(duration / lifespan, 1),
               http_requests=len(statuses), token_requests=token_requests, answers_401=unauthorized,
               failures=int(bool(result.get("failed"))), incomplete_groups=incomplete)
        assert not result.get("failed"), result.get("msg")
        assert duration >= minimum, "the run took only %.1f s: not long enough to prove anything" % duration
        assert token_requests >= duration / lifespan / 2, "tokens were not renewed"
        assert len(made) == groups and incomplete == 0
    finally:
        admin.delete_realm(realm)
