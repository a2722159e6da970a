"""Publish/subscribe against redis-server: seeded random scenarios on two connections (SUBSCRIBE,
PSUBSCRIBE, SSUBSCRIBE and their UN-, PUBLISH, SPUBLISH, PUBSUB, PING, commands refused in RESP2
subscribe mode), RESP2 and RESP3, every byte each connection receives compared; then redis-py's
PubSub across a SIGKILL failover, and a subscriber that stops reading cut off by the output limit
while everyone else is served.

After every step, each connection is sent a PING whose reply marks the end of what it received
(in RESP2 subscribe mode PING answers ["pong", ""]); the frames before it are compared with
redis-server's, in order, except where Redis's order is unspecified (an UNSUBSCRIBE of everything,
messages through several patterns, PUBSUB CHANNELS), compared as multisets.

Replay one seed: RESP_KV_PUBSUB_SEED=7 .venv/bin/python -m pytest tests/compat/test_pubsub.py -k same_bytes
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import threading
import time

import pytest
import redis

import resp_kv
from diffreplies import array_items, reply_end
from procs import Cluster, wait_for, wait_settled
from resp_kv.protocol import encode_command

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

SEEDS = [int(s) for s in os.environ.get("RESP_KV_PUBSUB_SEED", "1,2,3,4,5,6").split(",")]
STEPS = 120
CHANNELS = [b"news", b"news.tech", b"sport", b"n", b"", b"\x00\xff"]
PATTERNS = [b"news*", b"n*", b"*", b"spor?", b"[ns]*", b"\\*", b"x*"]
PING_END = (b"+PONG\r\n", b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")


class Stream:
    """One connection, read up to the reply of the PING sent after each step."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, *cmd: bytes) -> None:
        self.sock.sendall(encode_command(list(cmd)))

    def frames_until_pong(self) -> list[bytes]:
        """The frames received up to and without the PING's reply."""
        self.send(b"PING")
        frames = []
        while True:
            try:
                end = reply_end(self.buffer)
            except (ValueError, IndexError):
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {frames!r}")
                self.buffer += chunk
                continue
            frame, self.buffer = self.buffer[:end], self.buffer[end:]
            if frame in PING_END:
                return frames
            frames.append(frame)

    def close(self) -> None:
        self.sock.close()


def scenario(seed: int) -> list[tuple[int, list[bytes], bool]]:
    """Steps (connection, command, unordered?) from the seed."""
    rng = random.Random(seed)
    steps = []
    for _ in range(STEPS):
        conn = rng.choice([0, 0, 1])
        r = rng.random()
        unordered = False
        if r < 0.15:
            cmd = [b"SUBSCRIBE", *rng.sample(CHANNELS, rng.randint(1, 3))]
        elif r < 0.25:
            cmd = [b"PSUBSCRIBE", *rng.sample(PATTERNS, rng.randint(1, 2))]
        elif r < 0.30:
            cmd = [b"SSUBSCRIBE", *rng.sample(CHANNELS, rng.randint(1, 2))]
        elif r < 0.40:
            names = rng.sample(CHANNELS, rng.randint(0, 2))
            cmd, unordered = [b"UNSUBSCRIBE", *names], not names
        elif r < 0.45:
            cmd = [b"PUNSUBSCRIBE", *rng.sample(PATTERNS, rng.randint(0, 2))]
        elif r < 0.48:
            names = rng.sample(CHANNELS, rng.randint(0, 1))
            cmd, unordered = [b"SUNSUBSCRIBE", *names], not names
        elif r < 0.70:
            cmd, unordered = [b"PUBLISH", rng.choice(CHANNELS), rng.choice([b"hi", b"", b"\r\n\x00", b"x" * 100])], True
        elif r < 0.75:
            cmd = [b"SPUBLISH", rng.choice(CHANNELS), b"m"]
        elif r < 0.83:
            cmd = rng.choice([[b"PUBSUB", b"NUMSUB", *rng.sample(CHANNELS, 2)], [b"PUBSUB", b"NUMPAT"],
                              [b"PUBSUB", b"SHARDNUMSUB", rng.choice(CHANNELS)], [b"PUBSUB", b"NUMSUB"],
                              [b"PUBSUB", b"nope"], [b"PUBSUB", b"NUMPAT", b"x"], [b"PUBSUB", b"help"]])
        elif r < 0.87:
            cmd, unordered = [b"PUBSUB", rng.choice([b"CHANNELS", b"SHARDCHANNELS"]),
                              *rng.sample(PATTERNS, rng.randint(0, 1))], True
        elif r < 0.93:
            cmd = rng.choice([[b"GET", b"k"], [b"SET", b"k", b"v"], [b"ECHO", b"e"], [b"PING", b"x"], [b"GETX"],
                              [b"SUBSCRIBE"], [b"PUBLISH", b"a"], [b"ECHO"]])
        else:
            cmd = [b"HELLO", rng.choice([b"2", b"3"])]
            unordered = True  # (its map names the server: compared by its first bytes only)
        steps.append((conn, cmd, unordered))
    return steps


def normalize(cmd: list[bytes], frames: list[bytes], unordered: bool):
    if cmd[0] == b"HELLO":
        return [f[:1] for f in frames]
    if unordered and cmd[0].endswith(b"UNSUBSCRIBE"):
        # Everything, in Redis's hash order: the same channels, and the same counts in order.
        counts = [f[f.rindex(b":"):] for f in frames]
        return sorted(f[:f.rindex(b":")] for f in frames), counts
    if unordered and cmd[0] == b"PUBSUB":  # one array, in Redis's hash order
        return [sorted(array_items(f) or [f]) for f in frames]
    return sorted(frames) if unordered else frames


@pytest.fixture(scope="module")
def pair():
    cluster = Cluster(servers=2)
    try:
        cluster.primary()
        wait_settled(cluster)
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.parametrize("protocol", [2, 3], ids=lambda p: f"resp{p}")
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_same_bytes_as_redis_on_both_connections(oracle, pair, seed, protocol):
    servers = {"redis-server": oracle.port, "resp-kv": pair.primary().port}
    conns = {name: [Stream(port), Stream(port)] for name, port in servers.items()}
    try:
        if protocol == 3:
            for streams in conns.values():
                for s in streams:
                    s.send(b"HELLO", b"3")
                    s.frames_until_pong()
        for i, (who, cmd, unordered) in enumerate(scenario(seed)):
            seen = {}
            for name, streams in conns.items():
                streams[who].send(*cmd)
                seen[name] = [normalize(cmd, s.frames_until_pong(), unordered) for s in streams]
            assert seen["redis-server"] == seen["resp-kv"], (
                f"seed {seed}, RESP{protocol}, step {i}: connection {'AB'[who]} sent {cmd!r}\n"
                f"  redis-server: {seen['redis-server']!r}\n  resp-kv:      {seen['resp-kv']!r}\n"
                f"  replay: RESP_KV_PUBSUB_SEED={seed} .venv/bin/python -m pytest tests/compat/test_pubsub.py "
                f"-k 'same_bytes and resp{protocol}'")
    finally:
        for streams in conns.values():
            for s in streams:
                s.close()


def test_a_subscriber_resubscribes_on_the_new_primary_after_a_failover(cluster):
    """redis-py's PubSub through the Sentinel interface: the primary is SIGKILLed, the subscriber's
    connection drops, redis-py reconnects to the promoted backup and subscribes again, and what is
    published there arrives. (What was published while it was away is missed: at most once.)"""
    c = cluster(2)
    wait_settled(c)
    sentinel = redis.sentinel.Sentinel([("127.0.0.1", c.viewd.port)], socket_timeout=2)
    subscriber = sentinel.master_for("resp-kv", socket_timeout=2, retry_on_timeout=True).pubsub()
    subscriber.subscribe("events")
    subscriber.psubscribe("ev*")
    publisher = resp_kv.Client(c.viewd.addr, timeout=30)
    wait_for(lambda: publisher.publish("events", "before") == 2, what="both subscriptions to count")
    got = []

    def receive(until: float) -> None:
        while time.monotonic() < until:
            try:
                message = subscriber.get_message(timeout=0.2)
            except (redis.ConnectionError, redis.TimeoutError):
                continue
            if message and message["type"] in ("message", "pmessage"):
                got.append((message["type"], message["data"]))

    receive(time.monotonic() + 1)
    assert ("message", b"before") in got and ("pmessage", b"before") in got
    c.primary().kill()

    def after_failover():
        try:
            publisher.publish("events", "after")
        except redis.RedisError:
            pass
        receive(time.monotonic() + 0.3)
        return ("message", b"after") in got

    wait_for(after_failover, timeout=30, interval=0.05,
             what="a message published on the new primary to reach the resubscribed client")


def test_a_subscriber_that_stops_reading_is_cut_off_and_nobody_else_waits(cluster):
    c = cluster(1)
    primary = c.primary()
    slow = socket.create_connection(("127.0.0.1", primary.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(encode_command([b"SUBSCRIBE", b"firehose"]))
    client = primary.client()
    wait_for(lambda: client.pubsub_numsub("firehose") == [(b"firehose", 1)], what="the subscription")
    message = b"x" * 65536
    slowest = 0.0
    stop = threading.Event()

    def ping() -> None:
        nonlocal slowest
        other = primary.client()
        while not stop.is_set():
            started = time.monotonic()
            other.ping()
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.01)

    pinger = threading.Thread(target=ping)
    pinger.start()
    try:
        sent = 0
        while client.pubsub_numsub("firehose") == [(b"firehose", 1)] and sent < 2000:  # 128 MB at most
            client.publish("firehose", message)
            sent += 1
    finally:
        stop.set()
        pinger.join()
    assert client.pubsub_numsub("firehose") == [(b"firehose", 0)], f"still subscribed after {sent} messages"
    assert sent * len(message) >= 32 * 1024 * 1024, "cut off before the 32 MB hard limit"
    assert slowest < 1.0, f"another client waited {slowest:.2f} s for a PING"
    slow.close()
