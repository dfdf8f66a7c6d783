# Python's multiprocessing, run by kernel_dynamic.sh in the carve kernel and
# on the host: the output must be the same. Its locks, Queue and Pool rest on
# POSIX semaphores (sem_open in /dev/shm, futexes on shared pages), Value
# and Array on a MAP_SHARED file mapping, Pipe on AF_UNIX socket pairs.
# Few processes: each fork of python costs the emulated kernel of PVM hosts.
import hashlib, multiprocessing as mp


def square(x):
    return x * x


def digest(i):
    return i, hashlib.sha256(str(i).encode() * 1000).hexdigest()[:12]


def worker(counter, lock, arr, start, n, done):
    for _ in range(n):
        with lock:
            counter.value += 1
    for i in range(start, len(arr), 2):
        arr[i] = i * 3
    done.release()


def producer(q, k):
    for i in range(5):
        q.put((k, i))
    q.put(None)


def echo(conn, ev):
    while True:
        m = conn.recv()
        if m is None:
            break
        conn.send(m.upper())
    conn.close()
    ev.set()


if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as pool:
        print("pool.map", pool.map(square, range(12)))
        print("pool.imap_unordered", sorted(pool.imap_unordered(digest, range(6))))
        print("apply_async", pool.apply_async(square, (41,)).get(timeout=60))

    counter, lock, arr, done = mp.Value("i", 0), mp.Lock(), mp.Array("i", 10), mp.Semaphore(0)
    procs = [mp.Process(target=worker, args=(counter, lock, arr, s, 300, done)) for s in (0, 1)]
    for p in procs:
        p.start()
    print("Semaphore", done.acquire(timeout=60), done.acquire(timeout=60), done.acquire(timeout=0.1))
    for p in procs:
        p.join()
    print("Value under a Lock", counter.value, [p.exitcode for p in procs])
    print("Array", list(arr))

    q = mp.Queue()
    ps = [mp.Process(target=producer, args=(q, k)) for k in range(2)]
    for p in ps:
        p.start()
    got, ended = [], 0
    while ended < 2:
        item = q.get(timeout=60)
        if item is None:
            ended += 1
        else:
            got.append(item)
    for p in ps:
        p.join()
    print("Queue", sorted(got))

    a, b = mp.Pipe()
    ev = mp.Event()
    p = mp.Process(target=echo, args=(b, ev))
    p.start()
    for w in ("carve", "enclave"):
        a.send(w)
        print("Pipe", a.recv())
    a.send(None)
    p.join()
    print("Event", ev.wait(30), p.exitcode)
