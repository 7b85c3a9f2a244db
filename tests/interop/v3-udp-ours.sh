#!/usr/bin/env bash
# L2TPv3 between two of our daemons over UDP (null data plane, on the host): dynamic control
# connection with a Message Digest (HMAC-MD5, shared secret), one Ethernet and one PPP
# pseudowire with cookies; the exchange is captured and decoded by tshark with the secret, which
# must report no expert warning (it checks the digests), and the version fallback accepts a
# L2TPv2 peer on the same L2TPv3 listener.
source "$(dirname "$0")/../netns-lib.sh"
two_hosts a b
SECRET=v3-s3cret

cat > "$OUT/b.toml" <<CONF
[tunnel.lcce]
local = "10.70.0.2:1701"
listen = true
version = "l2tpv3"
host_name = "lcce-b"
secret = "$SECRET"
digest = "md5"
CONF
cat > "$OUT/a.toml" <<CONF
[tunnel.v3]
peer = "10.70.0.2:1701"
version = "l2tpv3"
host_name = "lcce-a"
secret = "$SECRET"
digest = "md5"
[tunnel.v3.session.eth]
pseudowire = "eth"
peer_cookie = [0xde, 0xad, 0xbe, 0xef]
l2spec_type = "default"
[tunnel.v3.session.ppp]
pseudowire = "ppp"
CONF
cat > "$OUT/v2.toml" <<CONF
[tunnel.old]
peer = "10.70.0.2:1701"
version = "l2tpv2"
host_name = "lac-v2"
secret = "$SECRET"
[tunnel.old.session.s]
pseudowire = "ppp"
CONF
ip netns exec b tshark -q -i vb -f "udp port 1701" -w "$OUT/v3.pcap" >"$OUT/tshark.log" 2>&1 &
PIDS+=($!)
wait_for 10 "capture running" grep -q "Capturing on" "$OUT/tshark.log"
sleep 1
ip netns exec b "$L2TPD" -null --control "$OUT/b.sock" --config "$OUT/b.toml" --events json --events-file "$OUT/b.events" >"$OUT/b.log" 2>&1 &
B=$!; PIDS+=($B)
wait_for 10 "LCCE b listening" sh -c "ip netns exec b ss -uln | grep -q 10.70.0.2:1701"
ip netns exec a "$L2TPD" -null --control "$OUT/a.sock" --config "$OUT/a.toml" --events json --events-file "$OUT/a.events" >"$OUT/a.log" 2>&1 &
A=$!; PIDS+=($A)
wait_for 10 "v3 control connection up" grep -q '"version":"l2tpv3"' "$OUT/a.events"
wait_for 10 "Ethernet pseudowire up" sh -c "grep '\"event\":\"session_up\"' '$OUT/a.events' | grep -q '\"pseudowire\":5'"
wait_for 10 "PPP pseudowire up" sh -c "grep '\"event\":\"session_up\"' '$OUT/a.events' | grep -q '\"pseudowire\":7'"
[ "$(grep -c '"event":"session_up"' "$OUT/b.events")" = 2 ] || fail "the listener did not report both sessions"
grep '"event":"session_up"' "$OUT/b.events" | grep -q '"cookie":"deadbeef"' || fail "the listener does not send the cookie the dialler assigned"
pass "listener sends the assigned cookie deadbeef"

ip netns exec a "$L2TPD" -null --control "$OUT/v2.sock" --config "$OUT/v2.toml" --events json --events-file "$OUT/v2.events" >"$OUT/v2.log" 2>&1 &
V2=$!; PIDS+=($V2)
wait_for 10 "L2TPv2 peer accepted by the L2TPv3 listener (fallback)" grep -q '"event":"session_up"' "$OUT/v2.events"

for p in $A $V2; do kill -TERM "$p"; rc=0; wait "$p" || rc=$?; [ "$rc" = 0 ] || fail "exit status $rc"; done
wait_for 10 "listener saw both tunnels close" sh -c "[ \$(grep -c '\"event\":\"tunnel_down\"' '$OUT/b.events') = 2 ]"
sleep 0.5
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
tshark -r "$OUT/v3.pcap" -o "l2tp.shared_secret:$SECRET" -V -O l2tp 2>/dev/null > "$OUT/v3.txt" || true
for avp in "Message Digest" "Assigned Control Connection ID" "Pseudowire Capabilities List" "Assigned Cookie" "Local Session ID"; do
    grep -q "$avp" "$OUT/v3.txt" || fail "tshark shows no $avp AVP"
done
pass "tshark decodes the v3 AVPs"
warn=$(tshark -r "$OUT/v3.pcap" -o "l2tp.shared_secret:$SECRET" -Y '_ws.expert.severity >= "Warning"' 2>/dev/null || true)
[ -z "$warn" ] || fail "tshark expert warnings (digest?): $warn"
pass "tshark with the secret: no expert warning"
bad=$(tshark -r "$OUT/v3.pcap" -o "l2tp.shared_secret:not-$SECRET" -V -O l2tp 2>/dev/null | grep -c "Incorrect Digest" || true)
[ "$bad" -gt 0 ] || fail "tshark did not check the digests (no 'Incorrect Digest' with a wrong secret)"
pass "tshark flags $bad digests with a wrong secret: the digests were really checked"
echo "interop v3-udp-ours: passed"
