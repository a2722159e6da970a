"""Random lists commands for the differential test (mixed into diffgen.Generator, whose
``rng``, ``key()``, ``keys()``, ``value()``, ``integer()``, ``word()`` and ``index()`` they use).

Elements come mostly from a small pool, so LINSERT, LREM and LPOS find their pivots and
matches. Blocking commands get only short timeouts (redis-server really blocks: 1 to 50 ms) or
invalid ones outside MULTI; inside MULTI (``in_tx``), where Redis never blocks, also 0, a
timeout that rounds to 0 ms (for ever) and huge valid ones.
"""

from __future__ import annotations

ELEMENTS = [b"a", b"b", b"c", b"", b"1", b"-1", b"\x00", b"a\r\n", b"x" * 70]
LIST_INDEXES = [b"0", b"1", b"2", b"3", b"-1", b"-2", b"-3", b"-10", b"10", b"9223372036854775807",
                b"-9223372036854775808", b"9223372036854775808", b"-9223372036854775809", b"x", b"", b"1.0",
                b" 1", b"+1", b"01", b"-0"]
POP_COUNTS = [b"0", b"1", b"2", b"3", b"5", b"100", b"9223372036854775807"]
BAD_COUNTS = [b"-1", b"x", b"", b"1.5", b"9223372036854775808", b"-9223372036854775808", b"01", b" 1"]
LPOS_RANKS = [b"1", b"2", b"3", b"-1", b"-2", b"-3", b"9223372036854775807", b"-9223372036854775807",
              b"-9223372036854775808"]
LPOS_COUNTS = [b"0", b"1", b"2", b"3", b"10", b"9223372036854775807"]
LPOS_MAXLENS = [b"0", b"1", b"2", b"3", b"5", b"9223372036854775807"]
BAD_LPOS_NUMBERS = [b"0", b"-1", b"x", b"", b"9223372036854775808", b"-9223372036854775808", b"1.0"]
LREM_COUNTS = [b"0", b"1", b"2", b"-1", b"-2", b"5", b"-5", b"9223372036854775807", b"-9223372036854775808",
               b"x", b"", b"1.0", b"9223372036854775808"]
NUMKEYS = [b"0", b"-1", b"x", b"", b"9223372036854775807", b"9223372036854775806", b"01"]
SIDES = [b"LEFT", b"RIGHT"]
BAD_SIDES = [b"MIDDLE", b"", b"LEF", b"LEFT\x00", b"BEFORE"]
# Timeouts redis-server answers at once or after a few ms, outside MULTI too.
SHORT_TIMEOUTS = [b"0.01", b"0.02", b"0.05", b"0.001", b".03", b"1e-2", b"0.0001", b"1e-400", b"0x0.04"]
BAD_TIMEOUTS = [b"x", b"", b"-1", b"-0.5", b"-0.002", b"inf", b"-inf", b"+inf", b"nan", b"1e30", b" 1", b"1 ",
                b"9223372036854775.808", b"9223372036854776", b"9223372036854775807", b"1e309", b"-9223372036854775808",
                b"0.01x"]
# Only inside MULTI: each of these would block (for ever, or for ages) outside it (-0.001
# too: in long double, ceil(-0.001 * 1000) is 0).
TX_TIMEOUTS = [b"0", b"-0.0001", b"-0.001", b"-0", b"9223372036854775", b"9223372036854775.807", b"1", b"100"]


class ListStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_lpush", 16), ("g_lpop", 3), ("g_llen", 1), ("g_lrange", 3), ("g_lindex", 2), ("g_lset", 2),
        ("g_linsert", 2), ("g_lrem", 2), ("g_ltrim", 1.2), ("g_lpos", 3), ("g_lmove", 2), ("g_lmpop", 2),
        ("g_list_blocking", 2.5),
    ]  # (generator method, weight)
    COMPARE: dict = {}  # every lists reply is deterministic: compared byte for byte
    NOT_IN_TX: tuple[str, ...] = ()  # generator methods never used inside MULTI

    # -- words ---------------------------------------------------------------------------------

    def list_key(self) -> bytes:
        """Mostly a key pushed to lately (likely a list still), else any key (maybe missing or
        of another type)."""
        recent = getattr(self, "recent_lists", None)
        if recent and self.rng.random() < 0.85:
            key = self.rng.choice(recent)
            if self.rng.random() < 0.08:  # forget it now and then: it may hold a string by now
                recent.remove(key)
            return key
        return self.key()

    def list_keys(self, lo: int = 1, hi: int = 3) -> list[bytes]:
        return [self.list_key() if self.rng.random() < 0.5 else self.key() for _ in range(self.rng.randint(lo, hi))]

    def pushed_to(self, key: bytes) -> None:
        recent = self.__dict__.setdefault("recent_lists", [])
        if key not in recent:
            recent.append(key)
            del recent[:-3]

    def number(self, good: list[bytes], bad: list[bytes], p_bad: float = 0.1) -> bytes:
        return self.rng.choice(bad if self.rng.random() < p_bad else good)

    def element(self) -> bytes:
        return self.rng.choice(ELEMENTS) if self.rng.random() < 0.75 else self.value()

    def elements(self, lo: int = 1, hi: int = 6) -> list[bytes]:
        return [self.element() for _ in range(self.rng.randint(lo, hi))]

    def list_index(self) -> bytes:
        if self.rng.random() < 0.7:
            return b"%d" % self.rng.randint(-8, 8)
        return self.rng.choice(LIST_INDEXES) if self.rng.random() < 0.8 else self.index()

    def side(self) -> bytes:
        if self.rng.random() < 0.04:
            return self.rng.choice(BAD_SIDES)
        return self.word(self.rng.choice(SIDES))

    def timeout(self) -> bytes:
        r = self.rng.random()
        if self.in_tx and r < 0.3:
            return self.rng.choice(TX_TIMEOUTS)
        if r < 0.85:
            return self.rng.choice(SHORT_TIMEOUTS)
        return self.rng.choice(BAD_TIMEOUTS)

    def mpop_tail(self, keys: list[bytes]) -> list[bytes]:
        """``numkeys key ... LEFT|RIGHT [COUNT n]`` of LMPOP and BLMPOP, sometimes wrong."""
        numkeys = b"%d" % len(keys)
        r = self.rng.random()
        if r < 0.04:
            numkeys = self.rng.choice(NUMKEYS)
        elif r < 0.08:  # one off: a key is read as LEFT/RIGHT, or LEFT/RIGHT as a key
            numkeys = b"%d" % (len(keys) + self.rng.choice([-1, 1]))
        tail = [numkeys] + keys + [self.side()]
        r = self.rng.random()
        if r < 0.5:
            tail += [self.word(b"COUNT"), self.number(POP_COUNTS[1:], [b"0"] + BAD_COUNTS)]
        elif r < 0.53:
            tail += [self.word(b"COUNT")]  # no count follows
        elif r < 0.56:
            tail += [self.word(b"COUNT"), b"2", self.word(b"COUNT"), b"1"]
        elif r < 0.59:
            tail += [self.rng.choice([b"FOO", b"2", b"LEFT"])]
        return tail

    # -- commands --------------------------------------------------------------------------------

    def g_lpush(self) -> list[bytes]:
        kind = self.rng.choices([b"LPUSH", b"RPUSH", b"LPUSHX", b"RPUSHX"], [4, 4, 1, 1])[0]
        key = self.list_key() if self.rng.random() < 0.6 else self.key()
        if not self.in_tx and not kind.endswith(b"X"):
            self.pushed_to(key)
        return [self.word(kind), key] + self.elements()

    def g_lpop(self) -> list[bytes]:
        cmd = [self.word(self.rng.choice([b"LPOP", b"RPOP"])), self.list_key()]
        r = self.rng.random()
        if r < 0.5:
            cmd.append(self.number(POP_COUNTS, BAD_COUNTS, 0.15))
        elif r < 0.53:
            cmd += [b"1", b"1"]  # too many arguments: LPOP's own arity error
        return cmd

    def g_llen(self) -> list[bytes]:
        return [self.word(b"LLEN"), self.list_key()]

    def g_lrange(self) -> list[bytes]:
        if self.rng.random() < 0.3:
            return [self.word(b"LRANGE"), self.list_key(), b"0", b"-1"]
        return [self.word(b"LRANGE"), self.list_key(), self.list_index(), self.list_index()]

    def g_lindex(self) -> list[bytes]:
        return [self.word(b"LINDEX"), self.list_key(), self.list_index()]

    def g_lset(self) -> list[bytes]:
        index = b"%d" % self.rng.randint(-4, 3) if self.rng.random() < 0.6 else self.list_index()
        return [self.word(b"LSET"), self.list_key(), index, self.element()]

    def g_linsert(self) -> list[bytes]:
        where = self.word(self.rng.choice([b"BEFORE", b"AFTER"])) if self.rng.random() < 0.95 else \
            self.rng.choice([b"BEHIND", b"", b"LEFT", b"AFTER\x00x"])
        return [self.word(b"LINSERT"), self.list_key(), where, self.element(), self.element()]

    def g_lrem(self) -> list[bytes]:
        count = b"%d" % self.rng.randint(-3, 3) if self.rng.random() < 0.75 else self.rng.choice(LREM_COUNTS)
        return [self.word(b"LREM"), self.list_key(), count, self.element()]

    def g_ltrim(self) -> list[bytes]:
        return [self.word(b"LTRIM"), self.list_key(), self.list_index(), self.list_index()]

    def g_lpos(self) -> list[bytes]:
        opts: list[list[bytes]] = []
        if self.rng.random() < 0.5:
            opts.append([self.word(b"RANK"), self.number(LPOS_RANKS, BAD_LPOS_NUMBERS, 0.06)])
        if self.rng.random() < 0.5:
            opts.append([self.word(b"COUNT"), self.number(LPOS_COUNTS, BAD_LPOS_NUMBERS[1:], 0.06)])
        if self.rng.random() < 0.35:
            opts.append([self.word(b"MAXLEN"), self.number(LPOS_MAXLENS, BAD_LPOS_NUMBERS[1:], 0.06)])
        if self.rng.random() < 0.08:  # an option twice: the last one counts
            opts.append([self.word(self.rng.choice([b"RANK", b"COUNT", b"MAXLEN"])), self.rng.choice([b"1", b"2", b"-1"])])
        if self.rng.random() < 0.03:
            opts.append([self.rng.choice([b"FOO", b"1", b"RANKS"])])
        self.rng.shuffle(opts)
        cmd = [self.word(b"LPOS"), self.list_key(), self.element()] + [w for o in opts for w in o]
        if self.rng.random() < 0.03:
            cmd.append(self.word(self.rng.choice([b"RANK", b"COUNT", b"MAXLEN"])))  # no value follows
        return cmd

    def g_lmove(self) -> list[bytes]:
        source, target = self.list_key(), self.list_key() if self.rng.random() < 0.5 else self.key()
        if not self.in_tx:
            self.pushed_to(target)
        if self.rng.random() < 0.3:
            return [self.word(b"RPOPLPUSH"), source, target]
        return [self.word(b"LMOVE"), source, target, self.side(), self.side()]

    def g_lmpop(self) -> list[bytes]:
        return [self.word(b"LMPOP")] + self.mpop_tail(self.list_keys())

    def g_list_blocking(self) -> list[bytes]:
        kind = self.rng.choice([b"BLPOP", b"BRPOP", b"BLMOVE", b"BRPOPLPUSH", b"BLMPOP"])
        if kind in (b"BLPOP", b"BRPOP"):
            return [self.word(kind)] + self.list_keys() + [self.timeout()]
        if kind == b"BLMOVE":
            return [self.word(kind), self.list_key(), self.key(), self.side(), self.side(), self.timeout()]
        if kind == b"BRPOPLPUSH":
            return [self.word(kind), self.list_key(), self.key(), self.timeout()]
        return [self.word(kind), self.timeout()] + self.mpop_tail(self.list_keys())
