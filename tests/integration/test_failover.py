"""Primary/backup replication with real processes: the seed's scenarios, killed with SIGKILL."""

import random
import threading
import time

import pytest
import redis
from redis.sentinel import Sentinel

import resp_kv
from procs import digest, wait_for, wait_role, wait_settled


def smart(cluster, **kwargs):
    kwargs.setdefault("timeout", 30)
    return resp_kv.Client(cluster.viewd.addr, **kwargs)


def test_first_server_becomes_primary_and_serves(cluster):
    c = cluster(1)
    primary = c.primary()
    kv = smart(c)
    assert kv.set("a", "1") and kv.get("a") == b"1"
    assert c.view() == (1, primary.addr, "")


def test_a_new_backup_receives_the_full_state(cluster):
    c = cluster(1)
    primary = c.primary()
    kv = smart(c)
    for i in range(2000):
        kv.set(f"k{i}", f"v{i}")
    kv.puthash("h", "x")
    backup = c.add_server()
    wait_settled(c)
    wait_role(backup, "backup")
    assert c.view()[2] == backup.addr
    assert backup.client().info("keyspace")["db0"]["keys"] == 2001
    assert digest(backup) == digest(primary)


def test_primary_failure_keeps_writes_from_before_and_after_the_backup_joined(cluster):
    c = cluster(1)
    first = c.primary()
    kv = smart(c)
    for i in range(100):
        kv.set(f"before{i}", i)
    second = c.add_server()
    wait_settled(c)
    for i in range(100):
        kv.set(f"after{i}", i)
    first.kill()
    c.wait_view(lambda n, p, b: p == second.addr, what="the backup to take over")
    assert kv.mget([f"before{i}" for i in range(100)]) == [str(i).encode() for i in range(100)]
    assert kv.mget([f"after{i}" for i in range(100)]) == [str(i).encode() for i in range(100)]


def test_a_retried_puthash_after_failover_returns_its_first_previous_value(cluster):
    c = cluster(2)
    old = c.primary()
    wait_settled(c)
    client = old.client()
    client.set("chain", "start")
    session = client.execute_command("KV.SESSION")
    assert client.execute_command("KV.ONCE", session, 1, "PUTHASH", "chain", "x") == b"start"
    hashed = client.get("chain")
    old.kill()
    _, new_addr, _ = c.wait_view(lambda n, p, b: p and p != old.addr, what="failover")
    new = c.by_addr(new_addr)
    wait_role(new, "primary")
    again = new.client()
    # The reply was "lost"; the client retries the same request at the new primary.
    assert again.execute_command("KV.ONCE", session, 1, "PUTHASH", "chain", "x") == b"start"
    assert again.get("chain") == hashed  # applied once, not hashed a second time
    assert again.execute_command("KV.ONCE", session, 2, "PUTHASH", "chain", "y") == hashed


def test_fresh_server_after_all_servers_died_never_serves(cluster):
    c = cluster(2)
    c.primary()
    wait_settled(c)
    smart(c).set("gone", "forever")
    for s in list(c.servers):
        s.kill()
    fresh = c.add_server()
    kv = smart(c, timeout=1.5)
    with pytest.raises(resp_kv.Unavailable):
        kv.get("gone")  # a client Get keeps waiting: there is nothing true to answer
    with pytest.raises(redis.exceptions.ReadOnlyError):
        fresh.client().get("gone")


def test_put_right_after_a_backup_failure(cluster):
    c = cluster(2)
    primary = c.primary()
    wait_settled(c)
    kv = smart(c)
    backup = next(s for s in c.servers if s is not primary)
    backup.kill()
    assert kv.set("right-after-backup-died", "yes")  # waits for the view to drop the backup
    third = c.add_server()
    wait_settled(c)
    primary.kill()
    c.wait_view(lambda n, p, b: p == third.addr, what="the new backup to take over")
    assert kv.get("right-after-backup-died") == b"yes"


def test_put_right_after_a_primary_failure(cluster):
    c = cluster(2)
    primary = c.primary()
    wait_settled(c)
    kv = smart(c)
    kv.set("before", "1")
    primary.kill()
    started = time.monotonic()
    assert kv.set("right-after-primary-died", "yes")
    assert time.monotonic() - started < 10
    assert kv.get("before") == b"1" and kv.get("right-after-primary-died") == b"yes"


def test_concurrent_puts_to_the_same_keys_leave_primary_and_backup_identical(cluster):
    c = cluster(2)
    primary = c.primary()
    wait_settled(c)
    backup = c.by_addr(c.view()[2])

    def writer(n):
        kv = smart(c)
        rng = random.Random(n)
        for i in range(300):
            key = f"shared{rng.randrange(10)}"
            if rng.random() < 0.5:
                kv.set(key, f"{n}-{i}")
            else:
                kv.puthash(key, str(i))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert digest(primary) == digest(backup)
    assert primary.client().info("replication")["unacknowledged_batches"] == 0


def test_stock_sentinel_client_follows_a_failover(cluster):
    c = cluster(2)
    old = c.primary()
    wait_settled(c)
    for protocol in (2, 3):
        primary = Sentinel([("127.0.0.1", c.viewd.port)], protocol=protocol, socket_timeout=2).master_for("resp-kv")
        primary.set(f"sentinel{protocol}", "before")
    old.kill()
    primary = Sentinel([("127.0.0.1", c.viewd.port)], socket_timeout=2).master_for("resp-kv")

    def works():
        try:
            return primary.set("sentinel-after", "ok")
        except (redis.ConnectionError, redis.exceptions.ReadOnlyError):
            return False

    wait_for(works, 15, what="the Sentinel client to reach the new primary")
    assert primary.get("sentinel2") == b"before" and primary.get("sentinel3") == b"before"


def test_repeated_crash_and_restart_keeps_every_client_write(cluster):
    c = cluster(3)
    c.primary()
    wait_settled(c)
    stop = threading.Event()
    errors = []

    def client_loop(n):
        kv = smart(c, timeout=60)
        i = 0
        try:
            while not stop.is_set():
                kv.set(f"c{n}", i)
                got = kv.get(f"c{n}")
                if got != str(i).encode():
                    errors.append(f"client {n}: wrote {i}, read {got!r}")
                i += 1
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"client {n}: {exc!r}")

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    rng = random.Random(42)
    deadline = time.monotonic() + 20
    kills = 0
    while time.monotonic() < deadline:
        wait_settled(c, timeout=30)  # the seed's deadlock (primary dies unacknowledged) is not tested
        victim = rng.choice([s for s in c.servers if s.alive()])
        victim.kill()
        kills += 1
        c.servers.remove(victim)
        time.sleep(rng.uniform(0.5, 1.5))  # the nemesis' pace, not a wait for a condition
        c.add_server(victim.port)
    stop.set()
    for t in threads:
        t.join(90)
    assert not errors, errors
    assert kills >= 5
    kv = smart(c)
    assert all(kv.get(f"c{n}") is not None for n in range(3))


def test_a_backup_restarted_quickly_and_chosen_again_gets_the_state_again(cluster):
    c = cluster(2)
    primary = c.primary()
    wait_settled(c)
    kv = smart(c)
    kv.set("before", "1")
    backup = c.by_addr(c.view()[2])
    restarted = c.restart(backup)  # same port, same name, well within the dead time
    c.wait_view(lambda n, p, b: p == primary.addr and b == restarted.addr and n > 2,
                what="the restarted backup to be chosen again in a new view")
    wait_settled(c)
    assert kv.set("after", "2")
    assert digest(restarted) == digest(primary)
    assert restarted.client().info("keyspace")["db0"]["keys"] == 2


def test_a_large_exactly_once_table_reaches_a_new_backup_in_chunks(cluster):
    c = cluster(1)
    primary = c.primary()
    client = primary.client()
    pipe = client.pipeline(transaction=False)
    for n in range(2500):
        pipe.execute_command("KV.SESSION")
    sessions = pipe.execute()
    for session in sessions:  # more than one PB.SESSIONS chunk (1000 entries each)
        pipe.execute_command("KV.ONCE", session, 1, "INCR", "counter")
    pipe.execute()
    backup = c.add_server()
    wait_settled(c)
    assert backup.client().info("stats")["exactly_once_clients"] == 2500
    primary.kill()
    c.wait_view(lambda n, p, b: p == backup.addr, what="the backup to take over")
    wait_role(backup, "primary")
    again = backup.client()
    # Client 1234's request, retried at the new primary, gets its first reply: no new increment.
    assert again.execute_command("KV.ONCE", sessions[1234], 1, "INCR", "counter") == 1235
    assert again.get("counter") == b"2500"
