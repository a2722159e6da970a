"""redis-py's Lock (SET NX PX to acquire; Lua scripts, EVALSHA with a SCRIPT LOAD fallback, to
extend and release) on a primary with a backup: two clients compete for one lock while the
primary is SIGKILLed; at no time do both hold it (each holding is the interval a client surely held it:
from acquire's return to release's call, cut at the lock's TTL), and both get it again after the failover.
"""

from __future__ import annotations

import threading
import time

import redis

import resp_kv
from procs import wait_settled

TTL = 2.0  # seconds: the lock's timeout


def test_two_clients_never_hold_the_lock_at_once_across_a_failover(cluster):
    c = cluster(2)
    wait_settled(c)
    holdings: list[tuple[int, float, float]] = []  # (client, from, to): surely held in between
    errors: list[str] = []
    stop = threading.Event()
    lock_held = threading.Lock()

    def compete(n: int) -> None:
        kv = resp_kv.Client(c.viewd.addr, timeout=30)
        while not stop.is_set():
            lock = kv.lock("the-lock", timeout=TTL, blocking_timeout=5, sleep=0.01)
            try:
                asked = time.monotonic()
                if not lock.acquire():
                    continue
                acquired = time.monotonic()  # surely held from here ...
                time.sleep(0.02)
                lock.extend(TTL)  # (a script)
                time.sleep(0.02)
                releasing = time.monotonic()  # ... to here (or to its TTL, counted from the asking)
                lock.release()  # (a script)
                with lock_held:
                    holdings.append((n, acquired, min(releasing, asked + TTL)))
            except redis.exceptions.LockError as exc:
                errors.append(f"client {n}: {exc!r}")  # e.g. the lock expired under us: no overlap claimed
            except (resp_kv.Unavailable, redis.RedisError) as exc:
                errors.append(f"client {n}: {exc!r}")

    threads = [threading.Thread(target=compete, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and len(holdings) < 10:
        time.sleep(0.05)
    before = len(holdings)
    c.primary().kill()
    wait_settled(c, 30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len({n for n, *_ in holdings[before:]}) < 2:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(30)
    after = holdings[before:]
    assert before >= 2 and {n for n, *_ in after} == {0, 1}, f"holdings before {before}, after {after}; {errors}"
    ordered = sorted(holdings, key=lambda h: h[1])
    for (n1, start1, end1), (n2, start2, end2) in zip(ordered, ordered[1:]):
        assert start2 >= end1 or n1 == n2, f"client {n1} held it {start1:.3f}-{end1:.3f}, client {n2} from {start2:.3f}"
