"""Random sorted sets commands for the differential test (mixed into diffgen.Generator, whose
``rng``, ``key()``, ``keys()``, ``value()``, ``integer()``, ``word()`` and ``index()`` they use).

Members come from a small pool (so sets overlap and members get new scores), scores mostly small
integers (ties: the order by member shows) with every spelling strtod takes or Redis refuses,
ranges and bounds of every kind, options in every order and case, and wrong.

Keys: the shared ones hold only small sorted sets (listpacks in Redis: at most 128 members of at
most 64 bytes). Larger ones live on keys of their own, which nothing else touches: ``z:1`` and
``z:2`` (where ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE store: sets of hundreds of members may
come in), ``z:big`` (hundreds of members, mixed scores) and ``z:lex`` (hundreds, all scored 0).
Lexicographic ranges go only to the shared keys and ``z:lex``: over mixed scores a skiplist's
answer depends on its random levels. -0 is scored only on the shared keys: a listpack stores it
as 0, a skiplist keeps it, and Redis keeps a set a skiplist once it grew one. SORT, too, makes a
sorted set a skiplist for good: with the SORT stream in the mix, lexicographic ranges go only to
``z:lex``, and no -0 is scored.

ZRANDMEMBER is compared by shape. ZSCAN is never queued in MULTI (a large set comes in pages;
the harness iterates it to the end), nor sent to ``z:1`` and ``z:2``, which may hold scores of
1e17 and more: a set that grew large and shrank back is a skiplist in Redis, a listpack in
resp-kv, and ZSCAN shows such scores differently.
"""

from __future__ import annotations

import sys

from diffreplies import compare_random_pick

ZKEYS = [b"z:1", b"z:2"]
BIG, LEXKEY = b"z:big", b"z:lex"
MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"f", b"aa", b"ab", b"ba", b"b\x00", b"", b"\x00", b"\xff", b"A", b"Z",
           b"1", b"2", b"10", b"-1", b"1.5", b"m:1", b"m*?", b"\r\n", b"x y", b"hello world"]
SCORES = [b"0", b"1", b"1", b"2", b"2", b"3", b"-1", b"-2", b"5", b"10", b"1.5", b"-0.5", b"0.1", b"+2"]
ODD_SCORES = [b"-0", b"+0", b"0.0", b"-0.0", b"inf", b"-inf", b"+inf", b"Infinity", b"-INF", b"1e3", b"1E3",
              b"0x10", b"0x1p-3", b"-0x1.8p1", b".5", b"5.", b"3.0000000000000001", b"1.7976931348623157e308",
              b"5e-324", b"9007199254740993", b"1e17", b"4611686018427387904", b"-4611686018427387905",
              b"123456789012345678"]
# For the large sets: neither -0 nor integers from 1e17 up, which a listpack and a skiplist show
# differently in ZSCAN (Redis keeps a set that shrank back a skiplist; resp-kv does not).
BIG_SCORES = [b"1.5", b"0.1", b"-0.5", b"inf", b"-inf", b"1e3", b"0x10", b"5e-324", b"3.0000000000000001",
              b"1.7976931348623157e308", b"9007199254740993", b"nan", b"abc"]
BAD_SCORES = [b"nan", b"NaN", b"1e400", b"-1e400", b"1e-400", b"abc", b"", b" 1", b"1 ", b"1e", b"(1", b"1_0",
              b"0x", b"1\x00", b"--1", b"inf1", b"infinit", b"nan(1)"]
NEGATIVE_ZEROS = {b"-0", b"-0.0", b"-0x0p0"}
BOUNDS = [b"-inf", b"+inf", b"inf", b"-inf", b"+inf", b"0", b"1", b"2", b"3", b"5", b"-1", b"(0", b"(1", b"(2", b"(3",
          b"(-1", b"1.5", b"(1.5", b"-0", b"(-0", b"(inf", b"(-inf", b"0x2", b"1e400", b"-1e400", b"", b"(", b" 1",
          b"\t(1", b"1\x00x", b"(2\x00", b"1 ", b"abc", b"nan", b"(nan", b"((1", b"[1", b"-", b"+"]
LEX_BOUNDS = [b"-", b"+", b"-", b"+", b"[a", b"(a", b"[b", b"(b", b"[aa", b"(ab", b"[c", b"(c", b"[e", b"[", b"(",
              b"[\xff", b"(\x00", b"[m", b"[1", b"(10", b"[w1", b"(w2", b"a", b"", b"+x", b"-\x00", b"+\x00z",
              b"-a", b"b"]
OFFSETS = [b"0", b"0", b"1", b"2", b"3", b"-1", b"-5", b"10", b"200", b"9223372036854775807", b"x", b"", b"1.5"]
COUNTS = [b"1", b"2", b"3", b"5", b"0", b"-1", b"-2", b"100", b"9223372036854775807", b"x", b"-0", b"9223372036854775808"]
POP_COUNTS = [b"1", b"1", b"2", b"3", b"0", b"10", b"9223372036854775807", b"-1", b"x", b"", b"1.5",
              b"9223372036854775808"]
MPOP_COUNTS = [b"1", b"2", b"3", b"10", b"9223372036854775807", b"0", b"-1", b"x", b""]
NUMKEYS_BAD = [b"0", b"-1", b"x", b"", b"1.5", b"01", b"9223372036854775808"]
# Only short timeouts (Redis waits that long when there is nothing to pop) or refused ones: never
# 0, nor what rounds up to it ("-0.0001"): that waits for ever.
TIMEOUTS = [b"0.01", b"0.02", b"0.05", b"0.01"]
BAD_TIMEOUTS = [b"-1", b"-0.01", b"x", b"", b"inf", b"-inf", b"nan", b"1e30", b"9223372036854775808", b" 1",
                b"0.01 "]
# No large negative count: Redis would answer that many members (even where WITHSCORES makes it an
# error: the harness may cut WITHSCORES off to test the arity).
RANDOM_COUNTS = [b"0", b"1", b"2", b"3", b"5", b"10", b"100", b"-1", b"-2", b"-5", b"-20", b"9223372036854775807",
                 b"4611686018427387903", b"4611686018427387904", b"-9223372036854775808", b"9223372036854775808",
                 b"x", b"", b"1.5", b" 1", b"+1", b"-0"]
WEIGHTS = [b"1", b"2", b"-1", b"0", b"0.5", b"inf", b"-inf", b"1e3", b"-0", b"nan", b"x", b""]
CURSORS_ZERO = [b"0", b"0", b"0", b"", b"+0", b"-0", b"00", b"0\x00x"]
CURSORS_BAD = [b"x", b" 0", b"0 ", b"1.5", b"-", b"18446744073709551616"]
SCAN_COUNTS = [b"1", b"2", b"3", b"10", b"1000", b"0", b"-1", b"x", b""]
PATTERNS = [b"*", b"?", b"a*", b"*a", b"[a-c]", b"[^a]", b"1*", b"m*", b"\\*", b"", b"**", b"m:*", b"[", b"\x00",
            b"\xff*", b"x y", b"m0[0-4]?"]
JUNK = [b"FOO", b"", b"\x00", b"1"]
LEX_MEMBERS = [b"w%d" % i for i in range(300)] + MEMBERS


class ZSetStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_zadd", 40), ("g_zadd_same_score", 10), ("g_zincrby", 5), ("g_zrem", 5), ("g_zcard", 1.5),
        ("g_zscore", 3), ("g_zmscore", 2), ("g_zrank", 3), ("g_zcount", 3), ("g_zlexcount", 3), ("g_zrange", 10),
        ("g_zrange_old", 8), ("g_zrangestore", 4), ("g_zremrange", 3), ("g_zpop", 4), ("g_zmpop", 3),
        ("g_bzpop", 1.5), ("g_bzmpop", 1.5), ("g_zrandmember", 4), ("g_zsetop", 8), ("g_zsetop_store", 4),
        ("g_zscan", 3), ("g_sadd_for_zsets", 2), ("g_zbig", 6), ("g_zlex", 4),
    ]
    # (SMEMBERS: the sets made for ZUNION and co. are compared as wholes, maybe without the sets streams)
    COMPARE: dict = {b"ZRANDMEMBER": compare_random_pick}
    NOT_IN_TX: tuple[str, ...] = ("g_zscan",)

    # -- words ---------------------------------------------------------------------------------

    def sorting(self) -> bool:
        """Whether SORT is in the mix. SORT makes Redis keep a sorted set a skiplist from then on
        (resp-kv decides from what a set holds now): then no -0 and no lexicographic range on the
        shared keys, which SORT may read."""
        sorting = self.__dict__.get("_zset_sorting")
        if sorting is None:
            streams = getattr(sys.modules.get("diffgen"), "TYPE_STREAMS", ())
            sorting = self._zset_sorting = any(s.__name__ == "SortStreams" for s in streams)
        return sorting

    def lex_key(self) -> bytes:
        """Where a lexicographic range goes: a shared key, or ``z:lex`` (all scores 0)."""
        return LEXKEY if self.sorting() or self.rng.random() < 0.1 else self.key()

    def zmember(self) -> bytes:
        return self.rng.choice(MEMBERS)

    def zmembers(self, lo: int = 1, hi: int = 4) -> list[bytes]:
        return [self.zmember() for _ in range(self.rng.randint(lo, hi))]

    def score(self, negative_zero: bool = True) -> bytes:
        r = self.rng.random()
        if r < 0.75:
            return self.rng.choice(SCORES)
        if r < 0.95:
            score = self.rng.choice(ODD_SCORES)
            return b"1" if score in NEGATIVE_ZEROS and (not negative_zero or self.sorting()) else score
        return self.rng.choice(BAD_SCORES)

    def bound(self) -> bytes:
        return self.rng.choice(BOUNDS)

    def lex_bound(self) -> bytes:
        return self.rng.choice(LEX_BOUNDS)

    def score_range(self, reverse: bool = False) -> list[bytes]:
        """min and max (max first if ``reverse``): mostly in order, around the scores used."""
        if self.rng.random() < 0.35:
            return [self.bound(), self.bound()]
        low, high = sorted(self.rng.choice([-2, -1, 0, 1, 1.5, 2, 3, 5, 10]) for _ in range(2))
        ends = [b"%s%g" % (b"(" if self.rng.random() < 0.3 else b"", x) for x in (low, high)]
        if self.rng.random() < 0.15:
            ends[self.rng.randrange(2)] = self.rng.choice([b"-inf", b"+inf"])
        return ends[::-1] if reverse else ends

    def lex_range(self, reverse: bool = False, members=MEMBERS) -> list[bytes]:
        """min and max (max first if ``reverse``): mostly in order, members or prefixes of them."""
        if self.rng.random() < 0.3:
            return [self.lex_bound(), self.lex_bound()]
        words = sorted(self.rng.choice(members)[:self.rng.choice([1, 2, 9])] for _ in range(2))
        ends = [self.rng.choice([b"[", b"("]) + w for w in words]
        if self.rng.random() < 0.25:
            ends[0] = b"-"
        if self.rng.random() < 0.25:
            ends[1] = b"+"
        return ends[::-1] if reverse else ends

    def rank(self) -> bytes:
        r = self.rng.random()
        if r < 0.7:
            return b"%d" % self.rng.randint(-6, 6)
        return self.index()

    def zkey(self) -> bytes:
        """A shared key mostly, now and then one of the keys where large sets are stored."""
        return self.key() if self.rng.random() < 0.85 else self.rng.choice(ZKEYS + [BIG, LEXKEY])

    def any_side_key(self) -> bytes:
        r = self.rng.random()
        return self.key() if r < 0.7 else self.rng.choice(ZKEYS + [BIG, LEXKEY])

    def limit(self) -> list[bytes]:
        return [self.word(b"LIMIT"), self.rng.choice(OFFSETS), self.rng.choice(COUNTS)]

    # -- adding and removing ---------------------------------------------------------------------

    def g_zadd(self) -> list[bytes]:
        options: list[bytes] = []
        r = self.rng.random()
        if r < 0.35:
            options = [self.rng.choice([b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"])]
        elif r < 0.55:
            options = self.rng.sample([b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"], self.rng.randint(2, 3))
        elif r < 0.57:
            options = [self.rng.choice([b"NX\x00", b"INCRBY", b"X"])]
        incr = b"INCR" in options
        pairs = 1 if incr and self.rng.random() < 0.85 else self.rng.randint(1, 6)
        cmd = [self.word(b"ZADD"), self.key()] + [self.word(o) for o in options]
        for _ in range(pairs):
            cmd += [self.score(), self.zmember()]
        if self.rng.random() < 0.03:
            cmd.append(self.score())  # a score without its member
        return cmd

    def g_zadd_same_score(self) -> list[bytes]:
        """Members of one score: what lexicographic ranges are meant for."""
        score = self.rng.choice([b"0", b"0", b"1", b"1" if self.sorting() else b"-0"])
        cmd = [self.word(b"ZADD"), self.key()]
        for member in self.zmembers(2, 6):
            cmd += [score, member]
        return cmd

    def g_zincrby(self) -> list[bytes]:
        increment = self.score() if self.rng.random() < 0.95 else self.rng.choice([b"nx", b"incr", b"CH"])
        return [self.word(b"ZINCRBY"), self.key(), increment, self.zmember()]

    def g_zrem(self) -> list[bytes]:
        return [self.word(b"ZREM"), self.zkey()] + self.zmembers(1, 4)

    def g_zremrange(self) -> list[bytes]:
        kind = self.rng.choice([b"ZREMRANGEBYRANK", b"ZREMRANGEBYSCORE", b"ZREMRANGEBYLEX"])
        if kind == b"ZREMRANGEBYRANK":
            low, high = self.rank(), self.rank()
        elif kind == b"ZREMRANGEBYSCORE":
            low, high = self.score_range()
        else:
            low, high = self.lex_range()
        key = self.lex_key() if kind == b"ZREMRANGEBYLEX" else self.zkey()
        return [self.word(kind), key, low, high]

    def g_sadd_for_zsets(self) -> list[bytes]:
        """A set, which ZUNION, ZINTER and ZDIFF take (score 1)."""
        return [self.word(b"SADD"), self.key()] + self.zmembers(1, 5)

    # -- reading ---------------------------------------------------------------------------------

    def g_zcard(self) -> list[bytes]:
        return [self.word(b"ZCARD"), self.zkey()]

    def g_zscore(self) -> list[bytes]:
        return [self.word(b"ZSCORE"), self.zkey(), self.zmember()]

    def g_zmscore(self) -> list[bytes]:
        return [self.word(b"ZMSCORE"), self.zkey()] + self.zmembers(1, 4)

    def g_zrank(self) -> list[bytes]:
        return [self.word(self.rng.choice([b"ZRANK", b"ZREVRANK"])), self.zkey(), self.zmember()]

    def g_zcount(self) -> list[bytes]:
        return [self.word(b"ZCOUNT"), self.zkey()] + self.score_range()

    def g_zlexcount(self) -> list[bytes]:
        key = self.lex_key()
        return [self.word(b"ZLEXCOUNT"), key] + self.lex_range(False, LEX_MEMBERS if key == LEXKEY else MEMBERS)

    # -- ranges ----------------------------------------------------------------------------------

    def range_options(self, store: bool) -> tuple[bytes | None, bool, list[bytes]]:
        """ZRANGE's options in a random order: (BYSCORE or BYLEX or None, REV, the words)."""
        kind = self.rng.choice([None, None, b"BYSCORE", b"BYSCORE", b"BYLEX"])
        options: list[list[bytes]] = []
        if kind:
            options.append([self.word(kind)])
        reverse = self.rng.random() < 0.4
        if reverse:
            options.append([self.word(b"REV")])
        if self.rng.random() < (0.5 if kind else 0.1):
            options.append(self.limit())
        if not store and self.rng.random() < (0.5 if kind != b"BYLEX" else 0.08):
            options.append([self.word(b"WITHSCORES")])
        r = self.rng.random()
        if r < 0.03:
            options.append([self.rng.choice(JUNK + [b"BYSCORE", b"BYLEX", b"REV", b"LIMIT", b"WITHSCORES"])])
        elif r < 0.05:
            options.append([self.word(b"LIMIT"), self.rng.choice(OFFSETS)])  # LIMIT without its count
        self.rng.shuffle(options)
        return kind, reverse, [w for o in options for w in o]

    def range_args(self, kind: bytes | None, reverse: bool = False) -> list[bytes]:
        if self.rng.random() < 0.05:  # the other kind's range
            kind = self.rng.choice([None, b"BYSCORE", b"BYLEX"])
        if kind == b"BYSCORE":
            return self.score_range(reverse)
        if kind == b"BYLEX":
            return self.lex_range(reverse)
        return [self.rank(), self.rank()]

    def g_zrange(self) -> list[bytes]:
        kind, reverse, options = self.range_options(store=False)
        key = self.lex_key() if kind == b"BYLEX" else self.zkey()
        return [self.word(b"ZRANGE"), key] + self.range_args(kind, reverse) + options

    def g_zrangestore(self) -> list[bytes]:
        kind, reverse, options = self.range_options(store=True)
        if kind == b"BYLEX" and self.sorting():
            src, dst = LEXKEY, self.rng.choice(ZKEYS)
        elif kind == b"BYLEX" or self.rng.random() < 0.8:
            src, dst = self.key(), self.key()  # small sets only where lexicographic ranges go
        else:
            src, dst = self.rng.choice(ZKEYS + [BIG]), self.rng.choice(ZKEYS)
        if self.rng.random() < 0.03:
            options.append(self.word(b"WITHSCORES"))
        return [self.word(b"ZRANGESTORE"), dst, src] + self.range_args(kind, reverse) + options

    def g_zrange_old(self) -> list[bytes]:
        """ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX, with the options each takes (or not)."""
        name = self.rng.choice([b"ZREVRANGE", b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE", b"ZRANGEBYLEX",
                                b"ZREVRANGEBYLEX"])
        kind = {b"ZREVRANGE": None, b"ZRANGEBYSCORE": b"BYSCORE", b"ZREVRANGEBYSCORE": b"BYSCORE"}.get(name, b"BYLEX")
        options: list[list[bytes]] = []
        if kind != b"BYLEX" and self.rng.random() < 0.5:
            options.append([self.word(b"WITHSCORES")])
        if kind and self.rng.random() < 0.4:
            options.append(self.limit())
        if self.rng.random() < 0.06:
            options.append([self.word(self.rng.choice([b"REV", b"BYSCORE", b"BYLEX", b"WITHSCORES", b"LIMIT"]))])
        self.rng.shuffle(options)
        key = self.lex_key() if kind == b"BYLEX" else self.zkey()
        reverse = name.startswith(b"ZREV")
        return [self.word(name), key] + self.range_args(kind, reverse) + [w for o in options for w in o]

    # -- popping ---------------------------------------------------------------------------------

    def g_zpop(self) -> list[bytes]:
        cmd = [self.word(self.rng.choice([b"ZPOPMIN", b"ZPOPMAX"])), self.zkey()]
        if self.rng.random() < 0.6:
            cmd.append(self.rng.choice(POP_COUNTS))
        if self.rng.random() < 0.03:
            cmd.append(b"1")
        return cmd

    def mpop_tail(self, keys: list[bytes]) -> list[bytes]:
        """numkeys key ... MIN|MAX [COUNT n], now and then wrong."""
        r = self.rng.random()
        numkeys = b"%d" % len(keys) if r < 0.85 else (b"%d" % (len(keys) + self.rng.choice([-1, 1])) if r < 0.92
                                                      else self.rng.choice(NUMKEYS_BAD))
        side = self.word(self.rng.choice([b"MIN", b"MAX"])) if self.rng.random() < 0.95 else self.rng.choice(JUNK)
        cmd = [numkeys] + keys + [side]
        if self.rng.random() < 0.5:
            cmd += [self.word(b"COUNT"), self.rng.choice(MPOP_COUNTS)]
        if self.rng.random() < 0.04:
            cmd.append(self.rng.choice([self.word(b"COUNT"), b"1"] + JUNK))
        return cmd

    def g_zmpop(self) -> list[bytes]:
        return [self.word(b"ZMPOP")] + self.mpop_tail([self.zkey() for _ in range(self.rng.randint(1, 3))])

    def timeout(self) -> bytes:
        return self.rng.choice(TIMEOUTS if self.rng.random() < 0.8 else BAD_TIMEOUTS)

    def g_bzpop(self) -> list[bytes]:
        keys = [self.zkey() for _ in range(self.rng.randint(1, 3))]
        return [self.word(self.rng.choice([b"BZPOPMIN", b"BZPOPMAX"]))] + keys + [self.timeout()]

    def g_bzmpop(self) -> list[bytes]:
        keys = [self.zkey() for _ in range(self.rng.randint(1, 3))]
        return [self.word(b"BZMPOP"), self.timeout()] + self.mpop_tail(keys)

    def g_zrandmember(self) -> list[bytes]:
        cmd = [self.word(b"ZRANDMEMBER"), self.zkey()]
        r = self.rng.random()
        if r < 0.8:
            cmd.append(self.rng.choice(RANDOM_COUNTS))
            if self.rng.random() < 0.5:
                cmd.append(self.word(b"WITHSCORES") if self.rng.random() < 0.9 else
                           self.rng.choice([b"WITHSCORE", b"WITHSCORES\x00x", b"FOO"]))
            if self.rng.random() < 0.03:
                cmd.append(self.word(b"WITHSCORES"))
        return cmd

    # -- union, intersection, difference -----------------------------------------------------------

    def setop_tail(self, name: bytes, store: bool) -> list[bytes]:
        keys = [self.any_side_key() if store else self.zkey() for _ in range(self.rng.randint(1, 3))]
        r = self.rng.random()
        numkeys = b"%d" % len(keys) if r < 0.88 else (b"%d" % (len(keys) + self.rng.choice([-1, 1])) if r < 0.94
                                                      else self.rng.choice(NUMKEYS_BAD))
        options: list[list[bytes]] = []
        combining = name not in (b"ZDIFF", b"ZDIFFSTORE", b"ZINTERCARD")
        if self.rng.random() < (0.4 if combining else 0.05):
            n = len(keys) if self.rng.random() < 0.9 else self.rng.choice([len(keys) - 1, len(keys) + 1])
            options.append([self.word(b"WEIGHTS")] + [self.rng.choice(WEIGHTS[:8] if self.rng.random() < 0.9
                                                                      else WEIGHTS) for _ in range(max(n, 0))])
        if self.rng.random() < (0.4 if combining else 0.05):
            options.append([self.word(b"AGGREGATE"), self.word(self.rng.choice([b"SUM", b"MIN", b"MAX", b"SUM",
                                                                               b"MIN", b"MAX", b"AVG"]))])
        if self.rng.random() < (0.5 if not store and name != b"ZINTERCARD" else 0.05):
            options.append([self.word(b"WITHSCORES")])
        if self.rng.random() < (0.5 if name == b"ZINTERCARD" else 0.03):
            options.append([self.word(b"LIMIT"), self.rng.choice([b"0", b"1", b"2", b"5", b"-1", b"x"])])
        if self.rng.random() < 0.03:
            options.append([self.rng.choice(JUNK)])
        self.rng.shuffle(options)
        return [numkeys] + keys + [w for o in options for w in o]

    def g_zsetop(self) -> list[bytes]:
        name = self.rng.choice([b"ZUNION", b"ZINTER", b"ZDIFF", b"ZINTERCARD"])
        return [self.word(name)] + self.setop_tail(name, store=False)

    def g_zsetop_store(self) -> list[bytes]:
        name = self.rng.choice([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"])
        return [self.word(name), self.rng.choice(ZKEYS)] + self.setop_tail(name, store=True)

    # -- ZSCAN -------------------------------------------------------------------------------------

    def g_zscan(self) -> list[bytes]:
        cursor = self.rng.choice(CURSORS_ZERO if self.rng.random() < 0.9 else CURSORS_BAD)
        options: list[list[bytes]] = []
        if self.rng.random() < 0.4:
            options.append([self.word(b"MATCH"), self.rng.choice(PATTERNS)])
        if self.rng.random() < 0.4:
            options.append([self.word(b"COUNT"), self.rng.choice(SCAN_COUNTS)])
        if self.rng.random() < 0.04:
            options.append([self.rng.choice(JUNK + [b"TYPE", b"COUNT", b"MATCH"])])
        self.rng.shuffle(options)
        key = self.key() if self.rng.random() < 0.85 else self.rng.choice([BIG, LEXKEY])  # (not z:1, z:2)
        return [self.word(b"ZSCAN"), key, cursor] + [w for o in options for w in o]

    # -- the large sets ------------------------------------------------------------------------------

    def g_zbig(self) -> list[bytes]:
        """``z:big``: hundreds of members of mixed scores (never -0): adds, reads, pops."""
        r = self.rng.random()
        if r < 0.35:
            cmd = [self.word(b"ZADD"), BIG]
            start = self.rng.randrange(300)
            for i in range(self.rng.randint(20, 80)):
                cmd += [b"%d" % self.rng.randint(-20, 20) if self.rng.random() < 0.9 else self.rng.choice(BIG_SCORES),
                        b"m%03d" % ((start + i) % 300)]
            return cmd
        if r < 0.45:
            return [self.word(b"ZRANGE"), BIG, self.rank(), self.rank()] + (
                [self.word(b"WITHSCORES")] if self.rng.random() < 0.5 else [])
        if r < 0.55:
            name = self.rng.choice([b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE"])
            return [self.word(name), BIG] + self.score_range(name == b"ZREVRANGEBYSCORE") + (
                self.limit() if self.rng.random() < 0.5 else [])
        if r < 0.62:
            return [self.word(b"ZCOUNT"), BIG] + self.score_range()
        if r < 0.7:
            return [self.word(self.rng.choice([b"ZRANK", b"ZREVRANK", b"ZSCORE"])), BIG,
                    b"m%03d" % self.rng.randrange(300)]
        if r < 0.76:
            return [self.word(self.rng.choice([b"ZPOPMIN", b"ZPOPMAX"])), BIG, self.rng.choice(POP_COUNTS)]
        if r < 0.8:
            return [self.word(b"ZREMRANGEBYRANK"), BIG, self.rank(), self.rank()]
        if r < 0.86:
            return [self.word(b"ZINCRBY"), BIG, self.rng.choice(SCORES), b"m%03d" % self.rng.randrange(300)]
        if r < 0.92:
            return [self.word(b"ZRANGESTORE"), self.rng.choice(ZKEYS), BIG, self.rank(), self.rank()]
        return [self.word(self.rng.choice([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"])), self.rng.choice(ZKEYS),
                b"2", BIG, self.rng.choice([self.key(), LEXKEY] + ZKEYS)]

    def g_zlex(self) -> list[bytes]:
        """``z:lex``: hundreds of members all scored 0: lexicographic ranges over a large set."""
        r = self.rng.random()
        if r < 0.3:
            cmd = [self.word(b"ZADD"), LEXKEY]
            start = self.rng.randrange(300)
            for i in range(self.rng.randint(20, 80)):
                cmd += [b"0", b"w%d" % ((start + i) % 300) if self.rng.random() < 0.9 else self.zmember()]
            return cmd
        if r < 0.55:
            name = self.rng.choice([b"ZRANGEBYLEX", b"ZREVRANGEBYLEX"])
            return [self.word(name), LEXKEY] + self.lex_range(name == b"ZREVRANGEBYLEX", LEX_MEMBERS) + (
                self.limit() if self.rng.random() < 0.5 else [])
        if r < 0.7:
            reverse = self.rng.random() < 0.5
            return [self.word(b"ZRANGE"), LEXKEY] + self.lex_range(reverse, LEX_MEMBERS) + [self.word(b"BYLEX")] + (
                [self.word(b"REV")] if reverse else []) + (self.limit() if self.rng.random() < 0.5 else [])
        if r < 0.82:
            return [self.word(b"ZLEXCOUNT"), LEXKEY] + self.lex_range(False, LEX_MEMBERS)
        if r < 0.9:
            return [self.word(b"ZREMRANGEBYLEX"), LEXKEY] + self.lex_range(False, LEX_MEMBERS)
        return [self.word(b"ZRANGESTORE"), self.rng.choice(ZKEYS), LEXKEY] + self.lex_range(False, LEX_MEMBERS) + [
            self.word(b"BYLEX")]
