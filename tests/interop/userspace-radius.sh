#!/usr/bin/env bash
# RADIUS on our LNS (issue 12): two of our daemons in two network namespaces on the user-space
# data plane with PPP terminated in-process (as userspace-ppp.sh), the LNS (b) authenticating
# through FreeRADIUS 3 started here on b's loopback, accounting to it, and answering
# RFC 5176 Disconnect/CoA-Requests from radclient.
#
# MODE=auth (default; AUTH=pap|chap|mschapv2): the LAC (a) logs in as alice; FreeRADIUS gives
#   Framed-IP-Address 10.99.7.7 (the LAC's TUN must get it, not the pool's first address),
#   Acct-Interim-Interval 2 and a Class; pings cross; the detail file gets Start and
#   Interim-Update; the LAC stops: Stop with Acct-Terminate-Cause User-Request and the Class.
# MODE=dae: after pings, the LNS's counters (l2tpctl show --json) are read; a CoA-Request
#   (Session-Timeout 600) is ACKed; radclient's Disconnect-Request by Acct-Session-Id is ACKed
#   and the session is gone within 1 s; the Stop says Admin-Reset with octet/packet counts
#   that match the counters read; a Disconnect-Request for an unknown session gets a NAK with
#   Error-Cause 503.
# MODE=dae-mute: the LAC daemon is frozen (SIGSTOP) before the Disconnect-Request: no LCP
#   Terminate-Ack comes, the LNS still clears the session within 1 s (CDN) and the Stop says
#   Admin-Reset.
# MODE=timeout: bob's Access-Accept has Session-Timeout 2: the LNS clears the session and the
#   Stop says Session-Timeout.
# MODE=failover: two FreeRADIUS servers; the first is stopped before the LAC dials; the session
#   authenticates on the second (its log shows the Access-Accept) and the metrics count the
#   first's timeout.
# MODE=reject: a wrong password: Access-Reject, both ends clear the session with a CDN.
#
# Needs root, /dev/net/tun and the Debian packages freeradius + freeradius-utils.
source "$(dirname "$0")/../netns-lib.sh"
MODE=${MODE:-auth} AUTH=${AUTH:-chap}
L2TPCTL=${L2TPCTL:-$TARGET/debug/l2tpctl}
SECRET=radius-test-secret
DAE_SECRET=dae-test-secret
command -v freeradius >/dev/null || fail "freeradius is not installed (Debian: freeradius)"
command -v radclient >/dev/null || fail "radclient is not installed (Debian: freeradius-utils)"
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
two_hosts a b

source "$(dirname "$0")/../radius-lib.sh"

radius b radius1 1812 1813
SECOND=""
if [ "$MODE" = failover ]; then
    radius b radius2 1822 1823
    SECOND="
[radius.server.second]
address = \"127.0.0.1\"
auth_port = 1822
acct_port = 1823
secret_env = \"L2TP_TEST_RADIUS_SECRET\""
fi
echo "$SECRET" > "$OUT/radius.secret"
USER=alice PASS="open sesame"
[ "$MODE" = timeout ] && { USER=bob; PASS=builder; }
[ "$MODE" = reject ] && PASS="wrong one"
cat > "$OUT/b.toml" <<CONF
dataplane = "userspace"
[radius]
nas_identifier = "lns-b"
timeout = 500
retries = 1
dae_listen = "127.0.0.1:3799"
[radius.server.first]
address = "127.0.0.1"
auth_port = 1812
acct_port = 1813
secret_file = "$OUT/radius.secret"
$SECOND
[radius.dae_client.local]
address = "127.0.0.1"
secret = "$DAE_SECRET"
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
host_name = "lns"
[tunnel.lns.session.ppp]
pseudowire = "ppp"
ppp_auth = ["$AUTH"]
ppp_auth_source = "radius"
ppp_local_ip = "10.99.0.1"
ppp_pool = "10.99.0.2-10.99.0.20"
ppp_echo_interval = 0
CONF
cat > "$OUT/a.toml" <<CONF
dataplane = "userspace"
[tunnel.t]
local = "10.70.0.1:1701"
peer = "10.70.0.2:1701"
host_name = "lac"
[tunnel.t.session.ppp]
pseudowire = "ppp"
interface_name = "uppp0"
ppp_user = "$USER"
ppp_password = "$PASS"
ppp_echo_interval = 0
CONF
if [ "$MODE" = failover ]; then
    kill "$radius1_PID"; wait "$radius1_PID" 2>/dev/null || true
    pass "first RADIUS server stopped"
fi
L2TP_TEST_RADIUS_SECRET=$SECRET ip netns exec b "$L2TPD" --control "$OUT/b.sock" --config "$OUT/b.toml" --metrics 127.0.0.1:9155 --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
B=$!; PIDS+=($B)
wait_for 10 "listener up" sh -c "ip netns exec b ss -uln | grep -q ':1701'"
[ "$MODE" = failover ] || wait_for 10 "Accounting-On in the detail file" grep -q "Acct-Status-Type = Accounting-On" "$OUT/radius1/acct/detail"
ip netns exec a "$L2TPD" --control "$OUT/a.sock" --config "$OUT/a.toml" --events json --events-file "$OUT/a.events" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)
wait_for 15 "session up ($AUTH)" grep -q '"event":"session_up"' "$OUT/a.events"
DETAIL=$OUT/radius1/acct/detail

if [ "$MODE" = reject ]; then
    wait_for 20 "the LNS cleared the refused session" grep -q '"event":"session_down"' "$OUT/b.events"
    grep '"event":"session_down"' "$OUT/b.events" | grep -q '"message":"PPP: ' || fail "b's CDN: $(grep session_down "$OUT/b.events")"
    grep -q "Sent Access-Reject" "$OUT/radius1.log" || fail "FreeRADIUS sent no Access-Reject"
    pass "Access-Reject: the session was cleared with a CDN"
    echo "interop userspace-radius (reject): passed"; exit 0
fi

if [ "$MODE" = timeout ]; then
    wait_for 20 "IPCP up for bob (a pool address)" sh -c "ip -n a -4 addr show dev uppp0 | grep -q 'inet 10.99.0.2 peer 10.99.0.1/32'"
    wait_for 10 "Session-Timeout 2 s cleared the session" grep -q '"event":"session_down"' "$OUT/b.events"
    wait_for 10 "Stop with Acct-Terminate-Cause Session-Timeout" grep -q "Acct-Terminate-Cause = Session-Timeout" "$DETAIL"
    echo "interop userspace-radius (timeout): passed"; exit 0
fi

if [ "$MODE" = failover ]; then
    DETAIL=$OUT/radius2/acct/detail
    wait_for 20 "IPCP up with the address from the second server" sh -c "ip -n a -4 addr show dev uppp0 | grep -q 'inet 10.99.7.7 peer 10.99.0.1/32'"
    grep -q "Sent Access-Accept" "$OUT/radius2.log" || fail "the second server sent no Access-Accept"
    pass "the second server authenticated the session"
    wait_for 10 "Start on the second server" grep -q "Acct-Status-Type = Start" "$DETAIL"
    ip netns exec b curl -s http://127.0.0.1:9155/metrics -o "$OUT/metrics.txt" || fail "metrics scrape"
    grep -q 'l2tp_radius_timeouts_total{server="first",kind="auth"} [1-9]' "$OUT/metrics.txt" || fail "no auth timeout counted for the first server: $(grep radius_timeouts "$OUT/metrics.txt")"
    grep -q 'l2tp_radius_accepts_total{server="second",kind="auth"} 1' "$OUT/metrics.txt" || fail "no accept counted for the second: $(grep radius_accepts "$OUT/metrics.txt")"
    pass "metrics: a timeout on the first server, the accept on the second"
    echo "interop userspace-radius (failover): passed"; exit 0
fi

wait_for 20 "IPCP up: the LAC's TUN has the Framed-IP-Address" sh -c "ip -n a -4 addr show dev uppp0 | grep -q 'inet 10.99.7.7 peer 10.99.0.1/32'"
grep -q "Sent Access-Accept" "$OUT/radius1.log" || fail "FreeRADIUS sent no Access-Accept"
ip netns exec a ping -c 3 -i 0.2 -W 2 10.99.0.1 >"$OUT/ping-ab.log" 2>&1 || fail "ping a -> b: $(tail -2 "$OUT/ping-ab.log")"
ip netns exec b ping -c 3 -i 0.2 -W 2 10.99.7.7 >"$OUT/ping-ba.log" 2>&1 || fail "ping b -> a: $(tail -2 "$OUT/ping-ba.log")"
pass "pings cross PPP both ways"
wait_for 10 "Start in the detail file" grep -q "Acct-Status-Type = Start" "$DETAIL"
grep -q 'User-Name = "alice"' "$DETAIL" || fail "no User-Name in the accounting"
grep -q "Framed-IP-Address = 10.99.7.7" "$DETAIL" || fail "no Framed-IP-Address in the accounting"
grep -q "Class = 0x636c732d616c696365" "$DETAIL" || fail "the Class is not echoed: $(grep Class "$DETAIL")"
grep -q 'NAS-Identifier = "lns-b"' "$DETAIL" || fail "no NAS-Identifier"
pass "Start names user, address, NAS and echoes the Class"
wait_for 10 "Interim-Update (Acct-Interim-Interval 2)" grep -q "Acct-Status-Type = Interim-Update" "$DETAIL"
"$L2TPCTL" --control "$OUT/b.sock" show session | grep -q "user alice, class cls-alice, address 10.99.7.7" || fail "show: $("$L2TPCTL" --control "$OUT/b.sock" show session)"
pass "l2tpctl show session names user, RADIUS Class and the RADIUS address"
ACCT_ID=$(awk 'BEGIN{RS=""} /Acct-Status-Type = Start/ {print; exit}' "$DETAIL" | sed -n 's/^[[:space:]]*Acct-Session-Id = "\(.*\)"/\1/p')
[ -n "$ACCT_ID" ] || fail "no Acct-Session-Id"

# stop_record: the last Stop record of the detail file, one attribute a line.
stop_record() { awk 'BEGIN{RS=""} /Acct-Status-Type = Stop/ {r=$0} END{print r}' "$DETAIL"; }
attr() { stop_record | sed -n "s/^[[:space:]]*$1 = //p" | head -1; }

if [ "$MODE" = dae-mute ]; then
    kill -STOP "$A"
    t0=$(date +%s%N)
    echo "User-Name = \"alice\"" | ip netns exec b radclient -x 127.0.0.1:3799 disconnect "$DAE_SECRET" > "$OUT/disc.log" 2>&1 || fail "Disconnect: $(cat "$OUT/disc.log")"
    grep -q "Disconnect-ACK" "$OUT/disc.log" || fail "no Disconnect-ACK: $(cat "$OUT/disc.log")"
    for _ in $(seq 75); do grep -q '"event":"session_down"' "$OUT/b.events" && break; sleep 0.02; done
    t1=$(date +%s%N)
    kill -CONT "$A"
    grep -q '"event":"session_down"' "$OUT/b.events" || fail "the session of the frozen LAC is still there 1.5 s after the Disconnect-Request"
    echo "session of the frozen LAC gone $(( (t1 - t0) / 1000000 )) ms after radclient was started"
    [ $(( (t1 - t0) / 1000000 )) -lt 1000 ] || fail "the session took $(( (t1 - t0) / 1000000 )) ms to go"
    pass "a frozen LAC's session is gone within 1 s of the Disconnect-Request"
    wait_for 10 "Stop in the detail file" grep -q "Acct-Status-Type = Stop" "$DETAIL"
    [ "$(attr Acct-Terminate-Cause)" = Admin-Reset ] || fail "cause $(attr Acct-Terminate-Cause), expected Admin-Reset"
    pass "Stop: Admin-Reset"
    echo "interop userspace-radius (dae-mute): passed"; exit 0
fi

if [ "$MODE" = dae ]; then
    "$L2TPCTL" --control "$OUT/b.sock" show session --json > "$OUT/b-show.json"
    read -r RX TX RXP TXP < <(python3 - "$OUT/b-show.json" <<'PY'
import json, sys
def sessions(d):
    if isinstance(d, dict):
        if "peer_id" in d and "pseudowire" in d: yield d
        for v in d.values(): yield from sessions(v)
    elif isinstance(d, list):
        for v in d: yield from sessions(v)
st = list(sessions(json.load(open(sys.argv[1]))))[0]["stats"]
print(st["rx_bytes"], st["tx_bytes"], st["rx_packets"], st["tx_packets"])
PY
)
    echo "counters before the Disconnect: rx $RX bytes / $RXP packets, tx $TX bytes / $TXP packets"
    echo "Acct-Session-Id = \"$ACCT_ID\", Session-Timeout = 600" | ip netns exec b radclient -x 127.0.0.1:3799 coa "$DAE_SECRET" > "$OUT/coa.log" 2>&1 || fail "CoA: $(cat "$OUT/coa.log")"
    grep -q "CoA-ACK" "$OUT/coa.log" || fail "no CoA-ACK: $(cat "$OUT/coa.log")"
    pass "CoA-Request (Session-Timeout) ACKed"
    t0=$(date +%s%N)
    echo "Acct-Session-Id = \"$ACCT_ID\"" | ip netns exec b radclient -x 127.0.0.1:3799 disconnect "$DAE_SECRET" > "$OUT/disc.log" 2>&1 || fail "Disconnect: $(cat "$OUT/disc.log")"
    grep -q "Disconnect-ACK" "$OUT/disc.log" || fail "no Disconnect-ACK: $(cat "$OUT/disc.log")"
    pass "Disconnect-Request ACKed"
    for _ in $(seq 50); do grep -q '"event":"session_down"' "$OUT/b.events" && break; sleep 0.02; done
    t1=$(date +%s%N)
    grep -q '"event":"session_down"' "$OUT/b.events" || fail "the session is still there 1 s after the Disconnect-Request"
    echo "session gone $(( (t1 - t0) / 1000000 )) ms after radclient was started"
    [ $(( (t1 - t0) / 1000000 )) -lt 1000 ] || fail "the session took $(( (t1 - t0) / 1000000 )) ms to go"
    pass "the session is gone within 1 s"
    wait_for 10 "Stop in the detail file" grep -q "Acct-Status-Type = Stop" "$DETAIL"
    [ "$(attr Acct-Terminate-Cause)" = Admin-Reset ] || fail "cause $(attr Acct-Terminate-Cause), expected Admin-Reset"
    IN=$(attr Acct-Input-Octets) OUTB=$(attr Acct-Output-Octets) INP=$(attr Acct-Input-Packets) OUTP=$(attr Acct-Output-Packets)
    echo "Stop: in $IN bytes / $INP packets, out $OUTB bytes / $OUTP packets"
    # Between the read and the end only the LCP Terminate exchange passed (2 frames each way at
    # most, under 100 bytes each with the L2TP header).
    python3 - "$RX" "$TX" "$RXP" "$TXP" "$IN" "$OUTB" "$INP" "$OUTP" <<'PY' || fail "Stop counters do not match the session's counters"
import sys
rx, tx, rxp, txp, i, o, ip, op = map(int, sys.argv[1:])
assert rx <= i <= rx + 200 and tx <= o <= tx + 200, (rx, i, tx, o)
assert rxp <= ip <= rxp + 2 and txp <= op <= txp + 2, (rxp, ip, txp, op)
assert rxp >= 6 and txp >= 6, (rxp, txp)
PY
    pass "Stop: Admin-Reset, octets and packets match the data plane's counters"
    echo 'Acct-Session-Id = "no-such-session"' | ip netns exec b radclient -x 127.0.0.1:3799 disconnect "$DAE_SECRET" > "$OUT/nak.log" 2>&1 || true
    grep -q "Disconnect-NAK" "$OUT/nak.log" || fail "no NAK for an unknown session: $(cat "$OUT/nak.log")"
    grep -q "Error-Cause = Session-Context-Not-Found" "$OUT/nak.log" || fail "NAK without Error-Cause 503: $(cat "$OUT/nak.log")"
    pass "unknown session: Disconnect-NAK with Error-Cause 503"
    echo "interop userspace-radius (dae): passed"; exit 0
fi

kill -TERM "$A"; rc=0; wait "$A" || rc=$?; [ "$rc" = 0 ] || fail "a's exit status $rc"
wait_for 10 "Stop in the detail file" grep -q "Acct-Status-Type = Stop" "$DETAIL"
[ "$(attr Acct-Terminate-Cause)" = User-Request ] || fail "cause $(attr Acct-Terminate-Cause), expected User-Request"
stop_record | grep -q "Class = 0x636c732d616c696365" || fail "Stop without the Class"
[ "$(attr Acct-Session-Id)" = "\"$ACCT_ID\"" ] || fail "Stop's Acct-Session-Id $(attr Acct-Session-Id) is not the Start's $ACCT_ID"
[ "$(attr Acct-Input-Packets)" -ge 6 ] || fail "Stop counts $(attr Acct-Input-Packets) input packets"
pass "Stop: User-Request, same Acct-Session-Id, Class, counters"
kill -TERM "$B"; rc=0; wait "$B" || rc=$?; [ "$rc" = 0 ] || fail "b's exit status $rc"
grep -q "Acct-Status-Type = Accounting-Off" "$DETAIL" || fail "no Accounting-Off at b's stop"
pass "Accounting-Off at the LNS's clean stop"
echo "interop userspace-radius ($AUTH): passed"
