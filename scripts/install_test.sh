#!/usr/bin/env bash
# Build the collection tarball, check that it holds only collection content, install it
# into an empty collections path and run the demo playbook from the installed copy.
#
# Run by `make install-test` (Keycloak must be up: `make keycloak-up`); KEYCLOAK_URL,
# KEYCLOAK_USERNAME and KEYCLOAK_PASSWORD must be exported (the Makefile does it).
#
# Environment:
#   VENV                   virtualenv with ansible-core (default .venv)
#   INSTALL_TEST_KEEP=1    keep the temp dir (tarball, installed collection, demo output)
#   INSTALL_TEST_SKIP_DEMO=1  only build, check and install (no Keycloak needed)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" install-test


TMP=$(mktemp -d "${TMPDIR:-/tmp}/waldur-keycloak-install.XXXXXX")
cleanup() { if [[ ${INSTALL_TEST_KEEP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT

# --- 1. build -------------------------------------------------------------------------
build_collection "$TMP/dist"
tarball="$TMP/dist/$TARNAME"
say "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB, $(tar tzf "$tarball" | grep -vc '/$') files)"

# --- 2. the tarball holds collection content and nothing else -------------------------
tar tzf "$tarball" | sed 's#^\./##; s#/$##' | sort -u >"$TMP/content.txt"
# Tracked (and untracked, not ignored) files that must be shipped; without git, walk the tree.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard
else
    find . -type f -not -path './.git/*' -printf '%P\n'
fi | sort -u >"$TMP/source.txt"
python - "$TMP/content.txt" "$TMP/source.txt" <<'EOF'
import fnmatch, os, sys

content = [line for line in open(sys.argv[1]).read().splitlines() if line]
source = [line for line in open(sys.argv[2]).read().splitlines() if line and os.path.exists(line)]
problems = []

# Top level: only what a collection is made of.
allowed_top = {
    "FILES.json", "MANIFEST.json", "LICENSE", "README.md", "CHANGELOG.md", "RELIABILITY.md", "requirements.txt", "bindep.txt",
    "changelogs", "docs", "extensions", "meta", "playbooks", "plugins", "roles", "tests",
}
for top in sorted({path.split("/", 1)[0] for path in content} - allowed_top):
    problems.append(f"unexpected top-level entry {top!r} (add it to build_ignore in galaxy.yml, or to this list)")

# Development and runtime leftovers, anywhere.
denied = [
    ".venv", ".venv/*", ".venv-*", ".keycloak", ".keycloak/*", ".demo", ".demo/*", ".ci", ".ci/*", ".git", ".git/*",
    ".gitignore", ".ansible", ".ansible/*", ".ansible-lint", ".pytest_cache", ".pytest_cache/*",
    "scripts", "scripts/*", "bench", "bench/*", "Makefile", "requirements-test.txt", "locks", "locks/*",
    "tests/output", "tests/output/*", "docs/build", "docs/build/*", "docs/sphinx", "docs/sphinx/*",
    "*.tar.gz", "*/__pycache__", "*/__pycache__/*", "*.pyc", "*.pyo", "*.retry",
]
for path in content:
    if any(fnmatch.fnmatch(path, pattern) for pattern in denied):
        problems.append(f"{path} must not be in the tarball")

# Everything the collection is made of is there.
required = ["MANIFEST.json", "FILES.json", "meta/runtime.yml", "meta/execution-environment.yml",
            "requirements.txt", "bindep.txt", "CHANGELOG.md", "changelogs/changelog.yaml"]
shipped_dirs = ("plugins/", "roles/", "playbooks/", "meta/", "changelogs/", "docs/")
required += [path for path in source
             if path.startswith(shipped_dirs) and not fnmatch.fnmatch(path, "docs/build/*")
             and not fnmatch.fnmatch(path, "docs/sphinx/*")]
contentset = set(content)
for path in required:
    if path not in contentset:
        problems.append(f"{path} is missing from the tarball")

if problems:
    print("\n".join("install-test: " + p for p in problems), file=sys.stderr)
    sys.exit(1)
print(f"install-test: tarball content OK ({len(content)} entries; {len(required)} required files present)",
      file=sys.stderr)
EOF

# --- 3. install into an empty collections path ----------------------------------------
COLL="$TMP/collections"
ansible-galaxy collection install "$tarball" -p "$COLL" >"$TMP/install.log" 2>&1 \
    || { cat "$TMP/install.log" >&2; die "ansible-galaxy collection install failed"; }
INSTALLED="$COLL/ansible_collections/waldur/keycloak"
[[ -f $INSTALLED/MANIFEST.json && ! -L $INSTALLED ]] || die "the collection was not installed at $INSTALLED"
say "installed into $COLL"

# From here on, Ansible must find the collection in $COLL and nowhere else: no PYTHONPATH, no
# sys.path scan, no playbook-adjacent collections, a working directory outside the source tree.
unset PYTHONPATH ANSIBLE_COLLECTIONS_PATHS
export ANSIBLE_COLLECTIONS_PATH="$COLL"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
unset ANSIBLE_CONFIG  # and the working directory is the temp dir: no ansible.cfg from the source tree
cd "$TMP"

found=$(ansible-galaxy collection list waldur.keycloak --format json 2>/dev/null \
    | python -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin))))')
[[ $found == "$COLL/ansible_collections" ]] || die "waldur.keycloak found in '$found', expected only $COLL/ansible_collections"
ansible-doc waldur.keycloak.keycloak_offering_sync >/dev/null || die "ansible-doc cannot read the installed module"
say "ansible-galaxy and ansible-doc see only the installed copy"

if [[ ${INSTALL_TEST_SKIP_DEMO:-0} == 1 ]]; then
    say "INSTALL_TEST_SKIP_DEMO=1: demo not run"
    exit 0
fi

# --- 4. the demo, from the installed copy ----------------------------------------------
: "${KEYCLOAK_URL:?KEYCLOAK_URL is not set: run this through make install-test (Keycloak up)}"
export DEMO_DIR="$TMP/demo"
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"
export ANSIBLE_NOCOLOR=1 ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
say "ansible-playbook waldur.keycloak.demo (KEYCLOAK_URL=$KEYCLOAK_URL)"
# -vvv: each module's "Using module file" line shows where it was taken from.
if ! ansible-playbook -vvv -i localhost, waldur.keycloak.demo >"$TMP/demo.log" 2>&1; then
    grep -v '^ *\(<\|ESTABLISH\|EXEC\|PUT\|Using module\)' "$TMP/demo.log" | tail -n 60 >&2
    die "the demo playbook failed from the installed collection (log above)"
fi
grep -q 'PLAY RECAP' "$TMP/demo.log" || die "no PLAY RECAP in the demo output"
grep -Eq 'localhost +: ok=[0-9]+ +changed=[0-9]+ +unreachable=0 +failed=0' "$TMP/demo.log" \
    || { tail -n 20 "$TMP/demo.log" >&2; die "the demo recap shows a failure"; }
[[ -f $DEMO_DIR/report-3-clean/drift-report.json ]] || die "the demo did not write its final drift report"
python - "$DEMO_DIR/report-3-clean/drift-report.json" <<'EOF' || die "the final drift report is not clean"
import json, sys
report = json.load(open(sys.argv[1]))
assert report["drift"] is False and report["totals"]["errors"] == 0, report["totals"]
EOF
# The play ran from $COLL: its task files and modules came from there, and no file of the source tree is
# named (the virtualenv the commands run from may be inside it: its packages print their own paths).
python "$SCRIPT_DIR/install_check.py" "$TMP/demo.log" "$INSTALLED" "$REPO_ROOT" "$VENV" \
    || die "the demo did not run from the installed collection alone (findings above)"
say "demo OK from the installed collection: $(grep -E '^localhost +:' "$TMP/demo.log" | tr -s ' ')"
