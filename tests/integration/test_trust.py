"""The cluster's own channel (issue 9): with a cluster secret, no client can register a server,
acknowledge a view, fence a primary, write into a backup or into another client's exactly-once
session. Each attack is tried against real
processes; afterwards writes through the smart client, a SIGKILL of the primary and a read-back
from the new primary show every acknowledged write and no planted key."""

from __future__ import annotations

import socket
import subprocess
import sys

import hiredis
import pytest

import resp_kv
from procs import ROOT, free_port, wait_settled
from resp_kv import peerauth
from resp_kv.protocol import encode_command


class Raw:
    """One plain connection, request by request (an error reply comes back as its text,
    prefix included; nothing is retried behind the test's back)."""

    def __init__(self, proc):
        self.sock = socket.create_connection(("127.0.0.1", proc.port), timeout=5)
        self.reader = hiredis.Reader()

    def __call__(self, *args):
        self.sock.sendall(encode_command(args))
        while (reply := self.reader.gets()) is False:
            self.reader.feed(self.sock.recv(65536))
        return str(reply) if isinstance(reply, hiredis.ReplyError) else reply

    def close(self) -> None:
        self.sock.close()


def raw(proc, *args):
    """One request on a fresh connection."""
    conn = Raw(proc)
    try:
        return conn(*args)
    finally:
        conn.close()


def acknowledged_writes_survive(c, planted=()):
    kv = resp_kv.Client(c.viewd.addr, timeout=20)
    for n in range(50):
        kv.set(f"key{n}", f"value{n}")
    viewnum, primary, _ = c.view()
    c.by_addr(primary).kill()
    c.wait_view(lambda n, p, b: n > viewnum and p and p != primary, 15, what="the backup promoted")
    for n in range(50):
        assert kv.get(f"key{n}") == f"value{n}".encode()
    for key in planted:
        assert kv.get(key) is None, f"planted key {key!r} is served"


def test_a_client_cannot_overwrite_or_feed_the_backup(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    viewnum, primary, backup = c.view()
    b = c.by_addr(backup)
    # Take over the forward link, plant a state, inject a batch: every step refused.
    assert raw(b, "PB.RESUME", viewnum, primary).startswith("NOPERM this connection has not proved")
    assert raw(b, "PB.SYNC", viewnum, 1000000000).startswith("NOPERM this connection has not proved")
    assert raw(b, "PB.LOAD", viewnum, 0, "planted", -1, "string", 1, "x").startswith("NOPERM this connection has not proved")
    assert raw(b, "PB.SYNCED", viewnum).startswith("NOPERM this connection has not proved")
    batch = (b"*3\r\n$3\r\nSET\r\n$7\r\nplanted\r\n$1\r\ny\r\n",)
    assert raw(b, "PB.BATCH", viewnum, 1, "1.0", *batch).startswith("NOPERM this connection has not proved")
    # The same on one connection, as a hand-made link would do it.
    conn = Raw(b)
    assert conn("PB.RESUME", viewnum, primary).startswith("NOPERM")
    assert conn("PB.BATCH", viewnum, 1, "1.0", *batch).startswith("NOPERM")
    conn.close()
    acknowledged_writes_survive(c, planted=["planted"])


def test_a_client_cannot_drive_viewd(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    before = c.view()
    viewnum, primary, backup = before
    viewd = c.viewd
    assert raw(viewd, "VIEW.PING", primary, 0).startswith("NOPERM this connection has not proved")  # force a failover
    assert raw(viewd, "VIEW.PING", "127.0.0.1:9", 7).startswith("NOPERM this connection has not proved")  # register a server
    assert raw(viewd, "VIEW.PING", backup, 0).startswith("NOPERM this connection has not proved")
    assert raw(viewd, "VIEW.PING", "not-an-address", 0).startswith("NOPERM this connection has not proved")
    assert c.view() == before
    acknowledged_writes_survive(c)


def test_a_wrong_secret_or_a_borrowed_name_gets_nothing(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    viewnum, primary, backup = c.view()
    conn = Raw(c.viewd)
    secret = c.secret.encode()
    nonce = conn("PEER.CHALLENGE")
    me = b"127.0.0.1:9"
    assert conn("PEER.PROVE", me, b"n", peerauth.mac(b"guess", b"peer", nonce, b"n", me)).startswith("WRONGPASS")
    # A proof is good for the one challenge it answers: no replaying it.
    assert conn("PEER.PROVE", me, b"n", peerauth.mac(secret, b"peer", nonce, b"n", me)) == \
        "ERR PEER.PROVE without PEER.CHALLENGE"
    assert conn("VIEW.PING", me, 0).startswith("NOPERM this connection has not proved")
    # Knowing the secret, a connection speaks for the id it proved, and for no other.
    nonce = conn("PEER.CHALLENGE")
    assert conn("PEER.PROVE", b"not-an-address", b"n", b"x") == "ERR a server id is its HOST:PORT"
    nonce = conn("PEER.CHALLENGE")
    answer = conn("PEER.PROVE", me, b"n", peerauth.mac(secret, b"peer", nonce, b"n", me))
    assert answer == peerauth.mac(secret, b"server", nonce, b"n", me)
    assert conn("VIEW.PING", primary, 0) == f"NOPERM this connection speaks for {me.decode()}, not {primary}"
    conn.close()
    assert c.view() == (viewnum, primary, backup)


def test_a_client_cannot_write_into_a_session_it_did_not_open(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    primary = c.primary()
    victim = resp_kv.Client(c.viewd.addr, timeout=20)
    victim.set("balance", "100")
    assert victim.identity.client_id.count(b".") == 1  # issued by the cluster: <nonce>.<tag>
    seq = victim.identity.seq
    # The attack of the issue: a made-up id, or the victim's nonce with a forged tag, run
    # ahead of the victim's next sequence number so that its next write would be skipped.
    nonce = victim.identity.client_id.split(b".")[0]
    for forged in (b"client-7", nonce, nonce + b"." + b"0" * 32):
        reply = raw(primary, "KV.ONCE", forged, seq + 1, "SET", "balance", "0")
        assert reply == "ERR KV.ONCE client id was not issued by this cluster (ask KV.SESSION for one)"
    assert victim.set("balance", "200") and victim.get("balance") == b"200"  # the victim's write applied
    # An id the cluster issued to the attacker is a session of its own, and no other's.
    own = raw(primary, "KV.SESSION")
    assert own != victim.identity.client_id
    assert raw(primary, "KV.ONCE", own, 1, "SET", "mine", "x") == b"OK"
    acknowledged_writes_survive(c)
    kv = resp_kv.Client(c.viewd.addr, timeout=20)
    assert kv.get("balance") == b"200" and kv.get("mine") == b"x"


@pytest.mark.parametrize("program", ["viewd", "resp_kv"])
def test_without_a_secret_a_process_refuses_to_listen_beyond_loopback(program):
    extra = ["--viewd", "127.0.0.1:26379", "--advertise", "127.0.0.1:1"] if program == "resp_kv" else []
    done = subprocess.run([sys.executable, "-m", program, "--bind", "0.0.0.0", "--port", str(free_port()), *extra],
                          capture_output=True, text=True, timeout=20, cwd=ROOT)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert "needs --cluster-secret" in last and "Traceback" not in done.stderr


def test_on_loopback_without_a_secret_the_channel_is_open_with_a_warning(cluster):
    c = cluster(servers=2, secret=None)
    wait_settled(c)
    assert "no --cluster-secret" in c.viewd.log()
    assert c.viewd.client().execute_command("VIEW.PING", "made-up", 0)  # as the seed's tests do
