# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The runner's failure message: it promises a rerun finishes the job only when a rerun can."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.waldur.keycloak.plugins.module_utils._client import KeycloakError, RealmNotFound
from ansible_collections.waldur.keycloak.plugins.module_utils._plan import (
    AddMember,
    Plan,
    PlanError,
    execute,
)


class FailingClient(object):
    """add_user_to_group fails with the given errors, one per call, in order."""

    def __init__(self, errors):
        self.errors = list(errors)

    def add_user_to_group(self, realm, user_id, group_id):
        error = self.errors.pop(0)
        if error is not None:
            raise error


class NoStore(object):
    def update(self, mutate, check_mode=False):
        raise AssertionError("no record change was planned")


def run(errors):
    client = FailingClient(errors)
    plan = Plan()
    for index in range(len(errors)):
        plan.add(AddMember(client, "hpc", "/g%d" % index, "g%d" % index, "user%d" % index, "u%d" % index),
                 lane="g%d" % index)
    with pytest.raises(PlanError) as raised:
        execute(plan, NoStore(), check_mode=False)
    return raised.value.message


FORBIDDEN = KeycloakError("Keycloak answered 403 to PUT /admin/realms/hpc/users/u/groups/g: HTTP 403 Forbidden "
                          "(the account may not change this: ...manage-users)", status=403)
GONE = RealmNotFound("hpc", "https://kc.example.com")
BUSY = KeycloakError("Keycloak answered 500 to PUT /x: boom", status=500)
UNREACHABLE = KeycloakError("cannot reach Keycloak at https://kc.example.com: Connection refused")


@pytest.mark.parametrize("errors", [[BUSY], [UNREACHABLE], [None, BUSY]])
def test_a_failure_a_rerun_can_get_past_promises_the_rerun(errors):
    message = run(errors)
    assert message.endswith("what succeeded is recorded in the store, a rerun finishes the job"), message


@pytest.mark.parametrize("errors", [[FORBIDDEN], [BUSY, FORBIDDEN], [None, FORBIDDEN]])
def test_after_a_403_the_message_asks_for_the_permission_not_a_rerun(errors):
    message = run(errors)
    assert "a rerun finishes the job" not in message, message
    assert message.endswith("a rerun cannot finish the job until the account is granted the missing permission"), (
        message)


@pytest.mark.parametrize("errors", [[GONE], [FORBIDDEN, GONE]])
def test_after_a_missing_realm_the_message_asks_for_the_realm_not_a_rerun(errors):
    message = run(errors)
    assert "a rerun finishes the job" not in message, message
    assert message.startswith("add_member /g0 failed: "), message
    assert message.endswith("a rerun cannot finish the job while realm 'hpc' does not exist: correct the offering's "
                            "keycloak.realm in the store (or create the realm), then rerun"), message
    assert "\n" not in message
