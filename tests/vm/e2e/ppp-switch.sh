#!/usr/bin/env bash
# Tunnel switching, kernel data plane: A (our LAC, pppd) -> B (our l2tpd: LNS for A and LAC
# towards C, bridging the two PPP sessions' channels with PPPIOCBRIDGECHAN, no pppd at B) ->
# C (our LNS, pppd). PPP runs end to end between A's and C's pppd: IPCP completes and A pings C;
# when A hangs up, B clears its call to C as well.
source "$(dirname "$0")/../../netns-lib.sh"
ip netns add sa; ip netns add sb; ip netns add sc; NETNS+=(sa sb sc)
ip link add vab type veth peer name vba; ip link add vbc type veth peer name vcb
ip link set vab netns sa; ip link set vba netns sb; ip link set vbc netns sb; ip link set vcb netns sc
ip -n sa addr add 10.80.0.1/24 dev vab; ip -n sb addr add 10.80.0.2/24 dev vba
ip -n sb addr add 10.81.0.1/24 dev vbc; ip -n sc addr add 10.81.0.2/24 dev vcb
for n in sa sb sc; do ip -n $n link set lo up; done
ip -n sa link set vab up; ip -n sb link set vba up; ip -n sb link set vbc up; ip -n sc link set vcb up

printf 'noauth\n10.82.0.1:10.82.0.2\nnodefaultroute\nnoccp\nlcp-echo-interval 0\n' > "$OUT/ppp-a"
printf 'noauth\n10.82.0.2:10.82.0.1\nnodefaultroute\nnoccp\nlcp-echo-interval 0\n' > "$OUT/ppp-c"
cat > "$OUT/c.toml" <<CONF
[tunnel.lns]
local = "10.81.0.2:1701"
listen = true
[tunnel.lns.session.t]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-c"
CONF
cat > "$OUT/b.toml" <<CONF
[tunnel.toc]
local = "10.81.0.1:1701"
peer = "10.81.0.2:1701"
[tunnel.toc.session.s]
pseudowire = "ppp"

[tunnel.froma]
local = "10.80.0.2:1701"
listen = true
[tunnel.froma.session.t]
pseudowire = "ppp"
bridge = "toc/s"
CONF
cat > "$OUT/a.toml" <<CONF
[tunnel.tob]
local = "10.80.0.1:1701"
peer = "10.80.0.2:1701"
[tunnel.tob.session.s]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-a"
CONF
ip netns exec sc "$L2TPD" --config "$OUT/c.toml" --events json --events-file "$OUT/c.events" >"$OUT/c.log" 2>&1 &
PIDS+=($!)
sleep 0.5
ip netns exec sb "$L2TPD" --config "$OUT/b.toml" --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
PIDS+=($!)
wait_for 20 "B's call to C is up" grep -q '"session":"s"' "$OUT/b.events"
ip netns exec sa "$L2TPD" --config "$OUT/a.toml" --events json --events-file "$OUT/a.events" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)
wait_for 20 "A's call to B is up" grep -q '"event":"session_up"' "$OUT/a.events"
wait_for 10 "B bridged the two sessions" grep -q "sessions bridged" "$OUT/b.log"
[ -z "$(pppd_in sb)" ] || fail "pppd runs at B (the switch)"
pass "no pppd at B"
wait_for 40 "IPCP end to end: address on A" sh -c "ip -n sa addr show | grep -q 'inet 10.82.0.1'"
wait_for 20 "IPCP end to end: address on C" sh -c "ip -n sc addr show | grep -q 'inet 10.82.0.2'"
ip netns exec sa ping -c 3 -i 0.3 -W 2 10.82.0.2 >"$OUT/ping.log" 2>&1 || fail "ping A -> C through the switch"
pass "ping A -> C across two L2TP tunnels switched at B"
kill -TERM "$A"; wait "$A" || fail "A exit status"
# The switched call is one call: whichever half goes down first, B clears the other (A's
# hang-up and C's pppd reacting to the LCP Terminate-Request race, so check B's decision).
wait_for 15 "B cleared the other half of the switched call" grep -q "clearing the bridge partner" "$OUT/b.log"
wait_for 15 "C's call is down" grep -q '"event":"session_down"' "$OUT/c.events"
echo "e2e ppp-switch: passed"
