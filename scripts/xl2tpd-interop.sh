#!/usr/bin/env bash
# Main-job demo and interop test: l2tpd (LAC, null data plane) dials a real xl2tpd LNS.
#
# Creates two network namespaces joined by a veth pair (10.77.0.1 LAC, 10.77.0.2 LNS; these
# addresses exist only inside the namespaces), starts xl2tpd as LNS in one and l2tpd as LAC in
# the other, captures the exchange with tshark, and checks from l2tpd's event stream:
#   tunnel up -> session up (ICCN acknowledged) -> session down with xl2tpd's CDN result code
#   (its pppd fails for lack of /dev/ppp) -> on SIGTERM a StopCCN that xl2tpd acknowledges,
#   l2tpd exits 0 -> tshark reports no expert warning on the capture.
#
# Usage: scripts/xl2tpd-interop.sh [OUTDIR]      (root; needs xl2tpd, tshark, iproute2)
# Env:   L2TPD=path to the l2tpd binary (default: builds it with cargo)
# Exit:  0 when every check passed; the events, logs and pcap stay in OUTDIR.
set -euo pipefail

OUT=${1:-$(mktemp -d /tmp/l2tp-interop.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
REPO=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${L2TPD:-}" ]; then
    (cd "$REPO" && cargo build -q -p l2tpd)
    L2TPD="${CARGO_TARGET_DIR:-$REPO/target}/debug/l2tpd"
fi
for tool in xl2tpd tshark ip; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (apt-get install xl2tpd tshark iproute2)"; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "FAIL: must run as root (network namespaces)"; exit 2; }

SUF=$$
LAC=l2tplac$SUF LNS=l2tplns$SUF
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$LAC" 2>/dev/null || true
    ip netns del "$LNS" 2>/dev/null || true
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "--- l2tpd log"; tail -n 40 "$OUT/l2tpd.log" || true; echo "--- xl2tpd log"; tail -n 40 "$OUT/xl2tpd.log" || true; exit 1; }
pass() { echo "ok: $*"; }

ip netns add "$LAC"
ip netns add "$LNS"
ip link add veth-lac$SUF type veth peer name veth-lns$SUF
ip link set veth-lac$SUF netns "$LAC"
ip link set veth-lns$SUF netns "$LNS"
ip -n "$LAC" addr add 10.77.0.1/24 dev veth-lac$SUF
ip -n "$LNS" addr add 10.77.0.2/24 dev veth-lns$SUF
ip -n "$LAC" link set lo up; ip -n "$LAC" link set veth-lac$SUF up
ip -n "$LNS" link set lo up; ip -n "$LNS" link set veth-lns$SUF up

# xl2tpd as LNS. Its pppd fails without /dev/ppp, so it sends CDN right after ICCN.
mkdir -p "$OUT/xl2tpd"
cat > "$OUT/xl2tpd/xl2tpd.conf" <<CONF
[global]
listen-addr = 10.77.0.2
port = 1701
auth file = $OUT/xl2tpd/l2tp-secrets

[lns default]
ip range = 10.78.0.10-10.78.0.20
local ip = 10.78.0.1
require authentication = no
require chap = no
refuse pap = yes
hostname = lns.example
length bit = yes
pppoptfile = $OUT/xl2tpd/options
CONF
: > "$OUT/xl2tpd/l2tp-secrets"
echo "noauth" > "$OUT/xl2tpd/options"
ip netns exec "$LNS" tshark -q -i veth-lns$SUF -f "udp port 1701" -w "$OUT/exchange.pcap" >"$OUT/tshark-capture.log" 2>&1 &
PIDS+=($!)
ip netns exec "$LNS" xl2tpd -D -c "$OUT/xl2tpd/xl2tpd.conf" -p "$OUT/xl2tpd/pid" -C "$OUT/xl2tpd/control" >"$OUT/xl2tpd.log" 2>&1 &
PIDS+=($!)
# Wait for the capture and xl2tpd to be ready.
for _ in $(seq 50); do
    grep -q "Capturing on" "$OUT/tshark-capture.log" 2>/dev/null && ip netns exec "$LNS" ss -uln | grep -q ":1701" && break
    sleep 0.1
done
# dumpcap reports "Capturing on" just before its filter is live: give it a moment.
sleep 1

cat > "$OUT/l2tpd.toml" <<CONF
[tunnel.t1]
peer = "10.77.0.2:1701"
version = "l2tpv2"
encap = "udp"
host_name = "lac.example"
retry_timeout = 1000
max_retries = 5

[tunnel.t1.session.s1]
pseudowire = "ppp"
CONF

ip netns exec "$LAC" ${L2TPD_WRAP:-} "$L2TPD" -config "$OUT/l2tpd.toml" -null -verbose --events json --events-file "$OUT/events.jsonl" >"$OUT/l2tpd.log" 2>&1 &
L2TPD_PID=$!
PIDS+=($L2TPD_PID)

wait_event() { # $1 = jq-free grep pattern, $2 = what
    for _ in $(seq 100); do
        grep -q "$1" "$OUT/events.jsonl" 2>/dev/null && { pass "$2"; return 0; }
        sleep 0.1
    done
    fail "$2: no event matching $1 within 10 s"
}
wait_event '"event":"tunnel_up"' "tunnel up"
wait_event '"event":"session_up"' "session up (ICCN acknowledged)"
wait_event '"event":"session_down"' "session down"
grep '"event":"session_down"' "$OUT/events.jsonl" | grep -q '"reason":"peer"' || fail "session down was not caused by the peer's CDN"
grep '"event":"session_down"' "$OUT/events.jsonl" | grep -q '"result_code":' || fail "session down carries no result code"
pass "session down by xl2tpd's CDN: $(grep '"event":"session_down"' "$OUT/events.jsonl" | grep -o '"result_code":[0-9]*')"

kill -TERM "$L2TPD_PID"
rc=0; wait "$L2TPD_PID" || rc=$?
[ "$rc" = 0 ] || fail "l2tpd exited with status $rc after SIGTERM"
pass "l2tpd exited 0 after SIGTERM"
grep '"event":"tunnel_down"' "$OUT/events.jsonl" | grep -q '"reason":"local"' || fail "no local tunnel_down (StopCCN acknowledged) in the events"
pass "StopCCN acknowledged by xl2tpd"

sleep 0.5
kill "${PIDS[0]}" 2>/dev/null || true; wait "${PIDS[0]}" 2>/dev/null || true
tshark -r "$OUT/exchange.pcap" -Y l2tp > "$OUT/exchange.txt" 2>/dev/null || true
cat "$OUT/exchange.txt"
for m in SCCRQ SCCRP SCCCN ICRQ ICRP ICCN CDN StopCCN; do
    grep -q "$m" "$OUT/exchange.txt" || fail "capture has no $m"
done
pass "capture holds SCCRQ SCCRP SCCCN ICRQ ICRP ICCN CDN StopCCN"
warn=$(tshark -r "$OUT/exchange.pcap" -Y '_ws.expert.severity >= "Warning"' 2>/dev/null || true)
[ -z "$warn" ] || fail "tshark expert warnings: $warn"
pass "tshark: no expert warning"
echo "interop: all checks passed (artifacts in $OUT)"
