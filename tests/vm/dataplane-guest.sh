#!/usr/bin/env bash
# The guest half of tests/vm/bench-dataplane.sh (runs inside the VM).
source "$(dirname "$0")/../netns-lib.sh"
SECS=${SECS:-5}
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
two_hosts a b
# kernel_end NS NAME LOCAL REMOTE TID PTID SID PSID: a static kernel pseudowire end (ip l2tp).
kernel_end() {
    ip -n "$1" l2tp add tunnel tunnel_id "$5" peer_tunnel_id "$6" encap udp local "$3" remote "$4" udp_sport 1701 udp_dport 1701
    ip -n "$1" l2tp add session name "$2" tunnel_id "$5" session_id "$7" peer_session_id "$8" l2spec_type none
}
# user_end NS NAME LOCAL REMOTE TID PTID SID PSID: the same end made by our user-space daemon.
user_end() {
    cat > "$OUT/$1.toml" <<CONF
dataplane = "userspace"
[tunnel.pw]
kind = "static"
version = "l2tpv3"
local = "$3:1701"
peer = "$4:1701"
tid = $5
ptid = $6
[tunnel.pw.session.eth]
pseudowire = "eth"
sid = $7
psid = $8
interface_name = "$2"
CONF
    ip netns exec "$1" "$L2TPD" --control "$OUT/$1.sock" --config "$OUT/$1.toml" >"$OUT/$1.log" 2>&1 &
    PIDS+=($!)
    eval "DPID_$1=$!"
    wait_for 10 "user-space end $2 in $1" ip -n "$1" link show "$2"
}
up() { ip -n "$1" addr add "$3" dev "$2"; ip -n "$1" link set "$2" up; }
down_all() {
    for p in ${DPID_a:-} ${DPID_b:-}; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
    DPID_a= DPID_b=
    for n in a b; do
        ip -n $n l2tp del session tunnel_id 1000 session_id 10 2>/dev/null || true
        ip -n $n l2tp del session tunnel_id 2000 session_id 20 2>/dev/null || true
        ip -n $n l2tp del tunnel tunnel_id 1000 2>/dev/null || true
        ip -n $n l2tp del tunnel tunnel_id 2000 2>/dev/null || true
    done
    sleep 0.5
}
cpu() { local s=0; for p in ${DPID_a:-} ${DPID_b:-}; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $s; }
ip netns exec b iperf3 -s -D -I "$OUT/iperf3.pid" >/dev/null 2>&1; sleep 0.5; PIDS+=("$(cat "$OUT/iperf3.pid")")
measure() { # NAME DEST [-R: b sends to a]
    local c0 c1 t0 t1 name
    for mode in tcp udp64; do
        name="$1-$mode"
        c0=$(cpu); t0=$(date +%s.%N)
        if [ $mode = tcp ]; then args="${3:-}"; else args="-u -b 0 -l 64 ${3:-}"; fi
        ip netns exec a iperf3 -c "$2" -t "$SECS" -J $args > "$OUT/$name.json" || fail "iperf3 $name"
        c1=$(cpu); t1=$(date +%s.%N)
        python3 - "$OUT/$name.json" "$name" "$c0" "$c1" "$t0" "$t1" <<'PY'
import json, sys, os
d = json.load(open(sys.argv[1])); name = sys.argv[2]
c0, c1, t0, t1 = map(float, sys.argv[3:7])
cpu = (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)
end = d["end"]
if d["start"]["test_start"]["protocol"] == "TCP":
    bps = end["sum_received"]["bits_per_second"]; extra = ""
else:
    s = end["sum"]; bps = s["bits_per_second"] * (1 - s["lost_percent"] / 100)
    extra = f", {(s['packets'] - s['lost_packets']) / s['seconds']:,.0f} pkt/s received"
gbps = bps / 1e9
per = f"; daemons {cpu:.2f} cores, {cpu / gbps:.2f} cores per Gbit/s" if cpu > 0 and gbps > 0 else ""
print(f"bench: {name}: {gbps * 1000:,.1f} Mbit/s{extra}{per}")
PY
    done
}
measure veth 10.70.0.2
kernel_end a kpa 10.70.0.1 10.70.0.2 1000 2000 10 20
kernel_end b kpb 10.70.0.2 10.70.0.1 2000 1000 20 10
up a kpa 10.71.0.1/24; up b kpb 10.71.0.2/24
ip netns exec a ping -c 2 -W 2 10.71.0.2 >/dev/null || fail "kernel pseudowire ping"
measure kernel 10.71.0.2
down_all
user_end a upa 10.70.0.1 10.70.0.2 1000 2000 10 20
kernel_end b kpb 10.70.0.2 10.70.0.1 2000 1000 20 10
up a upa 10.72.0.1/24; up b kpb 10.72.0.2/24
ip netns exec a ping -c 2 -W 2 10.72.0.2 >/dev/null || fail "user-space -> kernel pseudowire ping"
measure us-kernel 10.72.0.2
measure kernel-us 10.72.0.2 -R
down_all
user_end a upa 10.70.0.1 10.70.0.2 1000 2000 10 20
user_end b upb 10.70.0.2 10.70.0.1 2000 1000 20 10
up a upa 10.73.0.1/24; up b upb 10.73.0.2/24
ip netns exec a ping -c 2 -W 2 10.73.0.2 >/dev/null || fail "user-space pseudowire ping"
measure us-us 10.73.0.2
down_all
echo "bench-dataplane: done"
