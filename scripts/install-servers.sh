#!/usr/bin/env bash
# Installs the real DNS servers the tests run against (idempotent; quick when everything is
# already there): BIND 9, Knot, PowerDNS with its sqlite backend, dig/kdig, sqlite3, and moto's
# server (Route53 emulator, from PyPI). The tests start them themselves, on loopback, through
# crates/fedsvc-test-support. Also make, which the build of jemalloc (the controller's
# allocator) runs; iproute2, whose `ip` brings up loopback in the network namespace the tests
# run in (scripts/offline.sh); and jq, which fedsvc-cli's plan_output benchmark compares fedsvc
# plan with.
set -euo pipefail

PACKAGES=(bind9 bind9-utils bind9-dnsutils knot knot-dnsutils pdns-server pdns-backend-sqlite3 sqlite3 make iproute2 jq)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v moto_server >/dev/null 2>&1; then
    if command -v pip >/dev/null 2>&1; then PIP=(pip); else PIP=(python3 -m pip); fi
    "${PIP[@]}" install --quiet 'moto[server]' || "${PIP[@]}" install --quiet --break-system-packages 'moto[server]'
fi
echo "DNS servers installed: $(named -v 2>/dev/null | head -1); knotd $(knotd --version 2>/dev/null | awk '{print $NF}'); $(pdns_server --version 2>&1 | grep -o 'PowerDNS Authoritative Server [0-9.]*' | head -1); moto_server at $(command -v moto_server || echo MISSING)"
