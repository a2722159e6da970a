"""The sets commands, as Redis 7.0's ``t_set.c`` defines them: each one small method of
:class:`SetCommands`, mixed into the store. Replies and error wording are redis-server's.

A set is a Python ``set`` of bytes. Replies Redis sends as a set (SMEMBERS, SINTER, SUNION,
SDIFF, SPOP with a count: ``~`` in RESP3) are Python sets, always new ones: a reply is encoded
after the command, maybe after others changed the key. SRANDMEMBER with a count replies with an
array in both protocols, as Redis does.

Random picks (SPOP, SRANDMEMBER) are decided here, on the primary: SPOP reaches the backup as
the SREM (or DEL) of what it popped, SRANDMEMBER as nothing. Where no pick was made (no key, a
count of 0, an error) the backup runs the command itself, which decides alike (and expires the
same key).

SSCAN's cursor works as every cursor does (scan.py): a small set comes whole, at once.
"""

from __future__ import annotations

import random
from itertools import islice

from ..commands import NOT_INTEGER, SYNTAX_ERROR, option
from ..protocol import Error, OrderedSet
from .db import WRONGTYPE, CommandError
from .numbers import INT64_MIN, parse_int64
from .scan import INVALID_CURSOR, parse_cursor, scan_options
from .values import intset_order

NOT_POSITIVE = Error("ERR value is out of range, must be positive")
SRANDMEMBER_RANGE = Error("ERR value is out of range, value must between -9223372036854775807 and "
                          "9223372036854775807")
BAD_NUMKEYS = Error("ERR numkeys should be greater than 0")
TOO_MANY_NUMKEYS = Error("ERR Number of keys can't be greater than number of args")
BAD_LIMIT = Error("ERR LIMIT can't be negative")


def random_member(members: set) -> bytes:
    """One member picked at random (without copying the set)."""
    return next(islice(members, random.randrange(len(members)), None))


def random_members(members: set, count: int, distinct: bool) -> list[bytes]:
    """``count`` members picked at random, each at most once if ``distinct`` (count < size
    then). (From a list copy: in CPython, faster than skipping through the set to positions.)"""
    pool = list(members)
    return random.sample(pool, count) if distinct else random.choices(pool, k=count)


def in_order(members: set) -> set | OrderedSet:
    """A set reply in Redis's order where it has one: an intset's members ascending (Redis reads
    an intset, or builds its SUNION/SDIFF result as one, in order); else in any order (a copy)."""
    order = intset_order(members)
    return OrderedSet(order) if order else set(members)


class SetCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``typed``, ``container``,
    ``changed``, ``store``, ``delete``, ``replicate_as``."""

    # ------------------------------------------------------------------ one set

    def cmd_sadd(self, args):
        key = args[1]
        members = self.container(key, set, create=True)
        before = len(members)
        members.update(args[2:])
        added = len(members) - before
        if added:
            self.changed(key, members)
        return added

    def cmd_srem(self, args):
        key = args[1]
        members = self.container(key, set)
        if members is None:
            return 0
        before = len(members)
        members.difference_update(args[2:])
        removed = before - len(members)
        if removed:
            self.changed(key, members)
        return removed

    def cmd_scard(self, args):
        members = self.typed(args[1], set)
        return 0 if members is None else len(members)

    def cmd_sismember(self, args):
        members = self.typed(args[1], set)
        return 1 if members is not None and args[2] in members else 0

    def cmd_smismember(self, args):
        members = self.typed(args[1], set)
        if members is None:
            return [0] * (len(args) - 2)
        return [1 if member in members else 0 for member in args[2:]]

    def cmd_smembers(self, args):
        members = self.typed(args[1], set)
        return set() if members is None else in_order(members)

    def cmd_smove(self, args):
        src, dst, member = args[1], args[2], args[3]
        source, target = self.lookup(src), self.lookup(dst)
        if source is None:
            return 0
        if source.__class__ is not set or (target is not None and target.__class__ is not set):
            raise CommandError(WRONGTYPE)
        if src == dst:
            return 1 if member in source else 0
        if member not in source:
            return 0
        source = self.container(src, set)
        source.discard(member)
        self.changed(src, source)
        target = self.container(dst, set, create=True)
        if member not in target:  # Redis touches the destination only if it gained the member
            target.add(member)
            self.changed(dst, target)
        return 1

    # ------------------------------------------------------------------ random picks

    def cmd_srandmember(self, args):
        if len(args) > 3:
            return SYNTAX_ERROR
        if len(args) == 3:
            return self._srandmember_count(args[1], args[2])
        members = self.typed(args[1], set)
        if members is None:
            return None
        self.replicate_as()
        return random_member(members)

    def _srandmember_count(self, key: bytes, raw: bytes):
        count = parse_int64(raw)
        if count is None:
            return NOT_INTEGER
        if count == INT64_MIN:
            return SRANDMEMBER_RANGE
        members = self.typed(key, set)
        if members is None or count == 0:
            return []
        self.replicate_as()
        if count < 0:  # the same member may come more than once
            return random_members(members, -count, distinct=False)
        if count >= len(members):
            return list(members)
        return random_members(members, count, distinct=True)

    def cmd_spop(self, args):
        if len(args) > 3:
            return SYNTAX_ERROR
        if len(args) == 3:
            return self._spop_count(args[1], args[2])
        key = args[1]
        members = self.container(key, set)
        if members is None:
            return None
        member = random_member(members)
        members.discard(member)
        self.changed(key, members)
        self.replicate_as([b"SREM", key, member])
        return member

    def _spop_count(self, key: bytes, raw: bytes):
        count = parse_int64(raw)
        if count is None or count < 0:
            return NOT_POSITIVE
        members = self.container(key, set)
        if members is None or count == 0:
            return set()
        if count >= len(members):  # all of them: the key goes (the set is no longer stored)
            self.delete(key)
            self.replicate_as([b"DEL", key])
            return members
        popped = random_members(members, count, distinct=True)
        members.difference_update(popped)
        self.changed(key, members)
        self.replicate_as([b"SREM", key, *popped])
        return set(popped)

    # ------------------------------------------------------------------ several sets

    def _sets_at(self, keys: list[bytes]) -> list:
        """The sets at ``keys`` (None for a missing key); WRONGTYPE if any holds another type."""
        typed = self.typed
        return [typed(key, set) for key in keys]

    def _sets_inter(self, keys: list[bytes]) -> set:
        sets = self._sets_at(keys)
        if None in sets:
            return set()
        sets.sort(key=len)
        return sets[0].intersection(*sets[1:])  # a new set, even of one

    def _sets_union(self, keys: list[bytes]) -> set:
        return set().union(*(s for s in self._sets_at(keys) if s is not None))

    def _sets_diff(self, keys: list[bytes]) -> set:
        sets = self._sets_at(keys)
        first = sets[0]
        if first is None:
            return set()
        return first.difference(*(s for s in sets[1:] if s is not None))

    def _sets_store(self, dst: bytes, result: set) -> int:
        """A *STORE's end: the result replaces whatever ``dst`` held (and its TTL); an empty
        result deletes it."""
        if not result:
            self.delete(dst)
            return 0
        self.store(dst, result)
        return len(result)

    def cmd_sinter(self, args):
        return in_order(self._sets_inter(args[1:]))

    def cmd_sinterstore(self, args):
        return self._sets_store(args[1], self._sets_inter(args[2:]))

    def cmd_sunion(self, args):
        return in_order(self._sets_union(args[1:]))

    def cmd_sunionstore(self, args):
        return self._sets_store(args[1], self._sets_union(args[2:]))

    def cmd_sdiff(self, args):
        return in_order(self._sets_diff(args[1:]))

    def cmd_sdiffstore(self, args):
        return self._sets_store(args[1], self._sets_diff(args[2:]))

    def cmd_sintercard(self, args):
        numkeys = parse_int64(args[1])
        if numkeys is None or numkeys < 1:
            return BAD_NUMKEYS
        if numkeys > len(args) - 2:
            return TOO_MANY_NUMKEYS
        limit = 0
        j = 2 + numkeys
        while j < len(args):
            if option(args[j]) != b"LIMIT" or j + 1 >= len(args):
                return SYNTAX_ERROR
            limit = parse_int64(args[j + 1])
            if limit is None or limit < 0:
                return BAD_LIMIT
            j += 2
        sets = self._sets_at(args[2 : 2 + numkeys])
        if None in sets:
            return 0
        sets.sort(key=len)
        smallest, others = sets[0], sets[1:]
        if not limit:
            return len(smallest.intersection(*others))
        found = 0
        for member in smallest:
            if all(member in other for other in others):
                found += 1
                if found >= limit:
                    break
        return found

    # ------------------------------------------------------------------ iteration

    def cmd_sscan(self, args):
        cursor = parse_cursor(args[2])
        if cursor is None:
            return INVALID_CURSOR
        members = self.typed(args[1], set)
        if members is None:  # (options are not looked at)
            return [b"0", []]
        options = scan_options(args, 3)
        if options.__class__ is Error:
            return options
        count, match, _ = options
        whole = intset_order(members) if cursor == 0 else None  # (Redis answers an intset at once)
        if cursor == 0 and (len(members) <= count or whole is not None):  # all of it at once
            page, following = whole or list(members), b"0"
        else:
            following, page = self.scan_page(args[1], members, cursor, count, members.__contains__)
        if match is not None:
            page = [member for member in page if match(member)]
        return [following, page]
