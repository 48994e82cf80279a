#!/usr/bin/env python3
"""A loopback HTTP server that misbehaves in one named way, for scripts/reliability.

Usage: fault_server.py MODE PORTFILE [OTHER_URL]
Prints nothing; writes the port it listens on to PORTFILE. Modes:
  ok       200 with a small JSON body
  hang     accepts and reads, never answers
  reset    accepts, reads, closes with a TCP reset
  loop     302 to itself, forever
  cross    302 to OTHER_URL (another origin); counts nothing itself
  big      200 with a 50 MB body
  count    200, and appends every request line and X-Api-Key header to PORTFILE.log
  tls      like ok, over TLS with the certificate in PORTFILE.pem (self-signed)
"""
import socket, ssl, struct, sys, threading

mode, portfile = sys.argv[1], sys.argv[2]
other = sys.argv[3] if len(sys.argv) > 3 else ""
BIG = b"x" * (50 << 20)
lock = threading.Lock()


def answer(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    line = head.split("\r\n", 1)[0]
    if mode == "count":
        key = ""
        for h in head.split("\r\n")[1:]:
            if h.lower().startswith("x-api-key:"):
                key = h.split(":", 1)[1].strip()
        with lock, open(portfile + ".log", "a") as log:
            log.write(f"{line} key={key}\n")
    if mode == "hang":
        threading.Event().wait()
    if mode == "reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        return False
    if mode == "loop":
        path = line.split(" ")[1]
        conn.sendall(f"HTTP/1.1 302 Found\r\nlocation: {path}\r\ncontent-length: 0\r\n\r\n".encode())
        return True
    if mode == "cross":
        conn.sendall(f"HTTP/1.1 302 Found\r\nlocation: {other}/lay-khoa\r\ncontent-length: 0\r\n\r\n".encode())
        return True
    body = BIG if mode == "big" else b'{"ok":true}'
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body))
    conn.sendall(body)
    return True


def serve(conn):
    try:
        while answer(conn):
            pass
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(512)
context = None
if mode == "tls":
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(portfile + ".pem", portfile + ".key")
with open(portfile + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
while True:
    conn, _ = listener.accept()
    if context is not None:
        try:
            conn = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
