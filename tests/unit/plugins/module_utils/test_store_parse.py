# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The store's single parse: same data as PyYAML's loader, one parse per task, a read-back guard."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import gc
import os

import pytest
import yaml

from ansible_collections.waldur.keycloak.plugins.module_utils import _store, _store_yaml
from ansible_collections.waldur.keycloak.plugins.module_utils._store import Store, StoreError

from ansible_collections.waldur.keycloak.tests.unit.fakes import COMMENTED_FLUSH, COMMENTED_INDENTED, G1, G2, STYLES, VALID_YAML

TRICKY = [
    pytest.param("a: 1\nb: [1, 2.5, yes, no, ~, null, '', 2026-01-01, 2026-01-01T10:00:00Z, 0x1F, '123', 1_000]\n",
                 id="scalars"),
    pytest.param("base: &b {x: 1, y: two}\nm:\n  <<: *b\n  z: three\nl: [*b, *b]\n", id="anchors-and-merge"),
    pytest.param("s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\nbin: !!binary aGVsbG8=\nf: !!float 1\n",
                 id="explicit-tags"),
    pytest.param("k: 'quoted'\nk2: \"dq\\u00e9\"\nk3: plain text\nk4: |\n  block\n  text\n", id="styles"),
    pytest.param("base: &b {y: 1, z: 1}\nm:\n  <<: *b\n  y: 2\nn: {<<: [*b, {y: 3}], x: 4}\n",
                 id="merge-overridden"),
    pytest.param("", id="empty"),
    pytest.param("---\n...\n", id="empty-document"),
    pytest.param(VALID_YAML, id="valid-store"),
    pytest.param(COMMENTED_INDENTED, id="commented-store"),
]

REFUSED = [
    pytest.param("a: 1\nb: 2\na: 3\n", "line 3, column 1", "duplicate key 'a'", id="duplicate-key"),
    pytest.param("? [a, b]\n: c\n", "line 1, column 3", "a mapping key must be a plain value", id="list-as-key"),
    pytest.param("x: !custom 1\n", "line 1, column 4", "could not determine a constructor", id="unknown-tag"),
    pytest.param("base: &b {y: 1}\nm:\n  <<: *b\n  y: 2\n  y: 3\n", "line 5", "duplicate key 'y'",
                 id="duplicate-after-merge"),
    pytest.param("a: [1, 2\n", "line 2", "not valid YAML", id="syntax"),
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_single_parse_gives_what_the_yaml_loader_gives(text):
    expected = yaml.load(text, Loader=_store_yaml._StoreLoader)  # nosec B506 - a safe loader
    assert _store_yaml.parse_text("store.yml", text, "yaml")[0] == expected


@pytest.mark.parametrize("text, where, words", REFUSED)
def test_the_single_parse_refuses_what_the_yaml_loader_refuses(text, where, words):
    with pytest.raises(yaml.YAMLError):
        yaml.load(text, Loader=_store_yaml._StoreLoader)  # nosec B506 - a safe loader
    with pytest.raises(_store_yaml.ParseError) as exc_info:
        _store_yaml.parse_text("store.yml", text, "yaml")
    assert where in str(exc_info.value) and words in str(exc_info.value)


def test_an_alias_of_a_mapping_is_built_once():
    document = _store_yaml.parse_text("store.yml", "a: &x {k: v}\nb: *x\n", "yaml")[0]
    assert document["a"] is document["b"]


def test_unquoted_timestamps_still_load_as_datetimes():
    assert _store_yaml.parse_text("store.yml", "t: 2026-01-02T03:04:05Z\n", "yaml")[0]["t"] == datetime.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(write_file, enabled):
    path = write_file("store.yml", COMMENTED_INDENTED)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        Store(path).load()
        Store(path).update(lambda data, editor: editor.put_group(G2, {"backend_id": "kc-2"}))
        with pytest.raises(StoreError):
            Store(write_file("bad.yml", "a: 1\na: 2\n")).load()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def _counting_compose(monkeypatch):
    calls = []
    real = _store_yaml.yaml.compose

    def compose(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_store_yaml.yaml, "compose", compose)
    return calls


def test_an_update_after_a_load_parses_the_store_once_more_only_to_read_back_the_change(write_file, monkeypatch):
    path = write_file("store.yml", COMMENTED_INDENTED)
    calls = _counting_compose(monkeypatch)
    store = Store(path)
    store.load()
    assert len(calls) == 1
    store.update(lambda data, editor: editor.put_group(G2, {"backend_id": "kc-2"}))
    assert len(calls) == 2        # the new text, read back before it is written
    assert Store(path).load().groups_by_uuid[G2]["backend_id"] == "kc-2"


def test_an_update_parses_the_file_again_when_it_changed_since_the_load(write_file, monkeypatch):
    path = write_file("store.yml", COMMENTED_INDENTED)
    store = Store(path)
    store.load()
    Store(path).update(lambda data, editor: editor.put_group(G1, {"backend_id": "kc-1"}))
    calls = _counting_compose(monkeypatch)
    seen = []
    store.update(lambda data, editor: seen.append(data.groups_by_uuid[G1]["backend_id"]) or
                 editor.put_group(G2, {"backend_id": "kc-2"}))
    assert seen == ["kc-1"]       # the other writer's change, not the stale load
    assert len(calls) == 2
    data = Store(path).load()
    assert (data.groups_by_uuid[G1]["backend_id"], data.groups_by_uuid[G2]["backend_id"]) == ("kc-1", "kc-2")


def test_a_failed_mutation_leaves_the_loaded_data_as_it_was(write_file):
    path = write_file("store.yml", COMMENTED_INDENTED)
    store = Store(path)
    data = store.load()
    before = [dict(g) for g in data.groups]

    def mutate(_data, editor):
        editor.put_group(G2, {"name": "half-done"})
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        store.update(mutate)
    assert [dict(g) for g in data.groups] == before
    store.update(lambda _data, editor: editor.put_group(G2, {"backend_id": "kc-2"}))
    assert Store(path).load().groups_by_uuid[G2]["name"] == "members-p1"


@pytest.mark.parametrize("text, dash", STYLES)
def test_removing_every_group_and_member_writes_a_store_that_reads_back(write_file, text, dash):
    path = write_file("store.yml", text)
    for group in Store(path).load().groups:
        Store(path).update(lambda data, editor, g=group: [editor.remove_member(g["uuid"], m["username"])
                                                          for m in g["members"]])
    assert all(not g["members"] for g in Store(path).load().groups)
    for group in Store(path).load().groups:
        Store(path).update(lambda data, editor, g=group: editor.remove_group(g["uuid"]))
    assert Store(path).load().groups == []


def test_a_write_that_would_not_read_back_as_the_change_is_refused(write_file, file_state, monkeypatch):
    path = write_file("store.yml", COMMENTED_FLUSH)
    before = file_state(path)
    real = _store._YamlText.render

    def buggy(self, document, editor, root=None):
        return real(self, document, editor, root).replace("members-p2", "members-p9")

    monkeypatch.setattr(_store._YamlText, "render", buggy)
    for check_mode in (True, False):
        with pytest.raises(StoreError) as exc_info:
            Store(path).update(lambda data, editor: editor.put_group(G2, {"backend_id": "kc-2"}),
                               check_mode=check_mode)
        assert "would not read back" in str(exc_info.value)
        assert file_state(path) == before
    assert os.listdir(os.path.dirname(path)) == ["store.yml"]


def test_groups_of_an_offering_keep_the_store_order(write_file):
    data = Store(write_file("store.yml", VALID_YAML)).load()
    for offering in data.offerings:
        assert data.offering_groups(offering["uuid"]) == [g for g in data.groups if g["offering"] == offering["uuid"]]
    assert data.offering_groups("0f000000-0000-4000-8000-00000000000f") == []
