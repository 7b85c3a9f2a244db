#!/usr/bin/env bash
# End to end against l2tpns (an LNS with PPP in user space over tun) authenticating through
# FreeRADIUS, in namespace b; xl2tpd (kernel mode) + pppd as LAC in namespace a, user alice:
#   1. PAP: RADIUS Access-Accept, Accounting-Start in the detail file, a's ppp0 gets the
#      Framed-IP-Address 10.80.0.10, ping from a to l2tpns's tun address;
#   2. the same with CHAP-MD5 (pppd refuses PAP);
#   3. a wrong password: Access-Reject, no address.
# Each dial is torn down by stopping xl2tpd; then l2tpns must have no tunnel left and its route
# to the user's address must be gone.
source "$(dirname "$0")/../../netns-lib.sh"
source "$(dirname "$0")/../../l2tpns-lib.sh"
two_hosts a b
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
command -v xl2tpd >/dev/null || fail "xl2tpd is not installed"

start_radius b
start_l2tpns b 10.70.0.2

# dial TAG PPP-AUTH-OPTIONS PASSWORD: xl2tpd LAC in a with pppd as alice.
dial() {
    local tag=$1 auth=$2 pass=$3 d=$OUT/$1
    mkdir -p "$d"
    cat > "$d/ppp-client" <<CONF
name $L2TPNS_USER
password "$pass"
noauth
$auth
nodefaultroute
noccp
ipcp-accept-local
ipcp-accept-remote
noipdefault
lcp-echo-interval 0
CONF
    cat > "$d/xl2tpd.conf" <<CONF
[global]
port = 1701
auth file = $d/secrets
[lac l2tpns]
lns = 10.70.0.2
require authentication = no
hostname = lac.xl2tpd
length bit = yes
autodial = yes
redial = no
pppoptfile = $d/ppp-client
CONF
    : > "$d/secrets"
    ip netns exec a xl2tpd -D -c "$d/xl2tpd.conf" -p "$d/pid" -C "$d/control" >"$OUT/xl2tpd-$tag.log" 2>&1 &
    XPID=$!; PIDS+=("$XPID")
}

no_pppd_in_a() { [ -z "$(pppd_in a)" ]; }

# hang_up: stop xl2tpd (StopCCN to l2tpns) and wait for l2tpns to forget the tunnel and route.
hang_up() {
    kill -TERM "$XPID"; wait "$XPID" 2>/dev/null || true
    wait_for 20 "$1: pppd in a gone" no_pppd_in_a
    wait_for 20 "$1: l2tpns dropped the route to $L2TPNS_USER_IP" \
        sh -c "! ip -n b route show | grep -q '^$L2TPNS_USER_IP '"
}

accepts() { grep -c "Sent Access-Accept" "$OUT/radius.log" || true; }
# starts: Accounting-Start records for alice's address in the detail file so far.
# (detail records are separated by blank lines).
starts() {
    awk -v RS= -v ip="Framed-IP-Address = $L2TPNS_USER_IP" \
        'index($0, "Acct-Status-Type = Start") && index($0, ip) { n++ } END { print n + 0 }' \
        "$OUT/radius/acct/detail" 2>/dev/null || echo 0
}
more_starts() { [ "$(starts)" -gt "$STARTS" ]; }
check_up() { # TAG
    wait_for 30 "$1: RADIUS Access-Accept for alice" sh -c "[ \$(grep -c 'Sent Access-Accept' '$OUT/radius.log') -gt $ACCEPTS ]"
    wait_for 30 "$1: ppp0 in a has the Framed-IP-Address $L2TPNS_USER_IP" \
        sh -c "ip -n a addr show | grep -q 'inet $L2TPNS_USER_IP peer $L2TPNS_TUN_IP'"
    wait_for 10 "$1: l2tpns routes $L2TPNS_USER_IP into its tun" \
        sh -c "ip -n b route show | grep -q '^$L2TPNS_USER_IP dev $L2TPNS_TUN'"
    # pppd gives ppp0 its addresses before it brings the link up (and the peer route with it):
    # one CI run pinged in between ("Network is unreachable").
    wait_for 10 "$1: a routes to l2tpns's tun address over ppp0" \
        sh -c "ip -n a route get $L2TPNS_TUN_IP | grep -q 'dev ppp'"
    ip netns exec a ping -c 3 -i 0.3 -W 2 "$L2TPNS_TUN_IP" >"$OUT/ping-$1.log" 2>&1 || fail "$1: ping a -> l2tpns $L2TPNS_TUN_IP"
    pass "$1: ping from a to l2tpns's tun address"
    wait_for 10 "$1: Accounting-Start for alice in the detail file" \
        more_starts
}

# --- 1. PAP
ACCEPTS=$(accepts); STARTS=$(starts)
dial pap "refuse-chap
refuse-mschap
refuse-mschap-v2
refuse-eap" "$L2TPNS_PASS"
check_up pap
grep -B5 -A20 "Received Access-Request" "$OUT/radius.log" | grep -q "User-Password = \"$L2TPNS_PASS\"" ||
    fail "pap: no PAP User-Password in the Access-Request"
pass "pap: the Access-Request carried a User-Password"
hang_up pap
wait_for 10 "pap: Accounting-Stop for alice" grep -q 'Acct-Status-Type = Stop' "$OUT/radius/acct/detail"

# --- 2. CHAP-MD5
ACCEPTS=$(accepts); STARTS=$(starts)
dial chap "refuse-pap
refuse-mschap
refuse-mschap-v2
refuse-eap" "$L2TPNS_PASS"
check_up chap
grep -A20 "Received Access-Request" "$OUT/radius.log" | grep -q "CHAP-Password = " ||
    fail "chap: no CHAP-Password in any Access-Request"
pass "chap: an Access-Request carried a CHAP-Password"
hang_up chap

# --- 3. wrong password
dial bad "refuse-chap
refuse-mschap
refuse-mschap-v2
refuse-eap" "not the password"
wait_for 30 "bad: RADIUS Access-Reject" grep -q "Sent Access-Reject" "$OUT/radius.log"
# pppd gives up once l2tpns fails the authentication (PAP Nak, LCP Terminate).
wait_for 20 "bad: pppd in a exited" no_pppd_in_a
ip -n a addr show | grep -q "inet $L2TPNS_USER_IP" && fail "bad: ppp0 got an address with a wrong password"
pass "bad: no address with a wrong password"
kill -TERM "$XPID"; wait "$XPID" 2>/dev/null || true
l2tpns_pid=$(cat "$OUT/l2tpns/l2tpns.pid")
kill -0 "$l2tpns_pid" || fail "l2tpns died during the test"
pass "l2tpns still running"
echo "e2e xl2tpd-l2tpns: passed"
