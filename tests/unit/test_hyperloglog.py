"""The HyperLogLog commands, driven directly on a Store: the exact bytes of the values, the
cached count, the errors, what a WATCH sees; and, against a real redis-server, the same values
(GET) and counts after many elements, merges of both encodings, and corrupted values."""

import random
import shutil

import pytest

from resp_kv.keyspace import hyperloglog as hll
from resp_kv.protocol import OK, Error
from resp_kv.store import Store
from storecalls import run, watching

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_HLL = Error("WRONGTYPE Key is not a valid HyperLogLog string value.")
CORRUPTED = Error("INVALIDOBJ Corrupted HLL object detected")
needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

EMPTY = b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\x7f\xff"  # sparse, stale, one XZERO of 16384


def header(encoding: int, card: int = 0, stale: bool = True) -> bytes:
    return b"HYLL" + bytes([encoding, 0, 0, 0]) + (card | (1 << 63 if stale else 0)).to_bytes(8, "little")


def xzero(run_: int) -> bytes:
    return bytes([0x40 | (run_ - 1) >> 8, (run_ - 1) & 0xFF])


# ------------------------------------------------------------------ values and replies


def test_a_new_key_is_an_empty_sparse_value_with_a_stale_count():
    s = Store()
    assert run(s, "PFADD", "h") == 1
    assert s.db.data[b"h"] == EMPTY
    assert run(s, "PFADD", "h") == 0
    assert run(s, "STRLEN", "h") == 18


def test_pfadd_answers_whether_a_register_changed_and_pfcount_caches_the_count():
    s = Store()
    assert run(s, "PFADD", "h", "a", "b", "c") == 1
    assert run(s, "PFADD", "h", "a", "c") == 0
    value = s.db.data[b"h"]
    assert value[15] & 0x80  # stale
    assert run(s, "PFCOUNT", "h") == 3
    cached = s.db.data[b"h"]
    assert cached[8:16] == (3).to_bytes(8, "little") and cached[16:] == value[16:]
    assert run(s, "PFADD", "h", "b") == 0
    assert s.db.data[b"h"] is cached
    assert run(s, "PFADD", "h", "d") == 1 and s.db.data[b"h"][15] & 0x80


def test_the_elements_registers_are_redis_ones():
    """As redis-server's sparse values after one PFADD show them: an XZERO up to the register,
    then a VAL (the empty string, one byte, an 8-byte block and a tail)."""
    assert hll.register_for(b"a") == (12711, 2)
    assert hll.register_for(b"") == (5938, 2)
    assert hll.register_for(b"12345678abc") == (11494, 1)
    s = Store()
    run(s, "PFADD", "h", "a")
    assert s.db.data[b"h"] == EMPTY[:16] + b"q\xa6\x84NW"


def test_a_valid_cached_count_is_answered_without_looking_at_the_registers():
    s = Store()
    run(s, "SET", "h", header(1, 12345, stale=False) + b"\x00")  # corrupted, but the count is valid
    assert run(s, "PFCOUNT", "h") == 12345
    run(s, "SET", "h", header(1, 12345) + b"\x00")
    assert run(s, "PFCOUNT", "h") == CORRUPTED


def test_wrong_types_and_strings_that_are_not_hyperloglogs():
    s = Store()
    run(s, "RPUSH", "l", "x")
    for cmd in (["PFADD", "l", "a"], ["PFCOUNT", "l"], ["PFCOUNT", "x", "l"], ["PFMERGE", "l"], ["PFMERGE", "d", "l"]):
        assert run(s, *cmd) == WRONGTYPE
    bad = [b"hello", b"HYLL", header(2) + xzero(16384), header(0) + b"\x00" * 12287, b"hyll" + bytes(14),
           b"12345678901234567890"]
    for value in bad:
        run(s, "SET", "v", value)
        for cmd in (["PFADD", "v", "a"], ["PFCOUNT", "v"], ["PFCOUNT", "v", "w"], ["PFMERGE", "w", "v"]):
            assert run(s, *cmd) == NOT_HLL
        assert s.db.data[b"v"] == value
    assert b"w" not in s.db.data


def test_a_short_sparse_value_is_changed_up_to_the_error_and_a_watch_is_not_told():
    """Opcodes covering 16129 registers: PFADD changes those it can reach, then INVALIDOBJ."""
    s = Store()
    value = header(1) + xzero(16129)
    run(s, "SET", "h", value)
    low = next(e for e in (b"e%d" % i for i in range(1000)) if hll.register_for(e)[0] < 16000)
    high = next(e for e in (b"e%d" % i for i in range(1000)) if hll.register_for(e)[0] >= 16129)
    tx = watching(s, "h")
    assert run(s, "PFADD", "h", low, high) == CORRUPTED
    changed = s.db.data[b"h"]
    assert changed != value and len(changed) > len(value)
    assert not tx.dirty  # Redis changed the value in place and told no one
    assert run(s, "PFADD", "h", high) == CORRUPTED and s.db.data[b"h"] == changed
    assert run(s, "PFCOUNT", "h") == CORRUPTED
    assert run(s, "PFCOUNT", "h", "x") == CORRUPTED
    assert run(s, "PFMERGE", "x", "h") == CORRUPTED and b"x" not in s.db.data


def test_pfmerge_makes_its_destination_and_keeps_its_time_to_live():
    s = Store()
    assert run(s, "PFMERGE", "d") == OK
    assert s.db.data[b"d"] == EMPTY
    run(s, "PFADD", "a", "x", "y")
    run(s, "PEXPIRE", "d", "100000", now=1.0)
    assert run(s, "PFMERGE", "d", "a", "missing") == OK
    assert run(s, "PFCOUNT", "d") == 2
    assert run(s, "PTTL", "d") == 100000
    assert run(s, "PFCOUNT", "a", "d", "missing") == 2


def test_a_recomputed_count_touches_a_watched_key_a_cached_one_does_not():
    s = Store()
    run(s, "PFADD", "h", "a")
    tx = watching(s, "h")
    assert run(s, "PFCOUNT", "h") == 1
    assert tx.dirty
    tx = watching(s, "h")
    cached = s.db.data[b"h"]
    assert run(s, "PFCOUNT", "h") == 1
    assert s.db.data[b"h"] is cached and not tx.dirty
    assert run(s, "PFADD", "h", "a") == 0 and not tx.dirty
    assert run(s, "PFADD", "h", "b") == 1 and tx.dirty


# ------------------------------------------------------------------ registers and the estimate


def test_packing_and_unpacking_dense_registers_round_trip():
    rng = random.Random(7)
    raw = bytes(rng.randrange(64) for _ in range(hll.REGISTERS))
    packed = hll.pack(raw)
    assert len(packed) == hll.DENSE_BYTES
    assert hll.unpack(bytes(packed)) == raw
    dense = hll.HyperLogLog(header(0) + bytes(packed))
    for index in (0, 1, 2, 3, 4, 5, 16382, 16383, 777):
        assert dense.add(index, 63) == (raw[index] < 63)
    assert hll.unpack(bytes(dense.dense))[:6] == bytes([63] * 6)


def test_a_sparse_value_turns_dense_past_3000_bytes_or_for_a_register_above_32():
    s = Store()
    sizes = []
    for i in range(3000):
        run(s, "PFADD", "h", b"g%d" % i)
        sizes.append(len(s.db.data[b"h"]))
        if s.db.data[b"h"][4] == hll.DENSE:
            break
    assert sizes[-1] == hll.DENSE_SIZE and 2990 <= max(sizes[:-1]) <= 3000
    value = hll.HyperLogLog(EMPTY)
    assert value.add(100, 32) == 1 and value.dense is None
    assert value.add(200, 33) == 1 and value.dense is not None
    registers = hll.unpack(bytes(value.dense))
    assert registers[100] == 32 and registers[200] == 33 and registers.count(0) == hll.REGISTERS - 2


def test_the_register_wise_max_of_two_values():
    rng = random.Random(8)
    a = bytes(rng.randrange(64) for _ in range(hll.REGISTERS))
    b = bytes(rng.randrange(64) for _ in range(hll.REGISTERS))
    got = hll.max_registers(int.from_bytes(a, "little"), int.from_bytes(b, "little"))
    assert got.to_bytes(hll.REGISTERS, "little") == bytes(map(max, a, b))


def test_the_estimate_overflows_as_redis_llroundl_does():
    assert hll.estimate([hll.REGISTERS] + [0] * 51) == 0
    assert hll.estimate([0] * 51 + [hll.REGISTERS]) == 1 << 63  # z == 0: LLONG_MIN as a uint64
    s = Store()
    run(s, "SET", "h", header(0) + bytes(hll.pack(bytes([51]) * hll.REGISTERS)))
    assert run(s, "PFCOUNT", "h") == -(1 << 63)
    assert s.db.data[b"h"][15] == 0x80  # the count's top bit: stale again


def test_decoded_sparse_values_kept_for_later_change_nothing():
    s = Store()
    run(s, "PFADD", "h", *[b"e%d" % i for i in range(300)])
    with_cache = run(s, "PFADD", "h", "new"), s.db.data[b"h"]
    t = Store()
    run(t, "PFADD", "h", *[b"e%d" % i for i in range(300)])
    hll.DECODED.clear()
    assert (run(t, "PFADD", "h", "new"), t.db.data[b"h"]) == with_cache


# ------------------------------------------------------------------ against redis-server


@pytest.fixture(scope="module")
def server(oracle):
    client = oracle.client()
    yield client
    client.close()


def same_everywhere(server, s, keys):
    for key in keys:
        assert server.get(key) == run(s, "GET", key), key


def reply(server, *args):
    try:
        return server.execute_command(*args)
    except Exception as e:  # an error reply: compared by its text
        return Error(str(e))


def ours(s, *args):
    got = run(s, *args)
    return True if got == OK else got


@needs_redis
@pytest.mark.parametrize("n, batch", [(10_000, 250), (200_000, 10_000)])
def test_many_elements_give_redis_bytes_and_count(server, n, batch):
    server.flushall()
    s = Store()
    for start in range(0, n, batch):
        elements = [b"%d-%d" % (n, i) for i in range(start, start + batch)]
        assert server.pfadd("h", *elements) == run(s, "PFADD", "h", *elements)
        if start < 3000:
            same_everywhere(server, s, ["h"])
    same_everywhere(server, s, ["h"])
    assert run(s, "GET", "h")[4] == hll.DENSE
    assert server.pfcount("h") == run(s, "PFCOUNT", "h")
    same_everywhere(server, s, ["h"])


@needs_redis
def test_small_adds_one_by_one_stay_sparse_then_turn_dense_as_in_redis(server):
    server.flushall()
    s = Store()
    for i in range(2500):
        element = b"one-%d" % i
        assert server.pfadd("h", element) == run(s, "PFADD", "h", element)
        if i % 97 == 0:
            assert server.pfcount("h") == run(s, "PFCOUNT", "h")
            same_everywhere(server, s, ["h"])
    same_everywhere(server, s, ["h"])


@needs_redis
def test_merges_and_union_counts_of_sparse_and_dense_values(server):
    server.flushall()
    s = Store()
    rng = random.Random(11)
    for key, n in (("s1", 40), ("s2", 900), ("d1", 5000), ("d2", 20000)):
        elements = [b"%s:%d" % (key.encode(), rng.randrange(10**9)) for _ in range(n)]
        server.pfadd(key, *elements)
        run(s, "PFADD", key, *elements)
    commands = [["PFMERGE", "m1", "s1", "s2"], ["PFMERGE", "m2", "s1", "d1"], ["PFMERGE", "s1", "s2"],
                ["PFMERGE", "d1", "s1", "d2"], ["PFMERGE", "m3"], ["PFMERGE", "m3", "m3", "s2", "missing"],
                ["PFCOUNT", "s1", "s2"], ["PFCOUNT", "d1", "d2", "s2", "missing"], ["PFCOUNT", "m1"],
                ["PFCOUNT", "m2"], ["PFCOUNT", "m3"], ["PFCOUNT", "s1"], ["PFCOUNT", "d1"]]
    for cmd in commands:
        assert reply(server, *cmd) == ours(s, *cmd), cmd
        same_everywhere(server, s, ["s1", "s2", "d1", "d2", "m1", "m2", "m3"])


def corrupted(rng: random.Random, value: bytes) -> bytes:
    """A HyperLogLog value spoiled in one of several ways (never a sparse value cut inside its
    last XZERO: see the module's docstring)."""
    v = bytearray(value)
    kind = rng.randrange(6)
    if kind == 0 and len(v) > 17:
        del v[rng.randrange(17, len(v)):]
    elif kind == 1:
        for _ in range(rng.randint(1, 3)):
            v[rng.randrange(16, len(v))] = rng.randrange(256)
    elif kind == 2:
        v += bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    elif kind == 3:
        v[15] &= 0x7F
        v[8] = rng.randrange(256)
    elif kind == 4:
        v[4] = rng.choice([0, 1, 2])
    else:
        v = bytearray(header(0) + bytes([rng.choice([0xCF, 0xFF, 0x3C, 0x41])]) * hll.DENSE_BYTES)
    return bytes(v)


def cut_inside_xzero(value: bytes) -> bool:
    return len(value) > hll.HEADER_SIZE and value[4] == hll.SPARSE and hll.HyperLogLog(value).hidden == 1


@needs_redis
def test_corrupted_values_answer_and_change_as_in_redis(server):
    rng = random.Random(5)
    tried = 0
    while tried < 150:
        server.flushall()
        s = Store()
        elements = [b"x%d" % rng.randrange(10**6) for _ in range(rng.choice([0, 1, 3, 10, 50, 200, 2000]))]
        server.pfadd("a", *elements)
        value = corrupted(rng, server.get("a"))
        if cut_inside_xzero(value):
            continue
        tried += 1
        server.set("a", value)
        run(s, "SET", "a", value)
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.5:
                cmd = ["PFADD", "a"] + [b"y%d" % rng.randrange(10**6) for _ in range(rng.choice([1, 2, 5, 30]))]
            elif r < 0.7:
                cmd = ["PFCOUNT", "a"]
            elif r < 0.85:
                cmd = ["PFCOUNT", "a", "b"]
            else:
                cmd = ["PFMERGE", rng.choice(["a", "b"]), "a"]
            assert reply(server, *cmd) == ours(s, *cmd), (value[:40], cmd[:3])
            same_everywhere(server, s, ["a", "b"])


@needs_redis
def test_a_sparse_value_cut_inside_its_last_xzero_reads_the_missing_byte_as_zero(server):
    """Within one command as Redis (the byte past the end is the string's terminator)."""
    server.flushall()
    s = Store()
    value = header(1) + xzero(8000) + b"\x84" + b"\x5f"  # the last XZERO lost its second byte: 0x5f00 + 1
    server.set("a", value)
    run(s, "SET", "a", value)
    elements = [b"c%d" % i for i in range(40)]
    assert reply(server, "PFADD", "a", *elements) == ours(s, "PFADD", "a", *elements)
    same_everywhere(server, s, ["a"])
