#!/usr/bin/env bash
# Per-tunnel data plane: ONE l2tpd (namespace m) with two static L2TPv3 Ethernet tunnels, one
# with `dataplane = "kernel"` (l2tpeth, programmed over netlink) and one with
# `dataplane = "userspace"` (a TAP carried by the daemon), each against a peer made by
# `ip l2tp` in a namespace of its own (k, u). A ping crosses each pseudowire both ways; the
# kernel tunnel shows in `ip l2tp show tunnel` of m and the user-space one does not; l2tpctl
# reports both sessions' counters (merged from both planes); on SIGTERM both are removed.
source "$(dirname "$0")/../../netns-lib.sh"
L2TPCTL=${L2TPCTL:-$TARGET/debug/l2tpctl}
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
modprobe l2tp_eth 2>/dev/null || true

# m <-> k on 10.70.0.0/24, m <-> u on 10.72.0.0/24.
for n in m k u; do ip netns add "$n"; NETNS+=("$n"); ip -n "$n" link set lo up; done
ip link add vmk type veth peer name vkm
ip link add vmu type veth peer name vum
ip link set vmk netns m; ip link set vkm netns k
ip link set vmu netns m; ip link set vum netns u
ip -n m addr add 10.70.0.1/24 dev vmk; ip -n k addr add 10.70.0.2/24 dev vkm
ip -n m addr add 10.72.0.1/24 dev vmu; ip -n u addr add 10.72.0.2/24 dev vum
ip -n m link set vmk up; ip -n k link set vkm up; ip -n m link set vmu up; ip -n u link set vum up

# The peers: kernel pseudowires made by iproute2.
ip -n k l2tp add tunnel tunnel_id 2000 peer_tunnel_id 1000 encap udp local 10.70.0.2 remote 10.70.0.1 udp_sport 1701 udp_dport 1701
ip -n k l2tp add session name kpeer tunnel_id 2000 session_id 20 peer_session_id 10 l2spec_type none
ip -n u l2tp add tunnel tunnel_id 2001 peer_tunnel_id 1001 encap udp local 10.72.0.2 remote 10.72.0.1 udp_sport 1702 udp_dport 1702
ip -n u l2tp add session name upeer tunnel_id 2001 session_id 21 peer_session_id 11 \
    cookie cafebabe peer_cookie 01020304 l2spec_type none

cat > "$OUT/m.toml" <<CONF
[tunnel.kt]
dataplane = "kernel"
kind = "static"
version = "l2tpv3"
local = "10.70.0.1:1701"
peer = "10.70.0.2:1701"
tid = 1000
ptid = 2000
[tunnel.kt.session.eth]
pseudowire = "eth"
sid = 10
psid = 20
interface_name = "kpw"
l2spec_type = "none"

[tunnel.ut]
dataplane = "userspace"
kind = "static"
version = "l2tpv3"
local = "10.72.0.1:1702"
peer = "10.72.0.2:1702"
tid = 1001
ptid = 2001
[tunnel.ut.session.eth]
pseudowire = "eth"
sid = 11
psid = 21
cookie = [1, 2, 3, 4]
peer_cookie = [0xca, 0xfe, 0xba, 0xbe]
interface_name = "upw"
l2spec_type = "none"
CONF
ip netns exec m "$L2TPD" --control "$OUT/m.sock" --config "$OUT/m.toml" >"$OUT/m.log" 2>&1 &
M=$!; PIDS+=($M)
wait_for 15 "kernel l2tpeth kpw in m" ip -n m link show kpw
wait_for 15 "user-space TAP upw in m" ip -n m link show upw
grep -q "data planes: kernel and user space side by side" "$OUT/m.log" || fail "the choice of data planes was not logged"
[ "$(grep -c "data planes:" "$OUT/m.log")" = 1 ] || fail "the choice of data planes logged more than once"
pass "l2tpd logged the two data planes once"

# Which plane carries which tunnel: the kernel's tunnel table of m has 1000 only.
ip -n m l2tp show tunnel > "$OUT/m-tunnels.txt"; cat "$OUT/m-tunnels.txt"
grep -q "Tunnel 1000," "$OUT/m-tunnels.txt" || fail "kernel tunnel 1000 missing from ip l2tp show tunnel in m"
grep -q "Tunnel 1001," "$OUT/m-tunnels.txt" && fail "user-space tunnel 1001 is in the kernel's table in m"
pass "tunnel 1000 in the kernel of m, tunnel 1001 not"
ip -n m l2tp show session > "$OUT/m-sessions.txt"
grep -q "Session 11 " "$OUT/m-sessions.txt" && fail "user-space session 11 is in the kernel's table in m"
ip -n m -d link show upw | grep -q "tun type tap" || fail "upw is not a TAP device: $(ip -n m -d link show upw)"
pass "session 11 is a TAP of the daemon, not a kernel session"

ip -n m addr add 10.71.0.1/24 dev kpw; ip -n m link set kpw up
ip -n k addr add 10.71.0.2/24 dev kpeer; ip -n k link set kpeer up
ip -n m addr add 10.73.0.1/24 dev upw; ip -n m link set upw up
ip -n u addr add 10.73.0.2/24 dev upeer; ip -n u link set upeer up
ip netns exec m ping -c 3 -i 0.3 -W 2 10.71.0.2 >"$OUT/ping-k.log" 2>&1 || { ip -n m -s l2tp show session; ip -n k -s l2tp show session; ip -n m -d link show kpw; } >"$OUT/k-diag.log" 2>&1 || true
grep -q " 0% packet loss" "$OUT/ping-k.log" || fail "ping across the kernel tunnel: $(tail -2 "$OUT/ping-k.log")"
ip netns exec k ping -c 3 -i 0.3 -W 2 10.71.0.1 >"$OUT/ping-kr.log" 2>&1 || fail "ping back across the kernel tunnel: $(tail -2 "$OUT/ping-kr.log")"
pass "ping both ways across the kernel-plane tunnel"
ip netns exec m ping -c 3 -i 0.3 -W 2 10.73.0.2 >"$OUT/ping-u.log" 2>&1 || fail "ping across the user-space tunnel: $(tail -2 "$OUT/ping-u.log")"
ip netns exec u ping -c 3 -i 0.3 -W 2 10.73.0.1 >"$OUT/ping-ur.log" 2>&1 || fail "ping back across the user-space tunnel: $(tail -2 "$OUT/ping-ur.log")"
pass "ping both ways across the user-space-plane tunnel"

# Counters of both sessions through the one data plane (the router asks each plane).
"$L2TPCTL" --control "$OUT/m.sock" show session --json > "$OUT/m-show.json" || fail "l2tpctl show session"
python3 - "$OUT/m-show.json" <<'PY' || fail "session counters of both planes in l2tpctl show"
import json, sys
got = json.load(open(sys.argv[1]))
assert len(got) == 2, got
for s in got:
    st = s.get("stats")
    assert st, ("no counters", s)
    assert st["rx_packets"] >= 6 and st["tx_packets"] >= 6, (s.get("tunnel"), st)
    assert st["rx_cookie_discards"] == 0 and st["rx_invalid"] == 0, (s.get("tunnel"), st)
print("ok: counters of both sessions", [(s.get("tunnel"), s["stats"]["rx_packets"]) for s in got])
PY

kill -TERM "$M"; rc=0; wait "$M" || rc=$?; [ "$rc" = 0 ] || fail "l2tpd exit status $rc"
l2tp_empty m || fail "kernel tunnel left behind in m: $(ip -n m l2tp show tunnel)"
ip -n m link show upw >/dev/null 2>&1 && fail "upw left behind in m"
pass "both tunnels removed on SIGTERM"
echo "e2e mixed-planes: passed"
