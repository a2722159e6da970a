"""Random sets commands for the differential test (mixed into diffgen.Generator, whose
``rng``, ``key()``, ``keys()``, ``value()``, ``integer()``, ``word()`` and ``index()`` they use).

Members come mostly from a small pool (so sets overlap: intersections and differences are not
empty, SMOVE finds what it moves), integers among them (Redis keeps an all-integer set as an
intset until it holds 512), edge members (empty, binary, numbers in non-canonical spellings), and
now and then a few hundred at once (past the intset limit: a hash table, SSCAN pages). Counts and
cursors have their edge spellings; options come in every order and case, and wrong.

Random picks (SPOP, SRANDMEMBER) are compared by shape: nil or a bulk string, or an array (or
RESP3 set) of as many members, distinct for a positive count, the whole set when it holds fewer
than the count. SPOP is never queued in MULTI (the harness makes redis-server follow the members
resp-kv popped, outside MULTI only), nor SSCAN (the harness iterates it to the end)."""

from __future__ import annotations

from diffreplies import array_items

MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"f", b"1", b"2", b"3", b"10", b"-1", b"0", b"100", b"", b"\x00",
           b"\xff\xfe", b"x y", b"*", b"?", b"[a]", b"k:1", b"a\r\nb", b"9223372036854775807",
           b"-9223372036854775808", b"9223372036854775808", b"007", b"-0", b"+1", b"1.5", b" 1", b"1e3"]
INT_MEMBERS = [b"%d" % i for i in range(-5, 16)] + [b"9223372036854775807", b"-9223372036854775808", b"65536",
                                                     b"4294967296", b"-2147483649"]
RAND_COUNTS = [b"0", b"1", b"1", b"2", b"3", b"5", b"10", b"100", b"-1", b"-2", b"-3", b"-10", b"-40",
               b"9223372036854775807"]
POP_COUNTS = [b"0", b"1", b"1", b"2", b"2", b"3", b"5", b"100", b"9223372036854775807"]
LIMITS = [b"0", b"1", b"2", b"3", b"10", b"9223372036854775807"]
# Not a count Redis takes (SRANDMEMBER's range is +-(2**63 - 1); SPOP's and LIMIT's from 0).
BAD_COUNTS = [b"-9223372036854775808", b"9223372036854775808", b"-1", b"x", b"", b"1.5", b" 1", b"+1", b"-0",
              b"01", b"1 "]
NUMKEYS_BAD = [b"0", b"-1", b"x", b"", b"9223372036854775807", b"9223372036854775808", b"1.5", b"01"]
# Cursors: 0 spelled in several ways, or invalid (a nonzero valid cursor would start a partial
# iteration, which no two implementations do alike).
CURSORS_ZERO = [b"0", b"0", b"0", b"0", b"", b"+0", b"-0", b"00", b"0\x00x", b"\x00"]
CURSORS_BAD = [b"x", b" 0", b"0 ", b"1.5", b"-", b"+", b"18446744073709551616", b"-18446744073709551616", b"0x0",
               b"\t0"]
SCAN_COUNTS = [b"1", b"2", b"3", b"10", b"1000", b"9223372036854775807", b"0", b"-1", b"x", b"",
               b"9223372036854775808"]
MEMBER_PATTERNS = [b"*", b"?", b"a*", b"*a", b"[a-c]", b"[c-a]", b"[^a]", b"1*", b"*0", b"-*", b"\\*", b"", b"**",
                   b"*?*", b"k:*", b"[", b"\x00", b"\xff*", b"x y", b"[0-9]", b"?0", b"a\\"]
JUNK = [b"FOO", b"extra", b"", b"\x00", b"TYPE"]


def collection_items(raw: bytes) -> list[bytes] | None:
    """The raw elements of an array or a RESP3 set reply; None for anything else."""
    if raw[:1] == b"~":
        raw = b"*" + raw[1:]
    return array_items(raw)


def compare_pick(cmd, a: bytes, b: bytes) -> str | None:
    """SPOP / SRANDMEMBER: the same shape (random members need not be the same ones)."""
    if a == b:
        return None
    if len(cmd) == 2:  # one member or nil
        nil = (b"$-1\r\n", b"_\r\n")
        if a[:1] == b[:1] == b"$" and a not in nil and b not in nil:
            return None
        return "replies differ (not both a member, nor both nil)"
    x, y = collection_items(a), collection_items(b)
    if x is None or y is None or a[:1] != b[:1]:
        return "replies differ"
    if len(x) != len(y):
        return f"{len(x)} members from redis-server, {len(y)} from resp-kv"
    if not all(item[:1] == b"$" for item in x + y):
        return "not all elements are bulk strings"
    count = int(cmd[2]) if cmd[2].lstrip(b"-").isdigit() else 0
    if count > 0 and (len(set(x)) != len(x) or len(set(y)) != len(y)):
        return "a positive count gave the same member twice"
    if 0 < len(x) < count and sorted(x) != sorted(y):
        return "fewer members than the count, but not the same (the whole set)"
    return None


def compare_unordered(cmd, a: bytes, b: bytes) -> str | None:
    """An array or RESP3 set in an unspecified order: the same type, equal as multisets."""
    if a == b:
        return None
    x, y = collection_items(a), collection_items(b)
    if x is None or y is None or a[:1] != b[:1]:
        return "replies differ"
    return None if sorted(x) == sorted(y) else "different members (as multisets)"


class SetStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_sadd", 36), ("g_sadd_many", 0.8), ("g_srem", 6), ("g_scard", 2), ("g_sismember", 3),
        ("g_smismember", 3), ("g_smembers", 4), ("g_srandmember", 5), ("g_spop", 4), ("g_smove", 5),
        ("g_sinter", 3), ("g_sunion", 3), ("g_sdiff", 3), ("g_sstore", 6), ("g_sintercard", 4),
        ("g_sscan", 4),
    ]
    COMPARE: dict = {
        b"SMEMBERS": compare_unordered, b"SINTER": compare_unordered, b"SUNION": compare_unordered,
        b"SDIFF": compare_unordered, b"SPOP": compare_pick, b"SRANDMEMBER": compare_pick,
    }
    NOT_IN_TX: tuple[str, ...] = ("g_spop", "g_sscan")

    # -- words ---------------------------------------------------------------------------------

    def member(self) -> bytes:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(MEMBERS)
        if r < 0.85:
            return self.rng.choice(INT_MEMBERS)
        return self.value()

    def members(self, lo: int = 1, hi: int = 6) -> list[bytes]:
        if self.rng.random() < 0.3:  # integers only: an intset in Redis
            return [self.rng.choice(INT_MEMBERS) for _ in range(self.rng.randint(lo, hi))]
        return [self.member() for _ in range(self.rng.randint(lo, hi))]

    def count(self, good: list[bytes]) -> bytes:
        return self.rng.choice(good) if self.rng.random() < 0.8 else self.rng.choice(BAD_COUNTS)

    # -- one set -------------------------------------------------------------------------------

    def g_sadd(self) -> list[bytes]:
        return [self.word(b"SADD"), self.key()] + self.members()

    def g_sadd_many(self) -> list[bytes]:
        """Hundreds of members: past the intset limit (512) or not, integers or not."""
        n = self.rng.choice([20, 100, 300, 600])
        start = self.rng.randint(-50, 50)
        fmt = self.rng.choice([b"%d", b"m%d"])
        return [self.word(b"SADD"), self.key()] + [fmt % i for i in range(start, start + n)]

    def g_srem(self) -> list[bytes]:
        return [self.word(b"SREM"), self.key()] + self.members(1, 4)

    def g_scard(self) -> list[bytes]:
        return [self.word(b"SCARD"), self.key()]

    def g_sismember(self) -> list[bytes]:
        return [self.word(b"SISMEMBER"), self.key(), self.member()]

    def g_smismember(self) -> list[bytes]:
        return [self.word(b"SMISMEMBER"), self.key()] + self.members(1, 5)

    def g_smembers(self) -> list[bytes]:
        return [self.word(b"SMEMBERS"), self.key()]

    def g_smove(self) -> list[bytes]:
        src = self.key()
        dst = src if self.rng.random() < 0.1 else self.key()
        return [self.word(b"SMOVE"), src, dst, self.member()]

    # -- random picks --------------------------------------------------------------------------

    def g_srandmember(self) -> list[bytes]:
        cmd = [self.word(b"SRANDMEMBER"), self.key()]
        r = self.rng.random()
        if r < 0.7:
            cmd.append(self.count(RAND_COUNTS))
        elif r < 0.73:
            cmd += [self.count(RAND_COUNTS), self.rng.choice(JUNK)]  # a syntax error
        return cmd

    def g_spop(self) -> list[bytes]:
        cmd = [self.word(b"SPOP"), self.key()]
        r = self.rng.random()
        if r < 0.6:
            cmd.append(self.count(POP_COUNTS))
        elif r < 0.63:
            cmd += [self.count(POP_COUNTS), self.rng.choice(JUNK)]  # a syntax error
        return cmd

    # -- several sets --------------------------------------------------------------------------

    def g_sinter(self) -> list[bytes]:
        return [self.word(b"SINTER")] + self.keys(1, 4)

    def g_sunion(self) -> list[bytes]:
        return [self.word(b"SUNION")] + self.keys(1, 4)

    def g_sdiff(self) -> list[bytes]:
        return [self.word(b"SDIFF")] + self.keys(1, 4)

    def g_sstore(self) -> list[bytes]:
        """SINTERSTORE / SUNIONSTORE / SDIFFSTORE, the destination often among the sources."""
        kind = self.rng.choice([b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"])
        sources = self.keys(1, 4)
        dst = self.rng.choice(sources) if self.rng.random() < 0.3 else self.key()
        return [self.word(kind), dst] + sources

    def g_sintercard(self) -> list[bytes]:
        keys = self.keys(1, 4)
        r = self.rng.random()
        if r < 0.8:
            numkeys = b"%d" % len(keys)
        elif r < 0.87:  # fewer than given: the rest are read as options
            numkeys = b"%d" % max(1, len(keys) - 1)
        elif r < 0.93:
            numkeys = b"%d" % (len(keys) + self.rng.randint(1, 3))  # more than there are
        else:
            numkeys = self.rng.choice(NUMKEYS_BAD)
        cmd = [self.word(b"SINTERCARD"), numkeys] + keys
        for _ in range(self.rng.choice([0, 0, 1, 1, 1, 2])):
            cmd += [self.word(b"LIMIT"), self.count(LIMITS)]
        r = self.rng.random()
        if r < 0.04:
            cmd.append(self.word(b"LIMIT"))  # no value follows
        elif r < 0.07:
            cmd.append(self.rng.choice(JUNK))
        return cmd

    # -- iteration -----------------------------------------------------------------------------

    def g_sscan(self) -> list[bytes]:
        """SSCAN key 0 [MATCH p] [COUNT n]: the test iterates it to the end (or a bad cursor)."""
        cursor = self.rng.choice(CURSORS_ZERO) if self.rng.random() < 0.93 else self.rng.choice(CURSORS_BAD)
        opts: list[list[bytes]] = []
        if self.rng.random() < 0.5:
            opts.append([self.word(b"MATCH"), self.rng.choice(MEMBER_PATTERNS)])
        if self.rng.random() < 0.5:
            opts.append([self.word(b"COUNT"), self.rng.choice(SCAN_COUNTS)])
        if self.rng.random() < 0.1:
            opts.append([self.word(self.rng.choice([b"MATCH", b"COUNT"])), self.rng.choice(SCAN_COUNTS)])
        r = self.rng.random()
        if r < 0.03:
            opts.append([self.word(b"TYPE"), b"set"])  # SCAN's option only: a syntax error here
        elif r < 0.06:
            opts.append([self.rng.choice(JUNK + [b"MATCH", b"COUNT"])])
        self.rng.shuffle(opts)
        return [self.word(b"SSCAN"), self.key(), cursor] + [w for o in opts for w in o]
