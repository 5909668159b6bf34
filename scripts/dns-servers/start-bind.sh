#!/usr/bin/env bash
# Starts BIND 9 for ZONE (default example.com) on a free loopback port, from a fresh
# temporary directory, accepting RFC 2136 updates signed with TSIG key ddns-key
# (hmac-sha256). Prints the path of an env file (sourceable) with DNS_PORT, DNS_ADDR,
# TSIG_NAME, TSIG_ALGORITHM, TSIG_SECRET, ZONE, WORKDIR, PID and PIDFILE.
# BIND_EXTRA_KEYS="k1 k2" adds further hmac-sha256 keys, each allowed to update and
# transfer the zone like ddns-key; the env file then also has TSIG_SECRET_k1, TSIG_SECRET_k2
# (other characters than letters, digits and _ in a key name become _ there).
# Stop it with: scripts/dns-servers/stop.sh "$PIDFILE"
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
need named bind9
ZONE=${1:-example.com}
W=$(mktemp -d -t fedsvc-bind.XXXXXX)
PORT=$(free_port)
SECRET=$(random_secret)
zone_file "$ZONE" > "$W/$ZONE.zone"
EXTRA_KEYS="" EXTRA_GRANTS="" EXTRA_TRANSFER="" EXTRA_ENV=""
for k in ${BIND_EXTRA_KEYS:-}; do
    s=$(random_secret)
    EXTRA_KEYS="$EXTRA_KEYS
key \"$k\" { algorithm hmac-sha256; secret \"$s\"; };"
    EXTRA_GRANTS="$EXTRA_GRANTS grant $k zonesub ANY;"
    EXTRA_TRANSFER="$EXTRA_TRANSFER key \"$k\";"
    EXTRA_ENV="$EXTRA_ENV
TSIG_SECRET_$(printf %s "$k" | tr -c 'A-Za-z0-9_' '_')=$s"
done
cat > "$W/named.conf" <<CONF
key "ddns-key" { algorithm hmac-sha256; secret "$SECRET"; };$EXTRA_KEYS
options {
    directory "$W";
    pid-file "$W/named.pid";
    listen-on port $PORT { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    allow-transfer { key "ddns-key";$EXTRA_TRANSFER };
    notify no;
};
controls { };
zone "$ZONE" {
    type primary;
    file "$ZONE.zone";
    update-policy { grant ddns-key zonesub ANY;$EXTRA_GRANTS };
};
CONF
(cd "$W" && exec "$(bin named)" -g -c "$W/named.conf" >"$W/server.log" 2>&1) &
PID=$!
echo "$PID" > "$W/pid"
wait_tcp "$PORT" "$PID" "$W/server.log"
cat > "$W/env" <<ENV
DNS_SERVER=bind
ZONE=$ZONE
DNS_PORT=$PORT
DNS_ADDR=127.0.0.1:$PORT
TSIG_NAME=ddns-key
TSIG_ALGORITHM=hmac-sha256
TSIG_SECRET=$SECRET
WORKDIR=$W
PID=$PID
PIDFILE=$W/pid$EXTRA_ENV
ENV
echo "$W/env"
