# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one base every module of this collection is built on.

It owns the shared options (auth, store, offering), the checks for missing
libraries, the lazily built client and store, and the mapping of every known
error to a one-line ``fail_json``. A module is an argument spec plus a call
into the service.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.waldur.keycloak.plugins.module_utils._client import HAS_REQUESTS, REQUESTS_IMPORT_ERROR, KeycloakError
from ansible_collections.waldur.keycloak.plugins.module_utils._connection import ConnectionOptions
from ansible_collections.waldur.keycloak.plugins.module_utils._connection import argument_spec as connection_argument_spec
from ansible_collections.waldur.keycloak.plugins.module_utils._diff import plan_diff
from ansible_collections.waldur.keycloak.plugins.module_utils._message_text import one_line
from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store, StoreError
from ansible_collections.waldur.keycloak.plugins.module_utils._store_yaml import HAS_PYYAML, PYYAML_IMPORT_ERROR, gc_paused
from ansible_collections.waldur.keycloak.plugins.module_utils._plan import PlanError, execute
from ansible_collections.waldur.keycloak.plugins.module_utils._service import OfferingGroups
from ansible_collections.waldur.keycloak.plugins.module_utils._service_error import ServiceError


def auth_argument_spec():
    return connection_argument_spec()


def store_argument_spec():
    return dict(store=dict(type="path", fallback=(env_fallback, ["WALDUR_KEYCLOAK_STORE"])))


def offering_argument_spec(required=False):
    return dict(offering=dict(type="str", aliases=["offering_uuid"], required=required))


def shared_argument_spec():
    """The options of the action group ``waldur.keycloak.keycloak``: every module accepts all of them.

    Ansible applies a group's ``module_defaults`` to every module of the group, so a
    module that refused one of these would break a play that sets it once.
    """
    spec = auth_argument_spec()
    spec.update(store_argument_spec())
    spec.update(offering_argument_spec())
    return spec


def out_of_range(name, value, minimum, maximum):
    """The one-line message for an int option outside [minimum, maximum], or None (also when not given).

    An out-of-range page or size would otherwise answer with an empty or a full list.
    """
    if value is None:
        return None
    if value < minimum:
        return "%s: Ensure this value is greater than or equal to %d. Got %d." % (name, minimum, value)
    if maximum is not None and value > maximum:
        return "%s: Ensure this value is less than or equal to %d. Got %d." % (name, maximum, value)
    return None


class KeycloakModule(object):
    """AnsibleModule with this collection's shared options and error handling.

    ``connects=False``: the module never contacts Keycloak; it still accepts the
    connection options (see shared_argument_spec) and ignores them.
    """

    def __init__(self, argument_spec, connects=True, int_ranges=None, **kwargs):
        spec = shared_argument_spec()
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        for name, (minimum, maximum) in sorted((int_ranges or {}).items()):
            message = out_of_range(name, self.params.get(name), minimum, maximum)
            if message:
                self.module.fail_json(msg=one_line(message))
        if connects and not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        if not HAS_PYYAML:
            self.module.fail_json(msg=missing_required_lib("PyYAML"), exception=PYYAML_IMPORT_ERROR)
        self.connection = ConnectionOptions.from_module_params(self.params)
        self._clients = {}
        self._store = None

    # The client and the store are built on first use, so that a task that
    # needs only one of them never touches the other.

    def client(self, url=None):
        """A logged-in client; ``url`` is the offering's, used when no auth_keycloak_url is given."""
        server = self.connection.server(url)
        if server not in self._clients:
            self._clients[server] = self.connection.client(url).login()
        return self._clients[server]

    @property
    def store(self):
        if self._store is None:
            self._store = Store(self.params.get("store"))
        return self._store

    def service(self):
        """The domain service over the store's current data."""
        return OfferingGroups(self.store.load(), client_for=self.client)

    def apply(self, plan, parallelism=1, store_records_keycloak=False):
        """Execute ``plan`` (or, in check mode, only show it); return the result and the run context.

        The result always holds ``plan`` (the operations, in order) and ``diff``:
        check mode and apply mode report them from the same plan.

        ``store_records_keycloak``: the plan's store changes only record what Keycloak holds (a sync:
        links, member states), which the next run finds again from Keycloak. Then ``changed`` means
        Keycloak changed, a store that cannot be written is a warning, not a failure (a read-only
        checkout in AWX), and ``store_updated`` counts the records the store write changes.
        """
        ctx, store_changed = execute(plan, self.store, self.check_mode, parallelism=parallelism,
                                     store_optional=store_records_keycloak)
        result = {
            "changed": bool(plan.remote) if store_records_keycloak else plan.changed,
            "plan": plan.describe(ctx),
            "diff": plan_diff(plan, ctx, self.store.display_path),
        }
        if store_records_keycloak:
            result["store_updated"] = len(plan.records)
            result["store_written"] = bool(store_changed) and not self.check_mode
            if ctx.store_error:
                self.module.warn(one_line(
                    "%s; Keycloak is as the store declares it, and the next run finds the %d group(s) whose "
                    "links or member states were not recorded again (commit the store from a writable "
                    "checkout to record them)" % (ctx.store_error, len(plan.records))))
        return result, ctx

    def run(self, action):
        """Run ``action()`` and exit with its result dict, or fail with a one-line message."""
        try:
            # A module process is short-lived and its work (store, plan, diff: ~10 objects per group)
            # makes no reference cycles (none left after thousands of requests either), so the cyclic
            # collector, which would walk all of it again and again as it grows, waits until the task ends.
            with gc_paused():
                result = action()
        except ServiceError as exc:
            self.module.fail_json(msg=one_line(exc.message), **exc.result)
        except PlanError as exc:
            # What succeeded is done (and recorded in the store): the task did change things.
            self.module.fail_json(msg=one_line(exc.message), changed=exc.changed, done_operations=exc.done,
                                  failed_operations=exc.failed)
        except (KeycloakError, StoreError) as exc:
            # Messages quote names from Keycloak and the store: one line, no control character reaches a terminal.
            self.module.fail_json(msg=one_line(exc.message))
        except Exception as exc:  # pylint: disable=broad-except
            # Still one line for the user; the traceback is there for -vvv.
            self.module.fail_json(msg=one_line("unexpected error: %s: %s" % (type(exc).__name__,
                                                                             " ".join(str(exc).split()))),
                                  exception=traceback.format_exc())
        result.setdefault("changed", False)
        self._record_stats()
        self.module.exit_json(**result)

    def _record_stats(self):
        """With WALDUR_KEYCLOAK_STATS_FILE set, append how many HTTP requests this task sent.

        The benchmarks count requests this way: a counter in the client, not a guess.
        """
        path = os.environ.get("WALDUR_KEYCLOAK_STATS_FILE")
        if not path:
            return
        line = json.dumps({"module": self.module._name, "requests": sum(c.request_count for c in self._clients.values())})
        try:
            with open(path, "a") as stream:
                stream.write(line + "\n")
        except (IOError, OSError):
            pass
