"""No single client stalls a server or fails the primary over: a client that pipelines without
reading its replies, and a long pipeline, against a primary with a backup. While the abuse goes
on, another client's PING is answered within 200 ms every time and viewd's view never changes.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from procs import wait_for, wait_settled
from watch import Watch

MB = 1024 * 1024


def rss(proc) -> int:
    with open(f"/proc/{proc.popen.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_client_that_pipelines_without_reading_is_paused_not_served_all_at_once(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    primary = c.by_addr(c.view()[1])
    primary.client().set("big", b"v" * MB)
    before = rss(primary)
    request = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"
    with Watch(c) as watch, socket.create_connection(("127.0.0.1", primary.port)) as hog:
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        hog.settimeout(0.5)
        try:
            hog.sendall(request * 1500)  # 1.5 GB of replies, and it never reads one
        except socket.timeout:
            pass  # the server stopped reading from it: that is the point
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            time.sleep(0.1)
        grown = rss(primary) - before
    watch.check()
    assert grown < 300 * MB, f"the primary grew by {grown // MB} MB for one client's unread replies"
    assert primary.client().get("big") == b"v" * MB


def test_a_long_pipeline_runs_in_slices_in_order_and_replicates(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    viewnum, primary, backup = c.view()
    p, b = c.by_addr(primary), c.by_addr(backup)
    requests = b"".join(b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n" for _ in range(5000))
    tail = b"*1\r\n$4\r\nPING\r\n*1\r\n+BAD\r\n*1\r\n$4\r\nPING\r\n"  # a protocol error ends it
    with socket.create_connection(("127.0.0.1", p.port)) as sock:
        sock.sendall(requests + tail)
        sock.settimeout(10)
        got = b""
        while chunk := sock.recv(1 << 20):
            got += chunk
    expected = b"".join(b":%d\r\n" % n for n in range(1, 5001)) + b"+PONG\r\n" + \
        b"-ERR Protocol error: expected '$', got '+'\r\n"
    assert got == expected
    assert p.client().get("n") == b"5000"
    assert p.client().execute_command("DEBUG", "DIGEST") == b.client().execute_command("DEBUG", "DIGEST")


BIG_VALUE_CLIENT = """
import sys, time, redis
port, size = int(sys.argv[1]), int(sys.argv[2])
r = redis.Redis(port=port, socket_timeout=60)
value = bytes(range(256)) * (size // 256)
started = time.monotonic()
assert r.set("huge", value)
print(f"{time.monotonic() - started:.2f}")
assert r.get("huge") == value
"""


def test_a_100_mb_value_is_stored_replicated_and_survives_failover(cluster):
    # The value is sent and read back by redis-py in a process of its own, so that the watching
    # thread here is not held up by this process's own work on 100 MB.
    c = cluster(servers=2)
    wait_settled(c)
    viewnum, primary, backup = c.view()
    with Watch(c) as watch:
        done = subprocess.run([sys.executable, "-c", BIG_VALUE_CLIENT, str(c.by_addr(primary).port), str(100 * MB)],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    print(f"100 MB SET acknowledged in {done.stdout.strip()} s; slowest PING by port {watch.slowest}")
    watch.check()
    value = bytes(range(256)) * (100 * MB // 256)
    assert c.by_addr(backup).client(socket_timeout=30).execute_command("DEBUG", "DIGEST") == \
        c.by_addr(primary).client(socket_timeout=30).execute_command("DEBUG", "DIGEST")
    c.by_addr(primary).kill()
    c.wait_view(lambda n, p, b: p == backup, 15, what="the backup promoted")
    kv = c.by_addr(backup).client(socket_timeout=30)
    wait_for(lambda: kv.info("replication")["pb_role"] == "primary", what="the new primary serving")
    assert kv.get("huge") == value


def client_field(r, addr: str, name: str) -> int:
    line = next(line for line in r.execute_command("CLIENT", "LIST").decode().splitlines() if f"addr={addr} " in line)
    return int(line.split(f" {name}=")[1].split()[0])


def test_an_idle_connection_gives_back_its_query_buffer(cluster):
    c = cluster(servers=1)
    primary = c.primary()
    r = primary.client()
    size = 20 * MB
    with socket.create_connection(("127.0.0.1", primary.port)) as sock:
        addr = "%s:%d" % sock.getsockname()
        sock.sendall(b"*2\r\n$6\r\nEXISTS\r\n$%d\r\n" % size + b"k" * (size - 10))
        wait_for(lambda: client_field(r, addr, "qbuf") >= size - 10, what="the request half received")
        sock.sendall(b"k" * 10 + b"\r\n")
        sock.settimeout(10)
        assert sock.recv(100) == b":0\r\n"
        wait_for(lambda: client_field(r, addr, "qbuf") == 0, what="the query buffer given back")
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")  # still open, and served
        assert sock.recv(100) == b"+PONG\r\n"


def test_scanning_a_large_keyspace_holds_nobody_up(cluster):
    """An iteration starts with a snapshot of the names: on 300,000 keys and a hash of 300,000
    fields, SCAN 0 and HSCAN 0 answer at once (sorting them took 0.7 s, and a million keys failed
    the primary over), and a full iteration returns every key."""
    c = cluster(servers=2)
    wait_settled(c)
    client = c.by_addr(c.view()[1]).client()
    names = [b"key:%d" % i for i in range(300_000)]
    for start in range(0, len(names), 20_000):
        pipe = client.pipeline(transaction=False)
        for at in range(start, start + 20_000, 1000):
            batch = names[at:at + 1000]
            pipe.mset(dict.fromkeys(batch, b"v"))
            pipe.hset("hash", mapping=dict.fromkeys(batch, b"v"))
        pipe.execute()
    wait_settled(c)
    with Watch(c) as watch:
        for _ in range(3):
            cursor, page = client.scan(0, count=10)
            assert cursor and len(page) == 10
            cursor, page = client.hscan("hash", 0, count=10)
            assert cursor and len(page) == 10
        seen = set(client.scan_iter(count=5000))
    watch.check()
    assert seen == set(names) | {b"hash"}
