# shellcheck shell=bash
# Helpers to run l2tpns (an LNS with its PPP in user space over a tun device) authenticating
# through FreeRADIUS, both inside one network namespace. Source after netns-lib.sh:
#   start_radius NS            FreeRADIUS on NS's loopback (auth 1812, acct 1813)
#   start_l2tpns NS LOCAL_IP   l2tpns listening on LOCAL_IP:1701, RADIUS on 127.0.0.1
# Both are added to PIDS (cleanup).
# What l2tpns 2.4.1 (Debian 12) does besides L2TP, seen in its log, `ss` and `ip` in the namespace:
# - creates the tun device (tundevicename), gives it iftun_address/32 (bind_address if unset,
#   1.1.1.1 if both are) and MTU l2tp_mtu - 38 (1462), by ioctl; routes the pool and each
#   session's /32 into the tun by rtnetlink (protocol 42, shown as "babel" by iproute2);
#   it runs no ip/route/iptables/sysctl;
# - binds UDP bind_address:1701, 0.0.0.0:1702 (nsctl), 0.0.0.0:3799 (DAE), 0.0.0.0:65432
#   (remote-LNS forwarding), 0.0.0.0:32792 (cluster), 64 RADIUS client sockets, TCP
#   cli_bind_address:23 (CLI);
# - always runs its cluster code: without cluster_interface's address (default eth0) it exits
#   at startup without listening; it joins 239.192.13.13 there, sends heartbeats, and takes no
#   tunnel until it has elected itself master (cluster_hb_timeout, at least 3.1 s);
# - sends a gratuitous ARP on eth0 unless send_garp is no;
# - reads its address pool only from /etc/l2tpns/ip_pool (compiled in);
# - on SIGTERM signals its whole process group.
source "$(dirname "${BASH_SOURCE[0]}")/radius-lib.sh"
# Fixed test data:
L2TPNS_USER=alice
L2TPNS_PASS='correct horse'
L2TPNS_SECRET=l2tpns-radius-secret  # RADIUS shared secret between l2tpns and FreeRADIUS
L2TPNS_USER_IP=10.80.0.10           # Framed-IP-Address FreeRADIUS gives alice
L2TPNS_TUN_IP=10.80.0.1             # l2tpns's tun address, also the peer address it offers in IPCP
L2TPNS_POOL=10.80.1.0/28            # pool for users without a Framed-IP-Address
L2TPNS_TUN=l2tpns0
RADIUS_AUTH_PORT=1812               # l2tpns sends accounting to the auth port + 1
RADIUS_ACCT_PORT=1813

# udp_port_free NS PORT: nothing in NS listens on UDP PORT.
udp_port_free() { ! ip netns exec "$1" ss -Hunl "sport = :$2" | grep -q .; }

# start_radius NS: FreeRADIUS 3 (`freeradius -X`, log in $OUT/radius.log) with a users file
# holding alice (PAP or CHAP; Framed-IP-Address $L2TPNS_USER_IP), client 127.0.0.1, Accounting
# to $OUT/radius/acct/detail. The -X log shows each "Sent Access-Accept"; `log { auth = yes }`
# adds "Login OK: [alice]" lines. Waits for "Ready to process requests".
start_radius() {
    local ns=$1
    command -v freeradius >/dev/null || fail "freeradius is not installed (Debian: freeradius)"
    udp_port_free "$ns" "$RADIUS_AUTH_PORT" || fail "UDP $RADIUS_AUTH_PORT taken in $ns"
    udp_port_free "$ns" "$RADIUS_ACCT_PORT" || fail "UDP $RADIUS_ACCT_PORT taken in $ns"
    cat > "$OUT/radius-users" <<CONF
$L2TPNS_USER Cleartext-Password := "$L2TPNS_PASS"
        Service-Type = Framed-User,
        Framed-Protocol = PPP,
        Framed-IP-Address = $L2TPNS_USER_IP
CONF
    # l2tpns sends no Message-Authenticator in its Access-Requests.
    SECRET=$L2TPNS_SECRET RADIUS_USERS=$OUT/radius-users RADIUS_REQUIRE_MA=no radius "$ns" radius "$RADIUS_AUTH_PORT" "$RADIUS_ACCT_PORT"
}

# start_l2tpns NS LOCAL_IP: l2tpns in NS (config $OUT/l2tpns/startup-config, log
# $OUT/l2tpns.log) bound to LOCAL_IP:1701, tun $L2TPNS_TUN with $L2TPNS_TUN_IP, RADIUS PAP/CHAP
# with accounting to start_radius's server. No L2TP tunnel secret unless L2TPNS_L2TP_SECRET is set.
# Waits until UDP LOCAL_IP:1701 is bound.
start_l2tpns() {
    local ns=$1 ip=$2 d=$OUT/l2tpns
    command -v l2tpns >/dev/null || fail "l2tpns is not installed (Debian: l2tpns)"
    mkdir -p "$d"
    # l2tpns reads its pool from the compiled-in /etc/l2tpns/ip_pool only: a bind mount in the
    # private mount namespace `ip netns exec` gives it ($OUT's copy shadows it for l2tpns alone).
    echo "$L2TPNS_POOL" > "$d/ip_pool"
    cat > "$d/startup-config" <<CONF
set debug 4
set log_file "$OUT/l2tpns.log"
set pid_file "$d/l2tpns.pid"
set hostname "lns.l2tpns"
set bind_address $ip
set iftun_address $L2TPNS_TUN_IP
set peer_address $L2TPNS_TUN_IP
set tundevicename "$L2TPNS_TUN"
set send_garp no
set primary_radius 127.0.0.1
set primary_radius_port $RADIUS_AUTH_PORT
set radius_secret "$L2TPNS_SECRET"
set radius_authtypes "${L2TPNS_AUTHTYPES:-pap,chap}"
set radius_accounting yes
set cli_bind_address 127.0.0.1
# l2tpns always runs its cluster code (an empty interface or 0.0.0.0 address falls back to the
# defaults eth0 / 239.192.13.13): keep its multicast heartbeats on loopback, and let it elect
# itself master after 1 s instead of 15 s.
set cluster_interface "lo"
set cluster_hb_timeout 10
set echo_timeout 10
set idle_echo_timeout 240
CONF
    [ -n "${L2TPNS_L2TP_SECRET:-}" ] && echo "set l2tp_secret \"$L2TPNS_L2TP_SECRET\"" >> "$d/startup-config"
    : > "$OUT/l2tpns.log"
    # On SIGTERM l2tpns signals its whole process group: setsid (no fork here: a background
    # job is no group leader, so the PID stays l2tpns's) keeps the test script out of it.
    ip netns exec "$ns" setsid sh -c 'mount --bind "$1" /etc/l2tpns/ip_pool && exec l2tpns -c "$2"' \
        sh "$d/ip_pool" "$d/startup-config" >"$OUT/l2tpns-stderr.log" 2>&1 &
    PIDS+=($!)
    wait_for 20 "l2tpns listening on $ip:1701" sh -c "ip netns exec $ns ss -Hunl | grep -q '$ip:1701'"
    # Until it has elected itself cluster master (cluster_hb_timeout, at least 3.1 s) l2tpns
    # does not take tunnels.
    wait_for 20 "l2tpns is cluster master" grep -q "declaring myself the master" "$OUT/l2tpns.log"
}
