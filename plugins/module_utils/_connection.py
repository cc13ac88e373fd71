# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One way from connection options to a client.

Modules (AnsibleModule params), the inventory plugin (``get_option``) and the
EDA event source (a plain mapping of its args) name the same settings. The
table below says, once, what each option is called, which environment variable
it falls back to and which client setting it becomes; ``ConnectionOptions``
reads it from any of the three and builds the client. Modules and plugins
already apply the fallbacks and types of their own frameworks (the module
argument spec is made from this table); a mapping gets them here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections import namedtuple

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.waldur.keycloak.plugins.module_utils._client import (
    DEFAULT_PARALLELISM,
    KeycloakClient,
    KeycloakError,
)

# name: the option of modules and plugins; setting: the KeycloakClient argument; aliases: the module's other names;
# names: every name a mapping (the EDA source's args) may use, the first one given wins; env: the fallback variable.
Option = namedtuple("Option", "name setting aliases names env kind default secret")

OPTIONS = (
    Option("auth_keycloak_url", "url", ("url",), ("url", "auth_keycloak_url"), "KEYCLOAK_URL", "str", None, False),
    Option("auth_realm", "auth_realm", (), ("auth_realm",), "KEYCLOAK_AUTH_REALM", "str", "master", False),
    Option("auth_client_id", "client_id", (), ("client_id", "auth_client_id"), "KEYCLOAK_CLIENT_ID", "str",
           "admin-cli", False),
    Option("auth_client_secret", "client_secret", (), ("client_secret", "secret", "auth_client_secret"),
           "KEYCLOAK_CLIENT_SECRET", "str", None, True),
    Option("auth_username", "username", ("username",), ("username", "auth_username"), "KEYCLOAK_USERNAME", "str",
           None, False),
    Option("auth_password", "password", ("password",), ("password", "auth_password"), "KEYCLOAK_PASSWORD", "str",
           None, True),
    Option("token", "token", (), ("token",), "KEYCLOAK_TOKEN", "str", None, True),
    Option("validate_certs", "validate_certs", (), ("validate_certs",), "KEYCLOAK_VALIDATE_CERTS", "bool", True,
           False),
    Option("ca_path", "ca_path", (), ("ca_path",), "KEYCLOAK_CA_PATH", "path", None, False),
    Option("connection_timeout", "timeout", (), ("connection_timeout",), "KEYCLOAK_TIMEOUT", "int", 10, False),
)
# Not a connection option of every module (keycloak_offering_sync and the inventory plugin have it), but a client
# setting all the same: how many reads one client sends at a time.
BY_NAME = dict((option.name, option) for option in OPTIONS)
PARALLELISM = Option("parallelism", "parallelism", (), ("parallelism",), None, "int", DEFAULT_PARALLELISM, False)

MASK = "********"


def argument_spec():
    """The connection options of every module (see the ``auth`` doc fragment), with their environment fallbacks."""
    spec = {}
    for option in OPTIONS:
        entry = dict(type=option.kind, fallback=(env_fallback, [option.env]))
        if option.aliases:
            entry["aliases"] = list(option.aliases)
        if option.default is not None:
            entry["default"] = option.default
        if option.secret:
            entry["no_log"] = True
        elif option.name == "auth_keycloak_url":
            # Its name holds "key": the sanity test would ask whether it is a secret. It is not.
            entry["no_log"] = False
        spec[option.name] = entry
    return spec


def _missing(value):
    return value is None or value == ""


def _typed(option, value):
    """``value`` (from a mapping or the environment: any type, often text) as ``option.kind``; a one-line error."""
    if option.kind == "bool":
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise KeycloakError("%s must be true or false, not %s" % (option.name, _shown(value)))
    if option.kind == "int":
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        except (TypeError, ValueError):
            raise KeycloakError("%s must be a whole number, not %s" % (option.name, _shown(value)))
    if option.kind == "path":
        return os.path.expanduser(os.path.expandvars(str(value)))
    return str(value)


def _shown(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class ConnectionOptions(object):
    """The client settings of one module, plugin or event source; ``client()`` builds the client from them.

    ``settings`` holds KeycloakClient's keyword arguments. Secrets are in it, so it is never shown:
    ``repr()`` masks them, and the client's own errors never hold them.
    """

    def __init__(self, settings):
        self.settings = settings

    @classmethod
    def from_module_params(cls, params):
        """From AnsibleModule params: already typed, with their environment fallbacks and defaults applied."""
        return cls._from(lambda option: params.get(option.name))

    @classmethod
    def from_plugin(cls, plugin):
        """From a plugin's options (``get_option``), typed and with their ``env:`` fallbacks applied by Ansible.

        A plugin that does not document ``parallelism`` gets the client's default.
        """
        def get(option):
            try:
                return plugin.get_option(option.name)
            except KeyError:
                return None
        return cls._from(get)

    @classmethod
    def from_mapping(cls, args):
        """From plain args (the EDA source's): any name of ``Option.names``, then the environment, then the default.

        Values are typed here (text from a rulebook or the environment); a value of the wrong type is a one-line
        KeycloakError that names the option.
        """
        def get(option):
            for name in option.names:
                if not _missing(args.get(name)):
                    return _typed(option, args[name])
            if option.env and not _missing(os.environ.get(option.env)):
                return _typed(option, os.environ[option.env])
            return None
        return cls._from(get)

    @classmethod
    def _from(cls, get):
        settings = {}
        for option in OPTIONS + (PARALLELISM,):
            value = get(option)
            settings[option.setting] = option.default if _missing(value) else value
        # 0 or less reads one at a time, as keycloak_offering_sync writes; a timeout of 0 is the default.
        settings["parallelism"] = max(1, settings["parallelism"])
        settings["timeout"] = settings["timeout"] or BY_NAME["connection_timeout"].default
        return cls(settings)

    @property
    def url(self):
        return self.settings["url"]

    def server(self, default_url=None):
        """The URL the client talks to: the option's, else ``default_url`` (an offering's ``keycloak.url``)."""
        return self.url or default_url or None

    def client(self, default_url=None):
        """A new client (not logged in yet) for ``server(default_url)``; KeycloakError if the settings cannot work."""
        return KeycloakClient(**dict(self.settings, url=self.server(default_url)))

    def __repr__(self):
        secret = set(option.setting for option in OPTIONS if option.secret)
        shown = ", ".join("%s=%s" % (key, MASK if key in secret and value else repr(value))
                          for key, value in sorted(self.settings.items()))
        return "ConnectionOptions(%s)" % shown

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, ConnectionOptions) and self.settings == other.settings

    def __ne__(self, other):
        return not self == other

    __hash__ = None
