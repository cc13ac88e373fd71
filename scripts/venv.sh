#!/usr/bin/env bash
# Create (or update) a virtualenv from a requirements file, printing each step with
# the seconds elapsed: `make venv` (.venv) and `make bench-venv` (.venv-bench).
#
# Usage: scripts/venv.sh VENV REQUIREMENTS_FILE [LABEL]
#   PYTHON  interpreter that creates the virtualenv, default python3
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

if [[ ! -x $venv/bin/python ]]; then
    say "creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
say "upgrading pip"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -U pip
say "installing $requirements ..."
"$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off -r "$requirements" |
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
say "$venv ready ($(du -sh "$venv" 2>/dev/null | cut -f1))"
