#!/usr/bin/env python3
"""Captures frames on interfaces with AF_PACKET sockets (tests only; run it inside the test's
namespace with `ip netns exec NS python3 packet-capture.py MARKER IFACE...`). Prints "ready"
once listening, stops at end of stdin, then prints one JSON summary per interface: frame
counts by kind, UDP/TCP ports seen, and how many frames contain MARKER anywhere in their bytes."""
import json
import select
import socket
import struct
import sys

ETH_P_ALL = 0x0003


def main():
    marker = sys.argv[1].encode()
    ifaces = sys.argv[2:]
    socks = {}
    for name in ifaces:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[s.fileno()] = (name, s)
    stats = {name: {"frames": 0, "arp": 0, "ipv4": {}, "ipv6": {}, "other": {}, "udpPorts": {}, "tcpPorts": {}, "marker": 0} for name in ifaces}
    print("ready", flush=True)
    watch = [sys.stdin.fileno()] + list(socks)
    while True:
        ready, _, _ = select.select(watch, [], [])
        if sys.stdin.fileno() in ready and not sys.stdin.buffer.read1(4096):
            break
        for fd in ready:
            if fd not in socks:
                continue
            name, s = socks[fd]
            frame = s.recv(65536)
            st = stats[name]
            st["frames"] += 1
            if marker in frame:
                st["marker"] += 1
            if len(frame) < 14:
                continue
            ethertype = struct.unpack("!H", frame[12:14])[0]
            payload = frame[14:]
            if ethertype == 0x0806:
                st["arp"] += 1
            elif ethertype == 0x0800 and len(payload) >= 20:
                proto = payload[9]
                ihl = (payload[0] & 15) * 4
                key = {1: "icmp", 6: "tcp", 17: "udp"}.get(proto, str(proto))
                st["ipv4"][key] = st["ipv4"].get(key, 0) + 1
                if proto in (6, 17) and len(payload) >= ihl + 4:
                    sport, dport = struct.unpack("!HH", payload[ihl:ihl + 4])
                    ports = st["udpPorts" if proto == 17 else "tcpPorts"]
                    pair = "%d>%d" % (sport, dport)
                    ports[pair] = ports.get(pair, 0) + 1
            elif ethertype == 0x86DD and len(payload) >= 40:
                nxt = payload[6]
                key = {58: "icmpv6", 6: "tcp", 17: "udp"}.get(nxt, str(nxt))
                st["ipv6"][key] = st["ipv6"].get(key, 0) + 1
            else:
                k = "0x%04x" % ethertype
                st["other"][k] = st["other"].get(k, 0) + 1
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
