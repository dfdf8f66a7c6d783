# GETs over carve's host side of vsock (kernel_programs.sh): each request
# connects to the enclave's Unix socket, asks "CONNECT PORT", then speaks
# HTTP/1.0 and prints the status line and body. --parallel N sends the paths
# N at a time from threads; the output stays in argument order.
import socket
import sys
import threading


def get(sock_path, port, path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(sock_path)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        line += c
    if not line.startswith(b"OK "):
        return "no vsock connection: %r" % line
    s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\nHost: enclave\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode() + " | " + body.decode().strip()


def main():
    args = sys.argv[1:]
    parallel = 1
    if args[0] == "--parallel":
        parallel, args = int(args[1]), args[2:]
    sock_path, port, paths = args[0], int(args[1]), args[2:]
    out = [None] * len(paths)
    for start in range(0, len(paths), parallel):
        batch = range(start, min(start + parallel, len(paths)))
        threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, get(sock_path, port, paths[i])))
                   for i in batch]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for line in out:
        print(line)


main()
