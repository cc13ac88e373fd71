# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""KeycloakModule.run(): every error a module can meet becomes one fail_json line, without a traceback in msg."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError
from ansible_collections.waldur.keycloak.plugins.module_utils._module import KeycloakModule
from ansible_collections.waldur.keycloak.plugins.module_utils._plan import PlanError
from ansible_collections.waldur.keycloak.plugins.module_utils._service_error import ServiceError
from ansible_collections.waldur.keycloak.plugins.module_utils._store import StoreError
from ansible_collections.waldur.keycloak.tests.unit.fakes import O1

HOSTILE = "name 'a\nb\r\x1b[31mred\x07' here"   # text from Keycloak or the store: must not break the line


def main_running(action, **options):
    """A module's main(): a KeycloakModule whose run() calls ``action(module)``."""

    def main():
        module = KeycloakModule(dict(page=dict(type="int")), **options)
        module.run(lambda: action(module))

    return main


def raising(exc):
    def action(module):
        raise exc
    return action


def assert_one_clean_line(msg):
    assert "\n" not in msg and "\r" not in msg and "\x1b" not in msg and "\x07" not in msg, repr(msg)
    assert "Traceback" not in msg and "File \"" not in msg, msg


def test_a_result_is_returned_with_changed_false_unless_it_says(run_module, store_path):
    assert run_module(main_running(lambda m: {"answer": 42}), {"store": store_path}) == {
        "answer": 42, "changed": False}
    assert run_module(main_running(lambda m: {"changed": True}), {"store": store_path})["changed"] is True


def test_service_error_keeps_its_message_and_result_fields(run_module, store_path):
    result = run_module(main_running(raising(ServiceError("Unable to connect to Keycloak.", "refused", status="error"))),
                        {"store": store_path})
    assert result["failed"] is True
    assert result["msg"] == "Unable to connect to Keycloak. refused"
    assert result["status"] == "error"
    assert not result.get("changed")


@pytest.mark.parametrize("exc", [ServiceError(HOSTILE), PlanError(HOSTILE, [], []), KeycloakError("x"),
                                 StoreError("x")], ids=["ServiceError", "PlanError", "KeycloakError", "StoreError"])
def test_every_known_error_is_one_line_without_control_characters(run_module, store_path, exc):
    exc.message = HOSTILE   # as if the text had reached the message after the constructor's own cleaning
    result = run_module(main_running(raising(exc)), {"store": store_path})
    assert result["failed"] is True
    assert result["msg"] == "name 'a b [31mred ' here"   # each run of control characters: one space
    assert_one_clean_line(result["msg"])
    assert "exception" not in result   # a known error is the whole story: no traceback even for -vvv


def test_plan_error_reports_what_was_done_and_changed_true(run_module, store_path):
    done, failed = [{"action": "create_group", "path": "/a"}], [{"action": "add_member", "path": "/a"}]
    result = run_module(main_running(raising(PlanError("add_member /a failed: boom", done, failed))),
                        {"store": store_path})
    assert result["failed"] is True and result["msg"] == "add_member /a failed: boom"
    assert result["changed"] is True
    assert (result["done_operations"], result["failed_operations"]) == (done, failed)


def test_plan_error_before_anything_was_done_is_not_a_change(run_module, store_path):
    result = run_module(main_running(raising(PlanError("create_group /a failed: boom", [], [{"action": "x"}]))),
                        {"store": store_path})
    assert result["failed"] is True and result["changed"] is False


def test_plan_error_after_a_store_write_is_a_change(run_module, store_path):
    result = run_module(main_running(raising(PlanError("boom", [], [], store_changed=True))), {"store": store_path})
    assert result["changed"] is True


@pytest.mark.parametrize("exc", [KeycloakError("cannot reach Keycloak at https://kc: Connection refused"),
                                 StoreError("offerings.yml:3: offerings[0].uuid: not a UUID")])
def test_keycloak_and_store_errors_are_their_message(run_module, store_path, exc):
    result = run_module(main_running(raising(exc)), {"store": store_path})
    assert result["failed"] is True and result["msg"] == exc.message
    assert not result.get("changed")


def test_an_unexpected_exception_is_one_line_naming_its_type_with_the_traceback_apart(run_module, store_path):
    result = run_module(main_running(raising(RuntimeError("boom\n   second line\tand a tab"))), {"store": store_path})
    assert result["failed"] is True
    assert result["msg"] == "unexpected error: RuntimeError: boom second line and a tab"
    assert_one_clean_line(result["msg"])
    # The traceback is kept for -vvv, apart from msg.
    assert result["exception"].startswith("Traceback") and "RuntimeError" in result["exception"]


def test_a_login_failure_while_the_action_runs_is_a_keycloak_error(run_module, store_path, keycloak, monkeypatch):
    from ansible_collections.waldur.keycloak.plugins.module_utils._connection import ConnectionOptions

    class Refused(object):
        def login(self):
            raise KeycloakError("authentication failed for user 'admin' at https://kc: Invalid user credentials")

    monkeypatch.setattr(ConnectionOptions, "client", lambda options, default_url=None: Refused())
    result = run_module(main_running(lambda m: m.service().test_connection(offering_ref=O1)),
                        {"store": store_path, "auth_password": "pw-S3cr3t"})
    assert result["failed"] is True
    assert result["msg"] == ("Unable to connect to Keycloak. authentication failed for user 'admin' at https://kc: "
                             "Invalid user credentials")
    assert "pw-S3cr3t" not in str(result)


def test_an_int_option_out_of_range_fails_before_the_action(run_module, store_path):
    ran = []
    main = main_running(lambda m: ran.append(1) or {}, int_ranges={"page": (1, None)})
    result = run_module(main, {"store": store_path, "page": 0})
    assert result["failed"] is True and result["msg"] == "page: Ensure this value is greater than or equal to 1. Got 0."
    assert ran == []
