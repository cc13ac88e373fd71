"""Collection conventions that no linter checks (run by scripts/lint.sh, so by `make lint`).

- Every module is in the action group ``keycloak`` of meta/runtime.yml (and the group names only
  modules that exist), and the README shows that group with ``module_defaults``.
- Every connection option and ``store`` falls back to the environment variable that the doc
  fragment documents (E(...)), the inventory plugin reads the same variable (``env:``), and the
  README's "Connection and credentials" names it.
- Every module of that action group accepts every shared option (auth, store, offering): a
  group's ``module_defaults`` reach every module of the group.
- ``requires_ansible`` is true to the tests: the ansible-core running now satisfies it, and its
  lower bound is not older than the oldest ansible-core of tests/compat/matrix.yml (what `make compat` runs).
- Every sentence of the text ansible-doc shows (each description and short_description of the
  modules', plugins' and doc fragments' DOCUMENTATION and RETURN, and of the roles' argument specs)
  starts with a capital letter (or with markup such as C(...)).

Needs the collection importable as ansible_collections.waldur.keycloak (scripts/lint.sh sets
PYTHONPATH to the collections dir that `make collection` links).
"""

import ast
import importlib
import pathlib
import re
import sys

import yaml
from ansible.module_utils.ansible_release import __version__ as ansible_core_version
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parent.parent
problems = []


def doc_string(path, name, cls=None):
    tree = ast.parse(path.read_text())
    body = tree.body
    if cls:
        body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
    for node in body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return node.value.value
    return None


# 1. the action group
runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
group = set((runtime.get("action_groups") or {}).get("keycloak") or [])
# The group is for module_defaults of the shared connection options: every module that takes them (extends the
# doc fragment waldur.keycloak.auth) is in it; one without them (keycloak_admin_event_info) would be refused them.
modules = {p.stem for p in (ROOT / "plugins" / "modules").glob("*.py")
           if p.stem != "__init__" and "waldur.keycloak.auth" in (
               yaml.safe_load(doc_string(p, "DOCUMENTATION") or "{}") or {}).get("extends_documentation_fragment", [])}
for missing in sorted(modules - group):
    problems.append(f"meta/runtime.yml: module {missing} is not in the action group keycloak")
for extra in sorted(group - modules):
    problems.append(f"meta/runtime.yml: the action group keycloak names {extra}, which is not a module")
readme = (ROOT / "README.md").read_text()
if not re.search(r"module_defaults:\n\s+group/waldur\.keycloak\.keycloak:", readme):
    problems.append("README.md: no module_defaults example for group/waldur.keycloak.keycloak")

# 2. environment fallbacks
from ansible_collections.waldur.keycloak.plugins.module_utils import _module  # noqa: E402

argspec = {**_module.auth_argument_spec(), **_module.store_argument_spec()}
fragment_path = ROOT / "plugins" / "doc_fragments" / "auth.py"
documented = {}
for name in ("DOCUMENTATION", "STORE"):
    for option, spec in yaml.safe_load(doc_string(fragment_path, name, "ModuleDocFragment"))["options"].items():
        text = " ".join(spec.get("description") or [])
        documented[option] = re.findall(r"E\((\w+)\)", text)
inventory_doc = yaml.safe_load(doc_string(ROOT / "plugins" / "inventory" / "offering_groups.py", "DOCUMENTATION"))
connection = re.sub(r"\s+", " ", readme.split("## Connection and credentials", 1)[-1].split("\n## ", 1)[0])
for option, spec in argspec.items():
    fallback = spec.get("fallback")
    variables = list(fallback[1]) if fallback else []
    if not variables:
        problems.append(f"module option {option}: no environment fallback")
        continue
    if documented.get(option) != variables:
        problems.append(f"doc fragment waldur.keycloak.auth: {option} documents {documented.get(option)}, "
                        f"the modules read {variables}")
    inventory_env = [e["name"] for e in (inventory_doc["options"].get(option) or {}).get("env", [])]
    if inventory_env != variables:
        problems.append(f"inventory offering_groups: {option} reads {inventory_env}, the modules read {variables}")
    for var in variables:
        if f"`{option}` (`{var}`" not in connection:
            problems.append(f"README.md, Connection and credentials: `{option}` (`{var}`...) missing")

# 3. every module of the action group accepts every shared option: module_defaults for the
# group hand all of them to each module, and one unsupported option fails the task.
# The argument spec is read by running each module's main() up to its AnsibleModule.


class _Spec(Exception):
    pass


def _capture(argument_spec, **_kwargs):
    raise _Spec(argument_spec)


def accepted_options(spec):
    return set(spec) | {alias for option in spec.values() for alias in option.get("aliases") or ()}


shared = accepted_options(_module.shared_argument_spec())
real_ansible_module = _module.AnsibleModule
_module.AnsibleModule = _capture
try:
    for name in sorted(group & modules):
        module = importlib.import_module(f"ansible_collections.waldur.keycloak.plugins.modules.{name}")
        try:
            module.main()
            problems.append(f"plugins/modules/{name}.py: main() never built its AnsibleModule")
            continue
        except _Spec as captured:
            spec = captured.args[0]
        missing = shared - accepted_options(spec)
        if missing:
            problems.append(f"plugins/modules/{name}.py: in the action group keycloak but does not accept "
                            f"{', '.join(sorted(missing))}")
finally:
    _module.AnsibleModule = real_ansible_module

# 4. requires_ansible
requires = SpecifierSet(runtime["requires_ansible"])
running = Version(ansible_core_version)
if running not in requires:
    problems.append(f"meta/runtime.yml: requires_ansible {requires} excludes the ansible-core under test ({running})")
# The versions `make compat` tests (tests/compat/matrix.yml; it checks requires_ansible against each run).
matrix = yaml.safe_load((ROOT / "tests" / "compat" / "matrix.yml").read_text())
tested = sorted(Version(entry["release"]) for entry in matrix["ansible_core"])
lower = [Version(s.version) for s in requires if s.operator in (">=", "==", "~=")]
if not tested or not lower:
    problems.append("tests/compat/matrix.yml / meta/runtime.yml: no lower bound for ansible-core to compare")
elif lower[0].release[:2] < tested[0].release[:2]:
    problems.append(f"meta/runtime.yml: requires_ansible {requires} claims versions older than the tests run "
                    f"(tests/compat/matrix.yml starts at {tested[0]})")
if f"requires_ansible: {runtime['requires_ansible']}" not in readme:
    problems.append(f"README.md does not state requires_ansible: {runtime['requires_ansible']}")

# 5. ansible-doc sentences start with a capital letter. A paragraph may open with markup
# (C(true) makes ...); a period followed by a lower-case word is a new sentence, except after an
# abbreviation.
ABBREVIATION = re.compile(r"\b(e\.g|i\.e|etc|vs|cf)\.$")


def lower_case_sentences(text):
    text = " ".join(str(text).split())
    found = [text[:60]] if text[:1].islower() else []
    for match in re.finditer(r"[.!?]\s+[a-z]", text):
        if not ABBREVIATION.search(text[:match.start() + 1]):
            found.append(text[max(0, match.start() - 40):match.end() + 30])
    return found


def doc_texts(node, where):
    """(where, text) of every description and short_description below ``node``."""
    if isinstance(node, list):
        for item in node:
            yield from doc_texts(item, where)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "short_description") and value is not None:
                for paragraph in value if isinstance(value, list) else [value]:
                    yield f"{where} {key}", paragraph
            elif key not in ("sample", "default", "choices", "example"):
                yield from doc_texts(value, f"{where} {key}")


doc_sources = []
for path in sorted((ROOT / "plugins").glob("*/*.py")):
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in ("DOCUMENTATION", "RETURN")
                and isinstance(node.value, ast.Constant)):
            doc_sources.append((f"{path.relative_to(ROOT)} {node.targets[0].id}", yaml.safe_load(node.value.value)))
for path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
    doc_sources.append((str(path.relative_to(ROOT)), yaml.safe_load(path.read_text())))
for source, doc in doc_sources:
    for where, text in doc_texts(doc, source):
        for sentence in lower_case_sentences(text):
            problems.append(f"{where}: a sentence starts lower-case (ansible-doc shows it): ...{sentence}...")

if problems:
    print("\n".join("conventions: " + p for p in problems), file=sys.stderr)
    sys.exit(1)
print(f"conventions: {len(modules)} modules in the action group keycloak, each accepting the "
      f"{len(shared)} shared option names; {len(argspec)} options with documented "
      f"environment fallbacks; requires_ansible {requires} holds for ansible-core {running}", file=sys.stderr)
