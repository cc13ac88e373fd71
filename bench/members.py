# -*- coding: utf-8 -*-
"""Measurement 7: members at scale (issue 13, item 5).

Two stores whose groups declare members, each over the same 5,000 users: (a) 1,000 groups x 20 members
and (b) 10,000 groups x 2 members, 20,000 memberships each. For each shape and repeat two realms are
seeded alike (untimed: users by partial import, the offering's group and its N groups, so that the store
is linked and only the memberships are missing); then, timed:

- first apply: ``keycloak_offering_sync`` in-process (measure.Collection.sync) adds the 20,000
  memberships in one realm; the floor sends the same PUTs with bare requests, same parallelism, in the other;
- no-op re-apply: the same sync again over the store that first apply wrote (every member active),
  against the floor of the same member listings (one per group) with bare requests, same parallelism.

Request counts are what the design implies and are checked; how the users were resolved (the realm's
listing or one exact search each) and with how many requests is recorded.
"""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from common import CountingSession, Token
from measure import PARALLELISM, Unit, token_renewals
from storegen import MemberSpec

# name -> (groups, members per group, users in the realm)
SHAPES = {"a": (1000, 20, 5000), "b": (10000, 2, 5000)}
# Smoke (b) keeps (b)'s character: more groups than users, so memberships are read from the users' side.
SMOKE_SHAPES = {"a": (20, 5, 50), "b": (60, 2, 30)}
# (shape, run) -> the most the collection may take of its floor's time. (b)'s no-op must beat the per-group
# listings: it reads 5,000 users' groups instead of 10,000 groups' members.
TIME_GOALS = {("a", "noop"): 1.3, ("a", "first"): 1.5, ("b", "noop"): 0.8, ("b", "first"): 1.5}
IMPORT_CHUNK = 500
SPOT_CHECKS = 25       # groups whose members are verified with the setup client after each timed run


class MemberRealm(object):
    """A realm seeded for one shape (untimed): users, the offering's group, its N groups; no memberships."""

    def __init__(self, ctx, name, shape):
        n, per_group, users = shape
        admin = ctx.admin
        self.ctx = ctx
        self.name = name
        self.realm = admin.create_realm("m7%s" % name)
        self.spec = MemberSpec(self.realm, n, per_group, users)
        for start in range(0, users, IMPORT_CHUNK):
            batch = self.spec.usernames[start:start + IMPORT_CHUNK]
            admin.call("POST", "/realms/%s/partialImport" % self.realm,
                       json={"ifResourceExists": "FAIL", "users": [{"username": u, "enabled": True} for u in batch]})
        self.user_ids = dict((u["username"], u["id"]) for u in admin.listing("/realms/%s/users" % self.realm))
        if len(self.user_ids) != users:
            raise AssertionError("seeded %d users in %s, expected %d" % (len(self.user_ids), self.realm, users))
        self.root_id = admin.create_group(self.realm, self.spec.slug, attributes=self.spec.root_body()["attributes"])
        self.group_ids = admin.seed_children(self.realm, self.root_id, self.spec.group_bodies())
        # Linked, members declared as a person writes them ({username: ...}: pending until they are in Keycloak).
        self.store = self.spec.write(ctx.path("members-%s.yml" % name), backend_ids=self.group_ids,
                                     members=self.spec.members)

    def memberships(self):
        """(user id, group id) of every declared membership, group by group."""
        return [(self.user_ids[u], group_id) for group_id, names in zip(self.group_ids, self.spec.members)
                for u in names]

    def verify(self, key):
        """Every membership of a spread of groups is in Keycloak, and no other (through the setup client)."""
        step = max(1, self.spec.n // SPOT_CHECKS)
        for index in range(0, self.spec.n, step):
            listed = self.ctx.admin.call("GET", "/realms/%s/groups/%s/members" % (self.realm, self.group_ids[index]),
                                         params={"first": 0, "max": 1000, "briefRepresentation": "true"}).json()
            if sorted(u["username"] for u in listed) != sorted(self.spec.members[index]):
                raise AssertionError("%s: group %s holds %s, expected %s" % (
                    key, self.spec.groups[index][1], sorted(u["username"] for u in listed),
                    sorted(self.spec.members[index])))

    def delete(self):
        self.ctx.admin.delete_realm(self.realm)


class UserResolution(object):
    """Records a run's reads of users and memberships: each ``KeycloakClient.users_by_username`` call (usernames
    asked, users found), each bulk membership read (``members_of_groups`` per group, ``groups_of_users`` per
    user: items read), and the requests of each kind, told apart by their path as they are sent: the sync
    reads the offering's children side by side with these, so the client's counter over a call would count
    the children's pages too."""

    KINDS = (("resolve", re.compile(r"/users(/count)?$")), ("user", re.compile(r"/users/[^/]+/groups$")),
             ("group", re.compile(r"/groups/[^/]+/members$")))

    def __init__(self, client_class):
        self.client_class = client_class
        self.calls = []
        self.reads = {"group": 0, "user": 0}
        self.requests = {"resolve": 0, "group": 0, "user": 0}

    def __enter__(self):
        cls = self.client_class
        self.originals = dict((name, getattr(cls, name))
                              for name in ("users_by_username", "members_of_groups", "groups_of_users", "_send"))
        calls, reads, requests, originals = self.calls, self.reads, self.requests, self.originals
        lock = threading.Lock()

        def resolved(client, realm, usernames, count=None):
            usernames = list(usernames)
            found = originals["users_by_username"](client, realm, usernames, count=count)
            calls.append((len(set(u.lower() for u in usernames)), len(found)))
            return found

        def counted(name, side):
            def read(client, realm, ids, **options):
                ids = list(ids)
                reads[side] += len(set(ids))
                return originals[name](client, realm, ids, **options)
            return read

        def send(client, method, url, retry, **kwargs):
            path = urlsplit(url).path
            for kind, pattern in self.KINDS:
                if method == "GET" and pattern.search(path):
                    with lock:
                        requests[kind] += 1
                    break
            return originals["_send"](client, method, url, retry, **kwargs)

        cls.users_by_username = resolved
        cls.members_of_groups = counted("members_of_groups", "group")
        cls.groups_of_users = counted("groups_of_users", "user")
        cls._send = send
        return self

    def __exit__(self, *exc):
        for name, original in self.originals.items():
            setattr(self.client_class, name, original)
        return False

    def extra(self):
        asked = sum(c[0] for c in self.calls)
        sent = self.requests["resolve"]
        return {"users_wanted": asked, "users_requests": sent, "users_found": sum(c[1] for c in self.calls),
                "users_strategy": "none" if not self.calls else ("listing" if sent < asked else "exact searches"),
                "member_reads": {"strategy": "user" if self.reads["user"] else "group", "users": self.reads["user"],
                                 "groups": self.reads["group"],
                                 "requests": self.requests["user"] + self.requests["group"]}}


def pages(count, page_size):
    """Requests of a listing read until a short page."""
    return count // page_size + 1


def membership_reads(spec, page_size):
    """(strategy, requests) the sync's membership reads imply for ``spec``: the groups' members one listing each,
    or, where the users are fewer than the groups (counting the realm's user count and listing), the users'
    groups one listing each after the count. The rule of ``OfferingGroups._by_user_cheaper``, restated."""
    users, groups = len(set(u for names in spec.members for u in names)), spec.n
    lookup = min(pages(len(spec.usernames), page_size), users)
    if 2 < users < groups and lookup + users < groups:
        return "user", 1 + lookup + users        # the count, the listing's pages, one listing per user
    return "group", groups


class MemberUnit(Unit):
    """A timed run against a seeded MemberRealm; ``n`` is the number of groups."""

    kind = None       # "first" or "noop"
    side = None       # "collection" or "floor"

    def __init__(self, ctx, seeded, collection=None):
        super(MemberUnit, self).__init__(ctx, seeded.spec.n)
        self.seeded = seeded
        self.collection = collection
        self.key = "m7%s.%s.%s" % (seeded.name[0], self.side, self.kind)

    def shape(self):
        spec = self.seeded.spec
        return {"per_group": spec.per_group, "users": len(spec.usernames), "memberships": spec.memberships}

    def strategy_checked(self, extra, strategy):
        if extra["member_reads"]["strategy"] != strategy:
            raise AssertionError("%s: memberships read per %s, expected per %s" % (
                self.key, extra["member_reads"]["strategy"], strategy))

    def checked(self, requests, expected, **extra):
        """The Sample's extra fields; checks() compares the counts over every sample."""
        extra.update(self.shape(), expected_requests=expected)
        return requests, extra

    def measure(self):
        sample = super(MemberUnit, self).measure()
        sample.extra["token_renewals_allowed"] = token_renewals(sample.seconds)
        return sample


class CollectionSync(MemberUnit):
    """keycloak_offering_sync's code path over the seeded store, the requests of its user resolution recorded."""

    def run(self):
        with UserResolution(self.collection.client_module.KeycloakClient) as resolution:
            outcome = self.collection.sync(self.seeded.store)
        return outcome, resolution


class CollectionFirstApply(CollectionSync):
    kind, side = "first", "collection"

    def check(self, outcome):
        (result, requests, remote_ops), resolution = outcome
        spec = self.seeded.spec
        report = result["offerings"][0]
        if len(report["members_added"]) != spec.memberships or report["pending"] or report["created"]:
            raise AssertionError("%s: %d members added, %d pending, %d groups created" % (
                self.key, len(report["members_added"]), len(report["pending"]), len(report["created"])))
        self.seeded.verify(self.key)
        data = self.collection.store_module.Store(self.seeded.store).load()
        pending = sum(1 for g in data.groups for m in g["members"] if m["state"] != "active")
        if pending:
            raise AssertionError("%s: %d members still pending in the store" % (self.key, pending))
        page = self.ctx.page_size
        users = resolution.extra()
        # A token, the offering's group, its children, the memberships (per group, then the users' count and
        # listing; or per user after them), one PUT each.
        strategy, reads = membership_reads(spec, page)
        resolving = 0 if strategy == "user" else 1 + pages(len(spec.usernames), page)
        expected = 2 + pages(spec.n, self.ctx.children_page_size) + reads + resolving + spec.memberships
        self.strategy_checked(users, strategy)
        return self.checked(requests, expected, plan_remote_operations=remote_ops, **users)


class CollectionNoOp(CollectionSync):
    kind, side = "noop", "collection"

    def setup(self):
        with open(self.seeded.store, "rb") as stream:
            self.before = stream.read()

    def check(self, outcome):
        (result, requests, remote_ops), resolution = outcome
        if result["changed"] or remote_ops:
            raise AssertionError("%s: the re-apply planned %d operations" % (self.key, remote_ops))
        with open(self.seeded.store, "rb") as stream:
            if stream.read() != self.before:
                raise AssertionError("%s: the store changed" % self.key)
        spec = self.seeded.spec
        # A token, the offering's group, the memberships: its children and one listing per group (no user is
        # looked up), or the users' count, listing and groups, which confirm every link (each group holds one of
        # the users), so that the children are not listed.
        strategy, reads = membership_reads(spec, self.ctx.page_size)
        extra = resolution.extra()
        self.strategy_checked(extra, strategy)
        children = 0 if strategy == "user" else pages(spec.n, self.ctx.children_page_size)
        return self.checked(requests, 2 + children + reads, **extra)


class FloorUnit(MemberUnit):
    side = "floor"

    def bare(self, call, items):
        """``call(session, headers_of, item)`` for every item, PARALLELISM at a time, through a counting session."""
        session = CountingSession(pool_size=10)
        token = Token(session, self.ctx.url, self.ctx.username, self.ctx.password)
        token.header()
        with ThreadPoolExecutor(max_workers=PARALLELISM) as pool:
            results = list(pool.map(lambda item: call(session, token, item), items))
        return session.count, results


class FloorFirstApply(FloorUnit):
    """The same PUTs (one per membership), bare requests, same parallelism; the ids are known beforehand."""

    kind = "first"

    def setup(self):
        self.memberships = self.seeded.memberships()

    def run(self):
        base = "%s/admin/realms/%s/users" % (self.ctx.url, self.seeded.realm)

        def put(session, token, membership):
            user_id, group_id = membership
            response = session.put("%s/%s/groups/%s" % (base, user_id, group_id), headers=token.header(), timeout=60)
            response.raise_for_status()

        return self.bare(put, self.memberships)

    def check(self, outcome):
        count, _results = outcome
        self.seeded.verify(self.key)
        return self.checked(count, 1 + len(self.memberships))


class FloorNoOp(FloorUnit):
    """The same member listings (one per group, one page each), bare requests, same parallelism."""

    kind = "noop"

    def run(self):
        base = "%s/admin/realms/%s/groups" % (self.ctx.url, self.seeded.realm)
        params = {"first": 0, "max": self.ctx.page_size, "briefRepresentation": "true"}

        def listing(session, token, group_id):
            response = session.get("%s/%s/members" % (base, group_id), params=params, headers=token.header(),
                                   timeout=60)
            response.raise_for_status()
            return len(response.json())

        return self.bare(listing, self.seeded.group_ids)

    def check(self, outcome):
        count, sizes = outcome
        if sum(sizes) != self.seeded.spec.memberships:
            raise AssertionError("%s: listed %d memberships" % (self.key, sum(sizes)))
        return self.checked(count, 1 + self.seeded.spec.n)


def run(bench, smoke=False):
    """Measurement 7 for every shape: once per benchmark run, whatever N the other measurements use."""
    ctx, collection = bench.ctx, bench.collection
    shapes = SMOKE_SHAPES if smoke else SHAPES
    for name in sorted(shapes):
        # Its shapes are fixed, whatever N the run is at: the base repeats (3), not the large-N value the run
        # ends with (measurement 7 ran once per shape before).
        for rep in range(bench.base_repeats):
            mine = MemberRealm(ctx, name + "c", shapes[name])
            floor = MemberRealm(ctx, name + "f", shapes[name])
            try:
                sides = [(lambda: CollectionFirstApply(ctx, mine, collection),
                          lambda: CollectionNoOp(ctx, mine, collection)),
                         (lambda: FloorFirstApply(ctx, floor), lambda: FloorNoOp(ctx, floor))]
                if rep % 2:
                    sides.reverse()      # no side always runs first
                for first, _noop in sides:
                    bench.record(first())
                for _first, noop in sides:
                    bench.record(noop())
            finally:
                mine.delete()
                floor.delete()


# ------------------------------------------------------------------ report

def checks(samples):
    """The request counts of measurement 7: ``[(ok, text)]``."""
    result = []
    for key in sorted(k for k in samples if k.startswith("m7")):
        for n, runs in sorted(samples[key].items()):
            ok = all(s["expected_requests"] <= s["requests"] <= s["expected_requests"] + s["token_renewals_allowed"]
                     for s in runs)
            result.append((ok, "measurement 7%s, %s, %s groups x %d members: %s requests; expected %s" % (
                key[2], key.split(".", 1)[1], "{:,}".format(n), runs[0]["per_group"],
                ", ".join(str(s["requests"]) for s in runs), "{:,}".format(runs[0]["expected_requests"]))))
    return result


# Why a goal of measurement 7 is missed when it is (from pyinstrument profiles of the same units, run by hand).
WHY = (
    "The floor makes only the requests named in its row; before it adds any member the sync reads the "
    "memberships (so that it plans only the missing ones and check mode shows exactly what apply does): per "
    "group in (a), per user in (b), whose 10,000 groups are read as 5,000 users' groups; and the offering's "
    "children (brief, ⌊N/400⌋ + 1 pages) unless the users' groups confirm every link, as in (b)'s no-op. "
    "(b)'s first apply, timed call by call on the same quiet machine after this run's code (one sync, a realm "
    "seeded just before, as here): 59.4 s = store load 0.9 s + the reads 14.5 s (the children, cold, and the "
    "5,000 users' groups side by side; read one after the other they took 8.9 s + 10.2 s = 19.1 s) + planning "
    "0.8 s + the 20,000 PUTs and the store write 38.9 s (the store 1.9 s) + the diff of 10,000 records and "
    "10,000 groups 4.1 s. The reads are Keycloak's work: its 2 CPUs serve both listings at once, so side by side "
    "saves a quarter, not half; in a first apply no membership exists yet, so the users' groups cannot confirm "
    "the links and the children must be listed. What remains beyond the PUTs is the reads (0.4× the floor) and "
    "~8 s of Python (load, plan, diff, store), which together make the 1.5-1.8× of the three repeats. "
    "Tried and kept: memberships from the users' side (no-op 1.75× -> 1.05×), links confirmed by the users' "
    "groups so a no-op lists no children (1.05× -> 0.60×), the children and the users' groups read side by "
    "side (first apply reads 19.1 s -> 14.5 s), pages of 400 children (9 s -> 5 s warm), a brief listing. "
    "Not tried: a diff writer faster than PyYAML's representer (the diff's 4.1 s is 40,000 YAML texts)."
)
