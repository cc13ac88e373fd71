# -*- coding: utf-8 -*-
"""Every shell recipe of README.md, CONTRIBUTING.md, docs/*.md and roles/*/README.md, run verbatim as a user would.

A shell recipe is a ```bash, ```sh, ```shell or ```console block. Each one is either in a SESSION below
(run) or in SET_APART with the reason; a block in neither, or a listed block the docs no longer hold,
fails ``test_every_shell_block_is_classified``: nothing is skipped silently.

A session is what one user does on a fresh machine, page by page: a fresh HOME, a clean copy of the
repository (its tracked and untracked-but-not-ignored files, no .venv, no .keycloak) as the working
directory, a PATH without any project virtualenv, and no ANSIBLE_*, KEYCLOAK_*, PYTHONPATH or
VIRTUAL_ENV. Its blocks run in order in one shell state (exported variables and the working directory
carry over, as in one terminal), each under ``set -eo pipefail``, each one test id. The files a page
tells the user to create (a ```yaml block) are written where the page says, just before the block that
needs them. Only documented placeholders are replaced (PLACEHOLDERS): the example URL, user and password
by the Keycloak of the environment (``make test``'s), the example realm ``hpc`` of the store by a fresh
realm. Outside the recipe text the environment adds only PIP_CACHE_DIR (shared between runs:
WALDUR_RECIPES_PIP_CACHE, default ~/.cache/waldur-recipes-pip), DEMO_DIR (the demo's working files,
kept per session instead of the shared /tmp/waldur-keycloak-demo) and PIP_CONSTRAINT: the versions of
CI's lock (locks/test-pyX.Y.txt), so that what a recipe installs is the set CI proves; with LOCKED=0
(`make test-latest`) none, and the recipes get the newest releases, as a user does. PyPI must be reachable.
"""

import glob
import importlib.util
import os
import re
import shlex
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# scripts/lint_examples.py extracts the docs' ```yaml blocks (loaded as tests/docs does: scripts/ is no package).
_spec = importlib.util.spec_from_file_location("lint_examples", os.path.join(REPO, "scripts", "lint_examples.py"))
lint_examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lint_examples)

SHELL_FENCE = re.compile(r"^```(bash|sh|shell|console)[^\n]*\n(.*?)^```", re.M | re.S)


def lock_constraint(root, env):
    """CI's lock for the recipes' python3, as a pip constraints file in ``root`` (versions only: pip takes
    no hashes in a constraint); None with LOCKED=0."""
    if os.environ.get("LOCKED", "1") == "0":
        return None
    version = subprocess.run(["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
    lock = os.path.join(REPO, "locks", "test-py%s.txt" % version)
    assert os.path.exists(lock), "no lock for the recipes' python3 %s: run make lock LOCK_PYTHONS=%s" % (version, version)
    with open(lock) as stream:
        pins = [line.split()[0] for line in stream if re.match(r"^[A-Za-z0-9]", line)]
    path = os.path.join(root, "constraints.txt")
    with open(path, "w") as stream:
        stream.write("\n".join(pins) + "\n")
    return path


def shell_blocks(root=REPO):
    """(path relative to root, first line number, text) of every shell block of the documentation."""
    paths = [os.path.join(root, "README.md"), os.path.join(root, "CONTRIBUTING.md")] \
        + sorted(glob.glob(os.path.join(root, "docs", "*.md"))) \
        + sorted(glob.glob(os.path.join(root, "roles", "*", "README.md")))
    for path in paths:
        with open(path) as stream:
            text = stream.read()
        for match in SHELL_FENCE.finditer(text):
            yield os.path.relpath(path, root), text.count("\n", 0, match.start(2)) + 1, match.group(2)


# A block is named by its page and its first line (line numbers move with every edit).
# Each session: the blocks in the order a user runs them; ("write", file, page, first line) steps write
# a file the page tells the user to create, in the working directory of that moment.
SESSIONS = {
    # README.md: install the built tarball and run the demo from it, on a fresh machine.
    "readme-tarball": [
        ("README.md", 'python3 -m venv ~/.venvs/waldur-keycloak && . ~/.venvs/waldur-keycloak/bin/activate'),
    ],
    # docs/gitops.md end to end, then the drift report as docs/drift-reports.md and the role's README give it.
    "gitops": [
        ("docs/gitops.md", 'python3 -m venv ~/.venvs/waldur-keycloak && . ~/.venvs/waldur-keycloak/bin/activate'),
        ("docs/gitops.md", "export KEYCLOAK_URL=https://sso.example.com"),
        ("write", "offerings.yml", "docs/gitops.md", "version: 1"),
        ("write", "site.yml", "docs/gitops.md", "# site.yml"),
        ("docs/gitops.md", "ansible-playbook site.yml --check --diff   # the plan: every create, rename, add, "
                           "remove, link; nothing changes"),
        ("docs/gitops.md", "ansible-playbook waldur.keycloak.drift_report \\"),
        ("docs/drift-reports.md", "export KEYCLOAK_URL=https://sso.example.com KEYCLOAK_USERNAME=... "
                                  "KEYCLOAK_PASSWORD=..."),
        ("roles/drift_report/README.md", "ansible-playbook waldur.keycloak.drift_report -e "
                                         "drift_report_store=offerings.yml -e drift_report_dir=drift-report"),
    ],
    # CONTRIBUTING.md: a contributor's first hour: the virtualenv, one test with plain pytest and through make,
    # a changelog fragment. It needs no Keycloak (KEYCLOAK_FREE).
    "contributing": [
        ("CONTRIBUTING.md", "make venv collection   # once: .venv from the lock, and this checkout linked into "
                            ".venv/collections"),
        ("CONTRIBUTING.md", 'make unit PYTEST_ARGS="-k offering_sync"'),
        ("CONTRIBUTING.md", "cat > changelogs/fragments/my-branch.yml <<'EOF'"),
    ],
    # docs/awx.md: build the tarball, see what ansible-builder picks up from it.
    "awx": [
        ("docs/awx.md", 'python3 -m venv ~/.venvs/waldur-keycloak && . ~/.venvs/waldur-keycloak/bin/activate'),
        ("docs/awx.md", "ansible-galaxy collection install waldur-keycloak-0.1.0.tar.gz -p /tmp/ee-check"),
    ],
}

# Sessions whose recipes need no Keycloak: they run without one (pytest tests/recipes -k contributing).
KEYCLOAK_FREE = {"contributing"}

SET_APART = {
    ("CONTRIBUTING.md", "make unit             # tests/unit: the collection's unit tests (one to two minutes)"): (
        "every suite there is a stage of `make test`, which runs this suite: `make unit`, `make tooling` and "
        "`make ansible-units` run there whole, and `make keycloak-up` would start a second Keycloak; the session "
        "runs one test of the unit suite through make instead"),
    ("CONTRIBUTING.md", "make check"): (
        "its stages (unit, tooling, lint, changelog-lint, sanity) are stages of `make test`; "
        "tests/tooling/test_make_stages.py checks that `make check` runs exactly those and needs no Keycloak"),
    ("CONTRIBUTING.md", "make test"): "`make test` is what runs this suite (it would recurse)",
    ("README.md", "make demo   # on a fresh machine: virtualenv, Keycloak, then the GitOps story (playbooks/demo.yml)"): (
        "the two top-level targets: `make test` is what runs this suite (it would recurse) and `make demo` "
        "starts a second Keycloak of its own; CI runs `make test`, and the demo's playbook runs here from the "
        "README's tarball recipe"),
    ("docs/awx.md", "ansible-builder build -f execution-environment.yml -v3       # podman (default) or "
                    "--container-runtime docker"): (
        "needs a container engine and a registry (CI has neither); `make ee` runs `ansible-builder create` "
        "over this page's definition and the introspection over the tarball"),
    ("docs/events.md", "ansible-builder build -f decision-environment.yml -v3        # podman (default) or "
                       "--container-runtime docker"): (
        "needs a container engine and a registry (CI has neither); `make de` runs `ansible-builder create` "
        "over this page's decision environment definition and checks the build context"),
    ("docs/events.md", "export KEYCLOAK_URL=https://sso.example.com KEYCLOAK_USERNAME=... KEYCLOAK_PASSWORD=..."): (
        "ansible-rulebook runs until it is stopped and needs Java and its own virtualenv (.venv-eda); `make eda` "
        "runs this very command line (tests/eda/edakit.py, `-r waldur.keycloak.drift --vars vars.yml -i "
        "inventory.yml -v`) against the test Keycloak and checks what it does"),
    ("README.md", "ansible-rulebook -r waldur.keycloak.drift --vars drift-vars.yml -i inventory.yml   # KEYCLOAK_* in "
                  "the environment"): (
        "the same command as docs/events.md's, set apart there for the same reason: `make eda` runs it"),
    ("README.md", "make test-latest   # the ranges without the locks, in .venv-latest: unit, sanity and the Keycloak "
                  "stages; not part of make test"): (
        "a run of the whole suite on the newest releases, and `make lock` rewrites locks/ in the checkout: "
        "a maintainer's step, run by hand and reported in the closing note; tests/tooling/test_lock_compare.py "
        "checks every lock `make lock` wrote, and the Makefile's targets are listed by test_makefile.py"),
}

# Placeholder text of the docs -> what stands in for it here (a function of the Keycloak and the realm).
PLACEHOLDERS = (
    ("https://sso.example.com", lambda kc: kc["url"]),
    ("KEYCLOAK_USERNAME=admin", lambda kc: "KEYCLOAK_USERNAME=" + shlex.quote(kc["username"])),
    ("KEYCLOAK_USERNAME=automation", lambda kc: "KEYCLOAK_USERNAME=" + shlex.quote(kc["username"])),
    ("KEYCLOAK_USERNAME=...", lambda kc: "KEYCLOAK_USERNAME=" + shlex.quote(kc["username"])),
    ("KEYCLOAK_PASSWORD=...", lambda kc: "KEYCLOAK_PASSWORD=" + shlex.quote(kc["password"])),
    ("realm: hpc", lambda kc: "realm: " + kc["realm"]),
)


def block_key(rel, text):
    return rel, text.splitlines()[0] if text.strip() else ""


BLOCKS = dict((block_key(rel, text), (line, text)) for rel, line, text in shell_blocks())
STEPS = [(name, index, step) for name, steps in SESSIONS.items() for index, step in enumerate(steps)]


def step_id(step):
    if step[0] == "write":
        return "write-%s" % step[1]
    return "%s:%d" % (step[0], BLOCKS[step][0]) if step in BLOCKS else "%s:missing" % step[0]


def test_every_shell_block_is_classified():
    run = set(step for steps in SESSIONS.values() for step in steps if step[0] != "write")
    problems = ["%s:%d is neither run (SESSIONS) nor set apart with a reason (SET_APART): %r"
                % (key[0], line, key[1]) for key, (line, _text) in sorted(BLOCKS.items())
                if key not in run and key not in SET_APART]
    problems += ["%s no longer holds a shell block starting with %r (update tests/recipes)" % key
                 for key in sorted(run | set(SET_APART)) if key not in BLOCKS]
    problems += ["%s is both run and set apart" % (key,) for key in sorted(run & set(SET_APART))]
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------ sessions
def clean_path():
    """PATH without any virtualenv (a fresh machine has none of the project's)."""
    entries = os.environ.get("PATH", "").split(os.pathsep)
    venv = os.environ.get("VIRTUAL_ENV")
    kept = [entry for entry in entries if entry
            and not any(part.startswith(".venv") for part in entry.split(os.sep))
            and not (venv and entry.startswith(venv))
            and not entry.startswith(REPO)]
    return os.pathsep.join(kept)


def clean_copy(destination):
    """The repository as a fresh clone has it: tracked and untracked-but-not-ignored files."""
    listing = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                             capture_output=True, check=True).stdout.decode().split("\0")
    for rel in listing:
        source = os.path.join(REPO, rel)
        if rel and os.path.isfile(source):
            target = os.path.join(destination, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)


class Session(object):
    """One user's terminal: a fresh HOME and a clean copy; exported variables and cwd carry over."""

    def __init__(self, root, keycloak):
        self.root, self.keycloak = root, keycloak
        self.home = os.path.join(root, "home")
        self.src = os.path.join(root, "checkout")
        os.makedirs(self.home)
        os.makedirs(self.src)
        clean_copy(self.src)
        self.state = os.path.join(root, "state.sh")
        self.cwd = self.src
        self.failed = None
        self.done = 0  # steps run so far: a step needs every earlier one of its session (one terminal)
        dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "DEMO_DIR", "PYTEST_ADDOPTS")
        self.env = dict((k, v) for k, v in os.environ.items()
                        if k not in dropped and not k.startswith(("ANSIBLE_", "KEYCLOAK_", "WALDUR_", "PYTEST_")))
        self.env.update({
            "HOME": self.home, "PATH": clean_path(),
            "PIP_CACHE_DIR": os.environ.get("WALDUR_RECIPES_PIP_CACHE")
            or os.path.join(os.path.expanduser("~"), ".cache", "waldur-recipes-pip"),
            "DEMO_DIR": os.path.join(root, "demo"),
        })
        constraint = lock_constraint(root, self.env)
        if constraint:
            self.env["PIP_CONSTRAINT"] = constraint
        # A fresh machine has no Ansible: the recipes must install it, or they show nothing.
        for program in ("ansible-galaxy", "ansible-playbook", "ansible-builder"):
            found = shutil.which(program, path=self.env["PATH"])
            assert found is None, "%s is on PATH outside a virtualenv (%s): not a fresh machine" % (program, found)

    def substitute(self, text):
        for placeholder, value in PLACEHOLDERS:
            if placeholder in text:
                assert self.keycloak, "a session of KEYCLOAK_FREE has a Keycloak placeholder: %s" % placeholder
                text = text.replace(placeholder, value(self.keycloak))
        return text

    def write(self, name, rel, first_line):
        with open(os.path.join(self.cwd, name), "w") as stream:
            stream.write(self.substitute(lint_examples.yaml_block(rel, first_line)))

    def run(self, label, text):
        script = "\n".join([
            "[ -f %s ] && . %s" % (shlex.quote(self.state), shlex.quote(self.state)),
            "cd %s" % shlex.quote(self.cwd),
            "set -eo pipefail",
            self.substitute(text),
            "set +e",
            "export -p >%s.new && pwd >%s.cwd" % (shlex.quote(self.state), shlex.quote(self.state)),
        ])
        process = subprocess.run(["bash", "-c", script], env=self.env, cwd=self.cwd, capture_output=True, text=True,
                                 check=False)
        output = process.stdout + process.stderr
        if process.returncode != 0:
            self.failed = label
            secret = self.keycloak["password"] if self.keycloak else "\0"
            pytest.fail("%s failed (exit %d) in a fresh HOME %s, from %s:\n%s" % (
                label, process.returncode, self.home, self.cwd, output[-4000:].replace(secret, "***")), pytrace=False)
        os.replace(self.state + ".new", self.state)
        with open(self.state + ".cwd") as stream:
            self.cwd = stream.read().strip()
        return output


@pytest.fixture(scope="module")
def sessions(tmp_path_factory, request):
    keycloak = {}   # the running Keycloak and a fresh realm, made when the first session that needs them starts
    made = {}

    def get(name):
        if name not in made:
            if name not in KEYCLOAK_FREE and not keycloak:
                admin, (username, password) = request.getfixturevalue("admin"), request.getfixturevalue("admin_credentials")
                keycloak.update(url=request.getfixturevalue("keycloak_url"), username=username, password=password,
                                realm=admin.create_realm(), admin=admin)
            made[name] = Session(str(tmp_path_factory.mktemp("recipe-" + name)),
                                 None if name in KEYCLOAK_FREE else keycloak)
        return made[name]

    yield get
    if keycloak:
        keycloak["admin"].delete_realm(keycloak["realm"])


@pytest.mark.parametrize("name,index,step", STEPS, ids=["%s/%s" % (n, step_id(s)) for n, _i, s in STEPS])
def test_recipe(sessions, name, index, step):
    session = sessions(name)
    if session.failed:
        pytest.fail("not run: the earlier step %s of this session failed" % session.failed, pytrace=False)
    if session.done != index:
        pytest.fail("not run: it needs the %d earlier steps of session %r; select the whole session (-k %s)"
                    % (index, name, name), pytrace=False)
    session.done += 1
    if step[0] == "write":
        session.write(*step[1:])
        return
    assert step in BLOCKS, "%s no longer holds a shell block starting with %r" % step
    line, text = BLOCKS[step]
    output = session.run("%s:%d" % (step[0], line), text)
    check = CHECKS.get(step)
    if check:
        check(session, output)


# ------------------------------------------------------------------------------------------ effects
def _demo_ran(session, output):
    assert re.search(r"localhost +: ok=\d+ +changed=\d+ +unreachable=0 +failed=0", output), output[-3000:]
    installed = os.path.join(session.home, ".ansible", "collections", "ansible_collections", "waldur", "keycloak")
    assert os.path.isfile(os.path.join(installed, "MANIFEST.json")), "the collection is not at " + installed


def _applied_then_idempotent(session, output):
    recaps = re.findall(r"localhost +: ok=\d+ +changed=(\d+) +unreachable=0 +failed=0", output)
    assert len(recaps) == 3 and recaps[2] == "0", "expected three clean runs, the last with changed=0:\n" + output[-3000:]


def _clean_report(directory):
    def check(session, output):
        assert os.path.isfile(os.path.join(session.cwd, directory, "drift-report.json")), output[-3000:]
    return check


def _one_test_ran(session, output):
    # Four plain pytest runs in the fresh checkout (no PYTHONPATH, no collections path): each found its tests.
    runs = re.findall(r"^=* ?(\d+) passed", output, re.M)
    assert len(runs) == 4 and all(int(n) > 0 for n in runs) and " failed" not in output, output[-3000:]


def _some_unit_tests_ran(session, output):
    assert re.search(r"^\d+ passed, \d+ deselected", output, re.M), output[-3000:]


def _fragment_linted(session, output):
    """The example fragment passed the lint and waits for the next release (CHANGELOG.md is release-time)."""
    assert re.search(r"CHANGELOG\.md is up to date with changelogs/changelog\.yaml; [1-9]\d* fragment\(s\) wait",
                     output), output[-3000:]
    with open(os.path.join(session.cwd, "changelogs", "fragments", "my-branch.yml")) as stream:
        assert "an example entry: what changed, for whom" in stream.read(), output[-3000:]


def _introspected(session, output):
    assert "requests>=2.28" in output and "waldur.keycloak" in output, output


CHECKS = {
    SESSIONS["readme-tarball"][0]: _demo_ran,
    SESSIONS["gitops"][4]: _applied_then_idempotent,
    SESSIONS["gitops"][5]: _clean_report("reports"),
    SESSIONS["gitops"][6]: _clean_report("drift-report"),
    SESSIONS["gitops"][7]: _clean_report("drift-report"),
    SESSIONS["awx"][1]: _introspected,
    SESSIONS["contributing"][0]: _one_test_ran,
    SESSIONS["contributing"][1]: _some_unit_tests_ran,
    SESSIONS["contributing"][2]: _fragment_linted,
}
