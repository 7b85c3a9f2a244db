#!/usr/bin/env bash
# L2TPv2 PPP sessions on the user-space data plane, PPP terminated in-process (no pppd, no
# kernel L2TP or PPP): two of our daemons in two network namespaces. The LAC (a) dials the LNS
# (b); the LNS asks for AUTH, checks the LAC's user/password against a chap-secrets file,
# gives it the first address of its pool and its own local address; both TUN interfaces must
# carry those addresses (point-to-point), and pings cross both ways. `l2tpctl show` on the
# LNS names the PPP state (LCP, authentication, IPCP), the user and the address. With BAD=1 the LAC's password is wrong: the LNS refuses
# it, PPP goes down, both ends clear the session with a CDN (session_down events) and no TUN
# interface is left, and each end counts one authentication failure of that method (LNS:
# /metrics, LAC: l2tpctl stats).
#
# Env: AUTH=chap|mschapv2|pap (default chap), BAD=0|1 (default 0), VERSION=2|3 (default 2;
#      3: an L2TPv3 PPP pseudowire), DEAD=1 (then the LAC daemon is frozen with SIGSTOP: the
#      LNS's LCP echo (1 s, 3 failures) must declare the peer dead and clear the session with a
#      CDN while the tunnel stays), IPERF=1 (iperf3 TCP and 64-byte UDP through the PPP TUN
#      interfaces, with the two daemons' CPU; IPERF_SECS), QUIET=1 (no show print), IPV6=1
#      (both ends `ppp_ipv6 = true`: IPV6CP opens, link-local addresses, ping -6 both ways).
source "$(dirname "$0")/../netns-lib.sh"
AUTH=${AUTH:-chap} BAD=${BAD:-0} VERSION=${VERSION:-2}
L2TPCTL=${L2TPCTL:-$TARGET/debug/l2tpctl}
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
two_hosts a b
PASS="open sesame"; [ "$BAD" = 1 ] && PASS="wrong one"
# The LAC's LCP MRU: the LNS's interface MTU must not exceed it (as pppd: min(MTU, peer's MRU)).
LAC_MRU=1400
cat > "$OUT/chap-secrets" <<'SECRETS'
# client  server  secret         addresses
alice     *       "open sesame"  *
bob       lns     other          *
SECRETS
cat > "$OUT/b.toml" <<CONF
dataplane = "userspace"
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
version = "l2tpv$VERSION"
host_name = "lns"
[tunnel.lns.session.ppp]
pseudowire = "ppp"
ppp_auth = ["$AUTH"]
ppp_secrets = "$OUT/chap-secrets"
ppp_local_ip = "10.99.0.1"
ppp_pool = "10.99.0.2-10.99.0.20"
ppp_dns = ["10.99.0.53"]
ppp_echo_interval = 1
ppp_echo_failures = 3
$([ "${IPV6:-0}" = 1 ] && echo "ppp_ipv6 = true")
CONF
cat > "$OUT/a.toml" <<CONF
dataplane = "userspace"
[tunnel.t]
local = "10.70.0.1:1701"
peer = "10.70.0.2:1701"
version = "l2tpv$VERSION"
host_name = "lac"
[tunnel.t.session.ppp]
pseudowire = "ppp"
interface_name = "uppp0"
ppp_user = "alice"
ppp_password = "$PASS"
ppp_echo_interval = 1
ppp_mru = $LAC_MRU
$([ "${IPV6:-0}" = 1 ] && echo "ppp_ipv6 = true")
CONF
ip netns exec b "$L2TPD" --control "$OUT/b.sock" --config "$OUT/b.toml" --metrics 127.0.0.1:9155 --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
PIDS+=($!)
wait_for 10 "listener up" sh -c "ip netns exec b ss -uln | grep -q ':1701'"
ip netns exec a "$L2TPD" --control "$OUT/a.sock" --config "$OUT/a.toml" --events json --events-file "$OUT/a.events" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)
wait_for 15 "L2TPv$VERSION session up ($AUTH)" grep -q '"event":"session_up"' "$OUT/a.events"
if [ "$BAD" = 1 ]; then
    wait_for 20 "the LAC's session cleared after the refused password" grep -q '"event":"session_down"' "$OUT/a.events"
    wait_for 10 "the LNS's session cleared" grep -q '"event":"session_down"' "$OUT/b.events"
    grep '"event":"session_down"' "$OUT/b.events" | grep -q '"result_code":2,.*"message":"PPP: Authentication failed"' || fail "b's session_down is not its CDN for the refused password: $(grep session_down "$OUT/b.events")"
    grep '"event":"session_down"' "$OUT/a.events" | grep -q '"result_code":2,.*"message":"PPP: ' || fail "a's session_down is not a CDN for PPP: $(grep session_down "$OUT/a.events")"
    pass "both CDNs say PPP failed (result 2)"
    # The failure is counted once, under its method, on both ends (LNS: /metrics; LAC: stats).
    ip netns exec b curl -s http://127.0.0.1:9155/metrics -o "$OUT/metrics.txt" || fail "metrics scrape"
    grep -q "^l2tp_ppp_auth_failures_total{method=\"$AUTH\"} 1\$" "$OUT/metrics.txt" || fail "the LNS did not count one $AUTH failure: $(grep ppp_auth_failures "$OUT/metrics.txt")"
    [ "$(grep -c '^l2tp_ppp_auth_failures_total{.*} 0$' "$OUT/metrics.txt")" = 2 ] || fail "another method counted: $(grep ppp_auth_failures "$OUT/metrics.txt")"
    pass "LNS metrics: l2tp_ppp_auth_failures_total{method=\"$AUTH\"} 1, the other methods 0"
    "$L2TPCTL" --control "$OUT/a.sock" stats | grep -q "PPP auth failures.* $AUTH 1" || fail "the LAC did not count one $AUTH failure: $("$L2TPCTL" --control "$OUT/a.sock" stats | grep PPP)"
    pass "LAC stats: one $AUTH authentication failure"
    wait_for 10 "no TUN interface left on the LAC" sh -c "! ip -n a link show uppp0"
    wait_for 10 "no TUN interface left on the LNS" sh -c "! ip -n b link show | grep -q ': ppp'"
    [ -n "${KEEP_EVENTS:-}" ] && cat "$OUT/a.events" "$OUT/b.events"
    echo "interop userspace-ppp ($AUTH, wrong password): passed"
    exit 0
fi
wait_for 20 "IPCP up: the LAC's TUN has the pool's first address" sh -c "ip -n a -4 addr show dev uppp0 | grep -q 'inet 10.99.0.2 peer 10.99.0.1/32'"
wait_for 10 "the LNS's TUN has its local address with the peer as destination" sh -c "ip -n b -4 addr show | grep -q 'inet 10.99.0.1 peer 10.99.0.2/32'"
ip netns exec a ping -c 3 -i 0.2 -W 2 10.99.0.1 >"$OUT/ping-ab.log" 2>&1 || fail "ping a -> b across PPP: $(tail -2 "$OUT/ping-ab.log")"
pass "ping LAC -> LNS across PPP"
ip netns exec b ping -c 3 -i 0.2 -W 2 10.99.0.2 >"$OUT/ping-ba.log" 2>&1 || fail "ping b -> a across PPP: $(tail -2 "$OUT/ping-ba.log")"
pass "ping LNS -> LAC across PPP"
ip netns exec a ping -c 2 -i 0.2 -W 2 -s 1300 10.99.0.1 >"$OUT/ping-big.log" 2>&1 || fail "1300-byte ping: $(tail -2 "$OUT/ping-big.log")"
pass "1300-byte ping across PPP"
B_MTU=$(ip -n b -o link show | awk -F'mtu ' '/: ppp/ {split($2, f, " "); print f[1]; exit}')
[ -n "$B_MTU" ] && [ "$B_MTU" -le "$LAC_MRU" ] || fail "the LNS's interface MTU is ${B_MTU:-?}, above the LAC's MRU $LAC_MRU"
pass "the LNS's interface MTU $B_MTU is within the LAC's MRU $LAC_MRU"
# Bulk TCP both ways over the PPP link, contents checked (TSO reads cut into segments that
# each get the PPP prefix; received segments merged before the TUN write).
tcp_bulk a b 10.99.0.1 5301 4
tcp_bulk b a 10.99.0.2 5302 4
"$L2TPCTL" --control "$OUT/b.sock" show session --json > "$OUT/b-show.json" || fail "l2tpctl show session (b)"
python3 - "$OUT/b-show.json" "$AUTH" "${IPV6:-0}" <<'PY' || fail "b's session status"
import json, sys
doc = json.load(open(sys.argv[1]))
def sessions(d):
    if isinstance(d, dict):
        if "peer_id" in d and "pseudowire" in d: yield d
        for v in d.values(): yield from sessions(v)
    elif isinstance(d, list):
        for v in d: yield from sessions(v)
ss = list(sessions(doc))
assert ss, "no session in show output"
s = ss[0]
assert s.get("username") == "alice", s
assert s.get("address") == "10.99.0.2", s
st = s["stats"]
assert st["tx_packets"] >= 6 and st["rx_packets"] >= 6, st
ppp = s.get("ppp")
want = {"lcp": "opened", "auth_method": sys.argv[2], "auth": "ok", "ipcp": "opened"}
if sys.argv[3] == "1":
    want["ipv6cp"] = "opened"
assert ppp == want, ppp
print("ok: show --json: ppp", ppp)
print("ok: show: user", s["username"], "address", s["address"], "counters", {k: st[k] for k in ("tx_packets", "rx_packets")})
PY
"$L2TPCTL" --control "$OUT/b.sock" show session | grep -q "ppp: lcp opened, auth $AUTH ok, ipcp opened, $([ "${IPV6:-0}" = 1 ] && echo "ipv6cp opened, ")user alice, address 10.99.0.2" || fail "l2tpctl show session (text) has no PPP line: $("$L2TPCTL" --control "$OUT/b.sock" show session)"
pass "l2tpctl show session names the PPP phase, user and address"
if [ "${IPV6:-0}" = 1 ]; then
    # IPV6CP: each end's interface gets fe80::<its identifier>/64 (a TUN device may have a
    # kernel-made link-local address too); a ping6 to each of the LNS's link-local addresses,
    # through the LAC's interface, crosses PPP (IPv6 is dropped until IPV6CP is open).
    wait_for 10 "IPV6CP up: the LAC's TUN has a /64 link-local address" sh -c "ip -n a -6 addr show dev uppp0 scope link | grep -q 'inet6 fe80::.*/64'"
    BIF=$(ip -n b -o link show | awk -F': ' '$2 ~ /^ppp/ {print $2; exit}')
    BIF=${BIF%%@*}
    wait_for 10 "IPV6CP up: the LNS's TUN has a /64 link-local address" sh -c "ip -n b -6 addr show dev $BIF scope link | grep -q 'inet6 fe80::.*/64'"
    "$L2TPCTL" --control "$OUT/b.sock" show session | grep -q "ipv6cp opened" || fail "show has no ipv6cp opened: $("$L2TPCTL" --control "$OUT/b.sock" show session)"
    pass "show: ipv6cp opened"
    for addr in $(ip -n b -6 -o addr show dev "$BIF" scope link | awk '{print $4}' | cut -d/ -f1); do
        ip netns exec a ping -6 -c 3 -i 0.2 -W 2 "$addr%uppp0" >"$OUT/ping6.log" 2>&1 || fail "ping -6 $addr%uppp0: $(tail -2 "$OUT/ping6.log")"
        pass "ping -6 LAC -> LNS $addr%uppp0 across PPP"
    done
    AADDR=$(ip -n a -6 -o addr show dev uppp0 scope link | awk '{print $4}' | cut -d/ -f1 | head -1)
    ip netns exec b ping -6 -c 3 -i 0.2 -W 2 "$AADDR%$BIF" >"$OUT/ping6b.log" 2>&1 || fail "ping -6 $AADDR%$BIF: $(tail -2 "$OUT/ping6b.log")"
    pass "ping -6 LNS -> LAC $AADDR across PPP"
fi
if [ "${IPERF:-0}" = 1 ]; then
    command -v iperf3 >/dev/null || fail "iperf3 is not installed (apt-get install iperf3)"
    SECS=${IPERF_SECS:-5}
    ip netns exec b iperf3 -s -D -I "$OUT/iperf3.pid" >/dev/null 2>&1
    wait_for 5 "iperf3 server up" test -s "$OUT/iperf3.pid"
    PIDS+=("$(cat "$OUT/iperf3.pid")")
    BPID=${PIDS[0]}
    cpu() { awk '{s += $14 + $15} END {print s}' "/proc/$A/stat" "/proc/$BPID/stat"; }
    for args in "tcp" "udp64 -u -b 0 -l 64"; do
        set -- $args; name=$1; shift
        c0=$(cpu); t0=$(date +%s.%N)
        ip netns exec a iperf3 -c 10.99.0.1 -t "$SECS" -J "$@" > "$OUT/iperf-$name.json" || fail "iperf3 $name"
        c1=$(cpu); t1=$(date +%s.%N)
        python3 - "$OUT/iperf-$name.json" "$name" "$c0" "$c1" "$t0" "$t1" <<'PY'
import json, sys, os
d = json.load(open(sys.argv[1])); name = sys.argv[2]
c0, c1, t0, t1 = map(float, sys.argv[3:7])
cpu = (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)
end = d["end"]
if d["start"]["test_start"]["protocol"] == "TCP":
    bps = end["sum_received"]["bits_per_second"]; extra = ""
else:
    s = end["sum"]; bps = s["bits_per_second"] * (1 - s["lost_percent"] / 100)
    extra = f", {(s['packets'] - s['lost_packets']) / s['seconds']:,.0f} pkt/s received, {s['lost_percent']:.1f}% lost"
print(f"bench: ppp-{name}: {bps / 1e6:,.0f} Mbit/s{extra}; daemons {cpu:.2f} cores")
PY
    done
fi
if [ "${DEAD:-0}" = 1 ]; then
    kill -STOP "$A"
    wait_for 15 "the LNS's LCP echo declared the frozen LAC dead" sh -c "grep '\"event\":\"session_down\"' '$OUT/b.events' | grep -q 'PPP: peer not responding'"
    kill -CONT "$A"
    grep -q '"event":"tunnel_down"' "$OUT/b.events" && fail "the tunnel went down with the session"
    wait_for 10 "the LNS's TUN removed with the session" sh -c "! ip -n b link show | grep -q ': ppp'"
    wait_for 10 "the LAC got the CDN" grep -q '"event":"session_down"' "$OUT/a.events"
fi
if [ "${QUIET:-0}" != 1 ]; then
    echo "--- l2tpctl show (a)"; "$L2TPCTL" --control "$OUT/a.sock" show
    echo "--- l2tpctl show (b)"; "$L2TPCTL" --control "$OUT/b.sock" show
fi
kill -TERM "$A"; rc=0; wait "$A" || rc=$?; [ "$rc" = 0 ] || fail "a's exit status $rc"
ip -n a link show uppp0 >/dev/null 2>&1 && fail "uppp0 still in a after exit"
wait_for 10 "b's session cleared and its TUN removed" sh -c "! ip -n b link show | grep -q ': ppp'"
grep '"event":"session_down"' "$OUT/b.events" | grep -q '"username":"alice","address":"10.99.0.2"' || fail "b's session_down names no user and address: $(grep session_down "$OUT/b.events")"
pass "session_down names the user and the address"
echo "interop userspace-ppp ($AUTH): passed"
