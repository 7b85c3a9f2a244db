#!/usr/bin/env bash
# Built-in PPP on the kernel data plane (`ppp = "builtin"`): xl2tpd + pppd (kernel mode) as
# LAC in namespace a, our l2tpd LNS in namespace b, no pppd on b.
#   1. Our LNS asks for MS-CHAPv2, CHAP-MD5, PAP (in that order); pppd refuses all but one,
#      in turn: each method authenticates, pppd logs IPCP with the address from our pool,
#      ping both ways over pppN; xl2tpd stopped: our pppN is gone.
#   2. A wrong password: pppd reports the failure, our LNS clears the session with a CDN.
#   3. LCP echo: the far pppd stopped (SIGSTOP: the L2TP session stays, LCP goes silent);
#      our LNS clears the session within interval x failures (1 s x 3) plus margin.
#   IPv6 (`ppp_ipv6 = true`, pppd `+ipv6`): in 1, IPV6CP opens, pppd logs the link-local
#   addresses, our pppN has fe80::<our identifier>/64 and ping -6 crosses both ways.
#   The L2TP/PPP exchange of 1 is captured on the veth (tshark): `tshark -z expert` must show
#   no Warning or Error for it.
source "$(dirname "$0")/../../netns-lib.sh"
two_hosts a b

cat > "$OUT/secrets" <<CONF
alice * "pw" *
CONF
cat > "$OUT/lns.toml" <<CONF
dataplane = "kernel"
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
host_name = "lns.ours"
[tunnel.lns.session.template]
pseudowire = "ppp"
ppp = "builtin"
ppp_auth = ["mschapv2", "chap", "pap"]
ppp_secrets = "$OUT/secrets"
ppp_local_ip = "10.96.0.1"
ppp_pool = "10.96.0.2-10.96.0.20"
ppp_echo_interval = 1
ppp_echo_failures = 3
ppp_ipv6 = true
CONF
ip netns exec b tshark -q -i vb -f "udp port 1701" -w "$OUT/kppp.pcap" >"$OUT/tshark.log" 2>&1 &
TS=$!; PIDS+=($TS)
wait_for 30 "capture running" grep -q "Capturing on" "$OUT/tshark.log"
ip netns exec b "$L2TPD" --config "$OUT/lns.toml" --events json --events-file "$OUT/lns.events" >"$OUT/lns.log" 2>&1 &
LNS=$!; PIDS+=($LNS)
wait_for 10 "our LNS listening" sh -c "ip netns exec b ss -uln | grep -q 10.70.0.2:1701"

# xl2tpd LAC in a, dialling our LNS with the pppd options in $1; its pppd logs to $2.
start_lac() {
    local opts=$1 log=$2 dir=$OUT/x$RANDOM
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
    : > "$log"
    ip netns exec a xl2tpd -D -c "$dir/xl2tpd.conf" -p "$dir/pid" -C "$dir/control" >"$OUT/xl2tpd-$(basename "$log" .log).log" 2>&1 &
    XPID=$!; PIDS+=($XPID)
}
stop_lac() {
    kill -TERM "$XPID" 2>/dev/null || true
    wait "$XPID" 2>/dev/null || true
    for p in $(pppd_in a); do kill -9 "$p" 2>/dev/null || true; done
}
# ppp_client FILE LOG PASSWORD REFUSE...: pppd options for xl2tpd's LAC.
ppp_client() {
    local f=$1 log=$2 pw=$3; shift 3
    {
        echo "noauth"; echo "nodefaultroute"; echo "noccp"; echo "nodeflate"; echo "nobsdcomp"
        echo "ipcp-accept-local"; echo "ipcp-accept-remote"; echo "noipdefault"
        echo "lcp-echo-interval 0"; echo "user alice"; echo "password $pw"
        echo "logfile $log"; echo "debug"; echo "+ipv6"
        # A smaller MRU than ours: our pppN's MTU must follow it (as pppd's would).
        echo "mru 1400"
        for r in "$@"; do echo "$r"; done
    } > "$f"
}

n=0
for method in mschapv2 chap pap; do
    case $method in
        mschapv2) refuse="refuse-pap refuse-chap refuse-mschap refuse-eap"; acked="<auth chap MS-v2>" ;;
        chap) refuse="refuse-pap refuse-mschap refuse-mschap-v2 refuse-eap"; acked="<auth chap MD5>" ;;
        pap) refuse="refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap"; acked="<auth pap>" ;;
    esac
    # shellcheck disable=SC2086
    ppp_client "$OUT/ppp-$method" "$OUT/pppd-$method.log" pw $refuse
    start_lac "$OUT/ppp-$method" "$OUT/pppd-$method.log"
    n=$((n + 1))
    wait_for 30 "$method: our LNS session up" sh -c "[ \$(grep -c '\"event\":\"session_up\"' '$OUT/lns.events') -ge $n ]"
    wait_for 30 "$method: pppd logs IPCP with our pool's address" grep -Eq "local +IP address 10\.96\.0\.2" "$OUT/pppd-$method.log"
    grep "sent \[LCP ConfAck" "$OUT/pppd-$method.log" | grep -qF "$acked" || fail "$method: pppd did not agree to $acked"
    grep -Eq "authentication succeeded" "$OUT/pppd-$method.log" || fail "$method: pppd did not log the authentication's success"
    pass "$method: pppd acked $acked and logs the authentication succeeded"
    grep -Eq "remote +IP address 10\.96\.0\.1" "$OUT/pppd-$method.log" || fail "$method: pppd's remote address is not ours"
    wait_for 10 "$method: our pppN has 10.96.0.1 peer 10.96.0.2" sh -c "ip -n b addr show | grep -q 'inet 10.96.0.1 peer 10.96.0.2/32'"
    ip -n b route show | grep -q "10.96.0.2 dev ppp" || fail "$method: no route to the peer through pppN"
    ip netns exec a ping -c 3 -i 0.3 -W 2 10.96.0.1 >"$OUT/ping-$method.log" 2>&1 || fail "$method: ping xl2tpd LAC -> our LNS"
    ip netns exec b ping -c 3 -i 0.3 -W 2 10.96.0.2 >"$OUT/pingr-$method.log" 2>&1 || fail "$method: ping our LNS -> xl2tpd LAC"
    pass "$method: ping both ways over pppN"
    # IPV6CP: pppd logs both link-local addresses; ours is on our pppN; ping -6 both ways.
    wait_for 15 "$method: pppd logs IPV6CP's link-local addresses" grep -Eq "remote LL address fe80::" "$OUT/pppd-$method.log"
    ours=$(grep -Eo "remote LL address fe80::[0-9a-f:]+" "$OUT/pppd-$method.log" | tail -1 | awk '{print $4}')
    theirs=$(grep -Eo "local +LL address fe80::[0-9a-f:]+" "$OUT/pppd-$method.log" | tail -1 | awk '{print $NF}')
    # pppd prints groups with leading zeros (fe80::…:051c:…), ip without: canonical forms.
    canon() { python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]))' "$1"; }
    ours=$(canon "$ours"); theirs=$(canon "$theirs")
    bif=$(ip -n b -o link show | awk -F': ' '$2 ~ /^ppp[0-9]/ {print $2; exit}'); bif=${bif%%@*}
    aif=$(ip -n a -o link show | awk -F': ' '$2 ~ /^ppp[0-9]/ {print $2; exit}'); aif=${aif%%@*}
    wait_for 10 "$method: our $bif has $ours/64" sh -c "ip -n b -6 addr show dev $bif | grep -q 'inet6 $ours/64'"
    ip netns exec a ping -6 -c 3 -i 0.3 -W 2 "$ours%$aif" >"$OUT/ping6-$method.log" 2>&1 || fail "$method: ping -6 xl2tpd LAC -> our LNS $ours%$aif: $(tail -2 "$OUT/ping6-$method.log")"
    ip netns exec b ping -6 -c 3 -i 0.3 -W 2 "$theirs%$bif" >"$OUT/ping6r-$method.log" 2>&1 || fail "$method: ping -6 our LNS -> xl2tpd LAC $theirs%$bif: $(tail -2 "$OUT/ping6r-$method.log")"
    pass "$method: IPV6CP: our $bif has $ours/64, ping -6 both ways"
    mtu=$(ip -n b -o link show dev "$bif" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
    [ -n "$mtu" ] && [ "$mtu" -le 1400 ] || fail "$method: our $bif's MTU is ${mtu:-?}, above pppd's MRU 1400"
    pass "$method: our $bif's MTU $mtu is within pppd's MRU 1400"
    [ -z "$(pppd_in b)" ] || fail "$method: a pppd runs on the LNS side"
    pass "$method: no pppd on the LNS side"
    stop_lac
    wait_for 15 "$method: our LNS's session went" sh -c "[ \$(grep -c '\"event\":\"session_down\"' '$OUT/lns.events') -ge $n ]"
    wait_for 5 "$method: our pppN is gone" sh -c "! ip -n b -o link show | grep -q ': ppp[0-9]' "
done

# The exchange of 1 (three sessions, IPv4 and IPv6): decoded, with no tshark expert Warning
# or Error.
sleep 0.5
kill "$TS"; wait "$TS" 2>/dev/null || true
# One tshark run (each costs tens of seconds under TCG): expert items and protocol hierarchy.
tshark -r "$OUT/kppp.pcap" -q -z expert -z io,phs 2>/dev/null > "$OUT/expert.txt" || fail "tshark -r: $(tail -3 "$OUT/tshark.log")"
for p in lcp chap pap ipcp ipv6cp icmpv6; do
    grep -Eq "^ +$p +frames:[1-9]" "$OUT/expert.txt" || { cat "$OUT/expert.txt"; fail "tshark decodes no $p in the capture"; }
done
if grep -Eq "^[[:space:]]*(Errors|Warns) \(" "$OUT/expert.txt"; then
    cat "$OUT/expert.txt"
    fail "tshark expert: Warning or Error in the L2TP/PPP exchange"
fi
pass "tshark: the L2TP/PPP exchange (LCP, authentication, IPCP, IPV6CP, data) has no expert Warning or Error"

# --- 2. A wrong password (CHAP-MD5).
ppp_client "$OUT/ppp-bad" "$OUT/pppd-bad.log" wrong refuse-pap refuse-mschap refuse-mschap-v2 refuse-eap
start_lac "$OUT/ppp-bad" "$OUT/pppd-bad.log"
n=$((n + 1))
fails=$(grep -c "PPP down; clearing the session" "$OUT/lns.log" || true)
wait_for 30 "wrong password: pppd reports the failure" grep -Eq "CHAP authentication failed|authentication failed" "$OUT/pppd-bad.log"
wait_for 15 "wrong password: our LNS clears the session (CDN)" sh -c "[ \$(grep -c 'PPP down; clearing the session' '$OUT/lns.log') -gt $fails ]"
wait_for 15 "wrong password: session_down on our LNS" sh -c "[ \$(grep -c '\"event\":\"session_down\"' '$OUT/lns.events') -ge $n ]"
wait_for 5 "wrong password: no pppN left" sh -c "! ip -n b -o link show | grep -q ': ppp[0-9]' "
stop_lac

# --- 3. LCP echo: the far pppd stops answering.
ppp_client "$OUT/ppp-echo" "$OUT/pppd-echo.log" pw refuse-pap refuse-mschap refuse-mschap-v2 refuse-eap
start_lac "$OUT/ppp-echo" "$OUT/pppd-echo.log"
n=$((n + 1))
wait_for 30 "echo: IPCP up" grep -Eq "local +IP address 10\.96\.0\." "$OUT/pppd-echo.log"
downs=$(grep -c '"event":"session_down"' "$OUT/lns.events" || true)
fails=$(grep -c "PPP down; clearing the session" "$OUT/lns.log" || true)
for p in $(pppd_in a); do kill -STOP "$p"; done
t0=$(date +%s)
wait_for 15 "echo: our LNS clears the session after unanswered Echo-Requests" sh -c "[ \$(grep -c '\"event\":\"session_down\"' '$OUT/lns.events') -gt $downs ]"
dt=$(( $(date +%s) - t0 ))
[ "$(grep -c "PPP down; clearing the session" "$OUT/lns.log")" -gt "$fails" ] || fail "echo: no 'PPP down' in our log (cleared some other way)"
[ "$dt" -le 8 ] || fail "echo: cleared after ${dt} s (interval 1 s x 3 failures)"
pass "echo: cleared ${dt} s after the far pppd stopped (1 s x 3)"
for p in $(pppd_in a); do kill -CONT "$p" 2>/dev/null || true; done
stop_lac

kill -TERM "$LNS"; rc=0; wait "$LNS" || rc=$?
[ "$rc" = 0 ] || fail "our LNS exit status $rc"
wait_for 5 "no kernel tunnel left by our LNS" l2tp_empty b
echo "e2e kppp-xl2tpd: passed"
