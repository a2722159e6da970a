"""The lists commands, as Redis 7.0's ``t_list.c`` defines them: each one small method of
:class:`ListCommands`, mixed into the store. Replies and error wording are redis-server's.

A list is a ``collections.deque``. Reads take it with ``typed``; a change takes it with
``container`` (copy-on-write for a snapshot being sent) and reports with ``changed``, which
deletes a list that became empty. Arguments are checked in Redis's order, so the same request
gets the same error (or WRONGTYPE) as on redis-server.

The blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) are here in their
non-blocking form, what Redis runs inside MULTI: they pop if a key has something, else answer
the null Redis gives there. The server shell does the waiting, with :meth:`pop_blocked` ("serve
it now if it can be served"), :meth:`blocking_keys` and :meth:`blocking_timeout`.
"""

from __future__ import annotations

import sys
from collections import deque
from itertools import compress, count as counter, islice

from ..commands import SYNTAX_ERROR, wrong_arity
from ..protocol import NULL_ARRAY, OK, Error
from .db import CommandError
from .numbers import INT64_MAX, INT64_MIN, NOT_INTEGER, parse_int64, timeout_ms

NO_SUCH_KEY = Error("ERR no such key")
INDEX_OUT_OF_RANGE = Error("ERR index out of range")
NOT_POSITIVE = Error("ERR value is out of range, must be positive")
RANK_ZERO = Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                  "or use negative to start from the end of the list")
COUNT_NEGATIVE = Error("ERR COUNT can't be negative")
MAXLEN_NEGATIVE = Error("ERR MAXLEN can't be negative")
NUMKEYS = Error("ERR numkeys should be greater than 0")
MPOP_COUNT = Error("ERR count should be greater than 0")

LEFT, RIGHT = True, False  # the head or the tail of a list ("left" in the commands' words)
_SIDES = {b"LEFT": LEFT, b"RIGHT": RIGHT}


def option(raw: bytes) -> bytes:
    """An option word as Redis's ``strcasecmp`` sees it: a C string (up to a NUL), any case."""
    return raw.split(b"\0", 1)[0].upper() if b"\0" in raw else raw.upper()


def parse_side(raw: bytes) -> bool | None:
    """LEFT or RIGHT (any case), None for anything else (a syntax error)."""
    return _SIDES.get(option(raw))


def parse_non_negative(raw: bytes, error: Error) -> int | Error:
    """Redis's getPositiveLongFromObjectOrReply: 0 .. LONG_MAX, else ``error`` (also for a
    non-integer)."""
    value = parse_int64(raw)
    return error if value is None or value < 0 else value


def list_range(items: deque, start: int, end: int) -> list[bytes]:
    """Elements ``start`` .. ``end`` (inclusive, negative from the end, clamped) as a new list,
    walked from whichever end of the deque is nearer."""
    size = len(items)
    if start < 0:
        start += size
    if end < 0:
        end += size
    if start < 0:
        start = 0
    if start > end or start >= size:
        return []
    if end >= size:
        end = size - 1
    if start == 0 and end == size - 1:
        return list(items)
    if start <= size - 1 - end:
        return list(islice(items, start, end + 1))
    tail = list(islice(reversed(items), size - 1 - end, size - start))
    tail.reverse()
    return tail


def pop_many(items: deque, count: int, left: bool) -> list[bytes]:
    """Up to ``count`` elements popped from one end, in the order they were popped."""
    if count >= len(items):
        popped = list(items) if left else list(reversed(items))
        items.clear()
        return popped
    take = items.popleft if left else items.pop
    return [take() for _ in range(count)]


def matches(items: deque, element: bytes, from_head: bool, maxlen: int):
    """The positions (LINDEX's indexes) of ``element`` among the first ``maxlen`` elements
    (0: all) seen from the head or from the tail, lazily, in that order."""
    seen = iter(items) if from_head else reversed(items)
    if maxlen:
        seen = islice(seen, maxlen)
    hits = compress(counter(), map(element.__eq__, seen))
    if from_head:
        return hits
    last = len(items) - 1
    return (last - i for i in hits)


def remove_matches(items: deque, element: bytes, limit: int) -> int:
    """LREM: remove up to ``limit`` occurrences of ``element`` (0: all; negative: the last ones)."""
    if limit == 0:
        found = items.count(element)
        if found == len(items):
            items.clear()
        elif found:
            kept = [x for x in items if x != element]
            items.clear()
            items.extend(kept)
        return found
    positions = list(islice(matches(items, element, limit > 0, 0), abs(limit)))
    if len(positions) <= 8:  # a few: delete each where it is
        for i in sorted(positions, reverse=True):
            del items[i]
    else:
        drop = set(positions)
        kept = [x for i, x in enumerate(items) if i not in drop]
        items.clear()
        items.extend(kept)
    return len(positions)


class ListCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``typed``, ``container``,
    ``changed``, ``store``, ``delete``, ``replicate_as``."""

    # ------------------------------------------------------------------ pushing

    def _push(self, args, left: bool, existing_only: bool):
        key = args[1]
        items = self.container(key, deque, create=not existing_only)
        if items is None:
            return 0
        if left:
            items.extendleft(islice(args, 2, None))
        else:
            items.extend(islice(args, 2, None))
        self.changed(key, items)
        return len(items)

    def cmd_lpush(self, args):
        return self._push(args, LEFT, False)

    def cmd_rpush(self, args):
        return self._push(args, RIGHT, False)

    def cmd_lpushx(self, args):
        return self._push(args, LEFT, True)

    def cmd_rpushx(self, args):
        return self._push(args, RIGHT, True)

    def cmd_linsert(self, args):
        where = option(args[2])
        if where not in (b"BEFORE", b"AFTER"):
            return SYNTAX_ERROR
        key = args[1]
        items = self.container(key, deque)
        if items is None:
            return 0
        try:
            at = items.index(args[3])
        except ValueError:
            return -1
        items.insert(at if where == b"BEFORE" else at + 1, args[4])
        self.changed(key, items)
        return len(items)

    # ------------------------------------------------------------------ popping

    def _pop(self, args, left: bool):
        """LPOP/RPOP key [count]: one element (bulk), or with a count an array of them."""
        if len(args) > 3:
            return wrong_arity("LPOP" if left else "RPOP")
        key = args[1]
        if len(args) == 3:
            count = parse_non_negative(args[2], NOT_POSITIVE)
            if count.__class__ is Error:
                return count
            items = self.container(key, deque)
            if items is None:
                return NULL_ARRAY
            if not count:
                return []
            popped = pop_many(items, count, left)
        else:
            items = self.container(key, deque)
            if items is None:
                return None
            popped = items.popleft() if left else items.pop()
        self.changed(key, items)
        return popped

    def cmd_lpop(self, args):
        return self._pop(args, LEFT)

    def cmd_rpop(self, args):
        return self._pop(args, RIGHT)

    def _move(self, source_key: bytes, target_key: bytes, from_left: bool, to_left: bool):
        """LMOVE: pop from one list, push onto another (maybe the same); the element, or None
        if the source is missing. WRONGTYPE for the target before anything moves."""
        source = self.container(source_key, deque)
        if source is None:
            return None
        target = self.container(target_key, deque)
        value = source.popleft() if from_left else source.pop()
        if target is None:
            target = self.container(target_key, deque, create=True)
        if to_left:
            target.appendleft(value)
        else:
            target.append(value)
        self.changed(target_key, target)
        self.changed(source_key, source)
        return value

    def cmd_lmove(self, args):
        from_left, to_left = parse_side(args[3]), parse_side(args[4])
        if from_left is None or to_left is None:
            return SYNTAX_ERROR
        return self._move(args[1], args[2], from_left, to_left)

    def cmd_rpoplpush(self, args):
        return self._move(args[1], args[2], RIGHT, LEFT)

    def _mpop_arguments(self, args, at: int):
        """LMPOP's (and BLMPOP's) ``numkeys key ... LEFT|RIGHT [COUNT count]`` from ``args[at]``:
        (keys, left, count), or the error reply."""
        numkeys = parse_int64(args[at])
        if numkeys is None or numkeys < 1:
            return NUMKEYS
        side_at = at + numkeys + 1
        if side_at >= len(args):
            return SYNTAX_ERROR
        left = parse_side(args[side_at])
        if left is None:
            return SYNTAX_ERROR
        count = None
        j = side_at + 1
        while j < len(args):
            if count is not None or j + 1 >= len(args) or option(args[j]) != b"COUNT":
                return SYNTAX_ERROR
            count = parse_int64(args[j + 1])
            if count is None or count < 1:
                return MPOP_COUNT
            j += 2
        return args[at + 1:side_at], left, count or 1

    def _mpop(self, keys, left: bool, count: int):
        """Pop up to ``count`` from the first key holding a list: [key, [elements]], or None."""
        for key in keys:
            if self.typed(key, deque) is not None:
                items = self.container(key, deque)
                popped = pop_many(items, count, left)
                self.changed(key, items)
                return [key, popped]
        return None

    def cmd_lmpop(self, args):
        parsed = self._mpop_arguments(args, 1)
        if parsed.__class__ is Error:
            return parsed
        reply = self._mpop(*parsed)
        return NULL_ARRAY if reply is None else reply

    # ------------------------------------------------------------------ reading

    def cmd_llen(self, args):
        items = self.typed(args[1], deque)
        return 0 if items is None else len(items)

    def cmd_lrange(self, args):
        start, end = parse_int64(args[2]), parse_int64(args[3])
        if start is None or end is None:
            return NOT_INTEGER
        items = self.typed(args[1], deque)
        return [] if items is None else list_range(items, start, end)

    def cmd_lindex(self, args):
        items = self.typed(args[1], deque)
        if items is None:
            return None
        index = parse_int64(args[2])
        if index is None:
            return NOT_INTEGER
        return items[index] if -len(items) <= index < len(items) else None

    def cmd_lpos(self, args):
        rank, count, maxlen = 1, None, 0
        j = 3
        while j < len(args):
            opt = option(args[j])
            if j + 1 >= len(args) or opt not in (b"RANK", b"COUNT", b"MAXLEN"):
                return SYNTAX_ERROR
            raw = args[j + 1]
            if opt == b"RANK":
                rank = parse_int64(raw)
                if rank is None:
                    return NOT_INTEGER
                if rank == 0:
                    return RANK_ZERO
            elif opt == b"COUNT":
                count = parse_non_negative(raw, COUNT_NEGATIVE)
            else:
                maxlen = parse_non_negative(raw, MAXLEN_NEGATIVE)
            if count.__class__ is Error:
                return count
            if maxlen.__class__ is Error:
                return maxlen
            j += 2
        items = self.typed(args[1], deque)
        if items is None:
            return None if count is None else []
        if rank == INT64_MIN:
            # Redis negates the rank in a C long: LONG_MIN stays negative, so every match counts
            # from the first one (seen from the tail), and COUNT's limit is never reached.
            skip, count = 0, (None if count is None else 0)
        else:
            skip = abs(rank) - 1
        hits = matches(items, args[2], rank > 0, maxlen)
        if count is None:
            return next(islice(hits, skip, None), None)
        stop = min(skip + count, sys.maxsize) if count else None
        return list(islice(hits, skip, stop))

    # ------------------------------------------------------------------ changing in place

    def cmd_lset(self, args):
        key = args[1]
        items = self.container(key, deque)
        if items is None:
            return NO_SUCH_KEY
        index = parse_int64(args[2])
        if index is None:
            return NOT_INTEGER
        if not -len(items) <= index < len(items):
            return INDEX_OUT_OF_RANGE
        items[index] = args[3]
        self.changed(key, items)
        return OK

    def cmd_lrem(self, args):
        limit = parse_int64(args[2])
        if limit is None:
            return NOT_INTEGER
        key = args[1]
        items = self.container(key, deque)
        if items is None:
            return 0
        if limit == INT64_MIN:
            limit = 0  # Redis's -LONG_MIN stays negative: never reached, so every match goes
        removed = remove_matches(items, args[3], limit)
        if removed:
            self.changed(key, items)
        return removed

    def cmd_ltrim(self, args):
        start, end = parse_int64(args[2]), parse_int64(args[3])
        if start is None or end is None:
            return NOT_INTEGER
        key = args[1]
        items = self.container(key, deque)
        if items is None:
            return OK
        size = len(items)
        if start < 0:
            start += size
        if end < 0:
            end += size
        if start < 0:
            start = 0
        if start > end or start >= size:
            items.clear()
        else:
            end = min(end, size - 1)
            drop_left, drop_right = start, size - 1 - end
            if end - start + 1 < drop_left + drop_right:  # keep few: copy them out
                kept = list_range(items, start, end)
                items.clear()
                items.extend(kept)
            else:
                for _ in range(drop_left):
                    items.popleft()
                for _ in range(drop_right):
                    items.pop()
        self.changed(key, items)  # (Redis signals the key even when nothing was trimmed)
        return OK

    # ------------------------------------------------------------------ blocking commands

    def _bpop(self, args, left: bool):
        """BLPOP/BRPOP key ... timeout, served now: [key, element], or None."""
        timeout = timeout_ms(args[-1])
        if timeout.__class__ is Error:
            return timeout
        for key in islice(args, 1, len(args) - 1):
            if self.typed(key, deque) is not None:
                items = self.container(key, deque)
                value = items.popleft() if left else items.pop()
                self.changed(key, items)
                return [key, value]
        return None

    def _blmove(self, args, from_left: bool | None, to_left: bool | None):
        """BLMOVE/BRPOPLPUSH served now: the element, or None (the source is missing; the
        target's type is not checked then, as Redis)."""
        if from_left is None or to_left is None:
            return SYNTAX_ERROR
        timeout = timeout_ms(args[-1])
        if timeout.__class__ is Error:
            return timeout
        if self.typed(args[1], deque) is None:
            return None
        return self._move(args[1], args[2], from_left, to_left)

    def _blmpop(self, args):
        """BLMPOP timeout numkeys key ... LEFT|RIGHT [COUNT n] served now: [key, [elements]],
        or None. (Redis checks numkeys and the options before the timeout.)"""
        parsed = self._mpop_arguments(args, 2)
        if parsed.__class__ is Error:
            return parsed
        timeout = timeout_ms(args[1])
        if timeout.__class__ is Error:
            return timeout
        return self._mpop(*parsed)

    def _serve(self, args):
        """The reply of a blocking command run now, or None if it finds nothing to pop."""
        name = args[0].upper()
        if name == b"BLPOP":
            return self._bpop(args, LEFT)
        if name == b"BRPOP":
            return self._bpop(args, RIGHT)
        if name == b"BLMOVE":
            return self._blmove(args, parse_side(args[3]), parse_side(args[4]))
        if name == b"BRPOPLPUSH":
            return self._blmove(args, RIGHT, LEFT)
        if name == b"BLMPOP":
            return self._blmpop(args)
        raise ValueError(f"not a blocking list command: {args[0]!r}")

    def pop_blocked(self, args):
        """Run the blocking list command ``args`` now if it can be served: its reply (an error
        reply too: syntax, timeout, WRONGTYPE), or None if no key it waits on has anything
        (then it blocks, or times out). Arity must have been checked."""
        try:
            return self._serve(args)
        except CommandError as exc:
            return exc.reply

    def blocking_keys(self, args):
        """The keys the blocking list command ``args`` waits on, or the error reply its
        arguments earn (WRONGTYPE aside: that comes from :meth:`pop_blocked`)."""
        name = args[0].upper()
        if name in (b"BLPOP", b"BRPOP"):
            keys = args[1:-1]
        elif name in (b"BLMOVE", b"BRPOPLPUSH"):
            if name == b"BLMOVE" and (parse_side(args[3]) is None or parse_side(args[4]) is None):
                return SYNTAX_ERROR
            keys = [args[1]]
        elif name == b"BLMPOP":
            parsed = self._mpop_arguments(args, 2)
            if parsed.__class__ is Error:
                return parsed
            keys = parsed[0]
        else:
            raise ValueError(f"not a blocking list command: {args[0]!r}")
        timeout = self.blocking_timeout(args)
        return timeout if timeout.__class__ is Error else keys

    @staticmethod
    def blocking_timeout(args) -> int | Error:
        """The blocking list command's timeout in ms (0: for ever), or its error reply. (Redis
        adds the time now to a positive one, in 64 bits: past ~292 million years it wraps
        negative, and the client times out at once.)"""
        return timeout_ms(args[1] if args[0].upper() == b"BLMPOP" else args[-1])

    def list_wait(self, args):
        """For the node (Store.must_wait): what the blocking list command ``args`` waits for if
        nothing is there to pop: (keys, deque, timeout in seconds (0: for ever), the reply on
        timeout); None if its arguments are wrong (it runs now, and answers the error).

        On timeout Redis answers a null array, BLMOVE and BRPOPLPUSH too (replyToBlockedClient-
        TimedOut); their null bulk is only for inside MULTI. A timeout so large that Redis's
        ``timeout + now`` in ms wraps past 64 bits never fires there: here it is for ever."""
        keys = self.blocking_keys(args)
        if keys.__class__ is Error:
            return None
        ms = self.blocking_timeout(args)
        seconds = 0 if ms > INT64_MAX - self.now_ms else ms / 1000
        return keys, deque, seconds, NULL_ARRAY

    def cmd_blpop(self, args):
        reply = self._bpop(args, LEFT)
        return NULL_ARRAY if reply is None else reply

    def cmd_brpop(self, args):
        reply = self._bpop(args, RIGHT)
        return NULL_ARRAY if reply is None else reply

    def cmd_blmove(self, args):
        return self._blmove(args, parse_side(args[3]), parse_side(args[4]))  # None: a null bulk

    def cmd_brpoplpush(self, args):
        return self._blmove(args, RIGHT, LEFT)

    def cmd_blmpop(self, args):
        reply = self._blmpop(args)
        return NULL_ARRAY if reply is None else reply
