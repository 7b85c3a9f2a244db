#!/usr/bin/env bash
# tests/vm/bench-dataplane.sh — throughput of the user-space data plane against the kernel's,
# in one boot of the QEMU VM (run.sh; Debian's kernel, TCG: absolute figures are far below
# real hardware, the ratios are what count).
#
#   tests/vm/bench-dataplane.sh [--kernel 6.1|6.12] [--secs N]
#
# In the guest, namespaces a and b joined by a veth; iperf3 TCP and 64-byte UDP from a to b:
#   veth        the bare veth path;
#   kernel      a static L2TPv3 Ethernet pseudowire (UDP) made by `ip l2tp` at both ends;
#   us-kernel   our l2tpd with `dataplane = "userspace"` (TAP) in a, `ip l2tp` in b;
#   kernel-us   the same pair, b sending to a (iperf3 -R);
#   us-us       our user-space data plane at both ends.
# Each pseudowire run also reports the daemons' CPU (cores busy) and CPU per Gbit/s.
# Needs iperf3 (Debian package) on the host: the guest runs the host's root file system.
set -euo pipefail
cd "$(dirname "$0")/../.."
KERNEL=6.1 SECS=5
while [ $# -gt 0 ]; do
    case $1 in
        --kernel) KERNEL=$2; shift 2 ;;
        --secs) SECS=$2; shift 2 ;;
        *) echo "usage: $0 [--kernel 6.1|6.12] [--secs N]"; exit 2 ;;
    esac
done
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install iperf3)"; exit 2; }
cargo build --release -q -p l2tpd
BIN=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/l2tpd
LOG=${CARGO_TARGET_DIR:-target}/vm-bench-dataplane.log
tests/vm/run.sh --kernel "$KERNEL" -- sh -c "L2TPD='$BIN' SECS=$SECS '$PWD/tests/vm/dataplane-guest.sh'" 2>&1 | tee "$LOG"
sed -i 's/\r$//' "$LOG"
echo
grep -E '^bench:' "$LOG" || { echo "no figures (see $LOG)"; exit 1; }
