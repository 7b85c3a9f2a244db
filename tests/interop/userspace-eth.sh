#!/usr/bin/env bash
# L2TPv3 Ethernet pseudowire on the user-space data plane (TAP interfaces), two of our daemons
# in two network namespaces, no kernel L2TP anywhere: a dynamic control connection comes up,
# each end gets a TAP interface `pw0`, and IPv4 pings cross the pseudowire both ways. Then the
# session counters in `l2tpctl show` must have moved, the cookie and sequence checks must have
# dropped nothing, and SIGTERM removes the TAP interfaces.
#
# Env: ENCAP=udp|ip (default udp), FAMILY=4|6 (underlay; default 4), COOKIES=0|1 (default 1:
#      a 4-byte cookie one way, 8 bytes the other), SEQ=0|1 (default 1: the default L2-Specific
#      Sublayer with sequence numbers and a 50 ms reorder queue), PW=eth|eth_vlan (default eth; eth_vlan also pings over
#      an 802.1Q VLAN inside the pseudowire), DATAPLANE=userspace|auto (b's config; auto picks
#      the kernel where its L2TP modules load, user space elsewhere), QUIET=1 (no `l2tpctl show` print), IPERF=1 (iperf3
#      TCP and 64-byte UDP, bare veth vs the pseudowire, with the daemons' CPU; IPERF_SECS).
source "$(dirname "$0")/../netns-lib.sh"
ENCAP=${ENCAP:-udp} FAMILY=${FAMILY:-4} COOKIES=${COOKIES:-1} SEQ=${SEQ:-1} PW=${PW:-eth}
DATAPLANE=${DATAPLANE:-userspace}
L2TPCTL=${L2TPCTL:-$TARGET/debug/l2tpctl}
[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
two_hosts a b
if [ "$FAMILY" = 6 ]; then A_IP="[fd70::1]" B_IP="[fd70::2]"; else A_IP=10.70.0.1 B_IP=10.70.0.2; fi
PORT=":1701"; [ "$ENCAP" = ip ] && PORT=":0"
session_opts() {
    echo "pseudowire = \"$PW\""
    echo 'interface_name = "pw0"'
    if [ "$COOKIES" = 1 ]; then echo "cookie = $1"; echo "peer_cookie = $2"; fi
    if [ "$SEQ" = 1 ]; then echo 'l2spec_type = "default"'; echo 'seqnum = true'; echo 'reorder_timeout = 50'; fi
}
cat > "$OUT/b.toml" <<CONF
dataplane = "$DATAPLANE"
[tunnel.lcce]
local = "$B_IP$PORT"
listen = true
version = "l2tpv3"
encap = "$ENCAP"
host_name = "lcce-b"
[tunnel.lcce.session.eth]
$(session_opts "[1, 2, 3, 4, 5, 6, 7, 8]" "[9, 10, 11, 12]")
CONF
cat > "$OUT/a.toml" <<CONF
dataplane = "userspace"
[tunnel.t]
local = "$A_IP$PORT"
peer = "$B_IP$PORT"
version = "l2tpv3"
encap = "$ENCAP"
host_name = "lcce-a"
[tunnel.t.session.eth]
$(session_opts "[9, 10, 11, 12]" "[1, 2, 3, 4, 5, 6, 7, 8]")
CONF
ip netns exec b "$L2TPD" --control "$OUT/b.sock" --config "$OUT/b.toml" --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
PIDS+=($!)
if [ "$ENCAP" = udp ]; then
    wait_for 10 "listener up" sh -c "ip netns exec b ss -uln | grep -q ':1701'"
else
    wait_for 10 "listener up" grep -q "listening" "$OUT/b.log"
fi
ip netns exec a "$L2TPD" --control "$OUT/a.sock" --config "$OUT/a.toml" --events json --events-file "$OUT/a.events" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)
wait_for 15 "Ethernet pseudowire up ($ENCAP, IPv$FAMILY, cookies $COOKIES, sequencing $SEQ)" grep -q '"event":"session_up"' "$OUT/a.events"
wait_for 10 "listener's session up" grep -q '"event":"session_up"' "$OUT/b.events"
if [ "$DATAPLANE" = auto ]; then
    grep -q "data plane auto" "$OUT/b.log" || fail "b did not log which data plane auto chose"
    pass "b: $(grep -o 'data plane auto: [^"]*' "$OUT/b.log" | head -1 | cut -c1-60)"
fi
grep '"event":"session_up"' "$OUT/a.events" | grep -q '"interface":"pw0"' || fail "no pw0 interface in a's session_up"
for n in a b; do
    ip -n $n link show pw0 >/dev/null || fail "no TAP interface pw0 in $n"
done
ip -n a addr add 192.168.77.1/24 dev pw0
ip -n b addr add 192.168.77.2/24 dev pw0
ip -n a link set pw0 up; ip -n b link set pw0 up
ip netns exec a ping -c 3 -i 0.2 -W 2 192.168.77.2 >"$OUT/ping-ab.log" 2>&1 || fail "ping a -> b across the pseudowire: $(tail -2 "$OUT/ping-ab.log")"
pass "ping a -> b across the pseudowire"
ip netns exec b ping -c 3 -i 0.2 -W 2 192.168.77.1 >"$OUT/ping-ba.log" 2>&1 || fail "ping b -> a across the pseudowire: $(tail -2 "$OUT/ping-ba.log")"
pass "ping b -> a across the pseudowire"
# A 1400-byte ping: the TAP MTU leaves room for the headers (no fragment of the L2TP datagram).
ip netns exec a ping -c 2 -i 0.2 -W 2 -s 1300 192.168.77.2 >"$OUT/ping-big.log" 2>&1 || fail "1300-byte ping: $(tail -2 "$OUT/ping-big.log")"
pass "1300-byte ping across"
# Bulk TCP both ways, over IPv4 and IPv6 inside the pseudowire, contents checked: 64 KiB TSO
# reads cut into segments (and sent with UDP segmentation offload), received segments merged
# back before the TAP write; a wrong checksum, length or sequence number would stall or
# corrupt the transfer.
ip -n a addr add fd77::1/64 dev pw0 nodad; ip -n b addr add fd77::2/64 dev pw0 nodad
tcp_bulk a b 192.168.77.2 5201
tcp_bulk b a 192.168.77.1 5202
tcp_bulk a b fd77::2 5203
# Streams of small datagrams (merged into UDP GSO writes where the TAP takes them).
udp_stream a b 192.168.77.2 5204
udp_stream b a fd77::1 5205
# Datagrams the kernel dropped for a full socket buffer in a (the loss that sequencing then
# counts as out-of-sequence discards, as the kernel's l2tp does).
A_DROPS=$(ip netns exec a nstat -az UdpRcvbufErrors Udp6RcvbufErrors | awk 'NR > 1 {s += $2} END {print s + 0}')
if [ "$PW" = eth_vlan ]; then
    # 802.1Q-tagged frames cross the Ethernet VLAN pseudowire as they are: a frame tagged with
    # VLAN 5 sent on a's pw0 (raw packet socket; no 8021q module needed) arrives whole on b's.
    ip netns exec b python3 - "$OUT/vlan-rx" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA: the tag the kernel took off on receive
s.bind(("pw0", 0)); s.settimeout(10)
open(sys.argv[1] + ".ready", "w").close()
while True:
    f, anc, _, _ = s.recvmsg(2048, 1024)
    if b"l2tp-vlan-5" not in f:
        continue
    tci = f[14:16] if f[12:14] == b"\x81\x00" else None
    for level, kind, data in anc:
        if level == 263 and kind == 8 and len(data) >= 20:
            status, = struct.unpack_from("I", data, 0)
            if status & (1 << 4):  # TP_STATUS_VLAN_VALID
                tci = struct.pack("!H", struct.unpack_from("H", data, 16)[0])
    if tci is not None and int.from_bytes(tci, "big") & 0xfff == 5:
        open(sys.argv[1], "w").write(f.hex()); break
PY
    RX=$!
    wait_for 5 "VLAN receiver ready" test -e "$OUT/vlan-rx.ready"
    ip netns exec a python3 - <<'PY'
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("pw0", 0))
frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x81\x00\x00\x05" + b"\x88\xb5" + b"l2tp-vlan-5".ljust(46, b"\x00")
for _ in range(3): s.send(frame)
PY
    wait "$RX" || true
    [ -s "$OUT/vlan-rx" ] || fail "no VLAN 5 frame arrived on b's pw0"
    pass "a VLAN 5 tagged frame crossed the Ethernet VLAN pseudowire intact"
fi
"$L2TPCTL" --control "$OUT/a.sock" show session --json > "$OUT/a-show.json" || fail "l2tpctl show session (a)"
python3 - "$OUT/a-show.json" "$A_DROPS" <<'PY' || fail "a's session counters"
import json, sys
doc = json.load(open(sys.argv[1]))
def sessions(d):
    if isinstance(d, dict):
        if d.get("stats") and "peer_id" in d: yield d
        for v in d.values(): yield from sessions(v)
    elif isinstance(d, list):
        for v in d: yield from sessions(v)
ss = list(sessions(doc))
assert ss, "no session in show output"
st = ss[0]["stats"]
assert st["tx_packets"] >= 8 and st["rx_packets"] >= 8, st
drops = int(sys.argv[2])
# Out-of-sequence discards only where the underlay lost datagrams (each loss costs up to the
# resync count), and nothing else dropped.
for k in ("rx_cookie_discards", "rx_invalid", "tx_errors"):
    assert st[k] == 0, (k, st)
assert st["rx_errors"] == st["rx_seq_discards"], st
assert st["rx_seq_discards"] == 0 or drops > 0, ("discards without loss", st)
if drops:
    print(f"ok: {drops} datagrams lost in a's socket buffer, {st['rx_seq_discards']} discarded out of sequence")
print("ok: counters", {k: st[k] for k in ("tx_packets", "rx_packets", "tx_bytes", "rx_bytes")})
PY
if [ "${IPERF:-0}" = 1 ]; then
    # Throughput: iperf3 TCP and 64-byte UDP over the bare veth, then through the pseudowire;
    # the two daemons' CPU time (utime + stime, /proc) during each pseudowire run.
    command -v iperf3 >/dev/null || fail "iperf3 is not installed (apt-get install iperf3)"
    SECS=${IPERF_SECS:-5}
    ip netns exec b iperf3 -s -D -I "$OUT/iperf3.pid" >/dev/null 2>&1
    sleep 0.5
    PIDS+=("$(cat "$OUT/iperf3.pid")")
    BPID=${PIDS[0]}
    # CPU ticks of a and of b, as "A,B".
    cpu() { echo "$(awk '{print $14 + $15}' "/proc/$A/stat"),$(awk '{print $14 + $15}' "/proc/$BPID/stat")"; }
    run_iperf() { # NAME DEST ARGS...
        local name=$1 dest=$2; shift 2
        local c0 c1 t0 t1
        c0=$(cpu); t0=$(date +%s.%N)
        ip netns exec a iperf3 -c "$dest" -t "$SECS" -J "$@" > "$OUT/iperf-$name.json" || fail "iperf3 $name"
        c1=$(cpu); t1=$(date +%s.%N)
        python3 - "$OUT/iperf-$name.json" "$name" "$c0" "$c1" "$t0" "$t1" <<'PY'
import json, sys, os
d = json.load(open(sys.argv[1])); name = sys.argv[2]
(a0, b0), (a1, b1) = (map(float, x.split(",")) for x in sys.argv[3:5])
t0, t1 = float(sys.argv[5]), float(sys.argv[6])
hz = os.sysconf("SC_CLK_TCK")
ca, cb = (a1 - a0) / hz / (t1 - t0), (b1 - b0) / hz / (t1 - t0)
cpu = ca + cb                              # cores busy in the two daemons
end = d["end"]
if d["start"]["test_start"]["protocol"] == "TCP":
    bps = end["sum_received"]["bits_per_second"]
    extra = ""
else:                                      # UDP: what arrived
    s = end["sum"]; bps = s["bits_per_second"] * (1 - s["lost_percent"] / 100)
    pps = (s["packets"] - s["lost_packets"]) / s["seconds"]
    extra = f", {pps:,.0f} pkt/s received, {s['lost_percent']:.1f}% lost"
gbps = bps / 1e9
per = f"; daemons {cpu:.2f} cores (sender a {ca:.2f}, receiver b {cb:.2f}), {cpu / gbps:.2f} cores per Gbit/s" if "pw" in name and gbps > 0 else ""
print(f"bench: {name}: {gbps * 1000:,.0f} Mbit/s{extra}{per}")
PY
    }
    run_iperf veth-tcp 10.70.0.2
    run_iperf pw-tcp 192.168.77.2
    run_iperf veth-udp64 10.70.0.2 -u -b 0 -l 64
    run_iperf pw-udp64 192.168.77.2 -u -b 0 -l 64
fi
if [ "${QUIET:-0}" != 1 ]; then
    echo "--- l2tpctl show (a)"; "$L2TPCTL" --control "$OUT/a.sock" show
    echo "--- l2tpctl show (b)"; "$L2TPCTL" --control "$OUT/b.sock" show
fi
kill -TERM "$A"; rc=0; wait "$A" || rc=$?; [ "$rc" = 0 ] || fail "a's exit status $rc"
ip -n a link show pw0 >/dev/null 2>&1 && fail "pw0 still in a after exit"
wait_for 10 "b's session cleared (CDN/StopCCN) and its TAP removed" sh -c "! ip -n b link show pw0"
echo "interop userspace-eth ($ENCAP, IPv$FAMILY): passed"
