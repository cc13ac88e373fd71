# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading a store's text: YAML (libyaml when present, duplicate keys refused) or JSON, into plain data.

One parse gives the plain document and, for YAML, its node tree (the text writer,
_store_patch.py, patches at the nodes' positions). The line of a place in the
document is found again only for an error message. This module knows nothing of
the store's schema (_store_schema.py) nor of the file (_store_file.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import json
import traceback
from contextlib import contextmanager

from ansible_collections.waldur.keycloak.plugins.module_utils._message_text import shown

try:
    import yaml
except ImportError:
    HAS_PYYAML = False
    PYYAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PYYAML = True
    PYYAML_IMPORT_ERROR = None

BOM = "\ufeff"
YAML_EXTENSIONS = (".yml", ".yaml")
JSON_EXTENSIONS = (".json",)


class ParseError(Exception):
    """Text that is not a store document, as one line (the store turns it into a StoreError)."""


_MERGE_TAG = "tag:yaml.org,2002:merge"

if HAS_PYYAML:
    _FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _StoreLoader(_FastLoader):
        """libyaml parsing, plus a refusal of duplicate mapping keys (PyYAML keeps the last one silently)."""

        def __init__(self, stream):
            super(_StoreLoader, self).__init__(stream)
            self._plain_tags = {}

        def resolve(self, kind, value, implicit):
            # The tag of a plain scalar depends on its text alone (a safe loader has no path
            # resolvers), and a store repeats the same keys and references on every record.
            if kind is yaml.ScalarNode and not self.yaml_path_resolvers:
                if not implicit[0]:
                    return self.DEFAULT_SCALAR_TAG   # quoted: always a string
                tag = self._plain_tags.get(value)
                if tag is None:
                    tag = self._plain_tags[value] = super(_StoreLoader, self).resolve(kind, value, implicit)
                return tag
            return super(_StoreLoader, self).resolve(kind, value, implicit)

    def _construct_mapping(loader, node, deep=False):
        # A key written twice in one mapping is refused; a written key that overrides a merged
        # one ("<<: *defaults" then "key: other") is what merge keys are for. flatten_mapping puts
        # the merged pairs first, the mapping's own after them.
        own = len([1 for key_node, _value in node.value if key_node.tag != _MERGE_TAG])
        if own < len(node.value):
            # Flattened on a copy: the node tree keeps its merge key, as the text writer reads it.
            node = yaml.MappingNode(node.tag, list(node.value), node.start_mark, node.end_mark, node.flow_style)
        loader.flatten_mapping(node)
        merged = len(node.value) - own
        mapping, written = {}, {}
        for position, (key_node, value_node) in enumerate(node.value):
            key = loader.construct_object(key_node, deep=deep)
            if position >= merged:
                _refuse_duplicate(written, key, key_node)
                written[key] = True
            mapping[key] = loader.construct_object(value_node, deep=deep)
        return mapping

    def _refuse_duplicate(mapping, key, key_node):
        """PyYAML keeps the last of two equal keys silently; a store refuses them (both constructors)."""
        try:
            duplicate = key in mapping
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value",
                                                    key_node.start_mark)
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, "duplicate key '%s'" % shown(key), key_node.start_mark)

    _StoreLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key '%s'" % shown(key))
        result[key] = value
    return result


def store_format(store_file):
    lower = store_file.lower()
    if lower.endswith(YAML_EXTENSIONS):
        return "yaml"
    if lower.endswith(JSON_EXTENSIONS):
        return "json"
    raise ParseError("store %s: the file name must end in .yml, .yaml or .json" % store_file)


@contextmanager
def gc_paused():
    """Parsing and validating allocate many objects and make no reference cycles.

    The cyclic garbage collector would walk the growing node tree again at every
    few hundred allocations (at 10,000 groups that is more than half of the
    parse time), so it waits until the work is done; the previous setting is restored.
    A module pauses it for its whole task (``_module.KeycloakModule.run``) for the same reason.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


if HAS_PYYAML:
    _SCALAR_NODE, _MAPPING_NODE = yaml.ScalarNode, yaml.MappingNode
    _STR_TAG = "tag:yaml.org,2002:str"
    _NULL_TAG = "tag:yaml.org,2002:null"
    _BOOL_TAG = "tag:yaml.org,2002:bool"
    _MAP_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
    _SEQ_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
    _BOOL_VALUES = yaml.constructor.SafeConstructor.bool_values


class _Constructor(object):
    """Plain data from a composed node tree: what ``yaml.load(text, _StoreLoader)`` returns.

    Strings, nulls, booleans, mappings and lists (nearly every node of a store)
    are built here directly; any other node (numbers, timestamps, merge keys,
    explicit tags) goes to PyYAML's own safe constructor, so the result, and the
    errors, are those of the loader. A node reached twice (an alias) is built once.
    """

    def __init__(self):
        self._built = {}
        self._loader = None

    def _fallback(self, node):
        if self._loader is None:
            self._loader = _StoreLoader("")
        return self._loader.construct_object(node, deep=True)

    def build(self, node):
        kind = node.__class__
        if kind is _SCALAR_NODE:
            tag = node.tag
            if tag == _STR_TAG:
                return node.value
            if tag == _NULL_TAG:
                return None
            if tag == _BOOL_TAG:
                return _BOOL_VALUES[node.value.lower()]
            return self._fallback(node)
        key = id(node)
        if key in self._built:
            return self._built[key]
        if kind is _MAPPING_NODE and node.tag == _MAP_TAG:
            mapping = self._built[key] = {}
            build = self.build
            for key_node, value_node in node.value:
                if key_node.__class__ is _SCALAR_NODE and key_node.tag == _STR_TAG:
                    name = key_node.value
                elif key_node.tag == _MERGE_TAG:
                    # Merge keys ("<<: *defaults"): PyYAML's own flattening builds the whole mapping.
                    result = self._built[key] = self._fallback(node)
                    return result
                else:
                    name = build(key_node)
                _refuse_duplicate(mapping, name, key_node)
                if value_node.__class__ is _SCALAR_NODE and value_node.tag == _STR_TAG:
                    mapping[name] = value_node.value
                else:
                    mapping[name] = build(value_node)
            return mapping
        if kind is not _MAPPING_NODE and node.tag == _SEQ_TAG:
            items = self._built[key] = []
            items.extend([self.build(item) for item in node.value])
            return items
        result = self._built[key] = self._fallback(node)
        return result


def document_of(root):
    """The plain document of a node tree from ``parse_text``, built afresh (a copy its caller may change)."""
    return None if root is None else _Constructor().build(root)


def _yaml_error(store_file, exc):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = ", line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return ParseError("store %s%s: not valid YAML: %s" % (store_file, where, problem))


def parse_text(store_file, text, fmt):
    """The plain document and, for YAML, its node tree (positions for the text writer): one parse.

    ``store_file`` names the file in messages; ``fmt`` is "yaml" or "json" (``store_format``).
    A byte-order mark is not part of the document (positions count from after it).
    """
    if text.startswith(BOM):
        text = text[1:]
    if fmt == "json":
        try:
            return json.loads(text, object_pairs_hook=_json_pairs), None
        except ValueError as exc:
            # json reports no position for a duplicate key (it comes from our hook): find its line.
            line = _duplicate_key_line(text) if str(exc).startswith("duplicate key") else None
            at = ", line %s" % line if line else ""
            raise ParseError("store %s%s: not valid JSON: %s" % (store_file, at, exc))
    if not HAS_PYYAML:
        raise ParseError("store %s: reading YAML needs the PyYAML Python library" % store_file)
    try:
        with gc_paused():
            root = yaml.compose(text, Loader=_StoreLoader)
            return document_of(root), root
    except yaml.YAMLError as exc:
        raise _yaml_error(store_file, exc)


def _duplicate_key_line(text):
    """The line of the first repeated key in a JSON text (JSON is YAML to PyYAML's composer), or None."""
    if not HAS_PYYAML:
        return None
    try:
        stack = [yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))]
    except Exception:  # pylint: disable=broad-except
        return None
    lines = []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, value_node in node.value:
                if key_node.value in seen:
                    lines.append(key_node.start_mark.line + 1)
                seen.add(key_node.value)
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return min(lines) if lines else None


def line_of(text, fmt, where):
    """The line of ``where`` (a list of keys and indexes) in the document, or None.

    Only used on the error path: the fast loader keeps no positions.
    """
    if not HAS_PYYAML:
        return None
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        line = node.start_mark.line if node is not None else None
        for step in where:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == step:
                        line = key_node.start_mark.line
                        node = value_node
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line
            else:
                break
        return None if line is None else line + 1
    except Exception:  # pylint: disable=broad-except
        return None
