#!/usr/bin/env bash
# Main job: l2tp-rs carries traffic on a fresh machine, with no kernel L2TP or PPP needed.
#  1. Two l2tpd in two network namespaces bring up a dynamic L2TPv3 Ethernet pseudowire on the
#     user-space data plane (TAP interfaces, UDP, cookies, L2-Specific Sublayer with sequence
#     numbers), ping across it both ways, and print `l2tpctl show` on both ends.
#  2. Against an independent LNS: our LAC, with PPP in-process on the user-space data plane
#     (TUN), dials l2tpns, which authenticates it through FreeRADIUS; IPCP gives our TUN the
#     RADIUS-assigned address and a ping crosses to l2tpns.
#  3. Against xl2tpd: l2tpd (LAC) dials a real xl2tpd LNS (control plane: tunnel, session, CDN,
#     StopCCN, checked with tshark).
#
# Usage: scripts/demo.sh        (root; needs iproute2, xl2tpd, tshark, l2tpns, freeradius;
#                                .ci/run installs them)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
cargo build -q -p l2tpd -p l2tpctl
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
export L2TPD=$TARGET/debug/l2tpd L2TPCTL=$TARGET/debug/l2tpctl
echo "=== 1. L2TPv3 Ethernet pseudowire on the user-space data plane (TAP), ping across"
QUIET=0 tests/interop/userspace-eth.sh
echo
echo "=== 2. our PPP LAC (user-space data plane) against l2tpns + FreeRADIUS"
tests/interop/our-lac-l2tpns.sh
echo
echo "=== 3. our LAC against xl2tpd (independent LNS, control plane)"
scripts/xl2tpd-interop.sh
