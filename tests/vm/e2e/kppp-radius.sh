#!/usr/bin/env bash
# RADIUS for built-in PPP on the kernel data plane (issue 12): xl2tpd + pppd (kernel mode) as
# LAC in namespace a; our l2tpd LNS in b with dataplane = "kernel", ppp = "builtin",
# ppp_auth_source = "radius"; FreeRADIUS 3.2 (tests/radius-lib.sh) on b's loopback.
#   1. MS-CHAPv2, CHAP-MD5, PAP (pppd refuses the others, in turn): FreeRADIUS accepts alice,
#      pppd gets the Framed-IP-Address 10.99.7.7, ping both ways over pppN, Accounting Start.
#   2. CHAP: a CoA-Request with Session-Timeout 2 is ACKed and ends the session about 2 s
#      later: Stop with Acct-Terminate-Cause Session-Timeout.
#   3. PAP: Interim-Update (Acct-Interim-Interval 2) with the octets of the pings; pppN's
#      counters (ip -s link, IFLA_STATS64) read, then radclient's Disconnect-Request: ACKed,
#      the session is gone within 1 s, the far pppd logs the LCP Terminate; the Stop says
#      Admin-Reset and its octets/packets equal pppN's counters read just before (only the
#      LCP Terminate exchange passed since, on the channel: pppN does not count it).
#      What pppN counts: IP packets without the PPP Protocol field (6 ICMP packets of 84 bytes each
#      way: 504 bytes) plus, received only, the peer's IPCP frames (the unit's file gets them
#      and counts them: 4 frames, 44 bytes, in a run on 6.1): in 548 / 10, out 504 / 6. Not
#      counted: L2TP/UDP/IP encapsulation, FF 03, LCP and authentication frames. The
#      Disconnect time is measured from l2tpd's log line for the request to the session_down
#      event: radclient alone needs over a second to start under TCG.
source "$(dirname "$0")/../../netns-lib.sh"
SECRET=radius-test-secret
DAE_SECRET=dae-test-secret
command -v freeradius >/dev/null || fail "freeradius is not installed (Debian: freeradius)"
command -v radclient >/dev/null || fail "radclient is not installed (Debian: freeradius-utils)"
two_hosts a b
source "$(dirname "$0")/../../radius-lib.sh"
radius b radius1 1812 1813
DETAIL=$OUT/radius1/acct/detail
echo "$SECRET" > "$OUT/radius.secret"

cat > "$OUT/lns.toml" <<CONF
dataplane = "kernel"
[radius]
nas_identifier = "lns-k"
timeout = 500
retries = 1
dae_listen = "127.0.0.1:3799"
[radius.server.first]
address = "127.0.0.1"
auth_port = 1812
acct_port = 1813
secret_file = "$OUT/radius.secret"
[radius.dae_client.local]
address = "127.0.0.1"
secret = "$DAE_SECRET"
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
host_name = "lns.ours"
[tunnel.lns.session.template]
pseudowire = "ppp"
ppp = "builtin"
ppp_auth = ["mschapv2", "chap", "pap"]
ppp_auth_source = "radius"
ppp_local_ip = "10.96.0.1"
ppp_pool = "10.96.0.2-10.96.0.20"
ppp_echo_interval = 0
CONF
ip netns exec b "$L2TPD" --config "$OUT/lns.toml" --events json --events-file "$OUT/lns.events" >"$OUT/lns.log" 2>&1 &
LNS=$!; PIDS+=($LNS)
wait_for 10 "our LNS listening" sh -c "ip netns exec b ss -uln | grep -q 10.70.0.2:1701"
wait_for 10 "Accounting-On in the detail file" grep -q "Acct-Status-Type = Accounting-On" "$DETAIL"
! grep 'WARN' "$OUT/lns.log" | grep -q 'radius' || fail "l2tpd warns about [radius] on the kernel data plane: $(grep WARN "$OUT/lns.log")"

# xl2tpd LAC in a, dialling our LNS with the pppd options in $1.
start_lac() {
    local opts=$1 dir=$OUT/x$RANDOM
    mkdir -p "$dir"
    cat > "$dir/xl2tpd.conf" <<CONF
[global]
port = 1701
auth file = $dir/secrets
[lac ours]
lns = 10.70.0.2
require authentication = no
hostname = lac.xl2tpd
length bit = yes
autodial = yes
pppoptfile = $opts
CONF
    : > "$dir/secrets"
    ip netns exec a xl2tpd -D -c "$dir/xl2tpd.conf" -p "$dir/pid" -C "$dir/control" >"$dir/xl2tpd.log" 2>&1 &
    XPID=$!; PIDS+=($XPID)
}
stop_lac() {
    kill -TERM "$XPID" 2>/dev/null || true
    wait "$XPID" 2>/dev/null || true
    for p in $(pppd_in a); do kill -9 "$p" 2>/dev/null || true; done
}
# ppp_client FILE LOG REFUSE...: pppd options for xl2tpd's LAC, user alice.
ppp_client() {
    local f=$1 log=$2; shift 2
    {
        echo "noauth"; echo "nodefaultroute"; echo "noccp"; echo "nodeflate"; echo "nobsdcomp"
        echo "ipcp-accept-local"; echo "ipcp-accept-remote"; echo "noipdefault"
        echo "lcp-echo-interval 0"; echo "user alice"; echo 'password "open sesame"'
        echo "logfile $log"; echo "debug"
        for r in "$@"; do echo "$r"; done
    } > "$f"
}
count() { grep -c "Acct-Status-Type = $1" "$DETAIL" || true; }
# record TYPE: the last accounting record of that type, one attribute a line.
record() { awk -v t="Acct-Status-Type = $1" 'BEGIN{RS=""} index($0, t) {r=$0} END{print r}' "$DETAIL"; }
attr() { record "$1" | sed -n "s/^[[:space:]]*$2 = //p" | head -1; }
ppp_if() { ip -n b -o link show | sed -n 's/^[0-9]*: \(ppp[0-9]*\)[:@].*/\1/p' | head -1; }

n=0
for method in mschapv2 chap pap; do
    case $method in
        mschapv2) refuse="refuse-pap refuse-chap refuse-mschap refuse-eap"; acked="<auth chap MS-v2>" ;;
        chap) refuse="refuse-pap refuse-mschap refuse-mschap-v2 refuse-eap"; acked="<auth chap MD5>" ;;
        pap) refuse="refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap"; acked="<auth pap>" ;;
    esac
    log=$OUT/pppd-$method.log
    # shellcheck disable=SC2086
    ppp_client "$OUT/ppp-$method" "$log" $refuse
    starts=$(count Start) stops=$(count Stop)
    start_lac "$OUT/ppp-$method"
    n=$((n + 1))
    wait_for 30 "$method: pppd gets the Framed-IP-Address 10.99.7.7" grep -Eq "local +IP address 10\.99\.7\.7" "$log"
    grep "sent \[LCP ConfAck" "$log" | grep -qF "$acked" || fail "$method: pppd did not agree to $acked"
    grep -q "Sent Access-Accept" "$OUT/radius1.log" || fail "$method: FreeRADIUS sent no Access-Accept"
    pass "$method: authenticated by FreeRADIUS, pppd has the Framed-IP-Address"
    wait_for 10 "$method: our pppN has 10.96.0.1 peer 10.99.7.7" sh -c "ip -n b addr show | grep -q 'inet 10.96.0.1 peer 10.99.7.7/32'"
    ip netns exec a ping -c 3 -i 0.3 -W 2 10.96.0.1 >"$OUT/ping-$method.log" 2>&1 || fail "$method: ping xl2tpd LAC -> our LNS"
    ip netns exec b ping -c 3 -i 0.3 -W 2 10.99.7.7 >"$OUT/pingr-$method.log" 2>&1 || fail "$method: ping our LNS -> xl2tpd LAC"
    pass "$method: ping both ways over pppN"
    wait_for 10 "$method: Accounting Start" sh -c "[ \$(grep -c 'Acct-Status-Type = Start' '$DETAIL') -gt $starts ]"
    [ -z "$(pppd_in b)" ] || fail "$method: a pppd runs on the LNS side"
    case $method in
    mschapv2)
        stop_lac
        wait_for 15 "$method: Stop after the LAC hung up" sh -c "[ \$(grep -c 'Acct-Status-Type = Stop' '$DETAIL') -gt $stops ]"
        pass "$method: Stop ($(attr Stop Acct-Terminate-Cause), in $(attr Stop Acct-Input-Octets) bytes, out $(attr Stop Acct-Output-Octets) bytes)"
        ;;
    chap)
        id=$(attr Start Acct-Session-Id)
        echo "Acct-Session-Id = $id, Session-Timeout = 2" | ip netns exec b radclient -x 127.0.0.1:3799 coa "$DAE_SECRET" > "$OUT/coa.log" 2>&1 || fail "CoA: $(cat "$OUT/coa.log")"
        grep -q "CoA-ACK" "$OUT/coa.log" || fail "no CoA-ACK: $(cat "$OUT/coa.log")"
        t0=$(date +%s%N)
        wait_for 10 "CoA Session-Timeout 2: Stop" sh -c "[ \$(grep -c 'Acct-Status-Type = Stop' '$DETAIL') -gt $stops ]"
        dt=$(( ($(date +%s%N) - t0) / 1000000 ))
        [ "$(attr Stop Acct-Terminate-Cause)" = Session-Timeout ] || fail "cause $(attr Stop Acct-Terminate-Cause), expected Session-Timeout"
        # (Counted from the CoA-ACK; radclient may take a while to exit under TCG: no lower bound.)
        [ "$dt" -le 6000 ] || fail "CoA Session-Timeout 2 s ended the session after $dt ms"
        wait_for 10 "$method: the far pppd sees the link end" grep -Eq "LCP terminated by peer|Connection terminated|Modem hangup" "$log"
        pass "CoA-Request Session-Timeout 2: ACKed, session ended $dt ms later, Stop says Session-Timeout"
        stop_lac
        ;;
    pap)
        interims=$(count Interim-Update)
        wait_for 10 "an Interim-Update after the pings (Acct-Interim-Interval 2)" sh -c "[ \$(grep -c 'Acct-Status-Type = Interim-Update' '$DETAIL') -gt $interims ]"
        ii=$(attr Interim-Update Acct-Input-Octets)
        [ "${ii:-0}" -ge 252 ] || fail "Interim-Update Acct-Input-Octets $ii: less than 3 pings (84 bytes each)"
        pass "Interim-Update counts the pings (in $ii bytes, out $(attr Interim-Update Acct-Output-Octets) bytes)"
        ifn=$(ppp_if)
        [ -n "$ifn" ] || fail "no pppN in b"
        ip -n b -s -j link show dev "$ifn" > "$OUT/link.json"
        # (No process substitution: the VM has no /dev/fd.)
        read -r RX TX RXP TXP <<<"$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))[0]["stats64"]
print(s["rx"]["bytes"], s["tx"]["bytes"], s["rx"]["packets"], s["tx"]["packets"])' "$OUT/link.json")"
        echo "$ifn before the Disconnect: rx $RX bytes / $RXP packets, tx $TX bytes / $TXP packets"
        id=$(attr Start Acct-Session-Id)
        downs=$(grep -c '"event":"session_down"' "$OUT/lns.events" || true)
        t0=$(date +%s%N)
        echo "Acct-Session-Id = $id" | ip netns exec b radclient -x 127.0.0.1:3799 disconnect "$DAE_SECRET" > "$OUT/disc.log" 2>&1 || fail "Disconnect: $(cat "$OUT/disc.log")"
        grep -q "Disconnect-ACK" "$OUT/disc.log" || fail "no Disconnect-ACK: $(cat "$OUT/disc.log")"
        wait_for 5 "session_down after the Disconnect-Request" sh -c "[ \$(grep -c '\"event\":\"session_down\"' '$OUT/lns.events') -gt $downs ]"
        dt=$(( ($(date +%s%N) - t0) / 1000000 ))
        # From the request's arrival (l2tpd's log) to the session_down event (its ts): radclient
        # itself takes over a second to start under TCG (it loads the dictionaries).
        ms=$(python3 - "$OUT/lns.log" "$OUT/lns.events" <<'PY'
import datetime, json, re, sys
t_req = None
for line in open(sys.argv[1]):
    if "Disconnect-Request: ending the session" in line:
        stamp = re.match(r"(\S+?)\.(\d+)Z", line)
        base = datetime.datetime.strptime(stamp.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        t_req = base.timestamp() + float("0." + stamp.group(2))
downs = [json.loads(l)["ts"] for l in open(sys.argv[2]) if '"session_down"' in l]
print(int((downs[-1] - t_req) * 1000))
PY
)
        echo "session gone $ms ms after l2tpd got the Disconnect-Request ($dt ms after radclient was started)"
        [ "$ms" -ge 0 ] && [ "$ms" -lt 1000 ] || fail "the session took $ms ms to go after the Disconnect-Request"
        pass "Disconnect-Request ACKed, session gone within 1 s ($ms ms)"
        wait_for 10 "the far pppd logs the LCP Terminate" grep -q "LCP terminated by peer" "$log"
        pass "the far pppd saw the LCP Terminate-Request"
        wait_for 10 "Stop in the detail file" sh -c "[ \$(grep -c 'Acct-Status-Type = Stop' '$DETAIL') -gt $stops ]"
        [ "$(attr Stop Acct-Terminate-Cause)" = Admin-Reset ] || fail "cause $(attr Stop Acct-Terminate-Cause), expected Admin-Reset"
        IN=$(attr Stop Acct-Input-Octets) OB=$(attr Stop Acct-Output-Octets) INP=$(attr Stop Acct-Input-Packets) OP=$(attr Stop Acct-Output-Packets)
        echo "Stop: in $IN bytes / $INP packets, out $OB bytes / $OP packets"
        [ "$IN" = "$RX" ] && [ "$OB" = "$TX" ] && [ "$INP" = "$RXP" ] && [ "$OP" = "$TXP" ] ||
            fail "Stop counters (in $IN/$INP, out $OB/$OP) differ from $ifn's (rx $RX/$RXP, tx $TX/$TXP)"
        pass "Stop: Admin-Reset, octets and packets equal $ifn's counters"
        grep -E "Sent [0-9]+ bytes, received [0-9]+ bytes" "$log" || true
        stop_lac
        ;;
    esac
    wait_for 15 "$method: our LNS's session went" sh -c "[ \$(grep -c '\"event\":\"session_down\"' '$OUT/lns.events') -ge $n ]"
    wait_for 5 "$method: our pppN is gone" sh -c "! ip -n b -o link show | grep -q ': ppp[0-9]' "
done

kill -TERM "$LNS"; rc=0; wait "$LNS" || rc=$?
[ "$rc" = 0 ] || fail "our LNS exit status $rc"
wait_for 5 "no kernel tunnel left by our LNS" l2tp_empty b
echo "e2e kppp-radius: passed"
