"""The sorted set commands (resp_kv/keyspace/zsets.py), driven through Store.run: replies, errors
in Redis's words and order, what is left in the keyspace, and what the backup is told to run."""

import math

from resp_kv.keyspace.values import ZSet
from resp_kv.keyspace.zsets import parse_bound, parse_score, timeout_ms
from resp_kv.protocol import NULL_ARRAY, Error, Pairs, encode
from resp_kv.store import Store
from storecalls import run

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
NOT_FLOAT = Error("ERR value is not a valid float")
SYNTAX = Error("ERR syntax error")
NOT_A_RANGE = Error("ERR min or max is not a float")
NOT_A_LEX_RANGE = Error("ERR min or max not valid string range item")


def zset_store(*pairs, key="z") -> Store:
    """A store whose ``key`` holds the (score, member) ``pairs``."""
    s = Store()
    if pairs:
        run(s, "ZADD", key, *[w for pair in pairs for w in pair])
    return s


def abc() -> Store:
    return zset_store((1, "a"), (2, "b"), (3, "c"))


def scores(store, key="z") -> dict:
    value = store.db.data.get(key.encode())
    return None if value is None else value.scores


# ---------------------------------------------------------------- ZADD and ZINCRBY


def test_zadd_counts_new_members_and_ch_counts_changed_ones_too():
    s = abc()
    assert run(s, "ZADD", "z", 5, "a", 2, "b", 4, "d") == 1
    assert run(s, "ZADD", "z", "CH", 6, "a", 2, "b", 7, "e") == 2
    assert scores(s) == {b"a": 6.0, b"b": 2.0, b"c": 3.0, b"d": 4.0, b"e": 7.0}


def test_zadd_nx_xx_gt_lt_decide_member_by_member():
    s = abc()
    assert run(s, "ZADD", "z", "NX", 9, "a", 4, "d") == 1
    assert run(s, "ZADD", "z", "XX", "CH", 9, "a", 5, "e") == 1
    assert run(s, "ZADD", "z", "GT", "CH", 1, "a", 10, "b") == 1
    assert run(s, "ZADD", "z", "LT", "CH", 0, "c", 99, "d") == 1
    assert run(s, "ZADD", "z", "XX", "GT", "CH", 100, "c", 1, "new") == 1
    assert scores(s) == {b"a": 9.0, b"b": 10.0, b"c": 100.0, b"d": 4.0}


def test_zadd_refuses_option_combinations_in_redis_order_and_words():
    s = abc()
    assert run(s, "ZADD", "z", "NX", "XX", 1, "a") == Error("ERR XX and NX options at the same time are not compatible")
    assert run(s, "ZADD", "z", "NX", "GT", 1, "a") == Error(
        "ERR GT, LT, and/or NX options at the same time are not compatible")
    assert run(s, "ZADD", "z", "GT", "LT", 1, "a") == run(s, "ZADD", "z", "NX", "LT", 1, "a")
    assert run(s, "ZADD", "z", "INCR", 1, "a", 2, "b") == Error("ERR INCR option supports a single increment-element pair")
    assert run(s, "ZADD", "z", "NX", "XX", 1) == SYNTAX  # the odd count is seen first
    assert run(s, "ZADD", "z", "CH", "NX") == SYNTAX  # options, and no pair
    assert run(s, "ZINCRBY", "z", "nx", "a") == SYNTAX  # an increment that reads as an option
    assert scores(s) == {b"a": 1.0, b"b": 2.0, b"c": 3.0}


def test_zadd_checks_every_score_before_touching_the_key():
    s = Store()
    for bad in ("nan", "1e400", "1e-400", " 1", "1 ", "", "abc", "1\x00", "0x"):
        assert run(s, "ZADD", "z", 1, "a", bad, "b") == NOT_FLOAT
    assert b"z" not in s.db.data
    run(s, "SET", "str", "v")
    assert run(s, "ZADD", "str", 1, "a") == WRONGTYPE
    assert run(s, "ZADD", "str", "x", "a") == NOT_FLOAT  # scores are parsed before the type is checked


def test_scores_are_read_as_strtod_reads_them():
    for raw, value in [(b"inf", math.inf), (b"-Infinity", -math.inf), (b"+inf", math.inf), (b"0x10", 16.0),
                       (b"-0x1.8p1", -3.0), (b".5", 0.5), (b"5.", 5.0), (b"1E3", 1000.0), (b"5e-324", 5e-324)]:
        assert parse_score(raw) == value
    assert math.copysign(1, parse_score(b"-0")) < 0
    for raw in (b"nan", b"1e400", b"1_0", b"infinit", b"1e", b"--1", b"\t1"):
        assert parse_score(raw) is None


def test_range_bounds_are_read_as_c_strings_with_strtod_leniency():
    assert parse_bound(b"(1.5") == (1.5, True)
    assert parse_bound(b"") == (0.0, False) and parse_bound(b"(") == (0.0, True)
    assert parse_bound(b" \t2") == (2.0, False) and parse_bound(b"3\x00junk") == (3.0, False)
    assert parse_bound(b"1e400") == (math.inf, False)
    for raw in (b"nan", b"(nan", b" ", b"1 ", b"[1", b"((1", b"x"):
        assert parse_bound(raw) is None


def test_zadd_xx_on_a_missing_key_creates_nothing():
    s = Store()
    assert run(s, "ZADD", "z", "XX", 1, "a") == 0
    assert run(s, "ZADD", "z", "XX", "INCR", 1, "a") is None
    assert b"z" not in s.db.data


def test_incr_replies_the_new_score_or_nil_when_the_options_left_it_alone():
    s = abc()
    assert run(s, "ZINCRBY", "z", "2.5", "a") == 3.5
    assert run(s, "ZINCRBY", "z", "1", "new") == 1.0
    assert run(s, "ZADD", "z", "INCR", "NX", 1, "a") is None
    assert run(s, "ZADD", "z", "INCR", "GT", -1, "b") is None
    assert run(s, "ZADD", "z", "INCR", "LT", -1, "b") == 1.0
    assert encode(run(s, "ZINCRBY", "z", "0.1", "new"), False) == b"$18\r\n1.1000000000000001\r\n"
    assert encode(run(s, "ZSCORE", "z", "new"), True) == b",1.1000000000000001\r\n"


def test_an_increment_that_makes_nan_is_refused_and_changes_nothing():
    s = zset_store(("inf", "a"))
    assert run(s, "ZINCRBY", "z", "-inf", "a") == Error("ERR resulting score is not a number (NaN)")
    assert scores(s) == {b"a": math.inf}


def test_a_small_set_stores_minus_zero_as_zero_as_a_listpack_does_and_a_large_one_keeps_it():
    s = Store()
    reply = run(s, "ZADD", "z", "INCR", "-0", "a")
    assert encode(reply, False) == b"$2\r\n-0\r\n"  # the reply is the sum itself
    assert encode(run(s, "ZSCORE", "z", "a"), False) == b"$1\r\n0\r\n"
    run(s, "ZADD", "big", *[w for i in range(200) for w in (i, f"m{i}")])
    run(s, "ZADD", "big", "-0", "x")
    assert encode(run(s, "ZSCORE", "big", "x"), False) == b"$2\r\n-0\r\n"
    run(s, "ZADD", "long", "-0", "y" * 65)
    assert encode(run(s, "ZSCORE", "long", "y" * 65), False) == b"$2\r\n-0\r\n"


# ---------------------------------------------------------------- reading


def test_zscore_zmscore_zrank_zrevrank_zcard():
    s = abc()
    assert run(s, "ZSCORE", "z", "b") == 2.0 and run(s, "ZSCORE", "z", "x") is None
    assert run(s, "ZMSCORE", "z", "c", "x", "a") == [3.0, None, 1.0]
    assert run(s, "ZMSCORE", "nokey", "a", "b") == [None, None]
    assert (run(s, "ZRANK", "z", "c"), run(s, "ZREVRANK", "z", "c"), run(s, "ZRANK", "z", "x")) == (2, 0, None)
    assert run(s, "ZCARD", "z") == 3 and run(s, "ZCARD", "nokey") == 0
    run(s, "SET", "str", "v")
    for cmd in (["ZSCORE", "str", "a"], ["ZMSCORE", "str", "a"], ["ZRANK", "str", "a"], ["ZCARD", "str"],
                ["ZCOUNT", "str", 0, 1], ["ZRANGE", "str", 0, 1], ["ZSCAN", "str", 0]):
        assert run(s, *cmd) == WRONGTYPE


def test_members_of_one_score_are_in_byte_order():
    s = zset_store((1, "b"), (1, "a\x00"), (1, "a"), (1, ""), (0, "z"), (1, "\xff"))
    assert run(s, "ZRANGE", "z", 0, -1) == [b"z", b"", b"a", b"a\x00", b"b", "\xff".encode()]


def test_zcount_with_inclusive_and_exclusive_bounds():
    s = zset_store((1, "a"), (2, "b"), (2, "c"), (3, "d"), ("inf", "e"))
    assert run(s, "ZCOUNT", "z", 2, 2) == 2
    assert run(s, "ZCOUNT", "z", "(1", "(3") == 2
    assert run(s, "ZCOUNT", "z", "(2", "+inf") == 2
    assert run(s, "ZCOUNT", "z", "(inf", "+inf") == 0 and run(s, "ZCOUNT", "z", "inf", "inf") == 1
    assert run(s, "ZCOUNT", "z", 3, 1) == 0 and run(s, "ZCOUNT", "z", "(2", 2) == 0
    assert run(s, "ZCOUNT", "z", "x", 1) == NOT_A_RANGE
    assert run(s, "ZCOUNT", "nokey", "x", 1) == NOT_A_RANGE  # the range is checked first


def test_zlexcount_and_lex_bounds():
    s = zset_store((0, "a"), (0, "b"), (0, "c"), (0, "d"))
    assert run(s, "ZLEXCOUNT", "z", "-", "+") == 4
    assert run(s, "ZLEXCOUNT", "z", "[b", "(d") == 2
    assert run(s, "ZLEXCOUNT", "z", "(a", "[c") == 2
    assert run(s, "ZLEXCOUNT", "z", "+", "-") == 0 and run(s, "ZLEXCOUNT", "z", "-", "-") == 0
    assert run(s, "ZLEXCOUNT", "z", "[b", "[b") == 1 and run(s, "ZLEXCOUNT", "z", "(b", "[b") == 0
    for bad in ("a", "", "+x", "-a"):
        assert run(s, "ZLEXCOUNT", "z", bad, "+") == NOT_A_LEX_RANGE
    assert run(s, "ZLEXCOUNT", "z", "+\x00x", "-\x00") == 0  # read as C strings: "+" and "-"


def test_a_lex_range_over_mixed_scores_walks_as_redis_walks_a_listpack():
    # In score order: z, a, m. A forward walk starts at the first member >= min, then goes on
    # while members are <= max; a backward walk likewise from the end.
    s = zset_store((1, "z"), (2, "a"), (3, "m"))
    assert run(s, "ZRANGEBYLEX", "z", "[b", "+") == [b"z", b"a", b"m"]
    assert run(s, "ZRANGEBYLEX", "z", "[a", "[n") == []  # "z" is past the max: nothing
    assert run(s, "ZREVRANGEBYLEX", "z", "[n", "[a") == []  # the first member, "z", is past the max
    t = zset_store((1, "a"), (2, "z"), (3, "m"))
    assert run(t, "ZREVRANGEBYLEX", "z", "[n", "-") == [b"m", b"z", b"a"]  # "z" is walked past, not checked
    assert run(t, "ZRANGEBYLEX", "z", "-", "[n") == [b"a"] and run(t, "ZLEXCOUNT", "z", "-", "[n") == 1
    assert run(s, "ZRANGEBYLEX", "z", "[b", "[n", "LIMIT", 2, 5) == []  # the walk starts at "z"
    assert run(s, "ZLEXCOUNT", "z", "-", "[y") == 0


# ---------------------------------------------------------------- ranges


def test_zrange_by_rank_with_negative_and_out_of_range_indexes():
    s = abc()
    assert run(s, "ZRANGE", "z", 0, -1) == [b"a", b"b", b"c"]
    assert run(s, "ZRANGE", "z", -2, 100) == [b"b", b"c"]
    assert run(s, "ZRANGE", "z", 2, 1) == [] and run(s, "ZRANGE", "z", 5, 10) == []
    assert run(s, "ZRANGE", "z", 0, 0, "REV") == [b"c"]
    assert run(s, "ZREVRANGE", "z", 1, -1, "WITHSCORES") == Pairs([(b"b", 2.0), (b"a", 1.0)])
    assert run(s, "ZRANGE", "nokey", 0, -1) == []
    assert run(s, "ZRANGE", "z", "x", 1) == NOT_INTEGER


def test_withscores_replies_flat_in_resp2_and_as_pairs_in_resp3():
    s = abc()
    reply = run(s, "ZRANGE", "z", 0, 1, "WITHSCORES")
    assert encode(reply, False) == b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert encode(reply, True) == b"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"


def test_zrange_byscore_and_bylex_with_rev_and_limit():
    s = zset_store((1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"))
    assert run(s, "ZRANGE", "z", "(1", 4, "BYSCORE") == [b"b", b"c", b"d"]
    assert run(s, "ZRANGE", "z", 4, "(1", "BYSCORE", "REV") == [b"d", b"c", b"b"]
    assert run(s, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 1, 2) == [b"b", b"c"]
    assert run(s, "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 1, 2) == [b"d", b"c"]
    assert run(s, "ZRANGEBYSCORE", "z", 2, 5, "LIMIT", 0, -1) == [b"b", b"c", b"d", b"e"]  # negative: no limit
    assert run(s, "ZRANGEBYSCORE", "z", 2, 5, "LIMIT", -1, 2) == []  # a negative offset walks off the end
    assert run(s, "ZREVRANGEBYSCORE", "z", 5, 2, "WITHSCORES", "LIMIT", 3, 9) == Pairs([(b"b", 2.0)])
    t = zset_store((0, "a"), (0, "b"), (0, "c"), (0, "d"))
    assert run(t, "ZRANGE", "z", "[b", "+", "BYLEX") == [b"b", b"c", b"d"]
    assert run(t, "ZRANGE", "z", "+", "(a", "BYLEX", "REV", "LIMIT", 1, 1) == [b"c"]
    assert run(t, "ZREVRANGEBYLEX", "z", "[c", "-") == [b"c", b"b", b"a"]


def test_zrange_options_are_refused_as_redis_refuses_them():
    s = abc()
    assert run(s, "ZRANGE", "z", 0, 1, "LIMIT", 0, 1) == Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    assert run(s, "ZRANGE", "z", 0, 1, "LIMIT", 0, -1) == [b"a", b"b"]  # LIMIT 0 -1 is no LIMIT
    assert run(s, "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == Error(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    assert run(s, "ZRANGEBYLEX", "z", "-", "+", "WITHSCORES") == run(s, "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES")
    assert run(s, "ZRANGEBYSCORE", "z", 0, 1, "BYSCORE") == SYNTAX
    assert run(s, "ZREVRANGE", "z", 0, 1, "REV") == SYNTAX
    assert run(s, "ZRANGE", "z", 0, 1, "BYSCORE", "BYLEX") == SYNTAX
    assert run(s, "ZRANGE", "z", 0, 1, "BYSCORE", "LIMIT", 1) == SYNTAX
    assert run(s, "ZRANGE", "z", "x", 1, "BYSCORE", "LIMIT", "y", 1) == NOT_INTEGER  # options first
    assert run(s, "ZRANGE", "z", "x", 1, "BYSCORE") == NOT_A_RANGE
    assert run(s, "ZRANGE", "z", "x", 1, "BYLEX") == NOT_A_LEX_RANGE
    assert run(s, "ZRANGE", "z", 0, 1, "WITHSCORES\x00junk") == Pairs([(b"a", 1.0), (b"b", 2.0)])


def test_zrangestore_stores_the_range_replacing_any_value_and_deletes_the_destination_when_empty():
    s = zset_store((1, "a"), (2, "b"), (3, "c"))
    run(s, "SET", "dst", "v", "EX", 100)
    assert run(s, "ZRANGESTORE", "dst", "z", 2, "+inf", "BYSCORE") == 2
    assert scores(s, "dst") == {b"b": 2.0, b"c": 3.0} and b"dst" not in s.db.expires
    assert run(s, "ZRANGESTORE", "dst", "z", 0, 0, "REV") == 1 and scores(s, "dst") == {b"c": 3.0}
    assert run(s, "ZRANGESTORE", "dst", "z", 5, 9) == 0 and b"dst" not in s.db.data
    run(s, "SET", "dst", "v")
    assert run(s, "ZRANGESTORE", "dst", "nokey", 0, -1) == 0 and b"dst" not in s.db.data
    assert run(s, "ZRANGESTORE", "dst", "z", 0, -1, "WITHSCORES") == SYNTAX
    run(s, "SET", "str", "v")
    assert run(s, "ZRANGESTORE", "dst", "str", 0, -1) == WRONGTYPE


# ---------------------------------------------------------------- removing


def test_zrem_counts_removed_members_and_removing_the_last_deletes_the_key():
    s = abc()
    assert run(s, "ZREM", "z", "a", "a", "x") == 1
    assert run(s, "ZREM", "z", "b", "c") == 2 and b"z" not in s.db.data
    assert run(s, "ZREM", "z", "b") == 0


def test_zremrangeby_rank_score_and_lex():
    s = zset_store(*[(i, f"m{i}") for i in range(10)])
    assert run(s, "ZREMRANGEBYRANK", "z", -2, -1) == 2
    assert run(s, "ZREMRANGEBYRANK", "z", 5, 2) == 0
    assert run(s, "ZREMRANGEBYSCORE", "z", "(1", 3) == 2
    assert run(s, "ZRANGE", "z", 0, -1) == [b"m0", b"m1", b"m4", b"m5", b"m6", b"m7"]
    assert run(s, "ZREMRANGEBYSCORE", "z", "x", 3) == NOT_A_RANGE
    assert run(s, "ZREMRANGEBYRANK", "z", 0, "x") == NOT_INTEGER
    t = zset_store((0, "a"), (0, "b"), (0, "c"))
    assert run(t, "ZREMRANGEBYLEX", "z", "(a", "+") == 2
    assert run(t, "ZREMRANGEBYLEX", "z", "-", "+") == 1 and b"z" not in t.db.data
    assert run(t, "ZREMRANGEBYLEX", "z", "a", "+") == NOT_A_LEX_RANGE


# ---------------------------------------------------------------- popping


def test_zpopmin_and_zpopmax_reply_flat_without_a_count_and_as_pairs_with_one():
    s = abc()
    one = run(s, "ZPOPMIN", "z")
    assert one == [b"a", 1.0] and encode(one, True) == b"*2\r\n$1\r\na\r\n,1\r\n"
    assert run(s, "ZPOPMAX", "z", 5) == Pairs([(b"c", 3.0), (b"b", 2.0)])
    assert b"z" not in s.db.data
    assert run(s, "ZPOPMIN", "z") == [] and run(s, "ZPOPMIN", "z", 0) == []


def test_zpop_counts_must_be_positive_integers_and_a_third_argument_is_refused():
    s = abc()
    positive = Error("ERR value is out of range, must be positive")
    assert run(s, "ZPOPMIN", "z", -1) == positive and run(s, "ZPOPMIN", "z", "x") == positive
    assert run(s, "ZPOPMIN", "z", 1, 1) == SYNTAX
    assert len(scores(s)) == 3


def test_zmpop_pops_from_the_first_key_that_exists():
    s = abc()
    assert run(s, "ZMPOP", 2, "nokey", "z", "MAX", "COUNT", 2) == [b"z", [[b"c", 3.0], [b"b", 2.0]]]
    assert run(s, "ZMPOP", 1, "nokey", "MIN") is NULL_ARRAY
    run(s, "SET", "str", "v")
    assert run(s, "ZMPOP", 2, "str", "z", "MIN") == WRONGTYPE


def test_zmpop_argument_errors_in_redis_order():
    s = abc()
    assert run(s, "ZMPOP", 0, "z", "MIN") == Error("ERR numkeys should be greater than 0")
    assert run(s, "ZMPOP", "x", "z", "MIN") == Error("ERR numkeys should be greater than 0")
    assert run(s, "ZMPOP", 3, "z", "MIN") == SYNTAX
    assert run(s, "ZMPOP", 1, "z", "MIDDLE") == SYNTAX
    assert run(s, "ZMPOP", 1, "z", "MIN", "COUNT", 0) == Error("ERR count should be greater than 0")
    assert run(s, "ZMPOP", 1, "z", "MIN", "COUNT", 1, "COUNT", 1) == SYNTAX
    assert len(scores(s)) == 3


def test_blocking_pops_served_now_pop_or_answer_the_timeout_null():
    s = abc()
    assert run(s, "BZPOPMIN", "nokey", "z", "0.5") == [b"z", b"a", 1.0]
    assert run(s, "BZPOPMAX", "nokey", "0.5") is NULL_ARRAY
    assert run(s, "BZMPOP", "0.5", 1, "z", "MAX", "COUNT", 9) == [b"z", [[b"c", 3.0], [b"b", 2.0]]]
    assert run(s, "BZMPOP", "x", 0, "z", "MAX") == Error("ERR numkeys should be greater than 0")  # before the timeout


def test_timeouts_are_checked_as_redis_checks_them():
    not_float, negative = Error("ERR timeout is not a float or out of range"), Error("ERR timeout is negative")
    assert timeout_ms(b"0.001") == 1 and timeout_ms(b"1.0001") == 1001 and timeout_ms(b"0") == 0
    assert timeout_ms(b"-0.0001") == 0 and timeout_ms(b"-0.001") == 0  # ceil(-0.1), ceil(-0.99999...): for ever
    assert timeout_ms(b"-0.0011") == negative and timeout_ms(b"inf") == negative
    assert timeout_ms(b"1e30") == negative  # past 64 bits: LLONG_MIN
    assert timeout_ms(b"x") == not_float and timeout_ms(b"nan") == not_float
    assert run(Store(), "BZPOPMIN", "z", "-1") == negative


def test_zset_wait_says_what_a_blocked_pop_waits_on():
    s = Store()
    keys, kind, seconds, reply = s.zset_wait([b"BZPOPMIN", b"a", b"b", b"0.25"])
    assert (keys, kind, seconds, reply) == ([b"a", b"b"], ZSet, 0.25, NULL_ARRAY)
    assert s.zset_wait([b"bzmpop", b"0", b"2", b"a", b"b", b"MIN"])[:3] == ([b"a", b"b"], ZSet, 0)
    assert s.zset_wait([b"BZMPOP", b"0", b"2", b"a", b"b", b"UP"]) == SYNTAX
    assert s.zset_wait([b"BZPOPMAX", b"a", b"x"]) == Error("ERR timeout is not a float or out of range")


# ---------------------------------------------------------------- random members


def test_zrandmember_of_at_least_the_whole_set_is_the_set_in_order_and_not_random():
    s = abc()
    assert run(s, "ZRANDMEMBER", "z", 5, "WITHSCORES") == Pairs([(b"a", 1.0), (b"b", 2.0), (b"c", 3.0)])
    assert s.effects is None


def test_zrandmember_picks_are_replicated_as_nothing():
    s = abc()
    assert run(s, "ZRANDMEMBER", "z") in (b"a", b"b", b"c") and s.effects == []
    picks = run(s, "ZRANDMEMBER", "z", 2)
    assert len(set(picks)) == 2 and set(picks) <= {b"a", b"b", b"c"} and s.effects == []
    repeated = run(s, "ZRANDMEMBER", "z", -10, "WITHSCORES")
    assert len(repeated) == 10 and all(scores(s)[m] == score for m, score in repeated)


def test_zrandmember_errors():
    s = abc()
    assert run(s, "ZRANDMEMBER", "z", "-9223372036854775808") == Error(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    assert run(s, "ZRANDMEMBER", "z", "4611686018427387904", "WITHSCORES") == Error("ERR value is out of range")
    assert run(s, "ZRANDMEMBER", "z", 1, "WITHSCORE") == SYNTAX
    assert run(s, "ZRANDMEMBER", "z", "x") == NOT_INTEGER
    assert run(s, "ZRANDMEMBER", "nokey", 3) == [] and run(s, "ZRANDMEMBER", "nokey") is None


# ---------------------------------------------------------------- union, intersection, difference


def test_zunion_weights_and_aggregates_with_sets_scoring_one():
    s = zset_store((1, "a"), (2, "b"))
    run(s, "SADD", "set", "b", "c")
    assert run(s, "ZUNION", 2, "z", "set", "WITHSCORES") == Pairs([(b"a", 1.0), (b"c", 1.0), (b"b", 3.0)])
    assert run(s, "ZUNION", 2, "z", "set", "WEIGHTS", 2, 10, "AGGREGATE", "MIN", "WITHSCORES") == Pairs(
        [(b"a", 2.0), (b"b", 4.0), (b"c", 10.0)])
    assert run(s, "ZINTER", 2, "z", "set", "AGGREGATE", "max", "WITHSCORES") == Pairs([(b"b", 2.0)])
    assert run(s, "ZDIFF", 2, "z", "set", "WITHSCORES") == Pairs([(b"a", 1.0)])
    assert run(s, "ZINTERCARD", 2, "z", "set") == 1


def test_nan_from_weights_or_sums_counts_as_zero():
    s = zset_store(("inf", "a"), (1, "b"))
    run(s, "ZADD", "y", "-inf", "a")
    assert run(s, "ZUNION", 1, "z", "WEIGHTS", 0, "WITHSCORES") == Pairs([(b"a", 0.0), (b"b", 0.0)])
    assert run(s, "ZINTER", 2, "z", "y", "WITHSCORES") == Pairs([(b"a", 0.0)])


def test_the_store_variants_replace_the_destination_or_delete_it_when_empty():
    s = zset_store((1, "a"), (2, "b"))
    run(s, "SET", "dst", "v", "EX", 100)
    assert run(s, "ZUNIONSTORE", "dst", 2, "z", "nokey") == 2
    assert scores(s, "dst") == {b"a": 1.0, b"b": 2.0} and b"dst" not in s.db.expires
    assert run(s, "ZINTERSTORE", "dst", 2, "z", "nokey") == 0 and b"dst" not in s.db.data
    assert run(s, "ZDIFFSTORE", "z", 1, "z") == 2 and scores(s) == {b"a": 1.0, b"b": 2.0}
    assert run(s, "ZUNIONSTORE", "dst", 1, "z", "WITHSCORES") == SYNTAX


def test_set_operation_errors_in_redis_order_and_words():
    s = abc()
    run(s, "SET", "str", "v")
    assert run(s, "ZUNION", 0, "z") == Error("ERR at least 1 input key is needed for 'zunion' command")
    assert run(s, "ZINTERSTORE", "d", -1, "z") == Error("ERR at least 1 input key is needed for 'zinterstore' command")
    assert run(s, "ZUNION", "x", "z") == NOT_INTEGER
    assert run(s, "ZUNION", 2, "z") == SYNTAX
    assert run(s, "ZUNION", 2, "z", "str", "FOO") == WRONGTYPE  # the keys before the options
    assert run(s, "ZUNION", 1, "z", "WEIGHTS", "x") == Error("ERR weight value is not a float")
    assert run(s, "ZUNION", 2, "z", "z", "WEIGHTS", 1) == SYNTAX
    assert run(s, "ZUNION", 1, "z", "AGGREGATE", "AVG") == SYNTAX
    assert run(s, "ZDIFF", 1, "z", "WEIGHTS", 1) == SYNTAX
    assert run(s, "ZINTERCARD", 1, "z", "LIMIT", -1) == Error("ERR LIMIT can't be negative")
    assert run(s, "ZINTERCARD", 1, "z", "LIMIT", "x") == Error("ERR LIMIT can't be negative")
    assert run(s, "ZINTERCARD", 1, "z", "LIMIT", 2) == 2
    assert run(s, "ZINTERCARD", 1, "z", "WITHSCORES") == SYNTAX


# ---------------------------------------------------------------- ZSCAN


def test_zscan_of_a_small_set_returns_it_whole_with_scores_as_a_listpack_holds_them():
    s = zset_store((1, "a"), (2.5, "b"), ("1e17", "c"), ("-inf", "d"))
    assert run(s, "ZSCAN", "z", 0) == [b"0", [b"d", b"-inf", b"a", b"1", b"b", b"2.5", b"c", b"100000000000000000"]]
    assert run(s, "ZSCAN", "z", 0, "MATCH", "[ab]", "COUNT", 1) == [b"0", [b"a", b"1", b"b", b"2.5"]]
    assert run(s, "ZSCAN", "nokey", 0, "BAD") == [b"0", []]  # a missing key: options are not looked at
    assert run(s, "ZSCAN", "z", "x") == Error("ERR invalid cursor")
    assert run(s, "ZSCAN", "z", 0, "COUNT", 0) == SYNTAX and run(s, "ZSCAN", "z", 0, "TYPE", "zset") == SYNTAX


def test_zscan_pages_through_a_large_set_and_returns_every_member_once():
    s = zset_store(*[(i, f"m{i}") for i in range(300)], ("1e17", "big"))
    seen, cursor, pages = {}, b"0", 0
    while True:
        cursor, words = run(s, "ZSCAN", "z", cursor, "COUNT", 25)
        pages += 1
        for member, score in zip(words[::2], words[1::2]):
            assert member not in seen
            seen[member] = score
        if cursor == b"0":
            break
        run(s, "ZREM", "z", "m0")  # changes between pages do not lose the members there throughout
    assert pages > 5 and len(seen.keys() - {b"m0"}) == 300 and seen[b"big"] == b"1e+17" and seen[b"m7"] == b"7"


# ---------------------------------------------------------------- the keyspace


def test_a_change_copies_a_set_a_snapshot_still_holds():
    s = abc()
    snapshot = s.snapshot()
    held = snapshot.dbs[0][0][b"z"]
    run(s, "ZADD", "z", 9, "a")
    run(s, "ZPOPMAX", "z")
    assert held.scores == {b"a": 1.0, b"b": 2.0, b"c": 3.0} and list(held.order) == [(1.0, b"a"), (2.0, b"b"),
                                                                                    (3.0, b"c")]
    assert scores(s) == {b"b": 2.0, b"c": 3.0}


def test_commands_against_another_type_answer_wrongtype_and_change_nothing():
    s = Store()
    run(s, "SET", "str", "v")
    for cmd in (["ZADD", "str", 1, "a"], ["ZINCRBY", "str", 1, "a"], ["ZREM", "str", "a"], ["ZPOPMIN", "str"],
                ["ZREMRANGEBYRANK", "str", 0, -1], ["ZRANDMEMBER", "str"], ["BZPOPMIN", "str", 1],
                ["ZINTER", 1, "str"]):
        assert run(s, *cmd) == WRONGTYPE
    assert s.db.data == {b"str": b"v"}
