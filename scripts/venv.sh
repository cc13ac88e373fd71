#!/usr/bin/env bash
# Create (or update) a virtualenv from a requirements file, printing each step with
# the seconds elapsed: `make venv` (.venv), `make bench-venv` (.venv-bench), `make eda-venv` (.venv-eda).
#
# Usage: scripts/venv.sh VENV REQUIREMENTS_FILE [LABEL]
#   PYTHON        interpreter that creates the virtualenv, default python3
#   LOCK_COMPARE  a lock: list at the end what was installed that it does not pin (make test-latest)
#
# REQUIREMENTS_FILE is a lock of locks/ (`make lock`: every package pinned, with hashes) or, for
# `make test-latest`, the ranges themselves. A lock is installed with --require-hashes by the
# interpreter's own pip (nothing unpinned is fetched); from ranges, pip is upgraded first.
# `pip freeze --all` lands in VENV/pip-freeze.txt.
#
# pip's own per-package lines (Collecting, Downloading with its size) are shown,
# prefixed with the elapsed time; its errors go to stderr unfiltered.
set -euo pipefail

venv=${1:?usage: $0 VENV REQUIREMENTS_FILE [LABEL]}
requirements=${2:?usage: $0 VENV REQUIREMENTS_FILE [LABEL]}
label=${3:-venv}
python=${PYTHON:-python3}
start=$(date +%s)

say() { printf '[%s] %4ss %s\n' "$label" "$(($(date +%s) - start))" "$*"; }

[[ -f $requirements ]] || { say "$requirements not found (no lock for $("$python" --version 2>&1)? run 'make lock')" >&2; exit 1; }
# A virtualenv holds exactly one requirements file's set: when the file changed (a new lock), start
# afresh rather than leave behind what the new set no longer has.
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -x $venv/bin/python && $(cat "$venv/.requirements.sha256" 2>/dev/null) != "$want" ]]; then
    say "$venv was made from another set: recreating it"
    rm -rf "$venv"
fi
if [[ ! -x $venv/bin/python ]]; then
    say "creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
pip_args=()
if grep -q -- '--hash=' "$requirements"; then
    pip_args=(--require-hashes)
    say "installing the lock $requirements ..."
else
    say "upgrading pip"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -U pip
    say "installing $requirements (ranges, no lock) ..."
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off "${pip_args[@]}" -r "$requirements" |
    while IFS= read -r line; do
        case $line in
            Collecting*) say "  ${line%% (from *}" ;;
            *Downloading*) say "  ${line#"${line%%[! ]*}"}" ;;
            'Installing collected packages: '*)
                IFS=, read -r -a packages <<<"${line#*: }"
                say "installing ${#packages[@]} packages ..."
                ;;
        esac
    done
echo "$want" >"$venv/.requirements.sha256"
"$venv/bin/python" -m pip freeze --all --disable-pip-version-check >"$venv/pip-freeze.txt"
if [[ -n ${LOCK_COMPARE:-} ]]; then
    "$venv/bin/python" "$(dirname "$0")/lock_compare.py" "$LOCK_COMPARE" "$venv/pip-freeze.txt" |
        while IFS= read -r line; do say "$line"; done
fi
say "$venv ready ($(du -sh "$venv" 2>/dev/null | cut -f1))"
