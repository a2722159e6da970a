"""The replication channel's vocabulary: every PB.* message, its arguments, and its refusals.

One primary opens one connection (a *link*) into its backup per attempt; every message and reply
on it is one RESP request and one reply, in order:

    PB.RESUME <view> <primary>          -> [last batch held, "synced"]  (or a refusal)
    PB.BATCH <view> <id> <now> <reqs> <large> ...  -> +OK (applied) | +QUEUED (held until the state is in)
    PB.SYNC <view> <covers>             -> +OK: a state transfer starts; it covers batches <= covers
    PB.LOAD <view> <db> <key> <expiry> <type> <n> <word>*n ...  -> +OK: a chunk of the data
                                        (expiry in ms, -1: none; values.py says what the words are)
    PB.SESSIONS <view> <client> <seq> <used> <reply> ...  -> +OK: a chunk of the exactly-once table
    PB.SYNCED <view>                    -> :N: the transfer is complete; the backup holds batch N

``<reqs>`` is the clients' requests as RESP multibulk frames, back to back (as they came, when
they came as exactly that), except that each word of ``BIG`` bytes or more is an integer
element (``:0``, which no client request can hold) standing for the next ``<large>`` word: a
large value crosses as a word of its own, never copied on the primary (messages are lists of
parts, for ``writelines``) and parsed once on the backup. Chunks carry their items as words.
A refusal is an error whose
first word tells the primary what to do: NOTBACKUP (the backup knows a newer view, or the sender
is not its primary: fence), TRYAGAIN (the backup has not heard of this view yet: try again
soon), NOTSYNCED (anything else: open a new link, and send the state if the backup lacks it).

This module only names, encodes and decodes; it decides nothing.
"""

from __future__ import annotations

from itertools import chain

import hiredis

from .keyspace import DATABASES
from .keyspace.values import PIECE_TYPES
from .protocol import BIG, decode_reply, encode_command_parts

RESUME = b"PB.RESUME"
BATCH = b"PB.BATCH"
SYNC = b"PB.SYNC"
LOAD = b"PB.LOAD"
SESSIONS = b"PB.SESSIONS"
SYNCED = b"PB.SYNCED"

# name -> arity (Redis's convention: the exact number of words, the name included; -n: at least n)
ARITY = {RESUME: 3, BATCH: -5, SYNC: 3, LOAD: -7, SESSIONS: -6, SYNCED: 2}

NOT_BACKUP = "NOTBACKUP"
TRY_AGAIN = "TRYAGAIN"
NOT_SYNCED = "NOTSYNCED"

SYNCED_STATE = b"synced"  # PB.RESUME's second element when the backup holds the full state


class Malformed(ValueError):
    """A PB.* message whose arguments do not have their shape."""


# --------------------------------------------------------------------------- encoding
# Each message is a list of parts (bytes), to be written in order.


def resume(viewnum: int, primary: str) -> list[bytes]:
    return encode_command_parts((RESUME, b"%d" % viewnum, primary.encode()))


LARGE = b":0\r\n"  # in <reqs>: the next <large> word


def frames(requests: list[list[bytes]], large: list[bytes]) -> bytes:
    """``requests`` as a batch's ``<reqs>``; their words of ``BIG`` bytes or more are appended
    to ``large`` instead."""
    out = []
    for args in requests:
        out.append(b"*%d\r\n" % len(args))
        for arg in args:
            if len(arg) < BIG:
                out.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
            else:
                out.append(LARGE)
                large.append(arg)
    return b"".join(out)


def select(db: int) -> bytes:
    """The frame that moves the rest of a batch to database ``db`` (a batch starts in 0)."""
    return b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%d\r\n" % (len(b"%d" % db), db)


def batch(viewnum: int, batch_id: int, now: float, reqs: bytes, large: list[bytes]) -> list[bytes]:
    return encode_command_parts((BATCH, b"%d" % viewnum, b"%d" % batch_id, repr(now).encode(), reqs, *large))


def sync(viewnum: int, covers: int) -> list[bytes]:
    return encode_command_parts((SYNC, b"%d" % viewnum, b"%d" % covers))


def chunk(kind: bytes, viewnum: int, items: list[bytes]) -> list[bytes]:
    """A PB.LOAD or PB.SESSIONS message carrying ``items``."""
    return encode_command_parts([kind, b"%d" % viewnum, *items])


def synced(viewnum: int) -> list[bytes]:
    return encode_command_parts((SYNCED, b"%d" % viewnum))


# --------------------------------------------------------------------------- decoding


def number(raw: bytes) -> int:
    """A non-negative decimal argument (a view or batch number)."""
    if not raw.isdigit() or len(raw) > 19:
        raise Malformed(f"not a number: {raw[:32]!r}")
    return int(raw)


def timestamp(raw: bytes) -> float:
    try:
        return float(raw)
    except ValueError:
        raise Malformed(f"not a time: {raw[:32]!r}") from None


def requests(reqs: bytes, large: list[bytes]) -> list[list[bytes]]:
    """The client requests a PB.BATCH carries, each ``:0`` in them replaced by the next
    ``large`` word."""
    reader = hiredis.Reader()
    reader.feed(reqs)
    found = []
    try:
        while (req := reader.gets()) is not False:
            if req.__class__ is not list or not req:
                raise Malformed("a batch holds something that is not a request")
            found.append(req)
    except hiredis.ProtocolError as exc:
        raise Malformed(f"a batch is not RESP: {exc}") from None
    if (found and set(map(type, chain.from_iterable(found))) != {bytes}) or large:
        _put_large(found, large)
    return found


def _put_large(found: list[list], large: list[bytes]) -> None:
    words = iter(large)
    for args in found:
        for i, arg in enumerate(args):
            if arg.__class__ is int and arg == 0:
                args[i] = next(words, None)
                if args[i] is None:
                    raise Malformed("a batch stands for more large words than it carries")
            elif arg.__class__ is not bytes:
                raise Malformed("a batch holds a request whose words are not bulk strings")
    if next(words, None) is not None:
        raise Malformed("a batch carries large words it does not use")


def entries(items: list[bytes]) -> list[bytes]:
    """The items of a PB.LOAD chunk: database, key, expiry time, type, word count, the words, and
    again."""
    i = 0
    while i < len(items):
        if i + 5 > len(items):
            raise Malformed("a PB.LOAD chunk is not (db, key, expiry, type, count, words) groups")
        db, _, expiry, kind, count = items[i:i + 5]
        if not (db.isdigit() and int(db) < DATABASES) or not (expiry == b"-1" or expiry.isdigit()):
            raise Malformed("a PB.LOAD entry's database or expiry time is not a number")
        if kind not in PIECE_TYPES or not count.isdigit() or len(count) > 9:
            raise Malformed("a PB.LOAD entry's type or word count is not one")
        i += 5 + int(count)
        if i > len(items) or (kind in (b"hash", b"zset") and int(count) % 2) or (kind == b"string" and count != b"1"):
            raise Malformed("a PB.LOAD entry does not hold the words its type and count say")
    return items


def session_entries(fields: list[bytes]) -> list[tuple[bytes, tuple[int, object, float]]]:
    """The exactly-once entries of a PB.SESSIONS chunk: (client, (seq, reply, last used))."""
    if len(fields) % 4:
        raise Malformed("a PB.SESSIONS chunk is not (client, seq, used, reply) groups")
    try:
        return [(fields[i], (int(fields[i + 1]), decode_reply(fields[i + 3]), float(fields[i + 2])))
                for i in range(0, len(fields), 4)]
    except (ValueError, hiredis.ProtocolError):
        raise Malformed("a PB.SESSIONS entry is not (client, seq, used, reply)") from None
