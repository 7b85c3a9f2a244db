#!/usr/bin/env bash
# v3-eth.sh over IP encapsulation with IPv6 outer addresses.
V3_ENCAP=ip V3_FAMILY=6 exec "$(dirname "$0")/v3-eth.sh"
