"""The lists commands (resp_kv/keyspace/lists.py), driven directly on a Store: replies, errors
in Redis's order, what is left in the keyspace, and the blocking commands' non-blocking form."""

import random
from collections import deque

from resp_kv.protocol import NULL_ARRAY, OK, Error
from resp_kv.store import Store
from resp_kv.transactions import Transaction
from storecalls import run

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
SYNTAX = Error("ERR syntax error")
NEGATIVE_TIMEOUT = Error("ERR timeout is negative")
BAD_TIMEOUT = Error("ERR timeout is not a float or out of range")


def make(*items, key="l"):
    s = Store()
    if items:
        run(s, "RPUSH", key, *items)
    return s


def items(store, key="l"):
    return run(store, "LRANGE", key, 0, -1)


# ------------------------------------------------------------------ pushing and popping


def test_pushes_add_at_either_end_and_answer_the_new_length():
    s = Store()
    assert run(s, "LPUSH", "l", "a", "b", "c") == 3
    assert run(s, "RPUSH", "l", "x", "y") == 5
    assert items(s) == [b"c", b"b", b"a", b"x", b"y"]


def test_pushx_adds_only_to_an_existing_list():
    s = Store()
    assert run(s, "LPUSHX", "l", "a") == 0 and run(s, "RPUSHX", "l", "a") == 0
    assert b"l" not in s.db.data
    run(s, "RPUSH", "l", "m")
    assert run(s, "LPUSHX", "l", "a") == 2 and run(s, "RPUSHX", "l", "z") == 3
    assert items(s) == [b"a", b"m", b"z"]


def test_every_command_answers_wrongtype_for_a_string_and_leaves_it_alone():
    s = Store()
    run(s, "SET", "s", "v")
    for cmd in (["LPUSH", "s", "a"], ["RPUSHX", "s", "a"], ["LPOP", "s"], ["RPOP", "s", "2"], ["LLEN", "s"],
                ["LRANGE", "s", 0, -1], ["LINDEX", "s", 0], ["LSET", "s", 0, "x"], ["LINSERT", "s", "BEFORE", "a", "b"],
                ["LREM", "s", 0, "a"], ["LTRIM", "s", 0, 1], ["LPOS", "s", "a"], ["LMOVE", "s", "d", "LEFT", "LEFT"],
                ["RPOPLPUSH", "s", "d"], ["LMPOP", 1, "s", "LEFT"], ["BLPOP", "s", "0"], ["BLMPOP", 0, 1, "s", "RIGHT"]):
        assert run(s, *cmd) == WRONGTYPE, cmd
    assert s.db.data == {b"s": b"v"}


def test_pop_without_a_count_answers_an_element_or_a_null_bulk():
    s = make("a", "b", "c")
    assert run(s, "LPOP", "l") == b"a" and run(s, "RPOP", "l") == b"c"
    assert run(s, "LPOP", "missing") is None


def test_pop_with_a_count_answers_an_array_and_a_missing_key_a_null_array():
    s = make("a", "b", "c", "d")
    assert run(s, "RPOP", "l", 2) == [b"d", b"c"]  # in the order popped
    assert run(s, "LPOP", "l", 0) == []
    assert run(s, "LPOP", "missing", 0) is NULL_ARRAY and run(s, "LPOP", "missing", 3) is NULL_ARRAY
    assert run(s, "LPOP", "l", 100) == [b"a", b"b"]
    assert b"l" not in s.db.data  # emptied: deleted, as Redis never keeps an empty list


def test_pop_count_errors_come_before_the_key_is_looked_at():
    s = Store()
    run(s, "SET", "s", "v")
    positive = Error("ERR value is out of range, must be positive")
    assert run(s, "LPOP", "s", -1) == positive and run(s, "RPOP", "s", "x") == positive
    assert run(s, "LPOP", "s", 0) == WRONGTYPE
    assert run(s, "LPOP", "s", 1, 2) == Error("ERR wrong number of arguments for 'lpop' command")


# ------------------------------------------------------------------ reading


def test_lrange_clamps_its_indexes_as_redis():
    s = make(*"abcde")
    assert run(s, "LRANGE", "l", -100, 1) == [b"a", b"b"]
    assert run(s, "LRANGE", "l", 3, 100) == [b"d", b"e"]
    assert run(s, "LRANGE", "l", -2, -1) == [b"d", b"e"]
    assert run(s, "LRANGE", "l", 3, 2) == [] and run(s, "LRANGE", "l", 5, 9) == []
    assert run(s, "LRANGE", "l", -9223372036854775808, 9223372036854775807) == [b"a", b"b", b"c", b"d", b"e"]
    assert run(s, "LRANGE", "l", "x", 1) == NOT_INTEGER
    assert run(s, "LRANGE", "l", 0, "9223372036854775808") == NOT_INTEGER
    assert run(s, "LRANGE", "missing", 0, -1) == []


def test_lrange_agrees_with_a_reference_on_random_ranges_from_either_end():
    rng = random.Random(7)
    values = [b"%d" % i for i in range(60)]
    s = make(*values)
    for _ in range(2000):
        start, end = rng.randint(-70, 70), rng.randint(-70, 70)
        lo = max(start + 60 if start < 0 else start, 0)
        hi = min(end + 60 if end < 0 else end, 59)
        assert run(s, "LRANGE", "l", start, end) == (values[lo:hi + 1] if hi >= lo else []), (start, end)


def test_a_range_reply_is_a_new_list_never_the_stored_deque():
    s = make("a", "b")
    reply = run(s, "LRANGE", "l", 0, -1)
    reply.append(b"z")
    assert s.db.data[b"l"] == deque([b"a", b"b"])


def test_lindex_counts_negative_indexes_from_the_end_and_is_null_outside():
    s = make("a", "b", "c")
    assert run(s, "LINDEX", "l", 0) == b"a" and run(s, "LINDEX", "l", -1) == b"c"
    assert run(s, "LINDEX", "l", 3) is None and run(s, "LINDEX", "l", -4) is None
    assert run(s, "LINDEX", "l", -9223372036854775808) is None
    assert run(s, "LINDEX", "l", "x") == NOT_INTEGER
    assert run(s, "LINDEX", "missing", "x") is None  # the key first, as Redis
    assert run(s, "LLEN", "l") == 3 and run(s, "LLEN", "missing") == 0


def test_lpos_finds_matches_by_rank_count_and_maxlen():
    s = make(*"abcabcab")
    assert run(s, "LPOS", "l", "c") == 2
    assert run(s, "LPOS", "l", "c", "RANK", 2) == 5
    assert run(s, "LPOS", "l", "a", "RANK", -1) == 6
    assert run(s, "LPOS", "l", "a", "COUNT", 0) == [0, 3, 6]
    assert run(s, "LPOS", "l", "a", "RANK", -2, "COUNT", 5) == [3, 0]
    assert run(s, "LPOS", "l", "a", "COUNT", 0, "MAXLEN", 4) == [0, 3]
    assert run(s, "LPOS", "l", "b", "RANK", -1, "MAXLEN", 1) == 7
    assert run(s, "LPOS", "l", "z") is None and run(s, "LPOS", "l", "z", "COUNT", 1) == []
    assert run(s, "LPOS", "missing", "a") is None and run(s, "LPOS", "missing", "a", "COUNT", 1) == []
    assert run(s, "LPOS", "l", "a", "rank", 9223372036854775807) is None


def test_lpos_with_the_lowest_rank_counts_from_the_tail_and_ignores_count_as_redis():
    s = make(*"abcabcab")
    assert run(s, "LPOS", "l", "a", "RANK", -9223372036854775808) == 6
    assert run(s, "LPOS", "l", "a", "RANK", -9223372036854775808, "COUNT", 1) == [6, 3, 0]


def test_lpos_option_errors_come_before_the_type_check():
    s = Store()
    run(s, "SET", "s", "v")
    assert run(s, "LPOS", "s", "a", "RANK", 0) == Error(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
        "or use negative to start from the end of the list")
    assert run(s, "LPOS", "s", "a", "COUNT", -1) == Error("ERR COUNT can't be negative")
    assert run(s, "LPOS", "s", "a", "COUNT", "x") == Error("ERR COUNT can't be negative")
    assert run(s, "LPOS", "s", "a", "MAXLEN", -1) == Error("ERR MAXLEN can't be negative")
    assert run(s, "LPOS", "s", "a", "RANK", "x") == NOT_INTEGER
    assert run(s, "LPOS", "s", "a", "RANK") == SYNTAX and run(s, "LPOS", "s", "a", "FOO", 1) == SYNTAX
    assert run(s, "LPOS", "s", "a") == WRONGTYPE


# ------------------------------------------------------------------ changing in place


def test_lset_replaces_by_index_and_says_why_it_cannot():
    s = make("a", "b", "c")
    assert run(s, "LSET", "l", -1, "z") == OK and items(s) == [b"a", b"b", b"z"]
    assert run(s, "LSET", "l", 3, "x") == Error("ERR index out of range")
    assert run(s, "LSET", "l", "x", "x") == NOT_INTEGER
    assert run(s, "LSET", "missing", "x", "v") == Error("ERR no such key")


def test_linsert_goes_next_to_the_first_pivot_or_answers_minus_one():
    s = make("a", "b", "a")
    assert run(s, "LINSERT", "l", "before", "a", "x") == 4
    assert run(s, "LINSERT", "l", "AFTER", "a", "y") == 5
    assert items(s) == [b"x", b"a", b"y", b"b", b"a"]
    assert run(s, "LINSERT", "l", "AFTER", "zz", "y") == -1
    assert run(s, "LINSERT", "missing", "AFTER", "a", "y") == 0
    assert run(s, "LINSERT", "missing", "AROUND", "a", "y") == SYNTAX  # checked before the key


def test_lrem_removes_from_the_head_the_tail_or_everywhere():
    s = make(*"abacada")
    assert run(s, "LREM", "l", 2, "a") == 2 and items(s) == list(map(str.encode, "bcada"))
    assert run(s, "LREM", "l", -1, "a") == 1 and items(s) == list(map(str.encode, "bcad"))
    assert run(s, "LREM", "l", 0, "a") == 1 and items(s) == list(map(str.encode, "bcd"))
    assert run(s, "LREM", "l", 0, "zz") == 0
    assert run(s, "LREM", "l", "x", "a") == NOT_INTEGER


def test_lrem_agrees_with_a_reference_for_every_count():
    rng = random.Random(3)
    for _ in range(300):
        values = [rng.choice([b"a", b"a", b"b", b"c"]) for _ in range(rng.randint(1, 30))]
        count = rng.randint(-15, 15)
        positions = [i for i, v in enumerate(values) if v == b"a"]
        if count < 0:
            positions.reverse()
        drop = set(positions if count == 0 else positions[:abs(count)])
        want = [v for i, v in enumerate(values) if i not in drop]
        s = make(*values)
        assert run(s, "LREM", "l", count, "a") == len(drop)
        assert (items(s) if want else s.db.data.get(b"l")) == (want or None)


def test_lrem_with_the_lowest_count_removes_every_match():
    s = make(*"abab")
    assert run(s, "LREM", "l", -9223372036854775808, "a") == 2 and items(s) == [b"b", b"b"]


def test_ltrim_keeps_the_range_and_an_empty_range_deletes_the_key():
    s = make(*"abcdef")
    assert run(s, "LTRIM", "l", 1, -2) == OK and items(s) == list(map(str.encode, "bcde"))
    assert run(s, "LTRIM", "l", 2, 100) == OK and items(s) == [b"d", b"e"]
    assert run(s, "LTRIM", "l", 5, 1) == OK and b"l" not in s.db.data
    assert run(s, "LTRIM", "missing", 0, 1) == OK
    assert run(s, "LTRIM", "l", 0, "x") == NOT_INTEGER


def test_ltrim_agrees_with_lrange_on_random_ranges():
    rng = random.Random(11)
    values = [b"%d" % i for i in range(40)]
    for _ in range(500):
        start, end = rng.randint(-45, 45), rng.randint(-45, 45)
        s = make(*values)
        want = run(s, "LRANGE", "l", start, end)
        run(s, "LTRIM", "l", start, end)
        assert (items(s) if want else s.db.data.get(b"l")) == (want or None), (start, end)


def test_ltrim_touches_a_watched_key_even_when_nothing_is_trimmed():
    s = make("a", "b")
    tx = Transaction(s)
    tx.watch(s.db, [b"l"])
    run(s, "LTRIM", "l", 0, -1)  # as Redis: signalModifiedKey whatever was removed
    tx.begin()
    assert tx.take() is None


def test_a_change_copies_a_list_a_snapshot_still_holds():
    s = make("a", "b")
    held = s.db.data[b"l"]
    s.frozen.add(id(held))
    run(s, "RPUSH", "l", "c")
    run(s, "LSET", "l", 0, "z")
    assert held == deque([b"a", b"b"]) and items(s) == [b"z", b"b", b"c"]


def test_lmove_pops_from_one_end_and_pushes_onto_the_other_list():
    s = make("a", "b", "c")
    assert run(s, "LMOVE", "l", "d", "LEFT", "right") == b"a"
    assert run(s, "RPOPLPUSH", "l", "d") == b"c"
    assert items(s, "d") == [b"c", b"a"] and items(s) == [b"b"]
    assert run(s, "LMOVE", "l", "d", "LEFT", "UP") == SYNTAX
    assert run(s, "LMOVE", "missing", "d", "LEFT", "LEFT") is None


def test_lmove_onto_the_same_list_rotates_it_even_with_one_element():
    s = make("a", "b", "c")
    assert run(s, "LMOVE", "l", "l", "LEFT", "RIGHT") == b"a" and items(s) == [b"b", b"c", b"a"]
    s = make("only")
    assert run(s, "RPOPLPUSH", "l", "l") == b"only" and items(s) == [b"only"]


def test_lmove_checks_the_target_type_before_anything_moves():
    s = make("a")
    run(s, "SET", "s", "v")
    assert run(s, "LMOVE", "l", "s", "LEFT", "LEFT") == WRONGTYPE
    assert items(s) == [b"a"]
    assert run(s, "LMOVE", "missing", "s", "LEFT", "LEFT") is None  # no source: no type check


def test_lmpop_pops_up_to_count_from_the_first_list_that_has_elements():
    s = make("a", "b", "c", key="second")
    assert run(s, "LMPOP", 2, "first", "second", "RIGHT", "COUNT", 2) == [b"second", [b"c", b"b"]]
    assert run(s, "LMPOP", 2, "first", "second", "LEFT") == [b"second", [b"a"]]
    assert run(s, "LMPOP", 1, "second", "LEFT") is NULL_ARRAY


def test_lmpop_argument_errors_as_redis_words_them():
    s = Store()
    assert run(s, "LMPOP", 0, "a", "LEFT") == Error("ERR numkeys should be greater than 0")
    assert run(s, "LMPOP", "x", "a", "LEFT") == Error("ERR numkeys should be greater than 0")
    assert run(s, "LMPOP", 2, "a", "LEFT") == SYNTAX  # LEFT taken as a key: no direction left
    assert run(s, "LMPOP", 1, "a", "UP") == SYNTAX
    assert run(s, "LMPOP", 1, "a", "LEFT", "COUNT", 0) == Error("ERR count should be greater than 0")
    assert run(s, "LMPOP", 1, "a", "LEFT", "COUNT", 1, "COUNT", 1) == SYNTAX
    assert run(s, "LMPOP", 1, "a", "LEFT", "COUNT") == SYNTAX
    assert run(s, "LMPOP", 9223372036854775807, "a", "LEFT") == SYNTAX


# ------------------------------------------------------------------ blocking commands


def test_blocking_pops_serve_the_first_key_with_elements():
    s = make("a", "b", key="k2")
    assert run(s, "BLPOP", "k1", "k2", "0") == [b"k2", b"a"]
    assert run(s, "BRPOP", "k1", "k2", "0.5") == [b"k2", b"b"]
    assert b"k2" not in s.db.data


def test_blocking_commands_with_nothing_to_pop_answer_what_redis_answers_inside_multi():
    s = Store()
    assert run(s, "BLPOP", "k", "0.01") is NULL_ARRAY and run(s, "BRPOP", "k", "0") is NULL_ARRAY
    assert run(s, "BLMPOP", "0", 1, "k", "LEFT") is NULL_ARRAY
    assert run(s, "BLMOVE", "k", "d", "LEFT", "LEFT", "0") is None  # a null bulk
    assert run(s, "BRPOPLPUSH", "k", "d", "0") is None


def test_blmove_and_blmpop_serve_like_lmove_and_lmpop():
    s = make("a", "b", "c")
    assert run(s, "BLMOVE", "l", "d", "RIGHT", "LEFT", "1") == b"c"
    assert run(s, "BRPOPLPUSH", "l", "d", "1") == b"b"
    assert run(s, "BLMPOP", "1", 2, "x", "d", "LEFT", "COUNT", 5) == [b"d", [b"b", b"c"]]


def test_timeouts_are_checked_as_redis_checks_them():
    s = Store()
    for timeout in ("x", "", " 1", "nan", "1e", "0.01x"):
        assert run(s, "BLPOP", "k", timeout) == BAD_TIMEOUT, timeout
    for timeout in ("-1", "-0.002", "inf", "-inf", "1e30", "9223372036854775.808", "9223372036854775807"):
        assert run(s, "BLPOP", "k", timeout) == NEGATIVE_TIMEOUT, timeout
    for timeout in ("0", "-0.001", "-0.0001", "0x10", "1e-400", "9223372036854775.807"):
        assert run(s, "BLPOP", "k", timeout) is NULL_ARRAY, timeout  # (ceil in long double: >= 0)


def test_blocking_argument_errors_come_in_redis_order():
    s = Store()
    run(s, "SET", "s", "v")
    assert run(s, "BLMOVE", "s", "d", "UP", "LEFT", "x") == SYNTAX  # sides before the timeout
    assert run(s, "BLMOVE", "s", "d", "LEFT", "LEFT", "x") == BAD_TIMEOUT  # timeout before the type
    assert run(s, "BLMPOP", "x", 0, "s", "LEFT") == Error("ERR numkeys should be greater than 0")
    assert run(s, "BLMPOP", "x", 1, "s", "LEFT", "COUNT", 0) == Error("ERR count should be greater than 0")
    assert run(s, "BLMPOP", "x", 1, "s", "LEFT") == BAD_TIMEOUT
    assert run(s, "BLPOP", "missing", "s", "1") == WRONGTYPE


def test_pop_blocked_serves_now_or_says_none_and_blocking_keys_names_the_keys():
    s = make("a", key="k2")
    assert s.pop_blocked([b"BLPOP", b"k1", b"0"]) is None
    assert s.pop_blocked([b"blmove", b"k1", b"d", b"LEFT", b"LEFT", b"0"]) is None
    assert s.pop_blocked([b"BLMPOP", b"0", b"2", b"k1", b"k2", b"LEFT"]) == [b"k2", [b"a"]]
    run(s, "SET", "s", "v")
    assert s.pop_blocked([b"BRPOP", b"s", b"0"]) == WRONGTYPE  # an error is a reply, not an exception
    assert s.blocking_keys([b"BLPOP", b"a", b"b", b"1"]) == [b"a", b"b"]
    assert s.blocking_keys([b"BRPOPLPUSH", b"a", b"b", b"1"]) == [b"a"]
    assert s.blocking_keys([b"BLMPOP", b"1", b"2", b"a", b"b", b"RIGHT", b"COUNT", b"3"]) == [b"a", b"b"]
    assert s.blocking_keys([b"BLPOP", b"a", b"-1"]) == NEGATIVE_TIMEOUT
    assert s.blocking_keys([b"BLMOVE", b"a", b"b", b"LEFT", b"NOWHERE", b"1"]) == SYNTAX


def test_list_wait_gives_the_keys_the_timeout_and_redis_timeout_reply():
    s = Store()
    s.now = 1000.0
    assert s.list_wait([b"BLPOP", b"a", b"b", b"1.5"]) == ([b"a", b"b"], deque, 1.5, NULL_ARRAY)
    # On timeout Redis answers BLMOVE with a null array too (only inside MULTI a null bulk).
    assert s.list_wait([b"BLMOVE", b"a", b"b", b"LEFT", b"LEFT", b"0"]) == ([b"a"], deque, 0, NULL_ARRAY)
    assert s.list_wait([b"BLPOP", b"a", b"9223372036854775"])[2] == 0  # wraps in Redis: never fires
    assert s.list_wait([b"BLPOP", b"a", b"x"]) is None  # runs now, and answers the error
