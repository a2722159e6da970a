"""A new backup that restarts before viewd ever saw it ping a view number (issue 7).

viewd counts a ``Ping(0)`` as a restart only from a server that had pinged a view number. A new
pbd pings 0 once, and the reply may already name it backup; it then receives the state, and if
it is SIGKILLed and restarted before viewd sees its next ping, the restarted process's
``Ping(0)`` looks like a new server's: viewd keeps it as backup, in the same view.

pbd's own guard has to cover that, and these tests prove it with real processes:

* the primary's link to the backup breaks with the kill; its ``PB.RESUME`` to the restarted
  process is answered ``NOTSYNCED`` (after ``TRYAGAIN`` while it has not learned the view), so
  the state is sent again, and no client reply is released before the backup holds it;
* if the primary dies before that, viewd promotes the backup without the state: it pings 0 as a
  primary of a view whose state it does not hold, and never serves (stuck, never wrong).

To make "viewd never saw it ping a view number" certain rather than a race against the ping
interval, the backup reaches viewd through a fault proxy that drops its ``VIEW.PING`` requests
carrying a nonzero view number, and viewd waits ``DEAD_PINGS`` intervals before declaring a
server dead, which leaves time to restart the pbd on the same port.
"""

from __future__ import annotations

import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import procs
import resp_kv
from faults import FaultProxy, request_args
from procs import free_port, role, wait_for, wait_role, wait_settled

INTERVAL = 0.1
DEAD_PINGS = 40  # 4 s: room to SIGKILL and restart a pbd within its dead time


@pytest.fixture
def patient_cluster(cluster):
    """``cluster(...)``, with a viewd that declares a server dead after DEAD_PINGS intervals."""

    def make(*args, **kwargs):
        return cluster(*args, viewd_args=("--dead-pings", str(DEAD_PINGS)), **kwargs)

    return make


def nonzero_view_ping(frame: bytes) -> bool:
    args = request_args(frame)
    return len(args) == 3 and args[0].upper() == b"VIEW.PING" and args[2] != b"0"


def replication(proc: procs.Proc) -> dict:
    return proc.client(socket_timeout=2).info("replication")


def stats(proc: procs.Proc) -> dict:
    return proc.client(socket_timeout=2).info("stats")


def viewd_status(c: procs.Cluster, server_id: str) -> dict | None:
    for key, value in c.viewd.client(decode_responses=True).info("view").items():
        if key.startswith("server") and isinstance(value, dict) and value["id"] == server_id:
            return value
    return None


def viewd_info(c: procs.Cluster) -> dict:
    return c.viewd.client(decode_responses=True).info("view")


def new_backup_with_the_state(c: procs.Cluster, kv: resp_kv.Client, proxied: bool):
    """A primary with acknowledged writes, then a new backup whose nonzero pings viewd never
    sees, holding the full state of the view it was made backup in."""
    primary = c.primary()
    wait_settled(c)
    written = {}
    for i in range(200):
        assert kv.set(f"before{i}", i)
        written[f"before{i}"] = str(i).encode()
    port = free_port()
    to_viewd = FaultProxy(0, "127.0.0.1", c.viewd.port, seed=port).start()
    to_viewd.request_filter = nonzero_view_ping
    to_viewd.drop_request_rate = 1.0
    c.viewd_proxies[port] = to_viewd  # add_server() sends this server's pings through it
    backup = c.add_server(port, proxied=proxied)
    viewnum = 2
    c.wait_view(lambda n, p, b: (n, p, b) == (viewnum, primary.addr, backup.addr),
                what="the new server as backup")
    wait_settled(c)  # the primary acknowledged view 2: the backup holds the full state
    wait_for(lambda: to_viewd.requests_dropped >= 1, 10, what="the backup to ping a view number (dropped)")
    assert replication(backup)["state_view"] == viewnum
    assert procs.digest(backup) == procs.digest(primary)
    status = viewd_status(c, backup.addr)
    assert status["role"] == "backup" and status["restarted"] == 0
    for i in range(100):  # acknowledged once the backup holds them
        assert kv.set(f"during{i}", i)
        written[f"during{i}"] = str(i).encode()
    return primary, backup, to_viewd, written


def restart_unseen(c: procs.Cluster, backup: procs.Proc, to_viewd: FaultProxy, viewnum: int) -> procs.Proc:
    """SIGKILL the backup and start it again on the same port, within its dead time; return
    once viewd has answered the new process's Ping(0) (it then knows the view)."""
    restarted = c.restart(backup)

    def learned_the_view() -> bool:
        known = replication(restarted)["view"]
        if known not in (0, viewnum):  # pytest.fail is not an Exception: wait_for lets it through
            pytest.fail(f"viewd moved on to view {known}: was the restart slower than {DEAD_PINGS} pings?")
        return known == viewnum

    wait_for(learned_the_view, 10, what="the restarted backup to learn the view")
    to_viewd.drop_request_rate = 0.0  # from now on viewd sees its pings as they are
    return restarted


def test_restarted_new_backup_stays_backup_gets_the_state_again_and_takes_over(patient_cluster):
    c = patient_cluster(1, ping_interval=INTERVAL)
    kv = resp_kv.Client(c.viewd.addr, timeout=30)
    primary, backup, to_viewd, written = new_backup_with_the_state(c, kv, proxied=False)
    assert stats(primary)["state_transfers_sent"] == 1

    restarted = restart_unseen(c, backup, to_viewd, 2)
    # viewd took the restarted process's Ping(0) for a new server's: same view, same backup.
    assert c.view() == (2, primary.addr, backup.addr)
    status = viewd_status(c, backup.addr)
    assert status["alive"] == 1 and status["restarted"] == 0 and viewd_info(c)["acked"] == 1
    assert "view 3:" not in c.viewd.log()

    # The primary's link broke; PB.RESUME got NOTSYNCED; the state is sent again.
    wait_for(lambda: (replication(restarted)["state_view"] == 2
                      and replication(primary)["backup_in_sync"] == "yes"),
             20, what="the restarted backup to receive the state again")
    assert stats(restarted)["state_transfers_received"] == 1
    assert stats(primary)["state_transfers_sent"] == 2
    assert c.view() == (2, primary.addr, backup.addr)
    assert procs.digest(restarted) == procs.digest(primary)

    for i in range(100):
        assert kv.set(f"after{i}", i)
        written[f"after{i}"] = str(i).encode()
    keys = list(written)
    assert kv.mget(keys) == [written[k] for k in keys]

    primary.kill()
    c.wait_view(lambda n, p, b: (n, p) == (3, restarted.addr), timeout=20, what="the backup to be promoted")
    wait_role(restarted, "primary")
    assert kv.mget(keys) == [written[k] for k in keys]  # every acknowledged write
    assert kv.set("after-failover", "yes") and kv.get("after-failover") == b"yes"


def test_primary_killed_before_the_restarted_new_backup_has_the_state_never_serves(patient_cluster):
    c = patient_cluster(1, ping_interval=INTERVAL)
    kv = resp_kv.Client(c.viewd.addr, timeout=30)
    primary, backup, to_viewd, written = new_backup_with_the_state(c, kv, proxied=True)
    to_backup = c.proxies[backup.port]  # at the backup's advertised address: the primary's links
    to_backup.blocked = True  # the primary cannot reach the backup from now on

    restarted = restart_unseen(c, backup, to_viewd, 2)
    assert c.view() == (2, primary.addr, backup.addr)
    assert viewd_status(c, backup.addr)["restarted"] == 0
    assert replication(restarted)["state_view"] == 0  # it holds nothing, and cannot get it
    assert replication(primary)["backup_in_sync"] == "no"

    # A write now is never acknowledged: the backup does not hold it.
    with pytest.raises(resp_kv.Unavailable):
        resp_kv.Client(c.viewd.addr, timeout=1.5).set("never-acknowledged", "x")

    primary.kill()
    # viewd promotes the backup (the view was acknowledged); it knows it holds no state.
    c.wait_view(lambda n, p, b: (n, p, b) == (3, backup.addr, ""), timeout=20,
                what="the backup to be promoted")
    wait_role(restarted, "restarted")
    direct = restarted.client(socket_timeout=2, retry=Retry(NoBackoff(), 0))
    keys = list(written) + ["never-acknowledged"]
    # Stuck, and never wrong, for 2 s of viewd's ticks: checked on every poll, failing at once.
    start = viewd_info(c)["ticks"]
    deadline = time.monotonic() + 20
    while viewd_info(c)["ticks"] < start + 20:
        assert time.monotonic() < deadline, "viewd stopped ticking"
        assert c.view() == (3, backup.addr, "") and viewd_info(c)["acked"] == 0
        assert role(restarted) == "restarted"
        for key in keys[::50]:
            with pytest.raises(redis.exceptions.ReadOnlyError):
                direct.get(key)  # never a value: not the old one, not a missing one
        time.sleep(INTERVAL)  # the polling pace
    with pytest.raises(resp_kv.Unavailable):
        resp_kv.Client(c.viewd.addr, timeout=1.5).get("before0")
    assert "Traceback" not in restarted.log()
