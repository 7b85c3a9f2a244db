#!/usr/bin/env bash
# Interop on the host: our LAC dials an xl2tpd LNS that requires tunnel authentication
# (`challenge = yes`, shared secret): Challenge / Challenge Response both ways (RFC 2661
# §5.1.1), tunnel and session up; then the same with a wrong secret must fail (no tunnel_up,
# a tunnel_down instead). tshark checks the good exchange for expert warnings.
source "$(dirname "$0")/../netns-lib.sh"
two_hosts lac lns
command -v xl2tpd >/dev/null || fail "xl2tpd is not installed"
SECRET=s3cr3t-interop

mkdir -p "$OUT/x"
cat > "$OUT/x/xl2tpd.conf" <<CONF
[global]
listen-addr = 10.70.0.2
port = 1701
auth file = $OUT/x/secrets
[lns default]
ip range = 10.78.0.10-10.78.0.20
local ip = 10.78.0.1
require authentication = no
challenge = yes
hostname = lns.example
length bit = yes
pppoptfile = $OUT/x/options
CONF
# xl2tpd looks the secret up by (its own name, the peer's name) and by wildcards.
printf 'lns.example lac.example %s\n* * %s\n' "$SECRET" "$SECRET" > "$OUT/x/secrets"
echo noauth > "$OUT/x/options"
ip netns exec lns tshark -q -i vlns -f "udp port 1701" -w "$OUT/challenge.pcap" >"$OUT/tshark.log" 2>&1 &
PIDS+=($!)
ip netns exec lns xl2tpd -D -c "$OUT/x/xl2tpd.conf" -p "$OUT/x/pid" -C "$OUT/x/control" >"$OUT/xl2tpd.log" 2>&1 &
PIDS+=($!)
wait_for 10 "xl2tpd LNS listening" sh -c "ip netns exec lns ss -uln | grep -q 10.70.0.2:1701"
wait_for 10 "capture running" grep -q "Capturing on" "$OUT/tshark.log"
sleep 1

run_lac() { # $1 = tag, $2 = secret
    cat > "$OUT/lac-$1.toml" <<CONF
[tunnel.t1]
peer = "10.70.0.2:1701"
host_name = "lac.example"
secret = "$2"
challenge = true
[tunnel.t1.session.s1]
pseudowire = "ppp"
CONF
    ip netns exec lac "$L2TPD" -null --control "$OUT/ctl-$1.sock" --config "$OUT/lac-$1.toml" --events json --events-file "$OUT/lac-$1.events" >"$OUT/lac-$1.log" 2>&1 &
    LAC=$!; PIDS+=($LAC)
}

run_lac good "$SECRET"
wait_for 30 "authenticated tunnel up" grep -q '"event":"tunnel_up"' "$OUT/lac-good.events"
wait_for 30 "session up" grep -q '"event":"session_up"' "$OUT/lac-good.events"
kill -TERM "$LAC"; rc=0; wait "$LAC" || rc=$?
[ "$rc" = 0 ] || fail "LAC exit status $rc"
sleep 0.5

run_lac bad "not-the-secret"
wait_for 15 "wrong secret: tunnel refused" grep -q '"event":"tunnel_down"' "$OUT/lac-bad.events"
grep -q '"event":"tunnel_up"' "$OUT/lac-bad.events" && fail "tunnel came up with a wrong secret"
pass "no tunnel with a wrong secret"
kill -TERM "$LAC" 2>/dev/null; wait "$LAC" 2>/dev/null || true

sleep 0.5
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
tshark -r "$OUT/challenge.pcap" -Y l2tp 2>/dev/null > "$OUT/exchange.txt" || true
grep -q SCCRQ "$OUT/exchange.txt" || fail "capture holds no SCCRQ"
tshark -r "$OUT/challenge.pcap" -V -O l2tp 2>/dev/null > "$OUT/exchange-v.txt" || true
grep -q "Challenge Response AVP" "$OUT/exchange-v.txt" || fail "no Challenge Response AVP in the capture"
grep -q "Challenge AVP" "$OUT/exchange-v.txt" || fail "no Challenge AVP in the capture"
pass "capture holds Challenge and Challenge Response AVPs"
warn=$(tshark -r "$OUT/challenge.pcap" -Y '_ws.expert.severity >= "Warning"' 2>/dev/null || true)
[ -z "$warn" ] || fail "tshark expert warnings: $warn"
pass "tshark: no expert warning"
echo "interop our-lac-xl2tpd-challenge: passed"
