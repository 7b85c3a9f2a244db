#!/usr/bin/env bash
# v3-eth.sh over IP encapsulation (IP protocol 115, L2TP/IP sockets bound to each Control
# Connection ID), IPv4.
V3_ENCAP=ip V3_FAMILY=4 exec "$(dirname "$0")/v3-eth.sh"
