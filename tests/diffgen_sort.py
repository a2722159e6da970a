"""Random SORT and SORT_RO commands for the differential test (mixed into diffgen.Generator, whose
``rng``, ``key()``, ``keys()``, ``value()``, ``integer()``, ``word()`` and ``index()`` they use).

The stream builds its own data under key names whose type it knows: lists ``sl:*`` (numbers
mostly, or words), an all-integer set ``si:1`` (an intset in Redis: a known order), a set
``ss:1`` and a sorted set ``sz:1`` (whose hash table order Redis randomizes), weights ``w:<element>``
(strings) and ``h:<element>`` (hashes with fields f and g); SORT reads those and the eight shared
keys (WRONGTYPE, other types' values). Options come in every order and case, repeated, with
bad LIMIT numbers, missing arguments and junk.

Where redis-server's order is its hash table's (a set or sorted set that is not a known intset:
``BY`` a constant without STORE, ALPHA with equal weights, ALPHA without STORE on strings equal
up to a NUL byte), the reply is compared as a multiset of its elements' GET groups (just the
length under LIMIT). So that the data stays comparable, ``STORE`` never meets that case: the
stream drops ALPHA there. No weight makes C's strtod set ERANGE (redis-server leaves errno set,
and later numeric sorts would fail there for no reason of their own); other commands may still
leave it set, so a numeric SORT's STALE_ERRNO is forgiven (without STORE) or the SORT is run on
redis-server again with errno cleared (with STORE: the harness's ``_sort_store_again``).
"""

from __future__ import annotations

import re

from diffreplies import array_items

NUMBERS = [b"0", b"1", b"2", b"3", b"10", b"-1", b"-5", b"1.5", b"2.0", b"-0", b"1e1", b"inf", b"-inf", b" 3",
           b"0x10", b"+4", b"007", b"", b"9223372036854775807", b"-9223372036854775808", b"0.1", b"1.7976931348623157e308"]
WORDS = [b"a", b"b", b"c", b"B", b"ab", b"abc", b"", b"a\x00", b"a\x00b", b"a\x00c", b"\xff", b"\xc3\xa9", b"x y",
         b"k:1", b"1", b"10", b"2", b"*", b"->f", b"\x00"]
INTS = [b"%d" % i for i in range(-5, 20)] + [b"9223372036854775807", b"-9223372036854775808", b"100000"]
WEIGHTS = [b"1", b"2", b"-1", b"10", b"0", b"1.5", b"-2.5", b"inf", b"-inf", b"1e2", b"0x10", b" 5", b"+7", b"-0",
           b"9223372036854775807", b"1.7976931348623157e308", b"3\x00x", b"", b"\x00"]
BAD_WEIGHTS = [b"abc", b"a", b"b", b"nan", b"5 ", b"1e", b"x y", b"\xff"]
SCORES = [b"0", b"1", b"2", b"1.5", b"-1", b"inf", b"-inf", b"1", b"1"]
BY_PATTERNS = [b"w:*", b"w:*", b"h:*->f", b"h:*->g", b"w:*->f", b"h:*", b"nosort", b"#", b"*", b"w:*\x00x",
               b"h:*->", b"w:*->", b"*->f", b"h:*->f\x00x", b"x\x00*", b"w:**"]
GET_PATTERNS = [b"#", b"#", b"w:*", b"h:*->f", b"h:*->g", b"nostar", b"*", b"h:*->", b"#\x00x", b"w:*->f",
                b"h:*", b"k:*"]
OFFSETS = [b"0", b"0", b"1", b"2", b"5", b"-1", b"-5", b"100", b"9223372036854775807", b"-9223372036854775808"]
COUNTS = [b"0", b"1", b"2", b"3", b"10", b"-1", b"-2", b"100", b"9223372036854775807", b"-9223372036854775808"]
BAD_NUMBERS = [b"x", b"1.5", b"", b"9223372036854775808", b" 1", b"+1", b"-0", b"01"]
LISTS = [b"sl:1", b"sl:2", b"sl:a"]
CANONICAL_INTEGER = re.compile(rb"0|-?[1-9][0-9]*")
KNOWN_ORDER = b"sl:"  # lists: redis-server's order is known (si:1 too, while it is an intset)
SOURCES = LISTS * 3 + [b"si:1", b"si:1", b"ss:1", b"ss:1", b"sz:1", b"sz:1", b"nokey", b"w:1", b"h:1"]
DESTINATIONS = [b"dst", b"dst", b"sl:2", b"w:1", b"si:1", b"dst2"]
JUNK = [[b"FOO"], [b"LIMIT"], [b"LIMIT", b"1"], [b"BY"], [b"GET"], [b"STORE"], [b"ASCENDING"], [b""]]
OWN_KEYS = [b"sl:1", b"sl:2", b"sl:a", b"si:1", b"ss:1", b"sz:1", b"dst", b"dst2"]


class SortOptions:
    """What a SORT command asks for, read as Redis reads it (None: Redis answers an error)."""

    def __init__(self, cmd: list[bytes]):
        self.alpha = self.store = self.limit = self.dontsort = self.by_star = False
        self.gets = 0
        readonly = cmd[0].upper() == b"SORT_RO"
        j = 2
        self.ok = True
        while j < len(cmd):
            option, left = cmd[j].upper(), len(cmd) - j - 1
            if option in (b"ASC", b"DESC"):
                pass
            elif option == b"ALPHA":
                self.alpha = True
            elif option == b"LIMIT" and left >= 2:
                self.limit = True
                j += 2
            elif option == b"STORE" and left >= 1 and not readonly:
                self.store = True
                j += 1
            elif option == b"BY" and left >= 1:
                star = b"*" in cmd[j + 1].split(b"\x00")[0]
                self.dontsort |= not star
                self.by_star = star
                j += 1
            elif option == b"GET" and left >= 1:
                self.gets += 1
                j += 1
            else:
                self.ok = False
                return
            j += 1

    def order_may_be_random(self) -> bool:
        """Whether redis-server's order for a set or sorted set may be its hash table's."""
        if self.dontsort:
            return not self.store
        return self.alpha and (self.by_star or not self.store)


STALE_ERRNO = b"-ERR One or more scores can't be converted into double\r\n"


def compare_sort(cmd, a: bytes, b: bytes) -> str | None:
    """SORT's reply: byte for byte, except where the key may be a set or sorted set whose order
    redis-server takes from its hash table: then the same GET groups as a multiset (or under
    LIMIT, just as many)."""
    if a == b:
        return None
    options = SortOptions(cmd)
    if a == STALE_ERRNO and b[:1] == b"*" and not options.store:
        # redis-server's sort.c tests errno after strtod without clearing it first: after some
        # earlier command left ERANGE there, a numeric SORT of good numbers fails. Not ours to copy.
        return None
    if not options.ok or cmd[1].startswith(KNOWN_ORDER) or not options.order_may_be_random():
        return "replies differ"
    x, y = array_items(a), array_items(b)
    if cmd[1].startswith(b"si:") and x is not None and shows_an_intset(options, x):
        return "replies differ (an intset's order is known)"
    if x is None or y is None or len(x) != len(y):
        return "replies differ (not arrays of the same length)"
    if options.limit:
        return None
    size = max(options.gets, 1)
    groups = sorted(x[i:i + size] for i in range(0, len(x), size))
    if groups != sorted(y[i:i + size] for i in range(0, len(y), size)):
        return "different elements (as multisets of GET groups)"
    return None


def shows_an_intset(options: SortOptions, items: list[bytes]) -> bool:
    """Whether a reply listing a whole set shows it is an intset in redis-server (si:1 is one
    unless the harness gave SADD an extra, non-integer argument: it is never shrunk)."""
    if options.limit or options.gets or len(items) > 512:
        return False
    for item in items:
        value = item.split(b"\r\n")[1] if item[:1] == b"$" else b""
        if not CANONICAL_INTEGER.fullmatch(value) or not -2**63 <= int(value) < 2**63:
            return False
    return True


class SortStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_sort", 25), ("g_sort_push", 14), ("g_sort_sadd", 5), ("g_sort_zadd", 4), ("g_sort_weight", 8),
        ("g_sort_hash", 5), ("g_sort_del", 0.7), ("g_sort_push_shared", 1),
    ]
    # SMEMBERS and HGETALL: how the data check reads the sets and hashes this stream makes (the
    # same rules as the sets' and hashes' streams, for runs without those).
    COMPARE: dict = {b"SORT": compare_sort, b"SORT_RO": compare_sort}
    NOT_IN_TX: tuple[str, ...] = ()

    # -- data ------------------------------------------------------------------------------------

    def sort_element(self, key: bytes = b"sl:1") -> bytes:
        """An element for ``key``: words for sl:a, numbers for sl:2, numbers and now and then a
        word (a numeric sort's error) for the others."""
        if key == b"sl:a" or (key != b"sl:2" and self.rng.random() < 0.04):
            return self.rng.choice(WORDS)
        if self.rng.random() < 0.3:
            return b"%d" % self.rng.randint(-20, 40)
        return self.rng.choice(NUMBERS)

    def sort_weight(self) -> bytes:
        r = self.rng.random()
        if r < 0.3:
            return b"%d" % self.rng.randint(-10, 10)
        if r < 0.97:
            return self.rng.choice(WEIGHTS)
        return self.rng.choice(BAD_WEIGHTS)

    def g_sort_push(self) -> list[bytes]:
        key = self.rng.choice(LISTS)
        size = self.rng.randint(20, 60) if self.rng.random() < 0.1 else self.rng.randint(1, 10)
        elements = [self.sort_element(key) for _ in range(size)]
        return [self.word(self.rng.choice([b"RPUSH", b"RPUSH", b"LPUSH"])), key, *elements]

    def g_sort_push_shared(self) -> list[bytes]:
        return [self.word(b"RPUSH"), self.key(), *(self.sort_element() for _ in range(self.rng.randint(1, 5)))]

    def g_sort_sadd(self) -> list[bytes]:
        if self.rng.random() < 0.5:
            return [self.word(b"SADD"), b"si:1", *self.rng.sample(INTS, self.rng.randint(1, 10))]
        return [self.word(b"SADD"), b"ss:1", *(self.sort_element(b"sl:a" if self.rng.random() < 0.4 else b"sl:1")
                                               for _ in range(self.rng.randint(1, 10)))]

    def g_sort_zadd(self) -> list[bytes]:
        cmd = [self.word(b"ZADD"), b"sz:1"]
        for _ in range(self.rng.randint(1, 8)):
            cmd += [self.rng.choice(SCORES), self.sort_element(b"sl:a" if self.rng.random() < 0.4 else b"sl:1")]
        return cmd

    def weight_key(self) -> bytes:
        return self.rng.choice([b"w:", b"h:"]) + self.sort_element(b"sl:a" if self.rng.random() < 0.3 else b"sl:1")

    def g_sort_weight(self) -> list[bytes]:
        if self.rng.random() < 0.3:
            cmd = [self.word(b"MSET")]
            for _ in range(self.rng.randint(1, 4)):
                cmd += [b"w:" + self.sort_element(), self.sort_weight()]
            return cmd
        return [self.word(b"SET"), b"w:" + self.sort_element(b"sl:a" if self.rng.random() < 0.3 else b"sl:1"),
                self.sort_weight()]

    def g_sort_hash(self) -> list[bytes]:
        cmd = [self.word(b"HSET"), b"h:" + self.sort_element(b"sl:a" if self.rng.random() < 0.3 else b"sl:1")]
        for field in self.rng.sample([b"f", b"g", b"h"], self.rng.randint(1, 2)):
            cmd += [field, self.sort_weight()]
        return cmd

    def g_sort_del(self) -> list[bytes]:
        return [self.word(b"DEL"), self.rng.choice(OWN_KEYS + [self.weight_key()])]

    # -- SORT ------------------------------------------------------------------------------------

    def g_sort(self) -> list[bytes]:
        readonly = self.rng.random() < 0.25
        source = self.key() if self.rng.random() < 0.12 else self.rng.choice(SOURCES)
        opts: list[list[bytes]] = []
        if self.rng.random() < 0.55:
            opts.append([self.word(b"BY"), self.rng.choice(BY_PATTERNS)])
            if self.rng.random() < 0.06:
                opts.append([self.word(b"BY"), self.rng.choice(BY_PATTERNS)])
        if self.rng.random() < 0.4:
            opts.append(self.limit_option())
            if self.rng.random() < 0.05:
                opts.append(self.limit_option())
        for _ in range(self.rng.choice([0, 0, 0, 1, 1, 2, 3])):
            opts.append([self.word(b"GET"), self.rng.choice(GET_PATTERNS)])
        for _ in range(self.rng.choice([0, 0, 1, 1, 2])):
            opts.append([self.word(self.rng.choice([b"ASC", b"DESC", b"DESC"]))])
        alpha = self.rng.random() < 0.5
        if alpha:
            opts.append([self.word(b"ALPHA")])
        if self.rng.random() < (0.05 if readonly else 0.3):
            opts.append([self.word(b"STORE"), self.rng.choice(DESTINATIONS + [self.key()])])
            if self.rng.random() < 0.05:
                opts.append([self.word(b"STORE"), self.rng.choice(DESTINATIONS)])
        if self.rng.random() < 0.03:
            opts.append(self.rng.choice(JUNK))
        self.rng.shuffle(opts)
        cmd = [self.word(b"SORT_RO" if readonly else b"SORT"), source] + [w for o in opts for w in o]
        if self.rng.random() < 0.02:
            cmd.append(self.rng.choice([b"LIMIT", b"BY", b"GET", b"STORE"]))  # its argument missing
        return self.stored_order_known(cmd)

    def limit_option(self) -> list[bytes]:
        offset, count = self.rng.choice(OFFSETS), self.rng.choice(COUNTS)
        if self.rng.random() < 0.06:
            if self.rng.random() < 0.5:
                offset = self.rng.choice(BAD_NUMBERS)
            else:
                count = self.rng.choice(BAD_NUMBERS)
        return [self.word(b"LIMIT"), offset, count]

    @staticmethod
    def stored_order_known(cmd: list[bytes]) -> list[bytes]:
        """Drop ALPHA where STORE would keep an order redis-server took from a hash table (equal
        ALPHA weights of a set's or sorted set's elements): the data must stay comparable."""
        options = SortOptions(cmd)
        if options.ok and options.store and not cmd[1].startswith(KNOWN_ORDER) and options.order_may_be_random():
            return [w for w in cmd if w.upper() != b"ALPHA"]
        return cmd
