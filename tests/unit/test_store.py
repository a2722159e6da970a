"""The key/value state machine and its exactly-once table, driven directly."""

from resp_kv.protocol import OK, Error
from resp_kv.store import NOT_ISSUED, Sessions, Store, fnv1a_32, session_id
from storecalls import run


def once(store, client, seq, *args, now=10.0):
    store.now = now
    return run(store, "KV.ONCE", client, seq, *args)


def test_fnv1a_matches_reference_vectors():
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968


def test_puthash_chain_from_absent_key_matches_the_spec_example():
    store = Store()
    previous = [run(store, "PUTHASH", "k", str(i)) for i in range(100)]
    assert previous[0] == b""
    assert run(store, "GET", "k") == b"3868028174"
    # each reply is the value before, and each new value is the hash of previous + argument
    assert previous[1] == str(fnv1a_32(b"0")).encode()
    assert previous[2] == str(fnv1a_32(previous[1] + b"1")).encode()


def test_get_set_del_exists_mget_mset_dbsize_flushall():
    s = Store()
    assert run(s, "GET", "a") is None
    assert run(s, "SET", "a", "1") is OK
    assert run(s, "MSET", "b", "2", "c", "3") is OK
    assert run(s, "MGET", "a", "x", "c") == [b"1", None, b"3"]
    assert run(s, "EXISTS", "a", "a", "x") == 2
    assert run(s, "DBSIZE") == 3
    assert run(s, "DEL", "a", "x", "b") == 2
    assert run(s, "DBSIZE") == 1
    assert run(s, "FLUSHALL") is OK and run(s, "DBSIZE") == 0
    assert run(s, "FLUSHALL", "bogus") == Error("ERR syntax error")
    assert run(s, "MSET", "a", "1", "b") == Error("ERR wrong number of arguments for 'mset' command")


def test_incr_counts_and_refuses_non_integers_and_overflow():
    s = Store()
    assert run(s, "INCR", "n") == 1 and run(s, "INCR", "n") == 2
    assert run(s, "GET", "n") == b"2"
    for bad in ("abc", " 1", "+1", "01", "1.5", ""):
        run(s, "SET", "x", bad)
        assert run(s, "INCR", "x") == Error("ERR value is not an integer or out of range"), bad
    run(s, "SET", "x", "-5")
    assert run(s, "INCR", "x") == -4
    run(s, "SET", "x", str(2**63 - 1))
    assert run(s, "INCR", "x") == Error("ERR increment or decrement would overflow")


def test_kv_once_returns_the_first_reply_to_a_retry_without_applying_again():
    s = Store()
    assert once(s, "c1", 1, "PUTHASH", "k", "x") == b""
    value = run(s, "GET", "k")
    assert once(s, "c1", 1, "PUTHASH", "k", "x") == b""  # the retry: same reply, not hashed again
    assert run(s, "GET", "k") == value
    assert once(s, "c1", 2, "PUTHASH", "k", "y") == value
    assert once(s, "c1", 1, "PUTHASH", "k", "x").startswith("ERR stale request")
    assert len(s.sessions) == 1
    assert s.sessions.table[b"c1"][2] == 10.0  # the time the store was given, not a clock


def test_kv_once_refuses_what_it_cannot_wrap():
    s = Store()
    assert once(s, "c1", 1, "KV.ONCE", "c2", 1, "GET", "k").startswith("ERR KV.ONCE cannot run")
    assert once(s, "c1", 1, "PING").startswith("ERR KV.ONCE cannot run")
    assert once(s, "c1", 1, "GET") == Error("ERR wrong number of arguments for 'get' command")
    assert once(s, "c1", "x", "GET", "k") == Error("ERR KV.ONCE sequence number is not an integer")
    assert len(s.sessions) == 0


def test_run_ignores_what_is_not_a_data_command_with_its_arity():
    s = Store()
    assert run(s, "PING") is None and run(s, "GET") is None
    assert run(s, "set", "k", "v") == OK and run(s, "GeT", "k") == b"v"


def test_idle_clients_expire_and_the_table_is_bounded():
    sessions = Sessions(ttl=5, max_sessions=3)
    sessions.record(b"a", 1, b"x", now=0)
    sessions.record(b"b", 1, b"y", now=4)
    assert len(sessions) == 2 and sessions.memory() > 0
    sessions.record(b"c", 1, b"z", now=6)  # a has been idle 6 s > 5 s
    assert sessions.lookup(b"a", 1) == (False, None)
    assert sessions.lookup(b"b", 1) == (True, b"y")
    sessions.record(b"d", 1, OK, now=7)
    sessions.record(b"e", 1, OK, now=7)  # four entries > max 3: the least recently used goes
    assert len(sessions) == 3 and sessions.lookup(b"b", 1) == (False, None)


def test_snapshot_is_a_frozen_copy_in_chunks():
    s = Store()
    for i in range(10):
        run(s, "SET", f"k{i}", f"v{i}")
    for n in range(5):
        once(s, b"client%d" % n, 1, "GET", "k0", now=1.5)
    snap = s.snapshot()
    run(s, "SET", "k0", "changed")
    chunks = list(snap.chunks(4, 1 << 20))
    assert [(kind, len(c)) for kind, c in chunks] == [
        (b"PB.LOAD", 24), (b"PB.LOAD", 24), (b"PB.LOAD", 12), (b"PB.SESSIONS", 16), (b"PB.SESSIONS", 4)]
    flat = [x for kind, c in chunks if kind == b"PB.LOAD" for x in c]  # db, key, expiry, type, 1, value
    assert dict(zip(flat[1::6], flat[5::6]))[b"k0"] == b"v0" and set(flat[::6]) == {b"0"}
    assert set(flat[3::6]) == {b"string"} and set(flat[4::6]) == {b"1"}
    sessions = [x for kind, c in chunks if kind == b"PB.SESSIONS" for x in c]
    assert sessions[:4] == [b"client0", b"1", b"1.5", b"$2\r\nv0\r\n"]


def test_snapshot_chunks_are_bounded_in_bytes_too_and_a_large_value_goes_alone():
    s = Store()
    for key, size in ((b"a", 400), (b"b", 400), (b"c", 400), (b"big", 5000), (b"d", 10)):
        s.db.data[key] = b"x" * size
    chunks = [c for kind, c in s.snapshot().chunks(1000, 1000)]
    assert [c[1::6] for c in chunks] == [[b"a", b"b"], [b"c"], [b"big"], [b"d"]]


def test_the_exactly_once_table_is_bounded_in_bytes_counting_ids_and_replies():
    sessions = Sessions(ttl=100, max_sessions=100, max_bytes=3 * (Sessions.ENTRY_OVERHEAD + 64 + 100))
    for n in range(3):
        sessions.record(b"%064d" % n, 1, b"r" * 100, now=n)
    assert len(sessions) == 3 and sessions.memory() == 3 * (Sessions.ENTRY_OVERHEAD + 64 + 100)
    sessions.record(b"%064d" % 3, 1, b"r" * 100, now=3)  # one entry too many bytes: the oldest goes
    assert len(sessions) == 3 and sessions.lookup(b"%064d" % 0, 1) == (False, None)


def test_kv_once_refuses_client_ids_longer_than_64_bytes():
    s = Store()
    assert once(s, "c" * 65, 1, "SET", "k", "v") == Error("ERR KV.ONCE client id longer than 64 bytes")
    assert run(s, "GET", "k") is None
    assert once(s, "c" * 64, 1, "SET", "k", "v") == OK


def test_with_a_session_key_only_ids_the_cluster_issued_may_write():
    s = Store(session_key=b"secret")
    issued = session_id(b"secret", b"0123abcd")
    assert once(s, issued, 1, "SET", "k", "v") == OK
    assert once(s, issued, 1, "SET", "k", "other") == OK  # a retry: the first reply, not applied again
    assert s.db.data[b"k"] == b"v"
    for forged in (b"client-1", b"0123abcd", session_id(b"guess", b"0123abcd"), b"0123abcd." + b"0" * 32):
        assert once(s, forged, 1, "SET", "k", "planted") == NOT_ISSUED
    assert s.db.data[b"k"] == b"v" and len(s.sessions) == 1
    assert session_id(None, b"0123abcd") == b"0123abcd"  # no secret: the open channel, any id goes
    assert once(Store(), b"client-1", 1, "SET", "k", "v") == OK


def test_a_random_pick_reaches_the_backup_as_its_effect_and_under_kv_once_as_its_reply():
    primary, backup = Store(), Store()
    for key in ("a", "b", "c"):
        run(primary, "SET", key, "1")
        backup.apply([b"SET", key.encode(), b"1"])
    assert run(primary, "RANDOMKEY") in (b"a", b"b", b"c")
    assert primary.effects == []  # the backup runs nothing for a read that picked at random
    primary.effects = None
    picked = once(primary, b"c1", 1, "RANDOMKEY")
    effects, primary.effects = primary.effects, None
    assert effects == [[b"KV.RECORD", b"c1", b"1", b"$1\r\n%b\r\n" % picked]]
    for args in effects:
        backup.apply(args)
    # After a failover, the retry gets the primary's pick, not a new one.
    assert all(once(backup, b"c1", 1, "RANDOMKEY") == picked for _ in range(20))
    assert backup.effects is None  # a retry answered from the table decides nothing


def test_a_container_a_snapshot_holds_is_copied_before_it_changes():
    from collections import deque

    s = Store()
    s.db.data[b"l"] = deque([b"x"])
    snap = s.snapshot()
    assert s.container(b"l", deque) is not snap.dbs[0][0][b"l"]  # copied on the first change
    s.container(b"l", deque).append(b"y")
    assert snap.dbs[0][0][b"l"] == deque([b"x"]) and s.db.data[b"l"] == deque([b"x", b"y"])
    chunks = list(snap.chunks(100, 1 << 20))
    assert chunks[0] == (b"PB.LOAD", [b"0", b"l", b"-1", b"list", b"1", b"x"])
    assert s.frozen == set()  # the snapshot is sent: nothing is frozen any more
    same = s.container(b"l", deque)
    assert s.container(b"l", deque) is same


def test_a_large_container_crosses_in_pieces_and_arrives_whole_with_types_and_expiry():
    from collections import deque

    from resp_kv.keyspace.values import ZSet

    s = Store()
    s.db.data.update({b"h": {b"f%d" % i: b"v%d" % i for i in range(25)}, b"l": deque(b"%d" % i for i in range(30)),
                      b"s": {b"m%d" % i for i in range(7)}, b"z": ZSet([(b"a", 1.5), (b"b", float("-inf")), (b"c", 0.1)]),
                      b"str": b"v"})
    s.db.expires[b"l"] = 123456
    chunks = list(s.snapshot().chunks(10, 1 << 20))
    assert all(len(c) <= 10 + 5 * 5 for _, c in chunks) and len(chunks) >= 8
    copy = Store()
    for kind, items in chunks:
        copy.load_chunk(kind, items)
    assert copy.digest() == s.digest() and copy.db.expires == {b"l": 123456}
    assert list(copy.db.data[b"l"]) == list(s.db.data[b"l"])
    assert copy.db.data[b"z"].scores == {b"a": 1.5, b"b": float("-inf"), b"c": 0.1}


def test_scripts_and_functions_travel_with_a_state_transfer():
    s = Store()
    sha = run(s, "SCRIPT", "LOAD", "return redis.call('GET', KEYS[1])")
    assert run(s, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 'hi' end)") == b"lib"
    run(s, "SET", "k", "v")
    copy = Store()
    for kind, items in s.snapshot().chunks(1000, 1 << 20):
        copy.load_chunk(kind, items)
    assert run(copy, "EVALSHA", sha, 1, "k") == b"v" and run(copy, "FCALL", "f", 0) == b"hi"
    assert copy.digest() == s.digest()
