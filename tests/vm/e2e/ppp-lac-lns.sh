#!/usr/bin/env bash
# End to end, kernel data plane: our LAC <-> our LNS, L2TPv2, real pppd on both ends (pppol2tp
# plugin): IPCP completes, ping across the ppp interfaces, clean teardown, `ip l2tp show`
# empty on both sides afterwards.
source "$(dirname "$0")/lib.sh"
two_hosts lac lns

cat > "$OUT/lns-ppp" <<CONF
noauth
10.99.0.1:10.99.0.2
nodefaultroute
noccp
lcp-echo-interval 0
CONF
cat > "$OUT/lac-ppp" <<CONF
noauth
10.99.0.2:10.99.0.1
nodefaultroute
noccp
lcp-echo-interval 0
CONF
cat > "$OUT/lns.toml" <<CONF
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
host_name = "lns.e2e"
[tunnel.lns.session.template]
pseudowire = "ppp"
pppd_args = "$OUT/lns-ppp"
CONF
cat > "$OUT/lac.toml" <<CONF
[tunnel.t1]
local = "10.70.0.1:1701"
peer = "10.70.0.2:1701"
host_name = "lac.e2e"
[tunnel.t1.session.s1]
pseudowire = "ppp"
pppd_args = "$OUT/lac-ppp"
CONF

ip netns exec lns "$L2TPD" --config "$OUT/lns.toml" --events json --events-file "$OUT/lns.events" >"$OUT/lns.log" 2>&1 &
LNS_PID=$!; PIDS+=($LNS_PID)
sleep 0.5
ip netns exec lac "$L2TPD" --config "$OUT/lac.toml" --events json --events-file "$OUT/lac.events" >"$OUT/lac.log" 2>&1 &
LAC_PID=$!; PIDS+=($LAC_PID)

wait_for 20 "LAC session up" grep -q '"event":"session_up"' "$OUT/lac.events"
wait_for 20 "LNS session up" grep -q '"event":"session_up"' "$OUT/lns.events"
wait_for 30 "ppp interface with IPCP address on the LAC" sh -c "ip -n lac addr show | grep -q 'inet 10.99.0.2'"
wait_for 30 "ppp interface with IPCP address on the LNS" sh -c "ip -n lns addr show | grep -q 'inet 10.99.0.1'"
ip netns exec lac ping -c 3 -i 0.3 -W 2 10.99.0.1 >"$OUT/ping.log" 2>&1 || fail "ping across the PPP link"
pass "ping 10.99.0.2 -> 10.99.0.1 over L2TPv2/PPP"
ip netns exec lac ip l2tp show session | grep -q "Session" || fail "no kernel session on the LAC"

kill -TERM "$LAC_PID"
rc=0; wait "$LAC_PID" || rc=$?
[ "$rc" = 0 ] || fail "LAC l2tpd exit status $rc"
pass "LAC exited 0 after SIGTERM"
grep '"event":"tunnel_down"' "$OUT/lac.events" | grep -q '"reason":"local"' || fail "LAC StopCCN not acknowledged"
wait_for 10 "LNS saw the tunnel go" grep -q '"event":"tunnel_down"' "$OUT/lns.events"
wait_for 5 "no kernel tunnel left on the LAC" l2tp_empty lac
wait_for 5 "no kernel tunnel left on the LNS" l2tp_empty lns
[ -z "$(pppd_in lac)" ] || fail "pppd still running on the LAC after l2tpd exited"
wait_for 5 "the LNS's pppd ended with its session" sh -c "[ -z \"\$(for p in \$(ip netns pids lns); do grep -qa pppd /proc/\$p/cmdline && echo \$p; done)\" ]"
kill -TERM "$LNS_PID"; wait "$LNS_PID" || fail "LNS exit status"
echo "e2e ppp-lac-lns: passed"
