# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""keycloak_admin_event_info's main(): reads one event file of the event source; no store, no Keycloak."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.waldur.keycloak.plugins.modules.keycloak_admin_event_info import main

REF = "1796025345230-abc"


def write_event(directory, ref=REF, **event):
    event.setdefault("ref", ref)
    (directory / (ref + ".json")).write_text(json.dumps({"keycloak": event}))


def test_event_dir_and_ref_or_refs_are_required(run_module, tmp_path):
    result = run_module(main, {})
    assert result["failed"] is True and result["msg"] == "missing required arguments: event_dir"
    result = run_module(main, {"event_dir": str(tmp_path)})
    assert result["failed"] is True and result["msg"] == "one of the following is required: ref, refs"
    result = run_module(main, {"event_dir": str(tmp_path), "ref": REF, "refs": [REF]})
    assert result["failed"] is True and result["msg"] == "parameters are mutually exclusive: ref|refs"


def test_reads_the_event_and_says_what_changed(run_module, tmp_path):
    write_event(tmp_path, operation="DELETE", resource_type="GROUP_MEMBERSHIP", group_path="/hpc/pi", username="bob")
    result = run_module(main, {"event_dir": str(tmp_path), "ref": REF}, check_mode=True)
    assert result["changed"] is False
    assert result["event"]["username"] == "bob"
    assert result["change"] == "DELETE GROUP_MEMBERSHIP /hpc/pi (bob)"


def test_a_ref_that_is_no_event_reference_is_refused_before_any_file_is_read(run_module, tmp_path):
    result = run_module(main, {"event_dir": str(tmp_path), "ref": "../../etc/passwd"})
    assert result["failed"] is True
    assert result["msg"] == ('ref "../../etc/passwd" is not an event reference of '
                             "waldur.keycloak.keycloak_admin_events (<time>-<id>)")


def test_a_missing_event_is_one_line(run_module, tmp_path):
    result = run_module(main, {"event_dir": str(tmp_path), "ref": REF})
    assert result["failed"] is True
    assert result["msg"] == "event %s cannot be read: No such file or directory" % (tmp_path / (REF + ".json"))
