"""The real ``python -m viewd`` over TCP: the seed's scenarios, the commands, the process rules.

Servers are simulated by VIEW.PING calls from the test. Every wait polls for a condition with
a deadline; a wait for "nothing changes" waits until viewd has ticked enough (INFO's ``ticks``).
The seed's Test1 runs with its own loops, a ping interval being one tick of viewd.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import NamedTuple

import pytest
import redis

from procs import ROOT, free_port, viewd_proc, wait_for

INTERVAL = 0.05
DEAD = 10  # 0.5 s without a ping: dead. Generous, so a slow machine does not kill a live server.
DEADLINE = 10.0


class View(NamedTuple):
    viewnum: int
    primary: str
    backup: str


class Clerk:
    """A simulated server, as the seed's clerk: the test says what it pings."""

    def __init__(self, client: redis.Redis, me: str):
        self.client = client
        self.me = me

    def ping(self, viewnum: int) -> View:
        return View(*self.client.execute_command("VIEW.PING", self.me, viewnum))


def get(client: redis.Redis) -> View:
    return View(*client.execute_command("VIEW.GET"))


def server_status(client: redis.Redis, server_id: str) -> dict | None:
    """The line INFO's View section has about ``server_id``, parsed; None if viewd forgot it."""
    for key, value in client.info("view").items():
        if key.startswith("server") and isinstance(value, dict) and value["id"] == server_id:
            return value
    return None


def is_alive(client: redis.Redis, server_id: str) -> bool:
    status = server_status(client, server_id)
    return bool(status and status["alive"])


def ticks(client: redis.Redis) -> int:
    return client.info("view")["ticks"]


def raw(client: redis.Redis, *args):
    """The reply to ``args`` as it came off the wire (no redis-py callback applied)."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        client.connection_pool.release(conn)


def start_viewd(procs, *extra: str):
    return procs.add(viewd_proc(None, "--ping-interval", str(INTERVAL), "--dead-pings", str(DEAD), *extra))


def test_seed_test1_over_tcp(procs):
    """The seed's Test1, stage by stage in its order, with its pings and loops exactly.

    The seed's ``time.Sleep(PingInterval)`` is "until viewd has ticked again" (INFO's ``ticks``):
    the seed's loops count ping intervals, and so does this one, however slow the machine.
    """
    vd = start_viewd(procs)
    r = vd.client(decode_responses=True)
    ck1, ck2, ck3 = (Clerk(r, f"127.0.0.1:{port}") for port in (7001, 7002, 7003))
    last_tick = ticks(r)

    def sleep() -> None:  # time.Sleep(PingInterval)
        nonlocal last_tick
        seen = last_tick
        last_tick = wait_for(lambda: (t := ticks(r)) > seen and t, DEADLINE, interval=0.005, what="a tick")

    def check(primary: str, backup: str, viewnum: int) -> None:
        assert get(r) == View(viewnum, primary, backup)

    assert get(r).primary == "", "there was a primary too soon"

    # Test: First primary ...
    for _ in range(DEAD * 2):
        if ck1.ping(0).primary == ck1.me:
            break
        sleep()
    check(ck1.me, "", 1)

    # Test: First backup ...
    vx = get(r)
    for _ in range(DEAD * 2):
        ck1.ping(1)
        if ck2.ping(0).backup == ck2.me:
            break
        sleep()
    check(ck1.me, ck2.me, vx.viewnum + 1)

    # Test: Backup takes over if primary fails ...
    ck1.ping(2)
    vx = ck2.ping(2)
    for _ in range(DEAD * 2):
        v = ck2.ping(vx.viewnum)
        if v.primary == ck2.me and v.backup == "":
            break
        sleep()
    check(ck2.me, "", vx.viewnum + 1)

    # Test: Restarted server becomes backup ...
    vx = get(r)
    ck2.ping(vx.viewnum)
    for _ in range(DEAD * 2):
        ck1.ping(0)
        v = ck2.ping(vx.viewnum)
        if v.primary == ck2.me and v.backup == ck1.me:
            break
        sleep()
    check(ck2.me, ck1.me, vx.viewnum + 1)

    # Test: Idle third server becomes backup if primary fails ...
    # ck3 is new and pings 0 on every iteration, also after a tick made it backup (issue 7).
    vx = get(r)
    ck2.ping(vx.viewnum)
    for _ in range(DEAD * 2):
        ck3.ping(0)
        v = ck1.ping(vx.viewnum)
        if v.primary == ck1.me and v.backup == ck3.me:
            break
        vx = v
        sleep()
    check(ck1.me, ck3.me, vx.viewnum + 1)
    assert server_status(r, ck3.me)["restarted"] == 0

    # Test: Restarted primary treated as dead ...
    vx = get(r)
    ck1.ping(vx.viewnum)
    for _ in range(DEAD * 2):
        ck1.ping(0)
        ck3.ping(vx.viewnum)
        if get(r).primary != ck1.me:
            break
        sleep()
    assert get(r).primary == ck3.me

    # Test: Dead backup is removed from view ...
    for _ in range(DEAD * 3):
        ck3.ping(get(r).viewnum)
        sleep()
    v = get(r)
    assert (v.primary, v.backup) == (ck3.me, "")
    assert r.info("view")["acked"] == 1

    # Test: Viewserver waits for primary to ack view ...
    vx = get(r)
    for _ in range(DEAD * 3):
        ck1.ping(0)
        ck3.ping(vx.viewnum)
        if get(r).viewnum > vx.viewnum:
            break
        sleep()
    check(ck3.me, ck1.me, vx.viewnum + 1)
    vy = get(r)
    # ck3 is the primary, but it never acked: let it die; ck1 must not be promoted.
    for _ in range(DEAD * 3):
        v = ck1.ping(vy.viewnum)
        if v.viewnum > vy.viewnum:
            break
        sleep()
    assert not is_alive(r, ck3.me)
    check(ck3.me, ck1.me, vy.viewnum)

    # Test: Uninitialized server can't become primary ...
    for _ in range(DEAD * 2):
        v = get(r)
        ck1.ping(v.viewnum)
        ck2.ping(0)
        ck3.ping(v.viewnum)
        sleep()
    assert r.info("view")["acked"] == 1
    for _ in range(DEAD * 2):
        ck2.ping(0)
        sleep()
    assert not is_alive(r, ck1.me) and not is_alive(r, ck3.me)
    vz = get(r)
    assert vz.primary != ck2.me, "uninitialized backup promoted to primary"
    # Ours: ck3 stays primary. (If a tick fell between ck1's and ck3's last pings, ck1 died
    # first and ck2 became backup of a view ck3 never acknowledged.)
    assert vz.primary == ck3.me

    # One log line per view change, with the view number, primary and backup.
    log = vd.log()
    for viewnum in range(1, get(r).viewnum + 1):
        assert f"view {viewnum}: primary=" in log
    assert f"view 5: primary={ck1.me} backup={ck3.me}" in log
    assert f"view 6: primary={ck3.me} backup={ck1.me} (primary {ck1.me} restarted: backup promoted)" in log


# --------------------------------------------------------------------------- commands


def test_view_ping_replies_viewnum_primary_backup(viewd):
    r = viewd.client()
    assert r.execute_command("VIEW.GET") == [0, b"", b""]
    assert r.execute_command("VIEW.PING", "127.0.0.1:7001", 0) == [1, b"127.0.0.1:7001", b""]
    assert r.execute_command("view.ping", "127.0.0.1:7002", "0") == [1, b"127.0.0.1:7001", b""]
    assert r.execute_command("VIEW.PING", "127.0.0.1:7001", 1) == [2, b"127.0.0.1:7001", b"127.0.0.1:7002"]
    assert r.execute_command("VIEW.GET") == [2, b"127.0.0.1:7001", b"127.0.0.1:7002"]


@pytest.mark.parametrize("args, error", [
    (("127.0.0.1:7001", "abc"), "value is not an integer or out of range"),
    (("127.0.0.1:7001", "-1"), "value is not an integer or out of range"),
    (("127.0.0.1:7001", "1.5"), "value is not an integer or out of range"),
    (("127.0.0.1:7001", "99999999999999999999"), "value is not an integer or out of range"),
    (("", "0"), "server id must not be empty"),
    (("127.0.0.1:7001",), "wrong number of arguments for 'view.ping' command"),
    (("127.0.0.1:7001", "0", "x"), "wrong number of arguments for 'view.ping' command"),
])
def test_malformed_view_ping_is_an_error_and_changes_nothing(viewd, args, error):
    r = viewd.client()
    with pytest.raises(redis.ResponseError, match=error):
        r.execute_command("VIEW.PING", *args)
    assert r.execute_command("VIEW.GET") == [0, b"", b""]
    assert r.ping()  # the connection stays open


def test_view_get_does_not_count_as_a_ping(procs):
    vd = start_viewd(procs)
    r = vd.client(decode_responses=True)
    Clerk(r, "127.0.0.1:7001").ping(0)
    wait_for(lambda: get(r) and not is_alive(r, "127.0.0.1:7001"), DEADLINE, what="primary dead")


def test_replies_are_maps_in_resp3_and_flat_arrays_in_resp2(viewd):
    r2 = viewd.client(decode_responses=True, protocol=2)  # redis-py 8 defaults to RESP3
    r3 = viewd.client(decode_responses=True, protocol=3)
    r2.execute_command("VIEW.PING", "127.0.0.1:7001", 0)
    assert r3.execute_command("VIEW.PING", "127.0.0.1:7001", 1) == [1, "127.0.0.1:7001", ""]
    entry = raw(r3, "SENTINEL", "MASTER", "resp-kv")
    flat = raw(r2, "SENTINEL", "MASTER", "resp-kv")
    assert isinstance(entry, dict) and isinstance(flat, list)
    assert flat[::2] == list(entry)  # the same fields, in the same order
    stable = ("name", "ip", "port", "flags", "num-slaves", "num-other-sentinels", "quorum", "config-epoch")
    assert [dict(zip(flat[::2], flat[1::2]))[k] for k in stable] == [entry[k] for k in stable]
    assert list(entry)[:3] == ["name", "ip", "port"]
    assert (entry["name"], entry["ip"], entry["port"], entry["flags"]) == ("resp-kv", "127.0.0.1", "7001", "master")
    assert all(isinstance(value, str) for value in entry.values())  # Sentinel sends strings
    assert [m["name"] for m in raw(r3, "SENTINEL", "MASTERS")] == ["resp-kv"]


def test_sentinel_errors_are_redis_s(viewd):
    r = viewd.client()
    with pytest.raises(redis.ResponseError, match="No such master with that name"):
        r.execute_command("SENTINEL", "MASTER", "resp-kv")  # no primary yet
    r.execute_command("VIEW.PING", "127.0.0.1:7001", 0)
    for sub in ("MASTER", "SLAVES", "REPLICAS", "SENTINELS"):
        with pytest.raises(redis.ResponseError, match="No such master with that name"):
            r.execute_command("SENTINEL", sub, "other")
    assert r.execute_command("SENTINEL", "get-master-addr-by-name", "other") is None
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'nope'"):
        r.execute_command("SENTINEL", "nope")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'sentinel|master'"):
        r.execute_command("SENTINEL", "master")
    assert r.execute_command("SENTINEL", "sentinels", "resp-kv") == []
    assert r.execute_command("SENTINEL", "Get-Master-Addr-By-Name", "resp-kv") == [b"127.0.0.1", b"7001"]


def test_info_and_role_describe_a_sentinel(viewd):
    r = viewd.client(decode_responses=True)
    assert r.info("server")["redis_mode"] == "sentinel"
    assert r.info("sentinel")["sentinel_masters"] == 0
    assert r.execute_command("ROLE") == ["sentinel", []]
    r.execute_command("VIEW.PING", "127.0.0.1:7001", 0)
    r.execute_command("VIEW.PING", "127.0.0.1:7001", 1)
    r.execute_command("VIEW.PING", "127.0.0.1:7002", 0)
    info = r.info()
    assert info["sentinel_masters"] == 1
    assert info["master0"] == {"name": "resp-kv", "status": "ok", "address": "127.0.0.1:7001",
                               "slaves": 1, "sentinels": 1}
    assert (info["viewnum"], info["primary"], info["backup"]) == (2, "127.0.0.1:7001", "127.0.0.1:7002")
    text = raw(r, "INFO", "sentinel")
    assert text.startswith("# Sentinel\r\n") and "# Server" not in text
    assert r.execute_command("ROLE") == ["sentinel", ["resp-kv"]]
    hello = r.execute_command("HELLO", "3")
    assert hello["mode"] == "sentinel" and hello["proto"] == 3


def test_service_name_comes_from_the_command_line(procs):
    vd = start_viewd(procs, "--name", "shop")
    r = vd.client(decode_responses=True)
    r.execute_command("VIEW.PING", "127.0.0.1:7001", 0)
    assert r.execute_command("SENTINEL", "get-master-addr-by-name", "shop") == ["127.0.0.1", "7001"]
    assert r.execute_command("SENTINEL", "get-master-addr-by-name", "resp-kv") is None


# --------------------------------------------------------------------------- the process


def run_viewd(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "viewd", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, env={**os.environ, **(env or {})})


def test_sigterm_exits_0_after_closing_the_listener(procs):
    vd = start_viewd(procs)
    r = vd.client()
    r.execute_command("VIEW.PING", "127.0.0.1:7001", 0)
    assert vd.terminate() == 0
    with pytest.raises(redis.ConnectionError):
        vd.client(socket_connect_timeout=1).ping()
    assert "Traceback" not in vd.log()


@pytest.mark.parametrize("args, env, words", [
    (("--port", "nope"), None, "--port"),
    (("--port", "70000"), None, "--port"),
    (("--ping-interval", "0"), None, "--ping-interval"),
    (("--dead-pings", "-3"), None, "--dead-pings"),
    (("--log-level", "loud"), None, "--log-level"),
    (("--frobnicate",), None, "unrecognized arguments"),
    ((), {"RESP_KV_PORT": "nope"}, "--port"),
])
def test_bad_flag_exits_non_zero_with_one_error_line(args, env, words):
    done = run_viewd(*args, env=env)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("viewd: error:") and words in last
    assert "Traceback" not in done.stderr


def test_second_viewd_on_the_same_port_exits_1_with_one_line(viewd):
    done = run_viewd("--port", str(viewd.port))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "address already in use" in lines[0] and lines[0].startswith("viewd: error:")
    assert viewd.alive() and viewd.client().ping()


def test_viewd_restarts_on_the_same_port_at_once(procs):
    port = free_port()
    first = procs.add(viewd_proc(port))
    first.client().execute_command("VIEW.PING", "127.0.0.1:7001", 0)
    assert first.terminate() == 0
    second = procs.add(viewd_proc(port))
    assert second.client().execute_command("VIEW.GET") == [0, b"", b""]  # no state survives
