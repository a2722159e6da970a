"""The command tables: every command a server answers, with its arity, flags and key positions.

A table is read top to bottom like Redis's ``src/commands/*.json``. Each entry names the method
that serves it; :class:`CommandTable` binds those names to an owner object once, at start-up,
and answers the questions every request asks first: is the command known, is its arity right.
This module decides nothing about what a command does.

Arity follows Redis: ``n`` means exactly ``n`` words including the name, ``-n`` at least ``n``.
Flags are Redis's own, as COMMAND shows them (``no_auth``: no client password needed; the
cluster's own commands are guarded by the cluster secret instead), plus two of ours that COMMAND
does not show: ``connection`` (a connection's setting, answered by any server) and ``internal``.
What COMMAND INFO says beyond that (ACL categories, tips, key specs, subcommands) is Redis's,
read from ``redis_commands.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import keyspecs, pbwire
from .protocol import Error, OrderedSet, Status, c_string


OUR_FLAGS = frozenset({"connection", "internal"})  # ours, not Redis's: COMMAND does not show them


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # upper case, as Redis reports it in lower case
    arity: int
    flags: tuple[str, ...]
    method: str  # the owner's method that serves it: method(conn, args) -> reply
    first_key: int = 0
    last_key: int = 0
    key_step: int = 0
    numkeys_at: int = 0  # movable keys: where the number of the keys that follow it is (ZUNION ...)

    @property
    def needs_auth(self) -> bool:
        return "no_auth" not in self.flags

    def arity_ok(self, argc: int) -> bool:
        return argc == self.arity if self.arity > 0 else argc >= -self.arity

    def keys(self, args: list[bytes]) -> list[bytes]:
        """The key arguments of a request for this command, found as COMMAND GETKEYS finds them:
        by Redis's key specs where they can tell, else by the command's own rule."""
        specs = self.key_specs()
        if specs and keyspecs.usable(specs):
            found = keyspecs.keys_by_specs(specs, args)
            if found is not None:
                return found
        found = []
        if self.first_key:
            last = len(args) + self.last_key if self.last_key < 0 else self.last_key
            found = args[self.first_key : last + 1 : self.key_step]
        if self.numkeys_at:
            raw = args[self.numkeys_at]
            count = int(raw) if raw.isdigit() and len(raw) < 10 else 0
            if not 0 < count <= len(args) - self.numkeys_at - 1:
                return []
            found += args[self.numkeys_at + 1 : self.numkeys_at + 1 + count]
        if self.name == "SORT":
            found += sort_store_key(args)
        return found

    def has_keys(self) -> bool:
        """Whether requests for this command can name keys at all."""
        specs = self.key_specs()
        return any("not_key" not in spec["flags"] for spec in specs) if specs else bool(self.first_key)

    def key_specs(self) -> list[dict]:
        name, _, sub = self.name.lower().partition("|")
        details = REDIS_DETAILS.get(name)
        if details and sub:
            details = SUBCOMMANDS[name][sub.encode()][6]
        return details["key_specs"] if details else []

    def info(self) -> list:
        """This command as COMMAND / COMMAND INFO describe it: Redis's ACL categories, tips, key
        specs and subcommands with it (none for a command of ours)."""
        flags = OrderedSet(Status(f) for f in self.flags if f not in OUR_FLAGS)
        head = [self.name.lower(), self.arity, flags, self.first_key, self.last_key, self.key_step]
        return head + redis_details(self.name.lower())

    def subcommands(self) -> dict:
        """The subcommands Redis gives this command, by lower-case name (empty: it has none)."""
        return SUBCOMMANDS.get(self.name.lower(), {})

    def subcommand(self, word: bytes) -> Command | None:
        """One of its subcommands as a command of its own (``OBJECT|ENCODING``), or None."""
        sub = self.subcommands().get(word.lower())
        if sub is None:
            return None
        return Command(sub[0].upper(), sub[1], tuple(sub[2]), "", *sub[3:6])


# Redis's COMMAND INFO fields 7-10 for its commands (tools/redis_commands.py writes the file).
REDIS_DETAILS = json.loads((Path(__file__).parent / "redis_commands.json").read_text())
# Container command -> its subcommands (lower case) -> the subcommand's own table entry.
SUBCOMMANDS = {name: {sub[0].partition("|")[2].encode(): sub for sub in details["subcommands"]}
               for name, details in REDIS_DETAILS.items() if details["subcommands"]}


def redis_details(name: str) -> list:
    """COMMAND INFO's ACL categories, tips, key specs and subcommands, in Redis's reply types."""
    details = REDIS_DETAILS.get(name)
    if details is None:
        return [OrderedSet(), OrderedSet(), OrderedSet(), OrderedSet()]
    # (Redis answers an empty set, or an array of them.)
    subcommands = [[sub[0], sub[1], OrderedSet(map(Status, sub[2])), *sub[3:6], *_details(sub[6]), OrderedSet()]
                   for sub in details["subcommands"]]
    return [*_details(details), subcommands or OrderedSet()]


def _details(details: dict) -> list:
    return [OrderedSet(map(Status, details["acl"])), OrderedSet(details["tips"]),
            OrderedSet(_key_spec(spec) for spec in details["key_specs"])]


def _key_spec(spec: dict) -> dict:
    """A key spec's map: its flags a set of statuses, the rest strings, numbers and maps."""
    return {k: OrderedSet(map(Status, v)) if k == "flags" else _key_spec(v) if isinstance(v, dict) else v
            for k, v in spec.items()}


# SORT's options that take arguments (how many), between the key and a STORE option.
SORT_SKIPS = {b"LIMIT": 2, b"GET": 1, b"BY": 1}


def sort_store_key(args: list[bytes]) -> list[bytes]:
    """SORT's destination key (its last STORE option's), as a list of none or one."""
    found = []
    i = 2
    while i < len(args):
        word = option(args[i])
        if word == b"STORE" and i + 1 < len(args):
            found = [args[i + 1]]
            i += 1
        else:
            i += SORT_SKIPS.get(word, 0)
        i += 1
    return found


def c(name, arity, flags, method=None, keys=(0, 0, 0), numkeys_at=0) -> Command:
    return Command(name, arity, tuple(flags.split()), method or "cmd_" + name.lower().replace(".", "_"), *keys,
                   numkeys_at)


ONE_KEY = (1, 1, 1)
ALL_KEYS = (1, -1, 1)

# Answered by every RESP server of the project (pbd and viewd alike).
CONNECTION_COMMANDS = [
    c("AUTH", -2, "connection noscript loading stale fast no_auth allow_busy"),
    c("PING", -1, "connection fast"),
    c("ECHO", 2, "connection loading stale fast"),
    c("QUIT", -1, "connection noscript loading stale fast no_auth allow_busy"),
    c("HELLO", -1, "connection noscript loading stale fast no_auth allow_busy"),
    c("CLIENT", -2, "connection"),
    c("SELECT", 2, "connection loading stale fast"),  # viewd's; pbd's is among the data commands
    c("COMMAND", -1, "connection loading stale"),
]

# The key/value store's data commands: store methods (resp_kv/keyspace/), replicated in order.
# Arity, flags and key positions as Redis 7.0's src/commands/*.json.
TWO_KEYS = (1, 2, 1)
DATA_COMMANDS = [
    # strings
    c("GET", 2, "readonly fast", keys=ONE_KEY),
    c("SET", -3, "write denyoom", keys=ONE_KEY),
    c("SETNX", 3, "write denyoom fast", keys=ONE_KEY),
    c("SETEX", 4, "write denyoom", keys=ONE_KEY),
    c("PSETEX", 4, "write denyoom", keys=ONE_KEY),
    c("GETSET", 3, "write denyoom fast", keys=ONE_KEY),
    c("GETDEL", 2, "write fast", keys=ONE_KEY),
    c("GETEX", -2, "write fast", keys=ONE_KEY),
    c("MGET", -2, "readonly fast", keys=ALL_KEYS),
    c("MSET", -3, "write denyoom", keys=(1, -1, 2)),
    c("MSETNX", -3, "write denyoom", keys=(1, -1, 2)),
    c("APPEND", 3, "write denyoom fast", keys=ONE_KEY),
    c("STRLEN", 2, "readonly fast", keys=ONE_KEY),
    c("GETRANGE", 4, "readonly", keys=ONE_KEY),
    c("SUBSTR", 4, "readonly", keys=ONE_KEY),
    c("SETRANGE", 4, "write denyoom", keys=ONE_KEY),
    c("INCR", 2, "write denyoom fast", keys=ONE_KEY),
    c("DECR", 2, "write denyoom fast", keys=ONE_KEY),
    c("INCRBY", 3, "write denyoom fast", keys=ONE_KEY),
    c("DECRBY", 3, "write denyoom fast", keys=ONE_KEY),
    c("INCRBYFLOAT", 3, "write denyoom fast", keys=ONE_KEY),
    c("LCS", -3, "readonly", keys=TWO_KEYS),
    c("PUTHASH", 3, "write", keys=ONE_KEY),
    # keys
    c("DEL", -2, "write", keys=ALL_KEYS),
    c("UNLINK", -2, "write fast", keys=ALL_KEYS),
    c("EXISTS", -2, "readonly fast", keys=ALL_KEYS),
    c("TOUCH", -2, "readonly fast", keys=ALL_KEYS),
    c("TYPE", 2, "readonly fast", keys=ONE_KEY),
    c("RENAME", 3, "write", keys=TWO_KEYS),
    c("RENAMENX", 3, "write fast", keys=TWO_KEYS),
    c("COPY", -3, "write denyoom", keys=TWO_KEYS),
    c("MOVE", 3, "write fast", keys=ONE_KEY),
    c("RANDOMKEY", 1, "readonly"),
    c("KEYS", 2, "readonly"),
    c("SCAN", -2, "readonly"),
    c("OBJECT", -2, ""),  # (Redis 7 lists no flags for the container command itself)
    c("MEMORY", -2, ""),  # MEMORY USAGE: what this process holds for a key
    # expiry
    c("EXPIRE", -3, "write fast", keys=ONE_KEY),
    c("PEXPIRE", -3, "write fast", keys=ONE_KEY),
    c("EXPIREAT", -3, "write fast", keys=ONE_KEY),
    c("PEXPIREAT", -3, "write fast", keys=ONE_KEY),
    c("TTL", 2, "readonly fast", keys=ONE_KEY),
    c("PTTL", 2, "readonly fast", keys=ONE_KEY),
    c("EXPIRETIME", 2, "readonly fast", keys=ONE_KEY),
    c("PEXPIRETIME", 2, "readonly fast", keys=ONE_KEY),
    c("PERSIST", 2, "write fast", keys=ONE_KEY),
    # hashes (hashes.py)
    c("HSET", -4, "write denyoom fast", keys=ONE_KEY),
    c("HSETNX", 4, "write denyoom fast", keys=ONE_KEY),
    c("HMSET", -4, "write denyoom fast", keys=ONE_KEY),
    c("HGET", 3, "readonly fast", keys=ONE_KEY),
    c("HMGET", -3, "readonly fast", keys=ONE_KEY),
    c("HGETALL", 2, "readonly", keys=ONE_KEY),
    c("HDEL", -3, "write fast", keys=ONE_KEY),
    c("HEXISTS", 3, "readonly fast", keys=ONE_KEY),
    c("HLEN", 2, "readonly fast", keys=ONE_KEY),
    c("HSTRLEN", 3, "readonly fast", keys=ONE_KEY),
    c("HKEYS", 2, "readonly", keys=ONE_KEY),
    c("HVALS", 2, "readonly", keys=ONE_KEY),
    c("HINCRBY", 4, "write denyoom fast", keys=ONE_KEY),
    c("HINCRBYFLOAT", 4, "write denyoom fast", keys=ONE_KEY),
    c("HRANDFIELD", -2, "readonly", keys=ONE_KEY),
    c("HSCAN", -3, "readonly", keys=ONE_KEY),
    # lists (lists.py; the blocking ones wait in the node when there is nothing to pop)
    c("LPUSH", -3, "write denyoom fast", keys=ONE_KEY),
    c("RPUSH", -3, "write denyoom fast", keys=ONE_KEY),
    c("LPUSHX", -3, "write denyoom fast", keys=ONE_KEY),
    c("RPUSHX", -3, "write denyoom fast", keys=ONE_KEY),
    c("LPOP", -2, "write fast", keys=ONE_KEY),
    c("RPOP", -2, "write fast", keys=ONE_KEY),
    c("LLEN", 2, "readonly fast", keys=ONE_KEY),
    c("LRANGE", 4, "readonly", keys=ONE_KEY),
    c("LINDEX", 3, "readonly", keys=ONE_KEY),
    c("LSET", 4, "write denyoom", keys=ONE_KEY),
    c("LINSERT", 5, "write denyoom", keys=ONE_KEY),
    c("LREM", 4, "write", keys=ONE_KEY),
    c("LTRIM", 4, "write", keys=ONE_KEY),
    c("LPOS", -3, "readonly", keys=ONE_KEY),
    c("LMOVE", 5, "write denyoom", keys=TWO_KEYS),
    c("RPOPLPUSH", 3, "write denyoom", keys=TWO_KEYS),
    c("LMPOP", -4, "write movablekeys", numkeys_at=1),
    c("BLPOP", -3, "write noscript blocking", keys=(1, -2, 1)),
    c("BRPOP", -3, "write noscript blocking", keys=(1, -2, 1)),
    c("BLMOVE", 6, "write denyoom noscript blocking", keys=TWO_KEYS),
    c("BRPOPLPUSH", 4, "write denyoom noscript blocking", keys=TWO_KEYS),
    c("BLMPOP", -5, "write blocking movablekeys", numkeys_at=2),
    # sets (sets.py)
    c("SADD", -3, "write denyoom fast", keys=ONE_KEY),
    c("SREM", -3, "write fast", keys=ONE_KEY),
    c("SCARD", 2, "readonly fast", keys=ONE_KEY),
    c("SISMEMBER", 3, "readonly fast", keys=ONE_KEY),
    c("SMISMEMBER", -3, "readonly fast", keys=ONE_KEY),
    c("SMEMBERS", 2, "readonly", keys=ONE_KEY),
    c("SRANDMEMBER", -2, "readonly", keys=ONE_KEY),
    c("SPOP", -2, "write fast", keys=ONE_KEY),
    c("SMOVE", 4, "write fast", keys=TWO_KEYS),
    c("SINTER", -2, "readonly", keys=ALL_KEYS),
    c("SINTERCARD", -3, "readonly movablekeys", numkeys_at=1),
    c("SINTERSTORE", -3, "write denyoom", keys=ALL_KEYS),
    c("SUNION", -2, "readonly", keys=ALL_KEYS),
    c("SUNIONSTORE", -3, "write denyoom", keys=ALL_KEYS),
    c("SDIFF", -2, "readonly", keys=ALL_KEYS),
    c("SDIFFSTORE", -3, "write denyoom", keys=ALL_KEYS),
    c("SSCAN", -3, "readonly", keys=ONE_KEY),
    # sorted sets (zsets.py)
    c("ZADD", -4, "write denyoom fast", keys=ONE_KEY),
    c("ZINCRBY", 4, "write denyoom fast", keys=ONE_KEY),
    c("ZCARD", 2, "readonly fast", keys=ONE_KEY),
    c("ZCOUNT", 4, "readonly fast", keys=ONE_KEY),
    c("ZLEXCOUNT", 4, "readonly fast", keys=ONE_KEY),
    c("ZSCORE", 3, "readonly fast", keys=ONE_KEY),
    c("ZMSCORE", -3, "readonly fast", keys=ONE_KEY),
    c("ZRANK", 3, "readonly fast", keys=ONE_KEY),
    c("ZREVRANK", 3, "readonly fast", keys=ONE_KEY),
    c("ZRANGE", -4, "readonly", keys=ONE_KEY),
    c("ZRANGESTORE", -5, "write denyoom", keys=TWO_KEYS),
    c("ZREVRANGE", -4, "readonly", keys=ONE_KEY),
    c("ZRANGEBYSCORE", -4, "readonly", keys=ONE_KEY),
    c("ZREVRANGEBYSCORE", -4, "readonly", keys=ONE_KEY),
    c("ZRANGEBYLEX", -4, "readonly", keys=ONE_KEY),
    c("ZREVRANGEBYLEX", -4, "readonly", keys=ONE_KEY),
    c("ZREM", -3, "write fast", keys=ONE_KEY),
    c("ZREMRANGEBYRANK", 4, "write", keys=ONE_KEY),
    c("ZREMRANGEBYSCORE", 4, "write", keys=ONE_KEY),
    c("ZREMRANGEBYLEX", 4, "write", keys=ONE_KEY),
    c("ZPOPMIN", -2, "write fast", keys=ONE_KEY),
    c("ZPOPMAX", -2, "write fast", keys=ONE_KEY),
    c("ZMPOP", -4, "write movablekeys", numkeys_at=1),
    c("BZPOPMIN", -3, "write noscript blocking fast", keys=(1, -2, 1)),
    c("BZPOPMAX", -3, "write noscript blocking fast", keys=(1, -2, 1)),
    c("BZMPOP", -5, "write blocking movablekeys", numkeys_at=2),
    c("ZRANDMEMBER", -2, "readonly", keys=ONE_KEY),
    c("ZINTER", -3, "readonly movablekeys", numkeys_at=1),
    c("ZINTERSTORE", -4, "write denyoom movablekeys", keys=ONE_KEY, numkeys_at=2),
    c("ZINTERCARD", -3, "readonly movablekeys", numkeys_at=1),
    c("ZUNION", -3, "readonly movablekeys", numkeys_at=1),
    c("ZUNIONSTORE", -4, "write denyoom movablekeys", keys=ONE_KEY, numkeys_at=2),
    c("ZDIFF", -3, "readonly movablekeys", numkeys_at=1),
    c("ZDIFFSTORE", -4, "write denyoom movablekeys", keys=ONE_KEY, numkeys_at=2),
    c("ZSCAN", -3, "readonly", keys=ONE_KEY),
    # bitmaps (bits.py): strings read and written as bit arrays
    c("SETBIT", 4, "write denyoom", keys=ONE_KEY),
    c("GETBIT", 3, "readonly fast", keys=ONE_KEY),
    c("BITCOUNT", -2, "readonly", keys=ONE_KEY),
    c("BITPOS", -3, "readonly", keys=ONE_KEY),
    c("BITOP", -4, "write denyoom", keys=(2, -1, 1)),
    c("BITFIELD", -2, "write denyoom", keys=ONE_KEY),
    c("BITFIELD_RO", -2, "readonly fast", keys=ONE_KEY),
    # HyperLogLog (hyperloglog.py): strings in Redis's HLL encoding
    c("PFADD", -2, "write denyoom fast", keys=ONE_KEY),
    c("PFCOUNT", -2, "readonly", keys=ALL_KEYS),
    c("PFMERGE", -2, "write denyoom", keys=ALL_KEYS),
    # geospatial indexes (geo.py): sorted sets scored by geohash
    c("GEOADD", -5, "write denyoom", keys=ONE_KEY),
    c("GEODIST", -4, "readonly", keys=ONE_KEY),
    c("GEOHASH", -2, "readonly", keys=ONE_KEY),
    c("GEOPOS", -2, "readonly", keys=ONE_KEY),
    c("GEORADIUS", -6, "write denyoom movablekeys", keys=ONE_KEY),
    c("GEORADIUSBYMEMBER", -5, "write denyoom movablekeys", keys=ONE_KEY),
    c("GEORADIUS_RO", -6, "readonly", keys=ONE_KEY),
    c("GEORADIUSBYMEMBER_RO", -5, "readonly", keys=ONE_KEY),
    c("GEOSEARCH", -7, "readonly", keys=ONE_KEY),
    c("GEOSEARCHSTORE", -8, "write denyoom", keys=TWO_KEYS),
    # serialized values (dumps.py): Redis's DUMP payloads
    c("DUMP", 2, "readonly", keys=ONE_KEY),
    c("RESTORE", -4, "write denyoom", keys=ONE_KEY),
    # sorting (sort.py)
    c("SORT", -2, "write denyoom movablekeys", keys=ONE_KEY),
    c("SORT_RO", -2, "readonly movablekeys", keys=ONE_KEY),
    # scripts and functions (scripts.py): a script reaches the backup as the writes it made
    c("EVAL", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", numkeys_at=2),
    c("EVALSHA", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", numkeys_at=2),
    c("EVAL_RO", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", numkeys_at=2),
    c("EVALSHA_RO", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", numkeys_at=2),
    c("FCALL", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", numkeys_at=2),
    c("FCALL_RO", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", numkeys_at=2),
    c("SCRIPT", -2, ""),
    c("FUNCTION", -2, ""),
    # databases (SELECT is the connection's, but it travels with the requests to the backup)
    c("SELECT", 2, "connection loading stale fast"),
    c("SWAPDB", 3, "write fast"),
    c("DBSIZE", 1, "readonly fast"),
    c("FLUSHDB", -1, "write"),
    c("FLUSHALL", -1, "write"),
]

# A connection's transaction (transactions.py), served by the node.
TRANSACTION_COMMANDS = [
    c("MULTI", 1, "noscript loading stale fast allow_busy"),
    c("EXEC", 1, "noscript loading stale skip_slowlog"),
    c("DISCARD", 1, "noscript loading stale fast allow_busy"),
    c("WATCH", -2, "noscript loading stale fast allow_busy", keys=ALL_KEYS),
    c("UNWATCH", 1, "noscript loading stale fast allow_busy"),
]

# Publish/subscribe (pubsub.py), served by the node: messages are not data (not replicated).
PUBSUB_COMMANDS = [
    c("SUBSCRIBE", -2, "pubsub noscript loading stale"),
    c("UNSUBSCRIBE", -1, "pubsub noscript loading stale"),
    c("PSUBSCRIBE", -2, "pubsub noscript loading stale"),
    c("PUNSUBSCRIBE", -1, "pubsub noscript loading stale"),
    c("PUBLISH", 3, "pubsub loading stale fast"),
    c("PUBSUB", -2, ""),
    c("SSUBSCRIBE", -2, "pubsub noscript loading stale", keys=ALL_KEYS),
    c("SUNSUBSCRIBE", -1, "pubsub noscript loading stale", keys=ALL_KEYS),
    c("SPUBLISH", 3, "pubsub loading stale fast", keys=ONE_KEY),
]

# The smart client's exactly-once wrapper: KV.ONCE <client-id> <seq> <command> [args ...].
ONCE = c("KV.ONCE", -4, "write")
# A fresh session id for KV.ONCE, signed with the cluster secret (store.py says why).
SESSION = c("KV.SESSION", 1, "connection fast")

# The cluster's own channel: a connection proves the cluster secret (peerauth.py).
PEER_COMMANDS = [
    c("PEER.CHALLENGE", 1, "connection fast no_auth", "cmd_peer_challenge"),  # -> a nonce
    c("PEER.PROVE", 4, "connection fast no_auth", "cmd_peer_prove"),  # PEER.PROVE <id> <nonce> <mac> -> the server's mac
]

# The internal channel from a primary into its backup (the conversation is in pbwire.py).
REPLICATION_COMMANDS = [c(name.decode(), arity, "internal no_auth", "cmd_pb") for name, arity in pbwire.ARITY.items()]

# pbd's administrative commands: answered locally from the server's own state.
ADMIN_COMMANDS = [
    c("INFO", -1, "loading stale"),
    c("ROLE", 1, "noscript loading stale fast"),
    c("CONFIG", -2, ""),
    c("WAIT", 3, "noscript"),
    c("DEBUG", -2, "admin noscript loading stale"),  # DEBUG DIGEST: a fingerprint of the data, to compare two servers
    c("TIME", 1, "loading stale fast"),
]


class CommandTable:
    """Commands bound to the objects that serve them; resolves a request to its command."""

    def __init__(self, commands: list[Command], *owners: object):
        self.commands = {cmd.name: cmd for cmd in commands}
        # Each command is served by the first owner with its method; commands no owner has a
        # method for (pbd's data commands, served by the store) are routed by the caller.
        self.handlers = {}
        for cmd in commands:
            owner = next((o for o in owners if hasattr(o, cmd.method)), None)
            if owner is not None:
                self.handlers[cmd.name] = getattr(owner, cmd.method)
        # Requests arrive as bytes; most use a handful of spellings, so cache them.
        self._by_bytes: dict[bytes, Command] = {}

    def lookup(self, name: bytes) -> Command | None:
        cmd = self._by_bytes.get(name)
        if cmd is None:
            cmd = self.commands.get(name.decode("utf-8", "replace").upper())
            if cmd is not None and len(self._by_bytes) < 1024:
                self._by_bytes[name] = cmd
        return cmd

    def resolve(self, args: list[bytes]) -> Command | Error:
        """The command for a request, or the error Redis would answer instead."""
        cmd = self.lookup(args[0])
        if cmd is None:
            return unknown_command(args)
        if not cmd.arity_ok(len(args)):
            return wrong_arity(cmd.name)
        return cmd


def option(word: bytes) -> bytes:
    """An option word as Redis compares it (``strcasecmp``: up to its first NUL byte), upper case."""
    return word.split(b"\0", 1)[0].upper()


def unknown_command(args: list[bytes]) -> Error:
    """Redis's wording: the name, then the arguments while they take less than 128 bytes."""
    rest = b""
    for arg in args[1:]:
        if len(rest) >= 128:
            break
        rest += b"'" + arg.split(b"\0", 1)[0][: 128 - len(rest)] + b"' "
    return Error(f"ERR unknown command '{c_string(args[0], 128)}', with args beginning with: {c_string(rest)}")


def wrong_arity(name: str) -> Error:
    return Error(f"ERR wrong number of arguments for '{name.lower()}' command")


def subcommand_error(args: list[bytes]) -> Error | None:
    """For a command Redis gives subcommands (OBJECT, SCRIPT, CLIENT, ...): Redis's error for an
    unknown subcommand or a wrong number of arguments, which it answers before running the
    command (inside MULTI, when queueing it); None for a good one, or another command."""
    subcommands = SUBCOMMANDS.get(args[0].decode("latin-1").lower())
    if subcommands is None or len(args) < 2:
        return None
    sub = subcommands.get(args[1].lower())
    if sub is None:
        return unknown_subcommand(args[1], args[0].decode("latin-1"))
    arity = sub[1]
    return None if (len(args) == arity if arity > 0 else len(args) >= -arity) else wrong_arity(sub[0])


def help_reply(command: bytes, lines: list[str]) -> list:
    """A container command's HELP, as Redis's addReplyHelp frames its ``lines``."""
    name = command.decode("utf-8", "surrogateescape").upper()
    return [Status(f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
            *map(Status, lines), Status("HELP"), Status("    Prints this help.")]


def unknown_subcommand(sub: bytes, name: str) -> Error:
    return Error(f"ERR unknown subcommand '{c_string(sub, 128)}'. Try {name.upper()} HELP.")


SYNTAX_ERROR = Error("ERR syntax error")
NOAUTH = Error("NOAUTH Authentication required.")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
