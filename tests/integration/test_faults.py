"""The fault-injecting proxy (tests/faults.py): its RESP frame splitters fed bytes directly, and
the proxy itself in front of a real redis-server on loopback, driven with redis-py and raw
sockets."""

from __future__ import annotations

import random
import socket
import subprocess
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from faults import FaultProxy, FramingError, ReplySplitter, RequestSplitter, request_args
from procs import free_port, wait_for

REDIS_SERVER = "/usr/bin/redis-server"


def cmd(*args) -> bytes:
    """A multibulk request frame."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def feed_bytewise(splitter, data: bytes):
    out = []
    for i in range(len(data)):
        out += splitter.feed(data[i:i + 1])
    return out


# --------------------------------------------------------------------------- splitters, no sockets

REQUESTS = [cmd("SET", "k", b"a\r\nb*2\r\n$1"), cmd("GET", "k"), b"PING\r\n", b"\r\n", b"*0\r\n",
            b"  \n", cmd("MSET", "a", "", "b", "x" * 300), b"ECHO hi\n"]
REQUEST_COUNTS = [True, True, True, False, False, False, True, True]

REPLY_CASES = [  # (frame, answers a request)
    (b"+OK\r\n", True), (b"-ERR no\r\n", True), (b":42\r\n", True), (b"$5\r\na\r\n\r\n\r\n", True),
    (b"$-1\r\n", True), (b"$0\r\n\r\n", True), (b"*-1\r\n", True), (b"*0\r\n", True),
    (b"*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n*-1\r\n", True),
    (b"_\r\n", True), (b",3.14\r\n", True), (b"#t\r\n", True), (b"(12345678901234567890\r\n", True),
    (b"!5\r\nerror\r\n", True), (b"=7\r\ntxt:abc\r\n", True),
    (b"%2\r\n+k1\r\n:1\r\n+k2\r\n*2\r\n:1\r\n:2\r\n", True),  # a map: 2N elements
    (b"~2\r\n+a\r\n+b\r\n", True),
    (b">3\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n:7\r\n", False),  # a push answers no request
    (b"|1\r\n+ttl\r\n:3600\r\n$3\r\nval\r\n", True),  # an attribute belongs to the value after it
    (b"*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", True),  # an attribute inside an array is no element
    (b"|0\r\n+OK\r\n", True),
    (b"|1\r\n+a\r\n+b\r\n>1\r\n+p\r\n", False),  # an attributed push is still a push
]
REPLIES = [frame for frame, _ in REPLY_CASES]
REPLY_COUNTS = [counts for _, counts in REPLY_CASES]


def test_request_frames_byte_by_byte():
    frames = feed_bytewise(RequestSplitter(), b"".join(REQUESTS))
    assert [f.data for f in frames] == REQUESTS
    assert [f.counts for f in frames] == REQUEST_COUNTS


def test_request_frames_split_at_every_boundary():
    data = b"".join(REQUESTS)
    for cut in range(1, len(data)):
        splitter = RequestSplitter()
        frames = splitter.feed(data[:cut]) + splitter.feed(data[cut:])
        assert [f.data for f in frames] == REQUESTS, cut


def test_reply_frames_byte_by_byte_including_resp3():
    frames = feed_bytewise(ReplySplitter(), b"".join(REPLIES))
    assert [f.data for f in frames] == REPLIES
    assert [f.counts for f in frames] == REPLY_COUNTS


def test_reply_frames_in_one_chunk_and_split_at_every_boundary():
    data = b"".join(REPLIES)
    assert [f.data for f in ReplySplitter().feed(data)] == REPLIES
    for cut in range(1, len(data)):
        splitter = ReplySplitter()
        frames = splitter.feed(data[:cut]) + splitter.feed(data[cut:])
        assert [f.data for f in frames] == REPLIES, cut


def test_an_incomplete_frame_waits_and_is_kept():
    splitter = ReplySplitter()
    assert splitter.feed(b"*2\r\n$3\r\nab") == []
    assert splitter.take_all() == b"*2\r\n$3\r\nab"
    assert splitter.feed(b":1\r\n") == [(b":1\r\n", True)]  # take_all reset the state


def test_large_frames_in_small_chunks_are_not_rescanned():
    payload = random.Random(3).randbytes(16 * 1024 * 1024)
    request = cmd("SET", "big", payload)
    reply = b"$%d\r\n%s\r\n" % (len(payload), payload)
    for splitter, data in ((RequestSplitter(), request), (ReplySplitter(), reply)):
        t0 = time.monotonic()
        frames = []
        for i in range(0, len(data), 8192):
            frames += splitter.feed(data[i:i + 8192])
        # 2048 chunks: re-scanning the buffer on each would touch ~16 GB and take far longer.
        assert time.monotonic() - t0 < 5
        assert [f.data for f in frames] == [data]


def test_non_resp_is_a_framing_error_and_nothing_is_lost():
    splitter = ReplySplitter()
    with pytest.raises(FramingError):
        splitter.feed(b"+OK\r\nHTTP/1.1 200 OK\r\n")
    assert splitter.take_all() == b"+OK\r\nHTTP/1.1 200 OK\r\n"
    with pytest.raises(FramingError):
        RequestSplitter().feed(b"*2\r\nGET\r\n")


def test_request_args():
    assert request_args(cmd("SET", "k", b"a b\r\n")) == [b"SET", b"k", b"a b\r\n"]
    assert request_args(b"ping  x\r\n") == [b"ping", b"x"]


# --------------------------------------------------------------------------- the proxy, with redis-server


@pytest.fixture(scope="module")
def redis_port():
    port = free_port()
    server = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        direct = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
        wait_for(direct.ping, timeout=15, what="redis-server")
        yield port
    finally:
        server.kill()
        server.wait(10)


@pytest.fixture
def direct(redis_port):
    """A client straight to redis-server, to see what really happened; data is flushed."""
    client = redis.Redis(host="127.0.0.1", port=redis_port, socket_timeout=5)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def proxy(redis_port):
    with FaultProxy(0, "127.0.0.1", redis_port, seed=1) as p:
        yield p


def through(proxy: FaultProxy, **kwargs) -> redis.Redis:
    """A redis-py client via the proxy that never retries (a retry would hide or repeat a fault)."""
    kwargs.setdefault("socket_timeout", 5)
    return redis.Redis(host="127.0.0.1", port=proxy.port, retry=Retry(NoBackoff(), 0), **kwargs)


def read_frames(sock: socket.socket, n: int, splitter: ReplySplitter):
    """Read until ``n`` complete reply frames arrived (the socket has a timeout)."""
    frames = []
    while len(frames) < n:
        data = sock.recv(65536)
        assert data, f"connection closed after {frames}"
        frames += splitter.feed(data)
    return frames


def read_until_closed(sock: socket.socket, frames: int | None = None) -> bytes:
    """Everything the peer sends before closing (by FIN or RST), or its first ``frames`` replies."""
    received, splitter, complete = b"", ReplySplitter(), 0
    while frames is None or complete < frames:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        received += data
        complete += len(splitter.feed(data))
    return received


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=5)


def test_traffic_passes_through_unchanged(proxy, direct):
    client = through(proxy)
    binary = bytes(range(256)) * 4 + b"\r\n*1\r\n$-1\r\n"
    big = random.Random(7).randbytes(2 * 1024 * 1024)
    assert client.set("bin", binary) and client.get("bin") == binary
    assert client.set("big", big) and client.get("big") == big
    assert direct.get("big") == big and direct.get("bin") == binary

    pipe = client.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"k{i}", f"v{i}")
        pipe.get(f"k{i}")
    results = pipe.execute()
    assert results == [x for i in range(1000) for x in (True, f"v{i}".encode())]
    assert direct.dbsize() == 1002
    assert proxy.connections == 1 and proxy.requests_dropped == proxy.replies_dropped == 0


def test_resp3_replies_pass_through(proxy, direct):
    direct.hset("h", mapping={"a": "1", "b": "2"})
    direct.sadd("s", "x", "y")
    client = through(proxy, protocol=3)
    assert client.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert client.smembers("s") == {b"x", b"y"}
    assert client.config_get("maxmemory") == {"maxmemory": "0"}


def test_dropped_request_never_reaches_the_server(proxy, direct):
    direct.set("counter", 10)
    client = through(proxy)
    assert client.ping()  # the connection (and redis-py's handshake) is up before the fault
    proxy.drop_request_rate = 1
    with pytest.raises(redis.ConnectionError):
        client.incr("counter")
    assert proxy.requests_dropped == 1
    assert direct.get("counter") == b"10"


def test_a_dropped_request_lets_earlier_ones_through_and_nothing_after(proxy, direct):
    client = through(proxy)
    assert client.ping()
    proxy.request_filter = lambda frame: request_args(frame)[1:2] == [b"b"]
    proxy.drop_request_rate = 1
    pipe = client.pipeline(transaction=False)
    pipe.incr("a").incr("b").incr("c")
    with pytest.raises(redis.ConnectionError):
        pipe.execute()
    wait_for(lambda: direct.get("a") == b"1", what="the request before the dropped one")
    assert direct.get("b") is None and direct.get("c") is None
    assert proxy.requests_dropped == 1


def test_dropped_reply_after_the_server_applied_the_request(proxy, direct):
    direct.set("counter", 10)
    client = through(proxy)
    assert client.ping()
    proxy.drop_reply_rate = 1
    with pytest.raises(redis.ConnectionError):
        client.incr("counter")
    assert proxy.replies_dropped == 1 and proxy.requests_dropped == 0
    assert direct.get("counter") == b"11"


def test_a_dropped_reply_lets_earlier_replies_through(proxy, direct):
    proxy.request_filter = lambda frame: request_args(frame)[1:2] == [b"b"]
    proxy.drop_reply_rate = 1
    with connect(proxy) as sock:
        sock.sendall(cmd("INCR", "a") + cmd("INCR", "b") + cmd("INCR", "c"))
        assert read_until_closed(sock) == b":1\r\n"  # a's reply; b's is dropped, and c's with it
    wait_for(lambda: direct.get("b") == b"1", what="the request whose reply was dropped")
    assert direct.get("a") == b"1" and proxy.replies_dropped == 1


def test_reply_drops_match_replies_to_requests_skipping_pushes(proxy, direct):
    with connect(proxy) as sock:
        splitter = ReplySplitter()
        sock.sendall(cmd("HELLO", 3) + cmd("CLIENT", "TRACKING", "ON") + cmd("GET", "tk"))
        assert [f.data[:1] for f in read_frames(sock, 3, splitter)] == [b"%", b"+", b"_"]
        direct.set("tk", "changed")  # the tracking connection gets an invalidation push
        push = read_frames(sock, 1, splitter)
        assert push[0].data.startswith(b">2\r\n$10\r\ninvalidate") and not push[0].counts
        proxy.request_filter = lambda frame: request_args(frame)[0].upper() == b"ECHO"
        proxy.drop_reply_rate = 1
        sock.sendall(cmd("PING") + cmd("ECHO", "x"))
        # Had the push counted as a reply, PONG would be taken for ECHO's reply and dropped.
        assert splitter.take_all() + read_until_closed(sock) == b"+PONG\r\n"
    assert proxy.replies_dropped == 1


def test_cut_breaks_connections_and_the_next_one_works(proxy, direct):
    with connect(proxy) as sock:
        sock.sendall(cmd("PING"))
        assert read_frames(sock, 1, ReplySplitter())[0].data == b"+PONG\r\n"
        assert proxy.cut() == 1
        assert read_until_closed(sock) == b""
    assert proxy.active == 0
    assert through(proxy).ping()


def test_blocked_refuses_connections_until_unblocked(proxy, direct):
    client = through(proxy)
    assert client.ping()
    with connect(proxy) as old:
        proxy.blocked = True
        assert read_until_closed(old) == b""
    with connect(proxy) as new:  # accepted, then closed at once
        new.sendall(cmd("PING"))
        assert read_until_closed(new) == b""
    with pytest.raises(redis.ConnectionError):
        client.ping()
    accepted = proxy.connections
    proxy.blocked = False
    assert client.ping()
    assert proxy.connections == accepted + 1


def test_connect_delay_holds_new_connections(proxy, direct):
    proxy.connect_delay = 0.4
    client = through(proxy)
    t0 = time.monotonic()
    assert client.ping()
    assert time.monotonic() - t0 >= 0.4


def test_many_concurrent_connections(proxy, direct):
    errors = []

    def work():
        try:
            client = through(proxy)
            for _ in range(200):
                client.incr("n")
            client.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert direct.get("n") == b"6400"
    assert proxy.connections == 32


def test_the_same_seed_drops_the_same_requests(redis_port, direct):
    def outcomes(seed):
        with FaultProxy(0, "127.0.0.1", redis_port, seed=seed) as p:
            p.drop_request_rate = 0.5
            seen = []
            for _ in range(30):  # one connection at a time: the order of connections is fixed
                with connect(p) as sock:
                    sock.sendall(cmd("PING"))
                    seen.append(read_until_closed(sock, frames=1) == b"+PONG\r\n")  # or b"": dropped
            assert p.requests_dropped == seen.count(False)
            return seen

    first = outcomes(42)
    assert first == outcomes(42)
    assert True in first and False in first


def test_non_resp_requests_are_relayed_raw(proxy, direct):
    with connect(proxy) as sock:
        sock.sendall(b"*2\r\nGET\r\n")  # not a bulk string: redis-server says so and closes
        assert read_until_closed(sock).startswith(b"-ERR Protocol error")


def test_stop_closes_everything_and_joins_its_thread(redis_port, direct):
    before = set(threading.enumerate())
    proxy = FaultProxy(0, "127.0.0.1", redis_port).start()
    sock = connect(proxy)
    sock.sendall(cmd("PING"))
    assert read_frames(sock, 1, ReplySplitter())[0].data == b"+PONG\r\n"
    proxy.stop()
    assert read_until_closed(sock) == b""
    sock.close()
    assert set(threading.enumerate()) == before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5).close()
    with proxy:  # again, on the same port
        assert through(proxy).ping()
    assert set(threading.enumerate()) == before
