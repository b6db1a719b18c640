#!/usr/bin/env bash
# Runs INSIDE the VM (see test/vm/run): the kernel tests that need what the host kernel lacks
# (every test with "ipip", "wireguard" or "generic netlink" in its title), `node examples/ipip.js`
# and `node examples/wireguard.js`, or with --all the whole suite. Ends with
# "tests: N passed, N failed, N skipped" (each example counts as one test).
set -uo pipefail
cd "$(dirname "$0")/../.."
echo "VM lane: kernel $(uname -r)"
out=$(mktemp)
if [ "${1:-}" = "--all" ]; then
  npx mocha 2>&1 | tee "$out"
else
  npx mocha --grep 'ipip|wireguard|generic netlink' 2>&1 | tee "$out"
fi
line=$(tr -d '\r' < "$out" | grep -E '^tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -1)
p=0; f=1; s=0
if [ -n "$line" ]; then
  # No process substitution: the guest has no /dev/fd.
  # shellcheck disable=SC2046
  set -- $(echo "$line" | sed -E 's/^tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/')
  p=$1; f=$2; s=$3
fi
echo
echo "=== node examples/ipip.js"
if node examples/ipip.js; then p=$((p + 1)); else echo "examples/ipip.js FAILED"; f=$((f + 1)); fi
echo
echo "=== node examples/wireguard.js"
if node examples/wireguard.js; then p=$((p + 1)); else echo "examples/wireguard.js FAILED"; f=$((f + 1)); fi
echo "tests: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
