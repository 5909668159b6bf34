#!/usr/bin/env bash
# Runs a command inside a network namespace whose only interface is loopback, so that nothing
# it starts can reach beyond this machine: servers on 127.0.0.1 work, any other address fails
# at once with "network unreachable" (cloud metadata services, the system resolver, a stray
# kubeconfig). Cargo runs offline there: fetch the dependencies first (`cargo fetch`).
#
#   scripts/offline.sh cargo test -p fedsvc-providers --test integration -- rfc2136
#
# As root it uses `unshare --net`; otherwise it asks for a user namespace as well
# (`unshare --map-root-user --net`), which most kernels allow. Where no namespace can be made it
# says why and, with FEDSVC_REQUIRE_REAL=1, fails; without it, the command runs on the
# ordinary network after a warning.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: scripts/offline.sh COMMAND [ARG...]" >&2
    exit 2
fi

# Already inside (a nested call): run as is.
if [ "${FEDSVC_OFFLINE:-}" = 1 ]; then
    exec "$@"
fi

why=""
if ! command -v unshare >/dev/null 2>&1; then
    why="unshare (util-linux) is not installed"
elif ! command -v ip >/dev/null 2>&1; then
    why="ip (iproute2) is not installed"
else
    if [ "$(id -u)" = 0 ]; then
        ns=(unshare --net)
    else
        ns=(unshare --map-root-user --net)
    fi
    if probe=$("${ns[@]}" -- ip link set lo up 2>&1); then
        export FEDSVC_OFFLINE=1 CARGO_NET_OFFLINE=true
        exec "${ns[@]}" -- sh -c 'ip link set lo up && exec "$@"' offline "$@"
    fi
    why="cannot create a network namespace: ${probe:-unknown error}"
fi

if [ "${FEDSVC_REQUIRE_REAL:-}" = 1 ]; then
    echo "offline.sh: $why; the tests must run without a network (FEDSVC_REQUIRE_REAL=1)" >&2
    exit 1
fi
echo "offline.sh: warning: $why; running with the ordinary network" >&2
exec "$@"
