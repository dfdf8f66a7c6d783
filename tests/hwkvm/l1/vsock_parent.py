#!/usr/bin/env python3
"""A parent program as Nitro users write them: plain socket.AF_VSOCK, nothing
carve-specific. Modes (each prints one result line and exits 0, else 1):

  serve PORT               accept one AF_VSOCK connection on PORT, print
                           "peer CID <cid>", read a line, answer "pong: <line>"
  attest CID PORT NONCE F  connect to CID:PORT (the hello enclave), send the
                           nonce line, write the attestation document to F
  echo CID PORT MSG        connect to CID:PORT (again until it listens), send
                           "MSG\\n", print the reply line
  proxy VPORT TCPPORT      AWS's vsock-proxy pattern: accept one AF_VSOCK
                           connection on VPORT and splice it with a TCP
                           connection to 127.0.0.1:TCPPORT
  tcp-echo TCPPORT         accept one TCP connection, answer "tcp: <line>"
"""
import socket
import struct
import sys
import threading
import time

TIMEOUT = 120


def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").rstrip("\n")


def listen_vsock(port):
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.bind((socket.VMADDR_CID_ANY, port))
    s.listen(4)
    s.settimeout(TIMEOUT)
    print("listening", flush=True)
    return s


def serve(port):
    s = listen_vsock(int(port))
    conn, (cid, peer_port) = s.accept()
    conn.settimeout(TIMEOUT)
    print(f"peer CID {cid}", flush=True)
    line = read_line(conn)
    conn.sendall(f"pong: {line}\n".encode())
    conn.close()
    print(f"got: {line}", flush=True)


def attest(cid, port, nonce, out):
    conn = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    conn.settimeout(TIMEOUT)
    conn.connect((int(cid), int(port)))
    conn.sendall(nonce.encode() + b"\n")
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    (length,) = struct.unpack("<I", data[:4])
    if length != len(data) - 4:
        print(f"document length {length}, got {len(data) - 4} bytes")
        sys.exit(1)
    with open(out, "wb") as f:
        f.write(data[4:])
    print(f"document {length} bytes", flush=True)


def connect_when_listening(cid, port):
    """The enclave may still be booting: try again until it listens."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        conn = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        conn.settimeout(TIMEOUT)
        try:
            conn.connect((int(cid), int(port)))
            return conn
        except OSError:
            conn.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def echo(cid, port, msg):
    conn = connect_when_listening(cid, port)
    conn.sendall(msg.encode() + b"\n")
    print(f"reply: {read_line(conn)}", flush=True)


def splice(src, dst):
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            dst.sendall(chunk)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def proxy(vport, tcpport):
    s = listen_vsock(int(vport))
    conn, (cid, _) = s.accept()
    upstream = socket.create_connection(("127.0.0.1", int(tcpport)), timeout=TIMEOUT)
    t = threading.Thread(target=splice, args=(upstream, conn))
    t.start()
    splice(conn, upstream)
    t.join()
    conn.close()
    upstream.close()
    print(f"proxied CID {cid} to tcp {tcpport}", flush=True)


def tcp_echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(1)
    s.settimeout(TIMEOUT)
    print("listening", flush=True)
    conn, _ = s.accept()
    line = read_line(conn)
    conn.sendall(f"tcp: {line}\n".encode())
    conn.close()
    print(f"got: {line}", flush=True)


MODES = {"serve": serve, "attest": attest, "echo": echo, "proxy": proxy, "tcp-echo": tcp_echo}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        MODES[sys.argv[1]](*sys.argv[2:])
    except (OSError, ValueError) as e:
        print(f"error: {e}", flush=True)
        sys.exit(1)
