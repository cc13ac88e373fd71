#!/usr/bin/env bash
# Execution environment: check what AWX/AAP need, short of building the image (no container
# engine here: `ansible-builder build` is never run).
#
#   1. meta/execution-environment.yml is valid for ansible-builder (v3 schema) and the files it
#      names are in the collection tarball;
#   2. the execution environment definition of docs/awx.md (the ```yaml block that starts with
#      "# execution-environment.yml"), with the tarball just built, gives a build context with
#      `ansible-builder create`: a Containerfile for that base image with the galaxy, builder and
#      final stages, and _build/ holding the galaxy requirements and the very same tarball;
#   3. `ansible-builder introspect` over the installed tarball finds the collection's Python
#      requirements (what the image build installs);
#   4. the custom credential type of docs/awx.md injects only variables the modules read, from
#      fields it declares, and keeps the password secret.
#
# Run by `make ee` (part of `make test`). Environment: VENV (default .venv), EE_KEEP=1 keeps the
# temp dir (the build context is in it).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" ee ansible-builder


TMP=$(mktemp -d "${TMPDIR:-/tmp}/waldur-keycloak-ee.XXXXXX")
cleanup() { if [[ ${EE_KEEP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT

build_collection "$TMP"

# 1 and 2: the collection's EE metadata, and the documented definition turned into a build context.
mkdir -p "$TMP/ee"
cp "$TMP/$TARNAME" "$TMP/ee/"
python - "$TMP/$TARNAME" "$TMP/ee/execution-environment.yml" <<'EOF'
import re, sys, tarfile
import yaml
from ansible_builder.ee_schema import validate_schema

tarball, definition_out = sys.argv[1:]
names = set(tarfile.open(tarball).getnames())

meta = yaml.safe_load(open("meta/execution-environment.yml"))
validate_schema(meta)
if meta.get("version") != 3:
    sys.exit("ee: meta/execution-environment.yml: expected version 3")
deps = meta.get("dependencies") or {}
for key in ("python", "system"):
    if not isinstance(deps.get(key), str):
        sys.exit(f"ee: meta/execution-environment.yml: dependencies.{key} must name a file")
    if deps[key] not in names:
        sys.exit(f"ee: {deps[key]} (dependencies.{key}) is not in the tarball")
for required in ("meta/execution-environment.yml", "meta/runtime.yml"):
    if required not in names:
        sys.exit(f"ee: {required} is not in the tarball")

# The definition that docs/awx.md tells users to build, with this version's tarball.
doc = open("docs/awx.md").read()
blocks = [b for b in re.findall(r"^```yaml\n(.*?)^```", doc, re.M | re.S)
          if b.startswith("# execution-environment.yml\n")]
if len(blocks) != 1:
    sys.exit(f"ee: docs/awx.md must hold one ```yaml block starting with '# execution-environment.yml' ({len(blocks)})")
tarname = tarball.rsplit("/", 1)[1]
text = re.sub(r"waldur-keycloak-[0-9][0-9A-Za-z.+-]*?\.tar\.gz", tarname, blocks[0])
definition = yaml.safe_load(text)
validate_schema(definition)
if definition.get("version") != 3:
    sys.exit("ee: the definition in docs/awx.md is not ansible-builder v3")
core = definition["dependencies"]["ansible_core"]["package_pip"]
if "2.19" not in core:
    sys.exit(f"ee: the definition installs {core!r}; the collection is tested with ansible-core 2.19")
open(definition_out, "w").write(text)
print(f"ee: meta/execution-environment.yml and the docs/awx.md definition are valid v3 ({core})", file=sys.stderr)
EOF

ctx="$TMP/ee/context"
(cd "$TMP/ee" && ansible-builder create -f execution-environment.yml --context "$ctx" \
    --output-filename Containerfile >"$TMP/create.log" 2>&1) \
    || { cat "$TMP/create.log" >&2; die "ansible-builder create failed"; }
[[ -f $ctx/Containerfile ]] || die "no Containerfile in the build context"
base=$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["images"]["base_image"]["name"])' \
    "$TMP/ee/execution-environment.yml")
for want in "ARG EE_BASE_IMAGE=\"$base\"" 'FROM base AS galaxy' 'FROM base AS builder' 'FROM base AS final' \
    'ansible-galaxy collection install' 'introspect.py introspect' 'check_ansible' \
    'LABEL ansible-execution-environment=true'; do
    grep -qF -- "$want" "$ctx/Containerfile" || die "the Containerfile lacks: $want"
done
[[ -f $ctx/_build/requirements.yml ]] || die "no _build/requirements.yml (galaxy requirements) in the context"
python - "$ctx/_build/requirements.yml" "collections/$TARNAME" <<'EOF'
import sys, yaml
reqs = yaml.safe_load(open(sys.argv[1]))
names = [c.get("name") for c in (reqs or {}).get("collections", [])]
if sys.argv[2] not in names:
    sys.exit(f"ee: _build/requirements.yml does not install {sys.argv[2]}: {names}")
EOF
cmp -s "$ctx/_build/collections/$TARNAME" "$TMP/$TARNAME" || die "_build/collections/$TARNAME is not the tarball just built"
for script in assemble install-from-bindep introspect.py check_galaxy check_ansible pip_install entrypoint; do
    [[ -f $ctx/_build/scripts/$script ]] || die "no _build/scripts/$script in the context"
done
say "build context OK: $(cd "$ctx" && find . -type f | wc -l) files, Containerfile FROM $base"

# 3: what the image build will install for the collection.
ansible-galaxy collection install "$TMP/$TARNAME" -p "$TMP/installed" >/dev/null 2>&1 \
    || die "ansible-galaxy collection install of the tarball failed"
ansible-builder introspect --sanitize "$TMP/installed" --write-pip "$TMP/pip.txt" --write-bindep "$TMP/bindep.txt" \
    >"$TMP/introspect.txt" 2>&1 || { cat "$TMP/introspect.txt" >&2; die "ansible-builder introspect failed"; }
python - "$TMP/pip.txt" <<'EOF'
import os, re, sys
from importlib.metadata import requires

wanted = [line.split("#")[0].strip() for line in open("requirements.txt")
          if line.split("#")[0].strip()]
found = open(sys.argv[1]).read() if os.path.exists(sys.argv[1]) else ""
core_deps = {re.split(r"[<>=!~ ;\[]", r, 1)[0].lower() for r in requires("ansible-core") or []}
for req in wanted:
    name = re.split(r"[<>=!~ ;\[]", req, 1)[0]
    if req in found and "from collection waldur.keycloak" in found:
        continue
    if name.lower() in {"pyyaml", "yaml"} and name.lower() in core_deps:
        continue  # ansible-builder skips PyYAML on purpose: ansible-core depends on it
    sys.exit(f"ee: introspection does not install {req!r} for waldur.keycloak:\n{found}")
print("ee: introspection installs " + "; ".join(l for l in found.splitlines() if l.strip()), file=sys.stderr)
EOF

# 4: the custom credential type of docs/awx.md.
python - <<'EOF'
import re, sys
import yaml

doc = open("docs/awx.md").read()
blocks = {b.split("\n", 1)[0]: yaml.safe_load(b) for b in re.findall(r"^```yaml\n(.*?)^```", doc, re.M | re.S)
          if b.startswith("# credential type:")}
inputs, injectors = blocks.get("# credential type: inputs"), blocks.get("# credential type: injectors")
if not inputs or not injectors:
    sys.exit("ee: docs/awx.md lacks the credential type's inputs or injectors block")
fields = {f["id"]: f for f in inputs["fields"]}
documented = set(re.findall(r"E\((\w+)\)", open("plugins/doc_fragments/auth.py").read()))
for var, template in injectors["env"].items():
    if var not in documented:
        sys.exit(f"ee: the injector sets {var}, which no module option falls back to")
    used = re.findall(r"{{\s*(\w+)\s*}}", template)
    for ident in used:
        if ident not in fields:
            sys.exit(f"ee: the injector's {var} uses {ident}, which the inputs do not declare")
        if ident not in inputs.get("required", []):
            sys.exit(f"ee: {ident} must be required: an empty field still sets {var}")
for var in ("KEYCLOAK_URL", "KEYCLOAK_USERNAME", "KEYCLOAK_PASSWORD"):
    if var not in injectors["env"]:
        sys.exit(f"ee: the injector does not set {var}")
if not fields["password"].get("secret"):
    sys.exit("ee: the password field must be secret")
print(f"ee: credential type injects {', '.join(injectors['env'])}", file=sys.stderr)
EOF
say "OK (the image build itself needs a container engine: not run here)"
