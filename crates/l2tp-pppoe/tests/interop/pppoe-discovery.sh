#!/bin/sh
# Interop: ppp's pppoe-discovery (the rp-pppoe client code) discovers our AC across a veth pair
# in two network namespaces. Prints what the client saw and saves the exchange as a pcap.
# Needs root, python3, tshark, pppoe-discovery. Usage: pppoe-discovery.sh [out.pcap]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/pppoe-discovery.pcap}
target=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p l2tp-pppoe --example ac_stdio
ac_bin=$target/release/examples/ac_stdio
ns_ac=pppoe-ac-$$ ns_cl=pppoe-cl-$$
cleanup() { kill $shim $cap 2>/dev/null || true; ip netns del $ns_ac 2>/dev/null || true; ip netns del $ns_cl 2>/dev/null || true; }
trap cleanup EXIT
ip netns add $ns_ac; ip netns add $ns_cl
ip link add veth-ac netns $ns_ac type veth peer name veth-cl netns $ns_cl
ip -n $ns_ac link set veth-ac address 02:ac:00:00:00:01 up
ip -n $ns_cl link set veth-cl address 02:c1:00:00:00:01 up
ip netns exec $ns_cl tshark -q -i veth-cl -w "$out" -f "ether proto 0x8863" >/dev/null 2>&1 & cap=$!
ip netns exec $ns_ac python3 "$here/afpacket_shim.py" veth-ac -- "$ac_bin" 02:ac:00:00:00:01 test-ac & shim=$!
sleep 2 # tshark and the shim open their sockets
ip netns exec $ns_cl pppoe-discovery -I veth-cl -S isp-a -W c0ffee -t 2 -a 2
sleep 1
kill $cap; wait $cap 2>/dev/null || true
echo "saved $out"
