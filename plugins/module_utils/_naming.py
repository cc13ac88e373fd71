# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Naming: the Keycloak group name of a record and the Keycloak group paths of an offering.

An offering's groups live under ``/{base_group}/{slug}``, each named by the
offering's ``group_name_template`` or, by default, after UUIDs and the role.
The service plans with these rules; the admin-event logic (_events.py) finds
an offering's groups by the same paths.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import string
import uuid as uuidlib

from ansible_collections.waldur.keycloak.plugins.module_utils._message_text import shown
from ansible_collections.waldur.keycloak.plugins.module_utils._service_error import ServiceError
from ansible_collections.waldur.keycloak.plugins.module_utils._store_schema import NAME_MAX_LENGTH

TEMPLATE_VARIABLES = ("offering_uuid", "offering_name", "offering_slug", "resource_uuid", "resource_name",
                      "resource_slug", "role_name", "scope_id")


def hex_uuid(value):
    return uuidlib.UUID(value).hex if value else ""


def slugify(text):
    """The slug earlier versions derived from any name (non-ASCII letters dropped): only to recognise their groups."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "offering"


def check_group_name(name, argument, detail=""):
    """``name`` if the store and Keycloak can hold it as a group name; else an error naming ``argument``.

    Checked before planning, so that the message names the module argument the
    name came from, not a line of a store file that was never written.
    """
    rule = "A group name is 1 to %d characters without '/'." % NAME_MAX_LENGTH
    if not name.strip():
        raise ServiceError("%s: This field may not be blank." % argument, (rule + " " + detail).strip())
    if "/" in name or len(name) > NAME_MAX_LENGTH:
        raise ServiceError("%s: '%s' is not a valid group name." % (argument, shown(name)),
                           (rule + " " + detail).strip())
    return name


def group_name(offering, role, resource, scope_id):
    """The default name of a record's group: the offering's ``group_name_template``, or UUIDs and the role."""
    template = (offering.get("keycloak") or {}).get("group_name_template")
    if template:
        values = {
            "offering_uuid": hex_uuid(offering["uuid"]),
            "offering_name": offering["name"],
            "offering_slug": offering["slug"],
            "resource_uuid": hex_uuid(resource["uuid"]) if resource else "",
            "resource_name": resource["name"] if resource else "",
            "resource_slug": resource["slug"] if resource else "",
            "role_name": role["name"],
            "scope_id": scope_id or "",
        }
        try:
            name = string.Template(template).substitute(values)
        except KeyError as exc:
            raise ServiceError("group_name_template: unknown variable $%s in '%s'." % (exc.args[0], template),
                               "Known variables: %s." % ", ".join("$" + v for v in TEMPLATE_VARIABLES))
        except ValueError as exc:
            raise ServiceError("group_name_template: invalid template '%s'." % template, str(exc))
    else:
        parts = [hex_uuid(offering["uuid"]), scope_id or (hex_uuid(resource["uuid"]) if resource else ""),
                 role["name"]]
        name = "_".join(p for p in parts if p)
    return check_group_name(name, "name")


def offering_group_path(offering):
    """``/{base_group}/{slug}``: the parent of every group of the offering."""
    base = (offering.get("keycloak") or {}).get("base_group") or ""
    return "/" + "/".join(p for p in base.split("/") + [offering["slug"]] if p)


def group_path(offering, name):
    """The Keycloak path of the group ``name`` of the offering."""
    return "%s/%s" % (offering_group_path(offering), name)
