"""A connection's transaction (MULTI, EXEC, DISCARD, WATCH, UNWATCH), as Redis's ``multi.c``.

Between MULTI and EXEC a connection's requests are queued (``+QUEUED``), except the ones
Redis answers at once (:data:`IMMEDIATE`); a request that cannot be queued (unknown command,
wrong arity) is answered with its error and makes EXEC answer ``EXECABORT``. WATCH registers
keys with the keyspace's watchers: any change to one (a write, a deletion by expiry, FLUSHALL,
SWAPDB ...) marks the transaction touched, and so does a watched key found expired at EXEC;
EXEC then answers a null array and runs nothing. This module keeps that state and decides; the
node runs the queued commands, and what EXEC ran reaches the backup as one unit of its batch.
"""

from __future__ import annotations

from .protocol import Error, Status

QUEUED = Status("QUEUED")
EXEC_ABORT = Error("EXECABORT Transaction discarded because of previous errors.")
NESTED = Error("ERR MULTI calls can not be nested")
EXEC_WITHOUT_MULTI = Error("ERR EXEC without MULTI")
DISCARD_WITHOUT_MULTI = Error("ERR DISCARD without MULTI")
WATCH_IN_MULTI = Error("ERR WATCH inside MULTI is not allowed")
def exec_abort(error: Error) -> Error:
    """EXEC's reply when EXEC itself is refused (Redis's execCommandAbort)."""
    reason = error[4:] if error.startswith("ERR ") else str(error)
    return Error(f"EXECABORT Transaction discarded because of: {reason}")


# Answered at once inside MULTI rather than queued.
IMMEDIATE = frozenset({"EXEC", "DISCARD", "MULTI", "WATCH", "QUIT", "RESET"})


class Transaction:
    """One connection's transaction and watched keys, over a keyspace (``keyspace.watchers``)."""

    __slots__ = ("keyspace", "queued", "errored", "dirty", "watched", "ran")

    def __init__(self, keyspace):
        self.keyspace = keyspace
        self.queued: list[list[bytes]] | None = None  # a list between MULTI and EXEC/DISCARD
        self.errored = False  # a request could not be queued: EXEC answers EXECABORT
        self.dirty = False  # a watched key changed
        self.watched: dict[tuple[int, bytes], bool] = {}  # (db, key) -> already expired at WATCH
        self.ran: list[list[bytes]] | None = None  # what the last EXEC ran, for the backup

    def begin(self) -> None:
        self.queued, self.errored = [], False

    def queue(self, args: list[bytes]) -> None:
        self.queued.append(args)

    def watch(self, db, keys: list[bytes]) -> None:
        keyspace = self.keyspace
        for key in keys:
            entry = (db.index, key)
            if entry not in self.watched:
                self.watched[entry] = keyspace.expired(key, db)
                keyspace.watchers.setdefault(entry, set()).add(self)

    def touched(self, db, key: bytes) -> None:
        """A watched key changed (the keyspace calls this)."""
        entry = (db.index, key)
        if self.watched.get(entry) and key not in db.data:
            self.watched[entry] = False  # it had expired already and is now gone: no change
            return
        self.dirty = True

    def replaced(self, db, key: bytes, existed: bool, replaced_with) -> None:
        """A watched key's database is being emptied (``replaced_with`` None) or swapped with
        ``replaced_with`` (the keyspace calls this). A key that had expired when watched and
        goes, or stays expired, is no change; nor is an absent key replaced by an expired one
        (which then counts as expired when watched)."""
        entry = (db.index, key)
        incoming_expired = replaced_with is not None and self.keyspace.expired(key, replaced_with)
        if self.watched.get(entry):
            if replaced_with is None or key not in replaced_with.data:
                self.watched[entry] = False
                return
            if incoming_expired:
                return
        elif not existed and incoming_expired:
            self.watched[entry] = True
            return
        self.dirty = True

    def take(self) -> list[list[bytes]] | Error | None:
        """EXEC: the requests to run, EXECABORT, or None if a watched key changed; either way
        the transaction and its watches end."""
        queued, errored = self.queued, self.errored
        dirty = self.dirty or any(not was and self.keyspace.expired(key, self.keyspace.dbs[index])
                                  for (index, key), was in self.watched.items())
        self.discard()
        if errored:
            return EXEC_ABORT
        return None if dirty else queued

    def discard(self) -> None:
        self.queued, self.errored = None, False
        self.unwatch()

    def unwatch(self) -> None:
        watchers = self.keyspace.watchers
        for entry in self.watched:
            watching = watchers.get(entry)
            if watching is not None:
                watching.discard(self)
                if not watching:
                    del watchers[entry]
        self.watched.clear()
        self.dirty = False
