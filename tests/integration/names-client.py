#!/usr/bin/env python3
"""A TLS client that shapes its ClientHello, for the name check suite
(names.sh): what a client might send that the ordinary ones do not.

    names-client.py ADDR PORT hello NAME [--parts N] [--gap SECONDS] [--ech]
                    [--sport PORT] [--reset]
    names-client.py ADDR PORT raw TEXT

hello sends a real ClientHello (the one Python's TLS makes) naming NAME
("-": no server name), in N TCP segments (TCP_NODELAY, SECONDS apart,
default 0.02); with --ech, with an encrypted_client_hello extension (type
0xfe0d) added, its outer name NAME. raw sends TEXT ("\\r\\n" as escapes)
as it is. --sport binds the connection's source port; --reset closes it
with a reset (SO_LINGER 0) once the answer came.

Then it waits for an answer (3 s) and prints one line: "serverhello" (a
TLS handshake record came), "alert", "data" (anything else), "reset" (the
connection was reset), "closed" (closed without a byte) or "timeout",
then "ms=N" (since the connection was made) and "parts=N" (the segments
sent).
"""
import os
import socket
import ssl
import sys
import time


def client_hello(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=None if name == "-" else name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def with_ech(hello):
    """The ClientHello (one record) with an encrypted_client_hello
    extension first among its extensions, its lengths made right. Its body
    is shaped as an outer ECH (type 0, a cipher suite, a config id, an
    encapsulated key and a payload) of random bytes."""
    body = (b"\x00" + b"\x00\x01\x00\x01" + os.urandom(1) +
            (32).to_bytes(2, "big") + os.urandom(32) +
            (200).to_bytes(2, "big") + os.urandom(200))
    ext = b"\xfe\x0d" + len(body).to_bytes(2, "big") + body
    rec, hs = hello[:5], bytearray(hello[5:])
    assert rec[0] == 0x16 and hs[0] == 1 and len(hs) == int.from_bytes(rec[3:5], "big")
    p = 4 + 2 + 32
    p += 1 + hs[p]                                   # session id
    p += 2 + int.from_bytes(hs[p:p + 2], "big")      # cipher suites
    p += 1 + hs[p]                                   # compression methods
    ext_len = int.from_bytes(hs[p:p + 2], "big")
    hs[p:p + 2] = (ext_len + len(ext)).to_bytes(2, "big")
    hs[p + 2:p + 2] = ext
    hs[1:4] = (len(hs) - 4).to_bytes(3, "big")
    return rec[:3] + len(hs).to_bytes(2, "big") + bytes(hs)


def parts_of(data, n):
    step = max(1, len(data) // n)
    cuts = [i * step for i in range(n)] + [len(data)]
    return [data[cuts[i]:cuts[i + 1]] for i in range(n) if cuts[i] < cuts[i + 1]]


def main():
    addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    args = sys.argv[4:]
    if mode == "hello":
        data = client_hello(args[0])
        if "--ech" in args:
            data = with_ech(data)
        n = int(args[args.index("--parts") + 1]) if "--parts" in args else 1
        gap = float(args[args.index("--gap") + 1]) if "--gap" in args else 0.02
        parts = parts_of(data, n)
    elif mode == "raw":
        parts = [args[0].replace("\\r", "\r").replace("\\n", "\n").encode()]
    else:
        sys.exit(f"names-client: what is {mode}?")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if "--sport" in args:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", int(args[args.index("--sport") + 1])))
    s.settimeout(3)
    s.connect((addr, port))
    t0 = time.monotonic()
    result = "timeout"
    try:
        for i, part in enumerate(parts):
            if i:
                time.sleep(gap)
            s.sendall(part)
        first = s.recv(5)
        if not first:
            result = "closed"
        elif first[0] == 0x16:
            result = "serverhello"
        elif first[0] == 0x15:
            result = "alert"
        else:
            result = "data"
    except (ConnectionResetError, BrokenPipeError):
        result = "reset"
    except socket.timeout:
        result = "timeout"
    if "--reset" in args:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, (1).to_bytes(4, "little") * 1 +
                     (0).to_bytes(4, "little"))
    s.close()
    print(f"{result} ms={int((time.monotonic() - t0) * 1000)} parts={len(parts)}")


if __name__ == "__main__":
    main()
