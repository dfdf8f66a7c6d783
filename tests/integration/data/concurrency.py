# Threads, asyncio and child processes, run by kernel_dynamic.sh in the carve
# kernel and on the host: the output must be the same.
import asyncio, concurrent.futures, hashlib, subprocess, sys, threading


def digest(i):
    h = hashlib.sha256()
    for _ in range(2000):
        h.update(str(i).encode())
    return i, h.hexdigest()[:16]


with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    for i, d in sorted(pool.map(digest, range(8))):
        print("thread", i, d)

lock, total, ready = threading.Lock(), [0], threading.Event()


def add(n):
    ready.wait()
    for _ in range(n):
        with lock:
            total[0] += 1


workers = [threading.Thread(target=add, args=(5000,)) for _ in range(4)]
for w in workers:
    w.start()
ready.set()
for w in workers:
    w.join()
print("locked total", total[0], "threads left", threading.active_count())


async def tick(name, n):
    out = []
    for k in range(n):
        await asyncio.sleep(0.01)
        out.append(f"{name}{k}")
    return out


async def main():
    res = await asyncio.gather(tick("a", 3), tick("b", 2))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "print(6 * 7)", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return res, out.decode().strip(), proc.returncode


print("asyncio", *asyncio.run(main()))
r = subprocess.run(["sha256sum", "data/small"], capture_output=True, text=True)
print("subprocess", r.returncode, r.stdout.strip())
r = subprocess.run([sys.executable, "-c", "import sys; sys.exit(5)"])
print("child status", r.returncode)
p = subprocess.Popen([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
print("pipes", p.communicate("through a pipe")[0].strip(), p.returncode)
