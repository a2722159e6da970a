"""The commands about keys rather than values (``db.c``, ``expire.c``): existence, renaming,
moving between databases, listing, databases themselves, and expiry times. Each is one small
method of :class:`KeyCommands`, mixed into the store. Replies are redis-server's."""

from __future__ import annotations

import random

from ..commands import SYNTAX_ERROR, help_reply, option
from ..protocol import OK, Error, Status, c_string
from .db import DATABASES
from .glob import matcher
from .scan import INVALID_CURSOR, parse_cursor, scan_options
from .values import copy_value, encoding, memory_usage, refcount, type_name
from .numbers import INT64_MAX, INT64_MIN, NOT_INTEGER, invalid_expire, parse_int32, parse_int64

OUT_OF_RANGE = Error("ERR DB index is out of range")
SAME_OBJECT = Error("ERR source and destination objects are the same")
NO_SUCH_KEY = Error("ERR no such key")

NO_LFU = Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
               "switching between policies at runtime LRU and LFU data will take some time to adjust.")
NO_IDLETIME = Error("ERR OBJECT IDLETIME is not supported: resp-kv does not track access times")
OBJECT_HELP = [
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
]
MEMORY_HELP = [
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
]

# EXPIRE's options
E_NX, E_XX, E_GT, E_LT = 1, 2, 4, 8
_EXPIRE_OPTION = {b"NX": E_NX, b"XX": E_XX, b"GT": E_GT, b"LT": E_LT}


class KeyCommands:
    """Mixed into the store, which provides the ``Keyspace`` (``db``, ``dbs``, ``lookup``, ``now_ms``)."""

    def db_index(self, raw: bytes):
        index = parse_int32(raw)
        if index is None:
            return NOT_INTEGER
        return OUT_OF_RANGE if not 0 <= index < DATABASES else index

    # ------------------------------------------------------------------ databases

    def cmd_select(self, args):
        index = self.db_index(args[1])
        if index.__class__ is Error:
            return index
        self.select(index)
        return OK

    def cmd_swapdb(self, args):
        first, second = parse_int32(args[1]), parse_int32(args[2])
        if first is None:
            return Error("ERR invalid first DB index")
        if second is None:
            return Error("ERR invalid second DB index")
        if not (0 <= first < DATABASES and 0 <= second < DATABASES):
            return OUT_OF_RANGE
        if first != second:  # a database swapped with itself: nothing happens, nothing is touched
            self.swap(self.dbs[first], self.dbs[second])
        return OK

    def cmd_dbsize(self, args):
        return len(self.db.data)

    def cmd_flushdb(self, args):
        if len(args) > 2 or (len(args) == 2 and args[1].upper() not in (b"ASYNC", b"SYNC")):
            return SYNTAX_ERROR
        self.flush(self.db)
        return OK

    def cmd_flushall(self, args):
        if len(args) > 2 or (len(args) == 2 and args[1].upper() not in (b"ASYNC", b"SYNC")):
            return SYNTAX_ERROR
        for db in self.dbs:
            self.flush(db)
        return OK

    # ------------------------------------------------------------------ existence

    def cmd_del(self, args):
        lookup, delete = self.lookup, self.delete
        return sum(1 for key in args[1:] if lookup(key) is not None and delete(key))

    cmd_unlink = cmd_del

    def cmd_exists(self, args):
        lookup = self.lookup
        return sum(1 for key in args[1:] if lookup(key) is not None)

    cmd_touch = cmd_exists

    def cmd_type(self, args):
        return Status(type_name(self.lookup(args[1])))

    def cmd_randomkey(self, args):
        # Reads only: an expired key is skipped, not deleted. A random pick: the backup runs
        # nothing for it (and remembers this reply, under KV.ONCE).
        alive = self._alive(self.db)
        self.replicate_as()
        return random.choice(alive) if alive else None

    def _alive(self, db) -> list[bytes]:
        now, expires = self.now_ms, db.expires
        if not expires:
            return list(db.data)
        return [key for key in db.data if expires.get(key, INT64_MAX) >= now]

    def cmd_keys(self, args):
        match = matcher(args[1])
        return [key for key in self._alive(self.db) if match(key)]

    def cmd_scan(self, args):
        cursor = parse_cursor(args[1])
        if cursor is None:
            return INVALID_CURSOR
        options = scan_options(args, 2, with_type=True)
        if options.__class__ is Error:
            return options
        count, match, kind = options
        db = self.db
        now, data, expires = self.now_ms, db.data, db.expires
        following, page = self.scan_page(None, data, cursor, count,
                                         lambda key: key in data and expires.get(key, INT64_MAX) >= now)
        return [following, [key for key in page
                            if (match is None or match(key)) and (kind is None or type_name(data[key]) == kind)]]

    def cmd_object(self, args):  # (the store checked the subcommand: Store.runner)
        sub = args[1].upper()
        if sub == b"HELP":
            return help_reply(args[0], OBJECT_HELP)
        value = self.lookup(args[2])
        if value is None:
            return None
        if sub == b"ENCODING":
            return encoding(value)
        if sub == b"REFCOUNT":
            return refcount(value)
        if sub == b"FREQ":
            return NO_LFU
        return NO_IDLETIME

    def cmd_memory(self, args):  # (the store checked the subcommand: Store.runner)
        sub = args[1].upper()
        if sub == b"HELP":
            return help_reply(args[0], MEMORY_HELP)
        if sub != b"USAGE":  # DOCTOR, STATS, MALLOC-STATS, PURGE: about Redis's allocator
            return Error(f"ERR MEMORY {c_string(args[1]).upper()} is not supported by resp-kv")
        samples = 5
        j = 3
        while j < len(args):
            if option(args[j]) != b"SAMPLES" or j + 1 >= len(args):
                return SYNTAX_ERROR
            samples = parse_int64(args[j + 1])
            if samples is None:
                return NOT_INTEGER
            if samples < 0:
                return SYNTAX_ERROR
            j += 2
        value = self.db.data.get(args[2])  # (as Redis: whatever its expiry time)
        return None if value is None else memory_usage(args[2], value, samples or None)

    # ------------------------------------------------------------------ renaming and moving

    def _rename(self, args, nx: bool):
        src, dst = args[1], args[2]
        value = self.lookup(src)
        if value is None:
            return NO_SUCH_KEY
        if src == dst:
            return 0 if nx else OK
        when = self.db.expires.get(src)
        if self.lookup(dst) is not None:
            if nx:
                return 0
            self.delete(dst)
        self.delete(src)
        self.store(dst, value)
        if when is not None:
            self.set_expiry(dst, when)
        return 1 if nx else OK

    def cmd_rename(self, args):
        return self._rename(args, nx=False)

    def cmd_renamenx(self, args):
        return self._rename(args, nx=True)

    def cmd_copy(self, args):
        src_db = dst_db = self.db
        replace = False
        j = 3
        while j < len(args):
            opt = args[j].upper()
            if opt == b"REPLACE":
                replace = True
            elif opt == b"DB" and j + 1 < len(args):
                index = self.db_index(args[j + 1])
                if index.__class__ is Error:
                    return index
                dst_db = self.dbs[index]
                j += 1
            else:
                return SYNTAX_ERROR
            j += 1
        src, dst = args[1], args[2]
        if src_db is dst_db and src == dst:
            return SAME_OBJECT
        value = self.lookup(src)
        if value is None:
            return 0
        when = src_db.expires.get(src)
        if self.lookup(dst, dst_db) is not None:
            if not replace:
                return 0
            self.delete(dst, dst_db)
        self.store(dst, copy_value(value), db=dst_db)
        if when is not None:
            self.set_expiry(dst, when, dst_db)
        return 1

    def cmd_move(self, args):
        index = self.db_index(args[2])
        if index.__class__ is Error:
            return index
        src, dst = self.db, self.dbs[index]
        if src is dst:
            return SAME_OBJECT
        key = args[1]
        value = self.lookup(key)
        if value is None or self.lookup(key, dst) is not None:
            return 0
        when = src.expires.get(key)
        self.delete(key, src)
        self.store(key, value, db=dst)
        if when is not None:
            self.set_expiry(key, when, dst)
        return 1

    # ------------------------------------------------------------------ expiry

    def _expire(self, args, unit_ms: int, relative: bool, command: str):
        flags = 0
        for raw in args[3:]:
            opt = _EXPIRE_OPTION.get(raw.upper())
            if opt is None:
                return Error(f"ERR Unsupported option {c_string(raw)}")
            flags |= opt
        if flags & E_NX and flags & (E_XX | E_GT | E_LT):
            return Error("ERR NX and XX, GT or LT options at the same time are not compatible")
        if flags & E_GT and flags & E_LT:
            return Error("ERR GT and LT options at the same time are not compatible")
        when = parse_int64(args[2])
        if when is None:
            return NOT_INTEGER
        if unit_ms == 1000 and not -(-INT64_MIN // 1000) <= when <= INT64_MAX // 1000:  # C's division
            return invalid_expire(command)
        when *= unit_ms
        base = self.now_ms if relative else 0
        if when > INT64_MAX - base:
            return invalid_expire(command)
        when += base
        key = args[1]
        if self.lookup(key) is None:
            return 0
        current = self.db.expires.get(key, -1)
        if ((flags & E_NX and current != -1) or (flags & E_XX and current == -1)
                or (flags & E_GT and (when <= current or current == -1))
                or (flags & E_LT and current != -1 and when >= current)):
            return 0
        if when <= self.now_ms:
            self.delete(key)
        else:
            self.set_expiry(key, when)
        return 1

    def cmd_expire(self, args):
        return self._expire(args, 1000, True, "expire")

    def cmd_pexpire(self, args):
        return self._expire(args, 1, True, "pexpire")

    def cmd_expireat(self, args):
        return self._expire(args, 1000, False, "expireat")

    def cmd_pexpireat(self, args):
        return self._expire(args, 1, False, "pexpireat")

    def _ttl(self, key: bytes, ms: bool, absolute: bool) -> int:
        if self.lookup(key) is None:
            return -2
        when = self.db.expires.get(key)
        if when is None:
            return -1
        ttl = max(when if absolute else when - self.now_ms, 0)
        return ttl if ms else (ttl + 500) // 1000

    def cmd_ttl(self, args):
        return self._ttl(args[1], ms=False, absolute=False)

    def cmd_pttl(self, args):
        return self._ttl(args[1], ms=True, absolute=False)

    def cmd_expiretime(self, args):
        return self._ttl(args[1], ms=False, absolute=True)

    def cmd_pexpiretime(self, args):
        return self._ttl(args[1], ms=True, absolute=True)

    def cmd_persist(self, args):
        if self.lookup(args[1]) is None:
            return 0
        return 1 if self.persist(args[1]) else 0
