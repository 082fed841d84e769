#!/usr/bin/env python3
"""Writes the seed corpus of the DNS fuzz target into tests/fuzz/corpus:
queries, and responses to the target's fixed query (www.example.com A,
ID 0xabcd), some well formed, some not. Run it again after changing it."""
import os
import struct

ID = 0xABCD
HERE = os.path.dirname(os.path.abspath(__file__))


def name(text):
    out = b""
    for label in text.split(".") if text else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def ptr(off):
    return struct.pack(">H", 0xC000 | off)


def header(flags, qd=1, an=0, ns=0, ar=0, ident=ID):
    return struct.pack(">HHHHHH", ident, flags, qd, an, ns, ar)


def rr(owner, rtype, rdata, ttl=300, rclass=1):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def opt(udp=1232, options=b""):
    return b"\0" + struct.pack(">HHIH", 41, udp, 0, len(options)) + options


A, CNAME, SOA, AAAA = 1, 5, 6, 28
RD, QR_RA_RD = 0x0100, 0x8180
Q = name("www.example.com") + struct.pack(">HH", A, 1)
QNAME = 12  # where the question's name starts
EXAMPLE = QNAME + 4  # "example.com" inside it
ANSWERS = 12 + len(Q)  # where the answer section starts

seeds = {
    "query-a": header(RD) + Q,
    "query-aaaa-opt-cookie": header(RD, ar=1)
    + name("Example.COM")
    + struct.pack(">HH", AAAA, 1)
    + opt(4096, struct.pack(">HH", 10, 8) + b"\x01\x02\x03\x04\x05\x06\x07\x08"),
    "query-root-ns": header(0) + name("") + struct.pack(">HH", 2, 1),
    "query-tsig": header(RD, ar=2)
    + name("api.example.com")
    + struct.pack(">HH", A, 1)
    + opt()
    + rr(ptr(QNAME + 4), 250, b"\0" * 16, ttl=0, rclass=255),
    "resp-a": header(QR_RA_RD, an=2, ar=1)
    + Q
    + rr(ptr(QNAME), A, bytes([192, 0, 2, 1]))
    + rr(ptr(QNAME), A, bytes([192, 0, 2, 2]), ttl=0x80000000)
    + opt(),
    "resp-cname-chain": header(QR_RA_RD, an=4, ns=1)
    + Q
    + rr(name("edge.cdn.test"), AAAA, bytes(range(32, 48)))
    + rr(ptr(QNAME), CNAME, b"\x03cdn" + ptr(EXAMPLE))
    + rr(name("cdn.example.com"), CNAME, name("edge.cdn.test"))
    + rr(name("evil.test"), A, bytes([203, 0, 113, 66]))
    + rr(ptr(EXAMPLE), SOA, ptr(EXAMPLE) + ptr(EXAMPLE) + b"\0" * 20),
    "resp-cname-loop": header(QR_RA_RD, an=3)
    + Q
    + rr(ptr(QNAME), CNAME, name("a.test"))
    + rr(name("a.test"), CNAME, ptr(QNAME))
    + rr(name("a.test"), A, bytes([192, 0, 2, 9])),
    "resp-nxdomain": header(QR_RA_RD | 3, ns=1)
    + Q
    + rr(ptr(EXAMPLE), SOA, name("ns.example.com") + name("h.example.com") + b"\0" * 20),
    "resp-tc-cut": (header(QR_RA_RD | 0x0200, an=3) + Q
                    + rr(ptr(QNAME), A, bytes([192, 0, 2, 1]))
                    + rr(ptr(QNAME), A, bytes([192, 0, 2, 2])))[:-3],
    "resp-bad-pointer": header(QR_RA_RD, an=1)
    + Q
    + rr(ptr(ANSWERS + 2), A, bytes([192, 0, 2, 1])),
    "resp-wrong-rdlength": header(QR_RA_RD, an=2)
    + Q
    + rr(ptr(QNAME), A, bytes([192, 0, 2, 1, 0]))
    + rr(ptr(QNAME), AAAA, bytes([192, 0, 2, 1])),
}

out = os.path.join(HERE, "corpus")
os.makedirs(out, exist_ok=True)
for file, data in sorted(seeds.items()):
    with open(os.path.join(out, file), "wb") as f:
        f.write(data)
    print(f"{file}: {len(data)} bytes")
