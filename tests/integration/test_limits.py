"""What one client may cost a server: maxclients, TCP keepalive, the smart client across fork(),
and the exactly-once table's bounds. Real processes on loopback; redis-server where its
behaviour is the reference."""

from __future__ import annotations

import multiprocessing
import socket
import subprocess

import pytest

import resp_kv
from procs import Proc, free_port, pbd_proc, viewd_proc, wait_for, wait_settled

MAX_CLIENTS_REPLY = b"-ERR max number of clients reached\r\n"


def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def ping(sock: socket.socket) -> bytes:
    sock.sendall(b"*1\r\n$4\r\nPING\r\n")
    sock.settimeout(5)
    return sock.recv(100)


@pytest.fixture
def redis_reference():
    port = free_port()
    proc = Proc(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--maxclients", "3"],
                port, "redis-server").start()
    yield proc
    proc.kill()


def check_maxclients(port: int) -> bytes:
    """Fill a server limited to 3 clients; return what the fourth gets. Then free a slot."""
    held = []
    try:
        for _ in range(3):
            held.append(socket.create_connection(("127.0.0.1", port)))
            assert ping(held[-1]) == b"+PONG\r\n"
        with socket.create_connection(("127.0.0.1", port)) as extra:
            refused = read_until_closed(extra)
        held.pop().close()

        def a_slot_is_free():
            with socket.create_connection(("127.0.0.1", port)) as again:
                return ping(again) == b"+PONG\r\n"

        wait_for(a_slot_is_free, 5, what="a slot freed by a closed connection")
        return refused
    finally:
        for sock in held:
            sock.close()


def test_a_connection_past_maxclients_gets_redis_error_and_is_closed(make_pbd, redis_reference, viewd, procs):
    pbd = make_pbd(None, "--maxclients", "3")
    wait_for(lambda: pbd.client().info("replication")["pb_role"] == "primary", what="a serving primary")
    assert check_maxclients(redis_reference.port) == MAX_CLIENTS_REPLY  # the reference
    assert check_maxclients(pbd.port) == MAX_CLIENTS_REPLY
    assert pbd.client().config_get("maxclients") == {"maxclients": "3"}
    # viewd has the same limit.
    limited = procs.add(viewd_proc(None, "--maxclients", "3"))
    assert check_maxclients(limited.port) == MAX_CLIENTS_REPLY


def test_maxclients_is_lowered_to_what_the_open_files_limit_allows(viewd, procs):
    # A soft and hard limit of 64 descriptors leaves room for 32 clients (32 kept in reserve).
    proc = pbd_proc(viewd.addr, free_port())
    proc.args = ["prlimit", "--nofile=64:64", *proc.args]
    procs.add(proc)
    assert proc.client().config_get("maxclients") == {"maxclients": "32"}
    assert "maxclients lowered from 10000 to 32" in proc.log()


def test_tcp_keepalive_is_set_as_redis_sets_it():
    # Read back from a real socket: `ss -o` on a live server's sockets proved flaky here (about
    # one run in twenty listed no socket at all), so the options are checked where they are set.
    from resp_kv.respserver import _keepalive

    with socket.socket() as sock:
        _keepalive(sock, 60)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 20
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3


def test_client_connections_get_tcp_keepalive(make_pbd):
    pbd = make_pbd(None, "--tcp-keepalive", "60")
    assert pbd.client().config_get("tcp-keepalive") == {"tcp-keepalive": "60"}

    def keepalive_shown() -> str:
        """`ss -o`'s line for the server's side of a new connection ("" if ss does not list it)."""
        with socket.create_connection(("127.0.0.1", pbd.port)) as sock:
            assert ping(sock) == b"+PONG\r\n"
            server_side = f"127.0.0.1:{pbd.port} 127.0.0.1:{sock.getsockname()[1]} "
            shown = subprocess.run(["ss", "-tnoH", "state", "established"], capture_output=True, text=True,
                                   check=True).stdout
        return next((line for line in shown.splitlines() if server_side in " ".join(line.split()) + " "), "")

    line = wait_for(keepalive_shown, 10, what="the server's side of a connection in ss")
    assert "timer:(keepalive" in line, line


def test_a_forked_smart_client_gets_its_own_identity(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    kv = resp_kv.Client(c.viewd.addr, timeout=10)
    assert kv.incr("n") == 1  # the parent's sequence number 1
    ctx = multiprocessing.get_context("fork")
    go, result = ctx.Event(), ctx.Queue()
    # The child is forked from a process whose client already has an id and a sequence number:
    # with the parent's identity, its SET (number 2) would be taken for the parent's INCR.
    child = ctx.Process(target=_forked, args=(kv, go, result))
    child.start()
    assert kv.incr("n") == 2  # the parent's sequence number 2
    go.set()
    assert result.get(timeout=20) is True  # the child's own request, applied
    child.join(20)
    assert child.exitcode == 0
    assert kv.get("child-key") == b"child-value"
    assert kv.get("n") == b"2"


def _forked(kv, go, result) -> None:
    go.wait(10)
    try:
        result.put(kv.set("child-key", "child-value"))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        result.put(repr(exc))


def test_exactly_once_ids_are_bounded_and_counted(make_pbd):
    pbd = make_pbd()
    wait_for(lambda: pbd.client().info("replication")["pb_role"] == "primary", what="a serving primary")
    r = pbd.client()
    with pytest.raises(Exception, match="client id longer than 64 bytes"):
        r.execute_command("KV.ONCE", "x" * 65, 1, "SET", "k", "v")
    assert r.get("k") is None
    before = r.info("stats")["exactly_once_memory_bytes"]
    r.execute_command("KV.ONCE", "y" * 64, 1, "SET", "k", "v" * 1000)
    grown = r.info("stats")["exactly_once_memory_bytes"] - before
    assert grown >= 64 + len("+OK")  # the id counts, not only the reply


def test_proto_max_bulk_len_refuses_a_longer_bulk_from_its_header(make_pbd, procs):
    port = free_port()
    reference = procs.add(Proc(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                                "--proto-max-bulk-len", "1mb"], port, "redis-server"))
    pbd = make_pbd(None, "--proto-max-bulk-len", "1mb")
    wait_for(lambda: pbd.client().info("replication")["pb_role"] == "primary", what="a serving primary")
    request = b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (1024 * 1024 + 1)
    replies = []
    for server in (reference, pbd):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(request)  # only the header: the value never comes
            replies.append(read_until_closed(sock))
    assert replies[0] == b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    assert replies[1] == replies[0]
    assert pbd.client().config_get("proto-max-bulk-len") == {"proto-max-bulk-len": str(1024 * 1024)}
