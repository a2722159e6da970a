"""Stock Sentinel clients pointed at viewd: redis-py's ``redis.sentinel.Sentinel`` (RESP2 and
RESP3) and ``redis-cli``. Servers are simulated by VIEW.PING calls from the test, except where a
real redis-server stands in for the primary to carry a client's commands."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import redis
from redis.sentinel import MasterNotFoundError, Sentinel

from procs import Proc, free_port, viewd_proc, wait_for

INTERVAL = 0.05
DEAD = 20  # 1 s: the test pings before each check, so live servers never look dead
PRIMARY, BACKUP, IDLE = "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"


@pytest.fixture
def vd(procs):
    return procs.add(viewd_proc(None, "--ping-interval", str(INTERVAL), "--dead-pings", str(DEAD)))


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def sentinel(request, vd):
    s = Sentinel([("127.0.0.1", vd.port)], protocol=request.param, socket_timeout=2)
    yield s
    for client in s.sentinels:
        client.close()


class Servers:
    """Simulated servers: each pings with the last view number it heard of."""

    def __init__(self, vd: Proc):
        self.client = vd.client(decode_responses=True)
        self.heard: dict[str, int] = {}

    def ping(self, *server_ids: str) -> list:
        for server_id in server_ids:
            view = self.client.execute_command("VIEW.PING", server_id, self.heard.get(server_id, 0))
            self.heard[server_id] = view[0]
        return view


def primary_with_backup(vd: Proc) -> Servers:
    servers = Servers(vd)
    servers.ping(PRIMARY)  # view 1: PRIMARY alone
    servers.ping(PRIMARY)  # acknowledges view 1
    assert servers.ping(BACKUP) == [2, PRIMARY, BACKUP]
    servers.ping(PRIMARY, BACKUP)  # PRIMARY hears of view 2 ...
    servers.ping(PRIMARY)  # ... and acknowledges it
    assert servers.client.info("view")["acked"] == 1
    return servers


def test_no_primary_means_no_master(sentinel):
    with pytest.raises(MasterNotFoundError):
        sentinel.discover_master("resp-kv")
    assert sentinel.discover_slaves("resp-kv") == []
    assert sentinel.sentinels[0].sentinel_masters() == {}
    assert sentinel.sentinels[0].sentinel_get_master_addr_by_name("resp-kv", return_responses=True) is None


def test_discover_master_finds_the_primary(sentinel, vd):
    servers = primary_with_backup(vd)
    servers.ping(PRIMARY, BACKUP)
    assert sentinel.discover_master("resp-kv") == ("127.0.0.1", 7001)
    addr = sentinel.sentinels[0].sentinel_get_master_addr_by_name("resp-kv", return_responses=True)
    assert addr == (b"127.0.0.1", 7001)


def test_discover_slaves_finds_the_backup(sentinel, vd):
    servers = primary_with_backup(vd)
    servers.ping(PRIMARY, BACKUP)
    assert sentinel.discover_slaves("resp-kv") == [("127.0.0.1", 7002)]
    [replica] = sentinel.sentinels[0].sentinel_slaves("resp-kv")
    assert replica["is_slave"] and not replica["is_sdown"] and not replica["is_odown"]
    assert (replica["name"], replica["master-link-status"], replica["master-port"]) in (
        ("127.0.0.1:7002", "ok", 7001), (b"127.0.0.1:7002", b"ok", 7001))


def test_master_state_is_what_redis_py_checks(sentinel, vd):
    servers = primary_with_backup(vd)
    servers.ping(PRIMARY)
    state = sentinel.sentinels[0].sentinel_master("resp-kv")
    assert state["is_master"] and not state["is_sdown"] and not state["is_odown"]
    assert state["num-other-sentinels"] == 0 and state["num-slaves"] == 1 and state["quorum"] == 1
    assert state["port"] == 7001 and state["config-epoch"] == 2
    masters = sentinel.sentinels[0].sentinel_masters()
    assert list(masters) == ["resp-kv"] and masters["resp-kv"]["port"] == 7001
    assert sentinel.sentinels[0].sentinel_sentinels("resp-kv") == []


def test_unknown_service_name_is_not_found(sentinel, vd):
    primary_with_backup(vd)
    with pytest.raises(MasterNotFoundError):
        sentinel.discover_master("other")
    assert sentinel.discover_slaves("other") == []
    assert sentinel.sentinels[0].sentinel_get_master_addr_by_name("other", return_responses=True) is None
    with pytest.raises(redis.ResponseError, match="No such master with that name"):
        sentinel.sentinels[0].sentinel_master("other")


def test_discover_master_follows_a_failover(sentinel, vd):
    servers = primary_with_backup(vd)
    servers.ping(IDLE)
    assert sentinel.discover_master("resp-kv") == ("127.0.0.1", 7001)
    # PRIMARY stops pinging: BACKUP is promoted and IDLE becomes its backup, in one view.
    wait_for(lambda: servers.ping(BACKUP, IDLE)[1] == BACKUP, 10, what="backup promoted")
    assert sentinel.discover_master("resp-kv") == ("127.0.0.1", 7002)
    assert sentinel.discover_slaves("resp-kv") == [("127.0.0.1", 7003)]


def test_dead_primary_that_cannot_be_replaced_is_reported_down(sentinel, vd):
    servers = Servers(vd)
    servers.ping(PRIMARY)
    servers.ping(PRIMARY)
    client = sentinel.sentinels[0]
    wait_for(lambda: client.sentinel_master("resp-kv")["is_sdown"], 10, what="primary subjectively down")
    with pytest.raises(MasterNotFoundError):
        sentinel.discover_master("resp-kv")
    # Like Sentinel, the address is still known; the view is stuck on the dead primary.
    assert client.sentinel_get_master_addr_by_name("resp-kv", return_responses=True) == (b"127.0.0.1", 7001)


def test_master_for_reaches_the_primary_a_real_redis_server_stands_in_for(procs, vd, sentinel):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    procs.add(Proc(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], port, "redis-server"))
    servers = Servers(vd)
    servers.ping(f"127.0.0.1:{port}")
    master = sentinel.master_for("resp-kv", socket_timeout=2)
    assert master.set("k", "v") and master.get("k") == b"v"
    assert master.connection_pool.get_master_address() == ("127.0.0.1", port)


def redis_cli(vd: Proc, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "-p", str(vd.port), *args], capture_output=True, text=True, timeout=10)


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_redis_cli_get_master_addr_by_name(vd):
    assert redis_cli(vd, "SENTINEL", "get-master-addr-by-name", "resp-kv").stdout == "\n"  # nil
    Servers(vd).ping(PRIMARY)
    done = redis_cli(vd, "SENTINEL", "get-master-addr-by-name", "resp-kv")
    assert done.returncode == 0 and done.stdout == "127.0.0.1\n7001\n"
    assert redis_cli(vd, "-3", "SENTINEL", "get-master-addr-by-name", "resp-kv").stdout == "127.0.0.1\n7001\n"
    assert redis_cli(vd, "SENTINEL", "get-master-addr-by-name", "other").stdout == "\n"
    assert redis_cli(vd, "ROLE").stdout == "sentinel\nresp-kv\n"
