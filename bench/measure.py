# -*- coding: utf-8 -*-
"""The measurements of the benchmark, each a (setup, run, check, teardown) unit.

Every unit times only ``run``. In-process units call the collection's own code
path (the same calls a module makes, with the same KeycloakClient); process
units time a whole ``ansible-playbook`` / ``ansible-inventory`` run; baselines
are bare ``requests`` loops through a counting session, PyYAML's CSafeLoader,
or community.general.keycloak_group.
"""

import gc
import json
import math
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import yaml

from common import CountingSession, Token
from storegen import Spec

PARALLELISM = 4          # keycloak_offering_sync's default, and the write floor's
SETTLE_REQUESTS = 5      # untimed requests to a fresh realm before a first apply is timed
SETTLE_SECONDS = 3.0     # and a pause after a large realm was deleted, at N >= SETTLE_FROM
SETTLE_FROM = 1000


class Context(object):
    """What every unit needs: Keycloak, the admin client, ansible, a work dir, the collection's modules."""

    def __init__(self, keycloak_env, admin, ansible, workdir, page_size, children_page_size=None):
        self.url = keycloak_env["KEYCLOAK_URL"]
        self.username = keycloak_env["KEYCLOAK_USERNAME"]
        self.password = keycloak_env["KEYCLOAK_PASSWORD"]
        self.admin = admin
        self.ansible = ansible
        self.workdir = workdir
        self.page_size = page_size
        self.children_page_size = children_page_size or page_size    # the collection's pages of children
        self._counter = 0

    def path(self, name):
        self._counter += 1
        return os.path.join(self.workdir, "%03d-%s" % (self._counter, name))

    def client_params(self):
        """The options a module receives (the auth doc fragment's defaults)."""
        return dict(auth_keycloak_url=self.url, auth_realm="master", auth_client_id="admin-cli",
                    auth_client_secret=None, auth_username=self.username, auth_password=self.password,
                    token=None, validate_certs=True, ca_path=None, connection_timeout=10)


class Sample(object):
    def __init__(self, seconds, requests=None, **extra):
        self.seconds = seconds
        self.requests = requests
        self.extra = extra

    def as_dict(self):
        result = {"seconds": round(self.seconds, 6), "requests": self.requests}
        result.update(self.extra)
        return result


class Unit(object):
    """One measurement. ``run`` is timed; the rest is not."""

    key = None

    def __init__(self, ctx, n):
        self.ctx = ctx
        self.n = n

    def setup(self):
        pass

    def run(self):
        raise NotImplementedError

    def check(self, outcome):
        """Verify the outcome (untimed); return a Sample's extra fields."""
        return {}

    def teardown(self):
        pass

    def measure(self):
        self.setup()
        pauses = GcPauses()
        try:
            gc.collect()    # no garbage left over from earlier work is collected on this run's time
            with pauses:
                started = time.perf_counter()
                outcome = self.run()
                seconds = time.perf_counter() - started
            requests, extra = self.check(outcome)
            extra.update(gc_seconds=round(pauses.seconds, 6), gc_full=pauses.full)
            return Sample(seconds, requests, **extra)
        finally:
            self.teardown()


class GcPauses(object):
    """Time this process spends in the cyclic garbage collector while in the ``with`` block.

    A full (generation 2) collection walks every object the process holds, so its cost grows
    with the heap: reported per sample, it tells a harness cost from the measured code's.
    """

    def __init__(self):
        self.seconds, self.full, self._started = 0.0, 0, None

    def _callback(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self.full += 1 if info.get("generation") == 2 else 0
            self._started = None

    def __enter__(self):
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._callback)
        return False


# ------------------------------------------------------------- in-process code

class Collection(object):
    """The collection's module code path, in this process (imported once, as a module would)."""

    def __init__(self, ctx):
        from ansible_collections.waldur.keycloak.plugins.module_utils import (
            _client, _connection, _diff, _plan, _service, _store, _store_yaml)
        self.ctx = ctx
        self.client_module = _client
        self.connection_module = _connection
        self.plan_module = _plan
        self.diff_module = _diff
        self.service_module = _service
        self.store_module = _store
        self.store_yaml_module = _store_yaml

    def _service(self, store):
        clients = {}
        params = self.ctx.client_params()

        def client_for(url=None):
            # KeycloakModule.client: one logged-in client per server, built on first use.
            if url not in clients:
                options = self.connection_module.ConnectionOptions.from_module_params(params)
                clients[url] = options.client(self.ctx.url).login()
            return clients[url]

        return self.service_module.OfferingGroups(store.load(), client_for=client_for), clients

    def sync(self, store_path, parallelism=PARALLELISM):
        """keycloak_offering_sync's action(): plan every offering, execute, build the result.

        With the cyclic garbage collector paused, as ``KeycloakModule.run`` pauses it for the task.
        """
        with self.store_yaml_module.gc_paused():
            return self._sync(store_path, parallelism)

    def _sync(self, store_path, parallelism):
        store = self.store_module.Store(store_path)
        service, clients = self._service(store)
        plan, reports = service.plan_sync(service.sync_offerings(None), prune=False, relink=False,
                                          members_mode="additive")
        ctx, _changed = self.plan_module.execute(plan, store, False, parallelism=parallelism)
        result = {"changed": plan.changed, "plan": plan.describe(ctx),
                  "diff": self.diff_module.plan_diff(plan, ctx, store.display_path),
                  "offerings": reports, "drift": plan.changed}
        json.dumps(result)   # exit_json serializes the result
        return result, sum(c.request_count for c in clients.values()), len(plan.remote)

    def sync_info(self, store_path, offering):
        with self.store_yaml_module.gc_paused():
            return self._sync_info(store_path, offering)

    def _sync_info(self, store_path, offering):
        store = self.store_module.Store(store_path)
        service, clients = self._service(store)
        result = service.sync_status(offering, members=False)
        json.dumps(result)
        return result, sum(c.request_count for c in clients.values())


def settle(ctx, realm, n):
    """Untimed: let Keycloak settle before a first apply is timed.

    The variant before it may just have deleted a realm of N groups (Keycloak removes them one by one and
    evicts them from its realm cache); a pause at large N, then a few requests to the fresh realm, so the
    timed run does not pay for the previous variant's clean-up or a cold realm.
    """
    if n >= SETTLE_FROM:
        time.sleep(SETTLE_SECONDS)
    for _request in range(SETTLE_REQUESTS):
        ctx.admin.call("GET", "/realms/%s/groups" % realm, params={"first": 0, "max": 1})


def playbook_requests(lines):
    return sum(line["requests"] for line in lines)


def module_task(module, args):
    return [{"name": module, "waldur.keycloak." + module: args}]


def token_renewals(seconds):
    """Admin tokens of the master realm live 60 s and are renewed 10 s early: allowed extra token requests."""
    return int(seconds // 50)


# ------------------------------------------------------- 1 and 4: first apply

class FirstApply(Unit):
    """A fresh realm and an unlinked store of N groups; run makes Keycloak match it."""

    def __init__(self, ctx, n, collection=None):
        super(FirstApply, self).__init__(ctx, n)
        self.collection = collection
        self.keep = False      # True: the realm stays (the linked realm of measurements 2, 3 and 6)

    def setup(self):
        self.realm = self.ctx.admin.create_realm("n%d" % self.n)
        self.spec = Spec(self.realm, self.n)
        self.store = self.spec.write(self.ctx.path("store.yml"))
        settle(self.ctx, self.realm, self.n)

    def teardown(self):
        if not self.keep:
            self.ctx.admin.delete_realm(self.realm)

    def verify_keycloak(self):
        root = self.ctx.admin.group_by_path(self.realm, self.spec.root_path)
        created = self.ctx.admin.children_count(self.realm, root["id"]) if root else 0
        if created != self.n:
            raise AssertionError("%s: %d groups under %s, expected %d"
                                 % (self.key, created, self.spec.root_path, self.n))
        return root

    def verify_store(self, collection):
        data = collection.store_module.Store(self.store).load()
        unlinked = [g["name"] for g in data.groups if not g["backend_id"]]
        if unlinked:
            raise AssertionError("%s: %d groups not linked in the store" % (self.key, len(unlinked)))


class FirstApplyPlaybook(FirstApply):
    key = "m1.collection.playbook"

    def run(self):
        return self.ctx.ansible.playbook(module_task("keycloak_offering_sync",
                                                     {"store": self.store, "parallelism": PARALLELISM}))

    def check(self, outcome):
        _seconds, lines, _urllib = outcome
        self.verify_keycloak()
        self.verify_store(self.collection)
        return playbook_requests(lines), {"process_seconds": round(_seconds, 6)}


class FirstApplyInProcess(FirstApply):
    key = "m4.collection.inproc"

    def run(self):
        return self.collection.sync(self.store)

    def check(self, outcome):
        result, requests, remote_ops = outcome
        if len(result["offerings"][0]["created"]) != self.n:
            raise AssertionError("%s: created %d groups" % (self.key, len(result["offerings"][0]["created"])))
        self.verify_keycloak()
        self.verify_store(self.collection)
        # What the plan implies: a token, the lookup of the offering's group, then one request per operation.
        return requests, {"plan_remote_operations": remote_ops, "plan_implied_requests": 2 + remote_ops}


class FirstApplyFloor(FirstApply):
    """The floor for writes: the same POSTs (offering group, then N groups), same parallelism, bare requests."""

    key = "m4.floor"

    def run(self):
        session = CountingSession(pool_size=10)
        token = Token(session, self.ctx.url, self.ctx.username, self.ctx.password)
        base = "%s/admin/realms/%s/groups" % (self.ctx.url, self.realm)
        response = session.post(base, json=self.spec.root_body(), headers=token.header(), timeout=30)
        response.raise_for_status()
        parent = response.headers["Location"].rsplit("/", 1)[-1]
        children = "%s/%s/children" % (base, parent)

        def create(body):
            reply = session.post(children, json=body, headers=token.header(), timeout=30)
            reply.raise_for_status()
            return reply.headers["Location"].rsplit("/", 1)[-1]

        with ThreadPoolExecutor(max_workers=PARALLELISM) as pool:
            ids = list(pool.map(create, self.spec.group_bodies()))
        return session.count, ids

    def check(self, outcome):
        count, _ids = outcome
        self.verify_keycloak()
        return count, {}


class CommunityGeneral(Unit):
    """community.general.keycloak_group in a loop, one task run per group, under the offering's group.

    At N above the sample size k, the realm is first seeded (untimed) so that the
    sampled k groups are created while the offering holds about N/2 groups: a
    group's cost grows with the groups already there (every task lists them), so
    the midpoint's cost is the average over creating all N. The time of N groups
    is then extrapolated: startup + N x (sample time - startup) / k.
    """

    key = "m1.cg.playbook"

    def __init__(self, ctx, n, sample, shared):
        super(CommunityGeneral, self).__init__(ctx, n)
        self.k = min(n, sample)
        self.shared = shared   # realm state shared by the repeats of one N when sampling

    def setup(self):
        self.item_times = self.ctx.path("cg-items.txt")
        if self.k == self.n:
            self.realm = self.ctx.admin.create_realm("cg%d" % self.n)
            self.spec = Spec(self.realm, self.n)
            self.parent = self.ctx.admin.create_group(self.realm, self.spec.slug, attributes=self.spec.root_body()[
                "attributes"])
            self.items = self.spec.group_bodies()
            self.before = 0
            return
        state = self.shared
        if "realm" not in state:
            realm = self.ctx.admin.create_realm("cg%d" % self.n)
            spec = Spec(realm, self.n)
            parent = self.ctx.admin.create_group(realm, spec.slug, attributes=spec.root_body()["attributes"])
            bodies = spec.group_bodies()
            repeats = state["repeats"]
            # Seed so that the middle repeat's sample straddles N/2.
            seeded = max(0, self.n // 2 - (repeats * self.k) // 2)
            self.ctx.admin.seed_children(realm, parent, bodies[:seeded])
            state.update(realm=realm, spec=spec, parent=parent, bodies=bodies, next=seeded)
        self.realm, self.spec, self.parent = state["realm"], state["spec"], state["parent"]
        self.items = state["bodies"][state["next"]:state["next"] + self.k]
        self.before = state["next"]
        state["next"] += self.k

    def teardown(self):
        if self.k == self.n:
            self.ctx.admin.delete_realm(self.realm)

    def run(self):
        defaults = {"community.general.keycloak_group": {
            "auth_keycloak_url": self.ctx.url, "auth_realm": "master", "auth_client_id": "admin-cli",
            "auth_username": self.ctx.username, "auth_password": self.ctx.password, "realm": self.realm,
        }}
        tasks = [{
            "name": "one keycloak_group task per group",
            "community.general.keycloak_group": {
                "name": "{{ item.name }}",
                "parents": [{"name": self.spec.slug}],
                "attributes": "{{ item.attributes }}",
                "state": "present",
            },
            "loop": "{{ bench_groups }}",
            "loop_control": {"label": "{{ item.name }}"},
            "no_log": False,
        }]
        counting = os.path.join(os.path.dirname(os.path.abspath(__file__)), "counting")
        paths = (counting, os.environ.get("PYTHONPATH"))
        extra_env = {"PYTHONPATH": os.pathsep.join(p for p in paths if p),
                     # bench/counting/callback_plugins/bench_items.py: each group's time
                     "ANSIBLE_CALLBACK_PLUGINS": os.path.join(counting, "callback_plugins"),
                     "ANSIBLE_CALLBACKS_ENABLED": "bench_items", "BENCH_ITEM_TIMES_FILE": self.item_times}
        return self.ctx.ansible.playbook(tasks, variables={"bench_groups": self.items}, module_defaults=defaults,
                                         extra_env=extra_env)

    def check(self, outcome):
        _seconds, _lines, urllib_counts = outcome
        with open(self.item_times) as stream:
            item_seconds = [round(float(line), 4) for line in stream if line.strip()]
        os.unlink(self.item_times)
        if len(item_seconds) != self.k:
            raise AssertionError("%s: %d items timed, expected %d" % (self.key, len(item_seconds), self.k))
        count = self.ctx.admin.children_count(self.realm, self.parent)
        if count != self.before + self.k:
            raise AssertionError("%s: %d groups under the parent, expected %d"
                                 % (self.key, count, self.before + self.k))
        if len(urllib_counts) != self.k:
            raise AssertionError("%s: %d module runs counted, expected %d" % (self.key, len(urllib_counts), self.k))
        return sum(urllib_counts), {"sample": self.k, "existing_before_sample": self.before,
                                    "item_seconds": item_seconds}


# ------------------------------------------------- 2 and 3: reading a linked realm

class Linked(object):
    """A realm whose N groups were created and linked by keycloak_offering_sync (kept from measurement 1)."""

    def __init__(self, realm, spec, store, root_id):
        self.realm, self.spec, self.store, self.root_id = realm, spec, store, root_id


class ReadUnit(Unit):
    def __init__(self, ctx, n, linked, collection=None):
        super(ReadUnit, self).__init__(ctx, n)
        self.linked = linked
        self.collection = collection

    def setup(self):
        with open(self.linked.store, "rb") as stream:
            self.before = stream.read()

    def check_store_unchanged(self):
        with open(self.linked.store, "rb") as stream:
            if stream.read() != self.before:
                raise AssertionError("%s: the store changed" % self.key)


class NoOpPlaybook(ReadUnit):
    key = "m2.collection.playbook"

    def run(self):
        return self.ctx.ansible.playbook(module_task("keycloak_offering_sync",
                                                     {"store": self.linked.store, "parallelism": PARALLELISM}))

    def check(self, outcome):
        self.check_store_unchanged()
        return playbook_requests(outcome[1]), {}


class NoOpInProcess(ReadUnit):
    key = "m2.collection.inproc"

    def run(self):
        return self.collection.sync(self.linked.store)

    def check(self, outcome):
        result, requests, remote_ops = outcome
        if result["changed"] or remote_ops:
            raise AssertionError("%s: the re-apply planned %d operations" % (self.key, len(result["plan"])))
        self.check_store_unchanged()
        return requests, {}


class ReadFloor(ReadUnit):
    """The floor for reads: a token, then the offering's children page by page, bare requests."""

    key = "m2.floor"

    def run(self):
        session = CountingSession(pool_size=10)
        token = Token(session, self.ctx.url, self.ctx.username, self.ctx.password)
        url = "%s/admin/realms/%s/groups/%s/children" % (self.ctx.url, self.linked.realm, self.linked.root_id)
        groups, first, page_seconds = [], 0, []
        while True:
            started = time.perf_counter()
            response = session.get(url, params={"first": first, "max": self.ctx.children_page_size,
                                                "briefRepresentation": "true"}, headers=token.header(), timeout=300)
            response.raise_for_status()
            page = response.json()
            page_seconds.append(time.perf_counter() - started)
            groups.extend(page)
            if len(page) < self.ctx.children_page_size:
                break
            first += self.ctx.children_page_size
        return session.count, groups, page_seconds

    def check(self, outcome):
        count, groups, page_seconds = outcome
        if len(groups) != self.n:
            raise AssertionError("%s: listed %d groups" % (self.key, len(groups)))
        # Keycloak answers a deep page slower than a shallow one: why sequential paging grows faster than N.
        full = page_seconds[:-1] or page_seconds
        return count, {"first_page_seconds": round(full[0], 4), "last_page_seconds": round(full[-1], 4)}


class SyncInfoPlaybook(ReadUnit):
    key = "m3.collection.playbook"

    def run(self):
        return self.ctx.ansible.playbook(module_task("keycloak_group_sync_info",
                                                     {"store": self.linked.store, "offering": self.linked.spec.name}))

    def check(self, outcome):
        return playbook_requests(outcome[1]), {}


class SyncInfoInProcess(ReadUnit):
    key = "m3.collection.inproc"

    def run(self):
        return self.collection.sync_info(self.linked.store, self.linked.spec.name)

    def check(self, outcome):
        result, requests = outcome
        if not result["in_sync"] or result["counts"]["synced"] != self.n:
            raise AssertionError("%s: not in sync: %s" % (self.key, result["counts"]))
        return requests, {}


class PingPlaybook(Unit):
    """The cost of ansible-playbook itself: one play, one ansible.builtin.ping task."""

    key = "ping.playbook"

    def run(self):
        return self.ctx.ansible.playbook([{"ansible.builtin.ping": {}}])

    def check(self, outcome):
        return None, {}


# ---------------------------------------------------------------- 5: the store

def csafe_load(path):
    with open(path, "rb") as stream:
        return yaml.load(stream.read().decode("utf-8"), Loader=yaml.CSafeLoader)


class StoreBaseline(Unit):
    """PyYAML's CSafeLoader loading the same file (read included, as Store.load reads it).

    ``paused_gc``: the same with the cyclic garbage collector paused, as the store's own parse does
    (reported beside the judged figures, so that the effect of that pause is visible).
    """

    def __init__(self, ctx, n, path, key, paused_gc=False):
        super(StoreBaseline, self).__init__(ctx, n)
        self.store = path
        self.key = key + (".paused_gc" if paused_gc else "")
        self.paused_gc = paused_gc

    def run(self):
        if not self.paused_gc:
            return csafe_load(self.store)
        gc.disable()
        try:
            return csafe_load(self.store)
        finally:
            gc.enable()

    def check(self, outcome):
        if len(outcome["groups"]) != self.n:
            raise AssertionError("%s: %d groups" % (self.key, len(outcome["groups"])))
        return None, {}


class StoreLoadSave(Unit):
    """Store.load() then Store.update() linking every record (as a first apply does), or one record.

    With Python's cyclic garbage collector paused for the whole load and update, as a module pauses it for
    its whole task (``KeycloakModule.run``: ``_store_yaml.gc_paused``): the benchmark measures what a module does.
    """

    def __init__(self, ctx, n, source, collection, every):
        super(StoreLoadSave, self).__init__(ctx, n)
        self.source = source
        self.collection = collection
        self.every = every
        self.key = "m5.all" if every else "m5.one"

    def setup(self):
        self.store = self.ctx.path("store.yml")
        shutil.copyfile(self.source, self.store)

    def teardown(self):
        os.unlink(self.store)

    def run(self):
        with self.collection.store_yaml_module.gc_paused():
            return self._load_update()

    def _load_update(self):
        store = self.collection.store_module.Store(self.store)
        data = store.load()
        chosen = data.groups if self.every else data.groups[len(data.groups) // 2:len(data.groups) // 2 + 1]

        def mutate(_data, editor):
            for index, group in enumerate(chosen):
                editor.put_group(group["uuid"], {"backend_id": "0c0ffee0-0000-4000-8000-%012d" % index,
                                                 "modified": "2026-11-29T00:00:00Z"})

        return store.update(mutate)

    def check(self, outcome):
        _result, changed = outcome
        data = self.collection.store_module.Store(self.store).load()
        linked = sum(1 for g in data.groups if g["backend_id"])
        if not changed or linked != (self.n if self.every else 1):
            raise AssertionError("%s: %d records linked" % (self.key, linked))
        return None, {}


# --------------------------------------------------------------- 6: inventory

class InventoryUnit(Unit):
    """A unit over the inventory config; ``run`` returns (seconds or None, ``ansible-inventory --list``'s JSON)."""

    def __init__(self, ctx, n, config, hosts):
        super(InventoryUnit, self).__init__(ctx, n)
        self.config = config
        self.hosts = hosts


class InventoryPlugin(InventoryUnit):
    """The plugin's parse, as ansible-inventory runs it: InventoryManager over the config (warm plugin loader)."""

    key = "m6.plugin"

    def run(self):
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader
        return InventoryManager(loader=DataLoader(), sources=[self.config])

    def check(self, outcome):
        hosts = len(outcome.hosts)
        if hosts != self.hosts:
            raise AssertionError("%s: %d hosts, expected %d" % (self.key, hosts, self.hosts))
        return None, {}


class InventoryProcess(InventoryUnit):
    key = "m6.process"

    def run(self):
        return self.ctx.ansible.inventory_list(self.config)

    def check(self, outcome):
        hosts = len(outcome[1]["_meta"]["hostvars"])
        if hosts != self.hosts:
            raise AssertionError("%s: %d hosts, expected %d" % (self.key, hosts, self.hosts))
        return None, {}

    def in_process(self):
        """The same command in this process, for a profile (pyinstrument sees no other process)."""
        return InventoryCli(self.ctx, self.n, self.config, self.hosts)


class InventoryCli(InventoryProcess):
    """``ansible-inventory -i <config> --list`` through ansible-core's InventoryCLI in this process (profiles only)."""

    key = "m6.process"

    def run(self):
        import contextlib
        import io
        from ansible.cli.inventory import InventoryCLI
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            try:
                InventoryCLI(["ansible-inventory", "-i", self.config, "--list"]).run()
            except SystemExit as exc:     # the CLI ends with sys.exit
                if exc.code not in (0, None):
                    raise
        return None, json.loads(output.getvalue())


def read_goal_limit(n, page_size):
    return int(math.ceil(float(n) / page_size)) + 10


# ------------------------------------------- 6b: the same inventory, written by hand

UNSAFE_KEY = "__ansible_unsafe"    # how `--list` writes a value that is data, not a template


class _Unsafe(str):
    """A string written with YAML's ``!unsafe`` tag: data, never templated (what the plugin's values are)."""


class _InventoryDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    pass


_InventoryDumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def _hand_written(value):
    """A ``--list`` value as a person writes it in a YAML inventory: ``{"__ansible_unsafe": x}`` -> ``!unsafe x``."""
    if isinstance(value, dict):
        if set(value) == {UNSAFE_KEY} and isinstance(value[UNSAFE_KEY], str):
            # ansible-core reads `!unsafe ''` as null: an empty string is written plain (it templates to itself).
            return _Unsafe(value[UNSAFE_KEY]) if value[UNSAFE_KEY] else ""
        return dict((key, _hand_written(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_hand_written(item) for item in value]
    return value


def static_inventory(listing):
    """A YAML inventory (as a dict) that holds the hosts, groups and variables of an ``ansible-inventory --list``.

    Written as a person would: every host once under ``all.hosts`` with its variables, each group with its
    hosts (no variables: ``--list`` shows each host's variables resolved, group variables included) and its
    children, in the order ``--list`` gives them.
    """
    hostvars = listing.get("_meta", {}).get("hostvars", {})
    groups = {}

    def group(name):
        entry = listing.get(name, {})
        result = {}
        if entry.get("hosts"):
            result["hosts"] = dict((host, None) for host in entry["hosts"])
        if entry.get("children"):
            result["children"] = dict((child, group(child)) for child in entry["children"])
        return result or None

    everyone = set(hostvars)
    for name, entry in listing.items():
        if name != "_meta":
            everyone.update(entry.get("hosts", []))
    top = {"hosts": dict((host, _hand_written(hostvars.get(host)) or None) for host in sorted(everyone))}
    children = listing.get("all", {}).get("children", [])
    if children:
        top["children"] = dict((child, group(child)) for child in children)
    groups["all"] = top
    return groups


def write_static_inventory(listing, path):
    with open(path, "w") as stream:
        stream.write("# The hosts, groups and variables of the plugin's `ansible-inventory --list`, by hand.\n")
        yaml.dump(static_inventory(listing), stream, Dumper=_InventoryDumper, default_flow_style=False,
                  sort_keys=False, allow_unicode=True, width=1000)
    return path


def _parsed(value):
    """A ``--list`` value as Ansible's decoder reads it: ``{"__ansible_unsafe": x}`` is the string x."""
    if isinstance(value, dict):
        if set(value) == {UNSAFE_KEY}:
            return value[UNSAFE_KEY]
        return dict((key, _parsed(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_parsed(item) for item in value]
    return value


def inventory_listing(listing):
    """A ``--list`` output for comparison: values parsed, group members and children as sets (their order is not
    the inventory's)."""
    result = {}
    for name, entry in listing.items():
        if name == "_meta":
            result[name] = {"hostvars": _parsed(entry.get("hostvars", {}))}
            continue
        result[name] = dict((key, sorted(value) if isinstance(value, list) else value) for key, value in entry.items())
    return result


def inventory_difference(plugin, static):
    """None when two ``--list`` outputs hold the same inventory, else a one-line description of the first difference."""
    a, b = inventory_listing(plugin), inventory_listing(static)
    for name in sorted(set(a) | set(b)):
        if name == "_meta":
            hosts_a, hosts_b = a[name].get("hostvars", {}), b.get(name, {}).get("hostvars", {})
            for host in sorted(set(hosts_a) | set(hosts_b)):
                if hosts_a.get(host) != hosts_b.get(host):
                    return "host %s: variables %r != %r" % (host, hosts_a.get(host), hosts_b.get(host))
            continue
        if a.get(name) != b.get(name):
            return "group %s: %r != %r" % (name, a.get(name), b.get(name))
    return None


class InventoryStatic(InventoryProcess):
    """``ansible-inventory --list`` over a static YAML inventory holding what the plugin's ``--list`` holds."""

    key = "m6.static"
