"""Random DUMP and RESTORE commands for the differential test (mixed into diffgen.Generator,
whose ``rng``, ``key()``, ``word()``, ``rel_time()`` and ``abs_time()`` they use).

RESTORE's payloads are of three kinds: fixed ones redis-server 7.0 wrote (and Redis 2.4 to 6.2,
from Redis's test RDB files: zipmaps, ziplists, quicklists of ziplists, text scores), ones made
here with resp-kv's DUMP encoder from random values (small, and past every compact limit: then
redis-server holds them in its hash tables), and bad ones (a wrong checksum or version, streams,
modules, empty or duplicated containers, a truncated value resealed: Redis reads on into the
payload's footer, and so must resp-kv). Options come in every combination, case and order, and
wrong (IDLETIME with FREQ, a missing or bad value); TTLs are relative (never within 100 s of
now: diffgen's rule) or absolute (future or past: a past one creates nothing).

DUMP replies are compared byte for byte where redis-server's encoding depends on the value alone;
where it depends on history (a hash table's random order, an encoding Redis keeps once it grew
into it, an intset's width, a list cut into nodes by other pushes than RPUSH) both payloads must
hold the same value, and differ only in that way (``compare_dump``). Commands that build values
with such histories (LPUSH, growing then shrinking a hash, set or zset) come now and then."""

from __future__ import annotations

import math
import struct
from collections import deque

from diffreplies import parse
from resp_kv.keyspace import dumps
from resp_kv.keyspace.rdb import RDB_VERSION, RdbReader, crc64, rdb_length, verify
from resp_kv.keyspace.values import ZSet

# Payloads redis-server 7.0.15 wrote (DUMP), footer included.
REDIS_PAYLOADS = [
    ("int string", "00c1c7cf0a0067eda236b4db26d0"),
    ("long int string", "0013393232333337323033363835343737353830370a003a657e9481e85f22"),
    ("lzf string", "00c30c404b0361626361e03b020278797a0a004d53d4bb9b2f4c44"),
    ("binary string", "000500ff0d0afe0a00e332ef08888e52ec"),
    ("list", "120102c31c405c145c000000050081610201018001f290eefe04e04662e03c000148ff0a005ed4a0a3d227418d"),
    ("intset", "0b140400000003000000feffffff01000000701101000a0030527df8cc311f3b"),
    ("set", "020401620161c00101630a003d5592321d9a0282"),
    ("hash", "1017170000000600816602817602816e020c018165028001ff0a00e90ed36057e0122d"),
    ("big hash", "040201660176046c6f6e67c3094041017878e034000178780a0069ff0ef553d174fe"),
    ("zset", "1127270000000800816302842d696e6605816102010181620283322e35048164028531652b323006ff0a001c7add1fef025e6d"),
    ("big zset", "0502c3094041016d6de03400016d6d00000000000000400161000000000000f03f0a0047ca44ed9b0ad9b8"),
]
# Objects older Redis versions wrote (Redis's tests/assets/*.rdb): RDB version, type and value.
OLD_OBJECTS = [
    (3, "0910020266310200763102663202007632ff"),  # zipmap hash
    (9, "0d1b1b00000016000000040000026631040276310402663204027632ff"),  # ziplist hash
    (8, "0e010d0d0000000a000000010000f8ff"),  # quicklist of ziplists
    (10, "0c191900000016000000040000036f6e6505f2020374776f05f3ff"),  # ziplist zset
    (4, "0a303000000025000000080000c0010004c0020004c0030004016103016203016303d0a086010006e000bca06501000000ff"),
    (4, "030c026262023230026363023330036262620332303004626262620a353030303030303030300363636303333030046363636309"
        "313233343536373839016101310261610231300162013203616161033130300163013304616161610431303030"),  # text scores
    (4, "0b38080000000600000000ca9a3b000000000094357700000000005ed0b20000000000286bee0000000000f2052a0100000000"
        "bca06501000000"),  # intset of int64
]
# Objects that do not load (Bad data format): a stream, modules, no such type, empty containers,
# a set member twice, a NaN score, a quicklist node of an unknown container or empty. (Not a
# small hash with a field twice: Redis keeps both unless told to sanitize payloads; resp-kv refuses.)
BAD_OBJECTS = [b"\x0f\x00", b"\x13\x00", b"\x06\x00", b"\x07\x00", b"\x08\x00", b"\x63", b"\x01\x00", b"\x02\x00",
               b"\x03\x00", b"\x04\x00", b"\x05\x00", b"\x02\x02\x01a\x01a",
               b"\x05\x01\x01a" + struct.pack("<d", math.nan), b"\x12\x01\x03\x01x", b"\x12\x01\x02\x00",
               b"\x0b\x08\x02\x00\x00\x00\x00\x00\x00\x00", b"\x0b\x07\x03\x00\x00\x00\x01\x00\x00"]
ELEMENTS = [b"a", b"b", b"1", b"-1", b"0", b"127", b"128", b"-4096", b"4095", b"70000", b"-2147483649",
            b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808", b"007", b"-0", b"1.5", b"",
            b"\x00\xff", b"x y", b"k:1"]
SCORES = [0.0, 1.0, -1.0, 2.5, -0.0, 1e20, -1e-5, math.inf, -math.inf, 4611686018427387904.0, 0.1]
RESTORE_JUNK = [b"FOO", b"", b"REPLACEX", b"TTL", b"1"]
LENGTHS = [1, 2, 3, 5, 20, 64, 65, 127, 128, 129, 300, 513, 600]


def seal(body: bytes, version: int = RDB_VERSION) -> bytes:
    payload = body + struct.pack("<H", version)
    return payload + struct.pack("<Q", crc64(payload))


def plain_object(value) -> bytes:
    """A value as an RDB object of the plain types: string, list, set, hash, zset2."""
    string = dumps.rdb_string
    if value.__class__ is bytes:
        return bytes([dumps.STRING]) + string(value)
    if value.__class__ is ZSet:
        words = [string(m) + struct.pack("<d", s) for s, m in value.order]
        kind = dumps.ZSET_2
    elif value.__class__ is dict:
        words = [string(f) + string(v) for f, v in value.items()]
        kind = dumps.HASH
    else:
        words = [string(e) for e in value]
        kind = dumps.LIST if value.__class__ is deque else dumps.SET
    return bytes([kind]) + rdb_length(len(value)) + b"".join(words)


def _bulk(raw: bytes) -> bytes | None:
    value = parse(raw)
    return value if isinstance(value, bytes) else None


def _shape(payload: bytes):
    """What of a payload's encoding may come from history: (type, intset width or list node
    count), None for the other types."""
    kind = payload[0]
    reader = RdbReader(payload, len(payload))
    reader.take(1)
    if kind == dumps.SET_INTSET:
        return kind, struct.unpack_from("<I", reader.string())[0]
    if kind == dumps.LIST_QUICKLIST_2:
        return kind, reader.length()[0]
    return kind, None


def _comparable(value):
    return [(m, s) for s, m in value.order] if isinstance(value, ZSet) else value


def history_may_explain(theirs: bytes, ours: bytes) -> bool:
    """Whether two payloads of the same value may differ: redis-server's is a hash table (random
    order), an encoding larger than ours, an intset of another width, or a list cut otherwise."""
    (kind, detail), (our_kind, our_detail) = _shape(theirs), _shape(ours)
    if kind in (dumps.SET, dumps.HASH) or (kind == dumps.ZSET_2 and our_kind == dumps.ZSET_LISTPACK):
        return True
    if kind != our_kind:
        return False
    if kind == dumps.SET_INTSET:
        return detail != our_detail
    return kind == dumps.LIST_QUICKLIST_2 and (detail > 1 or our_detail > 1)


def compare_dump(cmd, a: bytes, b: bytes) -> str | None:
    """DUMP: the same bytes, or two payloads of the same value that history may tell apart."""
    if a == b:
        return None
    theirs, ours = _bulk(a), _bulk(b)
    if theirs is None or ours is None:
        return "replies differ"
    if not (verify(theirs) and verify(ours)):
        return "a payload's version or checksum is wrong"
    try:
        same = _comparable(dumps.load_value(theirs)) == _comparable(dumps.load_value(ours))
    except dumps.BadFormat:
        return "a payload does not load in resp-kv"
    if not same:
        return "the payloads hold different values"
    if history_may_explain(theirs, ours):
        return None
    return "different bytes where the encoding depends on the value alone"


class DumpStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_dump", 10), ("g_restore_fixed", 6), ("g_restore_made", 8), ("g_restore_bad", 3),
        ("g_restore_truncated", 1.5), ("g_build", 4),
    ]
    COMPARE: dict = {b"DUMP": compare_dump}
    NOT_IN_TX: tuple[str, ...] = ()

    # -- values --------------------------------------------------------------------------------

    def element(self) -> bytes:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(ELEMENTS)
        if r < 0.8:
            return b"m%d" % self.rng.randint(0, 1000)
        if r < 0.9:
            return b"%d" % self.rng.randint(-10**6, 10**6)
        return bytes([self.rng.choice(b"xyz")]) * self.rng.randint(20, 300)

    def made_value(self):
        """A random value of any type, small or past Redis's compact limits."""
        n = self.rng.choice(LENGTHS)
        kind = self.rng.choice(["string", "list", "set", "intset", "hash", "zset"])
        if kind == "string":
            return self.value() if self.rng.random() < 0.7 else self.element()
        if kind == "list":
            return deque(self.element() for _ in range(n))
        if kind == "intset":
            return {b"%d" % self.rng.randint(-2**self.rng.choice([7, 15, 31, 63]), 2**15) for _ in range(n)}
        if kind == "set":
            return {self.element() for _ in range(n)}
        if kind == "hash":
            return {self.element(): self.element() for _ in range(n)}
        return ZSet((self.element(), self.rng.choice(SCORES + [self.rng.uniform(-100, 100)])) for _ in range(n))

    # -- commands ------------------------------------------------------------------------------

    def g_dump(self) -> list[bytes]:
        return [self.word(b"DUMP"), self.key()]

    def restore(self, payload: bytes) -> list[bytes]:
        """RESTORE key ttl payload [options]: a relative or absolute TTL, the options in any order."""
        absolute = self.rng.random() < 0.3
        if absolute:
            ttl = self.abs_time(True)
        else:
            ttl = self.rel_time(True) if self.rng.random() < 0.5 else b"0"
        opts: list[list[bytes]] = []
        if absolute:
            opts.append([self.word(b"ABSTTL")])
        if self.rng.random() < 0.6:
            opts.append([self.word(b"REPLACE")])
        r = self.rng.random()
        if r < 0.15:
            opts.append([self.word(b"IDLETIME"), self.rng.choice([b"0", b"1000", b"-1", b"x", b"9223372036854775807"])])
        elif r < 0.3:
            opts.append([self.word(b"FREQ"), self.rng.choice([b"0", b"255", b"256", b"-1", b"x", b"100"])])
        elif r < 0.33:
            opts += [[self.word(b"IDLETIME"), b"10"], [self.word(b"FREQ"), b"10"]]  # not both: a syntax error
        r = self.rng.random()
        if r < 0.04:
            opts.append([self.rng.choice(RESTORE_JUNK)])
        elif r < 0.06:
            opts.append([self.word(self.rng.choice([b"IDLETIME", b"FREQ"]))])  # no value follows
        elif r < 0.09:
            opts.append([self.word(b"REPLACE")])  # twice
        self.rng.shuffle(opts)
        return [self.word(b"RESTORE"), self.key(), ttl, payload] + [w for o in opts for w in o]

    def g_restore_fixed(self) -> list[bytes]:
        if self.rng.random() < 0.7:
            return self.restore(bytes.fromhex(self.rng.choice(REDIS_PAYLOADS)[1]))
        version, body = self.rng.choice(OLD_OBJECTS)
        return self.restore(seal(bytes.fromhex(body), version))

    def g_restore_made(self) -> list[bytes]:
        return self.restore(dumps.dump_value(self.made_value()))

    def g_restore_bad(self) -> list[bytes]:
        good = bytes.fromhex(self.rng.choice(REDIS_PAYLOADS)[1])
        payload = self.rng.choice([
            seal(self.rng.choice(BAD_OBJECTS)), seal(good[:-10], RDB_VERSION + 1),
            good[:-1] + bytes([good[-1] ^ 0x40]), good[:9], b"", seal(good[:-10], 0)])
        return self.restore(payload)

    def g_restore_truncated(self) -> list[bytes]:
        """A value in a plain encoding (no listpack: Redis would not check one entry by entry),
        cut short and resealed: both servers read on into the footer, and load what they find
        there or refuse alike."""
        body = plain_object(self.made_value())
        return self.restore(seal(body[: self.rng.randint(1, len(body))]))

    def g_build(self) -> list[bytes]:
        """A value with a history DUMP may show: LPUSH, or many members added or removed."""
        k = self.key()
        n = self.rng.choice([3, 50, 200, 600])
        r = self.rng.random()
        if r < 0.25:
            return [self.word(b"LPUSH"), k] + [self.element() for _ in range(n)]
        if r < 0.4:
            return [self.word(b"RPUSH"), k] + [self.element() for _ in range(n)]
        if r < 0.55:
            return [self.word(b"SADD"), k] + [self.element() for _ in range(n)]
        if r < 0.7:
            return [self.word(b"HSET"), k] + [self.element() for _ in range(2 * n)]
        if r < 0.85:
            return [self.word(b"ZADD"), k] + [w for _ in range(n) for w in (b"%d" % self.rng.randint(0, 99),
                                                                              self.element())]
        kind = self.rng.choice([b"SREM", b"HDEL", b"ZREM", b"LREM"])
        if kind == b"LREM":
            return [self.word(kind), k, b"0", self.element()]
        return [self.word(kind), k] + [self.element() for _ in range(n)]
