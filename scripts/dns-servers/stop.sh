#!/usr/bin/env bash
# Stops a server started by a start-*.sh script: stop.sh PIDFILE (the PIDFILE of its env
# file). Kills exactly that PID, waits for it to exit, and removes its temporary directory.
set -euo pipefail
PIDFILE=${1:?usage: stop.sh PIDFILE}
[ -f "$PIDFILE" ] || { echo "no such pid file: $PIDFILE" >&2; exit 1; }
PID=$(cat "$PIDFILE")
if kill -0 "$PID" 2>/dev/null; then
    kill "$PID"
    for _ in $(seq 1 50); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$PID" 2>/dev/null; then kill -9 "$PID" 2>/dev/null || true; fi
fi
W=$(dirname "$PIDFILE")
# Only remove directories these scripts created.
case "$(basename "$W")" in
    fedsvc-bind.*|fedsvc-knot.*|fedsvc-pdns.*|fedsvc-moto.*) rm -rf "$W" ;;
esac
