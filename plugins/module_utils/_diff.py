# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The diff of a plan, as Ansible shows it: each store record and each touched Keycloak group, before and after.

Both sides are block YAML (JSON without PyYAML), so that a check-mode run reads
as a drift report; the headers name the store file or the realm and group path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.waldur.keycloak.plugins.module_utils._message_text import one_line
from ansible_collections.waldur.keycloak.plugins.module_utils._plan import (
    AddMember,
    CreateGroup,
    DeleteGroup,
    MembershipOperation,
    RenameGroup,
    UnmarkGroup,
)

try:
    import yaml
except ImportError:
    HAS_PYYAML = False
else:
    HAS_PYYAML = True
    # Text with a line break (LF, CR, NEL, LS, PS) is written double-quoted, the breaks as escapes: one
    # value stays one line of the diff, and reads back as itself (a plain or single-quoted NEL folds into
    # a space, and a terminal may show it as a new line).
    _LINE_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")

    def _represent_text(dumper, text):
        return dumper.represent_scalar("tag:yaml.org,2002:str", text,
                                       style='"' if _LINE_BREAKS.search(text) else None)

    class _SlowDiffDumper(yaml.SafeDumper):
        pass

    # libyaml's emitter writes the same text as PyYAML's own, about 4x faster: a first apply of
    # 10,000 groups shows 20,000 records and groups in its diff.
    class _DiffDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        pass

    for _dumper in (_SlowDiffDumper, _DiffDumper):
        _dumper.add_representer(str, _represent_text)


def plan_diff(plan, ctx, store_path):
    """Ansible diffs of ``plan``: each store record, then each touched Keycloak group, before and after as YAML."""
    diffs = []
    for change in plan.records:
        after = ctx.resolve(change.after, for_display=True) if change.after else None
        # Headers are one line each: names from the store or Keycloak carry no control character there.
        diffs.append({
            "before_header": one_line("%s: group %s" % (store_path, _record_label(change.before or after))),
            "after_header": one_line("%s: group %s" % (store_path, _record_label(after or change.before))),
            "before": _diff_text(change.before),
            "after": _diff_text(after),
        })
    for group in _remote_groups(plan.remote, ctx):
        diffs.append({
            "before_header": one_line("keycloak realm %s: group %s" % (group["realm"],
                                                                       group["before_path"] or "(absent)")),
            "after_header": one_line("keycloak realm %s: group %s" % (group["realm"],
                                                                      group["after_path"] or "(absent)")),
            # Path, name, members: in the order a reader looks for them.
            "before": _yaml_text(group["before"], sort_keys=False),
            "after": _yaml_text(group["after"], sort_keys=False),
        })
    return diffs


# Written on every update: showing it would make each diff look like a change of its own.
_DIFF_HIDDEN = ("modified",)


def _record_label(record):
    if record.get("name"):
        return "%s (%s)" % (record["name"], record["uuid"])
    return record["uuid"]


def _diff_text(record):
    if not record:
        return ""
    shown = dict((k, v) for k, v in record.items() if k not in _DIFF_HIDDEN)
    if shown.get("members"):
        shown["members"] = sorted(shown["members"], key=lambda m: m["username"].lower())
    return _yaml_text(shown)


def _yaml_text(data, sort_keys=True):
    """``data`` as block YAML, or "" for an absent group or record."""
    if not data:
        return ""
    if HAS_PYYAML:
        try:
            text = yaml.dump(data, Dumper=_DiffDumper, default_flow_style=False, sort_keys=sort_keys,
                             allow_unicode=True, width=1000)
            if "\\" in text:
                # An escape: libyaml escapes some characters that PyYAML's own emitter writes as they
                # are (beyond the BMP: an emoji in a name; NEL), so such rare text takes the slow path.
                text = yaml.dump(data, Dumper=_SlowDiffDumper, default_flow_style=False, sort_keys=sort_keys,
                                 allow_unicode=True, width=1000)
            return text
        except yaml.YAMLError:
            pass   # a value safe_dump does not know (a str subclass): JSON below
    # JSON is YAML too; without PyYAML on the target the diff stays readable.
    return json.dumps(data, indent=2, ensure_ascii=False, default=str, sort_keys=sort_keys) + "\n"


def _parent_path(group_path):
    return group_path.rsplit("/", 1)[0] if "/" in group_path else ""


def _remote_groups(operations, ctx):
    """The Keycloak groups the operations touch, each with its state before and after the plan.

    Members are the group's members before the plan where the planner read them (``current``), otherwise
    only those the plan adds or removes; a rename changes the name and the path, not the members.
    """
    groups, order = {}, []

    def group_for(key, operation, group_path):
        if key not in groups:
            groups[key] = {"realm": operation.realm, "before_path": group_path, "after_path": group_path,
                           "before_name": group_path.rsplit("/", 1)[-1], "after_name": group_path.rsplit("/", 1)[-1],
                           "before_members": None, "added": [], "removed": [], "deleted": False}
            order.append(key)
        return groups[key]

    for operation in operations:
        if isinstance(operation, CreateGroup):
            group = group_for(operation.ref, operation, operation.target)
            group["before_path"] = None
            group["before_members"] = []
        elif isinstance(operation, RenameGroup):
            group = group_for(operation.details["id"], operation, operation.target)
            old_name, new_name = operation.details["name"]
            group["before_name"], group["after_name"] = old_name, new_name
            parent = _parent_path(group["before_path"])
            group["after_path"] = "%s/%s" % (parent, new_name) if group["before_path"].startswith("/") else new_name
        elif isinstance(operation, DeleteGroup):
            group = group_for(operation.details["id"], operation, operation.target)
            group["before_members"] = list(operation.details.get("members") or [])
            group["deleted"] = True
        elif isinstance(operation, UnmarkGroup):
            group = group_for(operation.details["id"], operation, operation.target)
            group["unmarked"] = list(operation.details["attributes"])
        elif isinstance(operation, MembershipOperation):
            key = operation.group_id
            group = group_for(key, operation, operation.target)
            if group["before_members"] is None and operation.current is not None:
                group["before_members"] = list(operation.current)
            group["added" if isinstance(operation, AddMember) else "removed"].append(operation.details["username"])

    result = []
    for key in order:
        group = groups[key]
        before_members = group["before_members"]
        if before_members is None:
            before_members = list(group["removed"])
        removed = set(u.lower() for u in group["removed"])
        after_members = [u for u in before_members if u.lower() not in removed]
        after_members += [u for u in group["added"] if u.lower() not in set(m.lower() for m in after_members)]
        before = after = None
        if group["before_path"] is not None:
            before = {"path": group["before_path"], "name": group["before_name"]}
            if before_members or group["added"] or group["removed"]:
                before["members"] = sorted(before_members, key=str.lower)
            if group.get("unmarked"):
                before["attributes"] = group["unmarked"]
        if not group["deleted"]:
            after = {"path": group["after_path"], "name": group["after_name"]}
            if after_members or group["added"] or group["removed"]:
                after["members"] = sorted(after_members, key=str.lower)
        result.append({"realm": group["realm"], "before": before, "after": after,
                       "before_path": group["before_path"], "after_path": None if group["deleted"] else
                       group["after_path"]})
    return result
