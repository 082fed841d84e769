#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets. tests/fuzz/corpus, for the
DNS parser: queries, and responses to the target's fixed query
(www.example.com A, ID 0xabcd), some well formed, some not.
tests/fuzz/corpus-tlshello and corpus-httphost, for the name check's
parsers: the ClientHellos and the request that openssl s_client and curl
sent (tests/data), cut into records, and variants well formed or not. Run
it again after changing it."""
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



def tls_ext(etype, data):
    return struct.pack(">HH", etype, len(data)) + data


def sni(host):
    entry = b"\0" + struct.pack(">H", len(host)) + host
    return tls_ext(0, struct.pack(">H", len(entry)) + entry)


def hello_body(exts=None, sid=32):
    body = b"\x03\x03" + bytes(range(32)) + bytes([sid]) + b"\x5a" * sid
    body += struct.pack(">H", 4) + b"\x13\x01\x13\x02" + b"\x01\x00"
    if exts is not None:
        body += struct.pack(">H", len(exts)) + exts
    return body


def handshake(body):
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


def records(msg, size):
    out = b""
    for off in range(0, len(msg), size):
        frag = msg[off:off + size]
        out += b"\x16\x03\x01" + struct.pack(">H", len(frag)) + frag
    return out


def capture(name):
    with open(os.path.join(HERE, "..", "data", name), "rb") as f:
        data = f.read()
    return data, data[5:5 + struct.unpack(">H", data[3:5])[0]]


openssl_hello, openssl_msg = capture("clienthello-openssl.bin")
curl_hello, curl_msg = capture("clienthello-curl.bin")
VERSIONS = tls_ext(43, b"\x04\x03\x04\x03\x03")
ECH = tls_ext(0xFE0D, b"\0\0\1\0\1\x42\0\2\xaa\xbb\0\3\1\2\3")

tls_seeds = {
    "openssl": openssl_hello,
    "curl": curl_hello,
    "openssl-records-100": records(openssl_msg, 100),
    "curl-records-7": records(curl_msg, 7),
    "header-split": records(openssl_msg[:1], 1) + records(openssl_msg[1:3], 2)
    + records(openssl_msg[3:], 1000),
    "no-extensions": records(handshake(hello_body()), 16384),
    "no-sni": records(handshake(hello_body(VERSIONS)), 16384),
    "ech-outer": records(handshake(hello_body(sni(b"public.example.net") + ECH)), 16384),
    "upper-dot": records(handshake(hello_body(sni(b"WWW.Example.ORG.") + VERSIONS)), 16384),
    "two-entries": records(handshake(hello_body(tls_ext(
        0, struct.pack(">H", 12) + b"\0\0\3a.b\0\0\3b.c"))), 16384),
    "duplicate": records(handshake(hello_body(VERSIONS + sni(b"a.org") + VERSIONS)), 16384),
    "ccs-between": records(openssl_msg[:50], 50) + b"\x14\x03\x03\x00\x01\x01"
    + records(openssl_msg[50:], 16384),
    "sslv2": bytes.fromhex("802e0103010015000000100000040000050000ff"),
    "over-bound": b"\x16\x03\x01\x00\x04\x01\x00\x40\x01",
}

http_seeds = {
    "curl": open(os.path.join(HERE, "..", "data", "request-curl.bin"), "rb").read(),
    "ipv6": b"GET /a?b HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\nAccept: */*\r\n\r\n",
    "ipv4-10": b"POST /x HTTP/1.0\r\nhost:\t192.0.2.1 \r\nContent-Length: 2\r\n\r\nhi",
    "options": b"OPTIONS * HTTP/1.1\r\nHost: Example.ORG.\r\n\r\n",
    "two-hosts": b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
    "absolute": b"GET http://evil.example/ HTTP/1.1\r\nHost: example.org\r\n\r\n",
    "connect": b"CONNECT evil.example:443 HTTP/1.1\r\nHost: example.org\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: example.org\r\nX: a\r\n b\r\n\r\n",
    "bare-lf": b"GET / HTTP/1.1\nHost: example.org\n\n",
    "space-colon": b"GET / HTTP/1.1\r\nHost : evil.example\r\n\r\n",
}

corpora = {"corpus": seeds, "corpus-tlshello": tls_seeds, "corpus-httphost": http_seeds}
for directory, files in corpora.items():
    out = os.path.join(HERE, directory)
    os.makedirs(out, exist_ok=True)
    for file, data in sorted(files.items()):
        with open(os.path.join(out, file), "wb") as f:
            f.write(data)
        print(f"{directory}/{file}: {len(data)} bytes")
