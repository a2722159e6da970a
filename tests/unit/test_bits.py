"""The bitmap commands, driven directly on a Store: replies, the strings they leave, expiry
times kept or dropped, what a WATCH sees; and BITFIELD's overflow arithmetic against a real
redis-server, byte for byte."""

import random
import shutil
import socket

import hiredis
import pytest

from resp_kv.protocol import Error, encode, encode_command
from resp_kv.store import Store
from storecalls import run, watching

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Error("ERR syntax error")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
BAD_OFFSET = Error("ERR bit offset is not an integer or out of range")
BAD_BIT = Error("ERR bit is not an integer or out of range")
BAD_TYPE = Error("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")


def with_string(value: bytes, key="k"):
    s = Store()
    run(s, "SET", key, value)
    return s


# ------------------------------------------------------------------ SETBIT / GETBIT


def test_setbit_returns_the_old_bit_and_pads_with_zero_bytes():
    s = Store()
    assert run(s, "SETBIT", "k", 9, 1) == 0
    assert s.db.data[b"k"] == b"\x00\x40"
    assert run(s, "SETBIT", "k", 9, 1) == 1
    assert run(s, "SETBIT", "k", 0, 1) == 0
    assert run(s, "SETBIT", "k", 9, 0) == 1
    assert s.db.data[b"k"] == b"\x80\x00"
    assert [run(s, "GETBIT", "k", i) for i in (0, 1, 9, 16, 4294967295)] == [1, 0, 0, 0, 0]
    assert run(s, "GETBIT", "nokey", 3) == 0


def test_bit_offsets_are_0_to_2_to_the_32_minus_1_in_canonical_spelling():
    s = with_string(b"\xff")
    for offset in ("4294967296", "-1", "#1", "+1", "01", " 1", "", "9223372036854775808"):
        assert run(s, "SETBIT", "k", offset, 1) == BAD_OFFSET, offset
        assert run(s, "GETBIT", "k", offset) == BAD_OFFSET, offset
    assert run(s, "GETBIT", "k", "4294967295") == 0
    for bit in ("2", "-1", "x", "01", ""):
        assert run(s, "SETBIT", "k", 0, bit) == BAD_BIT
    assert s.db.data[b"k"] == b"\xff"


def test_bit_commands_check_arguments_before_the_type():
    s = Store()
    run(s, "RPUSH", "l", "a")
    assert run(s, "SETBIT", "l", "-1", 1) == BAD_OFFSET
    assert run(s, "SETBIT", "l", 0, 1) == WRONGTYPE
    assert run(s, "GETBIT", "l", 0) == WRONGTYPE
    assert run(s, "BITCOUNT", "l") == WRONGTYPE
    assert run(s, "BITPOS", "l", 2) == Error("ERR The bit argument must be 1 or 0.")
    assert run(s, "BITPOS", "l", 1) == WRONGTYPE
    assert run(s, "BITFIELD", "l", "GET", "u8", 0) == WRONGTYPE
    assert run(s, "BITFIELD", "l", "GET", "u64", 0) == BAD_TYPE
    assert run(s, "BITOP", "AND", "d", "nokey", "l") == WRONGTYPE
    assert b"d" not in s.db.data


def test_setbit_keeps_the_expiry_time_and_touches_watchers_only_on_a_change():
    s = with_string(b"\x80")
    run(s, "PEXPIRE", "k", 100000, now=1000.0)
    tx = watching(s, "k")
    assert run(s, "SETBIT", "k", 0, 1) == 1  # unchanged: no touch
    assert not tx.dirty
    assert run(s, "SETBIT", "k", 1, 1) == 0
    assert tx.dirty
    assert s.db.data[b"k"] == b"\xc0" and s.db.expires[b"k"] == 1000000 + 100000


def test_setbit_of_a_zero_past_the_end_still_grows_the_string():
    s = with_string(b"\x01")
    tx = watching(s, "k")
    assert run(s, "SETBIT", "k", 23, 0) == 0
    assert s.db.data[b"k"] == b"\x01\x00\x00" and tx.dirty


# ------------------------------------------------------------------ BITCOUNT


def test_bitcount_in_bytes_and_in_bits_with_negative_and_clamped_ends():
    s = with_string(b"foobar")
    assert run(s, "BITCOUNT", "k") == 26
    assert run(s, "BITCOUNT", "k", 0, 0) == 4
    assert run(s, "BITCOUNT", "k", 1, 1) == 6
    assert run(s, "BITCOUNT", "k", 1, 1, "byte") == 6
    assert run(s, "BITCOUNT", "k", 5, 30, "BIT") == 17
    assert run(s, "BITCOUNT", "k", -2, -1) == 7
    assert run(s, "BITCOUNT", "k", -9223372036854775808, 9223372036854775807, "bit") == 26
    assert run(s, "BITCOUNT", "k", 3, 2) == 0
    assert run(s, "BITCOUNT", "k", 9, 11, "BIT") == 2  # in the second byte, "o" = 01101111


def test_bitcount_crossed_negative_range_is_zero_before_the_unit_is_read():
    s = with_string(b"\xff\xff")
    assert run(s, "BITCOUNT", "k", -1, -5, "NONSENSE") == 0
    assert run(s, "BITCOUNT", "k", -5, -1, "NONSENSE") == SYNTAX
    assert run(s, "BITCOUNT", "k", 0, 1, "BIT\x00x") == 2  # Redis compares up to a NUL byte
    assert run(s, "BITCOUNT", "k", 0) == SYNTAX
    assert run(s, "BITCOUNT", "k", 0, 1, "BIT", "x") == SYNTAX
    assert run(s, "BITCOUNT", "k", "x", 1) == NOT_INTEGER
    assert run(s, "BITCOUNT", "nokey", "x") == 0  # a missing key: the arguments are not read


# ------------------------------------------------------------------ BITPOS


def test_bitpos_past_the_end_is_a_zero_unless_the_end_was_given():
    s = with_string(b"\xff\xff\xff")
    assert run(s, "BITPOS", "k", 0) == 24
    assert run(s, "BITPOS", "k", 0, 1) == 24
    assert run(s, "BITPOS", "k", 0, 1, -1) == -1
    assert run(s, "BITPOS", "k", 1, 1) == 8
    assert run(s, "BITPOS", "nokey", 0, "x") == 0
    assert run(s, "BITPOS", "nokey", 1) == -1
    run(s, "SET", "empty", "")
    assert run(s, "BITPOS", "empty", 0) == -1


def test_bitpos_in_bits_masks_the_first_and_last_byte():
    s = with_string(b"\x00\xff\x00")
    assert run(s, "BITPOS", "k", 1, 2, -1, "BIT") == 8
    assert run(s, "BITPOS", "k", 0, 8, 15, "bit") == -1
    assert run(s, "BITPOS", "k", 0, 12, 17, "BIT") == 16
    assert run(s, "BITPOS", "k", 1, 17, 23, "BIT") == -1
    assert run(s, "BITPOS", "k", 1, 3, 5, "BIT") == -1
    assert run(s, "BITPOS", "k", 0, 3, 5, "BIT") == 3
    assert run(s, "BITPOS", "k", 1, 5, 4, "BIT") == -1


def test_bitpos_skips_long_runs_in_byte_ranges():
    s = with_string(b"\x00" * 100 + b"\x10" + b"\xff" * 50 + b"\xfe")
    assert run(s, "BITPOS", "k", 1) == 803
    assert run(s, "BITPOS", "k", 1, 101) == 808
    assert run(s, "BITPOS", "k", 0, 101) == 151 * 8 + 7
    assert run(s, "BITPOS", "k", 0, 101, 150) == -1
    block = 1 << 16  # (bits.py skips runs a block at a time)
    for size in (2 * block - 1, 2 * block, 2 * block + 1, 3 * block + 5):
        zeros, ones = with_string(bytes(size) + b"\x01"), with_string(b"\xff" * size + b"\x7f")
        assert run(zeros, "BITPOS", "k", 1) == run(zeros, "BITPOS", "k", 1, 1, -1) == size * 8 + 7
        assert run(ones, "BITPOS", "k", 0) == run(ones, "BITPOS", "k", 0, 1, -1, "BYTE") == size * 8
        assert run(ones, "BITPOS", "k", 0, 3, 8 * size - 1, "BIT") == -1


def test_bitpos_argument_errors_in_redis_order():
    s = with_string(b"\x0f")
    assert run(s, "BITPOS", "k", "x") == NOT_INTEGER
    assert run(s, "BITPOS", "k", 1, 0, "x", "BAD") == SYNTAX  # the unit is read before the end
    assert run(s, "BITPOS", "k", 1, 0, "x") == NOT_INTEGER
    assert run(s, "BITPOS", "k", 1, 0, 1, "BIT", "x") == SYNTAX


# ------------------------------------------------------------------ BITOP


def test_bitop_pads_shorter_strings_with_zeros_and_replies_the_length():
    s = with_string(b"\xf0\x0f", "a")
    run(s, "SET", "b", b"\xff")
    assert run(s, "BITOP", "AND", "d", "a", "b") == 2
    assert s.db.data[b"d"] == b"\xf0\x00"
    assert run(s, "BITOP", "or", "d", "a", "b", "missing") == 2
    assert s.db.data[b"d"] == b"\xff\x0f"
    assert run(s, "BITOP", "XOR", "d", "a", "b", "b") == 2
    assert s.db.data[b"d"] == b"\xf0\x0f"
    assert run(s, "BITOP", "NOT", "d", "a") == 2
    assert s.db.data[b"d"] == b"\x0f\xf0"
    assert run(s, "BITOP", "AND\x00junk", "d", "a", "missing") == 2
    assert s.db.data[b"d"] == b"\x00\x00"


def test_bitop_drops_the_destinations_expiry_and_deletes_it_for_empty_sources():
    s = with_string(b"x", "a")
    run(s, "SET", "d", "old", "EX", 100)
    assert run(s, "BITOP", "OR", "d", "a") == 1
    assert b"d" not in s.db.expires
    tx = watching(s, "d")
    assert run(s, "BITOP", "OR", "d", "missing", "other") == 0
    assert b"d" not in s.db.data and tx.dirty


def test_bitop_errors():
    s = Store()
    assert run(s, "BITOP", "NAND", "d", "a") == SYNTAX
    assert run(s, "BITOP", "NOT", "d", "a", "b") == Error("ERR BITOP NOT must be called with a single source key.")


# ------------------------------------------------------------------ BITFIELD


def test_bitfield_reads_writes_and_counts_fields_with_hash_offsets():
    s = Store()
    assert run(s, "BITFIELD", "k", "SET", "u8", "#1", 255, "GET", "u4", 8, "GET", "i8", "#1") == [0, 15, -1]
    assert s.db.data[b"k"] == b"\x00\xff"
    assert run(s, "BITFIELD", "k", "INCRBY", "u2", 100, 1, "GET", "u4", 0) == [1, 0]
    assert run(s, "BITFIELD", "k", "GET", "i64", 4294967295) == [0]
    # '#' times the width wraps in 64 bits, as in Redis: (2**58 + 1) * 64 is offset 64.
    assert run(s, "BITFIELD", "k", "GET", "u8", "#2305843009213693953") == [255]


def test_bitfield_overflow_modes_apply_to_the_subcommands_after_them():
    s = Store()
    reply = run(s, "BITFIELD", "k", "INCRBY", "u2", 0, 5, "OVERFLOW", "SAT", "INCRBY", "u2", 2, 5,
                "OVERFLOW", "FAIL", "INCRBY", "u2", 4, 5, "INCRBY", "u2", 4, 2, "OVERFLOW", "wrap",
                "INCRBY", "i4", 8, 9)
    assert reply == [1, 3, None, 2, -7]
    assert run(s, "BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i8", 0, -1000, "SET", "u8", 8, -1) == [-128, 0x90]
    assert run(s, "BITFIELD_RO", "k", "GET", "u8", 8) == [255]


def test_bitfield_sat_set_of_a_value_far_below_the_range_gives_the_maximum_as_redis():
    s = Store()
    assert run(s, "BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", 0, -9223372036854775681) == [0]
    assert run(s, "BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", 0, -9223372036854775680) == [127]
    assert run(s, "BITFIELD", "k", "GET", "i8", 0) == [-128]


def test_bitfield_that_only_failed_creates_the_string_without_touching_watchers():
    s = Store()
    tx = watching(s, "k")
    assert run(s, "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", 8, 256) == [None]
    assert s.db.data[b"k"] == b"\x00\x00" and not tx.dirty
    assert run(s, "BITFIELD", "k", "SET", "u8", 8, 0) == [0]  # same bits, no growth: no change
    assert not tx.dirty
    assert run(s, "BITFIELD", "k", "SET", "u8", 16, 0) == [0]  # grown
    assert tx.dirty


def test_bitfield_keeps_the_expiry_time():
    s = with_string(b"a")
    run(s, "PEXPIRE", "k", 5000, now=10.0)
    assert run(s, "BITFIELD", "k", "SET", "u8", 0, 98) == [97]
    assert s.db.data[b"k"] == b"b" and s.db.expires[b"k"] == 15000


def test_bitfield_argument_errors_come_before_the_lookup_and_change_nothing():
    s = with_string(b"v")
    cases = {
        ("GET", "u8"): SYNTAX,
        ("SET", "u8", 0): SYNTAX,
        ("OVERFLOW",): SYNTAX,
        ("FOO", "u8", 0): SYNTAX,
        ("OVERFLOW", "SATURATE"): Error("ERR Invalid OVERFLOW type specified"),
        ("GET", "u64", 0): BAD_TYPE,
        ("GET", "I8", 0): BAD_TYPE,
        ("GET", "i08", 0): BAD_TYPE,
        ("GET", "i65", 0): BAD_TYPE,
        ("SET", "u8", 0, 1, "GET", "u8", "#-1"): BAD_OFFSET,
        ("SET", "u8", 0, 1, "GET", "u8", "4294967296"): BAD_OFFSET,
        ("SET", "u8", 0, "1.5"): NOT_INTEGER,
    }
    for args, error in cases.items():
        assert run(s, "BITFIELD", "k", *args) == error, args
    assert run(s, "BITFIELD", "k", "GET", "i8\x00junk", 0) == [ord("v") - 256 if ord("v") > 127 else ord("v")]
    assert run(s, "BITFIELD_RO", "k", "OVERFLOW", "FAIL", "SET", "u8", 0, 1) == Error(
        "ERR BITFIELD_RO only supports the GET subcommand")
    assert run(s, "BITFIELD", "k") == []
    assert s.db.data[b"k"] == b"v"


# ------------------------------------------------------------------ against redis-server


def raw_call(sock: socket.socket, args: list[bytes]) -> bytes:
    """One request to redis-server: its reply's raw bytes."""
    sock.sendall(encode_command(args))
    reader, raw = hiredis.Reader(), b""
    while True:
        chunk = sock.recv(1 << 16)
        raw += chunk
        reader.feed(chunk)
        if reader.gets() is not False:
            return raw


def random_bitfield(rng: random.Random) -> list[bytes]:
    """A BITFIELD of several writes over a few bytes, values near every width's edges."""
    cmd = [b"BITFIELD", b"k"]
    for _ in range(rng.randint(1, 6)):
        if rng.random() < 0.3:
            cmd += [b"OVERFLOW", rng.choice([b"WRAP", b"SAT", b"FAIL"])]
        signed = rng.random() < 0.5
        width = rng.randint(1, 64 if signed else 63)
        edge = 1 << (width - 1 if signed else width)
        value = rng.choice([edge, edge - 1, -edge, -edge - 1, 0, rng.randint(-edge * 2, edge * 2),
                            2**63 - 1, -(2**63), rng.randint(-(2**63), 2**63 - 1)])
        value = max(min(value, 2**63 - 1), -(2**63))
        cmd += [rng.choice([b"SET", b"INCRBY", b"GET"]), b"%c%d" % (b"i" if signed else b"u", width),
                b"%d" % rng.randint(0, 40)]
        if cmd[-3] != b"GET":
            cmd.append(b"%d" % value)
    return cmd


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_random_bitfields_answer_as_redis_server_byte_for_byte(oracle):
    rng = random.Random(7)
    s = Store()
    with socket.create_connection(("127.0.0.1", oracle.port)) as sock:
        raw_call(sock, [b"FLUSHALL"])
        for _ in range(1500):
            cmd = random_bitfield(rng)
            assert encode(run(s, *cmd)) == raw_call(sock, cmd), cmd
        assert raw_call(sock, [b"GET", b"k"]) == encode(s.db.data[b"k"])
