#!/usr/bin/env bash
# The daemon killed with SIGKILL and restarted: no stale kernel object survives the restart
# (dynamic L2TPv2 tunnel with a pppd session, and a static L2TPv3 Ethernet pseudowire, whose
# kernel tunnel is unmanaged and would outlive the process).
source "$(dirname "$0")/lib.sh"
two_hosts a b

cat > "$OUT/ppp-lns" <<CONF
noauth
10.96.0.1:10.96.0.2
nodefaultroute
noccp
lcp-echo-interval 0
CONF
cat > "$OUT/ppp-lac" <<CONF
noauth
10.96.0.2:10.96.0.1
nodefaultroute
noccp
lcp-echo-interval 0
CONF
cat > "$OUT/lns.toml" <<CONF
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
[tunnel.lns.session.template]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-lns"
CONF
cat > "$OUT/lac.toml" <<CONF
[tunnel.dyn]
local = "10.70.0.1:1701"
peer = "10.70.0.2:1701"
[tunnel.dyn.session.s]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-lac"

[tunnel.pw]
kind = "static"
version = "l2tpv3"
encap = "udp"
local = "10.70.0.1:5001"
peer = "10.70.0.2:5001"
tid = 4001
ptid = 4002
[tunnel.pw.session.eth]
pseudowire = "eth"
sid = 5001
psid = 5002
interface_name = "l2tpeth-pw"
CONF
ip netns exec b "$L2TPD" --config "$OUT/lns.toml" >"$OUT/lns.log" 2>&1 &
PIDS+=($!)
sleep 0.5
start_lac() {
    ip netns exec a "$L2TPD" --config "$OUT/lac.toml" --events json --events-file "$OUT/lac$1.events" >"$OUT/lac$1.log" 2>&1 &
    LAC=$!; PIDS+=($LAC)
}
count_tunnels() { ip netns exec a ip l2tp show tunnel | grep -c '^Tunnel' || true; }

start_lac 1
wait_for 20 "first run: session up" grep -q '"session":"s"' "$OUT/lac1.events"
wait_for 20 "first run: static pseudowire interface" ip -n a link show l2tpeth-pw
[ "$(count_tunnels)" = 2 ] || fail "expected 2 kernel tunnels, have $(count_tunnels)"
kill -KILL "$LAC"; wait "$LAC" 2>/dev/null || true
pass "l2tpd killed with SIGKILL"

start_lac 2
wait_for 20 "second run: session up again" sh -c "grep '\"event\":\"session_up\"' '$OUT/lac2.events' | grep -q '\"session\":\"s\"'"
wait_for 10 "second run: static pseudowire up again" grep -q '"session":"eth"' "$OUT/lac2.events"
grep -q "left by a previous run" "$OUT/lac2.log" || fail "the restart did not report removing the stale static tunnel"
pass "restart removed the stale static tunnel"
sleep 1
n=$(count_tunnels)
ip netns exec a ip l2tp show tunnel > "$OUT/tunnels.log"
[ "$n" = 2 ] || fail "after restart: expected 2 kernel tunnels (no stale ones), have $n"
pass "after restart exactly the 2 tunnels of the new run exist"
nsess=$(ip netns exec a ip l2tp show session | grep -c '^Session' || true)
[ "$nsess" = 2 ] || fail "after restart: expected 2 kernel sessions, have $nsess"
pass "after restart exactly 2 kernel sessions exist"
kill -TERM "$LAC"; wait "$LAC" || fail "second run exit status"
wait_for 5 "clean exit leaves nothing" l2tp_empty a
echo "e2e kill-restart: passed"
