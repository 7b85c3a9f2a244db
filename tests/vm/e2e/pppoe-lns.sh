#!/usr/bin/env bash
# PPPoE access concentrator against other LNSes: A (subscriber: pppd with the rp-pppoe plugin)
# --PPPoE--> B (our l2tpd: AC + LAC, channels bridged in the kernel, no pppd) --L2TPv2--> C:
#   1. C = xl2tpd in kernel mode with pppd (an independent LNS): CHAP, IPCP end to end, A
#      pings C; A's pppd stopped: the call is cleared at xl2tpd and B holds no PPPoE session;
#   2. C = our l2tpd with PPP in process (ppp = "builtin", kernel data plane): CHAP against
#      its chap-secrets, an address from its pool, A pings C, no pppd in B or C; the session
#      deleted at C: B sends A a PADT and A's pppd exits.
source "$(dirname "$0")/../../netns-lib.sh"
L2TPCTL=${L2TPCTL:-$(dirname "$L2TPD")/l2tpctl}
ip netns add sa; ip netns add sb; ip netns add sc; NETNS+=(sa sb sc)
ip link add vab type veth peer name vba; ip link add vbc type veth peer name vcb
ip link set vab netns sa; ip link set vba netns sb; ip link set vbc netns sb; ip link set vcb netns sc
ip -n sb addr add 10.84.0.1/24 dev vbc; ip -n sc addr add 10.84.0.2/24 dev vcb
for n in sa sb sc; do ip -n $n link set lo up; done
ip -n sa link set vab up; ip -n sb link set vba up; ip -n sb link set vbc up; ip -n sc link set vcb up
printf 'alice * s3cret *\n' > "$OUT/chap-secrets"; chmod 600 "$OUT/chap-secrets"

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
start_b() {
    ip netns exec sb "$L2TPD" --config "$OUT/b.toml" --control "$OUT/b.sock" --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
    B=$!; PIDS+=($B)
    wait_for 20 "B's tunnel to C is up" grep -q '"event":"tunnel_up"' "$OUT/b.events"
}
start_a() {
    ip netns exec sa /usr/sbin/pppd plugin rp-pppoe.so nic-vab rp_pppoe_service internet \
        user alice password s3cret noauth nodefaultroute noccp lcp-echo-interval 0 \
        nodetach logfile "$OUT/pppd-a.log" >/dev/null 2>&1 &
    A=$!; PIDS+=($A)
}
stop() { kill -TERM "$1" 2>/dev/null; for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done; kill -9 "$1" 2>/dev/null || true; }

# --- 1. xl2tpd (kernel mode) + pppd as the LNS
printf 'require-chap\nname lns\n10.83.0.1:10.83.0.2\nnodefaultroute\nnoccp\nlcp-echo-interval 0\n' > "$OUT/ppp-x"
cat > "$OUT/xl2tpd.conf" <<CONF
[global]
listen-addr = 10.84.0.2
port = 1701
[lns default]
ip range = 10.83.0.2-10.83.0.9
local ip = 10.83.0.1
require authentication = no
hostname = lns.xl2tpd
length bit = yes
pppoptfile = $OUT/ppp-x
CONF
ip netns exec sc sh -c "mount --bind '$OUT/chap-secrets' /etc/ppp/chap-secrets && exec xl2tpd -D -c '$OUT/xl2tpd.conf' -p '$OUT/xl2tpd.pid' -C '$OUT/xl2tpd.control'" >"$OUT/xl2tpd.log" 2>&1 &
X=$!; PIDS+=($X)
wait_for 10 "xl2tpd LNS listening" sh -c "ip netns exec sc ss -uln | grep -q 10.84.0.2:1701"
start_b
start_a
wait_for 40 "IPCP end to end (xl2tpd): address on A" sh -c "ip -n sa addr show | grep -q 'inet 10.83.0.2'"
grep -q 'CHAP authentication succeeded' "$OUT/pppd-a.log" || fail "A did not authenticate with CHAP at xl2tpd's pppd"
pass "CHAP A -> xl2tpd's pppd through B"
ip netns exec sa ping -c 3 -i 0.3 -W 2 10.83.0.1 >"$OUT/ping-x.log" 2>&1 || fail "ping A -> C (xl2tpd) through the AC"
pass "ping A -> C (xl2tpd LNS) over PPPoE switched into L2TP at B"
[ -z "$(pppd_in sb)" ] || fail "pppd runs at B"
stop "$A"
wait_for 20 "xl2tpd's call cleared" sh -c "! ip -n sc link show | grep -q ': ppp'"
wait_for 15 "B holds no PPPoE session" sh -c "'$L2TPCTL' --control '$OUT/b.sock' show pppoe --json | grep -q '\"sessions\":\[\]'"
stop "$B"; stop "$X"
wait_for 10 "xl2tpd gone" sh -c "! ip netns exec sc ss -uln | grep -q 10.84.0.2:1701"

# --- 2. our LNS with PPP in process
cat > "$OUT/c.toml" <<CONF
[tunnel.lns]
local = "10.84.0.2:1701"
listen = true
[tunnel.lns.session.t]
pseudowire = "ppp"
ppp = "builtin"
ppp_auth = ["chap"]
ppp_secrets = "$OUT/chap-secrets"
ppp_local_ip = "10.83.0.1"
ppp_pool = "10.83.0.20-10.83.0.29"
CONF
ip netns exec sc "$L2TPD" --config "$OUT/c.toml" --control "$OUT/c.sock" --events json --events-file "$OUT/c.events" >"$OUT/c.log" 2>&1 &
C=$!; PIDS+=($C)
wait_for 10 "our LNS listening" sh -c "ip netns exec sc ss -uln | grep -q 10.84.0.2:1701"
rm -f "$OUT/b.events"
start_b
start_a
wait_for 40 "IPCP end to end (builtin): pool address on A" sh -c "ip -n sa addr show | grep -q 'inet 10.83.0.20'"
grep -q 'CHAP authentication succeeded' "$OUT/pppd-a.log" || fail "A did not authenticate with CHAP at our LNS"
ip netns exec sa ping -c 3 -i 0.3 -W 2 10.83.0.1 >"$OUT/ping-c.log" 2>&1 || fail "ping A -> C (builtin) through the AC"
pass "ping A -> C (our LNS, PPP in process) over PPPoE switched into L2TP at B"
[ -z "$(pppd_in sb)$(pppd_in sc)" ] || fail "pppd runs at B or C"
pass "no pppd at B or C"
"$L2TPCTL" --control "$OUT/c.sock" show session --json >"$OUT/c-show.json" || fail "show session on C"
python3 - "$OUT/c-show.json" <<'PY' || fail "C's session status: $(cat "$OUT/c-show.json")"
import json, sys
s = json.load(open(sys.argv[1]))[0]
assert s.get("username") == "alice" and s.get("address") == "10.83.0.20", s
print("ok: C names user", s["username"], "address", s["address"])
PY
# (no process substitution: the VM has no /dev/fd)
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))[0]; print(s["tunnel"], s["name"])' "$OUT/c-show.json" >"$OUT/c.call"
read -r CT CS <"$OUT/c.call"
"$L2TPCTL" --control "$OUT/c.sock" delete session "$CT" "$CS" >"$OUT/delete.log" 2>&1 || fail "delete session on C: $(cat "$OUT/delete.log")"
wait_for 15 "B sent the PADT" grep -q 'L2TP call cleared: PADT to the subscriber' "$OUT/b.log"
wait_for 20 "A's pppd exited on the PADT" sh -c "! kill -0 $A 2>/dev/null"
wait_for 10 "C's pppN removed" sh -c "! ip -n sc link show | grep -q ': ppp'"
echo "e2e pppoe-lns: passed"
