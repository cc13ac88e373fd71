#!/usr/bin/env bash
# The event demo: run by `make demo-events`, which has started Keycloak, made .venv-eda (ansible-rulebook) and
# exported KEYCLOAK_*. The demo's store is applied (playbooks/demo.yml, as `make demo` runs it), the realm records
# admin events, the drift rulebook follows them, someone removes a member by hand, and the rulebook runs the drift
# report of exactly that offering.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${KEYCLOAK_URL:?run this through make demo-events}"
export DEMO_DIR=${DEMO_DIR:-$PWD/.demo-events}
export DEMO_REALM=${DEMO_REALM:-waldur-events-demo}
export ANSIBLE_PYTHON_INTERPRETER=${ANSIBLE_PYTHON_INTERPRETER:-$(command -v python)}
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
mkdir -p "$DEMO_DIR"
rm -rf "$DEMO_DIR/reports" "$DEMO_DIR/state.json" "$DEMO_DIR/rulebook.log"

# Keycloak's Admin REST API by hand, as someone with the admin console would change it: METHOD PATH [JSON].
admin_call() {
    python - "$@" <<'EOF'
import json, os, sys
import requests
url = os.environ["KEYCLOAK_URL"].rstrip("/")
token = requests.post(url + "/realms/master/protocol/openid-connect/token", timeout=30, data={
    "grant_type": "password", "client_id": "admin-cli", "username": os.environ["KEYCLOAK_USERNAME"],
    "password": os.environ["KEYCLOAK_PASSWORD"]}).json()["access_token"]
method, path = sys.argv[1], sys.argv[2]
body = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
answer = requests.request(method, url + "/admin/realms/" + path, json=body, timeout=30,
                          headers={"Authorization": "Bearer " + token})
answer.raise_for_status()
print(answer.text)
EOF
}

echo "1. The demo's store ($DEMO_DIR/offerings.yml) applied to realm $DEMO_REALM (playbooks/demo.yml, log in $DEMO_DIR/setup.log)"
ansible-playbook -i localhost, playbooks/demo.yml >"$DEMO_DIR/setup.log"

echo "2. The realm records admin events, with details: PUT /admin/realms/$DEMO_REALM"
admin_call PUT "$DEMO_REALM" '{"adminEventsEnabled": true, "adminEventsDetailsEnabled": true}' >/dev/null
ansible localhost -i localhost, -c local -m waldur.keycloak.keycloak_connection_test -a "realm=$DEMO_REALM" |
    grep -E '"admin_events_(details_)?enabled"'

echo "3. ansible-rulebook -r waldur.keycloak.drift follows them (log in $DEMO_DIR/rulebook.log)"
cat >"$DEMO_DIR/drift-vars.yml" <<EOF
keycloak_realm: $DEMO_REALM
store: $DEMO_DIR/offerings.yml
report_dir: $DEMO_DIR/reports
state_file: $DEMO_DIR/state.json
poll_interval: 2
sync: false
EOF
printf 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n' >"$DEMO_DIR/inventory.yml"
ansible-rulebook -r waldur.keycloak.drift --vars "$DEMO_DIR/drift-vars.yml" -i "$DEMO_DIR/inventory.yml" -v \
    >"$DEMO_DIR/rulebook.log" 2>&1 &
rulebook=$!
trap 'kill "$rulebook" 2>/dev/null || true' EXIT
for _ in $(seq 120); do grep -q "following admin events" "$DEMO_DIR/rulebook.log" && break; sleep 1; done
grep -o "following admin events.*" "$DEMO_DIR/rulebook.log"

echo "4. Someone removes bob from hpc-alpha-pi by hand"
group=$(admin_call GET "$DEMO_REALM/group-by-path/hpc/hpc-alpha-pi" | python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
bob=$(admin_call GET "$DEMO_REALM/users?username=bob&exact=true" | python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
admin_call DELETE "$DEMO_REALM/users/$bob/groups/$group" >/dev/null
changed=$(date +%s.%N)

echo "5. The rulebook catches it and runs the drift report of that offering only"
report="$DEMO_DIR/reports/9c2f4b6d-8e1a-4c3b-a5d7-2e9f0b1c3d02/drift-report.md"
for _ in $(seq 180); do [[ -s $report ]] && break; sleep 1; done
[[ -s $report ]] || { echo "no drift report after 3 minutes; see $DEMO_DIR/rulebook.log" >&2; exit 1; }
# The run notes its changes right after the report.
for _ in $(seq 60); do compgen -G "$DEMO_DIR/reports/events/*.json" >/dev/null && break; sleep 1; done
note=$(ls "$DEMO_DIR"/reports/events/*.json)
python - "$note" "$changed" <<'EOF'
import json, sys
note = json.load(open(sys.argv[1]))
event = note["event"]
print("   event: %s %s %s (user %s) in %s" % (event["operation"], event["resource_type"], event["group_path"],
                                             event["username"], ", ".join(o["name"] for o in event["offerings"])))
print("   the drift report started %.1f s after the change" % (note["started"] - float(sys.argv[2])))
EOF
for directory in "$DEMO_DIR"/reports/*/; do
    [[ $directory == */events/ ]] || echo "   report directory: $directory (one per offering touched, by UUID)"
done
echo
cat "$report"
echo
echo "Set sync: true in $DEMO_DIR/drift-vars.yml to have the rulebook also repair the drift (docs/events.md)."
echo "Keycloak still runs at $KEYCLOAK_URL; stop it with: make keycloak-down"
