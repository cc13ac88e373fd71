# shellcheck shell=bash
# Sourced by the check scripts (changelog.sh, de.sh, docs.sh, ee.sh, install_test.sh, lint.sh):
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

# build_collection DIR: `ansible-galaxy collection build` of this checkout into DIR (ee.sh, de.sh, install_test.sh);
# sets TARNAME to the tarball's name, waldur-keycloak-<galaxy.yml's version>.tar.gz.
build_collection() {
    local version
    version=$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
    TARNAME="waldur-keycloak-$version.tar.gz"
    ansible-galaxy collection build --output-path "$1" . >/dev/null
    [[ -f $1/$TARNAME ]] || die "ansible-galaxy collection build did not write $TARNAME"
}
