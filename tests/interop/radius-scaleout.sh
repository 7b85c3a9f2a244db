#!/usr/bin/env bash
# Scale-out across LNS hosts sharing one AAA back end (issue 12): two of our LNS daemons (b, c:
# user-space data plane, PPP in process) authenticate and account through ONE FreeRADIUS (r);
# our LAC (a) has a tunnel to each and places three PPP sessions on each (users alice1-6).
#   1. all six authenticate (CHAP) through r; r's detail file has Accounting-On from both NASes
#      and six Starts, three per NAS-Identifier (lns-b, lns-c);
#   2. LNS b is stopped (SIGTERM): it sends a Stop (Admin-Reboot) for each of its three sessions
#      and Accounting-Off; the LAC sees its tunnel to b go down;
#   3. b's subscribers reconnect through the other LNS (the LAC places alice1-3 again on its
#      tunnel to c): three more Starts, from lns-c;
#   4. the LAC stops: c sends a Stop (User-Request) for each of its six sessions; c stops
#      (Accounting-Off).
# Verdict from the detail file: 9 distinct Acct-Session-Ids, each with exactly one Start and one
# Stop from the same NAS; alice1-3 were served by both LNS hosts. Prints the accounting as a
# table. Network: four namespaces this script creates (a–b, a–c, b–r, c–r veths).
#
# Needs root, /dev/net/tun and Debian's freeradius.
source "$(dirname "$0")/../netns-lib.sh"
L2TPCTL=${L2TPCTL:-$TARGET/debug/l2tpctl}
SECRET=scaleout-secret
command -v freeradius >/dev/null || fail "freeradius is not installed (Debian: freeradius)"
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
two_hosts a b
ip netns add c; ip netns add r; NETNS+=(c r)
link() { # link NS1 IF1 ADDR1 NS2 IF2 ADDR2 (/24 each)
    ip link add "$2" type veth peer name "$5"
    ip link set "$2" netns "$1"; ip link set "$5" netns "$4"
    ip -n "$1" addr add "$3/24" dev "$2"; ip -n "$4" addr add "$6/24" dev "$5"
    ip -n "$1" link set "$2" up; ip -n "$4" link set "$5" up
}
link a vac 10.71.0.1 c vca 10.71.0.2
link b vbr 10.72.0.1 r vrb 10.72.0.2
link c vcr 10.73.0.1 r vrc 10.73.0.2
for n in c r; do ip -n $n link set lo up; done

# FreeRADIUS in r, on both of its links; one client entry per LNS (tests/radius-lib.sh).
source "$(dirname "$0")/../radius-lib.sh"
for i in 1 2 3 4 5 6; do
    printf 'alice%d Cleartext-Password := "pw%d"\n        Class = "cls-alice%d"\n' $i $i $i
done > "$OUT/users"
RADIUS_LISTEN='*' RADIUS_CLIENTS="10.72.0.1 10.73.0.1" RADIUS_USERS=$OUT/users radius r radius 1812 1813
d=$OUT/radius
DETAIL=$d/acct/detail

# lns NS NAME LOCAL RADIUS_ADDR POOL_NET: an LNS authenticating and accounting through r.
lns() {
    cat > "$OUT/$1.toml" <<CONF
dataplane = "userspace"
[radius]
nas_identifier = "$2"
timeout = 500
retries = 2
[radius.server.shared]
address = "$4"
secret = "$SECRET"
[tunnel.lns]
local = "$3:1701"
listen = true
host_name = "$2"
[tunnel.lns.session.ppp]
pseudowire = "ppp"
ppp_auth = ["chap"]
ppp_auth_source = "radius"
ppp_local_ip = "$5.1"
ppp_pool = "$5.2-$5.50"
ppp_echo_interval = 0
CONF
    ip netns exec "$1" "$L2TPD" --control "$OUT/$1.sock" --config "$OUT/$1.toml" --events json --events-file "$OUT/$1.events" >"$OUT/$1.log" 2>&1 &
    PIDS+=($!)
    eval "LNS_$1=$!"
}
lns b lns-b 10.70.0.2 10.72.0.2 10.99.1
lns c lns-c 10.71.0.2 10.73.0.2 10.99.2
wait_for 15 "Accounting-On from both LNS hosts" sh -c "[ \$(grep -c 'Acct-Status-Type = Accounting-On' '$DETAIL' 2>/dev/null) -ge 2 ]"

{
    printf 'dataplane = "userspace"\n'
    printf '[tunnel.tb]\nlocal = "10.70.0.1:1701"\npeer = "10.70.0.2:1701"\nhost_name = "lac"\n'
    for i in 1 2 3; do
        printf '[tunnel.tb.session.s%d]\npseudowire = "ppp"\nppp_user = "alice%d"\nppp_password = "pw%d"\nppp_echo_interval = 0\n' $i $i $i
    done
    printf '[tunnel.tc]\nlocal = "10.71.0.1:1701"\npeer = "10.71.0.2:1701"\nhost_name = "lac"\n'
    for i in 4 5 6; do
        printf '[tunnel.tc.session.s%d]\npseudowire = "ppp"\nppp_user = "alice%d"\nppp_password = "pw%d"\nppp_echo_interval = 0\n' $i $i $i
    done
} > "$OUT/a.toml"
ip netns exec a "$L2TPD" --control "$OUT/a.sock" --config "$OUT/a.toml" --events json --events-file "$OUT/a.events" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)

# Sessions on the LAC whose IPCP is up (an address in their status).
ppp_up() {
    "$L2TPCTL" --control "$OUT/a.sock" show session --json 2>/dev/null |
        python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin) if s.get("address") and s.get("state") == "established"))' 2>/dev/null || echo 0
}
# The detail file's records as "status nas session-id user" lines.
records() {
    python3 - "$DETAIL" <<'PY'
import sys
recs, cur = [], {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        if cur: recs.append(cur); cur = {}
        continue
    if " = " in line:
        k, v = line.split(" = ", 1)
        cur[k] = v.strip('"')
if cur: recs.append(cur)
for r in recs:
    print(r.get("Acct-Status-Type", "?"), r.get("NAS-Identifier", "?"), r.get("Acct-Session-Id", "?"),
          r.get("User-Name", "-"), r.get("Acct-Terminate-Cause", "-"))
PY
}
count() { records | awk -v s="$1" -v n="$2" '$1 == s && (n == "" || $2 == n)' | wc -l; }
# (wait_for runs these in this shell: they may use the functions above.)
ups() { [ "$(ppp_up)" -ge "$1" ]; }
counted() { [ "$(count "$1" "$2")" = "$3" ]; }

wait_for 30 "six PPP sessions up on the LAC (three through each LNS)" ups 6
both_started() { counted Start lns-b 3 && counted Start lns-c 3; }
wait_for 10 "six Starts: three from lns-b, three from lns-c" both_started

kill -TERM "$LNS_b"; wait "$LNS_b" || true
b_gone() { counted Stop lns-b 3 && counted Accounting-Off lns-b 1; }
wait_for 10 "lns-b's three Stops and its Accounting-Off" b_gone
wait_for 15 "the LAC's tunnel to b is down" grep -q '"event":"tunnel_down","tunnel":"tb"' "$OUT/a.events"

for i in 1 2 3; do
    "$L2TPCTL" --control "$OUT/a.sock" create session tc "r$i" pseudowire=ppp "ppp_user=alice$i" "ppp_password=pw$i" ppp_echo_interval=0 >"$OUT/create-$i.log" 2>&1 ||
        fail "reconnect alice$i through c: $(cat "$OUT/create-$i.log")"
done
wait_for 30 "b's subscribers reconnected through c: six PPP sessions up again" ups 6
wait_for 10 "three more Starts, from lns-c" counted Start lns-c 6

kill -TERM "$A"; wait "$A" || true
wait_for 15 "lns-c's six Stops" counted Stop lns-c 6
kill -TERM "$LNS_c"; wait "$LNS_c" || true
wait_for 10 "lns-c's Accounting-Off" counted Accounting-Off lns-c 1

records > "$OUT/records.txt"
python3 - "$OUT/records.txt" <<'PY' || fail "accounting does not show every session started and stopped exactly once"
import collections, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
sessions = collections.defaultdict(list)
for status, nas, sid, user, cause in rows:
    if status in ("Start", "Stop"):
        sessions[sid].append((status, nas, user, cause))
print(f"{'Acct-Session-Id':22} {'NAS':6} {'user':7} stop cause")
for sid, ev in sorted(sessions.items(), key=lambda kv: (kv[1][0][1], kv[1][0][2])):
    stop = next((e for e in ev if e[0] == "Stop"), None)
    print(f"{sid:22} {ev[0][1]:6} {ev[0][2]:7} {stop[3] if stop else 'NONE'}")
assert len(sessions) == 9, f"{len(sessions)} sessions, expected 9"
for sid, ev in sessions.items():
    kinds = sorted(e[0] for e in ev)
    assert kinds == ["Start", "Stop"], f"{sid}: {kinds}"
    assert len({e[1] for e in ev}) == 1, f"{sid}: Start and Stop from different NASes"
users = collections.defaultdict(set)
for ev in sessions.values():
    users[ev[0][2]].add(ev[0][1])
for u in ("alice1", "alice2", "alice3"):
    assert users[u] == {"lns-b", "lns-c"}, f"{u}: {users[u]}"
causes = {ev[0][1]: set() for ev in sessions.values()}
for ev in sessions.values():
    causes[ev[0][1]].update(e[3] for e in ev if e[0] == "Stop")
assert causes["lns-b"] == {"Admin-Reboot"}, causes
assert causes["lns-c"] == {"User-Request"}, causes
print("ok: 9 sessions over two LNS hosts, each started and stopped exactly once")
PY
echo "interop radius-scaleout: passed"
