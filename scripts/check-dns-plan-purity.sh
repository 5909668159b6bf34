#!/usr/bin/env bash
# Checks that fedsvc-dns-plan stays pure: its normal (non-dev, non-build) dependency tree may
# hold only the crates listed below. Anything else (an async runtime, a TLS stack, a clock or
# randomness crate) fails the check, naming the offender and the path that brought it in.
#
# Usage: scripts/check-dns-plan-purity.sh   (from anywhere inside the workspace)
set -euo pipefail

cd "$(dirname "$0")/.."

ALLOWED=(
  fedsvc-dns-plan
  fedsvc-model
  serde
  serde_core
  serde_derive
  thiserror
  thiserror-impl
  proc-macro2
  quote
  syn
  unicode-ident
)

tree=$(cargo tree --locked -p fedsvc-dns-plan -e normal --prefix none --format '{p}' 2>&1) || {
  echo "check-dns-plan-purity: cargo tree failed:" >&2
  echo "$tree" >&2
  exit 2
}

is_allowed() {
  local name=$1 a
  for a in "${ALLOWED[@]}"; do
    [[ $name == "$a" ]] && return 0
  done
  return 1
}

offenders=()
while read -r name _rest; do
  [[ -z $name ]] && continue
  if ! is_allowed "$name"; then
    offenders+=("$name")
  fi
done < <(printf '%s\n' "$tree" | sed 's/ (\*)$//' | sort -u)

if ((${#offenders[@]})); then
  echo "check-dns-plan-purity: FAILED: fedsvc-dns-plan depends on crates outside the allow-list:" >&2
  for o in $(printf '%s\n' "${offenders[@]}" | sort -u); do
    echo "  - $o, brought in by:" >&2
    cargo tree --locked -p fedsvc-dns-plan -e normal -i "$o" --prefix indent 2>/dev/null \
      | sed 's/^/      /' >&2 || true
  done
  echo "fedsvc-dns-plan must stay pure (no IO, no clock, no randomness); see DESIGN.md §1." >&2
  exit 1
fi

count=$(printf '%s\n' "$tree" | sed 's/ (\*)$//' | awk '{print $1}' | sort -u | grep -c .)
echo "check-dns-plan-purity: ok ($count crates, all allowed)"
