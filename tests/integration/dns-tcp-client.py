#!/usr/bin/env python3
"""Sends several DNS queries on one TCP connection at once, closes its
sending side, and prints each answer as ID:RCODE, in order, then "closed"
when the server closes the connection (or "timeout")."""
import socket
import struct
import sys


def query(name, qid):
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split("."))
    msg = header + labels + b"\0" + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(msg)) + msg


def main():
    server, names = sys.argv[1], sys.argv[2:]
    s = socket.create_connection((server, 53), timeout=5)
    s.sendall(b"".join(query(n, i + 1) for i, n in enumerate(names)))
    s.shutdown(socket.SHUT_WR)
    data, end = b"", "closed"
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        end = "timeout"
    out = []
    while len(data) >= 2:
        n = struct.unpack(">H", data[:2])[0]
        msg, data = data[2:2 + n], data[2 + n:]
        out.append("%d:%d" % (struct.unpack(">H", msg[:2])[0], msg[3] & 15))
    print(" ".join(out + [end]))


main()
