"""Databases, expiry and transactions on a primary with a backup (issue 11): redis-py's own
pipeline() and transaction(), WATCH, keys expired by the primary's active expiry, then a
SIGKILL of the primary; the backup holds exactly the primary's data throughout
(DEBUG DIGEST), and TTLs go on counting on the new primary."""

from __future__ import annotations

import redis

from procs import wait_for, wait_settled


def digests(c):
    _, primary, backup = c.view()
    return [c.by_addr(a).client().execute_command("DEBUG", "DIGEST") for a in (primary, backup)]


def test_transactions_databases_and_expiry_replicate_exactly_and_survive_failover(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    viewnum, primary, backup = c.view()
    port = c.by_addr(primary).port
    r = redis.Redis(port=port)
    r3 = redis.Redis(port=port, db=3)

    pipe = r.pipeline()  # MULTI ... EXEC
    pipe.set("counter", 1).incrby("counter", 41).set("session", "s", ex=1000).expire("counter", 2000)
    assert pipe.execute() == [True, 42, True, True]
    assert r3.set("elsewhere", "db3") and r3.get("elsewhere") == b"db3" and r.get("elsewhere") is None

    def add_ten(p):
        value = int(p.get("counter"))
        p.multi()
        p.set("counter", value + 10, keepttl=True)
    assert r.transaction(add_ten, "counter") == [True]

    # A watched key changed by another client: EXEC runs nothing.
    with r.pipeline() as p:
        p.watch("counter")
        r3.set("unrelated", "x")
        redis.Redis(port=port).set("counter", 7)
        p.multi()
        p.set("counter", 1000)
        try:
            p.execute()
            raise AssertionError("EXEC ran although a watched key changed")
        except redis.WatchError:
            pass
    assert r.get("counter") == b"7"

    # Keys nobody reads again expire on the primary (active expiry) and go on the backup too.
    for i in range(50):
        r.set(f"short{i}", "v", px=100)
    b = c.by_addr(backup).client()
    wait_for(lambda: b.info("keyspace")["db0"]["keys"] == 2, what="the expired keys gone on the backup")
    assert r.info("stats")["expired_keys"] >= 50
    wait_for(lambda: len(set(digests(c))) == 1, what="equal digests")

    c.by_addr(primary).kill()
    c.wait_view(lambda n, p, b: p == backup, 15, what="the backup promoted")
    new = redis.Redis(port=c.by_addr(backup).port)
    wait_for(lambda: new.info("replication")["pb_role"] == "primary", what="the new primary serving")
    assert new.get("counter") == b"7" and new.get("session") == b"s"
    assert 900 < new.ttl("session") <= 1000  # the time the primary fixed, still counting
    assert redis.Redis(port=c.by_addr(backup).port, db=3).get("elsewhere") == b"db3"
    assert new.info("keyspace")["db3"]["keys"] == 2


def test_the_smart_client_and_the_sentinel_client_work_in_another_database(cluster):
    from redis.sentinel import Sentinel

    import resp_kv

    c = cluster(servers=2)
    wait_settled(c)
    kv = resp_kv.Client(c.viewd.addr, db=5, timeout=20, **c.client_options())
    assert kv.set("k", "five", ex=100) and kv.get("k") == b"five"
    sentinel = Sentinel([("127.0.0.1", c.viewd.port)], socket_timeout=2)
    other = sentinel.master_for("resp-kv", db=6, socket_timeout=2)
    assert other.set("k", "six") and other.get("k") == b"six"
    viewnum, primary, backup = c.view()
    plain = c.by_addr(primary).client()
    assert plain.get("k") is None and plain.info("keyspace").keys() == {"db5", "db6"}
    c.by_addr(primary).kill()
    c.wait_view(lambda n, p, b: p == backup, 15, what="the backup promoted")
    assert kv.get("k") == b"five" and 90 < kv.ttl("k") <= 100  # the smart client followed, in db 5
