#!/usr/bin/env bash
# Wire compatibility of the user-space data plane with the kernel's: our daemon with
# `dataplane = "userspace"` (TAP) in namespace a, the kernel's l2tpeth in namespace b, a ping
# across in both directions, twice:
#  1. b's pseudowire made by iproute2 (`ip l2tp add tunnel/session`: static, UDP, 4- and 8-byte
#     cookies, the default L2-Specific Sublayer with sequence numbers both ways), a's by our
#     static tunnel;
#  2. b's made by our own daemon on the kernel data plane (dynamic L2TPv3 listener, L2TP/IP),
#     a's by our user-space daemon dialling it.
# The kernel's own counters (ip -s l2tp / l2tpctl) must show no cookie or sequence discard.
source "$(dirname "$0")/../../netns-lib.sh"
L2TPCTL=${L2TPCTL:-$TARGET/debug/l2tpctl}
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
two_hosts a b
modprobe l2tp_eth 2>/dev/null || true
modprobe l2tp_ip 2>/dev/null || true

# --- 1. iproute2's static kernel pseudowire in b, our user-space static tunnel in a.
ip -n b l2tp add tunnel tunnel_id 2000 peer_tunnel_id 1000 encap udp local 10.70.0.2 remote 10.70.0.1 udp_sport 1701 udp_dport 1701
ip -n b l2tp add session name kpw tunnel_id 2000 session_id 20 peer_session_id 10 \
    cookie 0102030405060708 peer_cookie cafebabe l2spec_type default seq both
cat > "$OUT/a-static.toml" <<CONF
dataplane = "userspace"
[tunnel.pw]
kind = "static"
version = "l2tpv3"
encap = "udp"
local = "10.70.0.1:1701"
peer = "10.70.0.2:1701"
tid = 1000
ptid = 2000
[tunnel.pw.session.eth]
pseudowire = "eth"
sid = 10
psid = 20
cookie = [0xca, 0xfe, 0xba, 0xbe]
peer_cookie = [1, 2, 3, 4, 5, 6, 7, 8]
l2spec_type = "default"
seqnum = true
interface_name = "upw"
CONF
ip netns exec a "$L2TPD" --control "$OUT/a1.sock" --config "$OUT/a-static.toml" >"$OUT/a1.log" 2>&1 &
A=$!; PIDS+=($A)
wait_for 10 "user-space TAP upw in a" ip -n a link show upw
ip -n a addr add 10.71.0.1/24 dev upw; ip -n a link set upw up
ip -n b addr add 10.71.0.2/24 dev kpw; ip -n b link set kpw up
ip netns exec a ping -c 3 -i 0.3 -W 2 10.71.0.2 >"$OUT/ping1.log" 2>&1 || fail "ping user space -> kernel (ip l2tp): $(tail -2 "$OUT/ping1.log")"
pass "ping user-space pseudowire -> kernel l2tpeth made by ip l2tp (UDP, cookies, L2SS + sequence numbers)"
ip netns exec b ping -c 3 -i 0.3 -W 2 10.71.0.1 >"$OUT/ping1r.log" 2>&1 || fail "ping kernel (ip l2tp) -> user space: $(tail -2 "$OUT/ping1r.log")"
pass "ping kernel l2tpeth made by ip l2tp -> user-space pseudowire"
ip -n b -s l2tp show session > "$OUT/kstats1.txt"; cat "$OUT/kstats1.txt"
if grep -Eq "cookie discards [1-9]|seq discards [1-9]|[1-9][0-9]* (cookie|seq) discards" "$OUT/kstats1.txt"; then
    cat "$OUT/kstats1.txt"; fail "the kernel discarded our packets (cookie / sequence)"
fi
pass "kernel counters: no cookie or sequence discard"
# Bulk TCP both ways: our TSO reads cut into segments and sent with UDP segmentation offload
# must reach the kernel's l2tpeth as ordinary datagrams; its segments must merge into our GSO
# writes. (Loss under TCG may cost sequence discards here; TCP recovers, contents must match.)
tcp_bulk a b 10.71.0.2 5201 4
tcp_bulk b a 10.71.0.1 5202 4
kill -TERM "$A"; rc=0; wait "$A" || rc=$?; [ "$rc" = 0 ] || fail "a (static) exit status $rc"
ip -n a link show upw >/dev/null 2>&1 && fail "upw left behind in a"
ip -n b l2tp del session tunnel_id 2000 session_id 20
ip -n b l2tp del tunnel tunnel_id 2000

# --- 2. our kernel-data-plane listener in b (L2TP/IP), our user-space LCCE in a dialling it.
cat > "$OUT/b.toml" <<CONF
[tunnel.lcce]
local = "10.70.0.2:0"
listen = true
version = "l2tpv3"
encap = "ip"
[tunnel.lcce.session.template]
pseudowire = "eth"
interface_name = "kpw2"
peer_cookie = [1, 2, 3, 4]
l2spec_type = "default"
CONF
cat > "$OUT/a.toml" <<CONF
dataplane = "userspace"
[tunnel.pw]
local = "10.70.0.1:0"
peer = "10.70.0.2:0"
version = "l2tpv3"
encap = "ip"
[tunnel.pw.session.eth]
pseudowire = "eth"
interface_name = "upw2"
peer_cookie = [9, 9, 9, 9, 9, 9, 9, 9]
l2spec_type = "default"
CONF
ip netns exec b "$L2TPD" --control "$OUT/b.sock" --config "$OUT/b.toml" --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
B=$!; PIDS+=($B)
wait_for 10 "kernel-data-plane listener up in b" grep -q "listening" "$OUT/b.log"
ip netns exec a "$L2TPD" --control "$OUT/a.sock" --config "$OUT/a.toml" --events json --events-file "$OUT/a.events" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)
wait_for 20 "dynamic pseudowire up on a (user space)" grep -q '"event":"session_up"' "$OUT/a.events"
wait_for 20 "dynamic pseudowire up on b (kernel)" grep -q '"event":"session_up"' "$OUT/b.events"
wait_for 10 "kernel l2tpeth kpw2 in b" ip -n b link show kpw2
ip -n a addr add 10.73.0.1/24 dev upw2; ip -n a link set upw2 up
ip -n b addr add 10.73.0.2/24 dev kpw2; ip -n b link set kpw2 up
ip netns exec a ping -c 3 -i 0.3 -W 2 10.73.0.2 >"$OUT/ping2.log" 2>&1 || fail "ping user space -> our kernel data plane: $(tail -2 "$OUT/ping2.log")"
pass "ping user-space pseudowire -> kernel l2tpeth made by our kernel data plane (L2TP/IP, cookies)"
ip netns exec b ping -c 3 -i 0.3 -W 2 10.73.0.1 >"$OUT/ping2r.log" 2>&1 || fail "ping our kernel data plane -> user space: $(tail -2 "$OUT/ping2r.log")"
pass "ping kernel l2tpeth made by our kernel data plane -> user-space pseudowire"
"$L2TPCTL" --control "$OUT/b.sock" show session --json > "$OUT/b-show.json" || fail "l2tpctl show session (b)"
python3 - "$OUT/b-show.json" <<'PY' || fail "kernel session counters on b"
import json, sys
ss = [s for s in json.load(open(sys.argv[1])) if s.get("stats")]
assert ss, "no session with counters"
st = ss[0]["stats"]
assert st["rx_packets"] >= 6 and st["tx_packets"] >= 6, st
assert st["rx_cookie_discards"] == 0 and st["rx_seq_discards"] == 0 and st["rx_invalid"] == 0, st
print("ok: kernel counters", st)
PY
kill -TERM "$A"; rc=0; wait "$A" || rc=$?; [ "$rc" = 0 ] || fail "a exit status $rc"
wait_for 10 "b saw the tunnel close and removed it" l2tp_empty b
echo "e2e userspace-kernel: passed"
