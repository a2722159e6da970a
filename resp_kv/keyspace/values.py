"""What a key's value is: one Python object per Redis type, and what every type must answer
for the keyspace as a whole (its TYPE name, a copy, its transfer to a new backup, its digest).

    string  bytes            (immutable: shared freely)
    hash    dict             field -> value, insertion ordered
    list    collections.deque
    set     set
    zset    ZSet             member -> score, with the members in (score, member) order

The containers are changed in place by the type's commands (``hashes.py``, ``lists.py``,
``sets.py``, ``zsets.py``), always through ``Keyspace.container`` and ``Keyspace.changed``
(db.py), which keep a state transfer's snapshot unchanged and tell WATCH. An empty container
is never stored: a command that empties one deletes the key, as Redis does.

This module decides how values look on the wire of a state transfer (``PB.LOAD``): a value is
one or more pieces ``(type, words)``; a large container is cut into pieces of a bounded size,
each appended to the key in turn by the receiver.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from itertools import islice

from sortedcontainers import SortedList


class ZSet:
    """A sorted set: ``scores`` (member -> score) and ``order`` ((score, member) pairs, sorted,
    which is Redis's order: by score, then members byte by byte)."""

    __slots__ = ("scores", "order")

    def __init__(self, pairs=()):
        self.scores: dict[bytes, float] = {}
        self.order = SortedList()
        for member, score in pairs:
            self.add(member, score)

    def __len__(self) -> int:
        return len(self.scores)

    def __bool__(self) -> bool:
        return bool(self.scores)

    def add(self, member: bytes, score: float) -> None:
        """Insert ``member`` or change its score."""
        old = self.scores.get(member)
        if old is not None:
            if old == score:
                return
            self.order.remove((old, member))
        self.scores[member] = score
        self.order.add((score, member))

    def discard(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def rank(self, member: bytes) -> int | None:
        """The member's 0-based position in ascending order, None if it is not there."""
        score = self.scores.get(member)
        return None if score is None else self.order.index((score, member))

    def copy(self) -> "ZSet":
        new = ZSet()
        new.scores = dict(self.scores)
        new.order = SortedList(self.order)  # already sorted: a linear pass
        return new


TYPE_NAMES = {bytes: "string", dict: "hash", deque: "list", set: "set", ZSet: "zset"}


def type_name(value) -> str:
    """TYPE's answer for a value (None: "none")."""
    return "none" if value is None else TYPE_NAMES[value.__class__]


# Redis 7.0's defaults for its compact encodings (hash-max-listpack-entries and -value,
# set-max-intset-entries, zset-max-listpack-entries and -value; embstr up to 44 bytes).
HASH_LISTPACK_ENTRIES, ZSET_LISTPACK_ENTRIES, LISTPACK_VALUE, INTSET_ENTRIES, EMBSTR_SIZE = 512, 128, 64, 512, 44
SHARED_INTEGERS = 10000  # Redis shares the objects of the integers 0..9999


def integer_string(value: bytes) -> int | None:
    """The integer a string is the canonical decimal of (Redis keeps those as integers)."""
    if not 0 < len(value) <= 20 or not (value.isdigit() or (value[:1] == b"-" and value[1:].isdigit())):
        return None
    number = int(value)
    return number if b"%d" % number == value and -2**63 <= number < 2**63 else None


def intset_order(members: set) -> list[bytes] | None:
    """A set's members in Redis's intset order (ascending integers), if Redis would keep it as an
    intset (all canonical 64-bit integers, at most 512 of them); None otherwise."""
    if len(members) > INTSET_ENTRIES:
        return None
    numbers = []
    for member in members:
        number = integer_string(member)
        if number is None:
            return None
        numbers.append((number, member))
    numbers.sort()
    return [member for _, member in numbers]


def encoding(value) -> str:
    """OBJECT ENCODING's answer, from what the value holds now (Redis also keeps a container's
    larger encoding once it had to take it, and a string APPEND or SETRANGE made as "raw")."""
    kind = value.__class__
    if kind is bytes:
        if integer_string(value) is not None:
            return "int"
        return "embstr" if len(value) <= EMBSTR_SIZE else "raw"
    if kind is deque:
        return "quicklist"
    if kind is set:
        return "hashtable" if intset_order(value) is None else "intset"
    if kind is dict:
        small = len(value) <= HASH_LISTPACK_ENTRIES and all(
            len(f) <= LISTPACK_VALUE and len(v) <= LISTPACK_VALUE for f, v in value.items())
        return "listpack" if small else "hashtable"
    small = len(value) <= ZSET_LISTPACK_ENTRIES and all(len(m) <= LISTPACK_VALUE for m in value.scores)
    return "listpack" if small else "skiplist"


def refcount(value) -> int:
    """OBJECT REFCOUNT's answer: Redis's shared small integers count as referenced forever."""
    number = integer_string(value) if value.__class__ is bytes else None
    return 2**31 - 1 if number is not None and 0 <= number < SHARED_INTEGERS else 1


DICT_ENTRY = 24  # bytes a dict spends per key beyond its objects (hash, key, value pointers)
SORTED_ENTRY = sys.getsizeof((0.0, b"")) + sys.getsizeof(0.0) + 8  # a zset member's (score, member) in order


def memory_usage(key: bytes, value, samples: int | None) -> int:
    """MEMORY USAGE's answer: about how many bytes this process holds for the key and its value
    (Python's own object sizes, not Redis's); a container's elements estimated from its first
    ``samples`` of them (None: all), as Redis samples them."""
    size = sys.getsizeof(key) + DICT_ENTRY
    kind = value.__class__
    if kind is bytes:
        return size + sys.getsizeof(value)
    if kind is ZSet:
        container, each = value.scores, lambda member: sys.getsizeof(member) + SORTED_ENTRY
    elif kind is dict:
        container, each = value, lambda field: sys.getsizeof(field) + sys.getsizeof(value[field])
    else:
        container, each = value, sys.getsizeof
    sample = list(islice(container, samples))
    per_element = sum(map(each, sample)) / len(sample) if sample else 0
    return size + sys.getsizeof(container) + round(per_element * len(container))


def copy_value(value):
    """An independent copy (COPY, and a container a snapshot still holds, before it changes)."""
    kind = value.__class__
    if kind is bytes:
        return value
    if kind is ZSet:
        return value.copy()
    return kind(value) if kind is not dict else dict(value)


# ------------------------------------------------------------------ state transfer


def format_score(score: float) -> bytes:
    """A score as exact text (``repr`` round-trips every double; inf and -inf as Redis spells them)."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    return repr(score).encode()


def pieces(value, size: int):
    """A value as transfer pieces: (type name, words), each of at most ``size`` words (a pair
    of words, at least). Made one at a time, as they are sent: a container being sent is frozen
    (never changed in place: ``Keyspace.container`` copies it first), so it is read lazily."""
    kind = value.__class__
    if kind is bytes:
        yield b"string", [value]
        return
    name = TYPE_NAMES[kind].encode()
    if kind is dict:
        items, step = value.items(), max(1, size // 2)
    elif kind is ZSet:
        items, step = ((member, format_score(score)) for score, member in value.order), max(1, size // 2)
    else:
        items, step = value, size
    items = iter(items)
    while piece := list(islice(items, step)):
        yield name, ([w for pair in piece for w in pair] if kind is dict or kind is ZSet else piece)


def add_piece(data: dict, key: bytes, kind: bytes, words: list[bytes]) -> None:
    """Put a transfer piece into a database's data: a string is set, a container's piece is
    appended to what the key already holds (the pieces of a value arrive in order)."""
    if kind == b"string":
        data[key] = words[0]
        return
    value = data.get(key)
    if kind == b"hash":
        value = data.setdefault(key, {})
        value.update(zip(words[::2], words[1::2]))
    elif kind == b"list":
        data.setdefault(key, deque()).extend(words)
    elif kind == b"set":
        data.setdefault(key, set()).update(words)
    elif kind == b"zset":
        if value is None:
            value = data[key] = ZSet()
        for member, score in zip(words[::2], words[1::2]):
            value.add(member, float(score))
    else:
        raise ValueError(f"unknown type {kind!r}")


REQUEST = b"request"  # not a value: a request that rebuilds state no key holds (SCRIPT LOAD ...)
PIECE_TYPES = (b"string", b"hash", b"list", b"set", b"zset", REQUEST)


def digest_words(value) -> list[bytes]:
    """A value as words that are equal exactly when the values are (order where it is part of the
    value, sorted where it is not)."""
    kind = value.__class__
    if kind is bytes:
        return [b"string", value]
    if kind is dict:
        return [b"hash", *(w for pair in sorted(value.items()) for w in pair)]
    if kind is deque:
        return [b"list", *value]
    if kind is set:
        return [b"set", *sorted(value)]
    return [b"zset", *(w for score, member in value.order for w in (member, format_score(score)))]
