"""The SORT and SORT_RO commands, as Redis 7.0's ``sort.c`` defines them: each one small method of
:class:`SortCommands`, mixed into the store. Replies and error wording are redis-server's.

How redis-server orders things, which this module reproduces:

* Numeric sorting compares the weights as doubles (C's ``strtod``: leading spaces, hex, "inf",
  the text up to a NUL byte; no NaN, no overflow, no inexact underflow), equal weights by the
  elements' bytes: a total order.
* ALPHA compares bytes with ``strcoll`` (redis-server runs under a C / C.UTF-8 collation: byte
  order, but a string ends at its first NUL byte), or with a full byte comparison when the result
  is stored. Weights from ``BY`` that are missing sort first. Elements that compare equal keep
  their input order (glibc's ``qsort`` is a stable merge sort); with ``BY`` and a ``LIMIT`` that
  leaves elements out, Redis sorts partially with its own quicksort (``pqsort.c``), reproduced
  here for that case.
* The input order: a list's; a set's is its hash table's in Redis (random), here the intset
  order (ascending integers) when Redis would hold the set as an intset, else the members' byte
  order where the order can show; a sorted set's by score (Redis: its hash table's, random).
  That keeps ``SORT ... STORE`` deterministic, so the backup that runs it again gets the same.
* ``BY`` a pattern without ``*`` does not sort: a list or sorted set keeps its order (``DESC``
  reverses it), a set comes in its iteration order, but with ``STORE`` (or from a script) a set
  is sorted ALPHA instead, so the stored list is the same everywhere.
"""

from __future__ import annotations

import re
from collections import deque
from fractions import Fraction
from itertools import islice

from ..commands import NOT_INTEGER, SYNTAX_ERROR
from ..protocol import Error
from .db import WRONGTYPE, CommandError
from .numbers import parse_int64
from .pqsort import pqsort
from .values import ZSet, intset_order

NOT_DOUBLE = Error("ERR One or more scores can't be converted into double")

# C's strtod, as glibc reads a number (after leading C spaces): decimal, hex, infinity.
_C_SPACES = b" \t\n\v\f\r"
_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?")
_INFINITY = re.compile(rb"[+-]?inf(?:inity)?", re.IGNORECASE)
_MIN_NORMAL = 2.2250738585072014e-308
_INF = float("inf")


def c_string(raw: bytes) -> bytes:
    """What C sees of a string: the bytes before its first NUL."""
    return raw[:raw.index(b"\0")] if b"\0" in raw else raw


def sort_score(raw: bytes) -> float | None:
    """A weight as Redis's SORT reads it (``strtod`` up to the end of the C string, no NaN, no
    ERANGE): the double, or None if Redis cannot convert it."""
    digits = raw[1:] if raw[:1] == b"-" else raw
    if digits.isdigit() and len(digits) < 300:  # the usual integer: nothing to check
        return float(raw)
    text = c_string(raw)
    if not text:
        return 0.0  # nothing converted, and the end pointer is at the NUL: Redis takes it as 0
    text = text.lstrip(_C_SPACES)
    if _DECIMAL.fullmatch(text):
        value = float(text)
        if value == _INF or value == -_INF:
            return None  # overflow
        if -_MIN_NORMAL <= value <= _MIN_NORMAL:
            mantissa = text.lower().partition(b"e")[0]
            if _underflows(value, mantissa.strip(b"+-.0") != b"", lambda: Fraction(text.decode())):
                return None
        return value
    hexa = _HEX.fullmatch(text)
    if hexa and (hexa.group(2) or hexa.group(3)):
        return _hex_score(hexa)
    if _INFINITY.fullmatch(text):
        return -_INF if text[:1] == b"-" else _INF
    return None


def _hex_score(match: re.Match) -> float | None:
    try:
        value = float.fromhex(match.group(0).decode())
    except OverflowError:
        return None
    sign, whole, part, power = match.group(1), match.group(2), match.group(3) or b"", match.group(4)

    def exact() -> Fraction:
        magnitude = Fraction(int(whole + part, 16), 16 ** len(part)) * Fraction(2) ** int(power or 0)
        return -magnitude if sign == b"-" else magnitude

    nonzero = (whole + part).strip(b"0") != b""
    if -_MIN_NORMAL <= value <= _MIN_NORMAL and _underflows(value, nonzero, exact):
        return None
    return value


def _underflows(value: float, nonzero: bool, exact) -> bool:
    """glibc's ERANGE for a tiny result (``value`` at most the smallest normal double): the
    number written (``nonzero``: not zero; ``exact()``: its exact value) is below the smallest
    normal double and was not converted exactly."""
    if not nonzero:
        return False
    if value == 0:
        return True
    written = exact()
    return abs(written) < Fraction(_MIN_NORMAL) and Fraction(value) != written


class KeyPattern:
    """A ``BY`` or ``GET`` pattern (``lookupKeyByPattern``): ``#`` is the element itself; else the
    first ``*`` is replaced by the element to name a key, a string, or with ``->field`` a hash's
    field. A pattern without ``*`` names nothing. C reads the pattern up to its first NUL."""

    __slots__ = ("itself", "star", "prefix", "suffix", "field")

    def __init__(self, pattern: bytes):
        text = c_string(pattern)
        self.itself = text == b"#"
        star = text.find(b"*")
        self.star = star >= 0
        arrow = text.find(b"->", star + 1) if self.star else -1
        if arrow >= 0 and arrow + 2 < len(text):
            self.prefix, self.suffix, self.field = pattern[:star], pattern[star + 1:arrow], pattern[arrow + 2:]
        else:
            self.prefix, self.suffix, self.field = pattern[:star], pattern[star + 1:], None

    def fetch(self, lookup, element: bytes) -> bytes | None:
        if self.itself:
            return element
        if not self.star:
            return None
        value = lookup(self.prefix + element + self.suffix)
        if self.field is None:
            return value if value.__class__ is bytes else None
        return value.get(self.field) if value.__class__ is dict else None


class SortRequest:
    """SORT's options, parsed (Redis's order: the last LIMIT, BY, STORE, ASC/DESC wins)."""

    __slots__ = ("desc", "alpha", "offset", "count", "by", "dontsort", "gets", "store")

    def __init__(self) -> None:
        self.desc = self.alpha = self.dontsort = False
        self.offset, self.count = 0, -1
        self.by: KeyPattern | None = None
        self.gets: list[KeyPattern] = []
        self.store: bytes | None = None


def parse_sort(args: list[bytes], readonly: bool):
    """A SortRequest, or the error reply for the first bad option."""
    request = SortRequest()
    j, argc = 2, len(args)
    while j < argc:
        option, left = args[j].upper(), argc - j - 1
        if option == b"ASC":
            request.desc = False
        elif option == b"DESC":
            request.desc = True
        elif option == b"ALPHA":
            request.alpha = True
        elif option == b"LIMIT" and left >= 2:
            offset, count = parse_int64(args[j + 1]), parse_int64(args[j + 2])
            if offset is None or count is None:
                return NOT_INTEGER
            request.offset, request.count = offset, count
            j += 2
        elif option == b"STORE" and left >= 1 and not readonly:
            request.store = args[j + 1]
            j += 1
        elif option == b"BY" and left >= 1:
            request.by = KeyPattern(args[j + 1])
            if not request.by.star:
                request.dontsort = True  # a constant weight: nothing to sort (never undone)
            j += 1
        elif option == b"GET" and left >= 1:
            request.gets.append(KeyPattern(args[j + 1]))
            j += 1
        else:
            return SYNTAX_ERROR
        j += 1
    return request


def limit_range(offset: int, count: int, length: int) -> tuple[int, int]:
    """LIMIT as Redis clamps it: the [start, stop) slice of the sorted elements to output."""
    start = min(max(offset, 0), length)
    count = min(max(count, -1), length)
    stop = length if count < 0 else min(start + count, length)
    return start, max(start, stop)


class SortCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``lookup``, ``store``,
    ``delete``. SORT is deterministic given the data (no ``replicate_as``). A store running a
    script sets ``in_script`` (then a set is sorted even with ``BY`` a constant, as Redis does)."""

    def cmd_sort(self, args):
        return self._sort(args, readonly=False)

    def cmd_sort_ro(self, args):
        return self._sort(args, readonly=True)

    def _sort(self, args, readonly: bool):
        request = parse_sort(args, readonly)
        if request.__class__ is Error:
            return request
        source = self.lookup(args[1])
        kind = source.__class__
        if source is None:
            source, kind = (), deque
        elif kind is not deque and kind is not set and kind is not ZSet:
            raise CommandError(WRONGTYPE)
        if request.dontsort and kind is set and (request.store is not None or getattr(self, "in_script", False)):
            request.dontsort, request.alpha, request.by = False, True, None  # the same order everywhere
        start, stop = limit_range(request.offset, request.count, len(source))
        if request.dontsort:
            chosen = self._unsorted(source, kind, request.desc, start, stop)
        else:
            chosen = self._sorted(source, kind, request, start, stop)
            if chosen is None:
                return NOT_DOUBLE
        return self._output(chosen, request)

    # ------------------------------------------------------------------ choosing the elements

    @staticmethod
    def _unsorted(source, kind, desc: bool, start: int, stop: int) -> list[bytes]:
        """BY <constant>: the elements in the key's own order (a set's: its iteration order)."""
        if kind is ZSet:
            if desc:
                start, stop = len(source) - stop, len(source) - start
            return [member for _, member in source.order.islice(start, stop, reverse=desc)]
        if kind is set:
            order = intset_order(source)
            return (order if order is not None else list(source))[start:stop]
        return list(islice(reversed(source) if desc else source, start, stop))

    def _sorted(self, source, kind, request: SortRequest, start: int, stop: int) -> list[bytes] | None:
        """The elements sorted as the request says, then sliced; None if a weight is no number."""
        ties_show = request.alpha and (request.by is not None or request.store is None)
        elements = self._input_order(source, kind, ties_show)
        if not request.alpha:
            ordered = self._numeric(elements, request)
        elif request.by is None:
            ordered = self._alphabetic(elements, request)
        else:
            weights = self._weights(elements, request.by)
            if request.store is None:
                weights = [None if w is None else c_string(w) for w in weights]
            if (start, stop) != (0, len(elements)) and start < stop:
                return partial_sort(elements, weights, request.desc, start, stop - 1)[start:stop]
            ordered = [e for _, e in sorted(zip(weights, elements), key=_missing_first, reverse=request.desc)]
        return None if ordered is None else ordered[start:stop]

    @staticmethod
    def _input_order(source, kind, ties_show: bool) -> list[bytes]:
        """The elements in the order the sort starts from: where equal elements can show it, one
        that depends on the value only (a set's intset order, else its members' byte order; a
        sorted set's score order)."""
        if kind is deque:
            return list(source)
        if kind is ZSet:
            return [member for _, member in source.order] if ties_show else list(source.scores)
        if not ties_show:
            return list(source)
        order = intset_order(source)
        return order if order is not None else sorted(source)

    def _weights(self, elements: list[bytes], by: KeyPattern) -> list[bytes | None]:
        lookup = self.lookup
        return [by.fetch(lookup, element) for element in elements]

    def _numeric(self, elements: list[bytes], request: SortRequest) -> list[bytes] | None:
        if request.by is None:
            scores = [sort_score(element) for element in elements]
        else:
            scores = [0.0 if w is None else sort_score(w) for w in self._weights(elements, request.by)]
        if None in scores:
            return None
        return [e for _, e in sorted(zip(scores, elements), reverse=request.desc)]

    @staticmethod
    def _alphabetic(elements: list[bytes], request: SortRequest) -> list[bytes]:
        """ALPHA without BY: byte order; strcoll's (up to a NUL byte, equal ones stay in input
        order) unless the result is stored."""
        if request.store is None and any(b"\0" in element for element in elements):
            return sorted(elements, key=c_string, reverse=request.desc)
        return sorted(elements, reverse=request.desc)

    # ------------------------------------------------------------------ the reply, or STORE

    def _output(self, chosen: list[bytes], request: SortRequest):
        gets = request.gets
        if gets:
            lookup = self.lookup
            items = [get.fetch(lookup, element) for element in chosen for get in gets]
        else:
            items = chosen
        if request.store is None:
            return items
        if items:
            self.store(request.store, deque(b"" if item is None else item for item in items))
        else:
            self.delete(request.store)
        return len(items)


def _missing_first(pair: tuple[bytes | None, bytes]):
    weight = pair[0]
    return (False, b"") if weight is None else (True, weight)


# ---------------------------------------------------------------------- Redis's partial quicksort


def _compare_weights(a: bytes | None, b: bytes | None) -> int:
    if a is None or b is None:
        return 0 if a is b else (-1 if a is None else 1)
    return (a > b) - (a < b)


def partial_sort(elements: list[bytes], weights: list, desc: bool, first: int, last: int) -> list[bytes]:
    """Redis's ``pqsort`` of the elements by their ALPHA weights (missing ones first), as far as
    it sorts positions ``first``..``last``: the same order of equal weights as redis-server's."""
    sign = -1 if desc else 1
    vector = list(zip(weights, elements))

    def cmp(x, y) -> int:
        return sign * _compare_weights(x[0], y[0])

    pqsort(vector, cmp, first, last)
    return [element for _, element in vector]
