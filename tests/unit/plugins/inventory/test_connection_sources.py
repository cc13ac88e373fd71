# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ConnectionOptions: module params, plugin options and EDA args become the same client settings.

Each source is the real one: an AnsibleModule built from the collection's argument spec, the inventory plugin
loaded by Ansible's plugin loader (its documented options and ``env:`` entries), and a plain mapping of the
event source's args. Under tests/unit/plugins/inventory because the plugin loader is controller code, which
ansible-test units offers to the tests of plugins, not to those of module_utils.
"""

import json
import os
import subprocess
import sys

import pytest
from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.waldur.keycloak.plugins.module_utils._client import DEFAULT_PARALLELISM, KeycloakError
from ansible_collections.waldur.keycloak.plugins.module_utils._connection import (
    OPTIONS,
    ConnectionOptions,
    argument_spec,
)
from ansible_collections.waldur.keycloak.tests.unit.fakes import set_module_args

PASSWORD = "pw-S3cr3t-value"
SECRET = "cs-S3cr3t-value"
TOKEN = "tk-S3cr3t-value"

# What every source below is given, by its own names, and the client settings it must become.
EXPECTED = {
    "url": "https://sso.example.com", "auth_realm": "ops", "client_id": "waldur", "client_secret": SECRET,
    "username": "admin", "password": PASSWORD, "token": TOKEN, "validate_certs": False, "ca_path": "/etc/ca.pem",
    "timeout": 30, "parallelism": 3,
}
DEFAULTS = {
    "url": None, "auth_realm": "master", "client_id": "admin-cli", "client_secret": None, "username": None,
    "password": None, "token": None, "validate_certs": True, "ca_path": None, "timeout": 10,
    "parallelism": DEFAULT_PARALLELISM,
}
MODULE_ARGS = {
    "auth_keycloak_url": "https://sso.example.com", "auth_realm": "ops", "auth_client_id": "waldur",
    "auth_client_secret": SECRET, "auth_username": "admin", "auth_password": PASSWORD, "token": TOKEN,
    "validate_certs": False, "ca_path": "/etc/ca.pem", "connection_timeout": 30, "parallelism": 3,
}
# The event source's documented names (docs of extensions/eda/.../keycloak_admin_events.py), as text.
EDA_ARGS = {
    "realm": "hpc", "url": "https://sso.example.com", "auth_realm": "ops", "client_id": "waldur",
    "client_secret": SECRET, "username": "admin", "password": PASSWORD, "token": TOKEN, "validate_certs": "false",
    "ca_path": "/etc/ca.pem", "connection_timeout": "30", "parallelism": "3",
}
ENVIRONMENT = {
    "KEYCLOAK_URL": "https://sso.example.com", "KEYCLOAK_AUTH_REALM": "ops", "KEYCLOAK_CLIENT_ID": "waldur",
    "KEYCLOAK_CLIENT_SECRET": SECRET, "KEYCLOAK_USERNAME": "admin", "KEYCLOAK_PASSWORD": PASSWORD,
    "KEYCLOAK_TOKEN": TOKEN, "KEYCLOAK_VALIDATE_CERTS": "false", "KEYCLOAK_CA_PATH": "/etc/ca.pem",
    "KEYCLOAK_TIMEOUT": "30",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("KEYCLOAK_", "WALDUR_KEYCLOAK_")):
            monkeypatch.delenv(name)


def from_module(args, extra_spec=None):
    spec = argument_spec()
    spec.update(extra_spec or {})
    with set_module_args(args):
        module = AnsibleModule(argument_spec=spec)
    return ConnectionOptions.from_module_params(module.params)


# Run in a fresh interpreter: Ansible's plugin loader must load the collection itself (its metadata, the doc
# fragments the plugin's options come from), which it cannot once this test process has imported it by path.
INVENTORY_SCRIPT = """
import json, sys
from ansible.plugins.loader import init_plugin_loader, inventory_loader
init_plugin_loader()
plugin = inventory_loader.get("waldur.keycloak.offering_groups")
from ansible_collections.waldur.keycloak.plugins.module_utils._connection import ConnectionOptions
plugin.set_options(direct=dict(json.loads(sys.argv[1]), plugin="waldur.keycloak.offering_groups"))
options = ConnectionOptions.from_plugin(plugin)
json.dump({"settings": options.settings, "repr": repr(options), "parallelism": options.client("https://kc").parallelism
           if options.settings["username"] or options.settings["token"] else None}, sys.stdout)
"""


def child_environment():
    """The child sees what this process sees: its sys.path (ansible-test units puts ansible-core there, not in
    the interpreter's site-packages) and the collections tree this collection was imported from."""
    import ansible_collections.waldur.keycloak as collection
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(list(collection.__path__)[0]))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(p for p in (root, env.get("ANSIBLE_COLLECTIONS_PATH")) if p)
    return env


def inventory_run(options):
    process = subprocess.run([sys.executable, "-c", INVENTORY_SCRIPT, json.dumps(options)], capture_output=True,
                             text=True, check=False, timeout=60, env=child_environment())
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def from_inventory(options):
    return ConnectionOptions(inventory_run(options)["settings"])


PARALLELISM_SPEC = {"parallelism": dict(type="int", default=4)}   # as keycloak_offering_sync declares it


def test_the_module_argument_spec_is_the_documented_one():
    """Made from the table, it is what every module accepted before: names, aliases, types, defaults, fallbacks."""
    def fallback(variable):
        return (env_fallback, [variable])

    assert argument_spec() == {
        "auth_keycloak_url": dict(type="str", aliases=["url"], no_log=False, fallback=fallback("KEYCLOAK_URL")),
        "auth_realm": dict(type="str", default="master", fallback=fallback("KEYCLOAK_AUTH_REALM")),
        "auth_client_id": dict(type="str", default="admin-cli", fallback=fallback("KEYCLOAK_CLIENT_ID")),
        "auth_client_secret": dict(type="str", no_log=True, fallback=fallback("KEYCLOAK_CLIENT_SECRET")),
        "auth_username": dict(type="str", aliases=["username"], fallback=fallback("KEYCLOAK_USERNAME")),
        "auth_password": dict(type="str", no_log=True, aliases=["password"], fallback=fallback("KEYCLOAK_PASSWORD")),
        "token": dict(type="str", no_log=True, fallback=fallback("KEYCLOAK_TOKEN")),
        "validate_certs": dict(type="bool", default=True, fallback=fallback("KEYCLOAK_VALIDATE_CERTS")),
        "ca_path": dict(type="path", fallback=fallback("KEYCLOAK_CA_PATH")),
        "connection_timeout": dict(type="int", default=10, fallback=fallback("KEYCLOAK_TIMEOUT")),
    }


def test_every_source_maps_to_the_same_client_settings():
    assert from_module(MODULE_ARGS, PARALLELISM_SPEC).settings == EXPECTED
    assert from_inventory(MODULE_ARGS).settings == EXPECTED
    assert ConnectionOptions.from_mapping(EDA_ARGS).settings == EXPECTED
    # The event source's args may also use the modules' names.
    eda_args = dict((k, v) for k, v in MODULE_ARGS.items())
    assert ConnectionOptions.from_mapping(eda_args).settings == EXPECTED


def test_every_source_falls_back_to_the_same_environment(monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    expected = dict(EXPECTED, parallelism=DEFAULT_PARALLELISM)
    assert from_module({}).settings == expected
    assert from_inventory({}).settings == expected
    assert ConnectionOptions.from_mapping({"realm": "hpc"}).settings == expected
    # A given option wins over its variable, in every source.
    assert from_module({"auth_realm": "given"}).settings["auth_realm"] == "given"
    assert from_inventory({"auth_realm": "given"}).settings["auth_realm"] == "given"
    assert ConnectionOptions.from_mapping({"auth_realm": "given"}).settings["auth_realm"] == "given"


def test_without_options_or_environment_every_source_has_the_defaults():
    assert from_module({}).settings == DEFAULTS
    assert from_inventory({}).settings == DEFAULTS
    assert ConnectionOptions.from_mapping({}).settings == DEFAULTS


def test_the_table_names_each_environment_variable_and_client_setting_once():
    assert len(set(o.env for o in OPTIONS)) == len(OPTIONS)
    assert len(set(o.setting for o in OPTIONS)) == len(OPTIONS)
    assert set(DEFAULTS) == set(o.setting for o in OPTIONS) | {"parallelism"}


@pytest.mark.parametrize("args, setting, value", [
    # The event source's own name comes first, then the modules' name; an empty value is no value.
    ({"url": "https://a", "auth_keycloak_url": "https://b"}, "url", "https://a"),
    ({"url": "", "auth_keycloak_url": "https://b"}, "url", "https://b"),
    ({"secret": "s2", "auth_client_secret": "s3"}, "client_secret", "s2"),
    ({"client_secret": "s1", "secret": "s2"}, "client_secret", "s1"),
    ({"auth_username": "someone"}, "username", "someone"),
    ({"validate_certs": "no"}, "validate_certs", False),
    ({"validate_certs": True}, "validate_certs", True),
    ({"validate_certs": None}, "validate_certs", True),
    ({"connection_timeout": 0}, "timeout", 10),
    ({"ca_path": "~/ca.pem"}, "ca_path", os.path.expanduser("~/ca.pem")),
    ({"parallelism": 0}, "parallelism", 1),
    ({"parallelism": -3}, "parallelism", 1),
])
def test_mapping_names_and_values(args, setting, value):
    assert ConnectionOptions.from_mapping(args).settings[setting] == value


def test_parallelism_below_one_reads_one_at_a_time_in_modules_too():
    """keycloak_offering_sync writes max(1, parallelism) groups at a time; its reads now follow the same rule."""
    assert from_module({"parallelism": 0}, PARALLELISM_SPEC).settings["parallelism"] == 1
    assert from_inventory({"parallelism": 0}).settings["parallelism"] == 1
    assert inventory_run({"parallelism": 7, "token": TOKEN})["parallelism"] == 7


@pytest.mark.parametrize("args, message", [
    ({"validate_certs": "maybe"}, "validate_certs must be true or false, not 'maybe'"),
    ({"connection_timeout": "soon"}, "connection_timeout must be a whole number, not 'soon'"),
    ({"connection_timeout": 2.5}, "connection_timeout must be a whole number, not 2.5"),
    ({"parallelism": "many"}, "parallelism must be a whole number, not 'many'"),
])
def test_a_mapping_value_of_the_wrong_type_is_a_one_line_error(args, message):
    with pytest.raises(KeycloakError) as caught:
        ConnectionOptions.from_mapping(dict(args, password=PASSWORD))
    assert caught.value.message == message


def test_a_wrong_value_from_the_environment_is_named_too(monkeypatch):
    monkeypatch.setenv("KEYCLOAK_TIMEOUT", "ten")
    with pytest.raises(KeycloakError) as caught:
        ConnectionOptions.from_mapping({})
    assert caught.value.message == "connection_timeout must be a whole number, not 'ten'"


def test_the_client_is_built_from_the_settings_and_the_option_url_wins():
    options = ConnectionOptions.from_mapping(dict(EDA_ARGS, validate_certs=True, ca_path=None))
    client = options.client("https://offering.example.com")
    assert (client.base_url, client.auth_realm, client.client_id) == ("https://sso.example.com", "ops", "waldur")
    assert (client.timeout, client.parallelism, client.session.verify) == (30, 3, True)
    assert options.server("https://offering.example.com") == "https://sso.example.com"
    # Without the option, the offering's URL.
    bare = ConnectionOptions.from_mapping({"username": "admin", "password": PASSWORD})
    assert bare.server("https://offering.example.com") == "https://offering.example.com"
    assert bare.client("https://offering.example.com").base_url == "https://offering.example.com"
    assert bare.server(None) is None


def test_secrets_never_show_in_a_repr_or_an_error():
    texts = [inventory_run(MODULE_ARGS)["repr"]]
    for options in (from_module(MODULE_ARGS, PARALLELISM_SPEC), ConnectionOptions.from_mapping(EDA_ARGS)):
        texts += [repr(options), str(options), "%s" % options, "%r" % [options]]
    for text in texts:
        assert PASSWORD not in text and SECRET not in text and TOKEN not in text
        assert "password=********" in text and "client_secret=********" in text
        assert "username='admin'" in text
    # Unset secrets are shown as unset, not masked.
    assert "password=None" in repr(ConnectionOptions.from_mapping({}))
    # The client's refusals, with secrets given.
    cases = [
        ({"password": PASSWORD, "secret": SECRET}, "auth_keycloak_url is required (or set KEYCLOAK_URL)"),
        ({"url": "https://kc", "password": PASSWORD},
         "no credentials: give auth_username and auth_password, auth_client_secret, or token"),
        ({"url": "https://kc", "username": "admin", "client_secret": SECRET},
         "auth_password is required with auth_username"),
    ]
    for args, message in cases:
        with pytest.raises(KeycloakError) as caught:
            ConnectionOptions.from_mapping(args).client()
        assert caught.value.message == message


def test_options_compare_by_their_settings():
    assert ConnectionOptions.from_mapping(EDA_ARGS) == ConnectionOptions.from_mapping(dict(EDA_ARGS))
    assert ConnectionOptions.from_mapping(EDA_ARGS) != ConnectionOptions.from_mapping({})
