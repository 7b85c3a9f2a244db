#!/usr/bin/env python3
"""AF_PACKET shim: frames with EtherType 0x8863 received on IFACE go to the AC (a child
process speaking hex lines on stdin/stdout), and the AC's frames go out on IFACE.
Usage: afpacket_shim.py IFACE -- AC-COMMAND..."""
import os
import select
import socket
import subprocess
import sys

iface = sys.argv[1]
cmd = sys.argv[sys.argv.index("--") + 1:]
ETH_P_PPP_DISC = 0x8863
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_PPP_DISC))
s.bind((iface, ETH_P_PPP_DISC))
ac = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
while True:
    r, _, _ = select.select([s, ac.stdout], [], [])
    if s in r:
        frame = s.recv(2048)
        ac.stdin.write(frame.hex() + "\n")
        ac.stdin.flush()
    if ac.stdout in r:
        line = ac.stdout.readline()
        if not line:
            break
        s.send(bytes.fromhex(line.strip()))
