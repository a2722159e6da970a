"""The replication channel's vocabulary: every PB.* message, its arguments, and its refusals.

One primary opens one connection (a *link*) into its backup per attempt; every message and reply
on it is one RESP request and one reply, in order:

    PB.RESUME <view> <primary>          -> [last batch held, "synced"]  (or a refusal)
    PB.BATCH <view> <id> <now> <reqs>   -> +OK (applied) | +QUEUED (held until the state is in)
    PB.SYNC <view> <covers>             -> +OK: a state transfer starts; it covers batches <= covers
    PB.LOAD <view> <[key, value, ...]>  -> +OK: a chunk of the data
    PB.SESSIONS <view> <[client, seq, used, reply, ...]>  -> +OK: a chunk of the exactly-once table
    PB.SYNCED <view>                    -> :N: the transfer is complete; the backup holds batch N

``<reqs>`` is the clients' requests as RESP multibulk frames, back to back; the arrays of LOAD
and SESSIONS are one RESP array each, carried as one bulk string. A refusal is an error whose
first word tells the primary what to do: NOTBACKUP (the backup knows a newer view, or the sender
is not its primary: fence), TRYAGAIN (the backup has not heard of this view yet: try again
soon), NOTSYNCED (anything else: open a new link, and send the state if the backup lacks it).

This module only names, encodes and decodes; it decides nothing.
"""

from __future__ import annotations

from itertools import chain

import hiredis

from .protocol import decode_reply, encode_command

RESUME = b"PB.RESUME"
BATCH = b"PB.BATCH"
SYNC = b"PB.SYNC"
LOAD = b"PB.LOAD"
SESSIONS = b"PB.SESSIONS"
SYNCED = b"PB.SYNCED"

# name -> arity (Redis's convention: the exact number of words, the name included)
ARITY = {RESUME: 3, BATCH: 5, SYNC: 3, LOAD: 3, SESSIONS: 3, SYNCED: 2}

NOT_BACKUP = "NOTBACKUP"
TRY_AGAIN = "TRYAGAIN"
NOT_SYNCED = "NOTSYNCED"

SYNCED_STATE = b"synced"  # PB.RESUME's second element when the backup holds the full state


class Malformed(ValueError):
    """A PB.* message whose arguments do not have their shape."""


# --------------------------------------------------------------------------- encoding


def resume(viewnum: int, primary: str) -> bytes:
    return encode_command((RESUME, b"%d" % viewnum, primary.encode()))


def batch(viewnum: int, batch_id: int, now: float, requests: bytes) -> bytes:
    return encode_command((BATCH, b"%d" % viewnum, b"%d" % batch_id, repr(now).encode(), requests))


def sync(viewnum: int, covers: int) -> bytes:
    return encode_command((SYNC, b"%d" % viewnum, b"%d" % covers))


def chunk(kind: bytes, viewnum: int, items: list[bytes]) -> bytes:
    """A PB.LOAD or PB.SESSIONS message carrying ``items`` as one RESP array."""
    return encode_command((kind, b"%d" % viewnum, encode_command(items)))


def synced(viewnum: int) -> bytes:
    return encode_command((SYNCED, b"%d" % viewnum))


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


def requests(payload: bytes) -> list[list[bytes]]:
    """The client requests a PB.BATCH carries (multibulk frames of bulk strings, as the
    primary's parser accepted them, so hiredis alone suffices here)."""
    reader = hiredis.Reader()
    reader.feed(payload)
    found = []
    try:
        while (req := reader.gets()) is not False:
            if req.__class__ is not list or not req:
                raise Malformed("a batch holds something that is not a request")
            found.append(req)
    except hiredis.ProtocolError as exc:
        raise Malformed(f"a batch is not RESP: {exc}") from None
    if found and set(map(type, chain.from_iterable(found))) != {bytes}:
        raise Malformed("a batch holds a request whose words are not bulk strings")
    return found


def flat_array(payload: bytes, group: int) -> list[bytes]:
    """The items of a PB.LOAD / PB.SESSIONS chunk: a RESP array of bulk strings whose length is
    a multiple of ``group``."""
    reader = hiredis.Reader()
    reader.feed(payload)
    try:
        items = reader.gets()
    except hiredis.ProtocolError:
        items = None
    if items.__class__ is not list or len(items) % group or (items and set(map(type, items)) != {bytes}):
        raise Malformed(f"a chunk is not an array of bulk strings in groups of {group}")
    return items


def session_entries(payload: bytes) -> list[tuple[bytes, tuple[int, object, float]]]:
    """The exactly-once entries of a PB.SESSIONS chunk: (client, (seq, reply, last used))."""
    fields = flat_array(payload, 4)
    try:
        return [(fields[i], (int(fields[i + 1]), decode_reply(fields[i + 3]), float(fields[i + 2])))
                for i in range(0, len(fields), 4)]
    except (ValueError, hiredis.ProtocolError):
        raise Malformed("a PB.SESSIONS entry is not (client, seq, used, reply)") from None
