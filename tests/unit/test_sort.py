"""SORT and SORT_RO, driven directly on a Store with values put straight into the keyspace:
replies as redis-server 7.0 gives them (the expected orders were taken from redis-server),
what STORE leaves behind, and the orders that must not depend on how a set was built."""

from collections import deque

import pytest

from resp_kv.keyspace.sort import sort_score
from resp_kv.keyspace.values import ZSet
from resp_kv.protocol import Error
from resp_kv.store import Store
from resp_kv.transactions import Transaction
from storecalls import run

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Error("ERR syntax error")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
NOT_DOUBLE = Error("ERR One or more scores can't be converted into double")


def store_with(**values):
    """A Store holding the given keys (key names as keyword arguments, ``_`` for ``:``)."""
    s = Store()
    for key, value in values.items():
        s.db.data[key.replace("_", ":").encode()] = value
    return s


def blist(*items):
    return deque(i if isinstance(i, bytes) else str(i).encode() for i in items)


def bl(*items):
    return [i if isinstance(i, bytes) or i is None else str(i).encode() for i in items]


# ------------------------------------------------------------------ numeric sorting


def test_numeric_sort_orders_by_value_and_breaks_ties_by_the_elements_bytes():
    s = store_with(l=blist("10", "2", "-1.5", "2.0", "1e1", "inf", "-inf", "0"))
    assert run(s, "SORT", "l") == bl("-inf", "-1.5", "0", "2", "2.0", "10", "1e1", "inf")
    assert run(s, "SORT", "l", "DESC") == bl("inf", "1e1", "10", "2.0", "2", "0", "-1.5", "-inf")


def test_numeric_sort_refuses_an_element_that_is_no_number_and_then_stores_nothing():
    s = store_with(l=blist("1", "abc"), d=b"old")
    assert run(s, "SORT", "l") == NOT_DOUBLE
    assert run(s, "SORT", "l", "STORE", "d") == NOT_DOUBLE
    assert s.db.data[b"d"] == b"old"
    assert run(s, "SORT", "l", "ALPHA") == bl("1", "abc")


@pytest.mark.parametrize("raw, score", [
    (b"", 0.0), (b"\x00abc", 0.0), (b"1\x00x", 1.0), (b" \t\n\v\f\r7", 7.0), (b"+3", 3.0), (b".5", 0.5),
    (b"5.", 5.0), (b"-0", -0.0), (b"0x10", 16.0), (b"0X1P3", 8.0), (b"inFINity", float("inf")),
    (b"-inf", float("-inf")), (b"0x1p-1074", 5e-324), (b"0x1p-1022", 2.2250738585072014e-308),
    (b"0e-400", 0.0), (b"1.7976931348623158e308", 1.7976931348623157e308), (b"00012", 12.0),
])
def test_weights_are_read_as_c_strtod_reads_them(raw, score):
    assert sort_score(raw) == score


@pytest.mark.parametrize("raw", [
    b"   ", b"5 ", b"1_0", b"nan", b"-nan", b"1e", b"1e+", b"0x", b".", b"+-1", b"\xa03", b"abc",
    b"1e400", b"1.797693134862315808e308", b"0x1p1024",  # overflow
    b"1e-310", b"5e-324", b"1e-400", b"0x1p-1075", b"2.2250738585072012e-308",  # inexact underflow
    b"1e-99999999999", b"0x1p-99999999999",
])
def test_weights_redis_cannot_convert(raw):
    assert sort_score(raw) is None


# ------------------------------------------------------------------ ALPHA


def test_alpha_sorts_bytes_and_strcoll_stops_at_a_nul_keeping_equal_ones_in_list_order():
    s = store_with(l=blist(b"a", b"\xff", b"\x80", b"b\x00z", b"b\x00a", b"B", b"", b"\xc3\xa9", b"e"))
    assert run(s, "SORT", "l", "ALPHA") == [b"", b"B", b"a", b"b\x00z", b"b\x00a", b"e", b"\x80", b"\xc3\xa9",
                                             b"\xff"]
    assert run(s, "SORT", "l", "ALPHA", "DESC") == [b"\xff", b"\xc3\xa9", b"\x80", b"e", b"b\x00z", b"b\x00a",
                                                     b"a", b"B", b""]


def test_alpha_with_store_compares_whole_strings():
    s = store_with(l=blist(b"b\x00z", b"b\x00a"))
    assert run(s, "SORT", "l", "ALPHA", "STORE", "d") == 2
    assert s.db.data[b"d"] == deque([b"b\x00a", b"b\x00z"])


def test_alpha_by_puts_missing_weights_first_and_keeps_equal_weights_in_list_order():
    s = store_with(l=blist("b", "c", "d", "e", "f"), w_b=b"x", w_c=b"x", w_d=b"x", w_e=b"y")
    assert run(s, "SORT", "l", "BY", "w:*", "ALPHA") == bl("f", "b", "c", "d", "e")
    assert run(s, "SORT", "l", "BY", "w:*", "ALPHA", "DESC") == bl("e", "b", "c", "d", "f")


def test_alpha_by_with_a_partial_limit_orders_equal_weights_as_redis_partial_quicksort():
    s = store_with(l=blist(*(f"e{i}" for i in range(12))))
    for i in range(12):
        if i % 3:
            s.db.data[f"w:e{i}".encode()] = b"ab"[i % 2:i % 2 + 1]
    assert run(s, "SORT", "l", "BY", "w:*", "ALPHA") == bl("e0", "e3", "e6", "e9", "e2", "e4", "e8", "e10",
                                                           "e1", "e5", "e7", "e11")
    assert run(s, "SORT", "l", "BY", "w:*", "ALPHA", "LIMIT", "2", "5") == bl("e6", "e9", "e4", "e10", "e8")
    assert run(s, "SORT", "l", "BY", "w:*", "ALPHA", "LIMIT", "2", "5", "DESC") == bl("e11", "e7", "e4", "e10",
                                                                                      "e8")


# ------------------------------------------------------------------ BY and GET patterns


def test_by_reads_strings_and_hash_fields_and_a_missing_weight_counts_as_zero():
    s = store_with(l=blist("a", "b", "c"), w_a=b"3", w_b=b"-1", h_a={b"f": b"1"}, h_c={b"f": b"-5"})
    assert run(s, "SORT", "l", "BY", "w:*") == bl("b", "c", "a")
    assert run(s, "SORT", "l", "BY", "h:*->f") == bl("c", "b", "a")
    assert run(s, "SORT", "l", "BY", "h:*->f", "GET", "#", "GET", "h:*->f", "GET", "w:*") == bl(
        "c", "-5", None, "b", None, "-1", "a", "1", "3")


def test_patterns_read_only_the_right_type_and_only_with_a_star():
    s = store_with(l=blist("a"), w_a={b"f": b"v"}, h_a=b"str", fixed=b"x")
    s.db.data[b"h:a->"] = b"arrow"
    assert run(s, "SORT", "l", "ALPHA", "GET", "w:*", "GET", "h:*->f", "GET", "fixed", "GET", "h:*->") == [
        None, None, None, b"arrow"]  # "->" with no field after it is part of the key name


def test_patterns_end_at_a_nul_byte_as_c_reads_them():
    s = store_with(l=blist("a"), k_a=b"found")
    s.db.data[b"x\x00*"] = b"never"
    assert run(s, "SORT", "l", "ALPHA", "GET", b"#\x00junk", "GET", b"k:*\x00", "GET", b"x\x00*") == [b"a", None, None]
    s.db.data[b"k:a\x00"] = b"binary key"
    assert run(s, "SORT", "l", "ALPHA", "GET", b"k:*\x00") == [b"binary key"]


def test_a_by_pattern_without_a_star_does_not_sort_and_is_never_undone_by_a_later_by():
    s = store_with(l=blist("3", "x", "1", "2"), w_1=b"9")
    assert run(s, "SORT", "l", "BY", "nosort") == bl("3", "x", "1", "2")
    assert run(s, "SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2") == bl("1", "x")
    assert run(s, "SORT", "l", "BY", "nosort", "BY", "w:*") == bl("3", "x", "1", "2")


def test_by_nosort_keeps_a_sorted_sets_score_order():
    s = store_with(z=ZSet([(b"c", 1.0), (b"a", 2.0), (b"b", 2.0), (b"d", -1.0)]))
    assert run(s, "SORT", "z", "BY", "nosort") == bl("d", "c", "a", "b")
    assert run(s, "SORT", "z", "BY", "nosort", "DESC") == bl("b", "a", "c", "d")
    assert run(s, "SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2") == bl("a", "c")
    assert run(s, "SORT", "z", "BY", "nosort", "LIMIT", "3", "10") == bl("b")
    assert run(s, "SORT", "z", "ALPHA") == bl("a", "b", "c", "d")


def test_by_nosort_gives_an_integer_set_in_intset_order_and_sorts_a_set_it_stores():
    s = store_with(i={b"10", b"-3", b"2", b"007"}, n={b"10", b"-3", b"2"})
    assert run(s, "SORT", "n", "BY", "nosort") == bl("-3", "2", "10")
    assert run(s, "SORT", "i", "BY", "nosort", "STORE", "d") == 4
    assert s.db.data[b"d"] == blist("-3", "007", "10", "2")  # ALPHA, as Redis forces it


# ------------------------------------------------------------------ LIMIT


@pytest.mark.parametrize("offset, count, expected", [
    ("0", "2", ["1", "2"]), ("-5", "2", ["1", "2"]), ("3", "-1", ["4", "5"]), ("3", "-100", ["4", "5"]),
    ("4", "100", ["5"]), ("5", "1", []), ("9223372036854775807", "9223372036854775807", []), ("1", "0", []),
    ("-9223372036854775808", "9223372036854775807", ["1", "2", "3", "4", "5"]),
])
def test_limit_clamps_as_redis_does(offset, count, expected):
    s = store_with(l=blist("5", "3", "1", "4", "2"))
    assert run(s, "SORT", "l", "LIMIT", offset, count) == bl(*expected)


def test_a_missing_key_sorts_as_an_empty_list():
    s = store_with(d=b"x")
    assert run(s, "SORT", "nokey", "BY", "w:*", "GET", "#", "LIMIT", "0", "5") == []
    assert run(s, "SORT", "nokey", "STORE", "d") == 0
    assert b"d" not in s.db.data


# ------------------------------------------------------------------ STORE


def test_store_writes_a_list_replacing_any_value_and_its_ttl_and_counts_get_results():
    s = store_with(l=blist("2", "1"), w_1=b"one", d={b"f": b"v"})
    s.db.expires[b"d"] = 10**15
    assert run(s, "SORT", "l", "GET", "#", "GET", "w:*", "STORE", "d") == 4
    assert s.db.data[b"d"] == deque([b"1", b"one", b"2", b""])  # a missing GET stores an empty string
    assert b"d" not in s.db.expires
    assert run(s, "SORT", "l", "STORE", "l", "DESC") == 2
    assert s.db.data[b"l"] == blist("2", "1")


def test_store_tells_watch_even_when_it_deletes():
    s = store_with(l=blist("1"), d=b"x")
    tx = Transaction(s)
    tx.watch(s.db, [b"d"])
    run(s, "SORT", "l", "LIMIT", "0", "0", "STORE", "d")
    assert b"d" not in s.db.data and tx.dirty


def test_a_stored_set_sort_with_equal_weights_does_not_depend_on_how_the_set_was_built():
    members = [f"m{i}".encode() for i in range(200)]
    a, b = Store(), Store()
    a.db.data[b"s"] = set(members)
    b.db.data[b"s"] = set()
    for m in reversed(members):
        b.db.data[b"s"].add(m)
    for s in (a, b):
        s.db.data[b"w:m7"] = b"z"
        assert run(s, "SORT", "s", "BY", "w:*", "ALPHA", "STORE", "d") == 200
    assert a.db.data[b"d"] == b.db.data[b"d"]
    assert a.db.data[b"d"][-1] == b"m7"


def test_sort_in_a_script_sorts_a_set_even_with_by_nosort():
    s = store_with(s={b"b", b"a", b"c"})
    s.in_script = True
    assert run(s, "SORT", "s", "BY", "nosort") == bl("a", "b", "c")


# ------------------------------------------------------------------ errors


def test_wrong_types_and_bad_options():
    s = store_with(str=b"x", h={b"f": b"v"}, l=blist("1"))
    assert run(s, "SORT", "str") == WRONGTYPE
    assert run(s, "SORT_RO", "h") == WRONGTYPE
    assert run(s, "SORT", "str", "FOO") == SYNTAX  # options are checked before the key
    assert run(s, "SORT", "l", "LIMIT", "1") == SYNTAX
    assert run(s, "SORT", "l", "LIMIT", "x", "1") == NOT_INTEGER
    assert run(s, "SORT", "l", "LIMIT", "0", "1.5") == NOT_INTEGER
    assert run(s, "SORT", "l", "BY") == SYNTAX
    assert run(s, "SORT", "l", "GET") == SYNTAX
    assert run(s, "SORT", "l", "STORE") == SYNTAX
    assert run(s, "SORT_RO", "l", "STORE", "d") == SYNTAX
    assert b"d" not in s.db.data


def test_options_are_case_insensitive_and_the_last_one_wins():
    s = store_with(l=blist("1", "3", "2"))
    assert run(s, "sort", "l", "desc", "asc", "limit", "0", "1", "LiMiT", "1", "5") == bl("2", "3")
    assert run(s, "SORT_RO", "l", "DESC") == bl("3", "2", "1")
