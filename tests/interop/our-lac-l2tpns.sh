#!/usr/bin/env bash
# Our LAC with PPP in-process on the user-space data plane (TUN, no pppd, no kernel L2TP/PPP)
# against an independent LNS: l2tpns, authenticating through FreeRADIUS, in namespace lns.
# Checks: PPP authenticates (FreeRADIUS sends Access-Accept), IPCP gives our TUN the address
# RADIUS assigned (Framed-IP-Address 10.80.0.10) with l2tpns's address as the peer, a ping
# crosses to l2tpns's tun address, l2tpns starts accounting; on SIGTERM our LAC exits 0 and
# l2tpns sees the tunnel close. AUTH=pap|chap (default chap) picks what our LAC offers.
source "$(dirname "$0")/../netns-lib.sh"
source "$(dirname "$0")/../l2tpns-lib.sh"
AUTH=${AUTH:-chap}
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
two_hosts lac lns
[ -x "$L2TPD" ] || fail "no l2tpd binary at $L2TPD (cargo build -p l2tpd)"
L2TPNS_AUTHTYPES=$AUTH
start_radius lns
start_l2tpns lns 10.70.0.2
accepts0=$(grep -c "Sent Access-Accept" "$OUT/radius.log" 2>/dev/null || true)

cat > "$OUT/lac.toml" <<CONF
dataplane = "userspace"
[tunnel.t1]
peer = "10.70.0.2:1701"
host_name = "lac.ours"
[tunnel.t1.session.s1]
pseudowire = "ppp"
interface_name = "uppp0"
ppp_user = "${L2TPNS_USER:-alice}"
ppp_password = "${L2TPNS_PASS:-correct horse}"
CONF
ip netns exec lac "$L2TPD" --control "$OUT/ctl.sock" --config "$OUT/lac.toml" --events json --events-file "$OUT/lac.events" >"$OUT/lac.log" 2>&1 &
LAC=$!; PIDS+=("$LAC")
wait_for 20 "tunnel and session up with l2tpns" grep -q '"event":"session_up"' "$OUT/lac.events"
wait_for 30 "IPCP: our TUN has the address RADIUS assigned (10.80.0.10)" sh -c "ip -n lac addr show dev uppp0 | grep -q 'inet 10.80.0.10'"
ip -n lac addr show dev uppp0 | grep -q "peer 10.80.0.1" || fail "uppp0's peer is not l2tpns's address: $(ip -n lac addr show dev uppp0)"
pass "uppp0 is 10.80.0.10 peer 10.80.0.1"
grep -q "Sent Access-Accept" "$OUT/radius.log" || fail "FreeRADIUS sent no Access-Accept"
[ "$(grep -c "Sent Access-Accept" "$OUT/radius.log")" -gt "${accepts0:-0}" ] || fail "no new Access-Accept"
pass "PPP ($AUTH) authenticated through l2tpns and FreeRADIUS"
ip netns exec lac ping -c 3 -i 0.3 -W 2 10.80.0.1 >"$OUT/ping.log" 2>&1 || fail "ping l2tpns through the PPP session: $(tail -2 "$OUT/ping.log")"
pass "ping 10.80.0.10 -> 10.80.0.1 through l2tpns"
kill -TERM "$LAC"; rc=0; wait "$LAC" || rc=$?
[ "$rc" = 0 ] || fail "our LAC exit status $rc"
pass "our LAC exited 0"
ip -n lac link show uppp0 >/dev/null 2>&1 && fail "uppp0 left behind"
wait_for 10 "l2tpns closed the tunnel" grep -qE "Received StopCCN|Closing tunnel|Shutting down tunnel" "$OUT/l2tpns.log"
echo "interop our-lac-l2tpns ($AUTH): passed"
