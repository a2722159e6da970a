"""Random bitmap commands for the differential test (mixed into diffgen.Generator, whose ``rng``,
``key()``, ``keys()``, ``value()`` and ``word()`` they use).

Bitmaps live mostly on two keys of their own (they grow bit by bit) and on the shared keys
(where strings of every kind, numbers among them, and other types are: WRONGTYPE). Some are
seeded whole: runs of zero and 0xff bytes with a few odd ones, so BITPOS has long stretches to
skip. Offsets hit byte and word edges, the largest (2**32 - 1: reads only, a write there would
make a 512 MB string) and just past it, negative, non-canonical and ``#N`` spellings (some of
which wrap in Redis's 64-bit multiplication to a small offset). Writes stay below 2**20 bits, and
below 2**11 on the shared keys (LCS, which reads those, takes quadratic time).
BITCOUNT and BITPOS ranges are negative, huge, crossed, in BIT or BYTE (any case) or a bad unit.
BITOP mixes missing keys, strings of different lengths and the destination among the sources.
BITFIELD strings up to several subcommands, every type width, values at and past each edge, with
OVERFLOW switching between WRAP, SAT and FAIL; and wrong syntax of every kind.

All of it is deterministic: no reply rules are needed, and every command may be queued in MULTI.
"""

from __future__ import annotations

BIT_KEYS = [b"bm:1", b"bm:2"]  # besides diffgen's shared keys: only bitmap commands (and FLUSH*, SWAPDB) touch these
SMALL_OFFSETS = [b"0", b"1", b"6", b"7", b"8", b"9", b"15", b"16", b"31", b"32", b"63", b"64", b"65", b"100",
                 b"127", b"128", b"255", b"256", b"511", b"1000", b"2047"]
# Writes there make strings of 1 KB to 128 KB: on the bitmap keys only (LCS, over the shared
# keys, takes quadratic time).
FAR_OFFSETS = [b"8191", b"8192", b"65535", b"65536", b"1048575"]
READ_ONLY_OFFSETS = [b"4294967295", b"4294967288", b"4294967232", b"536870911", b"536870912"]
BAD_OFFSETS = [b"4294967296", b"-1", b"-8", b"x", b"", b" 1", b"1 ", b"+1", b"01", b"-0", b"1.5", b"#1",
               b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808", b"0x10"]
# BITFIELD's field offsets: N * width; a huge N wraps to 64 (i64) or 8 (*8) in Redis's int64.
FIELD_OFFSETS = [b"#0", b"#1", b"#2", b"#3", b"#7", b"#8", b"#15", b"#30"]
BAD_FIELD_OFFSETS = [b"#", b"#-1", b"#x", b"##1", b"#+1", b"#01", b"# 1", b"#-0", b"#9223372036854775807",
                     b"#4294967296"]
FAR_FIELD_OFFSETS = [b"#67108863", b"#67108864", b"#536870911", b"#536870912"]  # reads only (or out of range)
WRAPPING_FIELD_OFFSETS = [b"#288230376151711745", b"#2305843009213693953", b"#144115188075855873",
                          b"#576460752303423489"]
BITS = [b"0", b"1"]
BAD_BITS = [b"2", b"-1", b"x", b"", b" 1", b"01", b"1.0", b"9223372036854775808", b"-9223372036854775808"]
RANGE_INDEXES = [b"0", b"1", b"2", b"3", b"5", b"7", b"8", b"9", b"15", b"16", b"63", b"64", b"100", b"1000",
                 b"-1", b"-2", b"-3", b"-7", b"-8", b"-9", b"-16", b"-100", b"-1000", b"9223372036854775807",
                 b"-9223372036854775808", b"4294967295"]
BAD_INDEXES = [b"x", b"", b"1.5", b" 1", b"+1", b"-0", b"01", b"9223372036854775808", b"-9223372036854775809"]
UNITS = [b"BIT", b"BYTE", b"bit", b"byte", b"Bit", b"bYtE", b"BIT\x00x", b"BITS", b"BYTES", b"", b"x", b"0"]
BITOP_NAMES = [b"AND", b"OR", b"XOR", b"NOT", b"and", b"or", b"xor", b"not", b"Xor", b"AND\x00x", b"NAND",
               b"ANDX", b"", b"NOR", b"N"]
SIGNED_TYPES = [b"i%d" % n for n in (1, 2, 3, 4, 5, 7, 8, 8, 8, 9, 15, 16, 16, 17, 31, 32, 33, 48, 63, 64, 64)]
UNSIGNED_TYPES = [b"u%d" % n for n in (1, 2, 3, 4, 5, 7, 8, 8, 8, 9, 15, 16, 16, 17, 31, 32, 33, 48, 62, 63)]
BAD_TYPES = [b"u64", b"i65", b"i0", b"u0", b"I8", b"U8", b"8", b"x8", b"", b"i", b"u", b"i-1", b"i08", b"i 8",
             b"i8 ", b"i+8", b"i8\x00x", b"u1.5", b"i9223372036854775808"]
FIELD_VALUES = [b"0", b"1", b"-1", b"2", b"-2", b"7", b"8", b"15", b"16", b"-16", b"-17", b"100", b"127", b"128",
                b"-128", b"-129", b"255", b"256", b"32767", b"32768", b"-32768", b"65535", b"65536",
                b"2147483647", b"2147483648", b"-2147483648", b"4294967295", b"4294967296",
                b"4611686018427387903", b"4611686018427387904", b"9223372036854775807", b"-9223372036854775808",
                b"-9223372036854775807", b"-9223372036854775681", b"-9223372036854775680", b"-4611686018427387904"]
BAD_FIELD_VALUES = [b"x", b"", b"1.5", b" 1", b"+1", b"-0", b"01", b"9223372036854775808", b"-9223372036854775809"]
OVERFLOW_TYPES = [b"WRAP", b"SAT", b"FAIL", b"wrap", b"sat", b"fail", b"Sat", b"FAIL\x00x", b"SATURATE", b"", b"x"]
SUBCOMMANDS = [b"GET", b"SET", b"INCRBY"]
JUNK = [b"FOO", b"extra", b"", b"\x00", b"OVERFLOWX", b"GETX", b"1"]


class BitStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_bitmap_set", 6), ("g_setbit", 18), ("g_getbit", 7), ("g_bitcount", 10), ("g_bitpos", 12),
        ("g_bitop", 8), ("g_bitfield", 18), ("g_bitfield_ro", 4),
    ]
    COMPARE: dict = {}
    NOT_IN_TX: tuple[str, ...] = ()

    # -- words ---------------------------------------------------------------------------------

    def bkey(self) -> bytes:
        """Mostly one of the bitmap keys (they grow undisturbed), else a shared one."""
        return self.rng.choice(BIT_KEYS) if self.rng.random() < 0.6 else self.key()

    def bitmap(self) -> bytes:
        """A string of runs of 0x00 and 0xff bytes with odd bytes between (or any string)."""
        if self.rng.random() < 0.2:
            return self.value()
        out = b""
        for _ in range(self.rng.randint(1, 5)):
            run = self.rng.choice([0, 0xFF, 0xFF, self.rng.randrange(256)])
            out += bytes([run]) * self.rng.choice([1, 2, 3, 7, 8, 9, 16, 33, 100])
            if self.rng.random() < 0.5:
                out += bytes([self.rng.randrange(256)])
        return out

    def write_offset(self, far: bool, bad: float = 0.12) -> bytes:
        """An offset for a write: mostly small, now and then ``far`` if allowed, with a chance of
        ``bad``."""
        if self.rng.random() < bad:
            return self.rng.choice(BAD_OFFSETS)
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(SMALL_OFFSETS)
        if r < 0.92 or not far:
            return b"%d" % self.rng.randint(0, 2000)
        return self.rng.choice(FAR_OFFSETS)

    def read_offset(self, bad: float = 0.12) -> bytes:
        return self.rng.choice(READ_ONLY_OFFSETS) if self.rng.random() < 0.12 else self.write_offset(True, bad)

    def range_index(self) -> bytes:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(RANGE_INDEXES)
        if r < 0.95:
            return b"%d" % self.rng.randint(-300, 300)
        return self.rng.choice(BAD_INDEXES)

    def unit(self) -> bytes:
        return self.word(self.rng.choice([b"BIT", b"BYTE"])) if self.rng.random() < 0.85 else self.rng.choice(UNITS)

    def bit(self) -> bytes:
        return self.rng.choice(BITS) if self.rng.random() < 0.92 else self.rng.choice(BAD_BITS)

    # -- single bits ---------------------------------------------------------------------------

    def g_bitmap_set(self) -> list[bytes]:
        """A bitmap seeded whole (SET, or APPEND to a bitmap key: it grows); or another type on a
        key (WRONGTYPE)."""
        key = self.rng.choice(BIT_KEYS) if self.rng.random() < 0.8 else self.key()
        if self.rng.random() < 0.1:
            return [self.word(self.rng.choice([b"SADD", b"RPUSH", b"HSET"])), key, b"x", b"1"]
        kind = self.rng.choice([b"SET", b"SET", b"APPEND"])
        return [self.word(kind), key, self.bitmap()]

    def g_setbit(self) -> list[bytes]:
        key = self.bkey()
        return [self.word(b"SETBIT"), key, self.write_offset(key in BIT_KEYS), self.bit()]

    def g_getbit(self) -> list[bytes]:
        return [self.word(b"GETBIT"), self.bkey(), self.read_offset()]

    # -- counting and finding ------------------------------------------------------------------

    def g_bitcount(self) -> list[bytes]:
        cmd = [self.word(b"BITCOUNT"), self.bkey()]
        r = self.rng.random()
        if r < 0.2:
            return cmd
        if r < 0.27:  # only a start: a syntax error (if the key holds a string)
            return cmd + [self.range_index()]
        args = [self.range_index(), self.range_index()]
        if self.rng.random() < 0.6:
            args.append(self.unit())
        if self.rng.random() < 0.04:
            args.append(self.rng.choice(JUNK))
        return cmd + args

    def g_bitpos(self) -> list[bytes]:
        cmd = [self.word(b"BITPOS"), self.bkey(), self.bit()]
        count = self.rng.choice([0, 1, 2, 2, 3, 3, 3])
        args = [self.range_index(), self.range_index(), self.unit()][:count]
        if self.rng.random() < 0.04:
            args.append(self.rng.choice(JUNK))
        return cmd + args

    # -- several strings -----------------------------------------------------------------------

    def g_bitop(self) -> list[bytes]:
        op = self.rng.choice(BITOP_NAMES) if self.rng.random() < 0.15 else self.word(
            self.rng.choice([b"AND", b"OR", b"XOR", b"NOT"]))
        count = 1 if op.upper() == b"NOT" and self.rng.random() < 0.85 else self.rng.randint(1, 4)
        sources = [self.bkey() for _ in range(count)]
        dest = self.rng.choice(sources) if self.rng.random() < 0.25 else self.bkey()
        if dest not in BIT_KEYS and set(sources) & set(BIT_KEYS):  # (no long string on a shared key)
            dest = self.rng.choice(BIT_KEYS)
        return [self.word(b"BITOP"), op, dest] + sources

    # -- integer fields ------------------------------------------------------------------------

    def field_type(self) -> bytes:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(SIGNED_TYPES)
        if r < 0.97:
            return self.rng.choice(UNSIGNED_TYPES)
        return self.rng.choice(BAD_TYPES)

    def field_offset(self, writing: bool, far: bool) -> bytes:
        r = self.rng.random()
        if r < 0.3:
            return self.rng.choice(FIELD_OFFSETS)
        if r < 0.33:
            return self.rng.choice(WRAPPING_FIELD_OFFSETS)
        if r < 0.35:
            return self.rng.choice(BAD_FIELD_OFFSETS)
        if r < 0.38 and not writing:
            return self.rng.choice(FAR_FIELD_OFFSETS)
        return self.write_offset(far, 0.02) if writing else self.read_offset(0.02)

    def field_value(self) -> bytes:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(FIELD_VALUES)
        if r < 0.98:
            return b"%d" % self.rng.randint(-300, 300)
        return self.rng.choice(BAD_FIELD_VALUES)

    def subcommand(self, readonly: bool, far: bool) -> list[bytes]:
        r = self.rng.random()
        if r < 0.25:
            mode = self.word(self.rng.choice([b"WRAP", b"SAT", b"FAIL"])) if self.rng.random() < 0.93 else \
                self.rng.choice(OVERFLOW_TYPES)
            return [self.word(b"OVERFLOW"), mode]
        sub = b"GET" if readonly and self.rng.random() < 0.95 else self.rng.choice(SUBCOMMANDS)
        args = [self.word(sub), self.field_type(), self.field_offset(sub != b"GET", far)]
        return args + ([self.field_value()] if sub != b"GET" else [])

    def field_ops(self, readonly: bool, far: bool) -> list[bytes]:
        """Subcommands (GET only, mostly, if ``readonly``; writes ``far`` if allowed)."""
        args = [w for _ in range(self.rng.choice([0, 1, 1, 2, 2, 3, 4, 6])) for w in self.subcommand(readonly, far)]
        r = self.rng.random()
        if r < 0.03 and args:
            args.pop()  # the last subcommand lacks an argument
        elif r < 0.06:
            args.append(self.rng.choice(JUNK + [b"OVERFLOW", b"GET", b"SET"]))
        return args

    def g_bitfield(self) -> list[bytes]:
        key = self.bkey()
        return [self.word(b"BITFIELD"), key] + self.field_ops(False, key in BIT_KEYS)

    def g_bitfield_ro(self) -> list[bytes]:
        key = self.bkey()
        return [self.word(b"BITFIELD_RO"), key] + self.field_ops(True, key in BIT_KEYS)
