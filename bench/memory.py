# -*- coding: utf-8 -*-
"""Measurement 8: peak memory (RSS) of the collection's processes over a linked store of N groups.

Each figure is ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by a fresh wrapper process (this
file run as a script) once the measured command has exited: the peak resident set of the **largest single
process** of the command's tree (every descendant that was waited for), not a sum over processes. The
baseline is a bare Python process that only reads the same store and loads it with PyYAML's CSafeLoader.

    python bench/memory.py RSS_FILE -- COMMAND...    # run COMMAND, write its peak RSS (KiB) to RSS_FILE

Stdout, stderr and the exit status are the command's own.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

from measure import PARALLELISM, Unit, module_task  # noqa: E402

MODULE = "ansible_collections.waldur.keycloak.plugins.modules.keycloak_offering_sync"

# The bare process: read the store and load it with CSafeLoader, nothing else imported.
BARE_LOAD = ("import sys, yaml\n"
             "with open(sys.argv[1], 'rb') as stream:\n"
             "    data = yaml.load(stream.read().decode('utf-8'), Loader=yaml.CSafeLoader)\n"
             "print(len(data['groups']))\n")

# (key, title, goal as a ratio to the bare process or None: reported, unjudged)
ROWS = [
    ("m8.module", "`keycloak_offering_sync` no-op, the module process alone (run as AnsiballZ runs it)", 1.5),
    ("m8.inventory", "`ansible-inventory --list`", 2.0),
    ("m8.playbook", "`keycloak_offering_sync` no-op, whole `ansible-playbook` run (largest of its processes)", None),
]
BASE_KEY = "m8.bare"
# A first apply with members: 10,000 groups x 2 members over 5,000 users (measurement 7's shape "b").
MEMBERS_KEY = "m8.members.module"
MEMBERS_BASE_KEY = "m8.members.bare"
MEMBERS_SHAPE = "b"
MEMBERS_GOAL = 2.0
# The goals are the issue's, for a store of 10,000 groups; smaller stores are reported (Python's and Ansible's own
# imports, some 30-60 MiB, weigh most there).
GOAL_N = 10000


def wrapped(rss_file, command):
    """``command`` run under the wrapper: the same command, its peak RSS written to ``rss_file``."""
    return [sys.executable, os.path.abspath(__file__), rss_file, "--"] + list(command)


def read_rss(rss_file):
    with open(rss_file) as stream:
        return int(stream.read().strip())


class MemoryUnit(Unit):
    """One command under the wrapper; the sample's ``peak_rss_kib`` is the figure, its time is incidental."""

    def __init__(self, ctx, n, linked):
        super(MemoryUnit, self).__init__(ctx, n)
        self.linked = linked

    def setup(self):
        self.rss_file = self.ctx.path("rss.txt")

    def teardown(self):
        if os.path.exists(self.rss_file):
            os.unlink(self.rss_file)

    def run_wrapped(self, command, env=None):
        process = subprocess.run(wrapped(self.rss_file, command), env=env, cwd=self.ctx.workdir,
                                 capture_output=True, text=True, check=False)
        if process.returncode != 0:
            raise RuntimeError("%s failed (rc %d):\n%s\n%s" % (self.key, process.returncode, process.stdout[-3000:],
                                                               process.stderr[-3000:]))
        return process.stdout

    def check(self, outcome):
        self.verify(outcome)
        return None, {"peak_rss_kib": read_rss(self.rss_file)}

    def verify(self, outcome):
        pass


class MemoryBare(MemoryUnit):
    key = BASE_KEY

    def run(self):
        return self.run_wrapped([sys.executable, "-c", BARE_LOAD, self.linked.store])

    def verify(self, outcome):
        if int(outcome.strip()) != self.n:
            raise AssertionError("%s: %s groups loaded" % (self.key, outcome.strip()))


class MemoryModule(MemoryUnit):
    """The module file run directly in a fresh Python with an args file, as AnsiballZ runs it."""

    key = "m8.module"

    def run(self):
        return self.run_module()

    def run_module(self):
        args = self.ctx.path("args.json")
        params = dict(self.ctx.client_params(), store=self.linked.store, parallelism=PARALLELISM)
        with open(args, "w") as stream:
            json.dump({"ANSIBLE_MODULE_ARGS": params}, stream)
        env = dict(self.ctx.ansible.env)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (self.ctx.ansible.collections_dir, env.get("PYTHONPATH")) if p)
        try:
            return self.run_wrapped([sys.executable, "-m", MODULE, args], env=env)
        finally:
            os.unlink(args)

    def verify(self, outcome):
        result = json.loads(outcome)
        if result.get("failed") or result.get("changed"):
            raise AssertionError("%s: not a no-op: %s" % (self.key, outcome[-2000:]))


class MemoryPlaybook(MemoryUnit):
    key = "m8.playbook"

    def run(self):
        tasks = module_task("keycloak_offering_sync", {"store": self.linked.store, "parallelism": PARALLELISM})
        return self.ctx.ansible.playbook(tasks, prefix=wrapped(self.rss_file, []))

    def verify(self, outcome):
        if sum(line["requests"] for line in outcome[1]) == 0:
            raise AssertionError("%s: the module made no request" % self.key)


class MemoryInventory(MemoryUnit):
    key = "m8.inventory"

    def setup(self):
        super(MemoryInventory, self).setup()
        self.config = self.ctx.path("memory.offering_groups.yml")
        with open(self.config, "w") as stream:
            stream.write("plugin: waldur.keycloak.offering_groups\nstore: %s\n" % self.linked.store)

    def teardown(self):
        super(MemoryInventory, self).teardown()
        os.unlink(self.config)

    def run(self):
        return self.ctx.ansible.inventory_list(self.config, prefix=wrapped(self.rss_file, []))

    def verify(self, outcome):
        hosts = len(outcome[1]["_meta"]["hostvars"])
        if hosts != len(self.linked.spec.resources):
            raise AssertionError("%s: %d hosts" % (self.key, hosts))


class MemoryMembersBare(MemoryBare):
    """The bare CSafeLoader process over the members store, as the first apply receives it."""

    key = MEMBERS_BASE_KEY


class MemoryMembersFirstApply(MemoryModule):
    """The module process alone, a first apply that adds every declared membership to a seeded MemberRealm."""

    key = MEMBERS_KEY

    def check(self, outcome):
        result = json.loads(outcome)
        spec = self.linked.spec
        report = (result.get("offerings") or [{}])[0]
        if result.get("failed") or not result.get("changed") or len(report.get("members_added", [])) != spec.memberships:
            raise AssertionError("%s: not a first apply of %d memberships: %s" % (
                self.key, spec.memberships, outcome[-2000:]))
        self.linked.verify(self.key)
        return None, {"peak_rss_kib": read_rss(self.rss_file), "per_group": spec.per_group,
                      "users": len(spec.usernames), "memberships": spec.memberships}


def run_members(bench, smoke=False):
    """Peak RSS of a first apply with members (members.py's shape "b"), once per run whatever N is."""
    import members      # measurement 7's realm seeding (users, the offering's group, its groups)
    ctx = bench.ctx
    shape = (members.SMOKE_SHAPES if smoke else members.SHAPES)[MEMBERS_SHAPE]
    seeded = members.MemberRealm(ctx, "mem" + MEMBERS_SHAPE, shape)
    try:
        # The bare parse first: the module rewrites the store (every member then active).
        bench.record(MemoryMembersBare(ctx, seeded.spec.n, seeded))
        bench.record(MemoryMembersFirstApply(ctx, seeded.spec.n, seeded))
    finally:
        seeded.delete()


def factories(ctx, n, linked):
    """Measurement 8's units at N, the bare process first (each is one process; peak RSS barely varies)."""
    return [lambda: MemoryBare(ctx, n, linked), lambda: MemoryModule(ctx, n, linked),
            lambda: MemoryInventory(ctx, n, linked), lambda: MemoryPlaybook(ctx, n, linked)]


# ------------------------------------------------------------------ report

def _peak(samples, key, n):
    values = sorted(s["peak_rss_kib"] for s in samples.get(key, {}).get(n, []) if s.get("peak_rss_kib"))
    return values[len(values) // 2] if values else None


def rows(samples, ns):
    """One row per (figure, N) that was measured: peak RSS in KiB, the bare process's, the ratio, the goal, met."""
    result = []
    for n in ns:
        base = _peak(samples, BASE_KEY, n)
        if base is None:
            continue
        for key, title, goal in ROWS:
            peak = _peak(samples, key, n)
            if peak is None:
                continue
            ratio = float(peak) / base
            result.append({"key": key, "title": title, "n": n, "peak_kib": peak, "base_kib": base,
                           "ratio": ratio, "goal": goal,
                           "met": None if goal is None or n < GOAL_N else ratio <= goal})
    for n in sorted(samples.get(MEMBERS_KEY, {})):
        peak, base = _peak(samples, MEMBERS_KEY, n), _peak(samples, MEMBERS_BASE_KEY, n)
        if peak is None or base is None:
            continue
        shape = samples[MEMBERS_KEY][n][0]
        title = ("`keycloak_offering_sync` first apply with members (%s groups × %d members, %s users), the module "
                 "process alone (run as AnsiballZ runs it)"
                 % ("{:,}".format(n), shape.get("per_group", 0), "{:,}".format(shape.get("users", 0))))
        ratio = float(peak) / base
        result.append({"key": MEMBERS_KEY, "title": title, "n": n, "peak_kib": peak, "base_kib": base,
                       "ratio": ratio, "goal": MEMBERS_GOAL, "met": None if n < GOAL_N else ratio <= MEMBERS_GOAL})
    return result


def markdown(samples, ns):
    """The RESULTS.md section of measurement 8 (empty when it did not run)."""
    measured = rows(samples, ns)
    if not measured:
        return []
    lines = [
        "",
        "## Memory (peak RSS)",
        "",
        "Peak resident set of each process against a bare Python process that only reads the same linked store "
        "and loads it with PyYAML's `CSafeLoader`. Each figure is `getrusage(RUSAGE_CHILDREN).ru_maxrss` read by a "
        "fresh wrapper process (`bench/memory.py`) after the command exited: the **largest single process** of "
        "the command (for `ansible-playbook`, the largest of the controller, its workers and the module), not "
        "a sum. The module process is the module file run in a fresh Python with an arguments file "
        "(`python -m ansible_collections.waldur.keycloak.plugins.modules.keycloak_offering_sync args.json`, as "
        "AnsiballZ runs it), a no-op re-apply over the realm row 1 linked. The first apply with members is the "
        "same module process over a store of measurement 7's shape (b) (10,000 groups × 2 members, 5,000 users; "
        "the realm seeded untimed with its users and linked groups, no memberships), against the bare process "
        "over that store as the module receives it.",
        "",
        "| measurement | N | peak RSS | bare `CSafeLoader` process | ratio | goal | met |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for row in measured:
        goal = "≤ %.1f× at N ≥ %s" % (row["goal"], "{:,}".format(GOAL_N)) if row["goal"] else "— (reported)"
        met = {True: "**yes**", False: "**NO**", None: "—"}[row["met"]]
        lines.append("| %s | %s | %s | %s | %.2f× | %s | %s |" % (
            row["title"], "{:,}".format(row["n"]), _mib(row["peak_kib"]), _mib(row["base_kib"]), row["ratio"],
            goal, met))
    return lines


def _mib(kib):
    return "%.0f MiB" % (kib / 1024.0)


# ----------------------------------------------------------------- wrapper

def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: memory.py RSS_FILE -- COMMAND...")
    rss_file, command = argv[0], argv[2:]
    returncode = subprocess.call(command)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss     # KiB on Linux
    directory = os.path.dirname(os.path.abspath(rss_file))
    handle, temporary = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, "w") as stream:
        stream.write("%d\n" % peak)
    os.replace(temporary, rss_file)
    return returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
