"""DUMP and RESTORE on a Store: payloads, options, TTLs and errors; the payloads of Redis 6.2
and older (from Redis's own test RDB files); and, against a real redis-server, byte-identical
DUMPs wherever Redis's encoding depends only on the value, and payloads travelling both ways."""

import math
import random
import shutil
import struct
from collections import deque

import pytest
import redis

from resp_kv.keyspace.dumps import (BAD_FORMAT, BAD_PAYLOAD, BUSYKEY, dump_value, listpack, listpack_elements,
                                    listpack_entry, lzf_compress, rdb_string)
from resp_kv.keyspace.rdb import crc64, lzf_decompress
from resp_kv.keyspace.values import ZSet
from resp_kv.protocol import OK, Error
from resp_kv.store import Store
from storecalls import run

NOT_INTEGER = Error("ERR value is not an integer or out of range")
SYNTAX = Error("ERR syntax error")
NOW = 1_700_000_000.0
NOW_MS = int(NOW * 1000)


def sealed(body: bytes, version: int = 10) -> bytes:
    """A payload: the object, the RDB version and the checksum."""
    payload = body + struct.pack("<H", version)
    return payload + struct.pack("<Q", crc64(payload))


def store_with(**values) -> Store:
    s = Store()
    s.now = NOW
    for key, value in values.items():
        s.store(key.encode(), value)
    return s


# Objects from Redis's test RDB files (tests/assets/*.rdb, written by Redis 2.4 to 7.0): the RDB
# version they were written with, the object (type byte and value), what it holds.
OLD_PAYLOADS = [
    ("zset (text scores)", 4, "030c026262023230026363023330036262620332303004626262620a353030303030303030300363636303"
     "333030046363636309313233343536373839016101310261610231300162013203616161033130300163013304616161610431303030",
     ZSet([(b"bb", 20), (b"cc", 30), (b"bbb", 200), (b"bbbb", 5000000000), (b"ccc", 300), (b"cccc", 123456789),
           (b"a", 1), (b"aa", 10), (b"b", 2), (b"aaa", 100), (b"c", 3), (b"aaaa", 1000)])),
    ("intset of int16", 4, "0b1002000000040000000100020003000400", {b"1", b"2", b"3", b"4"}),
    ("intset of int64", 4, "0b38080000000600000000ca9a3b000000000094357700000000005ed0b20000000000286bee0000000000"
     "f2052a0100000000bca06501000000", {b"%d000000000" % i for i in range(1, 7)}),
    ("list ziplist", 4, "0a303000000025000000080000c0010004c0020004c0030004016103016203016303d0a086010006e000bca06"
     "501000000ff", deque([b"1", b"2", b"3", b"a", b"b", b"c", b"100000", b"6000000000"])),
    ("compressed string", 4, "00c3094089016161e07c00016161", b"a" * 137),
    ("plain set", 4, "02080a36303030303030303030c2a08601000161c0010162c0020163c003",
     {b"6000000000", b"100000", b"a", b"1", b"b", b"2", b"c", b"3"}),
    ("plain list", 4, "0118c001c002c003016101620163c2a08601000a36303030303030303030c001c002c003016101620163c2a0"
     "8601000a36303030303030303030c001c002c003016101620163c2a08601000a36303030303030303030",
     deque([b"1", b"2", b"3", b"a", b"b", b"c", b"100000", b"6000000000"] * 3)),
    ("hash ziplist", 4, "0d20200000001b000000060000016103c0010004016203c0020004016303c00300ff",
     {b"a": b"1", b"b": b"2", b"c": b"3"}),
    ("zset ziplist", 4, "0c20200000001b000000060000016103c0010004016203c0020004016303c00300ff",
     ZSet([(b"a", 1), (b"b", 2), (b"c", 3)])),
    ("plain hash", 4, "040b0162c002026161c00a0163c00303616161c064026262c014026363c01e03626262c1c80003636363c12"
     "c0103646464c19001036565650a353030303030303030300161c001",
     {b"b": b"2", b"aa": b"10", b"c": b"3", b"aaa": b"100", b"bb": b"20", b"cc": b"30", b"bbb": b"200",
      b"ccc": b"300", b"ddd": b"400", b"eee": b"5000000000", b"a": b"1"}),
    ("hash ziplist (6.2)", 9, "0d1b1b00000016000000040000026631040276310402663204027632ff",
     {b"f1": b"v1", b"f2": b"v2"}),
    ("zipmap", 3, "0910020266310200763102663202007632ff", {b"f1": b"v1", b"f2": b"v2"}),
    ("quicklist of ziplists", 8, "0e010d0d0000000a000000010000f8ff", deque([b"7"])),
    ("zset ziplist (24-bit, 32-bit scores)", 10, "0c191900000016000000040000036f6e6505f2020374776f05f3ff",
     ZSet([(b"one", 1), (b"two", 2)])),
]


def comparable(value):
    """A value as something == compares (a ZSet as its (member, score) pairs in order)."""
    if isinstance(value, ZSet):
        return [(member, score) for score, member in value.order]
    return value


# ------------------------------------------------------------------ DUMP


def test_dump_of_a_missing_key_is_nil_and_of_a_string_is_redis_payload():
    s = store_with(k=b"bar")
    assert run(s, "DUMP", "nokey") is None
    # As redis-server 7.0 answers DUMP for SET k bar.
    assert run(s, "DUMP", "k") == b"\x00\x03bar\x0a\x00" + struct.pack("<Q", crc64(b"\x00\x03bar\x0a\x00"))


def test_strings_take_integer_encodings_up_to_32_bits_and_lzf_past_20_bytes():
    assert rdb_string(b"7") == b"\xc0\x07"
    assert rdb_string(b"-129") == b"\xc1\x7f\xff"
    assert rdb_string(b"2147483647") == b"\xc2\xff\xff\xff\x7f"
    assert rdb_string(b"2147483648") == b"\x0a2147483648"
    assert rdb_string(b"007") == b"\x03007" and rdb_string(b"-0") == b"\x02-0"
    assert rdb_string(b"a" * 20) == b"\x14" + b"a" * 20  # too short to try compressing
    assert rdb_string(b"a" * 137) == bytes.fromhex("c3094089016161e07c00016161")  # as Redis 2.4 wrote it
    incompressible = bytes(range(21, 80))
    assert rdb_string(incompressible) == bytes([len(incompressible)]) + incompressible


def test_lzf_output_decompresses_to_its_input_and_gives_up_when_it_does_not_fit():
    rng = random.Random(7)
    for _ in range(200):
        data = bytes(rng.choice(b"ab") for _ in range(rng.randint(100, 3000)))
        packed = lzf_compress(data, len(data) - 4)
        assert packed is not None and lzf_decompress(packed, len(data)) == data
    assert lzf_compress(bytes(range(256)), 252) is None


def test_small_containers_are_listpacks_and_intsets_in_the_order_redis_keeps():
    hash_payload = dump_value({b"f": b"1", b"g": b"-5000"})
    assert hash_payload[0] == 16
    assert listpack_elements(hash_payload[2:-10]) == [b"f", b"1", b"g", b"-5000"]
    zset_payload = dump_value(ZSet([(b"b", 2.5), (b"a", 2.5), (b"c", -0.0)]))
    assert zset_payload[0] == 17
    assert listpack_elements(zset_payload[2:-10]) == [b"c", b"0", b"a", b"2.5", b"b", b"2.5"]
    assert dump_value({b"1", b"-2", b"40000"})[:12] == b"\x0b\x14\x04\x00\x00\x00\x03\x00\x00\x00\xfe\xff"
    assert dump_value({b"1", b"x"})[0] == 2
    assert dump_value({b"f": b"v" * 65})[0] == 4
    assert dump_value({b"%d" % i: b"" for i in range(512)})[0] == 16  # hash-max-listpack-entries 512
    assert dump_value({b"%d" % i: b"" for i in range(513)})[0] == 4
    assert dump_value(ZSet((b"%d" % i, i) for i in range(129)))[0] == 5  # zset-max-listpack-entries 128
    assert dump_value(ZSet([(b"m" * 65, 1)]))[0] == 5


def test_a_list_is_cut_into_8_kb_listpacks_as_rpush_cuts_it():
    payload = dump_value(deque([b"x" * 1000] * 20))
    assert payload[:2] == b"\x12\x03"  # quicklist 2, three nodes (8 + 8 + 4 elements)
    s = Store()
    assert run(s, "RESTORE", "l", "0", payload) == OK and list(s.db.data[b"l"]) == [b"x" * 1000] * 20


# ------------------------------------------------------------------ RESTORE


@pytest.mark.parametrize("value", [b"", b"12", b"x" * 100, deque([b"a", b"1", b""]), {b"a", b"b"}, {b"1", b"-9"},
                                   {b"f": b"v"}, ZSet([(b"m", math.inf), (b"n", -1.5)])],
                         ids=["empty", "int", "lzf", "list", "set", "intset", "hash", "zset"])
def test_dump_then_restore_gives_the_same_value(value):
    s = store_with(k=value)
    payload = run(s, "DUMP", "k")
    assert run(s, "RESTORE", "copy", "0", payload) == OK
    assert comparable(s.db.data[b"copy"]) == comparable(value)
    assert b"copy" not in s.db.expires


@pytest.mark.parametrize("name,version,body,value", OLD_PAYLOADS, ids=[p[0] for p in OLD_PAYLOADS])
def test_restore_reads_older_redis_encodings(name, version, body, value):
    s = Store()
    assert run(s, "RESTORE", "k", "0", sealed(bytes.fromhex(body), version)) == OK
    assert comparable(s.db.data[b"k"]) == comparable(value)


def test_a_restored_small_zset_keeps_minus_zero_as_zero_as_its_listpack_would():
    s = Store()
    minus_zero = struct.pack("<d", -0.0)
    assert run(s, "RESTORE", "small", "0", sealed(b"\x05\x01\x01a" + minus_zero)) == OK
    assert math.copysign(1, s.db.data[b"small"].scores[b"a"]) == 1
    long_member = b"m" * 65  # too long for a listpack: a skiplist keeps -0
    assert run(s, "RESTORE", "big", "0", sealed(b"\x05\x01" + rdb_string(long_member) + minus_zero)) == OK
    assert math.copysign(1, s.db.data[b"big"].scores[long_member]) == -1


def test_restore_sets_a_relative_or_absolute_ttl_from_the_batch_time():
    s = store_with()
    payload = dump_value(b"v")
    assert run(s, "RESTORE", "a", "5000", payload) == OK and s.db.expires[b"a"] == NOW_MS + 5000
    assert run(s, "RESTORE", "b", str(NOW_MS + 9000), payload, "ABSTTL") == OK and s.db.expires[b"b"] == NOW_MS + 9000
    assert run(s, "RESTORE", "c", "0", payload, "absttl") == OK and b"c" not in s.db.expires


def test_restore_with_a_time_already_past_creates_nothing_and_replace_deletes_the_old_key():
    s = store_with(old=b"x")
    payload = dump_value(b"v")
    assert run(s, "RESTORE", "k", str(NOW_MS - 1), payload, "ABSTTL") == OK and b"k" not in s.db.data
    assert run(s, "RESTORE", "old", str(NOW_MS), payload, "ABSTTL", "REPLACE") == OK and b"old" not in s.db.data
    # A relative TTL that overflows when added to the time wraps around into the past, as in Redis.
    assert run(s, "RESTORE", "k", "9223372036854775807", payload) == OK and b"k" not in s.db.data


def test_restore_replaces_only_with_replace_and_drops_the_old_ttl():
    s = store_with(k=b"old")
    s.set_expiry(b"k", NOW_MS + 1000)
    assert run(s, "RESTORE", "k", "0", dump_value(b"new")) == BUSYKEY
    assert run(s, "RESTORE", "k", "0", dump_value({b"a"}), "REPLACE") == OK
    assert s.db.data[b"k"] == {b"a"} and b"k" not in s.db.expires


def test_restore_of_an_expired_key_is_no_busy_key():
    s = store_with(k=b"old")
    s.set_expiry(b"k", NOW_MS - 1)
    assert run(s, "RESTORE", "k", "0", dump_value(b"new")) == OK and s.db.data[b"k"] == b"new"


def test_restore_options_are_checked_in_redis_order():
    s = store_with(k=b"v")
    good = dump_value(b"x")
    cases = [
        (["k", "0", good, "IDLETIME", "-1"], Error("ERR Invalid IDLETIME value, must be >= 0")),
        (["k", "0", good, "FREQ", "256"], Error("ERR Invalid FREQ value, must be >= 0 and <= 255")),
        (["k", "0", good, "FREQ", "-1"], Error("ERR Invalid FREQ value, must be >= 0 and <= 255")),
        (["k", "0", good, "IDLETIME", "x"], NOT_INTEGER),
        (["k", "0", good, "IDLETIME", "1", "FREQ", "1"], SYNTAX),
        (["k", "0", good, "FREQ", "1", "IDLETIME", "1"], SYNTAX),
        (["k", "0", good, "IDLETIME"], SYNTAX),
        (["k", "0", good, "BOGUS"], SYNTAX),
        (["k", "x", b"junk"], BUSYKEY),
        (["new", "x", good], NOT_INTEGER),
        (["new", "-1", b"junk"], Error("ERR Invalid TTL value, must be >= 0")),
        (["new", "0", b"junk"], BAD_PAYLOAD),
    ]
    for args, error in cases:
        assert run(s, "RESTORE", *args) == error, args
    assert run(s, "RESTORE", "new", "0", good, "replace", "IDLETIME", "5", "REPLACE") == OK
    assert run(s, "RESTORE", "new", "0", good, "REPLACE", "freq", "255") == OK
    assert s.db.data == {b"k": b"v", b"new": b"x"}


def test_bad_payloads_change_nothing():
    """(A small hash with a field twice is refused here; Redis keeps both copies unless its
    sanitize-dump-payload is on.)"""
    s = store_with(k=b"v")
    good = dump_value(b"x")
    newer = sealed(good[:-10], version=11)
    flipped = good[:-1] + bytes([good[-1] ^ 1])
    for payload in (newer, flipped, good[:9], b""):
        assert run(s, "RESTORE", "k", "0", payload, "REPLACE") == BAD_PAYLOAD
    for body in (b"\x0f\x00", b"\x07\x00", b"\x08\x00", b"\x63", b"\x01\x00", b"\x02\x00", b"\x04\x00",
                 b"\x05\x01\x01a" + struct.pack("<d", math.nan),
                 b"\x02\x02\x01a\x01a", b"\x04\x02\x01a\x01b\x01a\x01c", b"\x12\x01\x03\x01x", b"\x12\x01\x02\x00"):
        assert run(s, "RESTORE", "k", "0", sealed(body), "REPLACE") == BAD_FORMAT, body
    assert s.db.data == {b"k": b"v"}


def test_every_truncated_payload_is_refused_or_read_whole():
    value = {b"f%d" % i: b"v" * i for i in range(40)}
    body = dump_value(value)[:-10]
    for cut in range(1, len(body)):
        s = Store()
        reply = run(s, "RESTORE", "k", "0", sealed(body[:cut]))
        assert reply == BAD_FORMAT, cut


# ------------------------------------------------------------------ against redis-server

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def redis_value(client: redis.Redis, key: bytes):
    kind = client.type(key)
    if kind == b"string":
        return client.get(key)
    if kind == b"list":
        return deque(client.lrange(key, 0, -1))
    if kind == b"set":
        return client.smembers(key)
    if kind == b"hash":
        return client.hgetall(key)
    return [(m, s) for m, s in client.zrange(key, 0, -1, withscores=True)]


def random_element(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.25:
        bits = rng.choice([6, 12, 15, 23, 31, 40, 63])
        return b"%d" % rng.randint(-(2**bits), 2**bits - 1)
    if r < 0.45:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 70)))
    if r < 0.55:
        return rng.choice([b"x", b"ab "]) * rng.randint(1, 3000)
    if r < 0.6:
        return rng.choice([b"007", b"-0", b"+1", b"1.5", b"", b"9223372036854775808", b"-9223372036854775808"])
    return b"m%d" % rng.randint(0, 10**6)


def random_score(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.4:
        return b"%d" % rng.randint(-10**6, 10**6)
    if r < 0.55:
        return rng.choice([b"inf", b"-inf", b"-0", b"4611686018427387904", b"4611686018427387905", b"1e300",
                           b"5e-324", b"0.1", b"-2.5"])
    return repr(rng.uniform(-1e9, 1e9)).encode()


def random_value_command(rng: random.Random, key: bytes) -> list[bytes]:
    """A command that builds a random value at ``key`` (small or past Redis's compact limits)."""
    kind = rng.choice(["string", "list", "set", "intset", "hash", "zset"])
    n = rng.choice([1, 2, 3, 10, 60, 127, 128, 129, 300, 512, 513, 700])
    if kind == "string":
        return [b"SET", key, random_element(rng) if rng.random() < 0.7 else b"%d" % rng.randint(-2**63, 2**63 - 1)]
    if kind == "list":
        return [b"RPUSH", key] + [random_element(rng) for _ in range(n)]
    if kind == "intset":
        bits = rng.choice([8, 15, 16, 31, 32, 63])
        return [b"SADD", key] + [b"%d" % rng.randint(-(2**bits), 2**bits - 1) for _ in range(n)]
    if kind == "set":
        return [b"SADD", key] + [random_element(rng) for _ in range(n)]
    if kind == "hash":
        short = rng.random() < 0.7
        words = [random_element(rng) for _ in range(2 * n)]
        return [b"HSET", key] + [w[:64] if short else w for w in words]
    short = rng.random() < 0.7
    return [b"ZADD", key] + [w for _ in range(n)
                             for w in (random_score(rng), random_element(rng)[:64] if short else random_element(rng))]


def deterministic(redis_payload: bytes) -> bool:
    """Whether Redis's encoding of the value depends on the value alone (not on a hash table's
    random order)."""
    return redis_payload[0] not in (2, 4)  # a plain set or hash


@pytest.fixture(scope="module")
def server(oracle):
    client = oracle.client()
    yield client
    client.close()


@needs_redis
def test_dumps_are_redis_bytes_and_travel_both_ways(server):
    rng = random.Random(2024)
    compared = 0
    for i in range(400):
        server.flushall()
        cmd = random_value_command(rng, b"k")
        server.execute_command(*cmd)
        s = store_with()
        run(s, *cmd)
        theirs, ours = server.dump(b"k"), run(s, "DUMP", "k")
        if deterministic(theirs):
            assert ours == theirs, f"{cmd[0]!r} of {len(cmd) - 2} words: {theirs[:60]!r} != {ours[:60]!r}"
            compared += 1
        assert run(s, "RESTORE", "theirs", "0", theirs) == OK
        assert comparable(s.db.data[b"theirs"]) == comparable(s.db.data[b"k"])
        assert server.restore(b"ours", 0, ours) == b"OK"
        assert redis_value(server, b"ours") == redis_value(server, b"k")
    assert compared > 250


@needs_redis
@pytest.mark.parametrize("name,version,body,value", OLD_PAYLOADS, ids=[p[0] for p in OLD_PAYLOADS])
def test_older_encodings_restore_alike_here_and_in_redis(server, name, version, body, value):
    payload = sealed(bytes.fromhex(body), version)
    assert server.restore(b"old", 0, payload, replace=True) == b"OK"
    s = Store()
    assert run(s, "RESTORE", "old", "0", payload) == OK
    ours = comparable(s.db.data[b"old"])
    assert redis_value(server, b"old") == (set(ours) if isinstance(ours, set) else ours)


@needs_redis
def test_plain_quicklist_nodes_and_hash_table_payloads_restore_in_redis(server):
    plain = sealed(b"\x12\x02\x01\x03abc\x02" + rdb_string(listpack_of([b"d", b"5"])))
    assert server.restore(b"l", 0, plain, replace=True) == b"OK"
    s = Store()
    assert run(s, "RESTORE", "l", "0", plain) == OK
    assert list(s.db.data[b"l"]) == server.lrange(b"l", 0, -1) == [b"abc", b"d", b"5"]
    big = {b"f%d" % i: b"v%d" % i for i in range(600)}
    assert server.restore(b"h", 0, dump_value(big), replace=True) == b"OK" and server.hgetall(b"h") == big


def listpack_of(elements: list[bytes]) -> bytes:
    return listpack([listpack_entry(e) for e in elements])


@needs_redis
def test_bad_payloads_get_the_same_errors_as_in_redis(server):
    server.set(b"k", b"v")
    good = server.dump(b"k")
    cases = [
        ([b"k", b"0", good], BUSYKEY),
        ([b"n", b"-5", good], Error("ERR Invalid TTL value, must be >= 0")),
        ([b"n", b"0", good[:-1] + b"\x00"], BAD_PAYLOAD),
        ([b"n", b"0", sealed(good[:-10], 11)], BAD_PAYLOAD),
        ([b"n", b"0", sealed(b"\x0f\x00")], BAD_FORMAT),
        ([b"n", b"0", sealed(b"\x02\x02\x01a\x01a")], BAD_FORMAT),
        ([b"n", b"0", sealed(b"\x0b" + rdb_string(b"\x02\x00\x00\x00\x00\x00\x00\x00"))], BAD_FORMAT),
        ([b"n", b"0", good, b"FREQ", b"300"], Error("ERR Invalid FREQ value, must be >= 0 and <= 255")),
        ([b"n", b"0", good, b"IDLETIME", b"1", b"FREQ", b"1"], SYNTAX),
    ]
    s = store_with(k=b"v")
    for args, error in cases:
        with pytest.raises(redis.ResponseError) as raised:
            server.execute_command(b"RESTORE", *args)
        assert str(raised.value) in (error, error.split(" ", 1)[1]), args  # (redis-py drops "ERR ")
        assert run(s, "RESTORE", *args) == error, args


@needs_redis
def test_cut_payloads_read_into_the_footer_as_in_redis(server):
    """A plain value cut short and resealed: Redis reads on into the version and checksum; so
    does RESTORE here, and both keep what they read there, or both refuse the payload."""
    rng = random.Random(5)
    values = [b"hello world, hello world, hello world", b"x" * 300,
              b"\x01\x03" + b"".join(rdb_string(e) for e in (b"a", b"12", b"z" * 40)),
              b"\x02\x03" + b"".join(rdb_string(e) for e in (b"a", b"12", b"z" * 40)),
              b"\x04\x02" + b"".join(rdb_string(e) for e in (b"f", b"1", b"g" * 70, b"v")),
              b"\x05\x02" + b"".join(rdb_string(m) + struct.pack("<d", s) for m, s in ((b"a", 1.5), (b"b", -3)))]
    for body in values:
        if body[0] > 5:
            body = b"\x00" + rdb_string(body)
        for cut in sorted(rng.sample(range(1, len(body)), min(12, len(body) - 1))):
            payload = sealed(body[:cut])
            try:
                theirs = server.restore(b"cut", 0, payload, replace=True)
            except redis.ResponseError as error:
                theirs = str(error)
            s = Store()
            ours = run(s, "RESTORE", "cut", "0", payload)
            if theirs == b"OK":
                assert ours == OK, (body, cut)
                assert redis_value(server, b"cut") == comparable(s.db.data[b"cut"]), (body, cut)
            else:
                assert ours == BAD_FORMAT and theirs == "Bad data format", (body, cut)


def ziplist_string(s: bytes) -> bytes:
    if len(s) < 64:
        return bytes([len(s)]) + s
    if len(s) < 16384:
        return bytes([0x40 | (len(s) >> 8), len(s) & 0xFF]) + s
    return b"\x80" + struct.pack(">I", len(s)) + s


ZIPLIST_INTS = [b"\xf1", b"\xfd", b"\xfe\x80", b"\xc0\x00\x80", b"\xf0\xff\xff\x7f", b"\xd0\x00\x00\x00\x80",
                b"\xe0" + struct.pack("<q", -2**63)]  # 0, 12, -128, -32768, 8388607, -2**31, -2**63


def ziplist(encoded: list[bytes]) -> bytes:
    """A ziplist (Redis 6.2 and older) of already encoded entries."""
    body, previous, last = b"", 0, 10
    for entry in encoded:
        last = 10 + len(body)
        entry = (bytes([previous]) if previous < 254 else b"\xfe" + struct.pack("<I", previous)) + entry
        body += entry
        previous = len(entry)
    return struct.pack("<IIH", 10 + len(body) + 1, last, len(encoded)) + body + b"\xff"


@needs_redis
def test_ziplists_of_every_entry_encoding_restore_alike_here_and_in_redis(server):
    strings = [ziplist_string(s) for s in (b"", b"a", b"x" * 100, b"y" * 300, b"z" * 20000, b"1.5")]
    elements = strings + ZIPLIST_INTS
    pairs = [ziplist_string(b"f%d" % i) for i in range(len(elements))]
    scores = [ziplist_string(b"-inf"), ZIPLIST_INTS[3], ZIPLIST_INTS[0], ziplist_string(b"2.5")]  # in order
    members = [ziplist_string(m) for m in (b"c", b"b", b"d", b"a")]
    payloads = [
        sealed(b"\x0a" + rdb_string(ziplist(elements)), 9),
        sealed(b"\x0e\x02" + rdb_string(ziplist(elements[:5])) + rdb_string(ziplist(elements[5:])), 9),
        sealed(b"\x0d" + rdb_string(ziplist([w for pair in zip(pairs, elements) for w in pair])), 9),
        sealed(b"\x0c" + rdb_string(ziplist([w for pair in zip(members, scores) for w in pair])), 9),
    ]
    for payload in payloads:
        assert server.restore(b"zl", 0, payload, replace=True) == b"OK"
        s = Store()
        assert run(s, "RESTORE", "zl", "0", payload) == OK
        assert redis_value(server, b"zl") == comparable(s.db.data[b"zl"])
    broken = ziplist(elements)
    for corrupt in (broken[:-1] + b"\x00", broken[:12] + b"\x07" + broken[13:], broken[:8] + b"\x63\x00" + broken[10:]):
        with pytest.raises(redis.ResponseError):
            server.restore(b"bad", 0, sealed(b"\x0a" + rdb_string(corrupt)))
        assert run(Store(), "RESTORE", "bad", "0", sealed(b"\x0a" + rdb_string(corrupt))) == BAD_FORMAT
