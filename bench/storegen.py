# -*- coding: utf-8 -*-
"""Stores of N declared groups, as a person (or Waldur's export) would write them.

One Keycloak-enabled offering, N/2 resources and 2 roles, so N groups named
``res-00042-admin`` / ``res-00042-member``; none linked yet, no members (measurement 7:
linked, with members, see MemberSpec).
"""

import uuid

NAMESPACE = uuid.UUID("0f3a9c52-8d1e-4b6a-9f47-2c5e8a1d7b90")
STAMP = "2026-11-28T12:00:00Z"
ROLES = ("admin", "member")
OFFERING_ATTRIBUTE = "waldur_offering_uuid"
GROUP_ATTRIBUTE = "waldur_group_uuid"


def _uid(*parts):
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


class Spec(object):
    """The declared groups of one benchmark store in ``realm``."""

    def __init__(self, realm, n):
        self.realm = realm
        self.n = n
        self.offering = _uid(realm, "offering")
        self.name = "Bench %s" % realm
        self.slug = "bench-%s" % realm
        self.roles = [_uid(realm, "role", r) for r in ROLES]
        self.resources = [_uid(realm, "resource", i) for i in range((n + len(ROLES) - 1) // len(ROLES))]
        self.groups = [(_uid(realm, "group", i), "res-%05d-%s" % (i // len(ROLES), ROLES[i % len(ROLES)]))
                       for i in range(n)]

    @property
    def root_path(self):
        return "/" + self.slug

    def root_body(self):
        """The POST that creates the offering's group, as keycloak_offering_sync sends it."""
        return {"name": self.slug, "attributes": {OFFERING_ATTRIBUTE: [self.offering]}}

    def group_bodies(self):
        """The POSTs that create the declared groups, as keycloak_offering_sync sends them."""
        return [{"name": name, "attributes": {OFFERING_ATTRIBUTE: [self.offering], GROUP_ATTRIBUTE: [group_uuid]}}
                for group_uuid, name in self.groups]

    def text(self, backend_ids=None, members=None, member_state=None):
        """The store; ``backend_ids``: the groups' Keycloak ids (linked), ``members``: usernames per group,
        written as a person declares them (``{username: ...}``: pending) or with ``member_state``."""
        lines = [
            "# Benchmark store: %d declared groups in realm %s." % (self.n, self.realm),
            "version: 1",
            "offerings:",
            "  - uuid: %s" % self.offering,
            "    name: %s" % self.name,
            "    slug: %s" % self.slug,
            "    keycloak:",
            "      realm: %s" % self.realm,
            '      group_name_template: "$resource_slug-$role_name"',
            "    roles:",
        ]
        lines += ["      - {uuid: %s, name: %s, scope_type: cluster}" % (u, r) for u, r in zip(self.roles, ROLES)]
        lines.append("    resources:")
        lines += ["      - {uuid: %s, name: res-%05d}" % (u, i) for i, u in enumerate(self.resources)]
        lines.append("groups:")
        for i, (group_uuid, name) in enumerate(self.groups):
            lines += [
                "  - uuid: %s" % group_uuid,
                "    name: %s" % name,
                '    backend_id: "%s"' % (backend_ids[i] if backend_ids else ""),
                "    offering: %s" % self.offering,
                "    role: %s" % self.roles[i % len(ROLES)],
                "    resource: %s" % self.resources[i // len(ROLES)],
                '    scope_id: ""',
                '    created: "%s"' % STAMP,
                '    modified: "%s"' % STAMP,
            ]
            if not members:
                lines.append("    members: []")
                continue
            state = ", state: %s" % member_state if member_state else ""
            lines.append("    members:")
            lines += ["      - {username: %s%s}" % (username, state) for username in members[i]]
        return "\n".join(lines) + "\n"

    def write(self, path, **options):
        with open(path, "w") as stream:
            stream.write(self.text(**options))
        return path


def store_text(realm, n):
    return Spec(realm, n).text()


class MemberSpec(Spec):
    """N groups with ``per_group`` members each, drawn in turn from ``users`` users (``user-00042``): every
    user is a member of about N x per_group / users groups, and no group holds a user twice."""

    def __init__(self, realm, n, per_group, users):
        super(MemberSpec, self).__init__(realm, n)
        if per_group > users:
            raise ValueError("%d members per group from %d users" % (per_group, users))
        self.per_group = per_group
        self.usernames = ["user-%05d" % i for i in range(users)]
        self.members = [[self.usernames[(i * per_group + j) % users] for j in range(per_group)] for i in range(n)]

    @property
    def memberships(self):
        return self.n * self.per_group
