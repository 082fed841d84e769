#!/usr/bin/env python3
"""The test world's web host for the name check suite (names.sh): one
address that serves several names, as a CDN's does.

    names-server.py CERT KEY KIND:ADDR:PORT...

KIND is tls (HTTPS, any name the certificate covers), http (plain HTTP) or
udp (an echo: stands in for a QUIC server). Each request is answered
"200" with a page that says the server name and Host it came with.

It prints "serving" once every socket is bound, then one line per event,
so that a test can tell what reached it:

    accepted PORT                   a TCP connection, before any byte
    first PORT BYTES                its first bytes (up to 16), as Python
                                    writes bytes: b'\x16\x03\x01...'
    hello PORT sni=NAME             a ClientHello (NAME "-" without one)
    request PORT sni=NAME host=HOST LINE
    failed PORT REASON              a connection that ended without a
                                    request (a failed handshake, a timeout)
    udp PORT LENGTH                 a datagram, echoed

Each connection has a thread of its own and a timeout, so a client that
never speaks (its bytes held or refused on the way) holds up no other.
"""
import socket
import ssl
import sys
import threading

lock = threading.Lock()


def say(line):
    with lock:
        print(line, flush=True)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def split_spec(spec):
    kind, rest = spec.split(":", 1)
    addr, port = rest.rsplit(":", 1)
    return kind, addr.strip("[]"), int(port)


def answer(conn, port, sni):
    """Reads one request head and answers it."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    host = "-"
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "host":
            host = value.strip()
    say(f"request {port} sni={sni} host={host} {lines[0]}")
    body = f"palisade test page: sni={sni} host={host}\n".encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)


def serve_conn(raw, port, ctx):
    raw.settimeout(10)
    say(f"accepted {port}")
    try:
        first = raw.recv(16, socket.MSG_PEEK)
        say(f"first {port} {first!r}")
        if ctx is None:
            answer(raw, port, "-")
            return
        conn = ctx.wrap_socket(raw, server_side=True)
        answer(conn, port, getattr(conn, "sni", "-"))
        conn.close()
    except (OSError, ssl.SSLError) as e:
        say(f"failed {port} {type(e).__name__}: {e}")
    finally:
        raw.close()


def tcp_loop(sock, port, ctx):
    while True:
        raw, _ = sock.accept()
        threading.Thread(target=serve_conn, args=(raw, port, ctx), daemon=True).start()


def udp_loop(sock, port):
    while True:
        data, peer = sock.recvfrom(2048)
        say(f"udp {port} {len(data)}")
        sock.sendto(data, peer)


def main():
    cert, key, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def on_name(sslsock, name, _ctx):
        sslsock.sni = name or "-"
        say(f"hello {sslsock.getsockname()[1]} sni={name or '-'}")

    ctx.sni_callback = on_name
    loops = []
    for spec in specs:
        kind, addr, port = split_spec(spec)
        udp = kind == "udp"
        sock = socket.socket(family(addr), socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family(addr) == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((addr, port))
        if udp:
            loops.append(threading.Thread(target=udp_loop, args=(sock, port), daemon=True))
        else:
            sock.listen(64)
            loops.append(threading.Thread(target=tcp_loop, daemon=True,
                                          args=(sock, port, ctx if kind == "tls" else None)))
    for t in loops:
        t.start()
    say("serving")
    for t in loops:
        t.join()


if __name__ == "__main__":
    main()
