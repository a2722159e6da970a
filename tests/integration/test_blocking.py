"""Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN ...) on a primary with a
backup: served when another client pushes, first come first served, after EXEC, with timeouts,
never for a client that went away, and reaching the backup as the pop that happened; across a
SIGKILL failover, a smart client's blocked pop is served exactly once."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

import resp_kv
from procs import digest, wait_for, wait_settled
from resp_kv.protocol import encode_command


@pytest.fixture
def pair(cluster):
    c = cluster(2)
    wait_settled(c)
    return c


def raw_client(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def send(sock: socket.socket, *args) -> None:
    sock.sendall(encode_command([a if isinstance(a, bytes) else str(a).encode() for a in args]))


def recv_exactly(sock: socket.socket, expected: bytes) -> bytes:
    got = b""
    while len(got) < len(expected):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def nothing_yet(sock: socket.socket, wait: float = 0.2) -> bool:
    """Whether the server sends nothing on ``sock`` for ``wait`` seconds (a client still blocked)."""
    sock.settimeout(wait)
    try:
        sock.recv(1)
        return False
    except socket.timeout:
        return True
    finally:
        sock.settimeout(10)


def blocked_clients(client) -> int:
    return client.info("clients")["blocked_clients"]


def test_a_blocked_pop_is_served_by_a_push_and_the_backup_holds_the_same(pair):
    primary, backup = pair.primary(), pair.by_addr(pair.view()[2])
    waiter = raw_client(primary.port)
    send(waiter, "BLPOP", "q", "other", 0)
    client = primary.client()
    wait_for(lambda: blocked_clients(client) == 1, what="the client to block")
    assert nothing_yet(waiter)
    client.rpush("q", "a", "b")
    assert recv_exactly(waiter, b"*2\r\n$1\r\nq\r\n$1\r\na\r\n") == b"*2\r\n$1\r\nq\r\n$1\r\na\r\n"
    assert client.lrange("q", 0, -1) == [b"b"]
    wait_for(lambda: digest(backup) == digest(primary), what="the backup to hold the primary's data")
    assert blocked_clients(client) == 0


def test_waiters_are_served_first_come_first_served_and_what_they_sent_after_waits(pair):
    primary = pair.primary()
    client = primary.client()
    first, second = raw_client(primary.port), raw_client(primary.port)
    send(first, "BRPOP", "q", 0)
    wait_for(lambda: blocked_clients(client) == 1, what="the first to block")
    # The second pipelines a GET after its BLMOVE: the GET waits for the BLMOVE.
    second.sendall(encode_command([b"BLMOVE", b"q", b"done", b"RIGHT", b"LEFT", b"0"]) + encode_command([b"GET", b"k"]))
    wait_for(lambda: blocked_clients(client) == 2, what="the second to block")
    client.set("k", "v")
    client.lpush("q", "one")
    assert recv_exactly(first, b"*2\r\n$1\r\nq\r\n$3\r\none\r\n") == b"*2\r\n$1\r\nq\r\n$3\r\none\r\n"
    assert nothing_yet(second)
    client.lpush("q", "two")
    assert recv_exactly(second, b"$3\r\ntwo\r\n$1\r\nv\r\n") == b"$3\r\ntwo\r\n$1\r\nv\r\n"
    assert client.lrange("done", 0, -1) == [b"two"] and client.exists("q") == 0


def test_a_push_inside_a_transaction_serves_waiters_only_after_exec(pair):
    primary = pair.primary()
    client = primary.client()
    waiter = raw_client(primary.port)
    send(waiter, "BLPOP", "q", 0)
    wait_for(lambda: blocked_clients(client) == 1, what="the client to block")
    with client.pipeline() as tx:  # MULTI RPUSH LPOP EXEC: empty again after EXEC, nothing to serve
        tx.rpush("q", "x").lpop("q").execute()
    assert nothing_yet(waiter)
    with client.pipeline() as tx:
        tx.rpush("q", "y").rpush("q", "z").execute()
    assert recv_exactly(waiter, b"*2\r\n$1\r\nq\r\n$1\r\ny\r\n") == b"*2\r\n$1\r\nq\r\n$1\r\ny\r\n"
    assert client.lrange("q", 0, -1) == [b"z"]


def test_a_timeout_answers_null_and_pops_nothing_later(pair):
    primary = pair.primary()
    client = primary.client()
    started = time.monotonic()
    assert client.blpop(["q"], timeout=0.3) is None
    assert time.monotonic() - started >= 0.3
    assert client.execute_command("BZPOPMIN", "z", "0.2") is None
    client.rpush("q", "kept")
    assert client.lrange("q", 0, -1) == [b"kept"]


def test_a_client_that_went_away_is_never_served(pair):
    primary = pair.primary()
    client = primary.client()
    waiter = raw_client(primary.port)
    send(waiter, "BLPOP", "q", 0)
    wait_for(lambda: blocked_clients(client) == 1, what="the client to block")
    waiter.close()
    wait_for(lambda: blocked_clients(client) == 0, what="the closed client to be forgotten")
    client.rpush("q", "a")
    assert client.lrange("q", 0, -1) == [b"a"]


def test_blocked_sorted_set_pops_and_blmpop_are_served_too(pair):
    primary = pair.primary()
    client = primary.client()
    zpop, mpop = raw_client(primary.port), raw_client(primary.port)
    send(zpop, "BZPOPMAX", "z", 0)
    send(mpop, "BLMPOP", 0, 2, "l1", "l2", "RIGHT", "COUNT", 2)
    wait_for(lambda: blocked_clients(client) == 2, what="both to block")
    client.zadd("z", {"a": 1, "b": 2})
    client.rpush("l2", "x", "y", "z")
    assert recv_exactly(zpop, b"*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n") == b"*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n"
    want = b"*2\r\n$2\r\nl2\r\n*2\r\n$1\r\nz\r\n$1\r\ny\r\n"
    assert recv_exactly(mpop, want) == want
    assert client.lrange("l2", 0, -1) == [b"x"] and client.zrange("z", 0, -1) == [b"a"]


def test_a_blocked_smart_client_is_served_exactly_once_across_a_failover(pair):
    """The primary dies while a smart client waits in BLPOP (its connection closes): the client
    blocks again on the new primary, and the item pushed there reaches it once; an item the old
    primary had popped but the backup never heard of is still in the list."""
    consumer = resp_kv.Client(pair.viewd.addr, timeout=60, socket_timeout=10)
    producer = resp_kv.Client(pair.viewd.addr, timeout=60)
    producer.rpush("jobs", "j1")
    assert consumer.blpop(["jobs"], timeout=5) == (b"jobs", b"j1")
    got = []
    worker = threading.Thread(target=lambda: got.append(consumer.blpop(["jobs"], timeout=8)))
    worker.start()
    wait_for(lambda: blocked_clients(pair.primary().client()) == 1, what="the consumer to block")
    pair.primary().kill()
    wait_settled(pair, 30)
    new_primary = pair.primary()
    wait_for(lambda: blocked_clients(new_primary.client()) == 1, timeout=20,
             what="the consumer to block again on the new primary")
    producer.rpush("jobs", "j2", "j3")
    worker.join(20)
    assert got == [(b"jobs", b"j2")]
    assert producer.lrange("jobs", 0, -1) == [b"j3"]


def test_a_blocking_command_in_a_transaction_does_not_block(pair):
    client = pair.primary().client()
    with client.pipeline() as tx:
        assert tx.blpop(["nothing"], timeout=0).lpush("x", "1").execute() == [None, 1]
    with pytest.raises(redis.ResponseError, match="timeout is negative"):
        client.blpop(["q"], timeout=-1)
