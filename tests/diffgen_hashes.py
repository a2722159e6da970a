"""Random hashes commands for the differential test (mixed into diffgen.Generator, whose
``rng``, ``key()``, ``keys()``, ``value()``, ``integer()``, ``word()`` and ``index()`` they use).

Fields come mostly from a small set (so hashes grow, fields get overwritten and deleted), now
and then by the dozen (hashes beyond 128 fields, and values beyond 64 bytes, are hash tables in
Redis: their order is random, so HGETALL, HKEYS and HVALS are compared as multisets, and HSCAN
pages differ; the harness compares HSCAN as a whole iteration). HRANDFIELD is compared by shape.
"""

from __future__ import annotations

from diffreplies import compare_random_pick, compare_unordered, compare_unordered_pairs

HASH_KEYS = [b"h:1", b"h:2"]  # besides diffgen's shared keys: only hash commands (and FLUSH*, SWAPDB) touch these
FIELDS = [b"f", b"g", b"h", b"n", b"m", b"x", b"", b"F", b"\x00\xff", b"field:1", b"field:22", b"f*?",
          b"\r\n"]
NUMBER_FIELDS = [b"n", b"m", b"f", b"x"]  # where HINCRBY and HINCRBYFLOAT mostly go
FLOAT_INCREMENTS = [b"1", b"-1.5", b"0.1", b"1e3", b"1E3", b"-1e-3", b"inf", b"-inf", b"+inf", b"Infinity", b"nan",
                    b"-0", b"0", b" 1", b"1 ", b"", b"0x10", b"0x1p-3", b"1.7976931348623157e308", b"1e309",
                    b"1e4932", b"1e-4940", b"5e-324", b"3.0000000000000001", b"10.50", b"abc", b"1e", b".5", b"5.",
                    b"9223372036854775807", b"-9223372036854775808", b"1_0", b"1e4900", b"-1e4900"]
# Values that make HINCRBY / HINCRBYFLOAT fail or hit their edges when stored in a field.
NUMBER_VALUES = [b"0", b"1", b"-1", b"007", b"-0", b"+1", b" 1", b"1.5", b"1e3", b"inf", b"-inf", b"nan", b"abc",
                 b"9223372036854775807", b"-9223372036854775808", b"9223372036854775806", b"0x10", b"1e4900",
                 b"", b"3.0000000000000001", b"-4611686018427387904"]
# No large negative count: Redis would answer that many fields (even if WITHVALUES made it an
# error, the harness may cut WITHVALUES off to test the arity).
RANDOM_COUNTS = [b"0", b"1", b"2", b"3", b"5", b"10", b"100", b"-1", b"-2", b"-5", b"-20", b"9223372036854775807",
                 b"4611686018427387903", b"4611686018427387904", b"-9223372036854775808", b"9223372036854775808",
                 b"x", b"", b"1.5", b" 1", b"+1", b"-0"]
WITHVALUES = [b"WITHVALUES", b"WITHVALUES", b"withvalues", b"WithValues", b"WITHVALUES\x00x", b"WITHSCORES",
              b"FOO", b"", b"WITHVALUE"]
SCAN_CURSORS = [b"", b"+0", b"-0", b"00", b"x", b" 0", b"0 ", b"1.5", b"18446744073709551616", b"-"]
SCAN_COUNTS = [b"1", b"2", b"3", b"10", b"1000", b"0", b"-1", b"x", b"", b"9223372036854775808", b"9223372036854775807"]
FIELD_PATTERNS = [b"*", b"f*", b"f", b"?", b"[fgh]", b"[^f]*", b"field:*", b"field:?", b"f[0-9]", b"f1*", b"*\\?",
                  b"", b"\x00*", b"[", b"*[", b"\\", b"F", b"[A-Z]", b"f*?"]
SCAN_JUNK = [b"TYPE", b"FOO", b"", b"COUNT\x00x", b"MATCH\x00"]


class HashStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_hset", 11), ("g_hset_many", 0.6), ("g_hsetnx", 2), ("g_hget", 4), ("g_hmget", 2), ("g_hgetall", 2),
        ("g_hdel", 3), ("g_hexists", 1.5), ("g_hlen", 1.5), ("g_hstrlen", 1.5), ("g_hkeys", 2),
        ("g_hincrby", 3), ("g_hincrbyfloat", 3), ("g_hrandfield", 3), ("g_hscan", 2.5),
    ]
    COMPARE: dict = {
        b"HGETALL": compare_unordered_pairs,
        b"HKEYS": compare_unordered,
        b"HVALS": compare_unordered,
        b"HRANDFIELD": compare_random_pick,
    }
    NOT_IN_TX: tuple[str, ...] = ("g_hscan",)  # (the harness follows HSCAN's cursor outside MULTI only)

    # -- words ---------------------------------------------------------------------------------

    def hkey(self) -> bytes:
        """A key: often one only hash commands use (it grows undisturbed), or one a hash command
        wrote lately, else any of the shared keys (strings take those over: WRONGTYPE)."""
        r = self.rng.random()
        if r < 0.35:
            return self.rng.choice(HASH_KEYS)
        written = self.__dict__.setdefault("hash_keys", [])
        if written and r < 0.65:
            return self.rng.choice(written)
        return self.key()

    def wrote_hash(self, key: bytes) -> bytes:
        written = self.__dict__.setdefault("hash_keys", [])
        if key not in written:
            written.append(key)
            del written[:-3]
        return key

    def field(self) -> bytes:
        r = self.rng.random()
        if r < 0.75:
            return self.rng.choice(FIELDS)
        if r < 0.9:
            return b"f%d" % self.rng.randrange(200)
        return self.value()

    def fields(self, lo: int = 1, hi: int = 4) -> list[bytes]:
        return [self.field() for _ in range(self.rng.randint(lo, hi))]

    def hvalue(self) -> bytes:
        return self.rng.choice(NUMBER_VALUES) if self.rng.random() < 0.2 else self.value()

    # -- commands ------------------------------------------------------------------------------

    def g_hset(self) -> list[bytes]:
        cmd = [self.word(self.rng.choice([b"HSET", b"HSET", b"HSET", b"HMSET"])), self.wrote_hash(self.hkey())]
        for _ in range(self.rng.choice([1, 1, 1, 2, 2, 3, 4, 6])):
            cmd += [self.field(), self.hvalue()]
        if self.rng.random() < 0.04:
            cmd.append(self.field())  # a field without its value
        return cmd

    def g_hset_many(self) -> list[bytes]:
        """Dozens of fields at once: hashes large enough to page through and be hash tables."""
        cmd = [self.word(self.rng.choice([b"HSET", b"HMSET"])), self.wrote_hash(self.hkey())]
        start = self.rng.randrange(200)
        for i in range(self.rng.randint(20, 160)):
            cmd += [b"f%d" % ((start + i) % 250), b"%d" % self.rng.randint(-1000, 1000)
                    if self.rng.random() < 0.7 else self.value()]
        return cmd

    def g_hsetnx(self) -> list[bytes]:
        return [self.word(b"HSETNX"), self.wrote_hash(self.hkey()), self.field(), self.hvalue()]

    def g_hget(self) -> list[bytes]:
        return [self.word(b"HGET"), self.hkey(), self.field()]

    def g_hmget(self) -> list[bytes]:
        return [self.word(b"HMGET"), self.hkey()] + self.fields(1, 5)

    def g_hgetall(self) -> list[bytes]:
        return [self.word(b"HGETALL"), self.hkey()]

    def g_hkeys(self) -> list[bytes]:
        return [self.word(self.rng.choice([b"HKEYS", b"HVALS"])), self.hkey()]

    def g_hdel(self) -> list[bytes]:
        fields = self.fields(1, 4)
        if self.rng.random() < 0.1:
            fields += fields[:1]  # the same field twice
        if self.rng.random() < 0.03:
            fields += [b"f%d" % i for i in range(self.rng.randrange(250))]
        return [self.word(b"HDEL"), self.hkey()] + fields

    def g_hexists(self) -> list[bytes]:
        return [self.word(b"HEXISTS"), self.hkey(), self.field()]

    def g_hlen(self) -> list[bytes]:
        return [self.word(b"HLEN"), self.hkey()]

    def g_hstrlen(self) -> list[bytes]:
        return [self.word(b"HSTRLEN"), self.hkey(), self.field()]

    def number_field(self) -> bytes:
        return self.rng.choice(NUMBER_FIELDS) if self.rng.random() < 0.7 else self.field()

    def g_hincrby(self) -> list[bytes]:
        return [self.word(b"HINCRBY"), self.wrote_hash(self.hkey()), self.number_field(), self.integer()]

    def g_hincrbyfloat(self) -> list[bytes]:
        r = self.rng.random()
        if r < 0.6:
            amount = self.rng.choice(FLOAT_INCREMENTS)
        elif r < 0.8:
            amount = b"%.3f" % self.rng.uniform(-100, 100)
        else:
            amount = self.integer()
        return [self.word(b"HINCRBYFLOAT"), self.hkey(), self.number_field(), amount]

    def g_hrandfield(self) -> list[bytes]:
        cmd = [self.word(b"HRANDFIELD"), self.hkey()]
        if self.rng.random() < 0.2:
            return cmd
        count = self.rng.choice(RANDOM_COUNTS)
        if self.rng.random() < 0.1:
            count = b"%d" % self.rng.randint(-300, 300)
        cmd.append(count)
        r = self.rng.random()
        if r < 0.5:
            cmd.append(self.word(self.rng.choice(WITHVALUES)))
        if r > 0.97:
            cmd.append(self.rng.choice([b"WITHVALUES", b"x"]))  # too many arguments
        return cmd

    def g_hscan(self) -> list[bytes]:
        """HSCAN key 0 [MATCH p] [COUNT n]: the test iterates it to the end (or an error)."""
        cursor = b"0" if self.rng.random() < 0.9 else self.rng.choice(SCAN_CURSORS)
        opts = []
        if self.rng.random() < 0.5:
            opts.append([self.word(b"MATCH"), self.rng.choice(FIELD_PATTERNS)])
        if self.rng.random() < 0.5:
            opts.append([self.word(b"COUNT"), self.rng.choice(SCAN_COUNTS)])
        if self.rng.random() < 0.1:
            opts.append([self.word(self.rng.choice([b"MATCH", b"COUNT"])), self.rng.choice(FIELD_PATTERNS[:4])])
        if self.rng.random() < 0.06:
            opts.append([self.rng.choice(SCAN_JUNK), b"string"])
        if self.rng.random() < 0.04:
            opts.append([self.word(self.rng.choice([b"MATCH", b"COUNT"]))])  # no value follows
        self.rng.shuffle(opts)
        return [self.word(b"HSCAN"), self.hkey(), cursor] + [w for o in opts for w in o]
