#!/usr/bin/env bash
# Run `ansible-test sanity` on a clean copy of the collection (no ignore file); with the argument
# `units`, run `ansible-test units` there instead (make unit-ansible-test: the unit tests as ansible-test
# runs them, in its own virtualenv with tests/unit/requirements.txt).
#
# ansible-test needs the collection at .../ansible_collections/waldur/keycloak,
# so the tracked and untracked-but-not-ignored files are copied into a temp
# tree laid out like that, which is also made a git repository (ansible-test
# uses git to list the files it checks).
#
# Environment:
#   VENV                 virtualenv with ansible-core (default .venv; `make venv`)
#   SANITY_PYTHON        Python version to test with (default 3.11)
#   SANITY_ARGS          extra arguments for ansible-test sanity (e.g. "--test pep8")
#   SANITY_KEEP=1        keep the temp tree (its path is printed)
#   SANITY_EXTRA_DIR     directory whose content is copied over the temp tree
#                        (only for trying the script out; never used by CI)
#   SANITY_NO_SHELLCHECK=1  run without shellcheck (ansible-test then skips its shell
#                        check); without it, a missing shellcheck is installed or fails the run
set -euo pipefail

COMMAND=${1:-sanity}
[[ $COMMAND == sanity || $COMMAND == units ]] || { echo "usage: $0 [sanity|units]" >&2; exit 2; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
cd "$REPO_ROOT"

VENV=${VENV:-.venv}
VENV=$(cd "$VENV" 2>/dev/null && pwd) || { echo "sanity: virtualenv '${VENV}' not found; run 'make venv'" >&2; exit 1; }
SANITY_PYTHON=${SANITY_PYTHON:-3.11}
ANSIBLE_TEST="$VENV/bin/ansible-test"
[[ -x $ANSIBLE_TEST ]] || { echo "sanity: $ANSIBLE_TEST not found; run 'make venv'" >&2; exit 1; }

# ansible-test looks for pythonX.Y on PATH: make it find the venv's.
export PATH="$VENV/bin:$PATH"

# ansible-test's shellcheck test only says "skipped" when the program is missing: install it
# (Debian package; CI runs as root with apt-get), or stop with what to do.
if [[ $COMMAND == sanity ]] && ! command -v shellcheck >/dev/null && [[ ${SANITY_NO_SHELLCHECK:-0} != 1 ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "sanity: shellcheck not found; installing it with apt-get (Debian package shellcheck)" >&2
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck; } >&2; then
            echo "sanity: apt-get could not install shellcheck; install it by hand" >&2
            exit 1
        fi
    else
        echo "sanity: shellcheck not found, so ansible-test would skip its shell check: install it" \
             "(sudo apt-get install shellcheck, or brew install shellcheck), or set SANITY_NO_SHELLCHECK=1" >&2
        exit 1
    fi
fi

# ansible-test runs each sanity test that has requirements in its own
# virtualenv (~/.ansible/test/venv/sanity.*), created without pip, and
# bootstraps pip there with a get-pip.py downloaded from a host this machine
# cannot reach. A script already in its cache is used instead: put our
# offline stand-in there (it installs the same pip version from PyPI).
pip_version=$("$VENV/bin/python" -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$SANITY_PYTHON"'"))["pip"])')
get_pip_cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [[ ! -f $get_pip_cache ]]; then
    mkdir -p "$(dirname "$get_pip_cache")"
    cp "$SCRIPT_DIR/ansible_test_get_pip.py" "$get_pip_cache.tmp"
    mv "$get_pip_cache.tmp" "$get_pip_cache"
    echo "sanity: installed pip bootstrap stand-in at $get_pip_cache" >&2
fi

TMP_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/waldur-keycloak-sanity.XXXXXX")
# The trap's commands inline: shellcheck cannot see a function that only a trap calls (SC2317).
if [[ ${SANITY_KEEP:-0} == 1 ]]; then
    trap 'echo "sanity: kept $TMP_ROOT" >&2' EXIT
else
    trap 'rm -rf "$TMP_ROOT"' EXIT
fi

DEST="$TMP_ROOT/ansible_collections/waldur/keycloak"
mkdir -p "$DEST"

# Files to test: tracked + untracked-but-not-ignored, minus local state and
# build output. Without git (e.g. an unpacked tarball) fall back to find.
list_files() {
    if git -C "$REPO_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$REPO_ROOT" ls-files -z --cached --others --exclude-standard
    else
        find . -type f -not -path './.git/*' -printf '%P\0'
    fi
}
list_files \
    | grep -zv -E '^(\.venv|\.venv-bench|\.keycloak|\.keycloak-compat|\.compat|\.git|tests/output|build|dist|bench/out)(/|$)' \
    | grep -zv -E '(^|/)(__pycache__/|[^/]*\.py[co]$)' \
    | grep -zv -E '^[^/]*\.tar\.gz$' \
    | while IFS= read -r -d '' f; do
        # skip files deleted from the work tree but still in the index
        [[ -e $f || -L $f ]] && printf '%s\0' "$f"
    done \
    | tar --null --no-recursion -T - -cf - \
    | tar -xf - -C "$DEST"

if [[ -n ${SANITY_EXTRA_DIR:-} ]]; then
    echo "sanity: overlaying $SANITY_EXTRA_DIR (test-only)" >&2
    cp -a "$SANITY_EXTRA_DIR/." "$DEST/"
fi

# ansible-test lists the files under test with git when it finds a repository
# (otherwise it walks the tree); a fresh repository with everything added
# gives it exactly the copied files.
(
    cd "$DEST"
    git init -q
    git add -A
) >/dev/null

cd "$DEST"
# units: --venv, so that --requirements installs into ansible-test's virtualenv, never into $VENV (the lock).
options=(--python "$SANITY_PYTHON" --color=no --requirements)
[[ $COMMAND == units ]] && options=(--venv "${options[@]}")
echo "sanity: ansible-test $COMMAND ${options[*]} in $DEST" >&2
set +e
# shellcheck disable=SC2086  # SANITY_ARGS is a list of words on purpose
"$ANSIBLE_TEST" "$COMMAND" "${options[@]}" ${SANITY_ARGS:-}
rc=$?
set -e
echo "sanity: ansible-test $COMMAND exited $rc" >&2
exit $rc
