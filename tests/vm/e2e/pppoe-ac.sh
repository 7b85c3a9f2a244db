#!/usr/bin/env bash
# PPPoE access concentrator, kernel data plane: A (subscriber: pppd with the rp-pppoe plugin)
# --PPPoE over a veth--> B (our l2tpd: PPPoE AC + L2TPv2 LAC; the PPPoE session's PPP channel
# bridged to the PPPoL2TP one, no pppd at B) --L2TPv2--> C (our l2tpd LNS with pppd, CHAP).
# PPP authenticates and IPCP completes end to end, A pings C, the session's byte counters
# rise at B; a PADT from A clears the L2TP call (CDN), as does pppd's SIGTERM; a CDN from C
# sends a PADT to A (pppd exits); a PADI flood from random MACs leaves the session up and B's
# memory bounded.
source "$(dirname "$0")/../../netns-lib.sh"
L2TPCTL=${L2TPCTL:-$(dirname "$L2TPD")/l2tpctl}
ip netns add sa; ip netns add sb; ip netns add sc; NETNS+=(sa sb sc)
ip link add vab type veth peer name vba; ip link add vbc type veth peer name vcb
ip link set vab netns sa; ip link set vba netns sb; ip link set vbc netns sb; ip link set vcb netns sc
ip -n sb addr add 10.84.0.1/24 dev vbc; ip -n sc addr add 10.84.0.2/24 dev vcb
for n in sa sb sc; do ip -n $n link set lo up; done
ip -n sa link set vab up; ip -n sb link set vba up; ip -n sb link set vbc up; ip -n sc link set vcb up

# C: LNS, pppd asks for CHAP (its secrets bind-mounted over /etc/ppp/chap-secrets in C's own
# mount namespace: `ip netns exec` makes one per command).
printf 'alice * s3cret *\n' > "$OUT/chap-secrets"
chmod 600 "$OUT/chap-secrets"
printf 'require-chap\n10.83.0.1:10.83.0.2\nnodefaultroute\nnoccp\nlcp-echo-interval 0\n' > "$OUT/ppp-c"
cat > "$OUT/c.toml" <<CONF
[tunnel.lns]
local = "10.84.0.2:1701"
listen = true
[tunnel.lns.session.t]
pseudowire = "ppp"
pppd_args = "$OUT/ppp-c"
CONF
cat > "$OUT/b.toml" <<CONF
[tunnel.tolns]
local = "10.84.0.1:1701"
peer = "10.84.0.2:1701"

[pppoe]
interfaces = ["vba"]
ac_name = "e2e-ac"
services = ["internet"]
tunnel = "tolns"
CONF
ip netns exec sc sh -c "mount --bind '$OUT/chap-secrets' /etc/ppp/chap-secrets && exec '$L2TPD' --config '$OUT/c.toml' --control '$OUT/c.sock' --events json --events-file '$OUT/c.events'" >"$OUT/c.log" 2>&1 &
PIDS+=($!)
sleep 0.5
ip netns exec sb "$L2TPD" --config "$OUT/b.toml" --control "$OUT/b.sock" --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
B=$!; PIDS+=($B)
wait_for 20 "B's tunnel to C is up" grep -q '"event":"tunnel_up"' "$OUT/b.events"

start_a() {
    ip netns exec sa /usr/sbin/pppd plugin rp-pppoe.so nic-vab rp_pppoe_service internet \
        user alice password s3cret noauth nodefaultroute noccp lcp-echo-interval 0 \
        nodetach logfile "$OUT/pppd-a.log" >/dev/null 2>&1 &
    A=$!; PIDS+=($A)
}
start_a
wait_for 40 "IPCP end to end: address on A" sh -c "ip -n sa addr show | grep -q 'inet 10.83.0.2'"
wait_for 20 "IPCP end to end: address on C" sh -c "ip -n sc addr show | grep -q 'inet 10.83.0.1'"
grep -q 'CHAP authentication succeeded' "$OUT/pppd-a.log" || fail "A did not authenticate with CHAP"
pass "CHAP authentication A -> C through B"
grep -q '"session":"pppoe-vba-' "$OUT/b.events" || fail "B's L2TP session is not the PPPoE one"
[ -z "$(pppd_in sb)" ] || fail "pppd runs at B (the access concentrator)"
pass "no pppd at B"

rx_bytes() { "$L2TPCTL" --control "$OUT/b.sock" show session --json | python3 -c '
import json,sys
rows=json.load(sys.stdin)
print(sum(((r.get("stats") or {}).get("rx_bytes",0) + (r.get("stats") or {}).get("tx_bytes",0)) for r in rows))'; }
before=$(rx_bytes)
ip netns exec sa ping -c 3 -i 0.3 -W 2 10.83.0.1 >"$OUT/ping.log" 2>&1 || fail "ping A -> C through the AC"
pass "ping A -> C over PPPoE switched into L2TP at B"
after=$(rx_bytes)
[ "$after" -gt "$before" ] || fail "B's session byte counters did not rise ($before -> $after)"
pass "byte counters at B rose ($before -> $after)"
# shellcheck disable=SC2016
pppoe_json() { "$L2TPCTL" --control "$OUT/b.sock" show pppoe --json; }
"$L2TPCTL" --control "$OUT/b.sock" show pppoe >"$OUT/show-pppoe.txt" 2>&1 || fail "l2tpctl show pppoe"
grep -Eq 'vba +[0-9a-f:]{17} +[0-9]+ +tolns +pppoe-vba-[0-9]+ .* up' "$OUT/show-pppoe.txt" \
    || fail "show pppoe does not list the session: $(cat "$OUT/show-pppoe.txt")"
pass "l2tpctl show pppoe lists the session (MAC, PPPoE ID, L2TP call)"

# A PADI flood from random MACs: the session stays up, B's memory stays bounded.
rss() { awk '/VmRSS/ {print $2}' "/proc/$B/status"; }
rss0=$(rss)
ip netns exec sa python3 - <<'PY'
import os, socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("vab", 0))
for i in range(10000):
    mac = bytes([0x02]) + os.urandom(5)
    tags = struct.pack("!HH", 0x0101, 0)  # Service-Name, empty: any
    pppoe = struct.pack("!BBHH", 0x11, 0x09, 0, len(tags)) + tags
    s.send(b"\xff" * 6 + mac + struct.pack("!H", 0x8863) + pppoe)
PY
pass "10000 PADIs from random MACs sent"
rss1=$(rss)
[ $((rss1 - rss0)) -lt 4096 ] || fail "B's memory grew by $((rss1 - rss0)) kB under the PADI flood"
pass "B's RSS under the flood: $rss0 kB -> $rss1 kB"
ip netns exec sa ping -c 2 -i 0.3 -W 2 10.83.0.1 >>"$OUT/ping.log" 2>&1 || fail "ping after the flood"
pass "the session survived the PADI flood"
pppoe_json >"$OUT/pppoe.json" || fail "show pppoe --json"
python3 - "$OUT/pppoe.json" <<'PY' || fail "AC counters after the flood: $(cat "$OUT/pppoe.json")"
import json, sys
i = json.load(open(sys.argv[1]))[0]
c = i["counters"]
print(f"ok: AC counted {c['padi_in']} PADI, {c['pado_out']} PADO, {c['rate_limited']} rate limited; {len(i['sessions'])} session(s) held")
# Frames beyond the socket's receive queue are dropped by the kernel (bounded by design);
# with the 4 MiB queue most of the burst gets through even on an emulated CPU.
assert c["padi_in"] >= 2500 and c["pado_out"] >= 1000 and len(i["sessions"]) == 1
PY

# PADT from the subscriber, on its own (no LCP Terminate before it): B clears the call with a
# CDN, which C sees as the peer's.
SID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["sessions"][0]["pppoe_session_id"])' "$OUT/pppoe.json")
A_MAC=$(ip netns exec sa cat /sys/class/net/vab/address)
B_MAC=$(ip netns exec sb cat /sys/class/net/vba/address)
ip netns exec sa python3 - "$A_MAC" "$B_MAC" "$SID" <<'PY'
import socket, struct, sys
a, b, sid = bytes.fromhex(sys.argv[1].replace(":", "")), bytes.fromhex(sys.argv[2].replace(":", "")), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("vab", 0))
tag = b"subscriber hung up"
tags = struct.pack("!HH", 0x0203, len(tag)) + tag  # Generic-Error
s.send(b + a + struct.pack("!H", 0x8863) + struct.pack("!BBHH", 0x11, 0xa7, sid, len(tags)) + tags)
PY
wait_for 15 "B got the PADT" grep -q 'PADT from the subscriber' "$OUT/b.log"
wait_for 15 "C's call cleared by B's CDN" sh -c "grep '\"event\":\"session_down\"' '$OUT/c.events' | grep -q '\"reason\":\"peer\"'"
kill -TERM "$A"; wait "$A" || true

# pppd SIGTERM: LCP Terminate (through the bridge, to C's pppd) then a PADT: the call ends at
# B and C whichever of A's PADT and C's CDN reaches B first.
start_a
wait_for 40 "A is up again" sh -c "ip -n sa addr show | grep -q 'inet 10.83.0.2'"
kill -TERM "$A"; wait "$A" || true
wait_for 15 "B's second call is down" sh -c "[ \$(grep -c '\"event\":\"session_down\"' '$OUT/b.events') -ge 2 ]"
wait_for 15 "C's second call is down" sh -c "[ \$(grep -c '\"event\":\"session_down\"' '$OUT/c.events') -ge 2 ]"
wait_for 10 "B holds no PPPoE session" sh -c "'$L2TPCTL' --control '$OUT/b.sock' show pppoe --json | grep -q '\"sessions\":\[\]'"
echo "info: after pppd SIGTERM, B's log: $(grep -Eo 'PADT from the subscriber|L2TP call cleared' "$OUT/b.log" | tail -n1)"

# CDN from C: A dials again; C deletes the session; B sends A a PADT and A's pppd exits.
start_a
wait_for 40 "A is up a third time" sh -c "ip -n sa addr show | grep -q 'inet 10.83.0.2'"
# (no process substitution: the VM has no /dev/fd)
python3 -c '
import json,sys
ups=[json.loads(l) for l in open(sys.argv[1]) if "\"session_up\"" in l]
print(ups[-1]["tunnel"], ups[-1]["session"])' "$OUT/c.events" >"$OUT/c.call"
read -r CT CS <"$OUT/c.call"
n0=$(grep -c 'L2TP call cleared: PADT to the subscriber' "$OUT/b.log" || true)
"$L2TPCTL" --control "$OUT/c.sock" delete session "$CT" "$CS" >"$OUT/delete.log" 2>&1 || fail "delete session on C"
wait_for 15 "B sent the PADT" sh -c "[ \$(grep -c 'L2TP call cleared: PADT to the subscriber' '$OUT/b.log') -gt $n0 ]"
wait_for 20 "A's pppd exited on the PADT" sh -c "! kill -0 $A 2>/dev/null"
echo "e2e pppoe-ac: passed"
