"""Client authentication (issue 9): --requirepass on pbd and viewd, AUTH and HELLO ... AUTH with
Redis's exact replies (redis-server with the same setting is the reference), and the tools
users reach it with: redis-cli -a, redis-py password= (RESP2 and RESP3), the Sentinel client,
the smart client and pbc."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import redis
from redis.sentinel import Sentinel

import resp_kv
from procs import ROOT, Proc, free_port, wait_settled
from resp_kv.protocol import encode_command

PASSWORD = "s3cret pass"

# Requests whose replies are compared byte for byte with redis-server's, each on a fresh connection.
UNAUTHENTICATED = [
    ["PING"], ["GET", "k"], ["SET", "k", "v"], ["SELECT", "1"], ["COMMAND"], ["CLIENT", "ID"], ["INFO"],
    ["HELLO"], ["HELLO", "3"], ["HELLO", "3", "AUTH", "default", "wrong"], ["HELLO", "3", "AUTH", "bob", PASSWORD],
    ["AUTH", "wrong"], ["AUTH"], ["AUTH", "a", "b", "c"], ["AUTH", "default", PASSWORD, "extra"],
    ["AUTH", "bob", PASSWORD], ["GET"], ["NOSUCH", "a"], ["ECHO"], ["QUIT"],
    ["AUTH", PASSWORD], ["AUTH", "default", PASSWORD],
]
WITHOUT_PASSWORD = [["AUTH", "x"], ["AUTH", "default", "x"], ["AUTH", "bob", "x"], ["HELLO", "3", "AUTH", "bob", "x"]]


def exchange(port: int, *requests) -> bytes:
    """The bytes a server sends back to ``requests`` pipelined on one fresh connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(encode_command(r) for r in requests) + encode_command(["QUIT"]))
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


@pytest.fixture
def reference():
    made = []

    def start(*extra):
        port = free_port()
        made.append(Proc(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", *extra],
                         port, "redis-server").start())
        return made[-1]

    yield start
    for proc in made:
        proc.kill()


def test_auth_replies_are_redis_s_byte_for_byte(cluster, reference):
    redis_server = reference("--requirepass", PASSWORD)
    c = cluster(servers=1, password=PASSWORD)
    wait_settled(c)
    pbd = c.servers[0]
    for request in UNAUTHENTICATED:
        assert exchange(pbd.port, request) == exchange(redis_server.port, request), request
    # After AUTH, the same connection runs commands.
    for prefix in (["AUTH", PASSWORD], ["AUTH", "default", PASSWORD]):
        assert exchange(pbd.port, prefix, ["SET", "k", "v"], ["GET", "k"]) == \
            exchange(redis_server.port, prefix, ["SET", "k", "v"], ["GET", "k"])
    # Without a configured password: the default user takes any password, AUTH <pass> errs.
    open_server = reference()
    lone = cluster(servers=1)
    wait_settled(lone)
    for request in WITHOUT_PASSWORD:
        want = exchange(open_server.port, request)
        got = exchange(lone.servers[0].port, request)
        if request[0] == "HELLO":
            assert got.split(b"\r\n")[0] == want.split(b"\r\n")[0], request  # the same error
        else:
            assert got == want, request


def test_viewd_guards_its_sentinel_side_and_servers_still_ping_it(cluster):
    c = cluster(servers=2, password=PASSWORD)
    wait_settled(c)  # the servers registered and pinged with only the cluster secret
    port = c.viewd.port
    for request in (["SENTINEL", "MASTERS"], ["VIEW.GET"], ["INFO"], ["ROLE"]):
        assert exchange(port, request).startswith(b"-NOAUTH Authentication required.\r\n"), request
    assert exchange(port, ["AUTH", PASSWORD], ["VIEW.GET"]).startswith(b"+OK\r\n*3\r\n")


@pytest.mark.parametrize("protocol", [2, 3])
def test_clients_that_give_the_password_work_and_others_get_noauth(cluster, protocol):
    c = cluster(servers=2, password=PASSWORD)
    wait_settled(c)
    viewnum, primary, _ = c.view()
    port = c.by_addr(primary).port
    r = redis.Redis(port=port, password=PASSWORD, protocol=protocol, socket_timeout=5)
    assert r.set("k", "v") is True and r.get("k") == b"v"
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, protocol=protocol, socket_timeout=5).get("k")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, password="wrong", protocol=protocol, socket_timeout=5).get("k")
    # The smart client, for viewd and the servers alike; the asyncio one too.
    kv = resp_kv.Client(c.viewd.addr, password=PASSWORD, protocol=protocol, timeout=10)
    assert kv.set("smart", "yes") is True and kv.get("smart") == b"yes"
    # redis-py's Sentinel client, as the contract spells it.
    sentinel = Sentinel([("127.0.0.1", c.viewd.port)], sentinel_kwargs={"password": PASSWORD},
                        password=PASSWORD, protocol=protocol, socket_timeout=5)
    assert sentinel.master_for("resp-kv").get("smart") == b"yes"


def test_redis_cli_and_pbc_with_a_password(cluster):
    c = cluster(servers=2, password=PASSWORD)
    wait_settled(c)
    port = c.by_addr(c.view()[1]).port
    cli = ["redis-cli", "-p", str(port), "-a", PASSWORD, "--no-auth-warning"]
    assert subprocess.run([*cli, "SET", "tool", "cli"], capture_output=True, text=True).stdout == "OK\n"
    assert subprocess.run(["redis-cli", "-p", str(port), "GET", "tool"], capture_output=True,
                          text=True).stdout.startswith("NOAUTH")
    pbc = [sys.executable, "-m", "resp_kv.cli", "--timeout", "10", "--password", PASSWORD, c.viewd.addr]
    assert subprocess.run([*pbc, "tool"], capture_output=True, text=True, cwd=ROOT).stdout == "cli\n"
    done = subprocess.run([*pbc, "tool", "pbc"], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout == "OK\n", done.stderr
    assert subprocess.run([*cli, "GET", "tool"], capture_output=True, text=True).stdout == "pbc\n"
