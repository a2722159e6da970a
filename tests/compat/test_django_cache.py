"""Django's own Redis cache backend (django.core.cache.backends.redis.RedisCache) against a
primary with a backup, through resp_kv.ConnectionPool (the URL names viewd), across a SIGKILL
of the primary: set, add, get_many, set_many (a MULTI/EXEC pipeline), touch (EXPIRE), incr,
delete_many and clear (FLUSHDB) all behave as on Redis."""

from __future__ import annotations

import pytest

from procs import wait_for, wait_settled

django = pytest.importorskip("django", reason="Django is a test dependency (pip install -e .[test])")


def cache_for(c, db: int = 2):
    from django.conf import settings
    from django.core.cache.backends.redis import RedisCache

    if not settings.configured:
        settings.configure()
    return RedisCache(f"redis://:{c.password}@{c.viewd.addr}/{db}" if c.password else f"redis://{c.viewd.addr}/{db}",
                      {"OPTIONS": {"pool_class": "resp_kv.ConnectionPool"}, "TIMEOUT": 300})


def exercise(cache, tag: str) -> None:
    cache.set(f"{tag}:a", {"n": 1, "tag": tag})
    assert cache.get(f"{tag}:a") == {"n": 1, "tag": tag}
    assert cache.add(f"{tag}:a", "other") is False and cache.add(f"{tag}:b", 10) is True
    cache.set_many({f"{tag}:c": [1, 2], f"{tag}:d": "x"})
    assert cache.get_many([f"{tag}:a", f"{tag}:c", f"{tag}:missing"]) == {f"{tag}:a": {"n": 1, "tag": tag},
                                                                          f"{tag}:c": [1, 2]}
    assert cache.touch(f"{tag}:d", 1000) is True and cache.touch(f"{tag}:missing") is False
    assert cache.incr(f"{tag}:b", 5) == 15 and cache.get(f"{tag}:b") == 15
    cache.delete_many([f"{tag}:c"])
    assert cache.get(f"{tag}:c") is None and cache.has_key(f"{tag}:d")


def test_django_cache_works_and_follows_a_failover(cluster):
    c = cluster(servers=2)
    wait_settled(c)
    cache = cache_for(c)
    exercise(cache, "before")
    viewnum, primary, backup = c.view()
    ttl_db2 = c.by_addr(primary).client(db=2).ttl(cache.make_and_validate_key("before:d"))
    assert 990 < ttl_db2 <= 1000  # touch() set it, in the cache's database
    c.by_addr(primary).kill()
    c.wait_view(lambda n, p, b: p == backup, 15, what="the backup promoted")
    # The pool's next requests find the new primary on their own (they retry while viewd moves on).
    assert cache.get("before:a") == {"n": 1, "tag": "before"} and cache.get("before:b") == 15
    exercise(cache, "after")
    new = c.by_addr(backup).client(db=2)
    wait_for(lambda: new.info("replication")["pb_role"] == "primary", what="the new primary serving")
    assert new.dbsize() == 6
    cache.clear()
    assert new.dbsize() == 0 and cache.get("after:a") is None
