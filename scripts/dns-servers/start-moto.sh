#!/usr/bin/env bash
# Starts moto's server (an AWS emulator, used for Route53) on a free loopback port from a
# fresh temporary directory. Prints the path of an env file with ENDPOINT_URL, PORT,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, WORKDIR, PID and PIDFILE.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
need moto_server "moto[server] (pip)"
W=$(mktemp -d -t fedsvc-moto.XXXXXX)
PORT=$(free_port)
(cd "$W" && exec moto_server -H 127.0.0.1 -p "$PORT" >"$W/server.log" 2>&1) &
PID=$!
echo "$PID" > "$W/pid"
wait_tcp "$PORT" "$PID" "$W/server.log"
cat > "$W/env" <<ENV
DNS_SERVER=moto
PORT=$PORT
ENDPOINT_URL=http://127.0.0.1:$PORT
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
AWS_REGION=us-east-1
WORKDIR=$W
PID=$PID
PIDFILE=$W/pid
ENV
echo "$W/env"
