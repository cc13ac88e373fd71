# -*- coding: utf-8 -*-
"""Stores of N declared groups, as a person (or Waldur's export) would write them.

One Keycloak-enabled offering, N/2 resources and 2 roles, so N groups named
``res-00042-admin`` / ``res-00042-member``; none linked yet, no members.
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

    def text(self):
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
                '    backend_id: ""',
                "    offering: %s" % self.offering,
                "    role: %s" % self.roles[i % len(ROLES)],
                "    resource: %s" % self.resources[i // len(ROLES)],
                '    scope_id: ""',
                '    created: "%s"' % STAMP,
                '    modified: "%s"' % STAMP,
                "    members: []",
            ]
        return "\n".join(lines) + "\n"

    def write(self, path):
        with open(path, "w") as stream:
            stream.write(self.text())
        return path


def store_text(realm, n):
    return Spec(realm, n).text()
