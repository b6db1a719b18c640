#!/usr/bin/env bash
# Runs INSIDE the VM (see test/vm/run), on Debian's stock kernel: every feature proven on the
# host kernel is proven here too, and what only this kernel has (ipip) is proven here alone.
#   - every test file under test/rtnl, test/reconcile, test/netns, test/overlay, test/wire and
#     test/genl (directory globs, recursive: new files and sub-folders are picked up without a
#     change here)
#   - test/reliability/resync.test.js (the resync promise); not the other reliability tests
#     (soak, coexist, crash, overflow, interference: long runs whose point is endurance, not the
#     kernel: TCG would make them take most of CI's time for no new kernel behaviour)
#   - every other test with "ipip", "wireguard" or "generic netlink" in its title
#   - dual stack outside test/overlay: the CLI's dual-stack agents (test/cli/dual-stack.test.js),
#     per-family underlay detection (test/cli/ops-underlay6.test.js) and dual-stack membership
#     in a real etcd (test/membership/dual-stack-*.test.js)
#   - node examples/ipip.js, node examples/hybrid.js --ipip (hybrid with the ipip fallback),
#     node examples/wireguard.js, node examples/dual-stack.js (dual-stack underlay) and
#     --underlay6 (vxlan over an IPv6-only underlay), and node examples/cluster.js --mode
#     wireguard (three `netlink-agent overlay` processes and one etcd: a host leaving and coming
#     back, a restart with --rotate-key, a key file replaced under a running agent and SIGHUP)
# With --all: the whole suite instead. Mocha timeouts are scaled for TCG (test/vm/slow.js).
# Prints each part's counts and seconds, and ends with "tests: N passed, N failed, N skipped"
# (each example counts as one test).
set -uo pipefail
cd "$(dirname "$0")/../.."
echo "VM lane: kernel $(uname -r), NETLINK_AGENT_VM_SLOW=${NETLINK_AGENT_VM_SLOW:-20}"
p=0 f=0 s=0
summary=''
failures=''   # the "failed: <file>: <title>" lines of every part (test/support/reporter.js)
lane_start=$(date +%s)

# add_counts FILE: adds the last "tests: ..." line of FILE to p/f/s (a missing line is a failure)
add_counts() {
  local line
  line=$(tr -d '\r' < "$1" | grep -E '^tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -1)
  if [ -z "$line" ]; then echo "no result line from this part: counted as 1 failure"; f=$((f + 1)); return; fi
  # No process substitution: the guest has no /dev/fd.
  # shellcheck disable=SC2046
  set -- $(echo "$line" | sed -E 's/^tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/')
  p=$((p + $1)); f=$((f + $2)); s=$((s + $3))
}

# part LABEL CMD...: runs one part, counts it, notes its wall time
part() {
  local label=$1 out t0 rc
  shift
  echo
  echo "=== $label"
  out=$(mktemp)
  t0=$(date +%s)
  "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  add_counts "$out"
  failures+=$(tr -d '\r' < "$out" | grep -E '^failed: ' || true)
  [ -z "$failures" ] || [ "${failures: -1}" = $'\n' ] || failures+=$'\n'
  summary+="  $label: $(tr -d '\r' < "$out" | grep -E '^tests: ' | tail -1 || true) ($(( $(date +%s) - t0 )) s)"$'\n'
  rm -f "$out"
  return "$rc"
}

# example FILE ARGS...: runs an example as one test
example() {
  if node "$@"; then echo "tests: 1 passed, 0 failed, 0 skipped"; else echo "failed: node $*"; echo "tests: 0 passed, 1 failed, 0 skipped"; fi
}

mocha=(npx mocha --config test/vm/mocharc.js)
if [ "${1:-}" = "--all" ]; then
  part "the whole suite" "${mocha[@]}" 'test/**/*.test.js'
else
  part "kernel tests: test/{rtnl,reconcile,netns,overlay,wire,genl}, reliability/resync" "${mocha[@]}" \
    'test/rtnl/**/*.test.js' 'test/reconcile/**/*.test.js' 'test/netns/**/*.test.js' \
    'test/overlay/**/*.test.js' 'test/wire/**/*.test.js' 'test/genl/**/*.test.js' \
    'test/reliability/resync.test.js'
  part "other tests titled ipip, wireguard or generic netlink" "${mocha[@]}" --grep 'ipip|wireguard|generic netlink' \
    --ignore 'test/{rtnl,reconcile,netns,overlay,wire,genl}/**' --ignore 'test/reliability/resync.test.js' 'test/**/*.test.js'
  part "dual stack: test/cli/dual-stack, test/cli/ops-underlay6, test/membership/dual-stack-*" "${mocha[@]}" \
    'test/cli/dual-stack.test.js' 'test/cli/ops-underlay6.test.js' 'test/membership/dual-stack-*.test.js'
fi
part "node examples/ipip.js" example examples/ipip.js
part "node examples/hybrid.js --ipip" example examples/hybrid.js --ipip
part "node examples/wireguard.js" example examples/wireguard.js
part "node examples/dual-stack.js" example examples/dual-stack.js
part "node examples/dual-stack.js --underlay6" example examples/dual-stack.js --underlay6
part "node examples/cluster.js --mode wireguard" example examples/cluster.js --mode wireguard

echo
echo "VM lane on kernel $(uname -r), $(( $(date +%s) - lane_start )) s:"
printf '%s' "$summary"
printf '%s' "$failures"
echo "tests: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
