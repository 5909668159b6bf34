# Shared helpers for the start-*.sh scripts (sourced, not run).
# shellcheck shell=bash

set -euo pipefail

# free_port: prints a loopback port that is free for TCP and UDP.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 - <<'PY'
import socket
while True:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
PY
    else
        local port
        while :; do
            port=$(( (RANDOM % 30000) + 20000 ))
            if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
                echo "${port}"
                return
            fi
        done
    fi
}

# random_secret: prints 32 random octets in base64.
random_secret() {
    head -c 32 /dev/urandom | base64 | tr -d '\n'
}

# wait_tcp PORT PID LOG: waits up to 20 s until 127.0.0.1:PORT accepts connections.
wait_tcp() {
    local port=$1 pid=$2 log=$3 i
    for i in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "${pid}" 2>/dev/null; then
            echo "server exited before listening on ${port}; its log:" >&2
            cat "${log}" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    echo "server did not listen on ${port} within 20 s; its log:" >&2
    cat "${log}" >&2 || true
    kill "${pid}" 2>/dev/null || true
    return 1
}

# need BINARY PACKAGE: fails with a hint when BINARY is missing.
need() {
    if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$1" ]; then
        echo "$1 not found: run scripts/dns-servers/install.sh (package $2)" >&2
        exit 1
    fi
}

# bin NAME: the path of NAME (PATH or /usr/sbin).
bin() {
    command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"
}

# zone_file ZONE: a minimal zone (SOA, NS, ns A) on stdout.
zone_file() {
    local zone=$1
    cat <<ZONE
\$ORIGIN ${zone}.
\$TTL 300
@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 60
@ IN NS ns.${zone}.
ns IN A 127.0.0.1
ZONE
}
