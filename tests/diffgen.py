"""Seeded random command streams for the differential test against redis-server, and the rules
that compare two servers' raw replies and data. No sockets here (the test drives the servers).

* ``generate(seed, n, now_ms)`` -> ``n`` commands, each a list of bytes, from
  ``random.Random(seed)``: string, key-space and expiry commands over eight keys and databases 0-3,
  with edge arguments (empty and binary values, overflowing integers, odd floats, bad indexes,
  wrong arity, unknown options, option case variants). Absolute times are ``now_ms`` plus or
  minus an offset, so a replay at another time differs only in those numbers.
* No command races the clock: a relative time is either <= 0 or >= 100 s, and every future
  expiry instant a stream names is at least 100 s away from every other one, unless it is the
  same absolute time again (equal on both servers). So NX/XX/GT/LT decide alike on both servers
  as long as the stream runs within ~90 s of ``now_ms``.
* A stream is a list of steps ``(conn, cmd)``: ``conn`` is ``A`` (0, the main connection) or ``B``
  (1, a second connection to the same server, for WATCH races). Besides single commands it holds
  scenarios of several steps: transactions (MULTI ... EXEC/DISCARD with queue-time errors, runtime
  errors, SELECT, nested MULTI, WATCH inside MULTI), WATCH races (A watches, B or A writes, expires
  with a past absolute time, flushes or swaps, or not; A may UNWATCH; A runs MULTI ... EXEC), stray
  EXEC/DISCARD/WATCH/UNWATCH, and LCS over small-alphabet strings. A scenario is never cut: a
  stream may run a few steps past ``n``.
* ``compare(cmd, a, b)`` -> None if the raw replies ``a`` (redis) and ``b`` (resp-kv) agree, else why
  not: byte for byte, except TTL-like replies (a tolerance) and KEYS (a sorted multiset).
  ``compare_exec(queued, a, b)`` compares EXEC replies element by element with the same rules.
"""

from __future__ import annotations

import os
import random

from diffgen_bits import BitStreams
from diffgen_dumps import DumpStreams
from diffgen_geo import GeoStreams
from diffgen_hashes import HashStreams
from diffgen_hyperloglog import HyperLogLogStreams
from diffgen_lists import ListStreams
from diffgen_scripts import ScriptStreams
from diffgen_sets import SetStreams
from diffgen_sort import SortStreams
from diffgen_zsets import ZSetStreams
from diffreplies import array_items, parse  # noqa: F401 (re-exported for the test)

Command = list[bytes]
Step = tuple[int, Command]  # (connection, command)
A, B = 0, 1  # the main connection and the second one
CONN_NAMES = "AB"

# Eight keys: globbing characters, an empty key and a binary one among them.
KEYS = [b"a", b"b", b"c", b"ab", b"k:1", b"k:22", b"", b"\x00\xff*?"]
DBS = [b"0", b"1", b"2", b"3"]
BAD_DBS = [b"-1", b"16", b"x", b"", b"01", b" 1", b"1.0", b"9223372036854775808"]

INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
VALUES = [b"", b"v", b"hello world", b"\x00\r\n\xff", b"\r\n", b"0", b"1", b"-1", b"10", b"-0", b"007", b"+1",
          b" 1", b"1 ", b"1.5", b"1e3", b"inf", b"nan", b"abc", b"9223372036854775806",
          b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808", b"3.0000000000000001",
          b"1.7976931348623157e308", b"k:1", b"\xe2\x82\xac"]
INTEGERS = [b"0", b"1", b"-1", b"2", b"100", b"-100", b"9223372036854775807", b"-9223372036854775808",
            b"9223372036854775806", b"-9223372036854775807", b"9223372036854775808", b"-9223372036854775809",
            b"4611686018427387904", b"1.5", b"", b" 1", b"1 ", b"+5", b"007", b"-0", b"x", b"1e3", b"0x10"]
FLOATS = [b"1", b"-1.5", b"0.1", b"1e3", b"1E3", b"-1e-3", b"inf", b"-inf", b"+inf", b"Infinity", b"nan", b"-0",
          b"0", b" 1", b"1 ", b"", b"0x10", b"1.7976931348623157e308", b"1e309", b"5e-324", b"3.0000000000000001",
          b"10.50", b"abc", b"1e", b".5", b"5.", b"9223372036854775807", b"-9223372036854775808", b"1_0"]
INDEXES = [b"0", b"1", b"2", b"5", b"100", b"-1", b"-2", b"-5", b"-100", b"9223372036854775807",
           b"-9223372036854775808"]
BAD_INDEXES = [b"9223372036854775808", b"x", b"1.5", b"", b" 1", b"+1", b"-0"]
PATTERNS = [b"*", b"?", b"??", b"a*", b"*b", b"[a-c]", b"[c-a]", b"[^a]", b"[!a]", b"[abc]", b"k:*", b"k:?",
            b"k:[0-9]*", b"k:[^1]*", b"\\*", b"*\\?", b"\x00*", b"\x00\xff\\*\\?", b"\x00\xff*?", b"[", b"[a",
            b"a[", b"\\", b"*[", b"", b"[\\]]", b"**", b"*a*b*", b"[]", b"[-]", b"a\\b", b"A", b"[A-Z]"]
TYPES = [b"string", b"STRING", b"list", b"hash", b"set", b"zset", b"stream", b"none", b"foo", b""]
JUNK = [b"FOO", b"extra", b"", b"1x", b"\x00"]  # never a number: after a bare EX it would be a time
UNKNOWN = [b"FOO", b"GETT", b"SETX", b"MULTIX", b"EXECUTE", b""]  # command names Redis does not know
MIN_MATCH_LENS = [b"0", b"1", b"2", b"3", b"4", b"6", b"10", b"-1", b"x", b"", b"1.5", b" 2",
                  b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808"]

RELATIVE_SPACING = 100  # seconds between any two future expiry instants of a stream
TTL_TOLERANCE_MS = {b"TTL": 2000, b"PTTL": 1500, b"EXPIRETIME": 2000, b"PEXPIRETIME": 1500}


def name(cmd: Command) -> bytes:
    return cmd[0].upper() if cmd else b""


def show(cmd: Command, limit: int = 300) -> str:
    """A command for people: its words, each as a Python bytes literal."""
    def word(a: bytes) -> str:
        plain = a and all(33 <= c < 127 for c in a) and b"'" not in a and b'"' not in a and b"\\" not in a
        return a.decode() if plain else repr(a)[1:]

    text = " ".join(word(a) for a in cmd)
    return text if len(text) <= limit else text[:limit] + f"...({len(text)} chars)"


def compare_ttl(kind: bytes, a: bytes, b: bytes) -> str | None:
    """TTL-like replies: negative codes exactly, remaining times within a tolerance."""
    x, y = parse(a), parse(b)
    if not (isinstance(x, int) and isinstance(y, int)):
        return None if a == b else "replies differ"
    if x < 0 or y < 0:
        return None if x == y else "replies differ"
    tolerance = TTL_TOLERANCE_MS[kind]
    if kind in (b"TTL", b"EXPIRETIME"):
        tolerance //= 1000
    return None if abs(x - y) <= tolerance else f"{kind.decode()} differs by more than {tolerance}"


def compare_keys(a: bytes, b: bytes) -> str | None:
    """KEYS replies as multisets; anything but two arrays byte for byte."""
    x, y = parse(a), parse(b)
    if not (isinstance(x, list) and isinstance(y, list)):
        return None if a == b else "replies differ"
    return None if sorted(x) == sorted(y) else "different keys"


def compare_exec(queued: list[Command], a: bytes, b: bytes) -> str | None:
    """EXEC's replies: the same shape, and each queued command's reply compared as on its own."""
    if a == b:
        return None
    x, y = array_items(a), array_items(b)
    if x is None or y is None or len(x) != len(y) or len(x) != len(queued):
        return "replies differ"
    for i, (cmd, want, got) in enumerate(zip(queued, x, y)):
        reason = compare(cmd, want, got)
        if reason:
            return (f"EXEC reply element {i} (for {show(cmd, 120)}): {reason}: redis {want[:200]!r}, "
                    f"resp-kv {got[:200]!r}")
    return None


def compare(cmd: Command, a: bytes, b: bytes) -> str | None:
    """None if reply ``a`` (the reference) and ``b`` agree for ``cmd``, else a short reason.

    SCAN and RANDOMKEY need more round trips; the test compares those itself."""
    kind = name(cmd)
    if kind in TTL_TOLERANCE_MS:
        return compare_ttl(kind, a, b)
    if kind == b"KEYS":
        return compare_keys(a, b)
    rule = COMPARE_RULES.get(kind)
    if rule is not None:
        return rule(cmd, a, b)
    return None if a == b else "replies differ"


ALL_TYPE_STREAMS = {"hashes": HashStreams, "lists": ListStreams, "sets": SetStreams, "zsets": ZSetStreams,
                    "sort": SortStreams, "scripts": ScriptStreams, "bits": BitStreams,
                    "hyperloglog": HyperLogLogStreams, "geo": GeoStreams, "dumps": DumpStreams}
# RESP_KV_DIFF_TYPES=hashes,sets: only those types' commands join the stream (default: all).
TYPE_STREAMS = tuple(ALL_TYPE_STREAMS[t] for t in os.environ.get("RESP_KV_DIFF_TYPES", ",".join(ALL_TYPE_STREAMS)).split(",")
                     if t)
# Per-type reply rules (an unspecified order, a random pick): command name -> rule(cmd, a, b). All
# of them, whatever types a stream uses: the data check reads every type back.
COMPARE_RULES = {name_: rule for streams in ALL_TYPE_STREAMS.values() for name_, rule in streams.COMPARE.items()}


class Generator(HashStreams, ListStreams, SetStreams, ZSetStreams, SortStreams, ScriptStreams, BitStreams,
                HyperLogLogStreams, GeoStreams, DumpStreams):
    """One stream's worth of random commands; ``next()`` returns the next one. The string, key and
    transaction commands are here; each type's are in its mixin (diffgen_<type>.py), which lists
    them in ``FAMILIES`` (method name, weight) and its reply rules in ``COMPARE``."""

    def __init__(self, seed: int, now_ms: int):
        self.rng = random.Random(seed)
        self.now_ms = int(now_ms)
        self.now_s = self.now_ms // 1000
        self.used_slots: set[int] = set()
        self.abs_slots: list[int] = []  # slots already named as absolute times: may be named again
        # A key may hold an expiry time already in the past (SET ... EXAT <past>): Redis still
        # counts such a key in DBSIZE until it notices, so no DBSIZE until the next FLUSHALL.
        self.lingering = False
        self.named_past = False  # the command being made names an absolute time in the past
        families = [
            (self.g_set, 12), (self.g_get, 5), (self.g_setnx, 1), (self.g_setex, 2), (self.g_getset, 1),
            (self.g_getdel, 1), (self.g_getex, 4), (self.g_mget, 2), (self.g_mset, 2), (self.g_append, 2),
            (self.g_strlen, 1), (self.g_getrange, 2), (self.g_setrange, 2), (self.g_incr, 2), (self.g_incrby, 3),
            (self.g_incrbyfloat, 3),
            (self.g_del, 2), (self.g_exists, 2), (self.g_type, 1), (self.g_rename, 2), (self.g_copy, 2),
            (self.g_move, 1), (self.g_touch, 1), (self.g_randomkey, 1), (self.g_keys, 2), (self.g_scan, 2),
            (self.g_dbsize, 1), (self.g_flushdb, 0.6), (self.g_flushall, 0.25), (self.g_swapdb, 1),
            (self.g_select, 3),
            (self.g_expire, 7), (self.g_ttl, 4), (self.g_persist, 1),
            (self.g_lcs, 2),
        ]
        for streams in TYPE_STREAMS:
            families += [(getattr(self, method), weight) for method, weight in streams.FAMILIES]
        self.families = [f for f, _ in families]
        self.weights = [w for _, w in families]
        # Inside MULTI: not SCAN nor RANDOMKEY, nor a type's NOT_IN_TX (their checks need more
        # round trips, or the harness must follow what they did).
        outside = {self.g_scan, self.g_randomkey}
        for streams in TYPE_STREAMS:
            outside |= {getattr(self, method) for method in streams.NOT_IN_TX}
        self.tx_families = [f for f, _ in families if f not in outside]
        self.tx_weights = [w for f, w in families if f not in outside]
        self.in_tx = False  # making commands that are queued (they may never run)

    # -- words ---------------------------------------------------------------------------------

    def word(self, w: bytes) -> bytes:
        """A command or option name, usually as written, sometimes in another case."""
        r = self.rng.random()
        if r < 0.8:
            return w
        if r < 0.9:
            return w.lower()
        return bytes(c ^ 0x20 if chr(c).isalpha() and self.rng.random() < 0.5 else c for c in w)

    def key(self) -> bytes:
        return self.rng.choice(KEYS)

    def keys(self, lo: int = 1, hi: int = 4) -> list[bytes]:
        return [self.key() for _ in range(self.rng.randint(lo, hi))]

    def value(self) -> bytes:
        r = self.rng.random()
        if r < 0.2:
            return b"%d" % self.rng.randint(-100, 100)
        if r < 0.65:
            return self.rng.choice(VALUES)
        if r < 0.77:
            return self.alpha()
        if r < 0.9:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 20)))
        return bytes([self.rng.choice(b"xyz")]) * self.rng.randint(30, 300)

    def alpha(self) -> bytes:
        """A string of a few to a few dozen bytes over a small alphabet (LCS finds matches)."""
        letters = self.rng.choice([b"ab", b"abc", b"ACGT", b"xyz"])
        return bytes(self.rng.choice(letters) for _ in range(self.rng.randint(1, 40)))

    def integer(self) -> bytes:
        if self.rng.random() < 0.3:
            return b"%d" % self.rng.randint(-1000, 1000)
        return self.rng.choice(INTEGERS)

    def db(self) -> bytes:
        r = self.rng.random()
        if r < 0.85:
            return self.rng.choice(DBS)
        if r < 0.9:
            return b"15"
        return self.rng.choice(BAD_DBS)

    # -- times ---------------------------------------------------------------------------------

    def _fresh_slot(self) -> int:
        while True:
            slot = self.rng.randrange(1, 3000)
            if slot not in self.used_slots:
                self.used_slots.add(slot)
                return slot

    def _future_offset_s(self, absolute: bool) -> int:
        """Seconds from now to a future instant at least RELATIVE_SPACING from any other used."""
        if absolute and self.abs_slots and self.rng.random() < 0.3:
            slot = self.rng.choice(self.abs_slots)  # the very same instant again: compares equal
        else:
            slot = self._fresh_slot()
            if absolute:
                self.abs_slots.append(slot)
        return RELATIVE_SPACING * slot

    def rel_time(self, ms: bool) -> bytes:
        """A relative time (seconds, or milliseconds if ``ms``): far future, <= 0, huge or not a number."""
        r = self.rng.random()
        if r < 0.7:
            off = self._future_offset_s(False)
            return b"%d" % (off * 1000 + self.rng.randrange(1000) if ms else off)
        if r < 0.8:
            return self.rng.choice([b"0", b"-1", b"-100", b"-9223372036854775808"])
        if r < 0.9:  # overflow in the unit conversion or when added to now
            return self.rng.choice([b"9223372036854775807", b"9223372036854775", b"9223372036854776",
                                    b"9223372036854775000", b"-9223372036854775", b"-9223372036854776"])
        return self.rng.choice([b"1.5", b"x", b"", b" 100", b"1e3", b"100 ", b"+100", b"0100",
                                b"9223372036854775808"])

    def abs_time(self, ms: bool) -> bytes:
        """An absolute Unix time: future (maybe one named before), past, 0, negative, huge, not a number."""
        r = self.rng.random()
        if r < 0.55:
            off = self._future_offset_s(True)
            return b"%d" % ((self.now_s + off) * 1000 + (off % 997) if ms else self.now_s + off)
        if r < 0.8:
            self.named_past = True
            past = self.rng.choice([1, 100, 86400, self.now_s - 1])
            return b"%d" % ((self.now_s - past) * 1000 if ms else self.now_s - past)
        if r < 0.87:
            return self.rng.choice([b"0", b"-1", b"-9223372036854775808"])
        if r < 0.93:  # huge: valid in ms; in seconds valid or overflowing on the conversion
            return self.rng.choice([b"9223372036854775807", b"9223372036854775000", b"9223372036854775",
                                    b"9223372036854776", b"4611686018427387904"])
        return self.rng.choice([b"1.5", b"x", b"", b" 1", b"1e12"])

    def past_time(self, ms: bool) -> bytes:
        """An absolute Unix time already past (no clock race: it stays past)."""
        past = self.rng.choice([1, 100, 86400, self.now_s - 1])
        return b"%d" % ((self.now_s - past) * 1000 if ms else self.now_s - past)

    def time_option(self, allow_keepttl: bool) -> list[bytes]:
        opt = self.rng.choice([b"EX", b"PX", b"EXAT", b"PXAT"] + ([b"KEEPTTL"] if allow_keepttl else []))
        if opt == b"KEEPTTL":
            return [self.word(opt)]
        value = self.rel_time(opt == b"PX") if opt in (b"EX", b"PX") else self.abs_time(opt == b"PXAT")
        return [self.word(opt), value]

    # -- strings -------------------------------------------------------------------------------

    def g_set(self) -> Command:
        self.named_past = False
        cmd = self._set()
        self.lingering |= self.named_past  # (EXPIREAT and GETEX delete a key whose time has passed)
        return cmd

    def _set(self) -> Command:
        opts: list[list[bytes]] = []
        r = self.rng.random()
        if r < 0.6:
            opts.append(self.time_option(True))
            if self.rng.random() < 0.08:
                opts.append(self.time_option(True))  # two expiry options: a syntax error
        if self.rng.random() < 0.4:
            opts.append([self.word(self.rng.choice([b"NX", b"XX"]))])
            if self.rng.random() < 0.08:
                opts.append([self.word(self.rng.choice([b"NX", b"XX"]))])
        if self.rng.random() < 0.3:
            opts.append([self.word(b"GET")])
        if self.rng.random() < 0.04:
            opts.append([self.rng.choice(JUNK)])
        if self.rng.random() < 0.03:
            opts.append([self.word(self.rng.choice([b"EX", b"PX", b"EXAT", b"PXAT"]))])  # no time follows
        self.rng.shuffle(opts)
        return [self.word(b"SET"), self.key(), self.value()] + [w for o in opts for w in o]

    def g_get(self) -> Command:
        return [self.word(b"GET"), self.key()]

    def g_setnx(self) -> Command:
        return [self.word(b"SETNX"), self.key(), self.value()]

    def g_setex(self) -> Command:
        ms = self.rng.random() < 0.5
        return [self.word(b"PSETEX" if ms else b"SETEX"), self.key(), self.rel_time(ms), self.value()]

    def g_getset(self) -> Command:
        return [self.word(b"GETSET"), self.key(), self.value()]

    def g_getdel(self) -> Command:
        return [self.word(b"GETDEL"), self.key()]

    def g_getex(self) -> Command:
        opts: list[list[bytes]] = []
        for _ in range(self.rng.choice([0, 1, 1, 1, 1, 2])):
            if self.rng.random() < 0.2:
                opts.append([self.word(b"PERSIST")])
            else:
                opts.append(self.time_option(False))
        if self.rng.random() < 0.05:
            opts.append([self.rng.choice(JUNK + [b"KEEPTTL", b"NX"])])
        if self.rng.random() < 0.03:
            opts.append([self.word(self.rng.choice([b"EX", b"PX", b"EXAT", b"PXAT"]))])
        return [self.word(b"GETEX"), self.key()] + [w for o in opts for w in o]

    def g_mget(self) -> Command:
        return [self.word(b"MGET")] + self.keys(1, 5)

    def g_mset(self) -> Command:
        cmd = [self.word(self.rng.choice([b"MSET", b"MSET", b"MSETNX"]))]
        for _ in range(self.rng.randint(1, 3)):
            cmd += [self.key(), self.value()]
        if self.rng.random() < 0.05:
            cmd.append(self.key())  # odd number of arguments
        return cmd

    def g_append(self) -> Command:
        return [self.word(b"APPEND"), self.key(), self.value()]

    def g_strlen(self) -> Command:
        return [self.word(b"STRLEN"), self.key()]

    def g_getrange(self) -> Command:
        return [self.word(self.rng.choice([b"GETRANGE", b"SUBSTR"])), self.key(), self.index(), self.index()]

    def index(self) -> bytes:
        return self.rng.choice(INDEXES if self.rng.random() < 0.9 else BAD_INDEXES)

    def g_setrange(self) -> Command:
        value = self.value()
        offsets = [b"0", b"1", b"3", b"10", b"50", b"-1", b"x", b"1.5", b"", b"536870912", b"9223372036854775808"]
        if not value:  # offsets that would need 512 MB (or overflow in Redis) only with an empty value
            offsets += [b"536870911", b"9223372036854775807"]
        return [self.word(b"SETRANGE"), self.key(), self.rng.choice(offsets), value]

    def g_incr(self) -> Command:
        return [self.word(self.rng.choice([b"INCR", b"DECR"])), self.key()]

    def g_incrby(self) -> Command:
        return [self.word(self.rng.choice([b"INCRBY", b"DECRBY"])), self.key(), self.integer()]

    def g_incrbyfloat(self) -> Command:
        amount = self.rng.choice(FLOATS) if self.rng.random() < 0.8 else b"%.3f" % self.rng.uniform(-100, 100)
        return [self.word(b"INCRBYFLOAT"), self.key(), amount]

    # -- keys ----------------------------------------------------------------------------------

    def g_del(self) -> Command:
        return [self.word(self.rng.choice([b"DEL", b"UNLINK"]))] + self.keys(1, 3)

    def g_exists(self) -> Command:
        return [self.word(self.rng.choice([b"EXISTS", b"EXISTS", b"TOUCH"]))] + self.keys(1, 4)

    def g_touch(self) -> Command:
        return [self.word(b"TOUCH")] + self.keys(1, 3)

    def g_type(self) -> Command:
        return [self.word(b"TYPE"), self.key()]

    def g_rename(self) -> Command:
        return [self.word(self.rng.choice([b"RENAME", b"RENAMENX"])), self.key(), self.key()]

    def g_copy(self) -> Command:
        cmd = [self.word(b"COPY"), self.key(), self.key()]
        opts = []
        if self.rng.random() < 0.5:
            opts.append([self.word(b"DB"), self.db()])
        if self.rng.random() < 0.5:
            opts.append([self.word(b"REPLACE")])
        if self.rng.random() < 0.05:
            opts.append([self.rng.choice(JUNK + [b"DB"])])
        self.rng.shuffle(opts)
        return cmd + [w for o in opts for w in o]

    def g_move(self) -> Command:
        return [self.word(b"MOVE"), self.key(), self.db()]

    def g_randomkey(self) -> Command:
        return [self.word(b"RANDOMKEY")]

    def g_keys(self) -> Command:
        return [self.word(b"KEYS"), self.rng.choice(PATTERNS)]

    def g_scan(self) -> Command:
        """SCAN 0 [MATCH p] [COUNT n] [TYPE t]: the test iterates it to the end (or a bad cursor)."""
        cursor = b"0" if self.rng.random() < 0.93 else self.rng.choice([b"x", b"", b"1x", b" 0", b"1.5"])
        opts = []
        if self.rng.random() < 0.5:
            opts.append([self.word(b"MATCH"), self.rng.choice(PATTERNS)])
        if self.rng.random() < 0.5:
            opts.append([self.word(b"COUNT"), self.rng.choice([b"1", b"2", b"10", b"1000", b"0", b"-1", b"x"])])
        if self.rng.random() < 0.3:
            # Redis 7.0's SCAN ... TYPE none lists a key whose time passed but that its active
            # expiry has not removed yet: not while such a key may exist.
            types = [t for t in TYPES if t.lower() != b"none"] if self.lingering else TYPES
            opts.append([self.word(b"TYPE"), self.rng.choice(types)])
        if self.rng.random() < 0.04:
            opts.append([self.rng.choice(JUNK + [b"MATCH"])])
        self.rng.shuffle(opts)
        return [self.word(b"SCAN"), cursor] + [w for o in opts for w in o]

    def g_dbsize(self) -> Command:
        if self.lingering:
            return self.g_exists()
        return [self.word(b"DBSIZE")]

    def g_flushdb(self) -> Command:
        return [self.word(b"FLUSHDB")] + ([self.word(self.rng.choice([b"ASYNC", b"SYNC", b"FOO"]))]
                                          if self.rng.random() < 0.4 else [])

    def g_flushall(self) -> Command:
        return [self.word(b"FLUSHALL")] + ([self.word(self.rng.choice([b"ASYNC", b"SYNC", b"FOO"]))]
                                           if self.rng.random() < 0.4 else [])

    def g_swapdb(self) -> Command:
        return [self.word(b"SWAPDB"), self.db(), self.db()]

    def g_select(self) -> Command:
        return [self.word(b"SELECT"), self.db() if self.rng.random() < 0.85 else self.rng.choice(BAD_DBS)]

    # -- expiry --------------------------------------------------------------------------------

    def g_expire(self) -> Command:
        kind = self.rng.choice([b"EXPIRE", b"PEXPIRE", b"EXPIREAT", b"PEXPIREAT"])
        ms = kind.startswith(b"P")
        when = self.abs_time(ms) if kind.endswith(b"AT") else self.rel_time(ms)
        opts = []
        r = self.rng.random()
        if r < 0.5:
            opts = [self.rng.choice([b"NX", b"XX", b"GT", b"LT"])]
        elif r < 0.6:  # mostly invalid pairs (NX XX, GT LT, NX GT), and valid XX GT
            opts = self.rng.sample([b"NX", b"XX", b"GT", b"LT"], 2)
        elif r < 0.63:
            opts = [self.rng.choice(JUNK)]
        return [self.word(kind), self.key(), when] + [self.word(o) for o in opts]

    def g_ttl(self) -> Command:
        return [self.word(self.rng.choice([b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME"])), self.key()]

    def g_persist(self) -> Command:
        return [self.word(b"PERSIST"), self.key()]

    # -- the stream ----------------------------------------------------------------------------

    def mutate_arity(self, cmd: Command) -> Command:
        if len(cmd) > 1 and self.rng.random() < 0.6:
            return cmd[: self.rng.randrange(1, len(cmd))]
        return cmd + [self.rng.choice(JUNK + [self.key()])]

    def single(self) -> Command:
        """One command of the families (maybe with a wrong number of arguments)."""
        cmd = self.rng.choices(self.families, self.weights)[0]()
        if self.rng.random() < 0.03:
            cmd = self.mutate_arity(cmd)
        self.ran(cmd)
        return cmd

    def ran(self, cmd: Command) -> None:
        """Bookkeeping for a command that runs now (not one queued in a transaction)."""
        if (not self.in_tx and name(cmd) == b"FLUSHALL"
                and (len(cmd) == 1 or (len(cmd) == 2 and cmd[1].upper() in (b"ASYNC", b"SYNC")))):
            self.lingering = False

    def queued(self) -> Command:
        """A command of the families for inside MULTI (no SCAN, no RANDOMKEY)."""
        return self.rng.choices(self.tx_families, self.tx_weights)[0]()

    # -- transactions ----------------------------------------------------------------------------

    def g_lcs(self) -> Command:
        opts: list[list[bytes]] = []
        if self.rng.random() < 0.3:
            opts.append([self.word(b"LEN")])
        if self.rng.random() < 0.5:
            opts.append([self.word(b"IDX")])
        if self.rng.random() < 0.35:
            opts.append([self.word(b"MINMATCHLEN"), self.rng.choice(MIN_MATCH_LENS)])
        if self.rng.random() < 0.35:
            opts.append([self.word(b"WITHMATCHLEN")])
        if self.rng.random() < 0.04:
            opts.append([self.rng.choice(JUNK + [b"LEN", b"IDX"])])
        self.rng.shuffle(opts)
        cmd = [self.word(b"LCS"), self.key(), self.key()] + [w for o in opts for w in o]
        if self.rng.random() < 0.03:
            cmd.append(self.word(b"MINMATCHLEN"))  # no value follows
        return cmd

    def s_lcs(self) -> list[Step]:
        """Two small-alphabet strings, then LCS over them (sometimes a missing key or the same one)."""
        k1, k2 = self.key(), self.key()
        steps = [(A, [self.word(b"SET"), k1, self.alpha()])]
        if self.rng.random() < 0.85:
            steps.append((A, [self.word(b"SET"), k2, self.alpha()]))
        cmd = self.g_lcs()
        cmd[1:3] = [k1, k2] if self.rng.random() < 0.9 else [k1, self.key()]
        return steps + [(A, cmd)]

    def g_tx_stray(self) -> Command:
        """EXEC/DISCARD without MULTI, WATCH/UNWATCH on their own, bad arities."""
        cmd = self.rng.choice([[b"EXEC"], [b"DISCARD"], [b"UNWATCH"], [b"WATCH"] + self.keys(1, 3),
                               [b"EXEC", b"x"], [b"MULTI", b"x"], [b"WATCH"], [b"UNWATCH", b"x"],
                               [b"DISCARD", self.key()]])
        return [self.word(cmd[0])] + cmd[1:]

    def tx_body(self, conn: int) -> list[Step]:
        """MULTI, a few queued commands (and errors), then EXEC or DISCARD, on ``conn``."""
        steps: list[Step] = [(conn, [self.word(b"MULTI")])]
        self.in_tx = True
        for _ in range(self.rng.choice([0, 1, 2, 2, 3, 3, 4, 5, 6])):
            r = self.rng.random()
            if r < 0.07:
                steps.append((conn, [self.word(b"SELECT"), self.db()]))
            elif r < 0.10:  # an unknown command: EXECABORT
                steps.append((conn, [self.rng.choice(UNKNOWN)] + self.keys(0, 2)))
            elif r < 0.14:  # a wrong number of arguments (mostly): EXECABORT
                steps.append((conn, self.mutate_arity(self.queued())))
            elif r < 0.16:
                steps.append((conn, [self.word(b"MULTI")]))  # nested
            elif r < 0.18:
                steps.append((conn, [self.word(b"WATCH")] + self.keys(1, 2)))  # not allowed inside MULTI
            elif r < 0.20:
                steps.append((conn, [self.word(b"UNWATCH")]))  # queued
            elif r < 0.26:  # a runtime error inside EXEC: the others still run
                k = self.key()
                bad = self.rng.choice([b"abc", b"1.5", b"", b"99999999999999999999"])
                steps.append((conn, [self.word(b"SET"), k, bad]))
                steps.append((conn, [self.word(self.rng.choice([b"INCR", b"DECR", b"INCRBY"])), k]
                              + ([self.integer()] if self.rng.random() < 0.3 else [])))
            else:
                steps.append((conn, self.queued()))
        self.in_tx = False
        r = self.rng.random()
        if r < 0.8:
            steps.append((conn, [self.word(b"EXEC")]))
        elif r < 0.94:
            steps.append((conn, [self.word(b"DISCARD")]))
        else:  # EXEC with an argument: EXECABORT, the transaction ends; the next EXEC has no MULTI
            steps += [(conn, [self.word(b"EXEC"), self.rng.choice(JUNK)]), (conn, [self.word(b"EXEC")])]
        return steps

    def s_transaction(self) -> list[Step]:
        return self.tx_body(A if self.rng.random() < 0.85 else B)

    def s_watch(self) -> list[Step]:
        """A WATCHes, then B (or A) writes a watched key or not, then A runs MULTI ... EXEC."""
        steps: list[Step] = []
        if self.rng.random() < 0.6:  # both connections in the same database
            db = self.rng.choice(DBS)
            steps += [(A, [b"SELECT", db]), (B, [b"SELECT", db])]
        k = self.key()
        if self.rng.random() < 0.25:  # watch a key already expired (but maybe not yet removed)
            steps.append((A, [self.word(b"SET"), k, self.value(), self.word(b"PXAT"), self.past_time(True)]))
            self.lingering = True
        watched = [k] + self.keys(0, 2)
        self.rng.shuffle(watched)
        steps.append((A, [self.word(b"WATCH")] + watched))
        if self.rng.random() < 0.2:
            steps.append((A, [self.word(b"WATCH")] + self.keys(1, 2)))  # WATCHes add up
        for _ in range(self.rng.choice([0, 1, 1, 2, 3])):
            who = B if self.rng.random() < 0.75 else A
            steps.append((who, self.interference(k)))
        if self.rng.random() < 0.1:
            steps.append((A, [self.word(b"UNWATCH")]))
        return steps + self.tx_body(A)

    def interference(self, k: bytes) -> Command:
        """Something between WATCH and EXEC: a write of the watched key ``k`` or not."""
        r = self.rng.random()
        other = self.key()
        if r < 0.35:
            cmd = self.rng.choice([
                [b"SET", k, self.value()], [b"DEL", k], [b"INCR", k], [b"APPEND", k, self.value()],
                [b"EXPIRE", k, self.rel_time(False)], [b"PERSIST", k], [b"RENAME", k, other], [b"RENAME", other, k],
                [b"MOVE", k, self.db()], [b"COPY", other, k, b"REPLACE"], [b"GETDEL", k], [b"GETEX", k, b"PERSIST"],
                [b"SETRANGE", k, b"1", b"z"], [b"SET", k, self.value(), b"NX"], [b"SET", k, self.value(), b"XX"],
                [b"MSET", other, self.value(), k, self.value()], [b"RENAMENX", other, k]])
        elif r < 0.5:  # the watched key expires, at an absolute time already past
            ms = self.rng.random() < 0.5
            cmd = self.rng.choice([[b"PEXPIREAT" if ms else b"EXPIREAT", k, self.past_time(ms)],
                                   [b"SET", k, self.value(), b"PXAT" if ms else b"EXAT", self.past_time(ms)],
                                   [b"GETEX", k, b"PXAT" if ms else b"EXAT", self.past_time(ms)]])
            if name(cmd) == b"SET":
                self.lingering = True
        elif r < 0.62:  # reads touch nothing
            cmd = self.rng.choice([[b"GET", k], [b"EXISTS", k], [b"TTL", k], [b"TYPE", k], [b"STRLEN", k]])
        elif r < 0.77:
            cmd = self.rng.choice([[b"FLUSHDB"], [b"FLUSHALL"], [b"SWAPDB", self.db(), self.db()]])
        elif r < 0.85:
            cmd = [b"SELECT", self.db()]
        else:
            return self.single()
        cmd = [self.word(cmd[0])] + cmd[1:]
        self.ran(cmd)
        return cmd

    # -- the stream ----------------------------------------------------------------------------

    def next_steps(self) -> list[Step]:
        r = self.rng.random()
        if r < 0.03:
            return self.s_transaction()
        if r < 0.055:
            return self.s_watch()
        if r < 0.065:
            return self.s_lcs()
        if r < 0.073:
            return [(A if self.rng.random() < 0.8 else B, self.g_tx_stray())]
        return [(B if self.rng.random() < 0.04 else A, self.single())]


def generate(seed: int, n: int, now_ms: int) -> list[Step]:
    """About ``n`` steps ``(conn, cmd)`` from ``seed`` (a scenario under way at ``n`` is finished);
    absolute times relative to ``now_ms`` (Unix ms)."""
    gen = Generator(seed, now_ms)
    steps: list[Step] = []
    while len(steps) < n:
        steps += gen.next_steps()
    return steps


def command_names(steps: list[Step]) -> set[bytes]:
    return {name(c) for _, c in steps}
