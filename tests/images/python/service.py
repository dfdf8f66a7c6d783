"""An attestation service as Nitro users write them, in plain Python 3.

It listens on AF_VSOCK port 5000. Each connection is served by its own
thread: the parent sends a nonce as one line of hex; the service asks
/dev/nsm (Linux's nsm driver, NSM_IOCTL_RAW) for an attestation document
bound to that nonce and answers with the document's length (4 bytes, little
endian) and the document. A connection closed before any nonce is a health
probe and is not counted. Meanwhile a pool of worker threads and a shell
pipeline in a subprocess run, to show threads and processes work. After
SERVE_COUNT answered requests it exits 0.

No third-party modules: CBOR is encoded and decoded by hand here.
"""
import ctypes
import fcntl
import os
import socket
import struct
import subprocess
import sys
import threading

NSM_IOCTL_RAW = 0xC0200A00
RESPONSE_MAX = 0x3000
PORT = int(os.environ.get("SERVICE_PORT", "5000"))
SERVE_COUNT = int(os.environ.get("SERVE_COUNT", "2"))


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 0x100:
        return bytes([major << 5 | 24, n])
    if n < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    return bytes([major << 5 | 26]) + struct.pack(">I", n)


def cbor_text(s):
    b = s.encode()
    return cbor_head(3, len(b)) + b


def cbor_bytes(b):
    return cbor_head(2, len(b)) + b


def read_head(buf, i):
    """(major, value, next index) of the CBOR item head at buf[i]."""
    major, info = buf[i] >> 5, buf[i] & 31
    if info < 24:
        return major, info, i + 1
    size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return major, int.from_bytes(buf[i + 1:i + 1 + size], "big"), i + 1 + size


def attestation_request(nonce, user_data):
    return (cbor_head(5, 1) + cbor_text("Attestation") + cbor_head(5, 3)
            + cbor_text("nonce") + cbor_bytes(nonce)
            + cbor_text("user_data") + cbor_bytes(user_data)
            + cbor_text("public_key") + b"\xf6")


def attestation_document(response):
    """The document of {"Attestation": {"document": bstr}}; else raises."""
    major, n, i = read_head(response, 0)
    _, klen, i = read_head(response, i)
    key = response[i:i + klen].decode()
    i += klen
    if major != 5 or key != "Attestation":
        raise RuntimeError("NSM answered %r" % response[:80])
    _, _, i = read_head(response, i)           # the inner map
    _, klen, i = read_head(response, i)
    if response[i:i + klen] != b"document":
        raise RuntimeError("no document in the response")
    i += klen
    major, dlen, i = read_head(response, i)
    return bytes(response[i:i + dlen])


nsm_lock = threading.Lock()


def nsm_call(request):
    req = ctypes.create_string_buffer(request, len(request))
    resp = ctypes.create_string_buffer(RESPONSE_MAX)
    arg = bytearray(struct.pack("QQQQ", ctypes.addressof(req), len(request),
                                ctypes.addressof(resp), RESPONSE_MAX))
    with nsm_lock, open("/dev/nsm", "rb", buffering=0) as nsm:
        fcntl.ioctl(nsm, NSM_IOCTL_RAW, arg, True)
    length = struct.unpack_from("Q", arg, 24)[0]
    return resp.raw[:length]


def serve(conn, peer, results):
    try:
        line = b""
        while not line.endswith(b"\n"):
            chunk = conn.recv(256)
            if not chunk and not line:
                print("service: a probe (closed without a nonce)", flush=True)
                return
            if not chunk:
                raise RuntimeError("the parent closed in the middle of a nonce")
            line += chunk
        nonce = bytes.fromhex(line.strip().decode())
        doc = attestation_document(nsm_call(attestation_request(nonce, b"python service")))
        conn.sendall(struct.pack("<I", len(doc)) + doc)
        print("service: thread %s answered CID %d with a %d-byte document"
              % (threading.current_thread().name, peer[0], len(doc)), flush=True)
        results.append(True)
    except Exception as e:  # reported, and counted as a failure at exit
        print("service: thread %s failed: %s" % (threading.current_thread().name, e), flush=True)
        results.append(False)
    finally:
        conn.close()


def workers():
    """A few CPU-bound threads, joined: threads are scheduled and finish."""
    sums = [0] * 4

    def work(k):
        sums[k] = sum(i * i for i in range(20000 + k))
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sums == [sum(i * i for i in range(20000 + k)) for k in range(4)]


def main():
    print("service: python %s, pid %d, cwd %s, GREETING=%s" % (
        sys.version.split()[0], os.getpid(), os.getcwd(), os.environ.get("GREETING")), flush=True)
    print("service: worker threads ok: %s" % workers(), flush=True)
    out = subprocess.run(["/bin/sh", "-c", "echo subprocess pipeline | tr a-z A-Z | wc -c"],
                         capture_output=True, text=True, check=True).stdout.strip()
    print("service: /bin/sh pipeline printed %s" % out, flush=True)

    listener = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    listener.bind((socket.VMADDR_CID_ANY, PORT))
    listener.listen(8)
    print("service: listening on vsock port %d" % PORT, flush=True)
    listener.settimeout(0.5)
    results, threads, n = [], [], 0
    while len(results) < SERVE_COUNT:
        try:
            conn, peer = listener.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        t = threading.Thread(target=serve, args=(conn, peer, results), name="conn%d" % n)
        t.start()
        threads.append(t)
        n += 1
    for t in threads:
        t.join()
    ok = all(results) and len(results) == SERVE_COUNT
    print("service: served %d connections, %s" % (len(results), "all ok" if ok else "with failures"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
