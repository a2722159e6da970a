"""The keyspace and transactions, driven directly: time is a number, there is no clock."""

from resp_kv.keyspace.db import Keyspace
from resp_kv.protocol import OK, Error
from resp_kv.store import Store
from resp_kv.transactions import EXEC_ABORT, Transaction
from storecalls import run


def test_a_key_lives_until_its_time_has_passed_and_a_read_then_deletes_it():
    s = Store()
    run(s, "SET", "k", "v", "PX", "1000", now=10.0)  # expires at 11000 ms
    assert s.db.expires[b"k"] == 11000
    assert run(s, "GET", "k", now=11.0) == b"v"  # now == when: still alive, as Redis
    assert b"k" in s.db.data
    assert run(s, "GET", "k", now=11.001) is None
    assert b"k" not in s.db.data and s.expired_keys == 1


def test_relative_times_are_fixed_by_the_time_the_commands_carry():
    a, b = Store(), Store()
    for s in (a, b):
        run(s, "SET", "k", "v", "EX", "100", now=50.0)
        run(s, "EXPIRE", "j", "10", now=50.0)
    assert a.digest() == b.digest() and a.db.expires[b"k"] == 150000


def test_active_expiry_deletes_what_nobody_looked_up_and_says_what_it_deleted():
    s = Store()
    run(s, "SELECT", "3")
    for i in range(10):
        run(s, "SET", f"k{i}", "v", "PX", str(100 if i % 2 else 100000), now=1.0)
    s.now = 2.0
    gone, looked = s.expire_some(4)
    assert looked == 4 and gone == [(3, b"k1"), (3, b"k3")]
    gone, looked = s.expire_some(100)
    assert sorted(gone) == [(3, b"k5"), (3, b"k7"), (3, b"k9")] and looked == 8
    assert len(s.dbs[3].data) == 5 and s.expired_keys == 5


def test_databases_are_separate_and_swapdb_and_move_work_across_them():
    s = Store()
    run(s, "SET", "k", "zero")
    run(s, "SELECT", "1")
    assert run(s, "GET", "k") is None
    run(s, "SET", "k", "one")
    assert run(s, "MOVE", "k", "0") == 0  # k is in db 0 already
    assert run(s, "SWAPDB", "0", "1") == OK
    assert run(s, "GET", "k") == b"zero"  # db 1 now holds what db 0 held
    assert run(s, "SELECT", "16") == Error("ERR DB index is out of range")


def test_a_watched_key_changed_by_anyone_or_by_expiry_aborts_exec():
    s = Store()
    tx = Transaction(s)
    tx.watch(s.db, [b"a", b"b"])
    tx.begin()
    tx.queue([b"GET", b"a"])
    run(s, "SET", "other", "1")
    assert tx.take() == [[b"GET", b"a"]]  # nothing watched changed
    assert not s.watchers  # EXEC ends the watches
    tx.watch(s.db, [b"a"])
    run(s, "SET", "a", "1")
    tx.begin()
    assert tx.take() is None
    run(s, "SET", "e", "1", "PX", "10", now=1.0)
    tx.watch(s.db, [b"e"])
    s.now = 2.0  # e expires without anyone touching it: EXEC finds it expired
    tx.begin()
    assert tx.take() is None
    tx.watch(s.db, [b"a"])
    run(s, "FLUSHALL")
    tx.begin()
    assert tx.take() is None


def watching_an_expired_key():
    """A store whose key e expired before a transaction watched it (and is not deleted yet)."""
    s = Store()
    run(s, "SET", "e", "1", "PX", "10", now=1.0)
    s.now = 2.0
    tx = Transaction(s)
    tx.watch(s.db, [b"e"])
    return s, tx


def test_a_key_already_expired_when_watched_may_go_without_aborting():
    s, tx = watching_an_expired_key()
    assert run(s, "GET", "e") is None  # its deletion is no change
    tx.begin()
    assert tx.take() == []


def test_a_queueing_error_makes_exec_abort_and_discard_ends_everything():
    s = Store()
    tx = Transaction(s)
    tx.begin()
    tx.errored = True
    assert tx.take() == EXEC_ABORT and tx.queued is None
    tx.watch(s.db, [b"x"])
    tx.begin()
    tx.discard()
    assert tx.queued is None and not tx.watched and not s.watchers


def test_the_keyspace_alone_reads_no_clock():
    ks = Keyspace()
    ks.now = 5.0
    ks.store(b"k", b"v")
    ks.set_expiry(b"k", 5000)
    assert ks.lookup(b"k") == b"v"
    ks.now = 5.0011
    assert ks.lookup(b"k") is None


def test_incrbyfloat_computes_in_long_double_and_prints_as_redis():
    # Each expected reply is what redis-server 7.0 (x86-64) answered.
    s = Store()
    assert run(s, "INCRBYFLOAT", "f", "0.1") == b"0.1"
    assert run(s, "INCRBYFLOAT", "f", "1e3") == b"1000.09999999999999998"
    assert run(s, "SET", "g", "1e4932") == OK
    assert run(s, "INCRBYFLOAT", "g", "0")[:40] == b"1000000000000000000006018949387963891323"
    assert run(s, "SET", "g", "1e-4950") == OK and run(s, "INCRBYFLOAT", "g", "0") == b"0"
    assert run(s, "SET", "g", "1e-4952") == OK
    assert run(s, "INCRBYFLOAT", "g", "0") == Error("ERR value is not a valid float")
    assert run(s, "INCRBYFLOAT", "f", "inf") == Error("ERR increment would produce NaN or Infinity")
    assert run(s, "SET", "h", "0x1.8p1") == OK and run(s, "INCRBYFLOAT", "h", ".5") == b"3.5"
    for bad in ("nan", " 1", "1 ", "1e", ".", "1\x00"):
        assert run(s, "INCRBYFLOAT", "h", bad) == Error("ERR value is not a valid float"), bad


def test_a_command_that_fails_unexpectedly_is_answered_alike_on_both_servers():
    primary, backup = Store(), Store()
    for s in (primary, backup):
        s.runners[b"BROKEN"] = (1, lambda args: 1 / 0, "BROKEN")
    assert run(primary, "BROKEN") == run(backup, "BROKEN") == Error("ERR internal error in 'broken': ZeroDivisionError")


def test_lcs_as_redis_documents_it():
    s = Store()
    run(s, "MSET", "key1", "ohmytext", "key2", "mynewtext")
    assert run(s, "LCS", "key1", "key2") == b"mytext"
    assert run(s, "LCS", "key1", "key2", "LEN") == 6
    assert run(s, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == {
        "matches": [[[4, 7], [5, 8], 4]], "len": 6}
    assert run(s, "LCS", "key1", "key2", "IDX") == {"matches": [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], "len": 6}
    assert run(s, "LCS", "key1", "nokey") == b""


def test_set_keepttl_on_an_expired_key_keeps_no_time():
    s = Store()
    run(s, "SET", "k", "old", "PX", "10", now=1.0)
    run(s, "SET", "k", "new", "KEEPTTL", now=2.0)  # k had expired: its time went with it
    assert run(s, "GET", "k", now=3.0) == b"new" and run(s, "TTL", "k") == -1


def test_emptying_a_database_spares_a_watch_on_a_key_that_had_already_expired():
    s, tx = watching_an_expired_key()
    run(s, "FLUSHDB")  # an expired key goes: no change, as Redis sees it
    run(s, "SWAPDB", "0", "0")  # a database swapped with itself: nothing happens
    tx.begin()
    assert tx.take() == []
    tx.watch(s.db, [b"k"])
    run(s, "SELECT", "1")
    run(s, "SET", "k", "elsewhere")
    run(s, "SWAPDB", "0", "1")  # k arrives in the watched database: a change
    tx.begin()
    assert tx.take() is None


def test_a_full_scan_returns_every_key_there_throughout_while_keys_come_and_go():
    s = Store()
    for i in range(500):
        run(s, "SET", f"stay{i}", "v")
        run(s, "SET", f"go{i}", "v")
    seen, cursor, snapshot, calls = set(), b"0", None, 0
    while True:
        cursor, keys = run(s, "SCAN", cursor, "COUNT", "7")
        seen.update(keys)
        calls += 1
        if snapshot is None:
            (snapshot,) = s.scan_orders.orders.values()
        if cursor != b"0":  # one snapshot per iteration, not one per call
            assert list(s.scan_orders.orders.values()) == [snapshot]
        run(s, "DEL", f"go{calls}")
        run(s, "SET", f"new{calls}", "v")
        if cursor == b"0":
            break
    assert {f"stay{i}".encode() for i in range(500)} <= seen
    assert 100 <= calls <= 160  # about COUNT keys a call
    assert not s.scan_orders.orders  # dropped at the end


def test_a_scan_whose_snapshot_is_gone_starts_over_and_misses_nothing():
    s = Store()
    s.scan_orders.kept = 2
    for i in range(100):
        run(s, "SET", f"k{i}", "v")
    cursor, first = run(s, "SCAN", "0", "COUNT", "10")
    for _ in range(2):  # two other iterations push this one's snapshot out
        run(s, "SCAN", "0", "COUNT", "10")
    seen = list(first)
    while cursor != b"0":
        cursor, page = run(s, "SCAN", cursor, "COUNT", "30")
        seen += page
    assert set(seen) == {f"k{i}".encode() for i in range(100)} and len(seen) == 110  # the first page twice
    assert run(s, "SCAN", "123456789", "COUNT", "1000")[0] == b"0"  # a cursor nobody issued: from the start


def test_object_answers_encoding_and_refcount_from_the_value_as_redis_names_them():
    from collections import deque

    s = Store()
    s.db.data.update({b"int": b"123", b"neg": b"-5", b"zero-padded": b"007", b"short": b"x" * 44,
                      b"long": b"x" * 45, b"list": deque([b"a"]), b"intset": {b"1", b"2"},
                      b"set": {b"1", b"a"}, b"hash": {b"f": b"v"}, b"bighash": {b"f": b"v" * 65}})
    encodings = {key: run(s, "OBJECT", "ENCODING", key) for key in s.db.data}
    assert encodings == {b"int": "int", b"neg": "int", b"zero-padded": "embstr", b"short": "embstr",
                         b"long": "raw", b"list": "quicklist", b"intset": "intset", b"set": "hashtable",
                         b"hash": "listpack", b"bighash": "hashtable"}
    assert run(s, "OBJECT", "REFCOUNT", "int") == 2**31 - 1 and run(s, "OBJECT", "REFCOUNT", "neg") == 1
    assert run(s, "OBJECT", "ENCODING", "missing") is None
    assert run(s, "OBJECT", "FREQ", "int").startswith("ERR An LFU maxmemory policy is not selected")
    assert run(s, "OBJECT", "nope", "int") == "ERR unknown subcommand 'nope'. Try OBJECT HELP."
    assert run(s, "OBJECT", "encoding") == "ERR wrong number of arguments for 'object|encoding' command"
    assert len(run(s, "OBJECT", "HELP")) == 15


def reference_lcs(a: bytes, b: bytes):
    """The plain dynamic programming LCS and Redis's walk back through it (its string and IDX)."""
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    out, i, j = [], len(a), len(b)
    while i and j:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            i, j = i - 1, j - 1
        elif t[i - 1][j] > t[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return bytes(reversed(out))


def test_lcs_bit_rows_walk_back_as_the_plain_table_does():
    import random

    from resp_kv.keyspace.strings import lcs

    rng = random.Random(7)
    for _ in range(400):
        a = bytes(rng.choice(b"abcd") for _ in range(rng.randint(0, 40)))
        b = bytes(rng.choice(b"abcd") for _ in range(rng.randint(0, 40)))
        want = reference_lcs(a, b)
        assert lcs(a, b, False, False, False, 0) == want
        assert lcs(a, b, True, False, False, 0) == len(want)


def test_lcs_refuses_a_table_redis_would_not_allocate():
    s = Store()
    run(s, "SET", "a", "x" * 12_000)
    run(s, "SET", "b", "y" * 12_000)
    assert run(s, "LCS", "a", "b") == "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    run(s, "SET", "b", "x" * 11_000)
    assert run(s, "LCS", "a", "b", "LEN") == 11_000


def test_memory_usage_estimates_what_this_process_holds_for_a_key():
    s = Store()
    run(s, "SET", "small", "x")
    run(s, "SET", "big", "x" * 100_000)
    run(s, "RPUSH", "list", *(["item"] * 1000))
    run(s, "HSET", "hash", *[w for i in range(100) for w in (f"f{i}", "v" * i)])
    assert run(s, "MEMORY", "USAGE", "missing") is None
    small, big = run(s, "MEMORY", "USAGE", "small"), run(s, "MEMORY", "USAGE", "big")
    assert 50 < small < 200 and 100_000 < big < 100_300
    assert 1000 * 40 < run(s, "MEMORY", "USAGE", "list") < 1000 * 100
    sampled, whole = run(s, "MEMORY", "USAGE", "hash"), run(s, "MEMORY", "USAGE", "hash", "SAMPLES", "0")
    assert sampled < whole  # the first five fields hold the shortest values
    assert run(s, "MEMORY", "USAGE", "hash", "SAMPLES", "-1") == "ERR syntax error"
    assert run(s, "MEMORY", "USAGE", "hash", "SAMPLES") == "ERR syntax error"
    assert run(s, "MEMORY", "USAGE", "hash", "SAMPLES", "x") == "ERR value is not an integer or out of range"
    assert run(s, "MEMORY", "HELP")[-1] == "    Prints this help."
    assert run(s, "MEMORY", "STATS") == "ERR MEMORY STATS is not supported by resp-kv"
