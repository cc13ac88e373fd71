# -*- coding: utf-8 -*-
"""Fixtures of the ansible-runner tests (tests/runner): jobs run as AWX runs them.

They reuse the integration tests' raw-HTTP Keycloak client and fixtures (tests/integration: ``admin``,
``realm``, ``kc.RawAdmin``) and the reliability tests' recording proxy (tests/reliability/faultproxy.py),
through which the tokens the modules obtain are seen; and the ``awx`` fixture: AWX with docs/awx.md's credential
type, a credential of it, numbered jobs (tests/runner/awxjob.py) and a check that no secret is in a job's directory.
"""

import base64
import json
import os
import re
import stat

import pytest
import yaml


# The integration fixtures (tests/integration/kcfixtures.py), for pytest to find by name here.
from kcfixtures import admin, admin_credentials, keycloak_url, realm  # noqa: F401  # pylint: disable=unused-import
from awxjob import Awx, inject
from faultproxy import FaultProxy, TokenRecorder
import docblocks

CREDENTIAL_VARIABLES = ("KEYCLOAK_URL", "KEYCLOAK_USERNAME", "KEYCLOAK_PASSWORD", "KEYCLOAK_TOKEN",
                        "KEYCLOAK_AUTH_REALM", "KEYCLOAK_CLIENT_ID", "KEYCLOAK_CLIENT_SECRET")
# Any JSON Web Token (Keycloak's access and refresh tokens are), and the two Authorization header shapes.
TOKEN_SHAPES = (re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+"), re.compile(r"Bearer\s+[\w.~+/=-]{16,}"),
                re.compile(r"Basic\s+[A-Za-z0-9+/]{12,}={0,2}"))


@pytest.fixture
def awx(tmp_path, admin, keycloak_url, admin_credentials, monkeypatch):
    """AWX with the docs' credential type and a credential of it (URL: the recording proxy), and a secret check."""
    tokens = TokenRecorder()
    issued = tokens.issued
    proxy = FaultProxy(keycloak_url, on_response=tokens, max_seconds=900).start()
    username, password = admin_credentials
    inputs = yaml.safe_load(docblocks.block("docs/awx.md", "# credential type: inputs"))
    injectors = yaml.safe_load(docblocks.block("docs/awx.md", "# credential type: injectors"))
    credential = {"keycloak_url": proxy.url, "username": username, "password": password}
    assert sorted(f["id"] for f in inputs["fields"]) == sorted(credential)
    env = inject(injectors, credential)
    assert env == {"KEYCLOAK_URL": proxy.url, "KEYCLOAK_USERNAME": username, "KEYCLOAK_PASSWORD": password}
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)  # the job gets its credential from env/envvars only
    monkeypatch.setenv("ANSIBLE_NOCOLOR", "1")  # plain text in stdout, so that a search cannot miss across a colour code

    repository = tmp_path / "repository"
    (repository / "playbooks").mkdir(parents=True)
    awx = Awx(str(tmp_path), str(repository), env)
    basic = base64.b64encode(("%s:%s" % (username, password)).encode()).decode()

    def secrets():
        found = dict(("token %d" % i, t) for i, t in enumerate(sorted(issued)))
        found.update({"password": password, "Basic credentials": basic, "test's own token": admin.token()})
        return found

    def assert_no_secrets(job):
        """Over the job's directory, and over the execution node's too when the job ran on one."""
        assert issued, "no token went through the proxy: the job did not log in through the credential"
        assert find_secret_places(job.dir, job.id, secrets(), env) == []
        if job.node_dir:
            assert find_secret_places(job.node_dir, job.id, secrets(), env, on_node=True) == []

    awx.assert_no_secrets = assert_no_secrets
    try:
        yield awx
    finally:
        proxy.stop()


def find_secret_places(directory, job_id, secrets, credential_env, on_node=False):
    """Where a secret, or anything shaped like a token or an Authorization header, is in a job's directory.

    A list of (path relative to ``directory``, what); ``directory`` is the job's private data directory, on
    the controller or (``on_node``) on the execution node it ran on, where the worker streams the job events
    back instead of writing them. ``env/`` is the job's input (AWX writes the
    credential there, or hands it over in memory, and deletes the directory); in ``artifacts/<id>/command``,
    ansible-runner's own record of the command, its working directory and its environment, the credential may
    be only the environment's own values.
    """
    artifacts = os.path.join(directory, "artifacts", str(job_id))
    places, searched = [], []
    for folder, _dirs, files in os.walk(directory):
        if os.path.relpath(folder, directory).partition(os.sep)[0] == "env":
            continue
        for name in files:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, directory)
            with open(path, encoding="utf-8", errors="replace") as stream:
                text = stream.read()
            if path == os.path.join(artifacts, "command"):
                record = json.loads(text)
                assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
                for variable, value in credential_env.items():
                    assert record["env"].pop(variable) == value
                text = json.dumps(record)
            searched.append(relative)
            places += [(relative, what) for what, secret in secrets.items() if secret in text]
            places += [(relative, found.group(0)[:12] + "...") for found in
                       (shape.search(text) for shape in TOKEN_SHAPES) if found]
    # The places AWX's users see: the output, the events, the command; and the files the job wrote.
    assert os.path.join("artifacts", str(job_id), "stdout") in searched
    assert os.path.join("artifacts", str(job_id), "command") in searched
    assert on_node or any(os.sep + "job_events" + os.sep in path for path in searched)
    return places
