# -*- coding: utf-8 -*-
"""5. Hostile input: bad stores, bad module arguments, bad store paths; and generated stores.

Every case runs through a real module (all of them batched into a few
ansible-playbook runs, at -vvv) and must get a clean error: one line, naming
the problem and where (the expected fragments below), no traceback anywhere
in the output, not an "unexpected error", and the store's bytes unchanged
(a write was asked for: keycloak_offering_group creating a record).
"""

import json
import os
import re
import shutil
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers
import playbook

OFFERING = "11111111-1111-4111-8111-111111111111"
ROLE = "22222222-2222-4222-8222-222222222222"
RESOURCE = "33333333-3333-4333-8333-333333333333"
GROUP = "44444444-4444-4444-8444-444444444444"
OTHER = "55555555-5555-4555-8555-555555555555"

# Line numbers matter: the expected messages name them.
BASE = """version: 1
offerings:
  - uuid: 11111111-1111-4111-8111-111111111111
    name: Rancher production
    slug: rancher-prod
    keycloak:
      realm: hpc
    roles:
      - {uuid: 22222222-2222-4222-8222-222222222222, name: cluster-admin, scope_type: cluster}
    resources:
      - {uuid: 33333333-3333-4333-8333-333333333333, name: cluster-a}
groups:
  - uuid: 44444444-4444-4444-8444-444444444444
    name: g1
    backend_id: ""
    offering: 11111111-1111-4111-8111-111111111111
    role: 22222222-2222-4222-8222-222222222222
    resource: 33333333-3333-4333-8333-333333333333
    scope_id: ""
    created: "2026-01-01T00:00:00Z"
    modified: "2026-01-01T00:00:00Z"
    members:
      - {username: alice, state: active}
"""

SECOND_GROUP = """  - uuid: 66666666-6666-4666-8666-666666666666
    name: g2
    backend_id: ""
    offering: 11111111-1111-4111-8111-111111111111
    role: 22222222-2222-4222-8222-222222222222
    resource: null
    scope_id: "x"
"""


def edit(old, new, count=1):
    assert BASE.count(old) >= 1, old
    return BASE.replace(old, new, count)


def line(n, text):
    lines = BASE.splitlines(True)
    lines[n - 1] = text
    return "".join(lines)


def as_json(document_text, transform=None):
    import yaml

    document = yaml.safe_load(document_text)
    if transform:
        transform(document)
    return json.dumps(document, indent=2)


JSON_DUPLICATE = as_json(BASE).replace('"name": "g1",', '"name": "g1",\n      "name": "g2",')

# (id, store text or bytes, file suffix, expected fragments of the message)
STORES = [
    ("broken-yaml-flow", edit("name: cluster-a}", "name: cluster-a"), ".yml", ["not valid YAML", "line 12"]),
    ("broken-yaml-tab", line(14, "\tname: g1\n"), ".yml", ["not valid YAML", "line 14"]),
    ("broken-yaml-indent", line(15, "      backend_id: ''\n"), ".yml", ["not valid YAML", "line 15"]),
    ("empty-file", "", ".yml", ["is empty"]),
    ("only-comments", "# nothing\n", ".yml", ["is empty"]),
    ("top-level-list", "- version: 1\n", ".yml", ["top level", "must be a mapping, not a list"]),
    ("top-level-scalar", "hello\n", ".yml", ["must be a mapping, not a string"]),
    ("no-version", BASE.replace("version: 1\n", ""), ".yml", ["version must be 1, not None"]),
    ("version-2", edit("version: 1", "version: 2"), ".yml", ["line 1", "version must be 1, not 2"]),
    ("version-string", edit("version: 1", "version: '1'"), ".yml", ["version must be 1, not '1'"]),
    ("unknown-top-key", BASE + "extra: 1\n", ".yml", ["line 24", "unknown key 'extra'"]),
    ("unknown-group-key", line(14, "    colour: red\n    name: g1\n"), ".yml",
     ["line 14", "groups[0].colour", "unknown key 'colour'"]),
    ("secret-in-store", edit("      realm: hpc\n", "      realm: hpc\n      password: hunter2\n"), ".yml",
     ["line 8", "offerings[0].keycloak.password", "secrets never belong in the store"]),
    ("bad-offering-uuid", edit("  - uuid: 11111111-1111-4111-8111-111111111111", "  - uuid: 1111-nope"), ".yml",
     ["line 3", "offerings[0].uuid", "'1111-nope' is not a valid UUID"]),
    ("bad-group-uuid", line(13, "  - uuid: 44444444-4444-4444-8444-44444444444Z\n"), ".yml",
     ["line 13", "groups[0].uuid", "is not a valid UUID"]),
    ("uuid-is-number", line(13, "  - uuid: 12345\n"), ".yml", ["line 13", "groups[0].uuid", "12345 is not a valid UUID"]),
    ("uuid-is-unicode", line(13, "  - uuid: \u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9-\u2603\n"), ".yml",
     ["line 13", "groups[0].uuid", "is not a valid UUID"]),
    ("duplicate-yaml-key", line(14, "    name: g1\n    name: g1-again\n"), ".yml", ["line 15", "duplicate key 'name'"]),
    ("duplicate-group-uuid", BASE + SECOND_GROUP.replace("66666666-6666-4666-8666-666666666666", GROUP), ".yml",
     ["line 24", "groups[1].uuid", "declared twice"]),
    ("duplicate-natural-key", BASE + SECOND_GROUP.replace("resource: null", "resource: " + RESOURCE)
     .replace('scope_id: "x"', 'scope_id: ""'), ".yml",
     ["line 24", "groups[0] and groups[1] have the same offering, role, resource and scope_id"]),
    ("dangling-offering", line(16, "    offering: %s\n" % OTHER), ".yml",
     ["line 16", "groups[0].offering", "offering %s is not declared" % OTHER]),
    ("dangling-role", line(17, "    role: %s\n" % OTHER), ".yml",
     ["line 17", "groups[0].role", "role %s is not declared by any offering" % OTHER]),
    ("dangling-resource", line(18, "    resource: %s\n" % OTHER), ".yml",
     ["line 18", "groups[0].resource", "resource %s is not declared by offering" % OTHER]),
    ("role-of-another-offering", BASE.replace("groups:\n", """  - uuid: %s
    name: Other
    roles: [{uuid: 77777777-7777-4777-8777-777777777777, name: r}]
groups:
""" % OTHER).replace("    role: " + ROLE, "    role: 77777777-7777-4777-8777-777777777777"), ".yml",
     ["line 20", "groups[0].role", "is not declared by offering 'Rancher production'"]),
    ("name-is-list", line(14, "    name: [a, b]\n"), ".yml", ["line 14", "groups[0].name", "must be a string, not a list"]),
    ("name-is-number", line(14, "    name: 42\n"), ".yml", ["line 14", "groups[0].name", "must be a string, not a number"]),
    ("name-huge", line(14, "    name: %s\n" % ("x" * 20000)), ".yml",
     ["line 14", "groups[0].name", "20000 characters long; at most 150"]),
    ("name-huge-unicode", line(14, "    name: %s\n" % ("\u00e9\u2603" * 200)), ".yml",
     ["line 14", "groups[0].name", "400 characters long; at most 150"]),
    ("name-empty", line(14, "    name: ''\n"), ".yml", ["line 14", "groups[0].name", "must not be empty"]),
    ("name-with-slash", line(14, "    name: a/b\n"), ".yml", ["line 14", "groups[0].name", "must not contain '/'"]),
    ("members-not-a-list", line(22, "    members: alice\n").replace("      - {username: alice, state: active}\n", ""),
     ".yml", ["line 22", "groups[0].members", "must be a list, not a string"]),
    ("member-without-username", line(23, "      - {state: active}\n"), ".yml",
     ["line 23", "groups[0].members[0].username", "'username' is required"]),
    ("member-bad-state", line(23, "      - {username: alice, state: banned}\n"), ".yml",
     ["line 23", "groups[0].members[0].state", "state must be one of pending, active, not 'banned'"]),
    ("member-twice", BASE + "      - {username: ALICE}\n", ".yml",
     ["line 24", "groups[0].members[1].username", "member 'ALICE' is listed twice"]),
    ("created-not-a-date", line(20, "    created: yesterday\n"), ".yml",
     ["line 20", "groups[0].created", "'yesterday' is not an ISO 8601 date-time"]),
    ("slug-with-slash", edit("slug: rancher-prod", "slug: ../../etc"), ".yml",
     ["line 5", "offerings[0].slug", "must not contain '/'"]),
    ("offerings-not-list", "version: 1\nofferings: {a: 1}\n", ".yml", ["line 2", "offerings", "must be a list"]),
    ("group-is-scalar", "version: 1\ngroups:\n  - just a string\n", ".yml",
     ["line 3", "groups[0]", "a group must be a mapping, not a string"]),
    ("offering-name-twice", BASE.replace("groups:\n", """  - uuid: %s
    name: Rancher production
groups:
""" % OTHER), ".yml", ["line 13", "offerings[1].name", "offering name 'Rancher production' is used twice"]),
    ("linked-twice", BASE.replace('backend_id: ""', 'backend_id: "k-1"') + SECOND_GROUP.replace(
        'backend_id: ""', 'backend_id: "k-1"'), ".yml", ["line 26", "groups[1].backend_id", "already linked"]),
    ("not-utf8", BASE.replace("name: g1", "name: g\u00e9").encode("latin-1"), ".yml", ["is not UTF-8 text"]),
    ("python-tag", BASE + "extra: !!python/object/apply:os.system ['touch /tmp/wk-pwned']\n", ".yml",
     ["line 24", "not valid YAML"]),
    ("yaml-alias-bomb", "version: 1\n" + "".join(
        "l%d: &l%d [%s]\n" % (i, i, ", ".join(["*l%d" % (i - 1)] * 9) if i else "lol")
        for i in range(9)), ".yml", ["line 2", "unknown key 'l0'"]),
    # libyaml refuses a plain key longer than 1024 characters; JSON has no such limit.
    ("huge-unknown-key", BASE + "%s: 1\n" % ("k" * 50000), ".yml", ["line 24", "not valid YAML"]),
    ("huge-unknown-key-json", as_json(BASE, lambda d: d.update({"k" * 50000: 1})), ".json",
     ["unknown key 'kkkk", "(50000 characters)"]),
    ("huge-bad-uuid", line(13, "  - uuid: %s\n" % ("z" * 50000)), ".yml",
     ["line 13", "groups[0].uuid", "(50002 characters) is not a valid UUID"]),
    ("json-broken", as_json(BASE)[:-3], ".json", ["not valid JSON", "line"]),
    ("json-duplicate-key", JSON_DUPLICATE, ".json", ["line %d" % (JSON_DUPLICATE.index('"name": "g2"') and
                                                                  JSON_DUPLICATE[:JSON_DUPLICATE.index('"name": "g2"')]
                                                                  .count("\n") + 1), "duplicate key 'name'"]),
    ("json-wrong-type", as_json(BASE, lambda d: d["groups"][0].update(scope_id=7)), ".json",
     ["line 34", "groups[0].scope_id", "must be a string, not a number"]),
    ("wrong-extension", BASE, ".txt", ["must end in .yml, .yaml or .json"]),
    ("yaml-in-json-file", BASE, ".json", ["not valid JSON"]),
]

# Bad module arguments, on a valid store: (id, module, args, expected fragments).
ARGUMENTS = [
    ("unknown-option", "keycloak_offering_group_info", {"colour": "red"}, ["Unsupported parameters", "colour"]),
    ("page-not-int", "keycloak_offering_group_info", {"page": "abc"}, ["page", "int"]),
    ("page-size-list", "keycloak_offering_group_info", {"page_size": [1, 2]}, ["page_size", "int"]),
    ("parallelism-not-int", "keycloak_offering_sync", {"parallelism": "many"}, ["parallelism", "int"]),
    ("members-mapping", "keycloak_offering_group", {"offering": OFFERING, "role": ROLE, "members": {"a": 1}},
     ["members", "list"]),
    ("validate-certs-maybe", "keycloak_offering_sync", {"validate_certs": "maybe"}, ["validate_certs", "bool"]),
    ("timeout-not-int", "keycloak_offering_sync", {"connection_timeout": "soon"}, ["connection_timeout", "int"]),
    ("members-mode-bad", "keycloak_offering_group", {"offering": OFFERING, "role": ROLE, "members_mode": "some"},
     ["members_mode", "one of"]),
    ("state-bad", "keycloak_offering_group", {"offering": OFFERING, "role": ROLE, "state": "gone"}, ["state", "one of"]),
    ("bad-uuid", "keycloak_offering_group", {"uuid": "not-a-uuid"}, ["uuid: Must be a valid UUID", "not-a-uuid"]),
    ("unknown-offering", "keycloak_offering_group", {"offering": "No such offering", "role": ROLE},
     ["offering_uuid: Offering not found.", "No such offering"]),
    ("unknown-role", "keycloak_offering_group", {"offering": OFFERING, "role": "nope", "create_remote": False},
     ["role_uuid: Role not found.", "nope"]),
    ("unknown-resource", "keycloak_offering_group", {"offering": OFFERING, "role": ROLE, "resource": "nope",
                                                     "create_remote": False},
     ["resource_uuid: Resource not found for this offering.", "nope"]),
    ("name-with-slash", "keycloak_offering_group", {"offering": OFFERING, "role": ROLE, "scope_id": "s",
                                                    "name": "../../a/b", "create_remote": False},
     ["name: '../../a/b' is not a valid group name."]),
    ("name-huge", "keycloak_offering_group", {"offering": OFFERING, "role": ROLE, "scope_id": "s",
                                              "name": "\u00e9" * 5000, "create_remote": False},
     ["is not a valid group name", "(5000 characters)", "1 to 150 characters"]),
    ("import-without-group", "keycloak_group_import", {"offering": OFFERING, "role": ROLE},
     ["remote_group_id: This field is required."]),
    ("search-empty", "keycloak_remote_user_info", {"offering": OFFERING, "q": "  "}, ["q: This field is required."]),
    ("members-empty-username", "keycloak_offering_group",
     {"offering": OFFERING, "role": ROLE, "members": [" "], "create_remote": False},
     ["members: a username must not be empty."]),
    ("group-info-unicode-uuid", "keycloak_offering_group_info", {"uuid": "\u00fc\u00f1\u00ee"}, ["Not found."]),
    ("remote-group-info-no-keycloak", "keycloak_remote_group_info", {"offering": "Plain"},
     ["Keycloak integration is not enabled for this offering."]),
]


def _prepare(workdir):
    """Write every case's store; return the tasks and what each one expects."""
    cases = []
    for case_id, content, suffix, expected in STORES:
        path = os.path.join(workdir, "store-%s%s" % (case_id, suffix))
        with open(path, "wb") as stream:
            stream.write(content if isinstance(content, bytes) else content.encode("utf-8"))
        args = {"store": path, "offering": OFFERING, "role": ROLE, "scope_id": "new", "create_remote": False}
        cases.append(("store:" + case_id, "keycloak_offering_group", args, expected, path))
    valid = os.path.join(workdir, "valid.yml")
    with open(valid, "w") as stream:
        stream.write(BASE.replace("groups:\n", "  - uuid: %s\n    name: Plain\ngroups:\n" % OTHER))
    for case_id, module, args, expected in ARGUMENTS:
        cases.append(("args:" + case_id, module, dict(args, store=valid), expected, valid))
    # Store paths.
    directory = os.path.join(workdir, "a-directory.yml")
    os.mkdir(directory)
    link = os.path.join(workdir, "passwd-link.yml")
    os.symlink("/etc/passwd", link)
    fifo = os.path.join(workdir, "a-fifo.yml")
    os.mkfifo(fifo)
    for case_id, path, expected in [
        ("traversal-relative", "../../../../../../etc/passwd", ["must end in .yml, .yaml or .json"]),
        ("traversal-absolute", "/etc/passwd", ["must end in .yml, .yaml or .json"]),
        ("traversal-missing", "../../../../../../etc/passwd.yml", ["does not exist"]),
        ("directory", directory, ["is a directory, not a file"]),
        ("symlink-to-passwd", link, ["must be a mapping"]),
        ("fifo", fifo, ["not a regular file"]),
        ("dev-null", "/dev/null", ["must end in .yml"]),
        ("empty-path", "", ["no store given"]),
    ]:
        args = {"store": path, "offering": OFFERING, "role": ROLE, "scope_id": "new", "create_remote": False}
        cases.append(("path:" + case_id, "keycloak_offering_group", args, expected, path))
    return cases


def _snapshot(path):
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISDIR(mode):
        return ("dir", sorted(os.listdir(path)))
    if not stat.S_ISREG(mode) and not stat.S_ISLNK(mode):
        return ("special", mode)
    with open(path, "rb") as stream:
        return ("file", stream.read())


def clean_problems(result, expected=(), before=None, after=None):
    """Why ``result`` is not a clean error (an empty list when it is)."""
    problems = []
    msg = result.get("msg") or ""
    if not result.get("failed"):
        return ["did not fail: %r" % dict((k, v) for k, v in result.items() if k in ("changed", "plan", "group"))]
    if "\n" in msg or "\r" in msg:
        problems.append("message spans lines")
    if "Traceback" in msg or msg.startswith("unexpected error") or "task timed out" in msg.lower():
        problems.append("not a clean error")
    if result.get("exception") not in (None, "(traceback unavailable)"):
        problems.append("traceback in the result")
    if len(msg) > 2000:
        problems.append("message is %d characters long" % len(msg))
    for fragment in expected:
        if fragment not in msg:
            problems.append("no %r" % fragment)
    if before != after:
        problems.append("the store changed")
    return problems


def run_batched(tasks, extra_args=(), workdir=None, processes=2):
    """Run ``tasks`` in ``processes`` ansible-playbook runs at once (the machine has two cores);
    return every result, in order, and whether any output held a traceback."""
    size = -(-len(tasks) // processes)
    chunks = [tasks[i:i + size] for i in range(0, len(tasks), size)]

    def run(index):
        chunk_dir = None
        if workdir:
            chunk_dir = os.path.join(workdir, "run-%d" % index)
            os.makedirs(chunk_dir)
        return playbook.run_tasks(chunks[index], extra_args=extra_args, workdir=chunk_dir)

    with ThreadPoolExecutor(max_workers=processes) as pool:
        runs = list(pool.map(run, range(len(chunks))))
    results = [r for run in runs for r in run.results]
    traceback = any("Traceback (most recent call last)" in run.stdout + run.stderr for run in runs)
    return results, traceback


@pytest.fixture(scope="module")
def table_results():
    workdir = tempfile.mkdtemp(prefix="wk-hostile-")
    os.chmod(workdir, 0o755)
    run_dir = os.path.join(workdir, "a", "b", "c")
    os.makedirs(run_dir)
    try:
        cases = _prepare(workdir)
        before = [_snapshot(case[4]) if case[4] else None for case in cases]
        tasks = [dict({helpers.fqcn(module): args}, timeout=20) for _id, module, args, _exp, _path in cases]
        results, traceback = run_batched(tasks, ["-vvv"], run_dir)
        after = [_snapshot(case[4]) if case[4] else None for case in cases]
        yield dict((case[0], (case, result, before[i], after[i])) for i, (case, result)
                   in enumerate(zip(cases, results))), traceback, os.path.exists("/tmp/wk-pwned")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


ALL_IDS = (["store:" + c[0] for c in STORES] + ["args:" + c[0] for c in ARGUMENTS]
           + ["path:" + c for c in ("traversal-relative", "traversal-absolute", "traversal-missing", "directory",
                                    "symlink-to-passwd", "fifo", "dev-null", "empty-path")])


@pytest.mark.parametrize("case_id", ALL_IDS)
def test_hostile_case(table_results, case_id):
    results, _traceback, _pwned = table_results
    (_id, _module, _args, expected, _path), result, before, after = results[case_id]
    problems = clean_problems(result, expected, before, after)
    assert not problems, "%s: %s; msg: %r" % (case_id, "; ".join(problems), (result.get("msg") or "")[:500])


def test_hostile_table_figure(table_results, figure):
    results, traceback, pwned = table_results
    unclean = sorted(case_id for case_id, (case, result, before, after) in results.items()
                     if clean_problems(result, case[3], before, after))
    figure("hostile input: table of bad stores, arguments and paths (ansible-playbook -vvv)",
           inputs_tried=len(results), clean_errors=len(results) - len(unclean), unclean=unclean,
           traceback_in_output=traceback, code_executed_from_yaml=pwned)
    assert len(results) >= 40
    assert not traceback and not pwned
    assert not unclean, unclean


# ------------------------------------------------------------ unreadable store

def test_unreadable_store(tmp_path, figure):
    """An unreadable store (mode 000). Root reads any file through its DAC capabilities, so when the tests
    run as root the playbook runs without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv), as root
    then obeys permission bits like any other user."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and not setpriv:
        pytest.skip("running as root without setpriv: chmod 000 cannot make a file unreadable")
    store = str(tmp_path / "store.yml")
    with open(store, "w") as stream:
        stream.write(BASE)
    os.chmod(store, 0)
    env = None
    if os.geteuid() == 0:
        bindir = str(tmp_path / "bin")
        os.mkdir(bindir)
        wrapper = os.path.join(bindir, "ansible-playbook")
        with open(wrapper, "w") as stream:
            stream.write("#!/bin/sh\nexec %s --bounding-set=-dac_override,-dac_read_search -- %s \"$@\"\n"
                         % (setpriv, shutil.which("ansible-playbook")))
        os.chmod(wrapper, 0o755)
        env = {"PATH": bindir + os.pathsep + os.environ["PATH"]}
    try:
        create = {"store": store, "offering": OFFERING, "role": ROLE, "scope_id": "new", "create_remote": False}
        tasks = [{helpers.fqcn("keycloak_offering_group"): create},
                 {helpers.fqcn("keycloak_offering_group_info"): {"store": store}},
                 {helpers.fqcn("keycloak_offering_sync"): {"store": store}, "check_mode": True}]
        run = playbook.run_tasks(tasks, env=env)
    finally:
        os.chmod(store, 0o600)
    problems = [clean_problems(r, ["store %s" % store, "Permission denied"]) for r in run.results]
    figure("hostile input: unreadable store (mode 000%s)" % (", root without DAC capabilities" if env else ""),
           inputs_tried=len(run.results), clean_errors=sum(1 for p in problems if not p),
           messages=sorted(set(r.get("msg") for r in run.results)))
    assert not any(problems), (problems, [r.get("msg") for r in run.results])
    assert "Traceback" not in run.stdout + run.stderr


# ----------------------------------------------------------- generated stores

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(["", "/", "../..", OFFERING, ROLE, "a/b", "\u2603", "x" * 200, "2026-01-01T00:00:00Z"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key in value:
            yield from _paths(value[key], prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


@st.composite
def mutated_stores(draw):
    """The valid base store with a few random edits: a value replaced by junk, a key dropped or added,
    or the text itself cut or spliced. Returns (text, suffix)."""
    import yaml

    document = yaml.safe_load(BASE)
    suffix = draw(st.sampled_from([".yml", ".json"]))
    for _edit in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(document) if p]
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JUNK)
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(JUNK)
        else:
            parent.append(draw(JUNK))
    if suffix == ".json":
        text = json.dumps(document, indent=2, default=str)
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=draw(st.booleans()))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=6)) + text[cut + draw(st.integers(0, 5)):]
    return text, suffix


@pytest.mark.parametrize("count", [12, pytest.param(100, marks=pytest.mark.stress)])
def test_generated_stores(tmp_path, figure, count):
    examples = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated_stores())
    def collect(example):
        examples.append(example)

    collect()
    tasks, paths = [], []
    for index, (text, suffix) in enumerate(examples):
        path = str(tmp_path / ("gen-%03d%s" % (index, suffix)))
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as stream:
            stream.write(text)
        paths.append(path)
        tasks.append({helpers.fqcn("keycloak_offering_group"): {
            "store": path, "offering": OFFERING, "role": ROLE, "scope_id": "generated", "create_remote": False}})
    before = [_snapshot(p) for p in paths]
    results, traceback = run_batched(tasks)
    assert not traceback
    errors = unclean = accepted = 0
    bad = []
    # "store <path>" then where: "is ...", ": ..." (the whole file), a line, or a place in the document.
    located = re.compile(r"^(store \S+( is |: |, line \d+|, [^\n]+?: ))|"
                         r"^(the change was not saved|offering_uuid: |role_uuid: |name: )")
    for index, result in enumerate(results):
        if not result.get("failed"):
            accepted += 1
            # A store the module accepted must still be valid after its write.
            from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store

            Store(paths[index]).load()
            continue
        errors += 1
        problems = clean_problems(result, (), before[index], _snapshot(paths[index]))
        if not located.search(result.get("msg") or ""):
            problems.append("the message does not say where")
        if problems:
            unclean += 1
            bad.append((os.path.basename(paths[index]), problems, (result.get("msg") or "")[:300]))
    figure("hostile input: %d hypothesis-generated stores (derandomized)" % count, inputs_tried=len(results),
           errors=errors, clean_errors=errors - unclean, accepted_and_still_valid=accepted)
    assert len(results) >= count * 3 // 4
    assert unclean == 0, "\n".join("%s: %s: %s" % entry for entry in bad[:5])


# ------------------------------------------------------------- YAML aliases

def test_write_through_yaml_alias_changes_only_that_record(tmp_path, keycloak_url, figure):
    """A hand-written store may share one member list between two groups with a YAML anchor and alias.
    Adding a member to one group must not add it to the other (which a later sync would then grant in
    Keycloak): the write either leaves the other record as it was or is refused with a clean error."""
    store = str(tmp_path / "alias.yml")
    text = BASE.replace("    members:\n      - {username: alice, state: active}\n",
                        "    members: &shared\n      - {username: alice, state: active}\n") + SECOND_GROUP + \
        "    members: *shared\n"
    with open(store, "w") as stream:
        stream.write(text)
    result = playbook.run_tasks([{helpers.fqcn("keycloak_offering_group"): {
        "store": store, "uuid": GROUP, "members": ["carol"], "create_remote": False}}],
        env={"KEYCLOAK_URL": keycloak_url}).result
    groups = dict((g["name"], [m["username"] for m in g.get("members") or []]) for g in helpers.load_store(store)["groups"])
    refused_cleanly = bool(result.get("failed")) and not clean_problems(result, (), text.encode(), _snapshot(store)[1])
    other_unchanged = groups.get("g2") == ["alice"]
    figure("hostile input: a member added to a group whose member list is a YAML alias", written=not result.get("failed"),
           other_record_unchanged=other_unchanged, refused_cleanly=refused_cleanly, members_after=groups)
    assert other_unchanged or refused_cleanly, "adding carol to g1 also added her to g2: %r" % groups


# ------------------------------------------------- ids are path segments, never paths

# Ids that a URL would read as a path: /groups/.. is the realm itself, /groups/ the collection.
PATH_IDS = ["..", ".", "../..", "a/b", "/", "../../master"]


def test_ids_that_are_paths_are_refused_against_the_real_keycloak(admin, realm, offering_store, figure):
    """Every id argument (and a store's own backend_id and realm) that is not one path segment is refused in one
    line naming it; the realm, every group and membership in it, and the store's bytes are left as they were."""
    linked = helpers.create_path(admin, realm, "/rancher-prod/linked")
    alice = admin.create_user(realm, "alice")
    admin.join(realm, alice, linked)
    path, ids = offering_store()
    records = {
        "linked": helpers.group_record(ids, "linked", backend_id=linked, members=[helpers.member("alice")]),
        "unlinked": helpers.group_record(ids, "unlinked", role="role_member", resource="resource_b"),
        # Written by hand: a link that is a path.
        "dotdot": helpers.group_record(ids, "dotdot", role="role_member", resource="resource_a", backend_id=".."),
    }
    helpers.write_groups(path, list(records.values()))
    bad_realm_store = path.replace("store.yml", "bad-realm.yml")
    document = helpers.load_store(path)
    document["offerings"][0]["keycloak"]["realm"] = ".."
    document["groups"] = [records["linked"]]
    helpers.write_store(bad_realm_store, document)
    offering = ids["offering"]
    cases = []
    for bad in PATH_IDS:
        cases += [
            ("keycloak_offering_group", {"uuid": records["unlinked"]["uuid"], "backend_id": bad},
             ["backend_id: '%s' is not a valid Keycloak group id." % bad]),
            ("keycloak_group_import", {"offering": offering, "role": ids["role_member"], "resource": ids["resource_b"],
                                       "scope_id": "imported", "remote_group_id": bad},
             ["remote_group_id: '%s' is not a valid Keycloak group id." % bad]),
            ("keycloak_remote_group_info", {"offering": offering, "group_id": bad},
             ["group_id: '%s' is not a valid Keycloak group id." % bad]),
        ]
    for bad in ["/..", "/rancher-prod/..", "/./rancher-prod", "/rancher-prod/linked/../.."]:
        cases.append(("keycloak_group_import", {"offering": offering, "role": ids["role_member"],
                                                "resource": ids["resource_b"], "remote_group_path": bad},
                      ["remote_group_path: '%s' is not a valid Keycloak group path." % bad]))
    cases += [
        # The store's own '..' link: never a DELETE of /groups/.., never dropped from the store.
        ("keycloak_offering_group", {"uuid": records["dotdot"]["uuid"], "state": "absent"},
         ["Unable to delete the remote Keycloak group.", "'..' is not a valid Keycloak group id",
          "The local record is kept"]),
        ("keycloak_offering_sync", {"offering": offering, "prune": True, "members_mode": "exact"},
         ["'..' is not a valid Keycloak group id"]),
        ("keycloak_offering_sync", {"store": bad_realm_store}, ["'..' is not a valid Keycloak realm name"]),
        ("keycloak_offering_group", {"store": bad_realm_store, "uuid": records["linked"]["uuid"], "state": "absent"},
         ["'..' is not a valid Keycloak realm name", "The local record is kept"]),
        ("keycloak_connection_test", {"realm": ".."}, ["'..' is not a valid Keycloak realm name"]),
        ("keycloak_connection_test", {"realm": ""}, ["'' is not a valid Keycloak realm name"]),
    ]
    stores = [args.get("store", path) for _module, args, _expected in cases]
    before_store = dict((p, _snapshot(p)) for p in set(stores))
    before_realm = helpers.kc_snapshot(admin, realm)
    tasks = [dict({helpers.fqcn(module): dict(args, store=args.get("store", path))}, timeout=60)
             for module, args, _expected in cases]
    results, traceback = run_batched(tasks)
    unclean = []
    for (module, args, expected), result, store in zip(cases, results, stores):
        problems = clean_problems(result, expected, before_store[store], _snapshot(store))
        if problems:
            unclean.append("%s %r: %s; msg: %r" % (module, args, "; ".join(problems), (result.get("msg") or "")[:300]))
    realm_untouched = helpers.kc_snapshot(admin, realm) == before_realm
    # Other tests create and delete realms on the same server: only these two are ours to check.
    realms_after = set(r["realm"] for r in admin.get("/realms"))
    realms_kept = realm in realms_after and "master" in realms_after
    figure("hostile input: ids that are paths ('..', '.', '/', '') against the real Keycloak", inputs_tried=len(cases),
           clean_errors=len(cases) - len(unclean), realm_untouched=realm_untouched,
           realms_kept=realms_kept)
    assert not traceback
    assert not unclean, "\n".join(unclean)
    assert realms_kept
    assert realm_untouched
    assert admin.member_names(realm, linked) == ["alice"]


# ------------------------------------------- hostile text: data through every output, never a template

# Each would create a MARK* file in the run's directory if any output rendered it as a template.
JINJA = ["{{ lookup('pipe', 'touch MARK-expr') }}",
         "{% set x = lookup('pipe', 'touch MARK-stmt') %}set{{ x }}",
         "{# c #}{% raw %}{{ lookup('pipe', 'touch MARK-raw') }}{% endraw %}{{ lookup('pipe', 'touch MARK-after') }}"]
# Text that every output must carry as text: quotes, line breaks, XML, Markdown and HTML, terminal escapes,
# the right-to-left override, YAML-meaningful text, NEL, LS and PS, and a very long name (no '/': a group name).
HOSTILE_TEXT = JINJA + [
    "quote ' double \" back \\ slash",
    "line\nbreak\r\ncr",
    "xml <tag> & ]]> <![CDATA[ x",
    "md | pipe | `tick` <script>alert(1)<script> [link](javascript:alert(1)) *em*",
    "\x1b[31mred\x07bell\x1b]0;title\x07",
    "rtl \u202eevil.exe",
    "yaml: value # comment *alias &anchor !!binary !!omap",
    "nel\x85 ls\u2028 ps\u2029 end",
    "CDATA " + "L" * 140,   # a store group name holds at most 150 characters
]
# Characters that no console line may carry raw: ESC, BEL, NUL, CR... (Ansible's own display of a result,
# JSON, escapes them; a task name, a loop label or a diff is shown as it is).
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")
LINE_BREAKS = re.compile("[\r\x85\u2028\u2029]")
NEL_EMAIL = '"nel\u0085x"@example.org'


def _markers(root):
    return sorted(os.path.join(d, name) for d, _dirs, files in os.walk(str(root)) for name in files
                  if name.startswith("MARK"))


def _one_line(text):
    """What the reports and messages show of a name: control characters and the like as spaces."""
    return re.sub("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+", " ", text)


def _tables(markdown):
    """Each Markdown table as the cell borders of its rows (an escaped \\| is text, not a border)."""
    tables, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            current.append(len(re.findall(r"(?<!\\)\|", line)))
        elif current:
            tables.append(current)
            current = []
    return tables


def test_hostile_text_is_data_through_every_output(admin, realm, offering_store, keycloak_url, tmp_path, figure):
    """Hostile text from every entry point (the store's offering and group names, scope ids and member
    usernames; groups made or renamed by hand in Keycloak; a user's own email with NEL and a last name with
    the right-to-left override) through every output: a check-mode sync with --diff, results registered
    and used by later tasks, the apply, pull_members, an import, a one-line error, the drift report's three
    files. No template is rendered (no MARK file), Keycloak and the store (read independently) hold the
    text exactly, the console shows no raw control character, JUnit parses, Markdown keeps its columns."""
    from test_drift_report import run_report

    path, ids = offering_store()
    root = helpers.create_path(admin, realm, "/rancher-prod")
    linked = admin.create_group(realm, "team", parent_id=root)
    renamed = admin.create_group(realm, "renamed-by-hand", parent_id=root)
    handmade = ["hand " + text for text in HOSTILE_TEXT[:5]]
    for name in handmade:
        admin.create_group(realm, name, parent_id=root)
    to_import = admin.create_group(realm, "import nel\x85 " + JINJA[0], parent_id=root)
    nel_user = admin.create_user(realm, "nel-user", email=NEL_EMAIL, last_name="rtl\u202eevil")
    jinja_user = admin.create_user(realm, "jinja-user", email='"{{lookup(\'pipe\',\'touch MARK-mail\')}}"@example.org')
    for user in (nel_user, jinja_user):
        admin.join(realm, user, linked)
    records = [helpers.group_record(ids, "team", backend_id=linked, scope_id="team"),
               helpers.group_record(ids, "renamed", backend_id=renamed, scope_id="renamed",
                                    members=[helpers.member(JINJA[0], "pending"),
                                             helpers.member("CDATA-Pending", "pending")])]
    for index, text in enumerate(HOSTILE_TEXT):
        records.append(helpers.group_record(ids, text, role="role_member", scope_id="%d %s" % (index, text),
                                            members=[helpers.member("%s-%d" % (JINJA[index % 3], index), "pending")]))
    document = helpers.load_store(path)
    # Not a group name: it may hold '/' too.
    document["offerings"][0]["name"] = "Offering </testcase></script> !!python/object:os.system " + HOSTILE_TEXT[4] + HOSTILE_TEXT[0]
    document["groups"] = records
    helpers.write_store(path, document)
    admin.rename_group(realm, renamed, "x\ny\x1b[31m" + JINJA[1])
    env = {"KEYCLOAK_URL": keycloak_url}
    offering = ids["offering"]
    for directory in ("check", "apply"):
        (tmp_path / directory).mkdir()

    # 1. Check mode with --diff; the results are registered and used by later tasks.
    check = playbook.run_tasks([
        {helpers.fqcn("keycloak_offering_sync"): {"store": path, "offering": offering}},
        {"ansible.builtin.set_fact": {"seen": "{{ result_0.plan | map(attribute='target') | list }}",
                                      "diffs": "{{ result_0.diff | map(attribute='before_header') | list }}"}},
        {"ansible.builtin.debug": {"msg": "{{ seen + diffs + [result_0.offerings[0].offering] }}"}},
        {helpers.fqcn("keycloak_group_sync_info"): {"store": path, "offering": offering, "members": True}},
        {"ansible.builtin.debug": {"msg": "{{ result_3.remote_only | join(', ') }}"}},
    ], check=True, diff=True, env=env, workdir=str(tmp_path / "check"))
    sync = check.results[0]
    assert not sync.get("failed"), sync.get("msg")
    headers = [d[key] for d in sync["diff"] for key in ("before_header", "after_header")]
    shown = check.stdout
    # 2. The apply, pull_members (the NEL email), an import (a NEL name), an error naming a hostile path.
    importing = {"store": path, "offering": offering, "role": ids["role_admin"], "resource": ids["resource_b"]}
    apply = playbook.run_tasks([
        {helpers.fqcn("keycloak_offering_sync"): {"store": path, "offering": offering}},
        {helpers.fqcn("keycloak_offering_group"): {"store": path, "uuid": records[0]["uuid"], "pull_members": True}},
        {helpers.fqcn("keycloak_group_import"): dict(importing, scope_id="imported", remote_group_id=to_import)},
        {helpers.fqcn("keycloak_group_import"): dict(importing, scope_id="missing",
                                                     remote_group_path="/rancher-prod/x\ny\x1b[31m\x85-missing")},
        {"ansible.builtin.debug": {"msg": "{{ result_0.plan | map(attribute='target') | list }}"}},
    ], env=env, workdir=str(tmp_path / "apply"))
    shown += apply.stdout
    for result in apply.results[:3]:
        assert not result.get("failed"), result.get("msg")
    error = apply.results[3]
    # 3. The drift report on the result (hand-made groups stay: remote only; members pending).
    report = run_report(tmp_path, path, "drift_report_fail_on_drift=false", env=env)
    shown += report.stdout

    markers = _markers(tmp_path)
    store = helpers.load_store(path)      # PyYAML's own loader, not the store's
    by_scope = dict((g.get("scope_id"), g) for g in store["groups"])
    names_in_keycloak = sorted(g["name"] for g in admin.children(realm, root))
    store_texts_kept = all(by_scope["%d %s" % (i, t)]["name"] == t for i, t in enumerate(HOSTILE_TEXT))
    created_exactly = all(t in names_in_keycloak for t in HOSTILE_TEXT)
    emails = dict((m["username"], m.get("email")) for m in by_scope["team"].get("members") or [])
    imported = by_scope.get("imported", {}).get("name")
    junit = report.junit   # parses
    offering_name = document["offerings"][0]["name"]
    report_json = report.json
    tables = _tables(report.markdown)
    raw_controls = sorted(set(RAW_CONTROL.findall(shown)))
    figure("hostile text: store, Keycloak and a user's profile through every output", strings=len(HOSTILE_TEXT),
           markers=markers, store_round_trip=store_texts_kept, keycloak_exact=created_exactly,
           raw_controls_on_console=[hex(ord(c)) for c in raw_controls], error=error.get("msg"))
    assert not markers, "a template was rendered: %s" % markers
    assert store_texts_kept and created_exactly
    assert emails == {"nel-user": NEL_EMAIL, "jinja-user": admin.get(
        "/realms/%s/users/%s" % (realm, jinja_user))["email"]}, emails
    assert imported == "import nel\x85 " + JINJA[0]
    assert admin.group(realm, renamed)["name"] == "renamed"
    # The diff's headers are one line each; messages too; nothing raw reaches the console.
    assert all(h.isprintable() for h in headers), headers
    assert not any(LINE_BREAKS.search(d["before"] + d["after"]) for d in sync["diff"])
    assert error.get("failed") and "\n" not in error["msg"] and not RAW_CONTROL.search(error["msg"])
    assert not raw_controls, "raw control characters on the console: %r" % raw_controls
    # The reports: JSON round-trips, JUnit carries the text (one line), Markdown tables keep their columns.
    [entry] = [o for o in report_json["offerings"] if o["uuid"] == offering]
    assert entry["name"] == offering_name
    assert set(handmade) <= set(entry["sync_info"]["remote_only"])
    assert any(JINJA[0] in str(pending) for pending in entry["summary"]["pending"])
    cases = dict((case.get("name"), case) for case in junit.iter("testcase"))
    assert _one_line(offering_name) in cases
    assert tables and all(len(set(rows)) == 1 for rows in tables), tables
    # Capitalized, not lower-cased: the template's own words and the names keep their capitals.
    assert "Pending members (not drift: the users do not exist in Keycloak yet): " in report.markdown
    assert "CDATA-Pending" in report.markdown
