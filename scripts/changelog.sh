#!/usr/bin/env bash
# Changelog with antsibull-changelog.
#
# Usage: scripts/changelog.sh lint|release
#
#   lint     (make changelog-lint, part of make test) antsibull-changelog lint (the fragments waiting
#            for the next release) and lint-changelog-yaml, then check that CHANGELOG.md is what
#            changelogs/changelog.yaml gives (it is not edited by hand).
#   release  (make changelog) add or update the release of galaxy.yml's version in
#            changelogs/changelog.yaml from the fragments, regenerate CHANGELOG.md, and remove the
#            fragments it took in (keep_fragments: false, as community collections do): their text
#            lives on in changelog.yaml, and the next release starts from an empty fragments directory.
#            The release date of an existing release is kept (RELEASE_DATE=YYYY-MM-DD overrides).
#
# Both work on a copy laid out as ansible_collections/waldur/keycloak (antsibull-changelog lists the
# plugins through ansible-doc there), so no plugin cache is left in the work tree.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" changelog antsibull-changelog

mode=${1:-}
[[ $mode == lint || $mode == release ]] || { echo "usage: $0 lint|release" >&2; exit 2; }


version=$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
changes=changelogs/changelog.yaml

if [[ $mode == lint ]]; then
    antsibull-changelog lint
    if [[ ! -f $changes ]]; then
        say "FAILED: $changes is missing; run 'make changelog'"
        exit 1
    fi
    antsibull-changelog lint-changelog-yaml "$changes"
    say "fragments and $changes are valid"
fi

# The release date (release only): kept from an existing release of this version.
date=${RELEASE_DATE:-$(python - "$changes" "$version" <<'EOF'
import os, sys, yaml
path, version = sys.argv[1:]
data = yaml.safe_load(open(path)) if os.path.exists(path) else None
print(((data or {}).get("releases") or {}).get(version, {}).get("release_date", ""))
EOF
)}
if [[ -z $date ]]; then
    date=$(date -u +%Y-%m-%d)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/waldur-keycloak-changelog.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
COPY="$TMP/ansible_collections/waldur/keycloak"
mkdir -p "$COPY"
# What the changelog is made of: metadata, plugins, roles, the changelog itself.
cp -a galaxy.yml meta plugins roles changelogs "$COPY/"
[[ -f CHANGELOG.md ]] && cp -a CHANGELOG.md "$COPY/"
rm -f "$COPY/changelogs/.plugin-cache.yaml"

(
    cd "$COPY"
    export ANSIBLE_COLLECTIONS_PATH="$TMP" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
    if [[ $mode == release ]]; then
        # The fragments join the release (and leave the copy's fragments directory).
        antsibull-changelog release --version "$version" --date "$date" --update-existing 2>&1 \
            | grep -v 'Found no release_summary' >&2 || true
    else
        antsibull-changelog generate
    fi
)

if [[ $mode == release ]]; then
    cp "$COPY/$changes" "$changes"
    cp "$COPY/CHANGELOG.md" CHANGELOG.md
    for fragment in changelogs/fragments/*; do
        [[ -e $fragment && ! -e $COPY/$fragment ]] && rm -- "$fragment" && say "took in $fragment"
    done
    say "release $version ($date): wrote $changes and CHANGELOG.md"
    exit 0
fi

if ! diff -u CHANGELOG.md "$COPY/CHANGELOG.md" >"$TMP/diff.txt" 2>&1; then
    say "FAILED: CHANGELOG.md is not what $changes gives:"
    head -n 40 "$TMP/diff.txt" >&2
    say "CHANGELOG.md is written from $changes (antsibull-changelog generate): do not edit it by hand"
    exit 1
fi
say "CHANGELOG.md is up to date with $changes; $(find changelogs/fragments -name '*.yml' | wc -l) fragment(s) wait for the next release"
