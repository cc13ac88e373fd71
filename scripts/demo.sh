#!/usr/bin/env bash
# The demo: run by `make demo`, which has started Keycloak and exported KEYCLOAK_*.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${KEYCLOAK_URL:?run this through make demo}"
export DEMO_DIR=${DEMO_DIR:-$PWD/.demo}
export ANSIBLE_PYTHON_INTERPRETER=${ANSIBLE_PYTHON_INTERPRETER:-$(command -v python)}
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=${ANSIBLE_DISPLAY_SKIPPED_HOSTS:-false}
echo "Demo: a declared store applied to a real Keycloak, changed behind its back, drift reported, reconciled."
echo "The store is written to $DEMO_DIR/offerings.yml."
ansible-playbook -i localhost, playbooks/demo.yml
echo
echo "Still running: Keycloak at $KEYCLOAK_URL (admin console $KEYCLOAK_URL/admin/master/console/, user $KEYCLOAK_USERNAME;"
echo "  the password is KEYCLOAK_ADMIN_PASSWORD of scripts/keycloak.sh: \`scripts/keycloak.sh env\` prints it)."
echo "The store: $DEMO_DIR/offerings.yml; the drift reports: $DEMO_DIR/report-*/drift-report.{md,json,junit.xml}"
echo "Stop Keycloak with: make keycloak-down   (run the demo again with: make demo)"
