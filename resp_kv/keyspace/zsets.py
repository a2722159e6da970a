"""The sorted sets commands, as Redis 7.0's ``t_zset.c`` defines them: each one small method of
:class:`ZSetCommands`, mixed into the store. Replies and error wording are redis-server's.

A sorted set is a :class:`~.values.ZSet`: ``scores`` (member -> score) and ``order``, a
SortedList of (score, member) pairs in Redis's order. Ranks and score ranges are found by
bisecting ``order`` (O(log n)); a range is read or cut as one slice of it.

Where Redis's two encodings answer differently, a sorted set is taken to be a listpack when it
would be one (at most 128 members, none longer than 64 bytes; values.encoding):

* a listpack keeps a score that is an integer as an integer, so -0 is stored as 0 (a skiplist
  keeps -0): :func:`_stored_score`;
* ZSCAN returns a listpack whole, its scores as stored; a larger set page by page;
* lexicographic ranges are meant for members of one score. Over mixed scores Redis walks a
  listpack from its ends, and so does :class:`LexRange` here (a skiplist's answer then depends on
  its random levels: unspecified).

ZRANDMEMBER picks at random: the backup runs nothing for it (``replicate_as``). The blocking pops
are served here in their non-blocking form (what Redis does inside MULTI, or with something to
pop); :meth:`ZSetCommands.zset_wait` tells the server what one waits on when there is nothing.
"""

from __future__ import annotations

import math
import random
import re
from itertools import islice

from ..commands import NOT_INTEGER, SYNTAX_ERROR, option
from ..protocol import NULL_ARRAY, Error, Pairs
from .db import WRONGTYPE, CommandError
from .scan import INVALID_CURSOR, parse_cursor, scan_options
from .numbers import INT64_MAX, INT64_MIN, NOT_FLOAT, parse_int64, timeout_ms
from .values import ZSET_LISTPACK_ENTRIES, LISTPACK_VALUE, ZSet, encoding

NOT_A_RANGE_FLOAT = Error("ERR min or max is not a float")
NOT_A_LEX_RANGE = Error("ERR min or max not valid string range item")
NAN_SCORE = Error("ERR resulting score is not a number (NaN)")
XX_AND_NX = Error("ERR XX and NX options at the same time are not compatible")
GT_LT_NX = Error("ERR GT, LT, and/or NX options at the same time are not compatible")
INCR_PAIRS = Error("ERR INCR option supports a single increment-element pair")
LIMIT_WITH_RANK = Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
WITHSCORES_WITH_LEX = Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
WEIGHT_NOT_FLOAT = Error("ERR weight value is not a float")
LIMIT_NEGATIVE = Error("ERR LIMIT can't be negative")
NUMKEYS = Error("ERR numkeys should be greater than 0")
COUNT_POSITIVE = Error("ERR count should be greater than 0")
MUST_BE_POSITIVE = Error("ERR value is out of range, must be positive")
OUT_OF_RANGE = Error("ERR value is out of range")
COUNT_OUT_OF_RANGE = Error(f"ERR value is out of range, value must between {-INT64_MAX} and {INT64_MAX}")

# ZRANDMEMBER with a negative count may repeat members: it answers that many. Redis 7.0 would try
# to answer even 2**63 - 1 of them (and run out of memory); this many at most, else OUT_OF_RANGE.
MAX_RANDOM_MEMBERS = 10_000_000

INF = math.inf
_SPACE = b" \t\n\v\f\r"  # C's isspace

# ZADD's options (and the bytes they may start with: a score never does)
NX, XX, GT, LT, CH, INCR = (1 << i for i in range(6))
_ZADD_OPTIONS = {b"NX": NX, b"XX": XX, b"GT": GT, b"LT": LT, b"CH": CH, b"INCR": INCR}
_OPTION_INITIALS = frozenset(b"nNxXgGlLcCiI")

# ZRANGE's kinds of range, and the aggregates of ZUNION/ZINTER
RANK, SCORE, LEX = "rank", "score", "lex"
SUM, MIN, MAX = "sum", "min", "max"
UNION, INTER, DIFF = "union", "inter", "diff"


def _zadd_conflict(flags: int, pairs: int) -> Error | None:
    """ZADD's refusal of its options together, in Redis's order; None if they go together."""
    if flags & NX and flags & XX:
        return XX_AND_NX
    if (flags & GT and flags & NX) or (flags & LT and flags & NX) or (flags & GT and flags & LT):
        return GT_LT_NX
    if flags & INCR and pairs > 2:
        return INCR_PAIRS
    return None


# ---------------------------------------------------------------------------- numbers

# What C's strtod reads: a decimal or hexadecimal number, inf, infinity or nan (any case).
_STRTOD = re.compile(rb"""[+-]?(?:
      0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?
    | (?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?
    | [iI][nN][fF](?:[iI][nN][iI][tT][yY])?
    | [nN][aA][nN](?:\([0-9A-Za-z_]*\))?
    )""", re.VERBOSE)


def strtod(token: bytes) -> tuple[float, bool] | None:
    """C's ``strtod`` of a whole token (nothing before or after it): (value, whether it overflowed
    or underflowed to zero, ERANGE), or None if ``token`` is not all one number."""
    if _STRTOD.fullmatch(token) is None:
        return None
    low = token.lower()
    if b"n" in low:  # inf, infinity, nan
        if b"a" in low:
            return math.nan, False
        return (-INF if low[:1] == b"-" else INF), False
    digits = low.lstrip(b"+-")
    if b"x" in low:
        mantissa = digits[2:].partition(b"p")[0]
        try:
            value = float.fromhex(low.decode())
        except OverflowError:
            value = -INF if low[:1] == b"-" else INF
    else:
        mantissa = digits.partition(b"e")[0]
        value = float(low)
    erange = math.isinf(value) or (value == 0 and mantissa.strip(b"0.") != b"")
    return value, erange


def _plain_integer(raw: bytes) -> bool:
    """Whether ``raw`` is a short run of digits, maybe after a minus: the usual score, which
    ``float`` reads as strtod does."""
    return len(raw) < 18 and (raw.isdigit() or (raw[:1] == b"-" and raw[1:].isdigit()))


def parse_score(raw: bytes) -> float | None:
    """A score or weight as Redis's ``string2d``: the whole string, no spaces before, no NaN, no
    overflow (nor a nonzero value that underflows to 0); None if refused."""
    if _plain_integer(raw):
        return float(raw)
    if not raw or raw[0] in _SPACE:
        return None
    parsed = strtod(raw)
    if parsed is None or parsed[1] or parsed[0] != parsed[0]:
        return None
    return parsed[0]


def parse_bound(raw: bytes) -> tuple[float, bool] | None:
    """A score range bound as ``zslParseRange``: "(" for an exclusive one, then C's ``strtod`` of
    the rest as a C string (spaces before allowed, "" is 0, out of range is ±inf or 0, no NaN):
    (value, exclusive), or None."""
    if _plain_integer(raw):
        return float(raw), False
    text = raw.split(b"\0", 1)[0]
    exclusive = text[:1] == b"("
    if exclusive:
        text = text[1:]
    if not text:
        return 0.0, exclusive
    parsed = strtod(text.lstrip(_SPACE))
    if parsed is None or parsed[0] != parsed[0]:
        return None
    return parsed[0], exclusive


def scan_score(score: float, listpack: bool) -> bytes:
    """A score as ZSCAN shows it: a listpack holds an integral score (up to 2**62) as an integer,
    another as ``%.17g``; a skiplist's as ``%.17Lg``."""
    if listpack and -2.0**62 <= score <= 2.0**62 and score == int(score):
        return b"%d" % int(score)
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    return b"%.17g" % score


# ---------------------------------------------------------------------------- ranges


class ScoreRange:
    """``min`` and ``max`` scores, each inclusive or exclusive (Redis's zrangespec)."""

    __slots__ = ("min", "minex", "max", "maxex")

    def __init__(self, low: tuple[float, bool], high: tuple[float, bool]):
        (self.min, self.minex), (self.max, self.maxex) = low, high

    def bounds(self, order) -> tuple[int, int]:
        """The slice ``order[lo:hi]`` of the pairs in range (lo >= hi: none)."""
        if self.min > self.max or (self.min == self.max and (self.minex or self.maxex)):
            return 0, 0
        lo = _above(order, self.min) if self.minex else order.bisect_left((self.min,))
        hi = order.bisect_left((self.max,)) if self.maxex else _above(order, self.max)
        return lo, hi


def _above(order, score: float) -> int:
    """Where the pairs with a score above ``score`` begin."""
    return len(order) if score == INF else order.bisect_left((math.nextafter(score, INF),))


# Lexicographic bounds "-" and "+": below and above every member.
LEAST, GREATEST = "-", "+"


def parse_lex(raw: bytes):
    """A lexicographic range bound as ``zslParseLexRangeItem``: (member or LEAST/GREATEST,
    exclusive), or None."""
    first = raw[:1]
    if first == b"(" or first == b"[":
        return raw[1:], first == b"("
    if (first == b"-" or first == b"+") and raw[1:2] in (b"", b"\0"):  # (read as a C string)
        return (LEAST if first == b"-" else GREATEST), True
    return None


def _lex_compare(a, b) -> int:
    """Redis's sdscmplex: members, with LEAST and GREATEST below and above them all."""
    if a is b:
        return 0
    if a is LEAST or b is GREATEST:
        return -1
    if a is GREATEST or b is LEAST:
        return 1
    return (a > b) - (a < b)


class LexRange:
    """A lexicographic range (Redis's zlexrangespec), meant for members of one score."""

    __slots__ = ("min", "minex", "max", "maxex")

    def __init__(self, low, high):
        (self.min, self.minex), (self.max, self.maxex) = low, high

    def empty(self) -> bool:
        cmp = _lex_compare(self.min, self.max)
        return cmp > 0 or (cmp == 0 and (self.minex or self.maxex))

    def above_min(self, member: bytes) -> bool:
        low = self.min
        if low is LEAST or low is GREATEST:
            return low is LEAST
        return member > low if self.minex else member >= low

    def below_max(self, member: bytes) -> bool:
        high = self.max
        if high is LEAST or high is GREATEST:
            return high is GREATEST
        return member < high if self.maxex else member <= high

    def bounds(self, order) -> tuple[int, int] | None:
        """The slice ``order[lo:hi]`` in range if all the scores are equal (members in order);
        None if they are not."""
        score = order[0][0]
        if order[-1][0] != score:
            return None
        if self.empty():
            return 0, 0
        return self._index(order, score, self.min, not self.minex), self._index(order, score, self.max, self.maxex)

    @staticmethod
    def _index(order, score: float, bound, before: bool) -> int:
        if bound is LEAST or bound is GREATEST:
            return 0 if bound is LEAST else len(order)
        return order.bisect_left((score, bound)) if before else order.bisect_right((score, bound))

    def first(self, order) -> int | None:
        """Where a forward walk starts (zzlFirstInLexRange), None if nothing is in range."""
        if not self._may_hold(order):
            return None
        for i, (_, member) in enumerate(order):
            if self.above_min(member):
                return i if self.below_max(member) else None
        return None

    def last(self, order) -> int | None:
        """Where a backward walk starts (zzlLastInLexRange), None if nothing is in range."""
        if not self._may_hold(order):
            return None
        for i in range(len(order) - 1, -1, -1):
            member = order[i][1]
            if self.below_max(member):
                return i if self.above_min(member) else None
        return None

    def _may_hold(self, order) -> bool:
        return not self.empty() and self.above_min(order[-1][1]) and self.below_max(order[0][1])

    def walk(self, order, offset: int, limit: int, reverse: bool) -> tuple[int, int]:
        """The pairs a walk yields, as a slice ``order[lo:hi]`` (walked backward if ``reverse``):
        ``offset`` skipped without a look, then the next ones while in range, at most ``limit``
        (negative: no limit)."""
        start = self.last(order) if reverse else self.first(order)
        if start is None or offset < 0:
            return 0, 0
        n = len(order)
        step = -1 if reverse else 1
        i = start + step * offset
        inside = self.above_min if reverse else self.below_max
        end = i
        while 0 <= end < n and limit != 0 and inside(order[end][1]):
            end += step
            limit -= 1
        return (end + 1, i + 1) if reverse else (i, end)


def _score_slice(lo: int, hi: int, offset: int, limit: int, reverse: bool) -> tuple[int, int]:
    """The part of the range ``[lo, hi)`` that LIMIT offset count keeps, walked from its start
    (its end if ``reverse``)."""
    if offset < 0 or lo >= hi:
        return 0, 0
    if reverse:
        hi -= offset
        return (lo if limit < 0 else max(lo, hi - limit)), hi
    lo += offset
    return lo, (hi if limit < 0 else min(hi, lo + limit))


def rank_slice(n: int, start: int, end: int) -> tuple[int, int]:
    """ZRANGE's ranks (negative from the end) as a slice [lo, hi) of ``n`` members."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    if start > end or start >= n:
        return 0, 0
    return start, min(end, n - 1) + 1


# ---------------------------------------------------------------------------- values


def _listpack(z: ZSet, member: bytes) -> bool:
    """Whether ``z`` is (taken to be) a listpack once ``member`` is in it."""
    size = len(z) + (member not in z.scores)
    return (size <= ZSET_LISTPACK_ENTRIES and len(member) <= LISTPACK_VALUE
            and all(len(m) <= LISTPACK_VALUE for m in z.scores))


def _stored_score(z: ZSet, member: bytes, score: float) -> float:
    """The score ``z`` keeps for ``member``: a listpack stores -0 as the integer 0."""
    if score == 0 and math.copysign(1.0, score) < 0 and _listpack(z, member):
        return 0.0
    return score


def new_zset(scores: dict, listpack: bool | None = None) -> ZSet:
    """A sorted set holding ``scores`` (member -> score, in the order they were added). As a
    listpack (None: if it is small enough) it stores -0 as 0, up to where it grows too large."""
    if listpack is None:
        listpack = len(scores) <= ZSET_LISTPACK_ENTRIES and all(len(m) <= LISTPACK_VALUE for m in scores)
    if listpack:
        for i, (member, score) in enumerate(scores.items()):
            if i >= ZSET_LISTPACK_ENTRIES or len(member) > LISTPACK_VALUE:
                break
            if score == 0:
                scores[member] = 0.0
    z = ZSet()
    z.scores = scores
    z.order.update((score, member) for member, score in scores.items())
    return z


def cut(z: ZSet, lo: int, hi: int) -> list:
    """Remove ``z.order[lo:hi]`` from ``z``; the (score, member) pairs removed."""
    order = z.order
    pairs = order[lo:hi]
    del order[lo:hi]
    scores = z.scores
    for _, member in pairs:
        del scores[member]
    return pairs


def _cardinality(value) -> int:
    return 0 if value is None else len(value)


def _pairs(value):
    """(member, score) of a zset or a set (score 1) given to ZUNION and co.; none for a missing key."""
    if value is None:
        return ()
    if value.__class__ is ZSet:
        return value.scores.items()
    return ((member, 1.0) for member in value)


def _score_in(value, member: bytes):
    if value.__class__ is ZSet:
        return value.scores.get(member)
    return 1.0 if member in value else None


def _aggregate(how: str, target: float, value: float) -> float:
    if how is SUM:
        total = target + value
        return 0.0 if total != total else total  # inf + -inf: 0, as Redis
    if how is MIN:
        return value if value < target else target
    return value if value > target else target


def _weighted(weight: float, score: float) -> float:
    value = weight * score
    return 0.0 if value != value else value  # inf * 0: 0, as Redis


def _reply(pairs, withscores: bool):
    """Ranges' replies: the members, or Pairs of (member, score)."""
    if withscores:
        return Pairs([(member, score) for score, member in pairs])
    return [member for _, member in pairs]


# ---------------------------------------------------------------------------- the commands


class ZSetCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``typed``, ``container``,
    ``changed``, ``store``, ``delete``, ``replicate_as``."""

    # ------------------------------------------------------------------ adding

    def cmd_zadd(self, args):
        return self._zadd(args, 0)

    def cmd_zincrby(self, args):
        return self._zadd(args, INCR)

    def _zadd(self, args, flags: int):
        """ZADD and ZINCRBY (Redis's zaddGenericCommand): options, then score-member pairs."""
        j, n = 2, len(args)
        while j < n and args[j][:1] and args[j][0] in _OPTION_INITIALS:
            flag = _ZADD_OPTIONS.get(option(args[j]))
            if flag is None:
                break
            flags |= flag
            j += 1
        pairs = n - j
        if pairs % 2 or not pairs:
            return SYNTAX_ERROR
        if flags:
            error = _zadd_conflict(flags, pairs)
            if error is not None:
                return error
        if pairs == 2:  # the usual ZADD: one score, one member
            score = parse_score(args[j])
            if score is None:
                return NOT_FLOAT
            scores = (score,)
        else:
            scores = [parse_score(raw) for raw in args[j::2]]
            if None in scores:
                return NOT_FLOAT
        key = args[1]
        z = self.container(key, ZSet)
        if z is None:
            if flags & XX:
                return None if flags & INCR else 0
            z = self.container(key, ZSet, create=True)
        added = updated = 0
        score = None  # INCR's reply: the new score, or nil if the options left the member alone
        for given, member in zip(scores, args[j + 1::2]):
            outcome = self._zadd_one(z, member, given, flags)
            if outcome.__class__ is Error:
                return outcome
            if outcome is not None:
                score, change = outcome
                added += change == 1
                updated += change == 2
        if added or updated:
            self.changed(key, z)
        if flags & INCR:
            return score
        return added + updated if flags & CH else added

    @staticmethod
    def _zadd_one(z: ZSet, member: bytes, score: float, flags: int):
        """One member of ZADD (Redis's zsetAdd): None if the options left it alone, else (its
        new score, 0 unchanged / 1 added / 2 updated); an error if INCR makes NaN."""
        current = z.scores.get(member)
        if current is None:
            if flags & XX:
                return None
            z.add(member, _stored_score(z, member, score))
            return score, 1
        if flags & NX:
            return None
        if flags & INCR:
            score += current
            if score != score:
                return NAN_SCORE
        if (flags & LT and score >= current) or (flags & GT and score <= current):
            return None
        if score == current:
            return score, 0
        z.add(member, _stored_score(z, member, score))
        return score, 2

    # ------------------------------------------------------------------ removing

    def cmd_zrem(self, args):
        key = args[1]
        z = self.container(key, ZSet)
        if z is None:
            return 0
        discard = z.discard
        deleted = sum(1 for member in islice(args, 2, None) if discard(member))
        if deleted:
            self.changed(key, z)
        return deleted

    def cmd_zremrangebyrank(self, args):
        start, end = parse_int64(args[2]), parse_int64(args[3])
        if start is None or end is None:
            return NOT_INTEGER
        z = self.container(args[1], ZSet)
        if z is None:
            return 0
        return self._zcut(args[1], z, *rank_slice(len(z), start, end))

    def cmd_zremrangebyscore(self, args):
        low, high = parse_bound(args[2]), parse_bound(args[3])
        if low is None or high is None:
            return NOT_A_RANGE_FLOAT
        z = self.container(args[1], ZSet)
        if z is None:
            return 0
        return self._zcut(args[1], z, *ScoreRange(low, high).bounds(z.order))

    def cmd_zremrangebylex(self, args):
        low, high = parse_lex(args[2]), parse_lex(args[3])
        if low is None or high is None:
            return NOT_A_LEX_RANGE
        z = self.container(args[1], ZSet)
        if z is None:
            return 0
        spec = LexRange(low, high)
        span = spec.bounds(z.order) or spec.walk(z.order, 0, -1, False)
        return self._zcut(args[1], z, *span)

    def _zcut(self, key: bytes, z: ZSet, lo: int, hi: int) -> int:
        if lo >= hi:
            return 0
        cut(z, lo, hi)
        self.changed(key, z)
        return hi - lo

    # ------------------------------------------------------------------ reading

    def cmd_zcard(self, args):
        z = self.typed(args[1], ZSet)
        return 0 if z is None else len(z.scores)

    def cmd_zscore(self, args):
        z = self.typed(args[1], ZSet)
        return None if z is None else z.scores.get(args[2])

    def cmd_zmscore(self, args):
        z = self.typed(args[1], ZSet)
        if z is None:
            return [None] * (len(args) - 2)
        get = z.scores.get
        return [get(member) for member in islice(args, 2, None)]

    def cmd_zrank(self, args):
        z = self.typed(args[1], ZSet)
        return None if z is None else z.rank(args[2])

    def cmd_zrevrank(self, args):
        z = self.typed(args[1], ZSet)
        rank = None if z is None else z.rank(args[2])
        return None if rank is None else len(z.scores) - 1 - rank

    def cmd_zcount(self, args):
        low, high = parse_bound(args[2]), parse_bound(args[3])
        if low is None or high is None:
            return NOT_A_RANGE_FLOAT
        z = self.typed(args[1], ZSet)
        if z is None:
            return 0
        lo, hi = ScoreRange(low, high).bounds(z.order)
        return max(hi - lo, 0)

    def cmd_zlexcount(self, args):
        low, high = parse_lex(args[2]), parse_lex(args[3])
        if low is None or high is None:
            return NOT_A_LEX_RANGE
        z = self.typed(args[1], ZSet)
        if z is None:
            return 0
        spec = LexRange(low, high)
        lo, hi = spec.bounds(z.order) or spec.walk(z.order, 0, -1, False)
        return max(hi - lo, 0)

    # ------------------------------------------------------------------ ranges

    def cmd_zrange(self, args):
        return self._zrange(args, 1, False, None, None)

    def cmd_zrangestore(self, args):
        return self._zrange(args, 2, True, None, None)

    def cmd_zrevrange(self, args):
        return self._zrange(args, 1, False, RANK, True)

    def cmd_zrangebyscore(self, args):
        return self._zrange(args, 1, False, SCORE, False)

    def cmd_zrevrangebyscore(self, args):
        return self._zrange(args, 1, False, SCORE, True)

    def cmd_zrangebylex(self, args):
        return self._zrange(args, 1, False, LEX, False)

    def cmd_zrevrangebylex(self, args):
        return self._zrange(args, 1, False, LEX, True)

    def _zrange(self, args, at: int, store: bool, kind, reverse):
        """ZRANGE and its kin (Redis's zrangeGenericCommand): ``args[at]`` is the source, then
        min and max, then options; ``kind`` and ``reverse`` None where options may choose."""
        withscores, offset, limit = False, 0, -1
        j, n = at + 3, len(args)
        while j < n:
            word = option(args[j])
            if not store and word == b"WITHSCORES":
                withscores = True
            elif word == b"LIMIT" and n - j - 1 >= 2:
                offset, limit = parse_int64(args[j + 1]), parse_int64(args[j + 2])
                if offset is None or limit is None:
                    return NOT_INTEGER
                j += 2
            elif reverse is None and word == b"REV":
                reverse = True
            elif kind is None and word in (b"BYLEX", b"BYSCORE"):
                kind = LEX if word == b"BYLEX" else SCORE
            else:
                return SYNTAX_ERROR
            j += 1
        kind, reverse = kind or RANK, bool(reverse)
        if limit != -1 and kind is RANK:
            return LIMIT_WITH_RANK
        if withscores and kind is LEX:
            return WITHSCORES_WITH_LEX
        low, high = args[at + 1], args[at + 2]
        if reverse and kind is not RANK:
            low, high = high, low
        spec = self._zrange_spec(kind, low, high)
        if spec.__class__ is Error:
            return spec
        z = self.typed(args[at], ZSet)
        pairs = [] if z is None else self._zrange_pairs(z, kind, spec, offset, limit, reverse)
        if store:
            return self._zstore_range(args[1], pairs, kind)
        return _reply(pairs, withscores)

    @staticmethod
    def _zrange_spec(kind, low: bytes, high: bytes):
        if kind is RANK:
            start, end = parse_int64(low), parse_int64(high)
            return NOT_INTEGER if start is None or end is None else (start, end)
        if kind is SCORE:
            low, high = parse_bound(low), parse_bound(high)
            return NOT_A_RANGE_FLOAT if low is None or high is None else ScoreRange(low, high)
        low, high = parse_lex(low), parse_lex(high)
        return NOT_A_LEX_RANGE if low is None or high is None else LexRange(low, high)

    @staticmethod
    def _zrange_pairs(z: ZSet, kind, spec, offset: int, limit: int, reverse: bool) -> list:
        """The (score, member) pairs of a range, in the order they are answered."""
        order = z.order
        if kind is RANK:
            n = len(order)
            lo, hi = rank_slice(n, *spec)
            if reverse:
                lo, hi = n - hi, n - lo
        else:
            span = spec.bounds(order)
            if span is None:  # a lexicographic range over mixed scores: Redis's walk
                lo, hi = spec.walk(order, offset, limit, reverse)
            else:
                lo, hi = _score_slice(*span, offset, limit, reverse)
        if lo >= hi:
            return []
        return list(order.islice(lo, hi, reverse=reverse))

    def _zstore_range(self, dst: bytes, pairs: list, kind) -> int:
        """ZRANGESTORE's destination: the range as a new sorted set (a listpack from the start
        unless a range of ranks is too long), or deleted if the range is empty."""
        if not pairs:
            self.delete(dst)
            return 0
        scores = {member: score for score, member in pairs}
        self.store(dst, new_zset(scores, listpack=kind is not RANK or len(pairs) <= ZSET_LISTPACK_ENTRIES))
        return len(pairs)

    # ------------------------------------------------------------------ popping

    def cmd_zpopmin(self, args):
        return self._zpop(args, False)

    def cmd_zpopmax(self, args):
        return self._zpop(args, True)

    def _zpop(self, args, highest: bool):
        if len(args) > 3:
            return SYNTAX_ERROR
        count = None
        if len(args) == 3:
            count = parse_int64(args[2])
            if count is None or count < 0:
                return MUST_BE_POSITIVE
        z = self.container(args[1], ZSet)
        if z is None or count == 0:
            return []
        popped = self._zpop_end(args[1], z, count or 1, highest)
        if count is None:  # one member: a flat [member, score], RESP3 too
            return list(popped[0])
        return Pairs(popped)

    def _zpop_end(self, key: bytes, z: ZSet, count: int, highest: bool) -> list:
        """Pop up to ``count`` members from one end: [(member, score)], in popping order."""
        n = len(z.order)
        count = min(count, n)
        pairs = cut(z, n - count, n)[::-1] if highest else cut(z, 0, count)
        self.changed(key, z)
        return [(member, score) for score, member in pairs]

    def _zpop_first(self, keys, highest: bool, count: int):
        """Pop from the first of ``keys`` that exists (WRONGTYPE if it is no sorted set):
        (key, [(member, score)]), or None if none exists."""
        for key in keys:
            z = self.container(key, ZSet)
            if z is not None:
                return key, self._zpop_end(key, z, count, highest)
        return None

    def cmd_zmpop(self, args):
        parsed = _mpop_arguments(args, 1)
        if parsed.__class__ is Error:
            return parsed
        return self._zmpop(*parsed)

    def _zmpop(self, keys, highest: bool, count: int):
        popped = self._zpop_first(keys, highest, count)
        if popped is None:
            return NULL_ARRAY
        key, pairs = popped
        return [key, [[member, score] for member, score in pairs]]

    # ------------------------------------------------------------------ blocking pops, served now

    def cmd_bzpopmin(self, args):
        return self._bzpop_zset(args, False)

    def cmd_bzpopmax(self, args):
        return self._bzpop_zset(args, True)

    def _bzpop_zset(self, args, highest: bool):
        """BZPOPMIN/BZPOPMAX key ... timeout, in their non-blocking form: [key, member, score],
        or the null array Redis answers on timeout."""
        timeout = timeout_ms(args[-1])
        if timeout.__class__ is Error:
            return timeout
        popped = self._zpop_first(islice(args, 1, len(args) - 1), highest, 1)
        if popped is None:
            return NULL_ARRAY
        key, [(member, score)] = popped
        return [key, member, score]

    def cmd_bzmpop(self, args):
        """BZMPOP timeout numkeys key ... MIN|MAX [COUNT n], in its non-blocking form. (Redis
        checks numkeys and the options before the timeout.)"""
        parsed = _mpop_arguments(args, 2)
        if parsed.__class__ is Error:
            return parsed
        timeout = timeout_ms(args[1])
        if timeout.__class__ is Error:
            return timeout
        return self._zmpop(*parsed)

    def zset_wait(self, args):
        """For BZPOPMIN, BZPOPMAX, BZMPOP: what it waits on when there is nothing to pop (the
        keys, the type, the timeout in seconds (0: for ever), the reply on timeout); or the error
        its arguments earn (it then runs, and answers it)."""
        if args[0].upper() == b"BZMPOP":
            parsed = _mpop_arguments(args, 2)
            if parsed.__class__ is Error:
                return parsed
            keys, raw = parsed[0], args[1]
        else:
            keys, raw = args[1:-1], args[-1]
        timeout = timeout_ms(raw)
        if timeout.__class__ is Error:
            return timeout
        return keys, ZSet, timeout / 1000, NULL_ARRAY

    # ------------------------------------------------------------------ random members

    def cmd_zrandmember(self, args):
        if len(args) == 2:
            return self._zrandom_member(args[1])
        count = parse_int64(args[2])
        if count is None:
            return NOT_INTEGER
        if count == INT64_MIN:
            return COUNT_OUT_OF_RANGE
        if len(args) > 4 or (len(args) == 4 and option(args[3]) != b"WITHSCORES"):
            return SYNTAX_ERROR
        withscores = len(args) == 4
        if withscores and not -(INT64_MAX // 2) <= count <= INT64_MAX // 2:
            return OUT_OF_RANGE
        z = self.typed(args[1], ZSet)
        if z is None or count == 0:
            return []
        order = z.order
        n = len(order)
        if count >= n and count != 1:  # the whole set, in order: nothing random
            return _reply(order, withscores)
        if count < -MAX_RANDOM_MEMBERS:
            return OUT_OF_RANGE
        self.replicate_as()  # the backup must not pick again: it runs nothing
        if count < 0 or count == 1:
            randrange = random.randrange
            picks = [order[randrange(n)] for _ in range(-count if count < 0 else 1)]
        else:
            picks = [order[i] for i in random.sample(range(n), count)]
        return _reply(picks, withscores)

    def _zrandom_member(self, key: bytes):
        """ZRANDMEMBER key: one member, or nil."""
        z = self.typed(key, ZSet)
        if z is None:
            return None
        if len(z.order) == 1:
            return z.order[0][1]
        self.replicate_as()  # the backup must not pick again: it runs nothing
        return z.order[random.randrange(len(z.order))][1]

    # ------------------------------------------------------------------ union, intersection, difference

    def cmd_zunion(self, args):
        return self._zcombine(args, UNION, "zunion", None)

    def cmd_zinter(self, args):
        return self._zcombine(args, INTER, "zinter", None)

    def cmd_zdiff(self, args):
        return self._zcombine(args, DIFF, "zdiff", None)

    def cmd_zintercard(self, args):
        return self._zcombine(args, INTER, "zintercard", None, cardinality=True)

    def cmd_zunionstore(self, args):
        return self._zcombine(args, UNION, "zunionstore", args[1])

    def cmd_zinterstore(self, args):
        return self._zcombine(args, INTER, "zinterstore", args[1])

    def cmd_zdiffstore(self, args):
        return self._zcombine(args, DIFF, "zdiffstore", args[1])

    def _zcombine(self, args, op: str, name: str, dst: bytes | None, cardinality: bool = False):
        """Redis's zunionInterDiffGenericCommand: numkeys, the keys (sorted sets or sets), then
        WEIGHTS, AGGREGATE, WITHSCORES or LIMIT as the command takes them."""
        at = 1 if dst is None else 2
        setnum = parse_int64(args[at])
        if setnum is None:
            return NOT_INTEGER
        if setnum < 1:
            return Error(f"ERR at least 1 input key is needed for '{name}' command")
        if setnum > len(args) - at - 1:
            return SYNTAX_ERROR
        sources = []
        for key in islice(args, at + 1, at + 1 + setnum):
            value = self.lookup(key)
            if value is not None and value.__class__ is not ZSet and value.__class__ is not set:
                raise CommandError(WRONGTYPE)
            sources.append(value)
        options = _combine_options(args, at + 1 + setnum, setnum, op, dst is not None, cardinality)
        if options.__class__ is Error:
            return options
        weights, how, withscores, limit = options
        if op is DIFF:
            result = _difference(sources)
        else:
            inputs = sorted(zip(sources, weights), key=lambda source: _cardinality(source[0]))  # stable
            if op is UNION:
                result = _union(inputs, how)
            elif cardinality:
                return _intersection_size(inputs, limit)
            else:
                result = _intersection(inputs, how)
        if dst is not None:
            if not result:
                self.delete(dst)
                return 0
            self.store(dst, new_zset(result))
            return len(result)
        return _reply(sorted((score, member) for member, score in result.items()), withscores)

    # ------------------------------------------------------------------ ZSCAN

    def cmd_zscan(self, args):
        cursor = parse_cursor(args[2])
        if cursor is None:
            return INVALID_CURSOR
        z = self.typed(args[1], ZSet)
        if z is None:
            return [b"0", []]
        options = scan_options(args, 3)
        if options.__class__ is Error:
            return options
        count, match, _ = options
        listpack = encoding(z) == "listpack"
        scores = z.scores
        if listpack:
            following, members = b"0", (member for _, member in z.order)
        else:
            following, members = self.scan_page(args[1], scores, cursor, count, scores.__contains__)
        return [following, [word for member in members if match is None or match(member)
                            for word in (member, scan_score(scores[member], listpack))]]


# ---------------------------------------------------------------------------- argument parsing


def _mpop_arguments(args, at: int):
    """ZMPOP's and BZMPOP's numkeys (at ``args[at]``), keys, MIN|MAX and COUNT: (keys, highest,
    count), or the error."""
    numkeys = parse_int64(args[at])
    if numkeys is None or numkeys < 1:
        return NUMKEYS
    where = at + numkeys + 1
    if where >= len(args):
        return SYNTAX_ERROR
    side = option(args[where])
    if side != b"MIN" and side != b"MAX":
        return SYNTAX_ERROR
    count = None
    j = where + 1
    while j < len(args):
        if count is None and option(args[j]) == b"COUNT" and j + 1 < len(args):
            count = parse_int64(args[j + 1])
            if count is None or count < 1:
                return COUNT_POSITIVE
            j += 2
        else:
            return SYNTAX_ERROR
    return args[at + 1:where], side == b"MAX", count or 1


def _combine_options(args, j: int, setnum: int, op: str, store: bool, cardinality: bool):
    """The options after ZUNION's (and co.'s) keys: (weights, aggregate, withscores, limit), or
    the error. Each command takes only some; a repeated one counts again."""
    weights, how, withscores, limit = [1.0] * setnum, SUM, False, 0
    combining = op is not DIFF and not cardinality
    n = len(args)
    while j < n:
        remaining = n - j
        word = option(args[j])
        if combining and remaining >= setnum + 1 and word == b"WEIGHTS":
            for i in range(setnum):
                weight = parse_score(args[j + 1 + i])
                if weight is None:
                    return WEIGHT_NOT_FLOAT
                weights[i] = weight
            j += setnum + 1
        elif combining and remaining >= 2 and word == b"AGGREGATE":
            how = {b"SUM": SUM, b"MIN": MIN, b"MAX": MAX}.get(option(args[j + 1]))
            if how is None:
                return SYNTAX_ERROR
            j += 2
        elif not store and not cardinality and word == b"WITHSCORES":
            withscores = True
            j += 1
        elif cardinality and remaining >= 2 and word == b"LIMIT":
            limit = parse_int64(args[j + 1])
            if limit is None or limit < 0:
                return LIMIT_NEGATIVE
            j += 2
        else:
            return SYNTAX_ERROR
    return weights, how, withscores, limit


# ---------------------------------------------------------------------------- set operations


def _union(inputs, how: str) -> dict:
    """member -> aggregated weighted score, over the inputs (smallest first, as Redis)."""
    result: dict = {}
    for value, weight in inputs:
        for member, score in _pairs(value):
            score = _weighted(weight, score)
            current = result.get(member)
            result[member] = score if current is None else _aggregate(how, current, score)
    return result


def _intersection(inputs, how: str) -> dict:
    """member -> aggregated weighted score, for the members of every input."""
    first, weight = inputs[0]
    result: dict = {}
    for member, score in _pairs(first):
        total = _weighted(weight, score)
        for value, other_weight in islice(inputs, 1, None):
            found = score if value is first else _score_in(value, member)
            if found is None:
                break
            total = _aggregate(how, total, found * other_weight)
        else:
            result[member] = total
    return result


def _intersection_size(inputs, limit: int) -> int:
    """ZINTERCARD: how many members every input has, counting up to ``limit`` (0: no limit)."""
    first = inputs[0][0]
    others = [value for value, _ in islice(inputs, 1, None)]
    count = 0
    for member, _ in _pairs(first):
        if all(value is first or _score_in(value, member) is not None for value in others):
            count += 1
            if count == limit:
                break
    return count


def _difference(sources) -> dict:
    """member -> score of the first input's members that no other input has."""
    first = sources[0]
    others = [value for value in islice(sources, 1, None) if value is not None]
    return {member: score for member, score in _pairs(first)
            if not any(_score_in(value, member) is not None for value in others)}
