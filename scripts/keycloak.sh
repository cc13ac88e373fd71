#!/usr/bin/env bash
# Manage a local, throw-away Keycloak (dev mode) for tests and demos.
#
# Usage: scripts/keycloak.sh up|down|status|logs|env|reset
#
#   up      fetch (Maven) + unpack Keycloak if needed, start it on 127.0.0.1,
#           wait until ready and check that an admin token can be obtained.
#           Reuses an already running instance started by this script.
#           Prints each step with the seconds elapsed (fetching, unpacking, building,
#           starting, creating the database, ready), read from Keycloak's log. It waits
#           as long as the process is alive and its log keeps moving: a first start on
#           a busy machine can take minutes (the build alone took 102 s on 2 loaded CPUs).
#   down    stop the instance this script started (TERM, then KILL after 30 s).
#   status  print running/stopped; exit 0 if running and ready, 1 otherwise.
#   logs    tail the server log (LOG_LINES, default 100; FOLLOW=1 to follow).
#   env     print `export KEYCLOAK_URL=... KEYCLOAK_USERNAME=... KEYCLOAK_PASSWORD=...`
#           (use: eval "$(scripts/keycloak.sh env)").
#   reset   down + delete the dev database, so the next `up` starts empty.
#
# Environment (all optional):
#   KEYCLOAK_VERSION        default 26.7.3; 24.0.5, 25.0.6 and 26.0.8 start too (see KC_MAJOR below;
#                           before 26.2 the preview feature admin-fine-grained-authz is enabled)
#   KEYCLOAK_PORT           HTTP port, default 18080
#   KEYCLOAK_MGMT_PORT      management (health) port, default 19000 (Keycloak 25 on; 24 has none and
#                           answers /health/ready on KEYCLOAK_PORT)
#   KEYCLOAK_ADMIN_USER     bootstrap admin user, default admin
#   KEYCLOAK_ADMIN_PASSWORD bootstrap admin password, default waldur-kc-dev-pw (a value no test output contains: Ansible masks no_log values wherever they appear)
#   KEYCLOAK_HOME_DIR       unpacked distribution, default
#                           ${XDG_CACHE_HOME:-$HOME/.cache}/waldur-keycloak/keycloak-$KEYCLOAK_VERSION
#   KEYCLOAK_STATE_DIR      pid file, log, dev database; default <repo>/.keycloak
#   KEYCLOAK_START_TIMEOUT  overall cap in seconds from the server's launch to ready, default 900
#                           (fetching and unpacking the distribution are not counted)
#   KEYCLOAK_STALL_TIMEOUT  give up after this many seconds without new log output while
#                           not ready, default 300 (the build prints nothing for up to ~2 min)
#   KEYCLOAK_PROGRESS_EVERY while waiting in one step, repeat a "still ..." line every this
#                           many seconds, default 30
#   JAVA_OPTS_KC_HEAP       heap options, default "-Xms256m -Xmx1g"
#   MAVEN_REPO_LOCAL        Maven local repository (default ~/.m2/repository)
#   KEYCLOAK_EXTRA_ARGS     extra options for `kc.sh start-dev`, split on whitespace (no
#                           quoting), e.g. HTTPS: "--https-port=18443
#                           --https-certificate-file=/x/server.pem
#                           --https-certificate-key-file=/x/server.key --http-management-scheme=http"
#
# Note: the bootstrap admin is only created when the dev database is new;
# after changing KEYCLOAK_ADMIN_PASSWORD run `reset` first.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

KEYCLOAK_VERSION=${KEYCLOAK_VERSION:-26.7.3}
KEYCLOAK_PORT=${KEYCLOAK_PORT:-18080}
KEYCLOAK_MGMT_PORT=${KEYCLOAK_MGMT_PORT:-19000}
KEYCLOAK_ADMIN_USER=${KEYCLOAK_ADMIN_USER:-admin}
KEYCLOAK_ADMIN_PASSWORD=${KEYCLOAK_ADMIN_PASSWORD:-waldur-kc-dev-pw}
KEYCLOAK_HOME_DIR=${KEYCLOAK_HOME_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/waldur-keycloak/keycloak-$KEYCLOAK_VERSION}
KEYCLOAK_STATE_DIR=${KEYCLOAK_STATE_DIR:-$REPO_ROOT/.keycloak}
KEYCLOAK_START_TIMEOUT=${KEYCLOAK_START_TIMEOUT:-900}
KEYCLOAK_STALL_TIMEOUT=${KEYCLOAK_STALL_TIMEOUT:-300}
KEYCLOAK_PROGRESS_EVERY=${KEYCLOAK_PROGRESS_EVERY:-30}
JAVA_OPTS_KC_HEAP=${JAVA_OPTS_KC_HEAP:--Xms256m -Xmx1g}
read -r -a EXTRA_ARGS <<<"${KEYCLOAK_EXTRA_ARGS:-}"

HOST=127.0.0.1
BASE_URL="http://$HOST:$KEYCLOAK_PORT"
# The major version decides two start-up differences (checked against 24.0.5, 25.0.6,
# 26.0.8, 26.7.3): the separate management interface (health on its own port) exists
# from 25 on, before that /health/ready is served on the main port; and before 26 the
# bootstrap admin is read from KEYCLOAK_ADMIN/KEYCLOAK_ADMIN_PASSWORD, from 26 on from
# KC_BOOTSTRAP_ADMIN_* (26 still reads the old names but warns that they are deprecated).
KC_MAJOR=${KEYCLOAK_VERSION%%.*}
KC_MINOR=${KEYCLOAK_VERSION#*.}
KC_MINOR=${KC_MINOR%%.*}
[[ $KC_MAJOR =~ ^[0-9]+$ ]] || KC_MAJOR=99 # a build of our own: assume the newest behaviour
[[ $KC_MINOR =~ ^[0-9]+$ ]] || KC_MINOR=0
# Fine-grained admin permissions (the integration tests' limited sync account): version 2 is on by
# default from 26.2; before that only version 1 exists, as a preview feature that must be enabled.
FEATURE_ARGS=()
if ((KC_MAJOR < 26 || (KC_MAJOR == 26 && KC_MINOR < 2))); then
    FEATURE_ARGS=(--features=admin-fine-grained-authz)
fi
if ((KC_MAJOR >= 25)); then
    HAS_MGMT_PORT=1
    READY_URL="http://$HOST:$KEYCLOAK_MGMT_PORT/health/ready"
else
    HAS_MGMT_PORT=0
    READY_URL="$BASE_URL/health/ready"
fi
PID_FILE="$KEYCLOAK_STATE_DIR/keycloak.pid"
LOG_FILE="$KEYCLOAK_STATE_DIR/keycloak.log"
DB_DIR="$KEYCLOAK_STATE_DIR/h2"
M2_REPO=${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
DIST_ZIP="$M2_REPO/org/keycloak/keycloak-quarkus-dist/$KEYCLOAK_VERSION/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"

log() { printf '[keycloak] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- helpers -----------------------------------------------------------------

# pid recorded in our pid file, if it is alive and looks like our Keycloak.
our_pid() {
    local pid
    [[ -f $PID_FILE ]] || return 1
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against pid reuse: the process must be (a shell running) kc.sh/java
    # from our Keycloak home.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -e "$KEYCLOAK_HOME_DIR" -e 'kc.sh' -e 'keycloak' \
        || return 1
    printf '%s\n' "$pid"
}

is_ready() {
    local body
    body=$(curl -fsS --max-time 5 "$READY_URL" 2>/dev/null) || return 1
    [[ $body == *'"UP"'* ]]
}

port_in_use() {
    # bash's /dev/tcp: succeeds if something accepts connections on the port.
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

get_admin_token() {
    curl -fsS --max-time 20 \
        --data-urlencode "grant_type=password" \
        --data-urlencode "client_id=admin-cli" \
        --data-urlencode "username=$KEYCLOAK_ADMIN_USER" \
        --data-urlencode "password=$KEYCLOAK_ADMIN_PASSWORD" \
        "$BASE_URL/realms/master/protocol/openid-connect/token"
}

# "[keycloak]   12s what": a step with the seconds since $1 (an epoch time).
step() {
    log "$(printf '%4ss' "$(($(date +%s) - $1))") $2"
}

fetch_dist() {
    if [[ -f $DIST_ZIP ]]; then
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (needed to fetch Keycloak $KEYCLOAK_VERSION)"
    local t0
    t0=$(date +%s)
    step "$t0" "fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip (~150 MB) with Maven into $M2_REPO ..."
    # Maven's own default is Java's user.home (from the password database), not $HOME: name the
    # repository this script reads, or a HOME set elsewhere (CI runners, sudo -E) sends the zip away.
    mvn -q -B "-Dmaven.repo.local=$M2_REPO" dependency:get \
        -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
        -Dtransitive=false </dev/null
    [[ -f $DIST_ZIP ]] || die "Maven finished but $DIST_ZIP does not exist"
    step "$t0" "fetched $DIST_ZIP"
}

unpack_dist() {
    if [[ -x $KEYCLOAK_HOME_DIR/bin/kc.sh ]]; then
        return 0
    fi
    command -v unzip >/dev/null || die "unzip not found"
    fetch_dist
    local parent tmp t0
    parent=$(dirname "$KEYCLOAK_HOME_DIR")
    mkdir -p "$parent"
    tmp=$(mktemp -d "$parent/.unpack.XXXXXX")
    t0=$(date +%s)
    step "$t0" "unpacking $DIST_ZIP -> $KEYCLOAK_HOME_DIR ..."
    if ! unzip -q "$DIST_ZIP" -d "$tmp"; then
        rm -rf "$tmp"
        die "unzip of $DIST_ZIP failed"
    fi
    if [[ ! -x $tmp/keycloak-$KEYCLOAK_VERSION/bin/kc.sh ]]; then
        rm -rf "$tmp"
        die "unexpected layout in $DIST_ZIP (no keycloak-$KEYCLOAK_VERSION/bin/kc.sh)"
    fi
    # mv of a directory within one file system is atomic; if another process
    # won the race, keep theirs.
    if ! mv -T "$tmp/keycloak-$KEYCLOAK_VERSION" "$KEYCLOAK_HOME_DIR" 2>/dev/null; then
        [[ -x $KEYCLOAK_HOME_DIR/bin/kc.sh ]] || { rm -rf "$tmp"; die "could not move Keycloak into $KEYCLOAK_HOME_DIR"; }
    fi
    rm -rf "$tmp"
    step "$t0" "unpacked"
}

# Keycloak log lines that start a step of its start-up.
PHASE_RE='Updating the configuration and installing|Server configuration updated|augmentation completed|Initializing database schema|Updating database|Initializing master realm|Created temporary admin user|Added user [^ ]+ to realm [^ ]*master|Keycloak [^ ]+ on JVM .* started in'
# For a line matched by PHASE_RE: "<step, as in 'still <step>'>|<what to print when it starts>".
phase_of() {
    case $1 in
        'Updating the configuration'*) echo "building the server|building the server (Quarkus augmentation, first start only: its log is quiet for up to a few minutes)" ;;
        'Server configuration updated'* | *'augmentation completed'*) echo "starting the server|build done, starting the server" ;;
        'Initializing database schema'*) echo "creating the database|creating the database" ;;
        'Updating database'*) echo "updating the database schema|updating the database schema" ;;
        'Initializing master realm'*) echo "creating the master realm|creating the master realm" ;;
        # 26 says "Created temporary admin user ...", 24 and 25 "Added user 'admin' to realm 'master'"
        'Created temporary admin user'* | 'Added user '*) echo "creating the admin user|creating the admin user" ;;
        *) echo "waiting for the health check|server started, waiting for the health check" ;;
    esac
}

# Print the steps of Keycloak's log written since the last call; note when it
# last moved. Works on wait_ready's locals (bash's dynamic scope).
scan_log() {
    local i line
    size=$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)
    ((size != last_size)) || return 0
    last_size=$size
    last_move=$now
    mapfile -t hits < <(grep -o -E "$PHASE_RE" "$LOG_FILE" 2>/dev/null || true)
    for ((i = seen; i < ${#hits[@]}; i++)); do
        line=$(phase_of "${hits[i]}")
        phase=${line%%|*}
        step "$launched" "${line#*|}"
        last_print=$now
    done
    seen=${#hits[@]}
}

# Wait until Keycloak (pid $1, launched at epoch $2) is ready, printing each step
# of its log. Gives up when the process exits, when the log has not moved for
# KEYCLOAK_STALL_TIMEOUT seconds, or after KEYCLOAK_START_TIMEOUT seconds in all;
# then prints the reason, the end of the log and what to do, and returns 1.
wait_ready() {
    local pid=$1 launched=$2 now size last_size=-1 last_move last_print seen=0 phase="starting the JVM" failure=""
    local -a hits
    last_move=$(date +%s)
    last_print=$last_move
    while true; do
        now=$(date +%s)
        scan_log
        if is_ready; then
            scan_log # the lines written while we asked
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            failure="Keycloak (pid $pid) exited before becoming ready"
            break
        fi
        if ((now - last_move >= KEYCLOAK_STALL_TIMEOUT)); then
            failure="Keycloak not ready: no new log output for $((now - last_move))s while $phase (KEYCLOAK_STALL_TIMEOUT=$KEYCLOAK_STALL_TIMEOUT)"
            break
        fi
        if ((now - launched >= KEYCLOAK_START_TIMEOUT)); then
            failure="Keycloak not ready after $((now - launched))s (KEYCLOAK_START_TIMEOUT=$KEYCLOAK_START_TIMEOUT)"
            break
        fi
        if ((now - last_print >= KEYCLOAK_PROGRESS_EVERY)); then
            step "$launched" "still $phase (log quiet for $((now - last_move))s)"
            last_print=$now
        fi
        sleep 1
    done
    [[ -z $failure ]] && return 0
    log "ERROR: $failure; last 40 lines of $LOG_FILE:"
    tail -n 40 "$LOG_FILE" >&2 || true
    log "What to do: read the whole log ($LOG_FILE, or: $0 logs)."
    if kill -0 "$pid" 2>/dev/null; then
        log "  On a slow or busy machine, give it longer and run the same command again:"
        log "  KEYCLOAK_STALL_TIMEOUT=$((KEYCLOAK_STALL_TIMEOUT * 2)) (seconds without log output, now $KEYCLOAK_STALL_TIMEOUT)"
        log "  KEYCLOAK_START_TIMEOUT=$((KEYCLOAK_START_TIMEOUT * 2)) (seconds in all, now $KEYCLOAK_START_TIMEOUT)"
    else
        log "  Common causes: a port in use (KEYCLOAK_PORT, KEYCLOAK_MGMT_PORT), Java older than 17,"
        log "  a damaged dev database ($0 reset starts with an empty one)."
    fi
    return 1
}

# Stop the process group led by $1: TERM, wait up to 30 s, then KILL.
stop_pid() {
    local pid=$1 i
    log "stopping Keycloak (pid $pid) ..."
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "still running after 30 s, sending KILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    # Also reap any leftover member of the group (e.g. java after kc.sh exited).
    kill -KILL -- "-$pid" 2>/dev/null || true
}

# --- commands ----------------------------------------------------------------

cmd_up() {
    local start pid launched v
    start=$(date +%s)
    command -v curl >/dev/null || die "curl not found"
    for v in KEYCLOAK_START_TIMEOUT KEYCLOAK_STALL_TIMEOUT KEYCLOAK_PROGRESS_EVERY; do
        [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a whole number of seconds, got '${!v}'"
    done

    if pid=$(our_pid); then
        if is_ready; then
            log "Keycloak already running (pid $pid) at $BASE_URL, reusing it"
            get_admin_token >/dev/null || die "running Keycloak does not accept $KEYCLOAK_ADMIN_USER's credentials (try: $0 reset)"
            return 0
        fi
        log "pid $pid from $PID_FILE is alive but not ready; waiting for it (log: $LOG_FILE)"
        launched=$(date +%s)
    else
        rm -f "$PID_FILE"
        command -v java >/dev/null || die "java not found (Keycloak $KEYCLOAK_VERSION needs Java 17+)"
        port_in_use "$KEYCLOAK_PORT" && die "port $KEYCLOAK_PORT on $HOST is already in use by another process (set KEYCLOAK_PORT)"
        ((HAS_MGMT_PORT)) && port_in_use "$KEYCLOAK_MGMT_PORT" && die "port $KEYCLOAK_MGMT_PORT on $HOST is already in use by another process (set KEYCLOAK_MGMT_PORT)"

        unpack_dist
        mkdir -p "$KEYCLOAK_STATE_DIR" "$DB_DIR"
        : >"$LOG_FILE"
        launched=$(date +%s)
        local mgmt_args=() admin_env=()
        if ((HAS_MGMT_PORT)); then
            mgmt_args=(--http-management-host="$HOST" --http-management-port="$KEYCLOAK_MGMT_PORT")
            step "$launched" "starting Keycloak $KEYCLOAK_VERSION on $BASE_URL (management $HOST:$KEYCLOAK_MGMT_PORT), log: $LOG_FILE"
        else
            step "$launched" "starting Keycloak $KEYCLOAK_VERSION on $BASE_URL (health on the same port), log: $LOG_FILE"
        fi
        if ((KC_MAJOR >= 26)); then
            admin_env=(KC_BOOTSTRAP_ADMIN_USERNAME="$KEYCLOAK_ADMIN_USER" KC_BOOTSTRAP_ADMIN_PASSWORD="$KEYCLOAK_ADMIN_PASSWORD")
        else
            admin_env=(KEYCLOAK_ADMIN="$KEYCLOAK_ADMIN_USER" KEYCLOAK_ADMIN_PASSWORD="$KEYCLOAK_ADMIN_PASSWORD")
        fi

        # setsid: own session/process group, so it survives this script and
        # `down` can stop the whole group. The inner shell records its pid
        # (= process group id) and then becomes kc.sh.
        # shellcheck disable=SC2016  # $$ and $1 are for the inner shell
        env "${admin_env[@]}" JAVA_OPTS_KC_HEAP="$JAVA_OPTS_KC_HEAP" \
            setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
            "$KEYCLOAK_HOME_DIR/bin/kc.sh" start-dev \
            --http-host="$HOST" \
            --http-port="$KEYCLOAK_PORT" \
            "${mgmt_args[@]}" \
            "${FEATURE_ARGS[@]}" \
            --health-enabled=true \
            --db=dev-file \
            --db-url="jdbc:h2:file:$DB_DIR/keycloakdb;NON_KEYWORDS=VALUE" \
            "${EXTRA_ARGS[@]}" \
            </dev/null >>"$LOG_FILE" 2>&1 &
        local i
        for ((i = 0; i < 50; i++)); do
            [[ -s $PID_FILE ]] && break
            sleep 0.1
        done
        pid=$(<"$PID_FILE") || die "Keycloak did not write its pid file"
    fi

    if ! wait_ready "$pid" "$launched"; then
        kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
        rm -f "$PID_FILE"
        exit 1
    fi

    if ! get_admin_token >/dev/null; then
        log "Keycloak is ready but no admin token for user '$KEYCLOAK_ADMIN_USER' (stale database? try: $0 reset)"
        exit 1
    fi
    step "$launched" "ready at $BASE_URL (pid $pid), admin token OK; $(($(date +%s) - start))s in all"
}

cmd_down() {
    local pid
    if ! pid=$(our_pid); then
        log "Keycloak not running (nothing to stop)"
        rm -f "$PID_FILE"
        return 0
    fi
    stop_pid "$pid"
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid=$(our_pid); then
        if is_ready; then
            echo "running (pid $pid, $BASE_URL, ready)"
            return 0
        fi
        echo "running (pid $pid, $BASE_URL, NOT ready yet)"
        return 1
    fi
    echo "stopped"
    return 1
}

cmd_logs() {
    [[ -f $LOG_FILE ]] || die "no log file at $LOG_FILE"
    if [[ ${FOLLOW:-0} == 1 ]]; then
        exec tail -n "${LOG_LINES:-100}" -f "$LOG_FILE"
    fi
    tail -n "${LOG_LINES:-100}" "$LOG_FILE"
}

cmd_env() {
    printf 'export KEYCLOAK_URL=%q\n' "$BASE_URL"
    printf 'export KEYCLOAK_USERNAME=%q\n' "$KEYCLOAK_ADMIN_USER"
    printf 'export KEYCLOAK_PASSWORD=%q\n' "$KEYCLOAK_ADMIN_PASSWORD"
}

cmd_reset() {
    cmd_down
    rm -rf "$DB_DIR"
    log "dev database removed ($DB_DIR)"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    logs) cmd_logs ;;
    env) cmd_env ;;
    reset) cmd_reset ;;
    *)
        echo "usage: $0 up|down|status|logs|env|reset" >&2
        exit 2
        ;;
esac
