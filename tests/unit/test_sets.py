"""The sets commands, driven directly on a Store: replies, what stays in the keyspace, what a
random pick sends to the backup, and what a WATCH sees."""

from resp_kv.protocol import Error, encode
from resp_kv.store import Store
from storecalls import run, watching

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Error("ERR syntax error")


def with_set(key="s", *members):
    s = Store()
    run(s, "SADD", key, *(members or ("a", "b", "c")))
    return s


# ------------------------------------------------------------------ one set


def test_sadd_counts_only_new_members_and_srem_deletes_the_emptied_key():
    s = Store()
    assert run(s, "SADD", "s", "a", "b", "a") == 2
    assert run(s, "SADD", "s", "b", "") == 1
    assert run(s, "SCARD", "s") == 3
    assert run(s, "SREM", "s", "a", "a", "zz") == 1
    assert run(s, "SREM", "s", "b", "") == 2
    assert b"s" not in s.db.data
    assert run(s, "SREM", "s", "b") == 0


def test_a_string_key_answers_wrongtype_and_stays_a_string():
    s = Store()
    run(s, "SET", "k", "v")
    for cmd in (["SADD", "k", "a"], ["SREM", "k", "a"], ["SCARD", "k"], ["SISMEMBER", "k", "a"],
                ["SMISMEMBER", "k", "a"], ["SMEMBERS", "k"], ["SPOP", "k"], ["SPOP", "k", "0"],
                ["SRANDMEMBER", "k", "0"], ["SSCAN", "k", "0", "BOGUS"]):
        assert run(s, *cmd) == WRONGTYPE, cmd
    assert s.db.data[b"k"] == b"v"


def test_membership_of_a_missing_key_is_all_zeros():
    s = with_set("s", "a", "1")
    assert run(s, "SISMEMBER", "nokey", "a") == 0
    assert run(s, "SMISMEMBER", "nokey", "a", "b") == [0, 0]
    assert run(s, "SMISMEMBER", "s", "1", "01", "a") == [1, 0, 1]


def test_smembers_replies_with_a_set_of_its_own_never_the_stored_one():
    s = with_set("s", "a", "b")
    reply = run(s, "SMEMBERS", "s")
    assert reply == {b"a", b"b"} and reply is not s.db.data[b"s"]
    run(s, "SADD", "s", "c")
    assert encode(reply, resp3=True).startswith(b"~2\r\n")
    assert encode(run(s, "SMEMBERS", "nokey"), resp3=True) == b"~0\r\n"
    assert encode(run(s, "SMEMBERS", "nokey")) == b"*0\r\n"


def test_smove_checks_types_only_when_the_source_exists():
    s = with_set("s", "a", "b")
    run(s, "SET", "str", "v")
    assert run(s, "SMOVE", "nokey", "str", "a") == 0
    assert run(s, "SMOVE", "s", "str", "a") == WRONGTYPE
    assert run(s, "SMOVE", "str", "s", "a") == WRONGTYPE
    assert s.db.data[b"s"] == {b"a", b"b"}


def test_smove_to_itself_answers_membership_and_moving_the_last_member_deletes_the_source():
    s = with_set("s", "a")
    assert (run(s, "SMOVE", "s", "s", "a"), run(s, "SMOVE", "s", "s", "z")) == (1, 0)
    assert run(s, "SMOVE", "s", "t", "z") == 0 and b"t" not in s.db.data
    assert run(s, "SMOVE", "s", "t", "a") == 1
    assert b"s" not in s.db.data and s.db.data[b"t"] == {b"a"}


def test_smove_touches_the_destination_only_if_it_gains_the_member():
    s = with_set("src", "a", "b")
    run(s, "SADD", "dst", "a")
    tx = watching(s, "dst")
    assert run(s, "SMOVE", "src", "dst", "a") == 1
    assert tx.take() == []  # dst already held "a"
    tx = watching(s, "dst")
    assert run(s, "SMOVE", "src", "dst", "b") == 1
    assert tx.take() is None


def test_sadd_and_srem_that_change_nothing_touch_nothing():
    s = with_set("s", "a")
    tx = watching(s, "s")
    assert run(s, "SADD", "s", "a") == 0
    assert run(s, "SREM", "s", "zz") == 0
    assert run(s, "SPOP", "s", "0") == set()
    assert tx.take() == []


def test_a_set_a_snapshot_holds_is_copied_before_it_changes():
    s = with_set("s", "a")
    held = s.db.data[b"s"]
    s.frozen = {id(held)}
    run(s, "SADD", "s", "b")
    assert held == {b"a"} and s.db.data[b"s"] == {b"a", b"b"}


# ------------------------------------------------------------------ random picks


def test_spop_reaches_the_backup_as_the_srem_of_what_it_popped():
    s = with_set("s", "a", "b", "c", "d")
    backup = with_set("s", "a", "b", "c", "d")
    member = run(s, "SPOP", "s")
    assert s.effects == [[b"SREM", b"s", member]]
    popped = run(s, "SPOP", "s", "2")
    assert isinstance(popped, set) and len(popped) == 2 and member not in popped
    assert s.effects[0][:2] == [b"SREM", b"s"] and set(s.effects[0][2:]) == popped
    for effect in [[b"SREM", b"s", member], s.effects[0]]:
        backup.run(effect)
    assert backup.digest() == s.digest() and run(s, "SCARD", "s") == 1


def test_spop_of_at_least_the_whole_set_returns_it_and_deletes_the_key():
    s = with_set("s", "a", "b")
    assert run(s, "SPOP", "s", "9223372036854775807") == {b"a", b"b"}
    assert s.effects == [[b"DEL", b"s"]] and b"s" not in s.db.data


def test_spop_without_a_pick_decides_nothing_for_the_backup():
    s = with_set("s", "a")
    assert run(s, "SPOP", "nokey") is None and s.effects is None
    assert run(s, "SPOP", "nokey", "3") == set() and s.effects is None
    assert run(s, "SPOP", "s", "0") == set() and s.effects is None
    assert encode(set(), resp3=True) == b"~0\r\n"


def test_spop_count_must_be_a_non_negative_integer_and_one_count_only():
    s = with_set("s", "a")
    positive = Error("ERR value is out of range, must be positive")
    for count in ("-1", "x", "", "9223372036854775808", "01"):
        assert run(s, "SPOP", "s", count) == positive
    assert run(s, "SPOP", "s", "1", "2") == SYNTAX
    assert run(s, "SCARD", "s") == 1


def test_srandmember_positive_counts_are_distinct_negative_ones_may_repeat():
    s = with_set("s", "a", "b", "c")
    two = run(s, "SRANDMEMBER", "s", "2")
    assert isinstance(two, list) and len(set(two)) == 2 and set(two) <= {b"a", b"b", b"c"}
    assert sorted(run(s, "SRANDMEMBER", "s", "10")) == [b"a", b"b", b"c"]
    many = run(s, "SRANDMEMBER", "s", "-10")
    assert len(many) == 10 and set(many) <= {b"a", b"b", b"c"}
    assert run(s, "SRANDMEMBER", "s") in (b"a", b"b", b"c")
    assert s.effects == []  # a read: the backup runs nothing
    assert encode(run(s, "SRANDMEMBER", "s", "1"), resp3=True).startswith(b"*1\r\n")


def test_srandmember_edges():
    s = with_set("s", "a")
    assert run(s, "SRANDMEMBER", "nokey") is None and s.effects is None
    assert run(s, "SRANDMEMBER", "nokey", "-5") == [] and run(s, "SRANDMEMBER", "s", "0") == []
    assert run(s, "SRANDMEMBER", "s", "-9223372036854775808") == Error(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    assert run(s, "SRANDMEMBER", "s", "x") == Error("ERR value is not an integer or out of range")
    assert run(s, "SRANDMEMBER", "s", "1", "2") == SYNTAX


def test_srandmember_on_an_expired_key_lets_the_backup_expire_it_too():
    s = with_set("s", "a")
    run(s, "PEXPIREAT", "s", "5000")
    s.now = 10.0
    assert run(s, "SRANDMEMBER", "s") is None
    assert s.effects is None and b"s" not in s.db.data


# ------------------------------------------------------------------ several sets


def test_a_wrong_type_anywhere_among_the_sources_wins_over_a_missing_key():
    s = with_set("s")
    run(s, "SET", "str", "v")
    for cmd in ("SINTER", "SUNION", "SDIFF"):
        assert run(s, cmd, "nokey", "str") == WRONGTYPE
        assert run(s, cmd + "STORE", "dst", "s", "nokey", "str") == WRONGTYPE
    assert run(s, "SINTERCARD", "2", "nokey", "str") == WRONGTYPE
    assert b"dst" not in s.db.data


def test_intersection_union_and_difference():
    s = with_set("x", "a", "b", "c")
    run(s, "SADD", "y", "b", "c", "d")
    assert run(s, "SINTER", "x", "y") == {b"b", b"c"}
    assert run(s, "SINTER", "x", "y", "nokey") == set()
    assert run(s, "SUNION", "x", "nokey", "y") == {b"a", b"b", b"c", b"d"}
    assert run(s, "SDIFF", "x", "y") == {b"a"}
    assert run(s, "SDIFF", "x", "nokey") == {b"a", b"b", b"c"}
    assert run(s, "SDIFF", "x", "x") == set() and run(s, "SDIFF", "nokey", "x") == set()
    assert run(s, "SINTER", "x") is not s.db.data[b"x"]


def test_a_store_replaces_any_type_drops_its_ttl_and_an_empty_result_deletes_it():
    s = with_set("x", "a", "b")
    run(s, "SET", "dst", "v", "EX", "100")
    assert run(s, "SUNIONSTORE", "dst", "x") == 2
    assert s.db.data[b"dst"] == {b"a", b"b"} and b"dst" not in s.db.expires
    assert s.db.data[b"dst"] is not s.db.data[b"x"]
    run(s, "SADD", "x", "c")
    assert run(s, "SCARD", "dst") == 2
    assert run(s, "SINTERSTORE", "dst", "x", "nokey") == 0 and b"dst" not in s.db.data
    assert run(s, "SDIFFSTORE", "x", "x", "dst") == 3  # the destination among the sources
    assert run(s, "SDIFFSTORE", "x", "x", "x") == 0 and b"x" not in s.db.data


def test_sintercard_counts_up_to_its_limit():
    s = with_set("x", "a", "b", "c")
    run(s, "SADD", "y", "a", "b", "c", "d")
    assert run(s, "SINTERCARD", "2", "x", "y") == 3
    assert run(s, "SINTERCARD", "2", "x", "y", "LIMIT", "2") == 2
    assert run(s, "SINTERCARD", "2", "x", "y", "limit", "1", "LIMIT", "0") == 3  # the last LIMIT counts
    assert run(s, "SINTERCARD", "1", "nokey") == 0


def test_sintercard_argument_errors():
    s = with_set("x")
    assert run(s, "SINTERCARD", "0", "x") == Error("ERR numkeys should be greater than 0")
    assert run(s, "SINTERCARD", "x", "x") == Error("ERR numkeys should be greater than 0")
    assert run(s, "SINTERCARD", "2", "x") == Error("ERR Number of keys can't be greater than number of args")
    assert run(s, "SINTERCARD", "1", "x", "LIMIT", "-1") == Error("ERR LIMIT can't be negative")
    assert run(s, "SINTERCARD", "1", "x", "LIMIT", "x") == Error("ERR LIMIT can't be negative")
    assert run(s, "SINTERCARD", "1", "x", "LIMIT") == SYNTAX
    assert run(s, "SINTERCARD", "1", "x", "y") == SYNTAX


# ------------------------------------------------------------------ iteration


def scan_all(s, key, *options):
    seen, cursor, pages = [], b"0", 0
    while True:
        cursor, page = run(s, "SSCAN", key, cursor, *options)
        seen += page
        pages += 1
        if cursor == b"0":
            return seen, pages


def test_a_full_sscan_returns_every_member_once():
    s = with_set("s", *(f"m{i}" for i in range(200)))
    seen, pages = scan_all(s, "s", "COUNT", "7")
    assert sorted(seen) == sorted(f"m{i}".encode() for i in range(200)) and pages > 20
    seen, _ = scan_all(s, "s", "MATCH", "m1?", "COUNT", "3")
    assert sorted(seen) == sorted(f"m1{i}".encode() for i in range(10))


def test_a_member_there_throughout_a_sscan_is_returned_while_others_come_and_go():
    s = with_set("s", *(f"m{i}" for i in range(100)))
    seen, cursor = set(), b"0"
    for i in range(1000):
        cursor, page = run(s, "SSCAN", "s", cursor, "COUNT", "5")
        seen.update(page)
        run(s, "SREM", "s", f"m{i % 20}")
        run(s, "SADD", "s", f"new{i}")
        if cursor == b"0":
            break
    assert {f"m{i}".encode() for i in range(20, 100)} <= seen


def test_sscan_cursor_and_option_errors():
    s = with_set("s")
    invalid = Error("ERR invalid cursor")
    for cursor in ("x", " 0", "-", "+", "1.5", "18446744073709551616"):
        assert run(s, "SSCAN", "s", cursor) == invalid
    for cursor in ("", "+0", "-0", "00", b"0\x00junk"):
        assert run(s, "SSCAN", "s", cursor)[0] == b"0"
    assert run(s, "SSCAN", "s", "0", "COUNT", "0") == SYNTAX
    assert run(s, "SSCAN", "s", "0", "COUNT", "x") == Error("ERR value is not an integer or out of range")
    assert run(s, "SSCAN", "s", "0", "TYPE", "set") == SYNTAX
    assert run(s, "SSCAN", "s", "0", "MATCH") == SYNTAX
    assert run(s, "SSCAN", "nokey", "0", "BOGUS") == [b"0", []]  # no key: options go unread
    assert run(s, "SSCAN", "nokey", "x") == invalid


def test_sscan_takes_one_snapshot_per_iteration_and_after_a_failover_starts_over():
    members = [f"m{i}".encode() for i in range(300)]
    primary, promoted = with_set("s", *members), with_set("s", *members)
    cursor, first = run(primary, "SSCAN", "s", "0", "COUNT", "5")
    (order,) = primary.scan_orders.orders.values()
    cursor, second = run(primary, "SSCAN", "s", cursor, "COUNT", "5")
    assert list(primary.scan_orders.orders.values()) == [order]
    seen = first + second
    while cursor != b"0":  # the backup, promoted, does not know the cursor: it starts over
        cursor, page = run(promoted, "SSCAN", "s", cursor, "COUNT", "50")
        seen += page
    assert set(seen) == set(members) and len(seen) == 310


def test_an_intset_comes_in_ascending_order_as_redis_reads_it():
    s = with_set("x", "10", "-3", "2", "100", "7")
    run(s, "SADD", "y", "2", "7", "5")
    assert run(s, "SMEMBERS", "x") == [b"-3", b"2", b"7", b"10", b"100"]
    assert run(s, "SSCAN", "x", "0", "COUNT", "1") == [b"0", [b"-3", b"2", b"7", b"10", b"100"]]
    assert run(s, "SUNION", "x", "y") == [b"-3", b"2", b"5", b"7", b"10", b"100"]
    assert run(s, "SINTER", "x", "y") == [b"2", b"7"] and run(s, "SDIFF", "x", "y") == [b"-3", b"10", b"100"]
    run(s, "SADD", "y", "a")  # not an intset any more: any order
    assert sorted(run(s, "SMEMBERS", "y")) == [b"2", b"5", b"7", b"a"]
