#!/usr/bin/env bash
# Built-in PPP on the kernel data plane, authenticating side: our LAC with `ppp = "builtin"`
# (ppp_user / ppp_password, no pppd) in namespace a -> our LNS in pppd mode (pppd requires one
# method from the peer — CHAP-MD5, PAP, then MS-CHAPv2 — addresses from its options) in
# namespace b: pppd's log shows the method succeed, IPCP gives the LAC's interface (renamed
# kppp0 by interface_name) the LNS's address for it, ping both ways; the LAC stopped: its pppN
# is gone and no kernel tunnel is left.
source "$(dirname "$0")/../../netns-lib.sh"
two_hosts a b

# pppd reads the secrets for `auth` from /etc/ppp/{chap,pap}-secrets (read-only in the VM): the
# LNS runs in a mount namespace of its own with our files bound over them.
printf 'alice lns "pw" *\n' > "$OUT/chap-secrets"
cp "$OUT/chap-secrets" "$OUT/pap-secrets"
chmod 600 "$OUT/chap-secrets" "$OUT/pap-secrets"
[ -e /etc/ppp/chap-secrets ] && [ -e /etc/ppp/pap-secrets ] || fail "no /etc/ppp/{chap,pap}-secrets to bind over"

# lns_logged: the LNS's pppd logged the LAC's credentials ($GOT) and its success ($WANT).
lns_logged() { grep -q "$GOT" "$OUT/pppd-lns-$METHOD.log" && grep -q "$WANT" "$OUT/pppd-lns-$METHOD.log"; }

# one METHOD REQUIRE GOT WANT: a run where the LNS's pppd requires one method.
one() {
METHOD=$1 REQUIRE=$2 GOT=$3 WANT=$4
mkdir -p "$OUT/etc-ppp"
cat > "$OUT/lns-ppp" <<CONF
auth
$REQUIRE
nodefaultroute
noccp
lcp-echo-interval 0
10.95.0.1:10.95.0.2
name lns
logfile $OUT/pppd-lns-$METHOD.log
debug
CONF
cat > "$OUT/lns.toml" <<CONF
dataplane = "kernel"
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
host_name = "lns.ours"
[tunnel.lns.session.template]
pseudowire = "ppp"
pppd_args = "$OUT/lns-ppp"
CONF
cat > "$OUT/lac.toml" <<CONF
dataplane = "kernel"
[tunnel.t1]
local = "10.70.0.1:1701"
peer = "10.70.0.2:1701"
host_name = "lac.ours"
[tunnel.t1.session.s1]
pseudowire = "ppp"
ppp = "builtin"
ppp_user = "alice"
ppp_password = "pw"
ppp_echo_interval = 2
interface_name = "kppp0"
CONF

ip netns exec b unshare -m sh -c "mount --bind '$OUT/chap-secrets' /etc/ppp/chap-secrets && mount --bind '$OUT/pap-secrets' /etc/ppp/pap-secrets && exec '$L2TPD' --config '$OUT/lns.toml' --events json --events-file '$OUT/lns.events'" >"$OUT/lns.log" 2>&1 &
LNS=$!; PIDS+=($LNS)
wait_for 10 "our LNS listening" sh -c "ip netns exec b ss -uln | grep -q 10.70.0.2:1701"
ip netns exec a "$L2TPD" --config "$OUT/lac.toml" --events json --events-file "$OUT/lac.events" >"$OUT/lac.log" 2>&1 &
LAC=$!; PIDS+=($LAC)

wait_for 20 "LAC session up" grep -q '"event":"session_up"' "$OUT/lac.events"
wait_for 30 "LNS pppd ($METHOD): our LAC authenticated" lns_logged
wait_for 30 "our LAC's kppp0 (interface_name) has 10.95.0.2 peer 10.95.0.1" sh -c "ip -n a addr show dev kppp0 | grep -q 'inet 10.95.0.2 peer 10.95.0.1/32'"
wait_for 10 "our LAC logs PPP up" grep -q "PPP up" "$OUT/lac.log"
[ -z "$(pppd_in a)" ] || fail "a pppd runs on our LAC's side"
pass "no pppd on our LAC's side"
ip netns exec a ping -c 3 -i 0.3 -W 2 10.95.0.1 >"$OUT/ping.log" 2>&1 || fail "ping our LAC -> LNS over pppN"
ip netns exec b ping -c 3 -i 0.3 -W 2 10.95.0.2 >"$OUT/pingr.log" 2>&1 || fail "ping LNS -> our LAC over pppN"
pass "ping both ways over the LAC's built-in PPP"

kill -TERM "$LAC"; rc=0; wait "$LAC" || rc=$?
[ "$rc" = 0 ] || fail "LAC exit status $rc"
pass "LAC exited 0 after SIGTERM"
ip -n a -o link show | grep -Eq ': (ppp[0-9]|kppp0)' && fail "the PPP unit's interface left behind on the LAC"
pass "no PPP interface left on the LAC"
wait_for 5 "no kernel tunnel left on the LAC" l2tp_empty a
wait_for 10 "the LNS's pppd ended with its session" sh -c "[ -z \"\$(for p in \$(ip netns pids b); do grep -qa pppd /proc/\$p/cmdline && echo \$p; done)\" ]"
kill -TERM "$LNS"; wait "$LNS" || fail "LNS exit status"
rm -f "$OUT/lns.events" "$OUT/lac.events"
}

one chap "require-chap" 'rcvd \[CHAP Response.*name = "alice"' 'sent \[CHAP Success'
one pap "require-pap" 'rcvd \[PAP AuthReq.*user="alice"' 'sent \[PAP AuthAck'
one mschapv2 "require-mschap-v2" 'rcvd \[CHAP Response.*name = "alice"' 'sent \[CHAP Success.*S='
echo "e2e kppp-lac (CHAP-MD5, PAP, MS-CHAPv2): passed"
