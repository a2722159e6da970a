"""The hashes commands, as Redis 7.0's ``t_hash.c`` defines them: each one small method of
:class:`HashCommands`, mixed into the store. Replies and error wording are redis-server's.

A hash is a dict (field -> value, both bytes), in insertion order: the order of a small Redis
hash (a listpack: a new field goes last, a changed one stays where it is, a deleted one goes).
HRANDFIELD picks at random: the backup runs nothing for it (``replicate_as``). HSCAN returns a
small hash (a listpack in Redis) whole; a larger one page by page (scan.py).
"""

from __future__ import annotations

import random
from itertools import islice

from ..commands import SYNTAX_ERROR, option, wrong_arity
from ..protocol import OK, Error, Pairs
from .scan import INVALID_CURSOR, parse_cursor, scan_options
from .values import encoding
from .numbers import (
    INFINITY, INT64_MAX, INT64_MIN, NOT_FLOAT, NOT_INTEGER, add_long_doubles, format_long_double,
    parse_int64, parse_long_double,
)

NOT_AN_INTEGER = Error("ERR hash value is not an integer")
NOT_A_FLOAT = Error("ERR hash value is not a float")
OVERFLOW = Error("ERR increment or decrement would overflow")
NAN_OR_INFINITY = Error("ERR value is NaN or Infinity")
WOULD_BE_NAN_OR_INFINITY = Error("ERR increment would produce NaN or Infinity")
OUT_OF_RANGE = Error("ERR value is out of range")
COUNT_OUT_OF_RANGE = Error(f"ERR value is out of range, value must between {-INT64_MAX} and {INT64_MAX}")

# HRANDFIELD with a negative count may repeat fields: it answers that many. Redis 7.0 would try
# to answer even 2**63 - 1 of them (and run out of memory); this many at most, else OUT_OF_RANGE.
MAX_RANDOM_FIELDS = 10_000_000


class HashCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``typed``, ``container``,
    ``changed``, ``store``, ``delete``, ``replicate_as``."""

    # ------------------------------------------------------------------ setting fields

    def _set_fields(self, args, name: str):
        """HSET / HMSET: the fields set, and how many of them are new (or the arity error)."""
        if len(args) % 2:
            return wrong_arity(name)
        key = args[1]
        h = self.container(key, dict, create=True)
        size = len(h)
        for i in range(2, len(args), 2):
            h[args[i]] = args[i + 1]
        self.changed(key, h)
        return len(h) - size

    def cmd_hset(self, args):
        return self._set_fields(args, "hset")

    def cmd_hmset(self, args):
        added = self._set_fields(args, "hmset")
        return added if added.__class__ is Error else OK

    def cmd_hsetnx(self, args):
        key, field = args[1], args[2]
        h = self.container(key, dict, create=True)
        if field in h:
            return 0
        h[field] = args[3]
        self.changed(key, h)
        return 1

    def cmd_hdel(self, args):
        key = args[1]
        h = self.container(key, dict)
        if h is None:
            return 0
        deleted = 0
        for field in args[2:]:
            if h.pop(field, None) is not None:
                deleted += 1
                if not h:
                    break
        if deleted:
            self.changed(key, h)
        return deleted

    # ------------------------------------------------------------------ numbers

    def _number_field(self, key: bytes, field: bytes):
        """The hash at ``key`` to change (None if there is none: nothing created yet) and the
        current value of ``field`` (None if it has none)."""
        h = self.container(key, dict)
        return h, (None if h is None else h.get(field))

    def _put_number(self, key: bytes, h, field: bytes, text: bytes) -> None:
        if h is None:
            h = self.container(key, dict, create=True)
        h[field] = text
        self.changed(key, h)

    def cmd_hincrby(self, args):
        key, field = args[1], args[2]
        delta = parse_int64(args[3])
        if delta is None:
            return NOT_INTEGER
        h, old = self._number_field(key, field)
        value = 0 if old is None else parse_int64(old)
        if value is None:
            return NOT_AN_INTEGER
        value += delta
        if not INT64_MIN <= value <= INT64_MAX:
            return OVERFLOW
        self._put_number(key, h, field, b"%d" % value)
        return value

    def cmd_hincrbyfloat(self, args):
        key, field = args[1], args[2]
        delta = parse_long_double(args[3])
        if delta is None:
            return NOT_FLOAT
        if delta in (INFINITY, -INFINITY):
            return NAN_OR_INFINITY
        h, old = self._number_field(key, field)
        value = parse_long_double(b"0" if old is None else old)
        if value is None:
            return NOT_A_FLOAT
        value = add_long_doubles(value, delta)
        if value is None or value in (INFINITY, -INFINITY):
            return WOULD_BE_NAN_OR_INFINITY
        text = format_long_double(value)
        self._put_number(key, h, field, text)
        return text

    # ------------------------------------------------------------------ reading

    def cmd_hget(self, args):
        h = self.typed(args[1], dict)
        return None if h is None else h.get(args[2])

    def cmd_hmget(self, args):
        h = self.typed(args[1], dict)
        if h is None:
            return [None] * (len(args) - 2)
        get = h.get
        return [get(field) for field in args[2:]]

    def cmd_hgetall(self, args):
        h = self.typed(args[1], dict)
        return {} if h is None else dict(h)

    def cmd_hkeys(self, args):
        h = self.typed(args[1], dict)
        return [] if h is None else list(h)

    def cmd_hvals(self, args):
        h = self.typed(args[1], dict)
        return [] if h is None else list(h.values())

    def cmd_hexists(self, args):
        h = self.typed(args[1], dict)
        return 1 if h is not None and args[2] in h else 0

    def cmd_hlen(self, args):
        h = self.typed(args[1], dict)
        return 0 if h is None else len(h)

    def cmd_hstrlen(self, args):
        h = self.typed(args[1], dict)
        return 0 if h is None else len(h.get(args[2], b""))

    # ------------------------------------------------------------------ HRANDFIELD

    def cmd_hrandfield(self, args):
        if len(args) == 2:
            return self._random_field(args[1])
        count = parse_int64(args[2])
        if count is None:
            return NOT_INTEGER
        if count == INT64_MIN:
            return COUNT_OUT_OF_RANGE
        if len(args) > 4 or (len(args) == 4 and option(args[3]) != b"WITHVALUES"):
            return SYNTAX_ERROR
        with_values = len(args) == 4
        if with_values and not -(INT64_MAX // 2) <= count <= INT64_MAX // 2:
            return OUT_OF_RANGE
        h = self.typed(args[1], dict)
        if h is None or count == 0:
            return []
        if len(h) <= count:  # the whole hash: nothing random
            return Pairs(list(h.items())) if with_values else list(h)
        if count < -MAX_RANDOM_FIELDS:
            return OUT_OF_RANGE
        self.replicate_as()  # the backup must not pick again: it runs nothing
        if count < 0 or count == 1:
            fields = random.choices(list(h), k=-count if count < 0 else 1)
        else:
            fields = random.sample(list(h), count)
        return Pairs([(f, h[f]) for f in fields]) if with_values else fields

    def _random_field(self, key: bytes):
        """HRANDFIELD key: one field, or nil."""
        h = self.typed(key, dict)
        if h is None:
            return None
        if len(h) == 1:
            return next(iter(h))
        self.replicate_as()  # the backup must not pick again: it runs nothing
        return next(islice(h, random.randrange(len(h)), None))

    # ------------------------------------------------------------------ HSCAN

    def cmd_hscan(self, args):
        cursor = parse_cursor(args[2])
        if cursor is None:
            return INVALID_CURSOR
        h = self.typed(args[1], dict)
        if h is None:
            return [b"0", []]
        options = scan_options(args, 3)
        if options.__class__ is Error:
            return options
        count, match, _ = options
        if encoding(h) == "listpack":  # whole, at once, as Redis answers a listpack
            following, fields = b"0", h
        else:
            following, fields = self.scan_page(args[1], h, cursor, count, h.__contains__)
        return [following, [w for f in fields if match is None or match(f) for w in (f, h[f])]]
