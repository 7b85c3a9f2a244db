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

# tcp_bulk FROM TO ADDR PORT [MIB]: MIB (default 8) MiB of seeded random bytes over one TCP
# connection from namespace FROM to a receiver in TO listening on PORT (IPv4 or IPv6 ADDR);
# fails unless the receiver's byte count and SHA-256 match what was sent (30 s limit).
tcp_bulk() {
    local from=$1 to=$2 addr=$3 port=$4 mib=${5:-8} rx want
    ip netns exec "$to" python3 - "$OUT/bulk-$port" "$port" <<'PY' &
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[2]))); s.listen(1); s.settimeout(30)
open(sys.argv[1] + ".ready", "w").close()
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
open(sys.argv[1], "w").write(f"{n} {h.hexdigest()}")
PY
    rx=$!
    wait_for 5 "bulk receiver on port $port in $to" test -e "$OUT/bulk-$port.ready"
    want=$(ip netns exec "$from" python3 - "$addr" "$port" "$mib" <<'PY'
import hashlib, random, socket, sys
data = random.Random(7).randbytes(int(sys.argv[3]) << 20)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(data); s.close()
print(f"{len(data)} {hashlib.sha256(data).hexdigest()}")
PY
) || fail "bulk TCP $from -> $to ($addr): send failed"
    wait "$rx" || fail "bulk TCP $from -> $to ($addr): receiver failed"
    [ "$(cat "$OUT/bulk-$port")" = "$want" ] || fail "bulk TCP $from -> $to ($addr): got $(cat "$OUT/bulk-$port"), sent $want"
    pass "$mib MiB over TCP $from -> $to ($addr), contents intact"
}

# l2tp_empty NS: no kernel tunnel left in NS.
l2tp_empty() { [ -z "$(ip netns exec "$1" ip l2tp show tunnel 2>/dev/null)" ]; }
