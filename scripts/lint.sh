#!/usr/bin/env bash
# Conventions (scripts/check_conventions.py), then ansible-lint, production profile (.ansible-lint),
# on everything the collection ships that Ansible runs: the playbooks, the role, the molecule
# scenario and the collection metadata
# (galaxy.yml, meta/), plus every playbook example (each module's EXAMPLES, and the plays and
# task lists of README.md, docs/*.md and roles/*/README.md; scripts/lint_examples.py writes them
# out as playbooks). Module arguments are checked against the modules' argument specs.
#
# Run by `make lint` (part of `make test`). Offline: nothing is fetched from Galaxy.
# Environment: VENV (default .venv), COLLECTIONS_DIR (where ansible_collections/waldur/keycloak
# is linked to this tree; default $VENV/collections, set up by `make collection`).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" lint ansible-lint
COLLECTIONS_DIR=${COLLECTIONS_DIR:-$VENV/collections}
[[ -d $COLLECTIONS_DIR/ansible_collections/waldur/keycloak ]] \
    || { echo "lint: $COLLECTIONS_DIR/ansible_collections/waldur/keycloak missing; run 'make collection'" >&2; exit 1; }

# ansible-lint resolves waldur.keycloak.* (modules, the action group, the role) through this path.
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR"
export ANSIBLE_NOCOLOR=1 NO_COLOR=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/waldur-keycloak-lint.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Conventions no linter checks: action group, environment fallbacks, requires_ansible.
conventions_rc=0
PYTHONPATH="$COLLECTIONS_DIR" python "$SCRIPT_DIR/check_conventions.py" || conventions_rc=1

python "$SCRIPT_DIR/lint_examples.py" "$TMP/examples" >"$TMP/examples.tsv"
count=$(wc -l <"$TMP/examples.tsv")
echo "lint: $count examples written as playbooks:" >&2
sed 's/^/lint:   /' "$TMP/examples.tsv" >&2

# One run over the collection's content and the examples (one start-up of ansible-lint).
targets=()
for path in playbooks roles extensions meta galaxy.yml changelogs/changelog.yaml; do
    [[ -e $path ]] && targets+=("$path")
done
echo "lint: ansible-lint ${targets[*]} + the examples" >&2
set +e
ansible-lint --nocolor "${targets[@]}" "$TMP"/examples/*.yml 2>&1 \
    | grep -v 'Deprecation warnings can be disabled by setting' | tee "$TMP/lint.out"
rc=${PIPESTATUS[0]}
set -e
# Warnings as errors: a deprecation ansible-core prints while linting is a future failure.
if [[ $rc == 0 ]] && grep -q 'DEPRECATION WARNING' "$TMP/lint.out"; then
    echo "lint: ansible-core printed a DEPRECATION WARNING (above); fix it" >&2
    rc=1
fi
if [[ $conventions_rc != 0 && $rc == 0 ]]; then rc=1; fi
if [[ $rc != 0 ]]; then
    echo "lint: FAILED (exit $rc; an example's file name tells where it comes from: see the list above)" >&2
fi
exit "$rc"
