"""The hash commands (resp_kv/keyspace/hashes.py), driven through Store.run: replies, errors in
Redis's words and order, what is left in the keyspace, and what the backup is told to run."""

from collections import Counter


from resp_kv import protocol
from resp_kv.protocol import OK, Error, encode
from resp_kv.store import Store
from storecalls import run

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
SYNTAX = Error("ERR syntax error")


def hash_store(fields=5, key="h") -> Store:
    s = Store()
    run(s, "HSET", key, *[w for i in range(fields) for w in (f"f{i}", f"v{i}")])
    return s


# ---------------------------------------------------------------- setting and deleting


def test_hset_counts_only_new_fields_and_overwrites_existing_ones():
    s = Store()
    assert run(s, "HSET", "h", "a", "1", "b", "2") == 2
    assert run(s, "HSET", "h", "a", "x", "c", "3", "c", "4") == 1
    assert s.db.data[b"h"] == {b"a": b"x", b"b": b"2", b"c": b"4"}


def test_hmset_replies_ok_and_a_missing_value_is_an_arity_error_naming_the_command():
    s = Store()
    assert run(s, "HMSET", "h", "a", "1") == OK
    assert run(s, "hmset", "h", "a", "1", "b") == Error("ERR wrong number of arguments for 'hmset' command")
    assert run(s, "HSET", "n", "a", "1", "b") == Error("ERR wrong number of arguments for 'hset' command")
    assert b"n" not in s.db.data and s.db.data[b"h"] == {b"a": b"1"}


def test_hsetnx_sets_a_field_only_if_it_is_not_there():
    s = Store()
    assert run(s, "HSETNX", "h", "f", "1") == 1
    assert run(s, "HSETNX", "h", "f", "2") == 0
    assert run(s, "HGET", "h", "f") == b"1"


def test_hdel_counts_each_field_once_and_deleting_the_last_field_deletes_the_key():
    s = hash_store(3)
    assert run(s, "HDEL", "h", "f0", "f0", "nope") == 1
    assert run(s, "HDEL", "h", "f1", "f2", "f1") == 2
    assert b"h" not in s.db.data and run(s, "EXISTS", "h") == 0
    assert run(s, "HDEL", "h", "f1") == 0


def test_every_hash_command_refuses_another_type_and_leaves_it_alone():
    s = Store()
    run(s, "SET", "s", "text")
    for cmd in (["HSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"], ["HMSET", "s", "f", "v"], ["HGET", "s", "f"],
                ["HMGET", "s", "f"], ["HGETALL", "s"], ["HDEL", "s", "f"], ["HEXISTS", "s", "f"], ["HLEN", "s"],
                ["HSTRLEN", "s", "f"], ["HKEYS", "s"], ["HVALS", "s"], ["HINCRBY", "s", "f", "1"],
                ["HINCRBYFLOAT", "s", "f", "1"], ["HRANDFIELD", "s"], ["HRANDFIELD", "s", "2"],
                ["HSCAN", "s", "0"]):
        assert run(s, *cmd) == WRONGTYPE, cmd
    assert s.db.data[b"s"] == b"text"


def test_a_hash_held_by_a_snapshot_is_copied_before_it_changes():
    s = hash_store(2)
    held = s.db.data[b"h"]
    s.frozen = {id(held)}
    run(s, "HSET", "h", "f0", "new")
    run(s, "HDEL", "h", "f1")
    assert held == {b"f0": b"v0", b"f1": b"v1"}
    assert s.db.data[b"h"] == {b"f0": b"new"}


# ---------------------------------------------------------------- reading


def test_reads_of_a_missing_key_answer_as_an_empty_hash():
    s = Store()
    assert run(s, "HGET", "h", "f") is None
    assert run(s, "HMGET", "h", "a", "b") == [None, None]
    assert run(s, "HGETALL", "h") == {} and run(s, "HKEYS", "h") == [] and run(s, "HVALS", "h") == []
    assert run(s, "HLEN", "h") == 0 and run(s, "HEXISTS", "h", "f") == 0 and run(s, "HSTRLEN", "h", "f") == 0
    assert not s.db.data


def test_reads_answer_fields_values_and_lengths():
    s = Store()
    run(s, "HSET", "h", "a", "1", "b", "", "c", "three")
    assert run(s, "HMGET", "h", "c", "x", "a") == [b"three", None, b"1"]
    assert run(s, "HGETALL", "h") == {b"a": b"1", b"b": b"", b"c": b"three"}
    assert run(s, "HKEYS", "h") == [b"a", b"b", b"c"] and run(s, "HVALS", "h") == [b"1", b"", b"three"]
    assert run(s, "HLEN", "h") == 3 and run(s, "HEXISTS", "h", "b") == 1
    assert run(s, "HSTRLEN", "h", "c") == 5 and run(s, "HSTRLEN", "h", "x") == 0


def test_hgetall_answers_a_map_in_resp3_and_a_flat_array_in_resp2():
    s = Store()
    run(s, "HSET", "h", "a", "1")
    reply = run(s, "HGETALL", "h")
    assert encode(reply, resp3=True) == b"%1\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert encode(reply) == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert encode(run(s, "HGETALL", "none"), resp3=True) == b"%0\r\n"


def test_a_reply_is_not_the_stored_hash():
    s = hash_store(2)
    run(s, "HGETALL", "h")[b"f0"] = b"changed"
    run(s, "HKEYS", "h").append(b"more")
    assert s.db.data[b"h"] == {b"f0": b"v0", b"f1": b"v1"}


def test_an_expired_hash_reads_as_missing_and_is_deleted():
    s = hash_store(2)
    s.now = 1.0
    run(s, "PEXPIRE", "h", "100")
    s.now = 2.0
    assert run(s, "HLEN", "h") == 0
    assert b"h" not in s.db.data


# ---------------------------------------------------------------- HINCRBY, HINCRBYFLOAT


def test_hincrby_adds_to_a_field_and_creates_what_is_missing():
    s = Store()
    assert run(s, "HINCRBY", "h", "n", "5") == 5
    assert run(s, "HINCRBY", "h", "n", "-7") == -2
    assert s.db.data[b"h"][b"n"] == b"-2"


def test_hincrby_errors_in_redis_order_and_leave_no_empty_key():
    s = Store()
    run(s, "SET", "s", "x")
    assert run(s, "HINCRBY", "s", "n", "x") == NOT_INTEGER  # the increment is checked first
    assert run(s, "HINCRBY", "h", "n", "1.5") == NOT_INTEGER and b"h" not in s.db.data
    run(s, "HSET", "h", "v", "007", "big", "9223372036854775807")
    assert run(s, "HINCRBY", "h", "v", "1") == Error("ERR hash value is not an integer")
    assert run(s, "HINCRBY", "h", "big", "1") == Error("ERR increment or decrement would overflow")
    assert run(s, "HINCRBY", "h", "big", "-9223372036854775808") == -1


def test_hincrbyfloat_adds_in_long_double_and_prints_as_redis():
    s = Store()
    assert run(s, "HINCRBYFLOAT", "h", "f", "10.5") == b"10.5"
    assert run(s, "HINCRBYFLOAT", "h", "f", "0.1") == b"10.6"
    assert run(s, "HINCRBYFLOAT", "h", "f", "-10.6") == b"0"
    run(s, "HSET", "h", "e", "1e3")
    assert run(s, "HINCRBYFLOAT", "h", "e", "0x10") == b"1016"
    assert s.db.data[b"h"][b"f"] == b"0"


def test_hincrbyfloat_errors_as_redis_words_them():
    s = Store()
    run(s, "HSET", "h", "word", "abc", "inf", "inf", "space", " 1")
    assert run(s, "HINCRBYFLOAT", "h", "f", "abc") == Error("ERR value is not a valid float")
    assert run(s, "HINCRBYFLOAT", "h", "f", "nan") == Error("ERR value is not a valid float")
    assert run(s, "HINCRBYFLOAT", "h", "f", "-inf") == Error("ERR value is NaN or Infinity")
    assert run(s, "HINCRBYFLOAT", "h", "word", "1") == Error("ERR hash value is not a float")
    assert run(s, "HINCRBYFLOAT", "h", "space", "1") == Error("ERR hash value is not a float")
    assert run(s, "HINCRBYFLOAT", "h", "inf", "1") == Error("ERR increment would produce NaN or Infinity")
    assert run(s, "HINCRBYFLOAT", "new", "f", "inf") == Error("ERR value is NaN or Infinity")
    assert b"new" not in s.db.data and b"f" not in s.db.data[b"h"]


# ---------------------------------------------------------------- HRANDFIELD


def test_hrandfield_without_count_answers_one_field_or_nil():
    s = hash_store(5)
    assert run(s, "HRANDFIELD", "h") in s.db.data[b"h"]
    assert s.effects == []  # a random pick: the backup runs nothing
    assert run(s, "HRANDFIELD", "none") is None and s.effects is None


def test_hrandfield_positive_count_answers_distinct_fields_at_most_the_whole_hash():
    s = hash_store(10)
    picked = run(s, "HRANDFIELD", "h", "4")
    assert len(picked) == 4 and len(set(picked)) == 4 and set(picked) <= set(s.db.data[b"h"])
    assert s.effects == []
    whole = run(s, "HRANDFIELD", "h", "10")
    assert whole == list(s.db.data[b"h"]) and s.effects is None  # nothing random: the backup may run it


def test_hrandfield_negative_count_may_repeat_fields():
    s = hash_store(2)
    picked = run(s, "HRANDFIELD", "h", "-50")
    assert len(picked) == 50 and set(picked) == {b"f0", b"f1"}
    assert s.effects == []


def test_hrandfield_withvalues_pairs_each_field_with_its_value_flat_in_resp2():
    s = hash_store(6)
    reply = run(s, "HRANDFIELD", "h", "-8", "withvalues")
    flat = protocol.decode_reply(encode(reply))
    assert len(flat) == 16
    assert all(s.db.data[b"h"][f] == v for f, v in zip(flat[::2], flat[1::2]))


def test_hrandfield_withvalues_answers_field_value_arrays_in_resp3():
    s = hash_store(1)
    assert encode(run(s, "HRANDFIELD", "h", "-2", "WITHVALUES"), resp3=True) == (
        b"*2\r\n" + b"*2\r\n$2\r\nf0\r\n$2\r\nv0\r\n" * 2)


def test_hrandfield_checks_count_and_options_before_the_key():
    s = Store()
    run(s, "SET", "s", "x")
    assert run(s, "HRANDFIELD", "s", "x") == NOT_INTEGER
    assert run(s, "HRANDFIELD", "s", "-9223372036854775808") == Error(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    assert run(s, "HRANDFIELD", "s", "1", "WITHSCORES") == SYNTAX
    assert run(s, "HRANDFIELD", "s", "1", "WITHVALUES", "x") == SYNTAX
    assert run(s, "HRANDFIELD", "s", "4611686018427387904", "WITHVALUES") == Error("ERR value is out of range")
    assert run(s, "HRANDFIELD", "s", "-4611686018427387904", "WITHVALUES") == Error("ERR value is out of range")
    assert run(s, "HRANDFIELD", "s", "4611686018427387903", "WITHVALUES") == WRONGTYPE
    assert run(s, "HRANDFIELD", "none", "-4611686018427387903", "WITHVALUES") == []
    assert run(s, "HRANDFIELD", "none", "3") == []


def test_hrandfield_reads_an_option_up_to_a_nul_byte_as_redis_strcasecmp():
    s = hash_store(1)
    assert encode(run(s, "HRANDFIELD", "h", "1", b"withVALUES\x00junk")) == b"*2\r\n$2\r\nf0\r\n$2\r\nv0\r\n"


def test_hrandfield_count_zero_answers_an_empty_array():
    s = hash_store(3)
    assert run(s, "HRANDFIELD", "h", "0") == [] and run(s, "HRANDFIELD", "h", "0", "WITHVALUES") == []


# ---------------------------------------------------------------- HSCAN


def scan_all(s, *options, key="h"):
    """Every (field, value) an HSCAN iteration returns, and how many pages it took."""
    found, cursor, pages = Counter(), b"0", 0
    while True:
        cursor, items = run(s, "HSCAN", key, cursor, *options)
        found.update(zip(items[::2], items[1::2]))
        pages += 1
        if cursor == b"0":
            return found, pages


def test_hscan_answers_a_small_hash_whole_in_one_page():
    s = hash_store(5)
    assert run(s, "HSCAN", "h", "0", "COUNT", "1") == [
        b"0", [b"f0", b"v0", b"f1", b"v1", b"f2", b"v2", b"f3", b"v3", b"f4", b"v4"]]
    assert run(s, "HSCAN", "h", "0", "MATCH", "f[13]") == [b"0", [b"f1", b"v1", b"f3", b"v3"]]


def test_hscan_pages_through_a_large_hash_returning_every_field_once():
    s = hash_store(1000)
    found, pages = scan_all(s, "COUNT", "7")
    assert pages > 100 and set(found) == set(s.db.data[b"h"].items()) and max(found.values()) == 1


def test_hscan_returns_fields_there_throughout_whatever_changes_meanwhile():
    s = hash_store(600)
    found, cursor, step = set(), b"0", 0
    while True:
        cursor, items = run(s, "HSCAN", "h", cursor, "COUNT", "20")
        found.update(items[::2])
        step += 1
        run(s, "HDEL", "h", f"f{step}")  # fields go,
        run(s, "HSET", "h", f"new{step}", "v")  # and others come
        if cursor == b"0":
            break
    stayed = {b"f%d" % i for i in range(600)} - {b"f%d" % i for i in range(1, step + 1)}
    assert stayed <= found
    assert not {b"f%d" % i for i in range(1, step + 1)} & set(s.db.data[b"h"])


def test_hscan_match_filters_a_large_hash():
    s = hash_store(300)
    found, _ = scan_all(s, "MATCH", "f1?", "COUNT", "50")
    assert set(found) == {(b"f1%d" % i, b"v1%d" % i) for i in range(10)}


def test_hscan_checks_the_cursor_then_the_key_then_the_options():
    s = hash_store(3)
    run(s, "SET", "s", "x")
    assert run(s, "HSCAN", "none", "x") == Error("ERR invalid cursor")
    assert run(s, "HSCAN", "h", "-") == Error("ERR invalid cursor")
    assert run(s, "HSCAN", "h", " 0") == Error("ERR invalid cursor")
    assert run(s, "HSCAN", "none", "0", "COUNT", "0") == [b"0", []]  # a missing key: options unread
    assert run(s, "HSCAN", "s", "0", "COUNT", "0") == WRONGTYPE
    assert run(s, "HSCAN", "h", "0", "COUNT", "0") == SYNTAX
    assert run(s, "HSCAN", "h", "0", "COUNT", "x") == NOT_INTEGER
    assert run(s, "HSCAN", "h", "0", "TYPE", "hash") == SYNTAX
    assert run(s, "HSCAN", "h", "0", "MATCH") == SYNTAX
    assert run(s, "HSCAN", "h", "", b"COUNT\x00x", "1")[0] == b"0"  # "" is cursor 0; the option up to NUL
