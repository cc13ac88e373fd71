# -*- coding: utf-8 -*-
"""7. TLS: a private Keycloak on HTTPS, with a certificate signed by a CA made for the test.

The default (validate_certs: true) must refuse it with a clear one-line message;
ca_path (or KEYCLOAK_CA_PATH) to that CA must work; validate_certs: false must
work (and the README must call it unsafe). Each case runs twice: with
REQUESTS_CA_BUNDLE pointing at the system bundle (as on many CI machines and
in corporate images) and without it, because requests lets that variable
override a session's own verify setting.
"""

import os
import re

import pytest

import helpers
import playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def test_readme_calls_validate_certs_false_unsafe():
    with open(os.path.join(REPO, "README.md")) as stream:
        readme = stream.read()
    section = readme[readme.index("## Connection and credentials"):]
    section = section[:section.index("\n## ", 5)]
    assert re.search(r"validate_certs[^.]*false[^.]*unsafe|unsafe[^.]*validate_certs[^.]*false", section, re.I | re.S), \
        "README's 'Connection and credentials' must say that validate_certs: false is unsafe"


@pytest.mark.stress
def test_tls_against_private_keycloak(private_keycloak, figure):
    server = private_keycloak
    certs = server.certificates
    login = {"auth_username": server.username, "auth_password": server.password, "realm": "master"}
    fq = helpers.fqcn("keycloak_connection_test")
    https = server.https_url
    cases = [
        # (name, args, environment of the task, expect ok, fragments of the message)
        ("default refuses", dict(login, auth_keycloak_url=https), {}, False,
         ["TLS error talking to %s" % https, "certificate verify failed", "set ca_path"]),
        ("ca_path works", dict(login, auth_keycloak_url=https, ca_path=certs["ca.pem"]), {}, True, []),
        ("KEYCLOAK_CA_PATH works", dict(login, auth_keycloak_url=https), {"KEYCLOAK_CA_PATH": certs["ca.pem"]},
         True, []),
        ("validate_certs false works", dict(login, auth_keycloak_url=https, validate_certs=False), {}, True, []),
        ("another CA refuses", dict(login, auth_keycloak_url=https, ca_path=certs["other-ca.pem"]), {}, False,
         ["TLS error talking to %s" % https, "certificate verify failed"]),
        ("https to the http port", dict(login, auth_keycloak_url=server.url.replace("http:", "https:")), {}, False,
         ["TLS error talking to"]),
        ("missing CA file", dict(login, auth_keycloak_url=https, ca_path="/nonexistent/ca.pem"), {}, False,
         ["/nonexistent/ca.pem"]),
    ]
    outcomes = []
    for bundle in (SYSTEM_BUNDLE, None):
        tasks = [dict({fq: args}, environment=env) for _name, args, env, _ok, _fragments in cases]
        env = {"KEYCLOAK_USERNAME": "", "KEYCLOAK_PASSWORD": "", "REQUESTS_CA_BUNDLE": bundle or "",
               "CURL_CA_BUNDLE": ""}
        run = playbook.run_tasks(tasks, env=env)
        assert "Traceback (most recent call last)" not in run.stdout + run.stderr
        for (name, _args, _env, ok, fragments), result in zip(cases, run.results):
            msg = result.get("msg") or ""
            good = (not result.get("failed")) if ok else (
                bool(result.get("failed")) and "\n" not in msg and not msg.startswith("unexpected error")
                and all(f in msg for f in fragments))
            outcomes.append((name, "REQUESTS_CA_BUNDLE=%s" % (bundle or "unset"), good, msg[:300]))
    wrong = [o for o in outcomes if not o[2]]
    figure("TLS: keycloak_connection_test against Keycloak on HTTPS (test CA)",
           cases=len(outcomes), as_expected=len(outcomes) - len(wrong),
           refused_by_default=[o[3] for o in outcomes if o[0] == "default refuses"][:1],
           wrong=["%s (%s): %s" % (o[0], o[1], o[3]) for o in wrong])
    assert not wrong, wrong
