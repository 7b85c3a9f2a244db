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

# udp_stream FROM TO ADDR PORT [COUNT] [SIZE]: COUNT (default 3000) datagrams of SIZE (default
# 64) bytes from one connected UDP socket in FROM (bursts of 50, as a stream of small packets
# comes: the runs a receive offload merges) to a receiver in TO on PORT; fails unless at least
# half arrive and every one that arrives is intact (its sequence number's seeded bytes, once).
udp_stream() {
    local from=$1 to=$2 addr=$3 port=$4 count=${5:-3000} size=${6:-64} rx
    ip netns exec "$to" python3 - "$OUT/udp-$port" "$port" "$count" "$size" <<'PY' &
import random, socket, struct, sys
out, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("::", port)); s.settimeout(10)
open(out + ".ready", "w").close()
seen, bad = set(), 0
try:
    while len(seen) < count:
        d = s.recv(65536); s.settimeout(2)
        n, = struct.unpack_from("!I", d)
        want = struct.pack("!I", n) + random.Random(n).randbytes(size - 4)
        if d != want or n in seen: bad += 1
        else: seen.add(n)
except socket.timeout:
    pass
open(out, "w").write(f"{len(seen)} {bad}\n")
PY
    rx=$!
    wait_for 5 "UDP receiver on port $port in $to" test -e "$OUT/udp-$port.ready"
    ip netns exec "$from" python3 - "$addr" "$port" "$count" "$size" <<'PY' || fail "UDP stream $from -> $to ($addr): send failed"
import random, socket, struct, sys, time
addr, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.connect((addr, port))
for n in range(count):
    s.send(struct.pack("!I", n) + random.Random(n).randbytes(size - 4))
    if n % 50 == 49: time.sleep(0.002)
PY
    wait "$rx" || fail "UDP stream $from -> $to ($addr): receiver failed"
    read -r got bad < "$OUT/udp-$port"
    [ "$bad" = 0 ] || fail "UDP stream $from -> $to ($addr): $bad datagrams damaged or repeated"
    [ "$got" -ge $((count / 2)) ] || fail "UDP stream $from -> $to ($addr): $got of $count arrived"
    pass "$got of $count $size-byte UDP datagrams $from -> $to ($addr), each intact"
}

# l2tp_empty NS: no kernel tunnel left in NS.
l2tp_empty() { [ -z "$(ip netns exec "$1" ip l2tp show tunnel 2>/dev/null)" ]; }
