#!/usr/bin/env bash
# Documentation of the collection's plugins and role, with antsibull-docs.
#
# Usage: scripts/docs.sh lint|build
#
#   lint   (make docs-lint, part of make test) antsibull-docs lint-collection-docs --plugin-docs:
#          the DOCUMENTATION, EXAMPLES and RETURN of every module and plugin, the doc fragments they
#          use, the role's argument_specs and docs/docsite/links.yml; every reference (M(), O(), ...)
#          to this collection or another must resolve.
#   build  (make docs) render an HTML site of every module, the inventory plugin (each page with
#          the options of the doc fragments it uses) and the drift_report role into docs/build/html,
#          from the Sphinx configuration in docs/sphinx/. Offline; warnings are errors.
#
# Environment: VENV (default .venv; `make venv` installs antsibull-docs, Sphinx and the theme).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" docs antsibull-docs


# antsibull-docs reads the collection through ansible-doc: lay out a copy as
# ansible_collections/waldur/keycloak (only what the docs are made of) and point Ansible at it.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/waldur-keycloak-docs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
COPY="$TMP/ansible_collections/waldur/keycloak"
mkdir -p "$COPY"
cp -a galaxy.yml meta plugins roles "$COPY/"
mkdir -p "$COPY/docs" && cp -a docs/docsite "$COPY/docs/"
[[ -f LICENSE ]] && cp LICENSE "$COPY/"
find "$COPY" -name __pycache__ -prune -exec rm -rf {} +
export ANSIBLE_COLLECTIONS_PATH="$TMP" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false

case ${1:-} in
lint)
    set +e
    antsibull-docs lint-collection-docs --plugin-docs \
        --validate-collection-refs=all --disallow-unknown-collection-refs "$COPY" 2>&1 | sed "s#$COPY/##g"
    rc=${PIPESTATUS[0]}
    set -e
    [[ $rc == 0 ]] || { say "FAILED: lint-collection-docs found the problems above (exit $rc)"; exit "$rc"; }
    say "lint-collection-docs: no problem found"
    ;;
build)
    OUT="$REPO_ROOT/docs/build"
    rm -rf "$OUT"
    mkdir -p "$OUT/rst"
    chmod og-w "$OUT/rst"   # antsibull-docs wants its output directory writable by its owner only
    cp docs/sphinx/index.rst "$OUT/rst/index.rst"
    antsibull-docs --config-file docs/sphinx/antsibull-docs.cfg collection \
        --use-current --fail-on-error --dest-dir "$OUT/rst" waldur.keycloak >"$TMP/antsibull.log" 2>&1 \
        || { cat "$TMP/antsibull.log" >&2; say "FAILED: antsibull-docs collection"; exit 1; }
    sphinx-build -q -b html -c docs/sphinx -W --keep-going -d "$OUT/doctrees" "$OUT/rst" "$OUT/html"
    # Every module, plugin and role has its page.
    pages="$OUT/html/collections/waldur/keycloak"
    missing=()
    for f in plugins/modules/*.py; do
        m=$(basename "$f" .py)
        [[ -f $pages/${m}_module.html ]] || missing+=("${m}_module.html")
    done
    for f in plugins/inventory/*.py; do
        p=$(basename "$f" .py)
        [[ -f $pages/${p}_inventory.html ]] || missing+=("${p}_inventory.html")
    done
    for d in roles/*/; do
        r=$(basename "$d")
        [[ -f $pages/${r}_role.html ]] || missing+=("${r}_role.html")
    done
    # The options of the auth doc fragment appear on the page of every module that uses it.
    while IFS= read -r f; do
        kind=$(basename "$(dirname "$f")"); kind=${kind%s}   # modules -> module, inventory -> inventory
        page="$pages/$(basename "$f" .py)_${kind}.html"
        grep -q 'auth_keycloak_url' "$page" || missing+=("auth options on $(basename "$page")")
    done < <(grep -l -- '- waldur.keycloak.auth$' plugins/modules/*.py plugins/inventory/*.py)
    if (( ${#missing[@]} )); then
        say "FAILED: missing from the site: ${missing[*]}"
        exit 1
    fi
    say "site ready: $OUT/html/index.html ($(find "$OUT/html" -name '*.html' | wc -l) pages); open it in a browser"
    ;;
*)
    echo "usage: $0 lint|build" >&2
    exit 2
    ;;
esac
