#!/usr/bin/env bash
# Real test environment on loopback: a private dockerd and a TLS + bearer-token registry.
#   test/e2e/env.sh up | down [--purge] | status
# State lives in E2E=${IMAGEWATCH_E2E_DIR:-/tmp/imagewatch-e2e}. `up` writes $E2E/env (export lines)
# last, only when everything answers; tests treat its presence as "environment up".
# Several environments can run side by side (the demo runs beside the tests): each needs its own
# state dir and ports, IMAGEWATCH_E2E_REG_PORT (default 5443) and IMAGEWATCH_E2E_TOKEN_PORT (5001).
# Nothing here touches /var/run/docker.sock or creates a bridge: containers run with --network none|host.
# The README's "Test environment" section says what this sets up and how tests use it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E=${IMAGEWATCH_E2E_DIR:-/tmp/imagewatch-e2e}
case $E2E in /*) ;; *) E2E=$PWD/$E2E ;; esac
REG_HOST=registry.test
REG_PORT=${IMAGEWATCH_E2E_REG_PORT:-5443}
TOKEN_PORT=${IMAGEWATCH_E2E_TOKEN_PORT:-5001}
[[ $REG_PORT =~ ^[0-9]+$ && $TOKEN_PORT =~ ^[0-9]+$ && $REG_PORT != "$TOKEN_PORT" ]] ||
    { echo "env.sh: IMAGEWATCH_E2E_REG_PORT and IMAGEWATCH_E2E_TOKEN_PORT must be two different port numbers" >&2; exit 2; }
REGISTRY=$REG_HOST:$REG_PORT
TOKEN_REALM=https://$REG_HOST:$TOKEN_PORT/token
HOSTS_LINE="::1 $REG_HOST"
# The hosts line is shared by every environment on the machine: each one that is up has a file
# here naming its state dir, and the line goes only when the last one that needs it goes down.
# Edits of both are serialised with flock on /etc/hosts itself.
HOSTS_USERS=/tmp/imagewatch-e2e-hosts-users
CERTS_D=/etc/docker/certs.d/$REGISTRY
SOCK=$E2E/docker.sock
PID_DOCKERD=$E2E/dockerd.pid
PID_REGISTRY=$E2E/registry.pid
PID_TOKEN=$E2E/token_server.pid
E2E_PACKAGES=(docker.io docker-registry busybox-static python3-jwt python3-cryptography openssl curl ca-certificates)

log() { printf '[env.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

docker_cli() {
    local bin=/usr/bin/docker
    [[ -x $bin ]] || bin=$(command -v docker) || die "no docker client"
    DOCKER_CONFIG=$E2E/docker-client "$bin" -H "unix://$SOCK" "$@"
}

# running PID: the process exists and is not a zombie (an orphan's zombie waits for PID 1 to reap it).
running() { kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# alive PIDFILE: the pid in PIDFILE is a running process (not a zombie) whose command line names $E2E,
# so a recycled pid of somebody else's process is never taken for ours.
alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] && running "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$E2E/"
}

# stop_pid PIDFILE NAME: TERM, wait up to 10 s, then KILL. Only the pid we saved.
stop_pid() {
    local f=$1 name=$2 pid i
    if alive "$f"; then
        pid=$(<"$f")
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            running "$pid" || break
            sleep 0.1
        done
        if running "$pid"; then
            log "$name (pid $pid) ignored TERM for 10 s, sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    fi
    rm -f "$f"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s.
wait_for() {
    local deadline
    deadline=$(awk -v n="$(now)" -v s="$1" 'BEGIN { printf "%.3f", n + s }')
    shift
    until "$@" >/dev/null 2>&1; do
        awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n > d) }' && return 1
        sleep 0.1
    done
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$E2E/pki/ca.crt" "$1" || true; }
registry_ready() { [[ $(http_code "https://$REGISTRY/v2/") == 401 ]]; }
token_ready() { [[ $(http_code "$TOKEN_REALM?service=e2e-registry") == 200 ]]; }
dockerd_ready() { docker_cli version --format "{{.Server.Version}}" >/dev/null; }
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

ensure_packages() {
    local missing=() p
    for p in "${E2E_PACKAGES[@]}"; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

hosts_user_file() { printf '%s/%s' "$HOSTS_USERS" "$(printf '%s' "$E2E" | md5sum | cut -c1-16)"; }

ensure_hosts() {
    local lock
    exec {lock}</etc/hosts
    flock "$lock"
    mkdir -p "$HOSTS_USERS"
    echo "$E2E" >"$(hosts_user_file)"
    if ! grep -qxF "$HOSTS_LINE" /etc/hosts; then
        # Append in place (no sed -i / rename: /etc/hosts may be a bind mount).
        [[ -z $(tail -c1 /etc/hosts) ]] || echo >>/etc/hosts
        echo "$HOSTS_LINE" >>/etc/hosts
        touch "$E2E/hosts-added"
        log "added '$HOSTS_LINE' to /etc/hosts"
    fi
    exec {lock}>&-
}

# Removes the hosts line if this environment added it and no other environment still uses it;
# when one does, that one takes over the removal (it goes at that one's `down`).
release_hosts() {
    local lock f dir heir=
    exec {lock}</etc/hosts
    flock "$lock"
    rm -f "$(hosts_user_file)"
    for f in "$HOSTS_USERS"/*; do
        [[ -f $f ]] || continue
        dir=$(<"$f")
        if [[ -d $dir && $dir != "$E2E" ]]; then heir=$dir; else rm -f "$f"; fi # a vanished dir uses nothing
    done
    rmdir "$HOSTS_USERS" 2>/dev/null || true
    if [[ -e $E2E/hosts-added ]]; then
        if [[ -n $heir ]]; then
            touch "$heir/hosts-added"
            log "'$HOSTS_LINE' stays in /etc/hosts: $heir still uses it and removes it at its down"
        elif grep -qxF "$HOSTS_LINE" /etc/hosts; then
            grep -vxF "$HOSTS_LINE" /etc/hosts >"$E2E/hosts.new" || true
            cat "$E2E/hosts.new" >/etc/hosts # rewrite in place: /etc/hosts may be a bind mount
            rm -f "$E2E/hosts.new"
            log "removed '$HOSTS_LINE' from /etc/hosts"
        fi
        rm -f "$E2E/hosts-added"
    fi
    exec {lock}>&-
}

ensure_pki() {
    local d=$E2E/pki f ok=1
    mkdir -p "$d"
    for f in ca.crt ca.key server.crt server.key token.crt token.key; do [[ -s $d/$f ]] || ok=0; done
    # Reuse the PKI from an earlier run unless a certificate expires within a day.
    if ((ok)) && openssl x509 -checkend 86400 -noout -in "$d/server.crt" >/dev/null &&
        openssl x509 -checkend 86400 -noout -in "$d/ca.crt" >/dev/null &&
        openssl x509 -checkend 86400 -noout -in "$d/token.crt" >/dev/null; then
        :
    else
        log "generating PKI in $d"
        (
            cd "$d"
            rm -f ./*.crt ./*.key ./*.csr ./*.srl ./*.ext
            openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout ca.key -out ca.crt -subj "/CN=e2e CA" \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
            openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr -subj "/CN=$REG_HOST"
            printf 'subjectAltName=DNS:%s,DNS:localhost,IP:::1,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$REG_HOST" >server.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 30 \
                -extfile server.ext -out server.crt
            openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout token.key -out token.crt \
                -subj "/CN=e2e token signer"
        ) >"$E2E/pki.log" 2>&1 || { cat "$E2E/pki.log" >&2; die "PKI generation failed"; }
    fi
    mkdir -p "$CERTS_D"
    cmp -s "$d/ca.crt" "$CERTS_D/ca.crt" || cp "$d/ca.crt" "$CERTS_D/ca.crt"
}

start_dockerd() {
    local driver=$1 dockerd
    dockerd=$(command -v dockerd) || die "dockerd not found"
    mkdir -p "$E2E/docker" "$E2E/docker-exec"
    echo '{}' >"$E2E/daemon.json" # ignore any /etc/docker/daemon.json of the host
    rm -f "$PID_DOCKERD" "$SOCK"
    nohup "$dockerd" --config-file="$E2E/daemon.json" \
        --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --userland-proxy=false --storage-driver="$driver" \
        --data-root="$E2E/docker" --exec-root="$E2E/docker-exec" --pidfile="$PID_DOCKERD" \
        --host="unix://$SOCK" >>"$E2E/dockerd.log" 2>&1 &
    # dockerd writes $PID_DOCKERD itself (and refuses to start if it names a live process), so
    # keep our own copy of $! for the case that it dies or hangs before writing it.
    echo $! >"$E2E/dockerd.spawn.pid"
    echo "$driver" >"$E2E/storage-driver"
}

stop_dockerd() {
    # dockerd's own containerd: remember its pid before dockerd goes, stop it if it outlives dockerd.
    local cpid=$E2E/docker-exec/containerd/containerd.pid
    if [[ -s $cpid ]]; then cp "$cpid" "$E2E/containerd.pid"; fi
    stop_pid "$PID_DOCKERD" dockerd
    stop_pid "$E2E/dockerd.spawn.pid" dockerd
    stop_pid "$E2E/containerd.pid" containerd
}

ensure_dockerd() {
    if alive "$PID_DOCKERD" && dockerd_ready; then return 0; fi
    stop_dockerd
    local driver
    driver=$(cat "$E2E/storage-driver" 2>/dev/null || echo overlay2)
    start_dockerd "$driver"
    if ! wait_for 15 dockerd_ready; then
        [[ $driver == vfs ]] && { tail -20 "$E2E/dockerd.log" >&2; die "dockerd did not start"; }
        log "dockerd with $driver not ready in 15 s, retrying with vfs"
        stop_dockerd
        start_dockerd vfs
        wait_for 15 dockerd_ready || { tail -20 "$E2E/dockerd.log" >&2; die "dockerd (vfs) did not start"; }
    fi
    log "dockerd up (pid $(<"$PID_DOCKERD"), storage $(<"$E2E/storage-driver"))"
}

ensure_token_server() {
    if alive "$PID_TOKEN" && token_ready; then return 0; fi
    stop_pid "$PID_TOKEN" token-server
    port_busy "$TOKEN_PORT" && die "port $TOKEN_PORT is taken by another process"
    TOKEN_TTL=${TOKEN_TTL:-300} TOKEN_TTL_FILE=$E2E/token_ttl \
        nohup /usr/bin/python3 "$HERE/token_server.py" --bind ::1 --port "$TOKEN_PORT" \
        --cert "$E2E/pki/server.crt" --key "$E2E/pki/server.key" \
        --sign-key "$E2E/pki/token.key" --sign-cert "$E2E/pki/token.crt" \
        --issuer e2e-issuer --log "$E2E/token.log" >>"$E2E/token_server.out" 2>&1 &
    echo $! >"$PID_TOKEN"
}

ensure_registry() {
    if alive "$PID_REGISTRY" && registry_ready; then return 0; fi
    stop_pid "$PID_REGISTRY" registry
    port_busy "$REG_PORT" && die "port $REG_PORT is taken by another process"
    mkdir -p "$E2E/registry-data"
    cat >"$E2E/registry.yml" <<EOF
version: 0.1
log: {level: info, formatter: text}
storage:
  filesystem: {rootdirectory: "$E2E/registry-data"}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http:
  addr: "[::1]:$REG_PORT"
  secret: e2e-not-secret
  tls: {certificate: "$E2E/pki/server.crt", key: "$E2E/pki/server.key"}
auth:
  token:
    realm: "$TOKEN_REALM"
    service: e2e-registry
    issuer: e2e-issuer
    rootcertbundle: "$E2E/pki/token.crt"
EOF
    # distribution reads REGISTRY_* variables as config overrides: a shell that sourced another
    # environment's env file (REGISTRY_LOG=..., REGISTRY_CA=...) would break its config.
    local unset_registry_vars=() v
    for v in $(compgen -e); do [[ $v == REGISTRY_* ]] && unset_registry_vars+=(-u "$v"); done
    nohup env "${unset_registry_vars[@]}" /usr/bin/docker-registry serve "$E2E/registry.yml" >>"$E2E/registry.log" 2>&1 &
    echo $! >"$PID_REGISTRY"
}

write_env() {
    local docker_bin=/usr/bin/docker
    [[ -x $docker_bin ]] || docker_bin=$(command -v docker)
    cat >"$E2E/env.tmp" <<EOF
export IMAGEWATCH_E2E_DIR=$E2E
export DOCKER_HOST=unix://$SOCK
export DOCKER_CONFIG=$E2E/docker-client
export DOCKER_BIN=$docker_bin
export DOCKER_STORAGE_DRIVER=$(<"$E2E/storage-driver")
export REGISTRY=$REGISTRY
export REGISTRY_CA=$E2E/pki/ca.crt
export REGISTRY_USER=admin
export REGISTRY_PASSWORD=secret
export REGISTRY_LOG=$E2E/registry.log
export TOKEN_REALM=$TOKEN_REALM
export TOKEN_SERVICE=e2e-registry
export TOKEN_LOG=$E2E/token.log
export TOKEN_TTL_FILE=$E2E/token_ttl
export DOCKERD_PIDFILE=$PID_DOCKERD
export REGISTRY_PIDFILE=$PID_REGISTRY
export TOKEN_SERVER_PIDFILE=$PID_TOKEN
EOF
    mv "$E2E/env.tmp" "$E2E/env"
}

up_exit() {
    local rc=$?
    ((rc == 0)) || { rm -f "$E2E/env"; log "up FAILED (rc $rc); logs in $E2E"; }
}

cmd_up() {
    local t0 t
    t0=$(now)
    [[ $(id -u) == 0 ]] || die "must run as root (dockerd, /etc/hosts, /etc/docker/certs.d)"
    mkdir -p "$E2E"
    trap up_exit EXIT
    t=$(now); ensure_packages; log "packages ok ($(since "$t") s)"
    ensure_hosts
    t=$(now); ensure_pki; log "PKI ok ($(since "$t") s)"
    t=$(now)
    ensure_token_server
    ensure_registry
    ensure_dockerd
    wait_for 15 token_ready || { tail -5 "$E2E/token_server.out" >&2; die "token server not answering"; }
    wait_for 15 registry_ready || { tail -5 "$E2E/registry.log" >&2; die "registry not answering 401 on /v2/"; }
    log "services ok ($(since "$t") s)"
    t=$(now)
    mkdir -p "$E2E/docker-client"
    echo secret | docker_cli login -u admin --password-stdin "$REGISTRY" >"$E2E/login.log" 2>&1 ||
        { cat "$E2E/login.log" >&2; die "docker login failed"; }
    log "docker login ok ($(since "$t") s)"
    write_env
    log "environment up in $(since "$t0") s; source $E2E/env"
    cmd_status
}

cmd_down() {
    local t0 ids m
    t0=$(now)
    rm -f "$E2E/env"
    if alive "$PID_DOCKERD"; then
        ids=$(docker_cli ps -aq 2>/dev/null || true)
        if [[ -n $ids ]]; then
            # shellcheck disable=SC2086
            docker_cli rm -f $ids >/dev/null 2>&1 || true
            log "removed $(wc -w <<<"$ids") container(s)"
        fi
    fi
    stop_pid "$PID_REGISTRY" registry
    stop_pid "$PID_TOKEN" token-server
    stop_dockerd
    # Leftover mounts under the state dir (none expected after a clean dockerd stop).
    while read -r m; do
        umount -l "$m" 2>/dev/null && log "unmounted $m"
    done < <(awk -v p="$E2E/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf "$CERTS_D"
    rmdir /etc/docker/certs.d 2>/dev/null || true
    release_hosts
    rm -f "$SOCK"
    if [[ ${1:-} == --purge && -d $E2E ]]; then
        if awk -v p="$E2E/" 'index($2, p) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
            log "mounts remain under $E2E; not removing it"
        else
            rm -rf "$E2E"
            log "removed $E2E"
        fi
    fi
    log "down in $(since "$t0") s"
}

show() { # show NAME PIDFILE [extra]
    if alive "$2"; then printf '  %-13s running  pid %-7s %s\n' "$1" "$(<"$2")" "${3:-}"; else printf '  %-13s stopped\n' "$1"; fi
}

cmd_status() {
    echo "imagewatch e2e environment in $E2E"
    show dockerd "$PID_DOCKERD" "unix://$SOCK storage=$(cat "$E2E/storage-driver" 2>/dev/null || echo '?')"
    show registry "$PID_REGISTRY" "https://$REGISTRY (token auth, ca $E2E/pki/ca.crt)"
    show token-server "$PID_TOKEN" "$TOKEN_REALM (admin:secret; anonymous pull)"
    if alive "$PID_DOCKERD"; then
        printf '  %-13s %s\n' containers "$(docker_cli ps -aq 2>/dev/null | wc -l)"
    fi
    printf '  %-13s %s\n' hosts "$(grep -qxF "$HOSTS_LINE" /etc/hosts && echo "'$HOSTS_LINE' present" || echo "no $REG_HOST line")"
    printf '  %-13s %s\n' env "$([[ -e $E2E/env ]] && echo "$E2E/env" || echo 'absent (environment not up)')"
}

case ${1:-} in
up) cmd_up ;;
down) shift; cmd_down "${1:-}" ;;
status) cmd_status ;;
*) echo "usage: $0 up | down [--purge] | status" >&2; exit 2 ;;
esac
