"""TLS everywhere (issue 9): every process serves TLS only, every connection it opens (pbd to
viewd, primary to backup) is TLS verified against the CA, and the tools users reach it with
work: redis-py (RESP2 and RESP3), its Sentinel client, the smart client, redis-cli and pbc.
Certificates are made for the test with the openssl command."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys

import pytest
import redis
from redis.sentinel import Sentinel

import resp_kv
from procs import ROOT, wait_settled


def test_tls_only_on_the_port_and_clients_must_present_a_certificate(cluster, tls):
    c = cluster(servers=2, tls=tls)
    wait_settled(c)  # viewd and the primary's link into the backup went over TLS
    primary = c.by_addr(c.view()[1])
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=primary.port, socket_timeout=3).ping()  # plain text: nothing
    with pytest.raises(redis.ConnectionError):  # TLS, but no client certificate
        redis.Redis(port=primary.port, ssl=True, ssl_ca_certs=tls.ca, socket_timeout=3).ping()
    # A client that does not trust our CA does not talk to the server either.
    context = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", primary.port), timeout=3) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_sentinel_and_the_smart_client_over_tls_survive_a_failover(cluster, tls, protocol):
    c = cluster(servers=3, tls=tls)
    wait_settled(c)
    viewnum, primary, _ = c.view()
    r = redis.Redis(port=c.by_addr(primary).port, protocol=protocol, socket_timeout=5, **tls.client_kwargs())
    assert r.set("direct", "yes") is True and r.get("direct") == b"yes"
    kv = resp_kv.Client(c.viewd.addr, timeout=20, protocol=protocol, **tls.client_kwargs())
    for n in range(100):
        kv.set(f"key{n}", f"value{n}")
    sentinel = Sentinel([("127.0.0.1", c.viewd.port)], sentinel_kwargs=tls.client_kwargs(), socket_timeout=5,
                        protocol=protocol, **tls.client_kwargs())
    assert sentinel.master_for("resp-kv").get("key7") == b"value7"
    c.by_addr(primary).kill()
    c.wait_view(lambda n, p, b: n > viewnum and p and p != primary, 15, what="the backup promoted")
    assert [kv.get(f"key{n}") for n in range(100)] == [f"value{n}".encode() for n in range(100)]
    assert kv.get("direct") == b"yes"
    wait_settled(c)  # the idle third server became the backup, over TLS, with the state
    assert sentinel.master_for("resp-kv").get("key99") == b"value99"


def test_redis_cli_and_pbc_over_tls(cluster, tls):
    c = cluster(servers=2, tls=tls)
    wait_settled(c)
    port = c.by_addr(c.view()[1]).port
    cli = ["redis-cli", "-p", str(port), *tls.cli_args()]
    assert subprocess.run([*cli, "SET", "tool", "cli"], capture_output=True, text=True, timeout=20).stdout == "OK\n"
    pbc = [sys.executable, "-m", "resp_kv.cli", "--timeout", "10", *tls.cli_args(), c.viewd.addr]
    got = subprocess.run([*pbc, "tool"], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert got.stdout == "cli\n", got.stderr
    assert subprocess.run([*pbc, "tool", "pbc"], capture_output=True, text=True, cwd=ROOT, timeout=30).stdout == "OK\n"
    assert subprocess.run([*cli, "GET", "tool"], capture_output=True, text=True, timeout=20).stdout == "pbc\n"


def test_repeated_crash_and_restart_over_tls_keeps_every_write(cluster, tls):
    c = cluster(servers=2, tls=tls)
    wait_settled(c)
    kv = resp_kv.Client(c.viewd.addr, timeout=30, **tls.client_kwargs())
    written = 0
    for _ in range(3):
        for _ in range(30):
            written += 1
            assert kv.incr("counter") == written
        _, primary, _ = c.view()
        c.restart(c.by_addr(primary))  # SIGKILL, and a new empty server on the same port
        wait_settled(c)
    assert kv.get("counter") == str(written).encode()
