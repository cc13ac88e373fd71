# shellcheck shell=bash
# Sourced by the check scripts (changelog.sh, docs.sh, ee.sh, install_test.sh, lint.sh):
#   source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" NAME [TOOL]
# Works from the repository root with the project's virtualenv first on PATH (VENV, default .venv),
# checks that TOOL is installed there, and defines say() and die() with NAME as the prefix of their messages.
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
cd "$REPO_ROOT" || exit 1

SCRIPT_NAME=$1
say() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

VENV=$(cd "${VENV:-.venv}" 2>/dev/null && pwd) || { say "virtualenv not found; run 'make venv'"; exit 1; }
export PATH="$VENV/bin:$PATH"
if [[ -n ${2:-} ]]; then
    command -v "$2" >/dev/null || { say "$2 missing; run 'make venv'"; exit 1; }
fi
