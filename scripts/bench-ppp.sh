#!/usr/bin/env bash
# PPP sessions terminated in this process, at scale, on the user-space data plane (TUN; no
# pppd, no kernel L2TP/PPP): our LAC (namespace a) opens N L2TPv2 sessions in one tunnel to
# our LNS (namespace b); each runs LCP, CHAP-MD5 against a chap-secrets file and IPCP (an
# address from the LNS's pool), each side gets a TUN interface per session. Prints the set-up
# rate (sessions with IPCP up on the LNS, per second, from the LAC's start), the LNS's RSS per
# session and its CPU per session set up, the idle CPU with N sessions held (LCP echo every
# ECHO s), then the time to tear everything down (LAC stopped: CDNs, TUNs removed).
#
# Usage: scripts/bench-ppp.sh [N] (default 1000). Env: ECHO (LCP echo interval, s; default
# 30), IDLE (seconds of idle measurement, default 30). Release builds. Not part of CI.
# Network: only the two namespaces it creates (10.70.0.0/24 between them, 10.100.0.0/16
# pool).
set -euo pipefail
N=${1:-1000} ECHO=${ECHO:-30} IDLE=${IDLE:-30}
REPO=$(cd "$(dirname "$0")/.." && pwd)
(cd "$REPO" && cargo build -q --release -p l2tpd -p l2tpctl)
export L2TPD=$REPO/target/release/l2tpd
L2TPCTL=$REPO/target/release/l2tpctl
source "$REPO/tests/netns-lib.sh"
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
two_hosts a b
cat > "$OUT/chap-secrets" <<'SECRETS'
alice * "open sesame" *
SECRETS
cat > "$OUT/b.toml" <<CONF
dataplane = "userspace"
[tunnel.lns]
local = "10.70.0.2:1701"
listen = true
version = "l2tpv2"
host_name = "lns"
[tunnel.lns.session.ppp]
pseudowire = "ppp"
ppp_auth = ["chap"]
ppp_secrets = "$OUT/chap-secrets"
ppp_local_ip = "10.100.0.1"
ppp_pool = "10.100.0.2-10.100.255.254"
ppp_echo_interval = $ECHO
CONF
{
    printf 'dataplane = "userspace"\n[tunnel.t]\nlocal = "10.70.0.1:1701"\npeer = "10.70.0.2:1701"\nversion = "l2tpv2"\nhost_name = "lac"\n'
    for i in $(seq 1 "$N"); do
        printf '[tunnel.t.session.s%d]\npseudowire = "ppp"\nppp_user = "alice"\nppp_password = "open sesame"\nppp_echo_interval = %d\n' "$i" "$ECHO"
    done
} > "$OUT/a.toml"
L2TPD_LOG=warn ip netns exec b "$L2TPD" --control "$OUT/b.sock" --config "$OUT/b.toml" >"$OUT/b.log" 2>&1 &
B=$!; PIDS+=($B)
wait_for 10 "LNS listening" sh -c "ip netns exec b ss -uln | grep -q ':1701'"
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss0=$(rss $B); cpu0=$(cpu $B)
# Sessions whose IPCP is up on the LNS (an address in its status).
ppp_up() {
    "$L2TPCTL" --control "$OUT/b.sock" show session --json 2>/dev/null |
        python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin) if s.get("address")))' 2>/dev/null || echo 0
}
t0=$(date +%s.%N)
L2TPD_LOG=warn ip netns exec a "$L2TPD" --control "$OUT/a.sock" --config "$OUT/a.toml" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)
up=0
for i in $(seq 1 $((N / 5 + 120))); do
    up=$(ppp_up); [ "$up" -ge "$N" ] && break
    if [ $((i % 10)) = 0 ]; then
        l2tp=$("$L2TPCTL" --control "$OUT/b.sock" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions_up"])')
        echo "progress: ${i} s: $l2tp L2TP sessions up, $up with IPCP up (LNS)"
    fi
    sleep 1
done
t1=$(date +%s.%N)
[ "$up" -ge "$N" ] || fail "only $up of $N PPP sessions up"
rss1=$(rss $B); cpu1=$(cpu $B); hz=$(getconf CLK_TCK)
tuns=$(ip -n b -o link show | grep -c ': ppp' || true)
echo "bench: ppp-setup: $N sessions with IPCP up in $(echo "$t1 - $t0" | bc -l | xargs printf '%.1f') s" \
     "= $(echo "$N / ($t1 - $t0)" | bc -l | xargs printf '%.0f') sessions/s (polled every 1 s); LNS TUN interfaces: $tuns"
echo "bench: ppp-rss: LNS $((rss1 / 1024)) MiB with $N sessions, $(( (rss1 - rss0) * 1024 / N )) bytes per session (RSS growth / N); LAC $(( $(rss $A) / 1024 )) MiB"
echo "bench: ppp-cpu: LNS $(echo "($cpu1 - $cpu0) / $hz * 1000000 / $N" | bc -l | xargs printf '%.0f') µs CPU per session set up"
c0=$(cpu $B); sleep "$IDLE"; c1=$(cpu $B)
echo "bench: ppp-idle: LNS $(echo "($c1 - $c0) / $hz / $IDLE * 100" | bc -l | xargs printf '%.2f') % of one core with $N sessions held (LCP echo every $ECHO s)"
t2=$(date +%s.%N)
kill -TERM "$A"; wait "$A" || true
for _ in $(seq 1 $((N / 5 + 60))); do
    left=$(ip -n b -o link show | grep -c ': ppp' || true)
    [ "$left" = 0 ] && break
    sleep 0.5
done
t3=$(date +%s.%N)
[ "$left" = 0 ] || fail "$left TUN interfaces left on the LNS"
echo "bench: ppp-teardown: LAC stopped, all $N LNS sessions cleared and TUNs removed in $(echo "$t3 - $t2" | bc -l | xargs printf '%.1f') s"
