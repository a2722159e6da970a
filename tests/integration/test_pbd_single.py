"""A lone pbd serving as primary (viewd + one server), driven over real sockets with redis-py
and raw bytes: the Redis protocol, the commands, and bad input."""

import asyncio
import random
import socket
import time

import pytest
import redis
import redis.asyncio

from procs import poke, wait_for, wait_role


@pytest.fixture
def server(lone):
    return lone.servers[0]


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, server):
    client = server.client(protocol=request.param)
    yield client
    client.close()


def raw(server, data: bytes, expect_close=False, timeout=5.0) -> bytes:
    """Send bytes, read until the server closes (expect_close) or stops sending for a moment."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        if expect_close:
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)
        s.settimeout(0.5)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except socket.timeout:
            pass
        return b"".join(chunks)


def test_set_get_del_roundtrip(r):
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == b"hello"
    assert r.get("missing-key") is None
    assert r.delete("greeting", "missing-key") == 1
    assert r.exists("greeting") == 0


def test_binary_values_with_all_256_byte_values(r):
    value = bytes(range(256)) * 4
    key = bytes(range(255, -1, -1))
    assert r.set(key, value)
    assert r.get(key) == value
    assert r.mget([key, b"\x00"]) == [value, None]


def test_puthash_chain_over_the_wire_matches_the_spec(r):
    r.delete("ph")
    previous = [r.execute_command("PUTHASH", "ph", str(i)) for i in range(100)]
    assert previous[0] == b""
    assert r.get("ph") == b"3868028174"
    assert previous[99] != b""


def test_data_commands_behave_as_redis(r):
    r.flushall()
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "c") == [b"1", b"2", None]
    assert r.exists("a", "b", "c", "a") == 3
    assert r.incr("n") == 1 and r.incr("n") == 2
    assert r.incr("n", 5) == 7 and r.decr("n") == 6
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("a", "x")
    r.set("a", "x")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("a")
    assert r.dbsize() == 3
    assert r.flushall() is True and r.dbsize() == 0


def test_unknown_command_and_wrong_arity_use_redis_wording_and_keep_the_connection(r):
    with pytest.raises(redis.ResponseError) as info:
        r.execute_command("NOSUCH", "a", "b")
    assert str(info.value) == "unknown command 'NOSUCH', with args beginning with: 'a' 'b' "
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        r.execute_command("GET")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'mset' command"):
        r.execute_command("MSET", "a")
    assert r.ping() is True  # same connection still open


def test_hello_switches_protocols_and_reports_proto_as_an_integer(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"HELLO 3\r\n")
        reply = s.recv(65536)
        assert reply.startswith(b"%7\r\n") and b"$5\r\nproto\r\n:3\r\n" in reply
        s.sendall(b"GET no-such-key\r\n")
        assert s.recv(100) == b"_\r\n"
        s.sendall(b"HELLO 4\r\n")
        assert s.recv(100).startswith(b"-NOPROTO")


def test_connection_and_admin_commands(r, server):
    assert r.client_setname("tester") is True
    assert r.client_getname() in ("tester", b"tester")
    assert isinstance(r.client_id(), int)
    assert "name=tester" in str(r.execute_command("CLIENT", "INFO"))
    assert r.echo("hi") == b"hi"
    assert r.execute_command("SELECT", 0) in (True, b"OK", "OK")
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.execute_command("SELECT", 16)
    assert r.execute_command("SELECT", 15) in (True, b"OK", "OK")
    r.execute_command("SELECT", 0)
    assert r.command_count() > 10 and "get" in r.command()
    info = r.info()
    assert info["redis_version"] and info["role"] == "master" and info["pb_role"] == "primary"
    assert info["view"] >= 1 and info["primary"] == server.addr
    assert r.execute_command("ROLE")[0] in (b"master", "master")
    assert r.config_get("save") == {"save": ""} or r.config_get("save") == {b"save": b""}
    assert r.execute_command("WAIT", 0, 0) == 0  # no backup holds anything: there is none


def test_pipelined_replies_come_back_in_order(server):
    client = server.client()
    pipe = client.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"p{i}", i)
        pipe.get(f"p{i}")
    replies = pipe.execute()
    assert replies[1::2] == [str(i).encode() for i in range(1000)]


def test_asyncio_redis_py_in_both_protocols(server):
    async def go(protocol):
        client = redis.asyncio.Redis(port=server.port, protocol=protocol)
        await client.set(f"async{protocol}", "v")
        values = await asyncio.gather(*(client.get(f"async{protocol}") for _ in range(50)))
        await client.aclose()
        return values

    for protocol in (2, 3):
        assert asyncio.run(go(protocol)) == [b"v"] * 50


def test_inline_commands_as_telnet_sends_them(server):
    reply = raw(server, b"PING\r\nSET inline \"two words\"\r\nGET inline\r\n")
    assert reply == b"+PONG\r\n+OK\r\n$9\r\ntwo words\r\n"


def test_protocol_error_flushes_earlier_replies_then_closes_only_that_connection(server):
    other = server.client()
    other.set("survivor", "yes")
    reply = raw(server, b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n*1\r\n$4\r\nPING\r\n", expect_close=True)
    assert reply == b"+PONG\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    assert other.get("survivor") == b"yes"


@pytest.mark.parametrize("frame, message", [
    (b"*1\r\n$600000000\r\n", b"invalid bulk length"),
    (b"*2147483648\r\n", b"invalid multibulk length"),  # above INT_MAX, as Redis 7.0
    (b"*1\r\n:1\r\n", b"expected '$', got ':'"),
    (b'SET a "unbalanced\r\n', b"unbalanced quotes in request"),
])
def test_malformed_requests_get_redis_errors_at_once(server, frame, message):
    start = time.monotonic()
    reply = raw(server, frame, expect_close=True)
    assert reply == b"-ERR Protocol error: " + message + b"\r\n"
    assert time.monotonic() - start < 4  # answered from the header, not after waiting for 600 MB


def test_client_vanishing_mid_request_costs_nothing(server):
    client = server.client()
    client.set("before", "intact")
    for partial in (b"*3\r\n$3\r\nSET\r\n$6\r\nbefore\r\n$100\r\nabc", b"*2\r\n$3\r\nGE", b"SET before"):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(partial)
    assert client.get("before") == b"intact"
    assert client.ping()


def test_random_bytes_and_frames_never_hurt_other_clients_or_data(server):
    rng = random.Random(1234)
    keeper = server.client()
    expected = {f"fuzz-keep-{i}": bytes(rng.randrange(256) for _ in range(20)) for i in range(50)}
    keeper.mset(expected)
    words = [b"GET", b"SET", b"PUTHASH", b"PING", b"*", b"$", b"\r\n", b"-1", b"99999999999", b"INCR", b"HELLO"]
    for _ in range(200):
        kind = rng.randrange(3)
        if kind == 0:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        elif kind == 1:
            n = rng.randrange(0, 5)
            payload = b"*%d\r\n" % n + b"".join(
                b"$%d\r\n%s\r\n" % (len(w), w) for w in (rng.choice(words) for _ in range(n)))
            payload = payload[: rng.randrange(1, len(payload) + 1)]
        else:
            payload = b" ".join(rng.choice(words) for _ in range(rng.randrange(1, 6))) + b"\r\n"
        poke(server.port, payload, 0.05)
    assert server.alive()
    assert keeper.mget(list(expected)) == list(expected.values())


def test_a_second_server_is_not_primary_and_answers_readonly(lone):
    second = lone.add_server()
    wait_role(second, "backup")
    client = second.client()
    with pytest.raises(redis.exceptions.ReadOnlyError, match="not the primary"):
        client.get("greeting")
    with pytest.raises(redis.exceptions.ReadOnlyError):
        client.set("greeting", "no")
    assert client.ping()  # connection commands are served by everyone
    # Once the backup holds the state the view is acknowledged, and its death is noticed.
    primary = lone.servers[0].client()
    wait_for(lambda: primary.info("replication")["backup_in_sync"] == "yes", what="backup in sync")
    second.kill()
    lone.servers.remove(second)
    lone.wait_view(lambda n, p, b: b == "", what="the dead backup to leave the view")
