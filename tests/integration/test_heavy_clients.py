"""No single client stalls a server or fails the primary over: a client that pipelines without
reading its replies, and a long pipeline, against a primary with a backup. While the abuse goes
on, another client's PING is answered within 200 ms every time and viewd's view never changes.
"""

from __future__ import annotations

import socket
import time

from procs import wait_settled
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
