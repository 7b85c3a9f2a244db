#!/usr/bin/env bash
# Interop on the host (user-space xl2tpd, our null data plane): xl2tpd as LAC dials our LNS.
# xl2tpd's pppd fails without /dev/ppp, so xl2tpd clears the call (CDN) right after ICCN; then
# its control pipe closes the tunnel (StopCCN). Both must show in our LNS's events.
source "$(dirname "$0")/../netns-lib.sh"
two_hosts lac lns
command -v xl2tpd >/dev/null || fail "xl2tpd is not installed"

cat > "$OUT/lns.toml" <<CONF
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
host_name = "lns.ours"
[tunnel.lns.session.template]
pseudowire = "ppp"
CONF
ip netns exec lns "$L2TPD" -null --control "$OUT/ctl.sock" --config "$OUT/lns.toml" --events json --events-file "$OUT/lns.events" >"$OUT/lns.log" 2>&1 &
LNS=$!; PIDS+=($LNS)
wait_for 10 "our LNS listening" sh -c "ip netns exec lns ss -uln | grep -q 10.70.0.2:1701"

mkdir -p "$OUT/x"
cat > "$OUT/x/xl2tpd.conf" <<CONF
[global]
port = 1701
auth file = $OUT/x/secrets
[lac ours]
lns = 10.70.0.2
require authentication = no
hostname = lac.xl2tpd
length bit = yes
pppoptfile = $OUT/x/options
CONF
: > "$OUT/x/secrets"; echo noauth > "$OUT/x/options"
ip netns exec lac xl2tpd -D -c "$OUT/x/xl2tpd.conf" -p "$OUT/x/pid" -C "$OUT/x/control" >"$OUT/xl2tpd.log" 2>&1 &
PIDS+=($!)
wait_for 10 "xl2tpd control pipe" test -p "$OUT/x/control"
echo "c ours" > "$OUT/x/control"
wait_for 10 "tunnel up (xl2tpd LAC -> our LNS)" grep -q '"event":"tunnel_up"' "$OUT/lns.events"
grep '"event":"tunnel_up"' "$OUT/lns.events" | grep -q '"peer_host_name":"lac.xl2tpd"' || fail "peer host name"
wait_for 10 "session up (ICRQ/ICRP/ICCN)" grep -q '"event":"session_up"' "$OUT/lns.events"
wait_for 10 "session down by xl2tpd's CDN" sh -c "grep '\"event\":\"session_down\"' '$OUT/lns.events' | grep -q '\"reason\":\"peer\"'"
echo "d ours" > "$OUT/x/control"
wait_for 10 "tunnel down by xl2tpd's StopCCN" sh -c "grep '\"event\":\"tunnel_down\"' '$OUT/lns.events' | grep -q '\"reason\":\"peer\"'"
kill -TERM "$LNS"; rc=0; wait "$LNS" || rc=$?
[ "$rc" = 0 ] || fail "our LNS exit status $rc"
pass "our LNS exited 0"
echo "interop xl2tpd-lac-our-lns: passed"
