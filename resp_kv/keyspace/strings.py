"""The string commands, as Redis 7.0's ``t_string.c`` defines them: each one small method of
:class:`StringCommands`, mixed into the store, over ``Keyspace`` (the current database and
the time). Replies and error wording are redis-server's."""

from __future__ import annotations

from ..commands import SYNTAX_ERROR, wrong_arity
from ..protocol import OK, Error
from .db import WRONGTYPE, CommandError
from .numbers import (
    INFINITY, INT64_MAX, INT64_MIN, NOT_FLOAT, NOT_INTEGER, add_long_doubles, expire_time, format_long_double,
    parse_int64, parse_long_double,
)

TOO_BIG = Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
MAX_STRING = 512 * 1024 * 1024  # proto-max-bulk-len's default: what APPEND and SETRANGE may make

# SET / GETEX options (Redis's OBJ_SET_* flags)
NX, XX, GET, KEEPTTL, PERSIST, EX, PX, EXAT, PXAT = (1 << i for i in range(9))
_EXPIRES = EX | PX | EXAT | PXAT
_UNIT = {EX: 1000, PX: 1, EXAT: 1000, PXAT: 1}
_OPTION = {b"NX": NX, b"XX": XX, b"GET": GET, b"KEEPTTL": KEEPTTL, b"PERSIST": PERSIST,
           b"EX": EX, b"PX": PX, b"EXAT": EXAT, b"PXAT": PXAT}
# What each option may not be combined with, and which command takes it.
_CONFLICTS = {NX: XX, XX: NX, GET: 0, KEEPTTL: PERSIST | _EXPIRES, PERSIST: KEEPTTL | _EXPIRES,
              EX: KEEPTTL | PERSIST | EXAT | PX | PXAT, PX: KEEPTTL | PERSIST | EX | EXAT | PXAT,
              EXAT: KEEPTTL | PERSIST | EX | PX | PXAT, PXAT: KEEPTTL | PERSIST | EX | EXAT | PX}
_SET_ONLY, _GETEX_ONLY = NX | XX | GET | KEEPTTL, PERSIST


def parse_options(args: list[bytes], start: int, getex: bool):
    """SET's or GETEX's options from ``args[start:]``: (flags, the expire argument or None),
    or Redis's syntax error."""
    flags, expire = 0, None
    j = start
    while j < len(args):
        opt = _OPTION.get(args[j].upper())
        if (opt is None or flags & _CONFLICTS[opt] or opt & (_SET_ONLY if getex else _GETEX_ONLY)
                or (opt & _EXPIRES and j + 1 >= len(args))):
            return SYNTAX_ERROR
        flags |= opt
        if opt & _EXPIRES:
            j += 1
            expire = args[j]
        j += 1
    return flags, expire


class StringCommands:
    """Mixed into the store, which provides ``lookup``, ``string``, ``store`` and ``now_ms``."""

    def _expire_ms(self, flags: int, raw: bytes, command: str):
        unit = flags & _EXPIRES
        return expire_time(raw, _UNIT[unit], self.now_ms if unit & (EX | PX) else 0, command)

    def _set(self, key: bytes, value: bytes, flags: int, expire: bytes | None, command: str,
             ok=OK, aborted=None):
        """Redis's setGenericCommand."""
        when = None
        if expire is not None:
            when = self._expire_ms(flags, expire, command)
            if when.__class__ is Error:
                return when
        old = self.string(key) if flags & GET else None
        if flags & (NX | XX):
            found = old is not None if flags & GET else self.lookup(key) is not None
            if (flags & NX and found) or (flags & XX and not found):
                return old if flags & GET else aborted
        elif flags & KEEPTTL:
            self.lookup(key)  # an expired key goes first, with its time: there is no TTL to keep
        self.store(key, value, keep_ttl=bool(flags & KEEPTTL))
        if when is not None:
            self.set_expiry(key, when)
        return old if flags & GET else ok

    def cmd_set(self, args):
        if len(args) == 3:  # the usual SET, without options: store.store(), inlined
            db = self.db
            db.data[args[1]] = args[2]
            if db.expires:
                db.expires.pop(args[1], None)
            if self.watchers:
                self._touch(db, args[1])
            return OK
        parsed = parse_options(args, 3, getex=False)
        if parsed.__class__ is Error:
            return parsed
        return self._set(args[1], args[2], parsed[0], parsed[1], "set")

    def cmd_setnx(self, args):
        return self._set(args[1], args[2], NX, None, "setnx", ok=1, aborted=0)

    def cmd_setex(self, args):
        return self._set(args[1], args[3], EX, args[2], "setex")

    def cmd_psetex(self, args):
        return self._set(args[1], args[3], PX, args[2], "psetex")

    def cmd_get(self, args):
        db = self.db
        value = db.data.get(args[1])  # lookup(), inlined for the usual key without an expiry time
        if value is not None and db.expires and args[1] in db.expires:
            value = self.lookup(args[1])
        if value.__class__ is bytes or value is None:
            return value
        raise CommandError(WRONGTYPE)

    def cmd_getset(self, args):
        old = self.string(args[1])
        self.store(args[1], args[2])
        return old

    def cmd_getdel(self, args):
        value = self.string(args[1])
        if value is not None:
            self.delete(args[1])
        return value

    def cmd_getex(self, args):
        parsed = parse_options(args, 2, getex=True)
        if parsed.__class__ is Error:
            return parsed
        flags, expire = parsed
        value = self.string(args[1])
        if value is None:
            return None
        when = None
        if expire is not None:
            when = self._expire_ms(flags, expire, "getex")
            if when.__class__ is Error:
                return when
        if flags & (EXAT | PXAT) and when <= self.now_ms:
            self.delete(args[1])
        elif when is not None:
            self.set_expiry(args[1], when)
        elif flags & PERSIST:
            self.persist(args[1])
        return value

    def cmd_mget(self, args):
        lookup = self.lookup
        out = []
        for key in args[1:]:
            value = lookup(key)
            out.append(value if value.__class__ is bytes else None)
        return out

    def cmd_mset(self, args):
        if len(args) % 2 == 0:
            return wrong_arity("mset")
        for i in range(1, len(args), 2):
            self.store(args[i], args[i + 1])
        return OK

    def cmd_msetnx(self, args):
        if len(args) % 2 == 0:
            return wrong_arity("msetnx")
        if any(self.lookup(args[i]) is not None for i in range(1, len(args), 2)):
            return 0
        for i in range(1, len(args), 2):
            self.store(args[i], args[i + 1])
        return 1

    def cmd_append(self, args):
        old = self.string(args[1])
        if old is None:
            self.store(args[1], args[2])
            return len(args[2])
        if len(old) + len(args[2]) > MAX_STRING:
            return TOO_BIG
        self.store(args[1], old + args[2], keep_ttl=True)
        return len(old) + len(args[2])

    def cmd_strlen(self, args):
        value = self.string(args[1])
        return 0 if value is None else len(value)

    def cmd_getrange(self, args):
        start, end = parse_int64(args[2]), parse_int64(args[3])
        if start is None or end is None:
            return NOT_INTEGER
        value = self.string(args[1])
        if value is None or (start < 0 and end < 0 and start > end):
            return b""
        size = len(value)
        if start < 0:
            start = max(size + start, 0)
        if end < 0:
            end = max(size + end, 0)
        end = min(end, size - 1)
        return b"" if start > end or size == 0 else value[start : end + 1]

    cmd_substr = cmd_getrange

    def cmd_setrange(self, args):
        offset, piece = parse_int64(args[2]), args[3]
        if offset is None:
            return NOT_INTEGER
        if offset < 0:
            return Error("ERR offset is out of range")
        old = self.string(args[1])
        if old is None:
            if not piece:
                return 0
            old = b""
        elif not piece:
            return len(old)
        if offset + len(piece) > MAX_STRING:
            return TOO_BIG
        if len(old) < offset:
            old += b"\0" * (offset - len(old))
        value = old[:offset] + piece + old[offset + len(piece):]
        self.store(args[1], value, keep_ttl=True)
        return len(value)

    def cmd_lcs(self, args):
        a, b = self.lookup(args[1]), self.lookup(args[2])
        if (a is not None and a.__class__ is not bytes) or (b is not None and b.__class__ is not bytes):
            return Error("ERR The specified keys must contain string values")
        a, b = a or b"", b or b""
        get_len = get_idx = with_match_len = False
        min_match_len = 0
        j = 3
        while j < len(args):
            opt = args[j].upper()
            if opt == b"IDX":
                get_idx = True
            elif opt == b"LEN":
                get_len = True
            elif opt == b"WITHMATCHLEN":
                with_match_len = True
            elif opt == b"MINMATCHLEN" and j + 1 < len(args):
                min_match_len = parse_int64(args[j + 1])
                if min_match_len is None:
                    return NOT_INTEGER
                min_match_len = max(min_match_len, 0)
                j += 1
            else:
                return SYNTAX_ERROR
            j += 1
        if get_idx and get_len:
            return Error("ERR If you want both the length and indexes, please just use IDX.")
        if (len(a) + 1) * (len(b) + 1) * 4 > MAX_STRING:  # Redis's table of 32-bit lengths would not fit
            return Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        return lcs(a, b, get_len, get_idx, with_match_len, min_match_len)

    def _add(self, key: bytes, delta: int):
        old = self.string(key)
        value = 0 if old is None else parse_int64(old)
        if value is None:
            return NOT_INTEGER
        value += delta
        if not INT64_MIN <= value <= INT64_MAX:
            return Error("ERR increment or decrement would overflow")
        self.store(key, b"%d" % value, keep_ttl=True)
        return value

    def cmd_incr(self, args):
        return self._add(args[1], 1)

    def cmd_decr(self, args):
        return self._add(args[1], -1)

    def cmd_incrby(self, args):
        delta = parse_int64(args[2])
        return NOT_INTEGER if delta is None else self._add(args[1], delta)

    def cmd_decrby(self, args):
        delta = parse_int64(args[2])
        if delta is None:
            return NOT_INTEGER
        if delta == INT64_MIN:
            return Error("ERR decrement would overflow")
        return self._add(args[1], -delta)

    def cmd_incrbyfloat(self, args):
        old = self.string(args[1])
        value = parse_long_double(b"0" if old is None else old)
        delta = parse_long_double(args[2])
        if value is None or delta is None:
            return NOT_FLOAT
        value = add_long_doubles(value, delta)
        if value is None or value in (INFINITY, -INFINITY):
            return Error("ERR increment would produce NaN or Infinity")
        text = format_long_double(value)
        self.store(args[1], text, keep_ttl=True)
        return text


def lcs_rows(a: bytes, b: bytes) -> list[int]:
    """The dynamic programming table of the LCS of ``a`` and ``b``, a row per prefix of ``a``,
    each row a bit vector over ``b`` (Hyyro's bit-parallel LCS: a row is a few big-integer
    operations, not a loop over ``b``): LCS(a[:i], b[:j]) is the number of zero bits among the
    lowest ``j`` bits of ``rows[i]``."""
    full = (1 << len(b)) - 1
    where: dict[int, int] = {}  # byte -> the bits of b's positions holding it
    for j, byte in enumerate(b):
        where[byte] = where.get(byte, 0) | (1 << j)
    row = full
    rows = [row]
    for byte in a:
        matched = row & where.get(byte, 0)
        row = ((row + matched) | (row - matched)) & full
        rows.append(row)
    return rows


def lcs(a: bytes, b: bytes, get_len: bool, get_idx: bool, with_match_len: bool, min_match_len: int):
    """LCS's reply: the longest common subsequence of ``a`` and ``b`` (see :func:`lcs_rows`),
    walked back from the end as Redis walks its table (so IDX lists the same ranges, last first)."""
    rows = lcs_rows(a, b)

    def table(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    length = table(len(a), len(b))
    if get_len:
        return length
    result = bytearray(length)
    matches = []
    i, j, k = len(a), len(b), length
    start = None  # the range being walked: (a start, a end, b start, b end)
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[k - 1] = a[i - 1]
            if start is None:
                start = [i - 1, i - 1, j - 1, j - 1]
            else:  # contiguous with the range: extend it backwards
                start[0] -= 1
                start[2] -= 1
            emit = start[0] == 0 or start[2] == 0
            i, j, k = i - 1, j - 1, k - 1
        else:
            if table(i - 1, j) > table(i, j - 1):
                i -= 1
            else:
                j -= 1
            emit = start is not None
        if emit:
            size = start[1] - start[0] + 1
            if min_match_len == 0 or size >= min_match_len:
                match = [[start[0], start[1]], [start[2], start[3]]]
                matches.append(match + [size] if with_match_len else match)
            start = None
    if get_idx:
        return {"matches": matches, "len": length}
    return bytes(result)
