#!/usr/bin/env bash
# End to end against xl2tpd in kernel mode, with pppd on both ends:
#   1. xl2tpd LNS <- our LAC: IPCP, ping across;
#   2. xl2tpd LAC -> our LNS: IPCP, ping across.
# Clean teardown; no kernel tunnel left behind by us.
source "$(dirname "$0")/lib.sh"
two_hosts a b

cat > "$OUT/ppp-server" <<CONF
noauth
nodefaultroute
noccp
lcp-echo-interval 0
CONF
cat > "$OUT/ppp-client" <<CONF
noauth
nodefaultroute
noccp
ipcp-accept-local
ipcp-accept-remote
noipdefault
lcp-echo-interval 0
CONF

# --- 1. xl2tpd LNS in b, our LAC in a
mkdir -p "$OUT/x1"
cat > "$OUT/x1/xl2tpd.conf" <<CONF
[global]
listen-addr = 10.70.0.2
port = 1701
auth file = $OUT/x1/secrets
[lns default]
ip range = 10.98.0.10-10.98.0.20
local ip = 10.98.0.1
require authentication = no
hostname = lns.xl2tpd
length bit = yes
pppoptfile = $OUT/ppp-server
CONF
: > "$OUT/x1/secrets"
ip netns exec b xl2tpd -D -c "$OUT/x1/xl2tpd.conf" -p "$OUT/x1/pid" -C "$OUT/x1/control" >"$OUT/xl2tpd-lns.log" 2>&1 &
XPID=$!; PIDS+=($XPID)
wait_for 10 "xl2tpd LNS listening" sh -c "ip netns exec b ss -uln | grep -q 10.70.0.2:1701"
grep -q "kernel support" "$OUT/xl2tpd-lns.log" && grep -q "not detected" "$OUT/xl2tpd-lns.log" && fail "xl2tpd did not find kernel L2TP support"
cat > "$OUT/lac.toml" <<CONF
[tunnel.x]
peer = "10.70.0.2:1701"
host_name = "lac.ours"
[tunnel.x.session.s]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-client"
CONF
ip netns exec a "$L2TPD" --config "$OUT/lac.toml" --events json --events-file "$OUT/lac.events" >"$OUT/lac.log" 2>&1 &
LAC=$!; PIDS+=($LAC)
wait_for 20 "our LAC: session up with xl2tpd LNS" grep -q '"event":"session_up"' "$OUT/lac.events"
wait_for 30 "our LAC: IPCP address from xl2tpd's range" sh -c "ip -n a addr show | grep -q 'inet 10.98.0.1[0-9]'"
ip netns exec a ping -c 3 -i 0.3 -W 2 10.98.0.1 >"$OUT/ping1.log" 2>&1 || fail "ping our LAC -> xl2tpd LNS"
pass "ping across our LAC <-> xl2tpd LNS"
kill -TERM "$LAC"; rc=0; wait "$LAC" || rc=$?
[ "$rc" = 0 ] || fail "our LAC exit status $rc"
grep '"event":"tunnel_down"' "$OUT/lac.events" | grep -q '"reason":"local"' || fail "xl2tpd did not acknowledge our StopCCN"
pass "StopCCN acknowledged by xl2tpd"
wait_for 5 "no kernel tunnel left by our LAC" l2tp_empty a
kill -TERM "$XPID"; wait "$XPID" 2>/dev/null || true
sleep 1

# --- 2. xl2tpd LAC in a, our LNS in b
cat > "$OUT/ppp-lns" <<CONF
noauth
10.97.0.1:10.97.0.2
nodefaultroute
noccp
lcp-echo-interval 0
CONF
cat > "$OUT/lns.toml" <<CONF
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
host_name = "lns.ours"
[tunnel.lns.session.template]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-lns"
CONF
ip netns exec b "$L2TPD" --config "$OUT/lns.toml" --events json --events-file "$OUT/lns.events" >"$OUT/lns.log" 2>&1 &
LNS=$!; PIDS+=($LNS)
wait_for 10 "our LNS listening" sh -c "ip netns exec b ss -uln | grep -q 10.70.0.2:1701"
mkdir -p "$OUT/x2"
cat > "$OUT/x2/xl2tpd.conf" <<CONF
[global]
port = 1701
auth file = $OUT/x2/secrets
[lac ours]
lns = 10.70.0.2
require authentication = no
hostname = lac.xl2tpd
length bit = yes
autodial = yes
pppoptfile = $OUT/ppp-client
CONF
: > "$OUT/x2/secrets"
ip netns exec a xl2tpd -D -c "$OUT/x2/xl2tpd.conf" -p "$OUT/x2/pid" -C "$OUT/x2/control" >"$OUT/xl2tpd-lac.log" 2>&1 &
XPID=$!; PIDS+=($XPID)
wait_for 20 "our LNS: tunnel up with xl2tpd LAC" grep -q '"event":"tunnel_up"' "$OUT/lns.events"
wait_for 20 "our LNS: session up" grep -q '"event":"session_up"' "$OUT/lns.events"
wait_for 30 "xl2tpd LAC: IPCP address from our LNS" sh -c "ip -n a addr show | grep -q 'inet 10.97.0.2'"
ip netns exec a ping -c 3 -i 0.3 -W 2 10.97.0.1 >"$OUT/ping2.log" 2>&1 || fail "ping xl2tpd LAC -> our LNS"
pass "ping across xl2tpd LAC <-> our LNS"
kill -TERM "$LNS"; rc=0; wait "$LNS" || rc=$?
[ "$rc" = 0 ] || fail "our LNS exit status $rc"
wait_for 5 "no kernel tunnel left by our LNS" l2tp_empty b
echo "e2e xl2tpd-kernel: passed"
