"""Write every playbook example the collection ships as a playbook file, for ansible-lint.

Sources:
  - the EXAMPLES of every module (a list of tasks): wrapped in a play;
  - the ```yaml blocks of README.md, docs/*.md and roles/*/README.md that hold a play (a list of
    mappings with ``hosts``) or a list of tasks (mappings with ``name`` and an FQCN action):
    written as they are, or wrapped in a play. Other blocks (stores, inventory configurations,
    CI jobs) are not playbooks and are left alone; the inventory plugin's EXAMPLES are checked
    to be valid YAML.

Usage: python scripts/lint_examples.py OUTPUT_DIR   (prints one "file<TAB>source" line per file written)
"""

import ast
import pathlib
import re
import sys
import textwrap

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
PLAY_HEADER = "---\n# {source}\n- name: Example from {label}\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"


def doc_string(path, name):
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return node.value.value
    return None


def is_action_key(key):
    return isinstance(key, str) and key.count(".") >= 2  # namespace.collection.action


def kind_of(data):
    if not isinstance(data, list) or not data or not all(isinstance(item, dict) for item in data):
        return None
    if all("hosts" in item or "import_playbook" in item or "ansible.builtin.import_playbook" in item
           for item in data):
        return "play"
    if all("name" in item and (any(is_action_key(k) for k in item) or "block" in item) for item in data):
        return "tasks"
    return None


def as_playbook(source, kind, text):
    """The playbook file for an example: a play as written, a task list wrapped in PLAY_HEADER's play."""
    if kind == "play":
        return text if text.lstrip().startswith("---") else "---\n# " + source + "\n" + text
    return PLAY_HEADER.format(source=source, label=source) + textwrap.indent(text.strip("\n") + "\n", "    ")


def markdown_blocks(root=ROOT):
    """Every ```yaml block of README.md, docs/*.md and roles/*/README.md that parses as YAML.

    Yields (path relative to root, line of the block's first line, kind, text, data); kind is "play",
    "tasks" (see kind_of) or None for anything else (stores, inventory configurations, CI jobs).
    tests/docs runs the plays and task lists; this script lints them.
    """
    markdown = [root / "README.md", *sorted((root / "docs").glob("*.md")), *sorted(root.glob("roles/*/README.md"))]
    fence = re.compile(r"^```ya?ml[^\n]*\n(.*?)^```", re.M | re.S)
    for path in markdown:
        if not path.exists():
            continue
        text = path.read_text()
        rel = path.relative_to(root)
        for match in fence.finditer(text):
            line = text.count("\n", 0, match.start(1)) + 1
            block = match.group(1)
            try:
                data = yaml.safe_load(block)
            except yaml.YAMLError:
                continue  # not YAML on its own (e.g. an excerpt); nothing to lint
            yield rel, line, kind_of(data), block, data


def yaml_block(rel, first_line, root=ROOT):
    """The text of the one ```yaml block of page ``rel`` whose first line is ``first_line`` (a file the page has
    the user write; the tests that run the docs take it from here)."""
    found = [text for path, _line, _kind, text, _data in markdown_blocks(root)
             if str(path) == rel and text.splitlines()[0].strip() == first_line]
    if len(found) != 1:
        raise AssertionError("%s: expected one ```yaml block starting with %r, found %d" % (rel, first_line, len(found)))
    return found[0]


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    written = []
    problems = []

    def write(stem, source, kind, text):
        target = out / (re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) + ".yml")
        target.write_text(as_playbook(source, kind, text))
        written.append((target.name, source))

    for path in sorted((ROOT / "plugins" / "modules").glob("*.py")):
        examples = doc_string(path, "EXAMPLES")
        rel = path.relative_to(ROOT)
        if not examples or not examples.strip():
            problems.append(f"{rel}: no EXAMPLES")
            continue
        data = yaml.safe_load(examples)
        if kind_of(data) != "tasks":
            problems.append(f"{rel}: EXAMPLES is not a list of named tasks")
            continue
        write(f"module_{path.stem}", f"{rel} EXAMPLES", "tasks", examples)

    for path in sorted((ROOT / "plugins" / "inventory").glob("*.py")):
        examples = doc_string(path, "EXAMPLES")
        try:
            for _doc in yaml.safe_load_all(examples or ""):
                pass
        except yaml.YAMLError as exc:
            problems.append(f"{path.relative_to(ROOT)}: EXAMPLES is not valid YAML: {exc}")

    for rel, line, kind, block, _data in markdown_blocks():
        if kind:
            write(f"{rel}_L{line}", f"{rel} line {line}", kind, block)

    for name, source in written:
        print(f"{name}\t{source}")
    if problems:
        print("\n".join("lint-examples: " + p for p in problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
