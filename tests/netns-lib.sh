# Helpers for the network-namespace tests (sourced by tests/vm/e2e/*.sh and tests/interop/*.sh).
# Each test creates its own network namespaces (addresses exist only inside them) and cleans
# them up on exit.
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
L2TPD=${L2TPD:-$TARGET/debug/l2tpd}
OUT=$(mktemp -d /tmp/e2e.XXXXXX)
# The tests use fixed namespace and veth names: one at a time per machine.
exec 9>/tmp/l2tp-netns-tests.lock
flock 9
NETNS=()
PIDS=()

cleanup() {
    # Daemons get SIGTERM and up to 10 s to close their tunnels and reap their pppd; then
    # whatever still runs in our namespaces is killed, so nothing leaks into the next test.
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for _ in $(seq 50); do
        alive=0
        for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.2
    done
    for n in "${NETNS[@]:-}"; do
        [ -n "$n" ] || continue
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
    for n in "${NETNS[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null || true; done
}

# pppd_in NS: pppd processes running in network namespace NS.
pppd_in() { for p in $(ip netns pids "$1" 2>/dev/null); do grep -qa pppd "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done; }
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    for f in "$OUT"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
    exit 1
}
pass() { echo "ok: $*"; }

# two_hosts A B: namespaces A (10.70.0.1/24, fd70::1) and B (10.70.0.2/24, fd70::2) on a veth.
two_hosts() {
    ip netns add "$1"; ip netns add "$2"; NETNS+=("$1" "$2")
    ip link add "v$1" type veth peer name "v$2"
    ip link set "v$1" netns "$1"; ip link set "v$2" netns "$2"
    ip -n "$1" addr add 10.70.0.1/24 dev "v$1"; ip -n "$2" addr add 10.70.0.2/24 dev "v$2"
    ip -n "$1" addr add fd70::1/64 dev "v$1" nodad; ip -n "$2" addr add fd70::2/64 dev "v$2" nodad
    for n in "$1" "$2"; do ip -n "$n" link set lo up; done
    ip -n "$1" link set "v$1" up; ip -n "$2" link set "v$2" up
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
    local secs=$1 what=$2; shift 2
    local n=$((secs * 5))
    for _ in $(seq "$n"); do
        if "$@" >/dev/null 2>&1; then pass "$what"; return 0; fi
        sleep 0.2
    done
    fail "$what (not within ${secs} s)"
}

# l2tp_empty NS: no kernel tunnel left in NS.
l2tp_empty() { [ -z "$(ip netns exec "$1" ip l2tp show tunnel 2>/dev/null)" ]; }
