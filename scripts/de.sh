#!/usr/bin/env bash
# Decision environment (EDA controller / AAP): check what a rulebook activation needs, short of building the
# image (no container engine here: `ansible-builder build` is never run).
#
#   1. the decision environment definition of docs/events.md (the ```yaml block that starts with
#      "# decision-environment.yml") is valid ansible-builder v3, installs the ansible-rulebook of the lock the
#      rulebook is tested with (locks/eda-py3.11.txt), ansible-core 2.19, ansible-runner and Java 17, and the
#      collection from the tarball just built;
#   2. with that tarball, `ansible-builder create` gives a build context: a Containerfile for that base image with
#      the galaxy, builder and final stages, _build/ holding the galaxy requirements, the Python requirements
#      (ansible-rulebook), the system requirements (Java) and the very same tarball;
#   3. the tarball holds what the activation loads: both rulebooks, the event source, the playbook.
#
# Run by `make de` (part of `make test`). Environment: VENV (default .venv), DE_KEEP=1 keeps the temp dir.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" de ansible-builder

TMP=$(mktemp -d "${TMPDIR:-/tmp}/waldur-keycloak-de.XXXXXX")
cleanup() { if [[ ${DE_KEEP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT

build_collection "$TMP"

# 1: the documented definition, with this version's tarball.
mkdir -p "$TMP/de"
cp "$TMP/$TARNAME" "$TMP/de/"
python - "$TMP/$TARNAME" "$TMP/de/decision-environment.yml" <<'PY'
import re, sys, tarfile
import yaml
from ansible_builder.ee_schema import validate_schema

tarball, definition_out = sys.argv[1:]
doc = open("docs/events.md").read()
blocks = [b for b in re.findall(r"^```yaml\n(.*?)^```", doc, re.M | re.S)
          if b.startswith("# decision-environment.yml\n")]
if len(blocks) != 1:
    sys.exit(f"de: docs/events.md must hold one ```yaml block starting with '# decision-environment.yml' ({len(blocks)})")
tarname = tarball.rsplit("/", 1)[1]
text = re.sub(r"waldur-keycloak-[0-9][0-9A-Za-z.+-]*?\.tar\.gz", tarname, blocks[0])
definition = yaml.safe_load(text)
validate_schema(definition)
if definition.get("version") != 3:
    sys.exit("de: the definition in docs/events.md is not ansible-builder v3")
deps = definition["dependencies"]
core = deps["ansible_core"]["package_pip"]
if "2.19" not in core:
    sys.exit(f"de: the definition installs {core!r}; the rulebook's playbook is tested with ansible-core 2.19")
if "ansible-runner" not in deps.get("ansible_runner", {}).get("package_pip", ""):
    sys.exit("de: the definition does not install ansible-runner (ansible-rulebook runs playbooks through it)")
locked = re.search(r"^ansible-rulebook==(\S+)", open("locks/eda-py3.11.txt").read(), re.M).group(1)
python = deps.get("python") or []
if f"ansible-rulebook=={locked}" not in [p.split("#")[0].strip() for p in python]:
    sys.exit(f"de: the definition must install ansible-rulebook=={locked} (locks/eda-py3.11.txt): {python}")
if not any(re.match(r"java-17-openjdk", s) for s in deps.get("system") or []):
    sys.exit(f"de: the definition installs no Java 17 (Drools, ansible-rulebook's rule engine): {deps.get('system')}")
names = [c.get("name") for c in deps.get("galaxy", {}).get("collections", [])]
if f"collections/{tarname}" not in names:
    sys.exit(f"de: the definition does not install the collection's tarball: {names}")
held = set(tarfile.open(tarball).getnames())
for needed in ("extensions/eda/rulebooks/drift.yml", "extensions/eda/rulebooks/drift_controller.yml",
               "extensions/eda/plugins/event_source/keycloak_admin_events.py", "playbooks/eda_drift_report.yml",
               "plugins/module_utils/_events.py"):
    if needed not in held:
        sys.exit(f"de: {needed} is not in the tarball (the activation loads it)")
open(definition_out, "w").write(text)
print(f"de: the docs/events.md definition is valid v3 (ansible-rulebook=={locked}, {core}, Java 17)", file=sys.stderr)
PY

# 2: the build context.
ctx="$TMP/de/context"
(cd "$TMP/de" && ansible-builder create -f decision-environment.yml --context "$ctx" \
    --output-filename Containerfile >"$TMP/create.log" 2>&1) \
    || { cat "$TMP/create.log" >&2; die "ansible-builder create failed"; }
[[ -f $ctx/Containerfile ]] || die "no Containerfile in the build context"
base=$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["images"]["base_image"]["name"])' \
    "$TMP/de/decision-environment.yml")
for want in "ARG EE_BASE_IMAGE=\"$base\"" 'FROM base AS galaxy' 'FROM base AS builder' 'FROM base AS final' \
    'ansible-galaxy collection install' 'introspect.py introspect' 'check_ansible' 'JAVA_HOME'; do
    grep -qF -- "$want" "$ctx/Containerfile" || die "the Containerfile lacks: $want"
done
grep -q '^ansible-rulebook==' "$ctx/_build/requirements.txt" || die "_build/requirements.txt does not install ansible-rulebook"
grep -q '^java-17-openjdk' "$ctx/_build/bindep.txt" || die "_build/bindep.txt does not install Java 17"
cmp -s "$ctx/_build/collections/$TARNAME" "$TMP/$TARNAME" || die "_build/collections/$TARNAME is not the tarball just built"
say "build context OK: $(cd "$ctx" && find . -type f | wc -l) files, Containerfile FROM $base"
say "OK (the image build itself needs a container engine: not run here)"
