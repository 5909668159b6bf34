#!/usr/bin/env bash
# Starts Knot DNS for ZONE (default example.com) on a free loopback port, from a fresh
# temporary directory, accepting RFC 2136 updates and AXFR signed with TSIG key ddns-key
# (hmac-sha256). Prints the path of an env file like start-bind.sh's.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
need knotd knot
ZONE=${1:-example.com}
W=$(mktemp -d -t fedsvc-knot.XXXXXX)
PORT=$(free_port)
SECRET=$(random_secret)
mkdir -p "$W/db"
# Knot rewrites its zone file: every run starts from a pristine copy.
zone_file "$ZONE" > "$W/$ZONE.zone"
cat > "$W/knot.conf" <<CONF
server:
    rundir: "$W"
    listen: 127.0.0.1@$PORT
log:
  - target: stderr
    any: info
key:
  - id: ddns-key
    algorithm: hmac-sha256
    secret: $SECRET
acl:
  - id: fedsvc
    key: ddns-key
    action: [update, transfer]
database:
    storage: "$W/db"
template:
  - id: default
    storage: "$W"
    file: "%s.zone"
zone:
  - domain: $ZONE
    acl: fedsvc
CONF
(cd "$W" && exec "$(bin knotd)" -c "$W/knot.conf" >"$W/server.log" 2>&1) &
PID=$!
echo "$PID" > "$W/pid"
wait_tcp "$PORT" "$PID" "$W/server.log"
cat > "$W/env" <<ENV
DNS_SERVER=knot
ZONE=$ZONE
DNS_PORT=$PORT
DNS_ADDR=127.0.0.1:$PORT
TSIG_NAME=ddns-key
TSIG_ALGORITHM=hmac-sha256
TSIG_SECRET=$SECRET
WORKDIR=$W
PID=$PID
PIDFILE=$W/pid
ENV
echo "$W/env"
