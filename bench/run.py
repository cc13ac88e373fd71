#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The waldur.keycloak benchmark: one command, every measurement of the same run (see bench/README.md).

    make bench                      # N = 100, 1,000 (3 repeats) and 10,000 (1) -> bench/RESULTS.md, .png, .json
    BENCH_N=100,1000 make bench     # the quick run
    make bench-smoke                # N = 100, 1 repeat, into a temporary directory; fails on a request count

Keycloak is started with scripts/keycloak.sh (an instance it already runs is reused); every
realm the benchmark creates is deleted again. Times are reported, never asserted; request
counts are deterministic and a count goal that fails makes the exit status 1.
"""

import argparse
import collections
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
LARGE_N = 10000
CG_SAMPLE_LARGE = 20      # community.general groups timed per repeat above N=1,000
READ_REPEATS_LARGE = 5    # repeats of rows 2 and 3 (in-process) and their floor at N >= LARGE_N
sys.path.insert(0, BENCH_DIR)

import common  # noqa: E402
import measure  # noqa: E402
import members  # noqa: E402
import memory  # noqa: E402
import report  # noqa: E402
from storegen import Spec  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", help="comma-separated group counts (env BENCH_N; default 100,1000,10000)")
    parser.add_argument("--repeats", type=int, help="repeats of every measurement (env BENCH_REPEATS; default 3)")
    parser.add_argument("--repeats-large", type=int,
                        help="repeats at N >= %d, where one repeat of every measurement takes ~15 min on 2 CPUs "
                             "(env BENCH_REPEATS_LARGE; default 1)" % LARGE_N)
    parser.add_argument("--cg-sample", type=int,
                        help="community.general: groups timed per repeat at every N; above it, extrapolate "
                             "(env BENCH_CG_SAMPLE; default: every group up to N=100, 25 up to N=1,000, "
                             "then %d; smoke: 10)" % CG_SAMPLE_LARGE)
    parser.add_argument("--read-repeats-large", type=int,
                        help="repeats of rows 2 and 3 in-process and their floor at N >= %d (env "
                             "BENCH_READ_REPEATS_LARGE; default %d)" % (LARGE_N, READ_REPEATS_LARGE))
    parser.add_argument("--out", help="directory for RESULTS.md, results.png, results.json (default: bench/)")
    parser.add_argument("--smoke", action="store_true",
                        help="CI smoke: N=100, 1 repeat, community.general sampled; --out is required")
    parser.add_argument("--only", help="comma-separated measurement numbers to run (1-6; 7: members at scale; 8: "
                                       "memory; for development)")
    parser.add_argument("--collection", default=common.REPO,
                        help="the collection checkout to measure (default: this repository)")
    parser.add_argument("--no-profile", action="store_true", help="do not profile measurements that miss a goal")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: write RESULTS.md and results.png again from the results.json in --out")
    return parser.parse_args(argv)


def machine_info():
    info = {"nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as stream:
            for line in stream:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemTotal"):
                    info["memory_gib"] = round(int(line.split()[1]) / 1024.0 / 1024.0, 1)
                    break
    except OSError:
        pass
    return info


def versions(admin):
    import ansible
    import ansible.release
    import requests
    import yaml
    result = {
        "python": platform.python_version(),
        "ansible-core": ansible.release.__version__,
        "PyYAML": "%s (libyaml %s)" % (yaml.__version__, "yes" if yaml.__with_libyaml__ else "no"),
        "requests": requests.__version__,
        "keycloak": admin.server_version(),
    }
    try:
        from importlib.metadata import version
        result["ansible (package)"] = version("ansible")
    except Exception:  # pylint: disable=broad-except
        result["ansible (package)"] = None
    manifest = os.path.join(os.path.dirname(ansible.__file__), "..", "ansible_collections", "community", "general",
                            "MANIFEST.json")
    try:
        with open(manifest) as stream:
            result["community.general"] = json.load(stream)["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        result["community.general"] = None
    return result


class Bench(object):
    def __init__(self, args, ctx, collection, repeats, cg_sample, only, repeats_large=None,
                 read_repeats_large=READ_REPEATS_LARGE):
        self.args = args
        self.ctx = ctx
        self.collection = collection
        self.base_repeats = repeats
        self.repeats_large = repeats_large or repeats
        self.read_repeats_large = read_repeats_large
        # Rows 5 and 6 take milliseconds at small N, where one slow sample weighs most: more repeats.
        self.cheap_repeats = repeats if repeats < 3 else max(repeats, 5)
        self.repeats = repeats
        self.cg_sample = cg_sample
        self.only = only
        self.samples = collections.defaultdict(lambda: collections.defaultdict(list))
        self.units = {}     # (key, n) -> a factory of a fresh unit, for profiling

    def repeats_for(self, n):
        """Repeats of the Keycloak measurements at ``n``; rows 5 and 6 (seconds, not minutes) keep 3 or more."""
        self.repeats = self.repeats_large if n >= LARGE_N else self.base_repeats
        self.cheap_repeats = self.repeats if self.base_repeats < 3 else max(self.repeats, 3 if n >= LARGE_N else 5)

    def read_repeats_for(self, n):
        """Repeats of rows 2 and 3 (in-process) and their floor: ``read_repeats_large`` at N >= 10,000."""
        return max(self.repeats_large, self.read_repeats_large) if n >= LARGE_N else self.base_repeats

    def cg_sample_for(self, n):
        """Groups timed per repeat. A task costs community.general a listing of every group already
        there (one request whose time grows faster than its size), so the sample shrinks as N grows, to 20
        above N=1,000 (~60 s each at 10,000): enough for a spread of per-group times, not an extrapolation from two."""
        if self.cg_sample:
            return min(n, self.cg_sample)
        return n if n <= 100 else (25 if n <= 1000 else CG_SAMPLE_LARGE)

    def want(self, number):
        return not self.only or number in self.only

    def record(self, unit, factory=None):
        sample = unit.measure()
        self.samples[unit.key][unit.n].append(sample.as_dict())
        if factory is not None:
            self.units[(unit.key, unit.n)] = factory
        common.log("N=%-6d %-24s %9.3f s  requests=%s  gc %.2f s (%d full)" % (
            unit.n, unit.key, sample.seconds, sample.requests, sample.extra["gc_seconds"], sample.extra["gc_full"]))
        return sample

    def static_inventory(self, n, config, hosts):
        """Row 6b's floor: a YAML inventory file written from the plugin's own ``--list``, checked to list the same."""
        _seconds, listing = self.ctx.ansible.inventory_list(config)
        static = measure.write_static_inventory(listing, os.path.join(self.ctx.workdir, "n%d.static.yml" % n))
        _seconds, again = self.ctx.ansible.inventory_list(static)
        difference = measure.inventory_difference(listing, again)
        if difference:
            raise AssertionError("N=%d: the static inventory lists another inventory than the plugin: %s"
                                 % (n, difference))
        common.log("N=%-6d static inventory %s: its --list equals the plugin's (%d hosts)" % (n, static, hosts))
        return static

    def run_n(self, n):
        ctx, collection = self.ctx, self.collection
        self.repeats_for(n)
        linked = None
        first_apply = self.want("1") or self.want("4")
        keep = self.want("2") or self.want("3") or self.want("6") or self.want("8")
        # 1 and 4: first apply, each variant in its own realm, deleted before the next variant runs; no other
        # realm of this N exists meanwhile (Keycloak's realm cache holds 10,000 entries by default: a kept realm
        # of N groups would make the timed variant compete with it). The last playbook repeat runs after them,
        # and after community.general's realm is gone; its realm stays for 2, 3, 6 and 8.
        if first_apply:
            for rep in range(self.repeats):
                factories = []
                if not (keep and rep == self.repeats - 1):
                    factories.append(lambda: measure.FirstApplyPlaybook(ctx, n, collection))
                if self.want("4"):
                    factories += [lambda: measure.FirstApplyInProcess(ctx, n, collection),
                                  lambda: measure.FirstApplyFloor(ctx, n)]
                shift = rep % max(1, len(factories))     # rotate the order: no variant always runs first
                for factory in factories[shift:] + factories[:shift]:
                    self.record(factory(), factory)
        if self.want("1"):
            shared = {"repeats": self.repeats}
            try:
                for _rep in range(self.repeats):
                    self.record(measure.CommunityGeneral(ctx, n, self.cg_sample_for(n), shared))
            finally:
                if "realm" in shared:
                    ctx.admin.delete_realm(shared["realm"])
        if keep:
            def factory():
                return measure.FirstApplyPlaybook(ctx, n, collection)

            unit = factory()
            unit.keep = True
            if first_apply:
                self.record(unit, factory)
            else:      # only there to link the realm: not a sample of row 1
                unit.measure()
            root = ctx.admin.group_by_path(unit.realm, unit.spec.root_path)
            linked = measure.Linked(unit.realm, unit.spec, unit.store, root["id"])
        # 2 and 3: no-op re-apply and sync_info on the linked realm, against the read floor; at N >= 10,000
        # the in-process variants and the floor run more often (goals within hundredths: one noisy sample must
        # not decide), the whole-process ones `repeats` times.
        if linked is not None and (self.want("2") or self.want("3")):
            core, whole = [lambda: measure.ReadFloor(ctx, n, linked)], []
            if self.want("2"):
                core.append(lambda: measure.NoOpInProcess(ctx, n, linked, collection))
                whole.append(lambda: measure.NoOpPlaybook(ctx, n, linked))
            if self.want("3"):
                core.append(lambda: measure.SyncInfoInProcess(ctx, n, linked, collection))
                whole.append(lambda: measure.SyncInfoPlaybook(ctx, n, linked))
            whole.append(lambda: measure.PingPlaybook(ctx, n))
            for rep in range(self.read_repeats_for(n)):
                factories = core + (whole if rep < self.repeats else [])
                shift = rep % len(factories)
                for factory in factories[shift:] + factories[:shift]:
                    self.record(factory(), factory)
        elif self.want("1"):
            for _rep in range(self.repeats):
                self.record(measure.PingPlaybook(ctx, n))
        # 5: the store, declared (unlinked) as measurement 1 reads it.
        if self.want("5"):
            declared = Spec("store-n%d" % n, n).write(ctx.path("declared.yml"))
            factories = [lambda: measure.StoreBaseline(ctx, n, declared, "m5.baseline"),
                         lambda: measure.StoreBaseline(ctx, n, declared, "m5.baseline", paused_gc=True),
                         lambda: measure.StoreLoadSave(ctx, n, declared, collection, every=True),
                         lambda: measure.StoreLoadSave(ctx, n, declared, collection, every=False)]
            for rep in range(self.cheap_repeats):
                shift = rep % len(factories)
                for factory in factories[shift:] + factories[:shift]:
                    self.record(factory(), factory)
        # 6: the inventory plugin over the linked store.
        if self.want("6") and linked is not None:
            config = os.path.join(ctx.workdir, "n%d.offering_groups.yml" % n)
            with open(config, "w") as stream:
                stream.write("plugin: waldur.keycloak.offering_groups\nstore: %s\n" % linked.store)
            hosts = len(linked.spec.resources)
            measure.InventoryPlugin(ctx, n, config, hosts).measure()      # warm: the plugin is imported once
            static = self.static_inventory(n, config, hosts)
            factories = [lambda: measure.StoreBaseline(ctx, n, linked.store, "m6.baseline"),
                         lambda: measure.StoreBaseline(ctx, n, linked.store, "m6.baseline", paused_gc=True),
                         lambda: measure.InventoryPlugin(ctx, n, config, hosts),
                         lambda: measure.InventoryProcess(ctx, n, config, hosts),
                         lambda: measure.InventoryStatic(ctx, n, static, hosts)]
            for rep in range(self.cheap_repeats):
                shift = rep % len(factories)
                for factory in factories[shift:] + factories[:shift]:
                    self.record(factory(), factory)
        # 8: peak memory of the module, ansible-playbook and ansible-inventory over the linked store (one repeat:
        # a peak RSS barely varies).
        if self.want("8") and linked is not None:
            for factory in memory.factories(ctx, n, linked):
                self.record(factory())
        if linked is not None:
            ctx.admin.delete_realm(linked.realm)


def render(out):
    """RESULTS.md and the plot from a run's results.json (and its profiles), without measuring."""
    with open(os.path.join(out, "results.json")) as stream:
        saved = json.load(stream)
    samples = dict((key, dict((int(n), runs) for n, runs in by_n.items())) for key, by_n in saved["samples"].items())
    meta = saved["meta"]
    summary = report.summarize(samples, meta)
    report.write(out, samples, summary, meta, report.saved_profiles(out, summary))
    return 1 if summary["count_failures"] else 0


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if args.smoke and not args.out:
        sys.exit("--smoke needs --out (the smoke never overwrites bench/RESULTS.md)")
    if args.render:
        return render(os.path.abspath(args.out or BENCH_DIR))
    ns = [int(x) for x in (args.n or os.environ.get("BENCH_N") or ("100" if args.smoke else "100,1000,%d" % LARGE_N)
                           ).split(",")]
    repeats = args.repeats or int(os.environ.get("BENCH_REPEATS") or (1 if args.smoke else 3))
    repeats_large = args.repeats_large or int(os.environ.get("BENCH_REPEATS_LARGE") or 1)
    read_repeats_large = args.read_repeats_large or int(os.environ.get("BENCH_READ_REPEATS_LARGE")
                                                        or READ_REPEATS_LARGE)
    cg_sample = args.cg_sample or int(os.environ.get("BENCH_CG_SAMPLE") or (10 if args.smoke else 0))
    only = set(args.only.split(",")) if args.only else None
    out = os.path.abspath(args.out or BENCH_DIR)
    os.makedirs(out, exist_ok=True)
    stale = os.path.join(out, "profiles")
    if os.path.isdir(stale):      # profiles of an earlier run's misses
        for name in os.listdir(stale):
            if name.endswith(".txt"):
                os.unlink(os.path.join(stale, name))
    command = os.environ.get("BENCH_COMMAND") or " ".join(
        [shlex.quote(x) for x in ["python", "bench/run.py"] + (argv if argv is not None else sys.argv[1:])])
    started = time.time()
    load_before = os.getloadavg()

    keycloak_env = common.keycloak_up()
    workdir = tempfile.mkdtemp(prefix="waldur-bench-")
    collections_dir = os.path.join(workdir, "collections")
    link = os.path.join(collections_dir, "ansible_collections", "waldur", "keycloak")
    os.makedirs(os.path.dirname(link))
    os.symlink(os.path.abspath(args.collection), link)
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = collections_dir
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([collections_dir])

    admin = common.Admin(keycloak_env["KEYCLOAK_URL"], keycloak_env["KEYCLOAK_USERNAME"],
                         keycloak_env["KEYCLOAK_PASSWORD"])
    ansible = common.Ansible(collections_dir, keycloak_env, workdir)
    from ansible_collections.waldur.keycloak.plugins.module_utils import _client
    ctx = measure.Context(keycloak_env, admin, ansible, workdir, page_size=_client.DEFAULT_PAGE_SIZE,
                          children_page_size=_client.CHILDREN_PAGE_SIZE)
    collection = measure.Collection(ctx)
    bench = Bench(args, ctx, collection, repeats, cg_sample, only, repeats_large, read_repeats_large)
    meta = {"command": command, "smoke": args.smoke, "n": ns, "repeats": repeats,
            "repeats_by_n": dict((str(n), repeats_large if n >= LARGE_N else repeats) for n in ns),
            "read_repeats_by_n": dict((str(n), bench.read_repeats_for(n)) for n in ns),
            "cg_sample": dict((str(n), bench.cg_sample_for(n)) for n in ns),
            "cheap_repeats": bench.cheap_repeats, "store_gc_paused": True,
            "page_size": _client.DEFAULT_PAGE_SIZE, "children_page_size": _client.CHILDREN_PAGE_SIZE,
            "parallelism": measure.PARALLELISM,
            "machine": machine_info(), "versions": versions(admin),
            "collection": os.path.abspath(args.collection)}
    common.log("N=%s, %d repeats, community.general sample %s; results -> %s" % (
        ns, repeats, ", ".join(str(bench.cg_sample_for(n)) for n in ns), out))
    profiles = {}
    try:
        # Warm-up, not recorded: compiled files, Keycloak's code paths for realms and groups.
        ansible.playbook([{"ansible.builtin.ping": {}}])
        if not only or only & {"1", "2", "3", "4", "6"}:
            for unit in (measure.FirstApplyPlaybook(ctx, 10, collection), measure.FirstApplyInProcess(ctx, 10, collection),
                         measure.FirstApplyFloor(ctx, 10)):
                unit.measure()
        for n in ns:
            bench.run_n(n)
        if bench.want("7"):     # members at scale: fixed shapes, once per run whatever N is
            members.run(bench, smoke=args.smoke)
        if bench.want("8"):     # peak RSS of a first apply with members: a fixed shape, once per run
            memory.run_members(bench, smoke=args.smoke)
        meta["seconds"] = round(time.time() - started)
        meta["loadavg"] = {"start": [round(x, 2) for x in load_before],
                           "end": [round(x, 2) for x in os.getloadavg()]}
        meta["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
        summary = report.summarize(bench.samples, meta)
        # Written before any profile is taken: a profile that fails loses no measurement.
        report.write(out, bench.samples, summary, meta, profiles)
        if not args.no_profile and not args.smoke:
            profiles = report.profile_misses(summary, bench.units, out)
    finally:
        admin.delete_all()
        shutil.rmtree(workdir, ignore_errors=True)
    summary = report.summarize(bench.samples, meta)
    report.write(out, bench.samples, summary, meta, profiles)
    failures = summary["count_failures"]
    common.log("wrote %s (%d s)" % (os.path.join(out, "RESULTS.md"), meta["seconds"]))
    for failure in failures:
        common.log("REQUEST COUNT GOAL FAILED: %s" % failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
