# Python's multiprocessing, run by kernel_dynamic.sh in the carve kernel and
# on the host: the output must be the same. Its locks, Queue and Pool rest on
# POSIX semaphores (sem_open in /dev/shm, futexes on shared pages), Value
# and Array on a MAP_SHARED file mapping, Pipe on AF_UNIX socket pairs.
# Three processes besides this one: each fork of python is costly for the
# emulated kernel of PVM hosts and in the test bed.
import hashlib, multiprocessing as mp


def square(x):
    return x * x


def digest(i):
    return i, hashlib.sha256(str(i).encode() * 1000).hexdigest()[:12]


def add(counter, lock, n):
    for _ in range(n):
        with lock:
            counter.value += 1


def worker(counter, lock, arr, q, conn, ev, done):
    add(counter, lock, 300)
    for i in range(1, len(arr), 2):
        arr[i] = i * 3
    for i in range(5):
        q.put(("child", i))
    q.put(None)
    while True:
        m = conn.recv()
        if m is None:
            break
        conn.send(m.upper())
    conn.close()
    ev.set()
    done.release()


if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as pool:
        print("pool.map", pool.map(square, range(12)))
        print("pool.imap_unordered", sorted(pool.imap_unordered(digest, range(6))))
        print("apply_async", pool.apply_async(square, (41,)).get(timeout=60))

    counter, lock, arr = mp.Value("i", 0), mp.Lock(), mp.Array("i", 10)
    q, ev, done = mp.Queue(), mp.Event(), mp.Semaphore(0)
    a, b = mp.Pipe()
    p = mp.Process(target=worker, args=(counter, lock, arr, q, b, ev, done))
    p.start()
    add(counter, lock, 300)  # at the same time as the child
    for i in range(0, len(arr), 2):
        arr[i] = i * 3
    got = []
    while (item := q.get(timeout=60)) is not None:
        got.append(item)
    print("Queue", got)
    for w in ("carve", "enclave"):
        a.send(w)
        print("Pipe", a.recv())
    a.send(None)
    print("Event", ev.wait(60), "Semaphore", done.acquire(timeout=60), done.acquire(timeout=0.1))
    p.join()
    print("Value under a Lock", counter.value, "exit", p.exitcode)
    print("Array", list(arr))
