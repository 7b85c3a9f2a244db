#!/usr/bin/env bash
# Interop on the host (no kernel L2TP/PPP needed): l2tpns as LNS with FreeRADIUS in namespace
# lns; our LAC (null data plane) in namespace lac dials it: an L2TPv2 tunnel and a PPP session
# (SCCRQ/SCCRP/SCCCN, ICRQ/ICRP/ICCN) come up; then our StopCCN is acknowledged and l2tpns
# forgets the tunnel. With the null data plane no PPP runs, so no RADIUS request is expected;
# tests/vm/e2e/xl2tpd-l2tpns.sh covers authentication.
source "$(dirname "$0")/../netns-lib.sh"
source "$(dirname "$0")/../l2tpns-lib.sh"
two_hosts lac lns
[ -x "$L2TPD" ] || fail "no l2tpd binary at $L2TPD (cargo build -p l2tpd)"

start_radius lns
start_l2tpns lns 10.70.0.2

cat > "$OUT/lac.toml" <<CONF
[tunnel.t1]
peer = "10.70.0.2:1701"
host_name = "lac.ours"
[tunnel.t1.session.s1]
pseudowire = "ppp"
CONF
ip netns exec lac "$L2TPD" -null --control "$OUT/ctl.sock" --config "$OUT/lac.toml" --events json --events-file "$OUT/lac.events" >"$OUT/lac.log" 2>&1 &
LAC=$!; PIDS+=("$LAC")
wait_for 20 "tunnel up with l2tpns" grep -q '"event":"tunnel_up"' "$OUT/lac.events"
grep '"event":"tunnel_up"' "$OUT/lac.events" | grep -q '"peer_host_name":"lns.l2tpns"' ||
    fail "tunnel_up does not name l2tpns's host name lns.l2tpns: $(grep tunnel_up "$OUT/lac.events")"
pass "l2tpns's SCCRP names it lns.l2tpns"
wait_for 20 "session up with l2tpns" grep -q '"event":"session_up"' "$OUT/lac.events"
wait_for 10 "l2tpns logged the new session" grep -q "Received ICCN" "$OUT/l2tpns.log"
kill -TERM "$LAC"; rc=0; wait "$LAC" || rc=$?
[ "$rc" = 0 ] || fail "our LAC exit status $rc"
pass "our LAC exited 0"
grep '"event":"tunnel_down"' "$OUT/lac.events" | grep -q '"reason":"local"' || fail "l2tpns did not acknowledge our StopCCN"
pass "StopCCN acknowledged by l2tpns"
wait_for 10 "l2tpns closed the tunnel" grep -qE "Received StopCCN|Closing tunnel|Shutting down tunnel" "$OUT/l2tpns.log"
kill -0 "$(cat "$OUT/l2tpns/l2tpns.pid")" || fail "l2tpns died"
pass "l2tpns still running"
echo "interop l2tpns-radius-smoke: passed"
