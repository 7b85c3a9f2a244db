#!/usr/bin/env bash
# End to end, kernel data plane: two of our LCCEs set up a dynamic L2TPv3 control connection
# (Message Digest HMAC-SHA-1) with an Ethernet pseudowire (cookies, default L2-Specific
# Sublayer) and a PPP pseudowire (pppd on both ends); the l2tpeth interfaces and the ppp link
# carry a ping; the control exchange, captured and decoded by tshark
# with the shared secret, has no expert warning (the digests verify); teardown leaves no kernel
# object. V3_ENCAP = udp (default) | ip, V3_FAMILY = 4 (default) | 6 select the transport.
source "$(dirname "$0")/../../netns-lib.sh"
ENCAP=${V3_ENCAP:-udp}
if [ "${V3_FAMILY:-4}" = 6 ]; then A_IP="[fd70::1]"; B_IP="[fd70::2]"; else A_IP=10.70.0.1; B_IP=10.70.0.2; fi
PORT=1701; [ "$ENCAP" = ip ] && PORT=0
if [ "$ENCAP" = ip ]; then FILTER="ip proto 115 or ip6 proto 115"; else FILTER="udp port 1701"; fi
two_hosts a b
cat > "$OUT/b.toml" <<CONF
[tunnel.lcce]
local = "$B_IP:$PORT"
listen = true
version = "l2tpv3"
encap = "$ENCAP"
secret = "e2e"
digest = "sha1"
[tunnel.lcce.session.template]
pseudowire = "eth"
interface_name = "l2tpeth-b"
peer_cookie = [1, 2, 3, 4, 5, 6, 7, 8]
l2spec_type = "default"
[tunnel.lcce.session.ppp]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-b"
CONF
printf 'noauth\n10.72.0.2:10.72.0.1\nnodefaultroute\nnoccp\nlcp-echo-interval 0\n' > "$OUT/ppp-b"
# nomagic on one end: both pppd start in the same instant from the same event, and pppd seeds
# its magic number from time ^ pid: once both ends detected a loop ("Serial line is looped
# back"), most likely equal magic numbers.
printf 'noauth\n10.72.0.1:10.72.0.2\nnodefaultroute\nnoccp\nlcp-echo-interval 0\nnomagic\n' > "$OUT/ppp-a"
cat > "$OUT/a.toml" <<CONF
[tunnel.pw]
local = "$A_IP:$PORT"
peer = "$B_IP:$PORT"
version = "l2tpv3"
encap = "$ENCAP"
secret = "e2e"
digest = "sha1"
[tunnel.pw.session.eth]
pseudowire = "eth"
interface_name = "l2tpeth-a"
peer_cookie = [9, 9, 9, 9]
l2spec_type = "default"
[tunnel.pw.session.ppp]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-a"
CONF
ip netns exec b tshark -q -i vb -f "$FILTER" -w "$OUT/v3ip.pcap" >"$OUT/tshark.log" 2>&1 &
TS=$!; PIDS+=($TS)
wait_for 20 "capture running" grep -q "Capturing on" "$OUT/tshark.log"
sleep 1
ip netns exec b "$L2TPD" --config "$OUT/b.toml" --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
B=$!; PIDS+=($B)
sleep 1
ip netns exec a "$L2TPD" --config "$OUT/a.toml" --events json --events-file "$OUT/a.events" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)
wait_for 20 "pseudowire up on a" grep -q '"event":"session_up"' "$OUT/a.events"
wait_for 20 "pseudowire up on b" grep -q '"event":"session_up"' "$OUT/b.events"
wait_for 10 "l2tpeth-a exists" ip -n a link show l2tpeth-a
wait_for 10 "l2tpeth-b exists" ip -n b link show l2tpeth-b
ip -n a addr add 10.71.0.1/24 dev l2tpeth-a; ip -n a link set l2tpeth-a up
ip -n b addr add 10.71.0.2/24 dev l2tpeth-b; ip -n b link set l2tpeth-b up
ip netns exec a ping -c 3 -i 0.3 -W 2 10.71.0.2 >"$OUT/ping.log" 2>&1 || fail "ping across the Ethernet pseudowire"
pass "ping 10.71.0.1 -> 10.71.0.2 across the L2TPv3 Ethernet pseudowire"
ip netns exec a ip l2tp show session > "$OUT/session-a.log"
grep -q "cookie 01020304 05060708" "$OUT/session-a.log" || grep -qi "cookie 0102030405060708" "$OUT/session-a.log" || { cat "$OUT/session-a.log"; fail "a does not send b's assigned cookie"; }
pass "a sends the cookie b assigned"
wait_for 30 "PPP pseudowire: IPCP address on a" sh -c "ip -n a addr show | grep -q 'inet 10.72.0.1'"
wait_for 30 "PPP pseudowire: IPCP address on b" sh -c "ip -n b addr show | grep -q 'inet 10.72.0.2'"
ip netns exec a ping -c 3 -i 0.3 -W 2 10.72.0.2 >"$OUT/ping-ppp.log" 2>&1 || fail "ping across the L2TPv3 PPP pseudowire"
pass "ping 10.72.0.1 -> 10.72.0.2 across the L2TPv3 PPP pseudowire (pppd both ends)"
kill -TERM "$A"; rc=0; wait "$A" || rc=$?
[ "$rc" = 0 ] || fail "a exit status $rc"
wait_for 5 "no kernel tunnel left on a" l2tp_empty a
wait_for 10 "b saw the tunnel close and removed it" l2tp_empty b
sleep 0.5
kill "$TS"; wait "$TS" 2>/dev/null || true
tshark -r "$OUT/v3ip.pcap" -o l2tp.shared_secret:e2e -V -O l2tp 2>/dev/null > "$OUT/v3ip.txt" || true
grep -q "Message Digest AVP" "$OUT/v3ip.txt" || fail "tshark shows no Message Digest"
grep -q "Assigned Cookie" "$OUT/v3ip.txt" || fail "tshark shows no Assigned Cookie"
warn=$(tshark -r "$OUT/v3ip.pcap" -o l2tp.shared_secret:e2e -Y '_ws.expert.severity >= "Warning"' 2>/dev/null || true)
[ -z "$warn" ] || fail "tshark expert warnings: $warn"
pass "tshark decodes the L2TPv3 exchange ($ENCAP, IPv${V3_FAMILY:-4}) with the secret: no expert warning"
echo "e2e v3-eth ($ENCAP, IPv${V3_FAMILY:-4}): passed"
