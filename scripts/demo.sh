#!/usr/bin/env bash
# Main job: l2tp-rs carries traffic on a fresh machine, with no kernel L2TP or PPP needed.
#  1. Two l2tpd in two network namespaces bring up a dynamic L2TPv3 Ethernet pseudowire on the
#     user-space data plane (TAP interfaces, UDP, cookies, L2-Specific Sublayer with sequence
#     numbers), ping across it both ways, and print `l2tpctl show` on both ends.
#  2. Against an independent peer: l2tpd (LAC) dials a real xl2tpd LNS (control plane: tunnel,
#     session, CDN, StopCCN, checked with tshark).
#
# Usage: scripts/demo.sh        (root; needs iproute2, xl2tpd, tshark; .ci/run installs them)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
cargo build -q -p l2tpd -p l2tpctl
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
export L2TPD=$TARGET/debug/l2tpd L2TPCTL=$TARGET/debug/l2tpctl
echo "=== 1. L2TPv3 Ethernet pseudowire on the user-space data plane (TAP), ping across"
QUIET=0 tests/interop/userspace-eth.sh
echo
echo "=== 2. our LAC against xl2tpd (independent LNS)"
scripts/xl2tpd-interop.sh
