#!/usr/bin/env bash
# Starts the PowerDNS authoritative server (sqlite backend) on free loopback ports (DNS and
# HTTP API) from a fresh temporary directory, and creates ZONE (default example.com) through
# the API. Prints the path of an env file with DNS_PORT, DNS_ADDR, API_URL, API_KEY, ZONE,
# WORKDIR, PID and PIDFILE.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
need pdns_server pdns-server
need sqlite3 sqlite3
SCHEMA=/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql
[ -f "$SCHEMA" ] || { echo "$SCHEMA missing: install pdns-backend-sqlite3" >&2; exit 1; }
ZONE=${1:-example.com}
W=$(mktemp -d -t fedsvc-pdns.XXXXXX)
PORT=$(free_port)
API_PORT=$(free_port)
KEY=$(random_secret | tr -d '+/=')
sqlite3 "$W/pdns.sqlite3" < "$SCHEMA"
cat > "$W/pdns.conf" <<CONF
launch=gsqlite3
gsqlite3-database=$W/pdns.sqlite3
local-address=127.0.0.1:$PORT
socket-dir=$W
daemon=no
guardian=no
security-poll-suffix=
api=yes
api-key=$KEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$API_PORT
webserver-allow-from=127.0.0.0/8
loglevel=4
CONF
(cd "$W" && exec "$(bin pdns_server)" --config-dir="$W" >"$W/server.log" 2>&1) &
PID=$!
echo "$PID" > "$W/pid"
wait_tcp "$API_PORT" "$PID" "$W/server.log"
wait_tcp "$PORT" "$PID" "$W/server.log"
if command -v curl >/dev/null 2>&1; then
    curl -fsS -X POST -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
        -d "{\"name\":\"$ZONE.\",\"kind\":\"Native\",\"nameservers\":[\"ns.$ZONE.\"]}" \
        "http://127.0.0.1:$API_PORT/api/v1/servers/localhost/zones" >/dev/null
else
    "$(bin pdnsutil)" --config-dir="$W" create-zone "$ZONE" "ns.$ZONE" >/dev/null
fi
cat > "$W/env" <<ENV
DNS_SERVER=pdns
ZONE=$ZONE
DNS_PORT=$PORT
DNS_ADDR=127.0.0.1:$PORT
API_URL=http://127.0.0.1:$API_PORT
API_KEY=$KEY
WORKDIR=$W
PID=$PID
PIDFILE=$W/pid
ENV
echo "$W/env"
