"""The key/value state machine: what each data command does to the data, and the table that
makes a retried request return the reply of its one and only application.

Everything here is deterministic: the primary and the backup apply the same requests in the
same order (with the same ``now``, taken from the primary's batch) and end up identical. No
I/O, no clock, no knowledge of roles or views.

Exactly-once: a request may be wrapped as ``KV.ONCE <client-id> <seq> <command> <args...>``.
For each client id the store remembers the highest sequence number applied and its reply. A
request with that same number gets the remembered reply again without being applied; a lower
number is refused (the client has moved on, so it cannot be waiting for it). A client idle
longer than ``session_ttl`` seconds is forgotten, oldest first, and so is the least recently
used one when there are more than ``max_sessions``.

Who may write into a session: with a cluster secret, only ids the cluster issued (``KV.SESSION``
hands each client ``<nonce>.<tag>``, the tag an HMAC of the nonce under the secret). A client
cannot pick another's id, and cannot guess one (96 random bits, never shown by any command);
the id only ever travels on its owner's connections. Both servers check the tag with the same
secret, so a refused request is refused alike on the backup.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import OrderedDict
from collections.abc import Iterator
from functools import partial

from .commands import DATA_COMMANDS, ONCE, CommandTable, subcommand_error, wrong_arity
from .keyspace.bits import BitCommands
from .keyspace.db import CommandError, Keyspace
from .keyspace.dumps import DumpCommands
from .keyspace.geo import GeoCommands
from .keyspace.hashes import HashCommands
from .keyspace.hyperloglog import HyperLogLogCommands
from .keyspace.keys import KeyCommands
from .keyspace.lists import ListCommands
from .keyspace.numbers import parse_int64
from .keyspace.scripts import ScriptCommands
from .keyspace.sets import SetCommands
from .keyspace.sort import SortCommands
from .keyspace.strings import StringCommands
from .keyspace.values import REQUEST, add_piece, digest_words, pieces
from .keyspace.zsets import ZSetCommands
from .protocol import Error, decode_reply, encode

log = logging.getLogger("pbd")

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def fnv1a_32(data: bytes) -> int:
    """The 32-bit FNV-1a hash of ``data``."""
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return h


# What a primary forwards after the effects of a KV.ONCE request that decided at random: the
# session's reply, for the backup to remember (never a client's command).
RECORD = b"KV.RECORD"

ONCE_NAME = b"KV.ONCE"
# Blocking command -> the method that says what it would wait on: (keys, type, timeout, timeout
# reply), or an error when its arguments are wrong (it then runs, and answers the error).
BLOCKING = {"BLPOP": "list_wait", "BRPOP": "list_wait", "BLMOVE": "list_wait", "BRPOPLPUSH": "list_wait",
            "BLMPOP": "list_wait", "BZPOPMIN": "zset_wait", "BZPOPMAX": "zset_wait", "BZMPOP": "zset_wait"}

MAX_CLIENT_ID = 64  # bytes: longer exactly-once client ids are refused
NOT_ISSUED = Error("ERR KV.ONCE client id was not issued by this cluster (ask KV.SESSION for one)")


def session_tag(key: bytes, nonce: bytes) -> bytes:
    """What makes ``<nonce>.<tag>`` a session id the cluster issued."""
    return hmac.new(key, b"resp-kv session\n" + nonce, hashlib.sha256).hexdigest()[:32].encode()


def session_id(key: bytes | None, nonce: bytes) -> bytes:
    """The session id for a fresh random ``nonce``: signed with the cluster secret if there is one."""
    return nonce if key is None else nonce + b"." + session_tag(key, nonce)


def issued(key: bytes, client: bytes) -> bool:
    nonce, dot, tag = client.partition(b".")
    return bool(dot) and hmac.compare_digest(tag, session_tag(key, nonce))


class Sessions:
    """The exactly-once table: client id -> (last sequence number, its reply, last use).

    Bounded three ways, the least recently used entry going first: idle longer than ``ttl``
    seconds, more than ``max_sessions`` entries, more than ``max_bytes`` of ids and replies."""

    # Rough bytes per entry beyond its id and reply, for INFO's memory accounting.
    ENTRY_OVERHEAD = 200

    def __init__(self, ttl: float = 3600.0, max_sessions: int = 1_000_000, max_bytes: int = 64 * 1024**2):
        self.ttl = ttl
        self.max_sessions = max_sessions
        self.max_bytes = max_bytes
        self.table: OrderedDict[bytes, tuple[int, object, float]] = OrderedDict()
        self.entry_bytes = 0  # ids and replies

    def __len__(self) -> int:
        return len(self.table)

    def lookup(self, client: bytes, seq: int):
        """(found, reply): the remembered reply for a retry, or an error for a stale request."""
        entry = self.table.get(client)
        if entry is None or seq > entry[0]:
            return False, None
        if seq == entry[0]:
            return True, entry[1]
        return True, Error(f"ERR stale request: client has already moved past sequence {seq}")

    def record(self, client: bytes, seq: int, reply, now: float) -> None:
        old = self.table.pop(client, None)
        if old is not None:
            self.entry_bytes -= len(client) + _size(old[1])
        self.table[client] = (seq, reply, now)
        self.entry_bytes += len(client) + _size(reply)
        self.expire(now)

    def expire(self, now: float) -> None:
        table = self.table
        while table:
            client, (seq, reply, used) = next(iter(table.items()))
            if now - used <= self.ttl and len(table) <= self.max_sessions and self.memory() <= self.max_bytes:
                break
            del table[client]
            self.entry_bytes -= len(client) + _size(reply)

    def memory(self) -> int:
        return self.entry_bytes + self.ENTRY_OVERHEAD * len(self.table)

    def items(self) -> list[tuple[bytes, tuple[int, object, float]]]:
        return list(self.table.items())

    def load(self, items) -> None:
        for client, entry in items:
            self.table[client] = entry
            self.entry_bytes += len(client) + _size(entry[1])


def _size(reply) -> int:
    if isinstance(reply, (bytes, str)):
        return len(reply)
    if isinstance(reply, list):
        return sum(_size(r) for r in reply) + 8 * len(reply)
    return 8


def checked_subcommand(handler, args: list[bytes]):
    """A container command's handler, run once its subcommand and arity are known good."""
    return subcommand_error(args) or handler(args)


def internal_error(command: str, exc: Exception) -> Error:
    """The reply to a command that failed in a way it should not (a bug): the same on both
    servers, so the backup stays the primary's copy, and the connection stays open."""
    log.error("%s failed: %r", command, exc, exc_info=exc)
    return Error(f"ERR internal error in '{command.lower()}': {type(exc).__name__}")


class Store(Keyspace, StringCommands, KeyCommands, HashCommands, ListCommands, SetCommands, ZSetCommands,
            SortCommands, ScriptCommands, BitCommands, HyperLogLogCommands, GeoCommands, DumpCommands):
    """The data (sixteen databases, with expiry), its commands, and the exactly-once table.

    ``runner(name)`` finds what runs a data command; ``now`` is the time the commands being run
    carry (the primary's batch time, the same on the backup); ``db`` the database they run in."""

    def __init__(self, session_ttl: float = 3600.0, max_sessions: int = 1_000_000,
                 max_session_bytes: int = 64 * 1024**2, session_key: bytes | None = None):
        """``session_key``: the cluster secret, which signs exactly-once ids (None: any id goes)."""
        super().__init__()
        self.session_key = session_key
        self.sessions = Sessions(session_ttl, max_sessions, max_session_bytes)
        self.table = CommandTable(DATA_COMMANDS + [ONCE], self)
        # A data command's name as clients spell it -> (arity, function of the request, name)
        self.runners: dict[bytes, tuple[int, object, str]] = {}

    def runner(self, name: bytes) -> tuple[int, object, str] | None:
        """(arity, function of the request, command name) for a data command's name as clients
        spell it, or None if it is not one."""
        runner = self.runners.get(name)
        if runner is None:
            cmd = self.table.lookup(name)
            handler = None if cmd is None else self.table.handlers.get(cmd.name)
            if handler is None:
                return None
            if cmd.subcommands():  # OBJECT, MEMORY, SCRIPT, FUNCTION: Redis's subcommand check first
                handler = partial(checked_subcommand, handler)
            runner = self.runners[name] = (cmd.arity, handler, cmd.name)
        return runner

    def run(self, args: list[bytes]):
        """Run one request if it is a data command with a valid arity; else return None."""
        runner = self.runners.get(args[0]) or self.runner(args[0])
        if runner is not None and (len(args) == runner[0] or 0 > runner[0] >= -len(args)):
            try:  # self.call(runner, args), inlined: the backup runs every request through here
                return runner[1](args)
            except CommandError as exc:
                return exc.reply
            except Exception as exc:  # noqa: BLE001
                return internal_error(runner[2], exc)
        return None

    @staticmethod
    def call(runner, args: list[bytes]):
        """Run a request with its runner: its reply, an error it raised, or an internal error
        (a bug must not make a batch poison the backup). ``run`` and pbd's hot loop inline this."""
        try:
            return runner[1](args)
        except CommandError as exc:
            return exc.reply
        except Exception as exc:  # noqa: BLE001
            return internal_error(runner[2], exc)

    def cmd_kv_once(self, args: list[bytes]):
        """KV.ONCE <client> <seq> <command> <args...>: run the command at most once per (client,
        seq); a retry gets the reply of its one and only application."""
        inner = args[3:]
        cmd = self.table.lookup(inner[0])
        if cmd is None or cmd is ONCE or cmd.name == "SELECT":
            return Error(f"ERR KV.ONCE cannot run '{inner[0].decode('utf-8', 'replace')[:64]}'")
        if not cmd.arity_ok(len(inner)):
            return wrong_arity(cmd.name)
        if len(args[1]) > MAX_CLIENT_ID:
            return Error(f"ERR KV.ONCE client id longer than {MAX_CLIENT_ID} bytes")
        seq = parse_int64(args[2])
        if seq is None:
            return Error("ERR KV.ONCE sequence number is not an integer")
        # An id in the table was checked when it entered it (or came in a state transfer).
        key = self.session_key
        if key is not None and args[1] not in self.sessions.table and not issued(key, args[1]):
            return NOT_ISSUED
        found, reply = self.sessions.lookup(args[1], seq)
        if found:
            return reply
        reply = self.call(self.runner(inner[0]), inner)
        self.sessions.record(args[1], seq, reply, self.now)
        if self.effects is not None:  # the backup runs the effects: the reply it must remember too
            self.effects.append([RECORD, args[1], args[2], encode(reply)])
        return reply

    def must_wait(self, args: list[bytes]):
        """For a blocking command (maybe inside KV.ONCE) that has nothing to pop now: (keys it
        waits on, the type it pops, timeout in seconds (0: forever), its reply on timeout).
        None if it runs now: something to pop, an error to answer, or a retry already answered."""
        if args[0].upper() == ONCE_NAME:
            inner = args[3:]
            cmd = self.table.lookup(inner[0])
            if cmd is None or cmd.name not in BLOCKING or not cmd.arity_ok(len(inner)):
                return None
            seq = parse_int64(args[2])
            if seq is None or self.sessions.lookup(args[1], seq)[0]:
                return None
        else:
            inner = args
            cmd = self.table.lookup(inner[0])
            if cmd is None or cmd.name not in BLOCKING:
                return None
        wait = getattr(self, BLOCKING[cmd.name])(inner)
        db = self.db  # (a key found expired is not deleted here: the backup would not know)
        if wait.__class__ is not tuple or any(key in db.data and not self.expired(key, db) for key in wait[0]):
            return None
        return wait

    def apply(self, args: list[bytes]) -> None:
        """Run one request the primary forwarded: a data command, or one of the replication's
        own (``KV.RECORD``)."""
        if args[0] == RECORD:
            if len(args) == 4 and parse_int64(args[2]) is not None:
                self.sessions.record(args[1], int(args[2]), decode_reply(args[3]), self.now)
            return
        self.run(args)
        self.effects = None

    def load_chunk(self, kind: bytes, items: list) -> None:
        """Part of a state transfer: ``[db, key, expiry, type, count, word * count, ...]`` (data;
        expiry -1 for none; a large container comes in several pieces) or ``[(client, entry),
        ...]`` (the exactly-once table), as the snapshot's chunks hold them."""
        if kind == b"PB.LOAD":
            dbs = self.dbs
            i = 0
            while i < len(items):
                db, key, expiry, kind, count = items[i:i + 5]
                i += 5
                words = items[i:i + int(count)]
                i += int(count)
                if kind == REQUEST:  # state that is no key's value (the scripts): what rebuilds it
                    self.apply(words)
                    continue
                db = dbs[int(db)]
                add_piece(db.data, key, kind, words)
                if expiry != b"-1":
                    db.expires[key] = int(expiry)
        else:
            self.sessions.load(items)

    # ------------------------------------------------------------------ our own command

    def cmd_puthash(self, args):
        previous = self.string(args[1]) or b""
        self.store(args[1], b"%d" % fnv1a_32(previous + args[2]))
        return previous

    def digest(self) -> str:
        """A fingerprint of the data, types and expiry times included (not of the exactly-once
        table): equal data, equal digest."""
        h = hashlib.sha1()
        empty = True
        for db in self.dbs:
            for key in sorted(db.data):
                empty = False
                h.update(b"%d:%d:%b:%d" % (db.index, len(key), key, db.expires.get(key, -1)))
                for word in digest_words(db.data[key]):
                    h.update(b"%d:%b" % (len(word), word))
        return "0" * 40 if empty else h.hexdigest()

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> "Snapshot":
        """A consistent copy of the state as of now, to stream to a new backup. The databases are
        copied; the containers in them are not, but frozen: ``container`` copies one before its
        first change while the snapshot is being sent (a new snapshot replaces the old one's)."""
        dbs = [(dict(db.data), dict(db.expires)) for db in self.dbs]
        self.frozen = {id(value) for data, _ in dbs for value in data.values() if value.__class__ is not bytes}
        return Snapshot(self, dbs, self.sessions.items(), self.script_state())


class Snapshot:
    """A frozen copy of a store, handed out in chunks."""

    def __init__(self, keyspace: Keyspace, dbs: list[tuple[dict, dict]], sessions: list, requests: list):
        self.keyspace = keyspace
        self.frozen = keyspace.frozen
        self.dbs = dbs
        self.sessions = sessions
        self.requests = requests  # what rebuilds the rest (the scripts and functions)

    def chunks(self, size: int, max_bytes: int) -> Iterator[tuple[bytes, list[bytes]]]:
        """The state as (message, flat list) pieces of about ``size`` value words each, and about
        ``max_bytes`` (a larger word is a piece of its own): (b"PB.LOAD", [db, key, expiry, type,
        count, word * count, ...]) (first the requests that rebuild the scripts, as type
        "request"), then (b"PB.SESSIONS", [client, seq, used, reply, ...]).
        When it ends (or is dropped) the containers are no longer frozen for it."""
        try:
            for request in self.requests:
                yield b"PB.LOAD", [b"0", b"", b"-1", REQUEST, b"%d" % len(request), *request]
            yield from self._data_chunks(size, max_bytes)
            chunk: list = []
            for client, (seq, reply, used) in self.sessions:
                chunk += [client, b"%d" % seq, repr(used).encode(), encode(reply)]
                if len(chunk) >= 4 * size:
                    yield b"PB.SESSIONS", chunk
                    chunk = []
            if chunk:
                yield b"PB.SESSIONS", chunk
        finally:
            if self.keyspace.frozen is self.frozen:
                self.keyspace.frozen = set()

    def _data_chunks(self, size: int, max_bytes: int):
        chunk: list[bytes] = []
        words = held = 0
        for index, (data, expires) in enumerate(self.dbs):
            db = b"%d" % index
            for key, value in data.items():
                expiry = b"%d" % expires.get(key, -1)
                for kind, piece in pieces(value, size):
                    piece_bytes = len(key) + sum(map(len, piece))
                    if chunk and (held + piece_bytes > max_bytes or words + len(piece) > size):
                        yield b"PB.LOAD", chunk
                        chunk, words, held = [], 0, 0
                    chunk += (db, key, expiry, kind, b"%d" % len(piece), *piece)
                    words += len(piece)
                    held += piece_bytes
        if chunk:
            yield b"PB.LOAD", chunk
