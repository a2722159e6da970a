"""Clients blocked by BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP
(Redis's ``blocked.c``): who waits on which keys, in what order, and who is worth trying again.

A blocking command that finds nothing to pop waits here (:meth:`Blocking.block`) until a key it
waits on changes, it times out, or its connection closes. A waiter watches its keys through the
keyspace's ``watchers``, as WATCH does: any change to one of them (a push, a rename, a SWAPDB,
a FLUSHALL ...) makes it *ready*, and the node tries ready waiters, oldest first (first come,
first served per key), after each batch of commands: serving one runs the command, whose
non-blocking form then pops, in the order the primary served it.

Only a primary has waiters (a backup never blocks: it runs what the primary served). This
module keeps that bookkeeping and decides the order; it does no I/O and reads no clock.
"""

from __future__ import annotations

import itertools

# The commands that may wait (and KV.ONCE, which may wrap one): the store's ``must_wait`` says
# whether a request of theirs waits now, on what, and for how long.
MAY_BLOCK = frozenset({"BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
                       "KV.ONCE"})


class Waiter:
    """One blocked command: its connection, request, database and the keys it waits on."""

    __slots__ = ("conn", "args", "keys", "db", "kind", "seq", "blocking", "timer", "__weakref__")

    def __init__(self, blocking: "Blocking", conn, args: list[bytes], keys: list[bytes], db: int, kind: type):
        self.blocking = blocking
        self.conn = conn
        self.args = args  # as the client sent it (maybe inside KV.ONCE)
        self.keys = keys
        self.db = db
        self.kind = kind  # the type it pops from (deque or ZSet)
        self.seq = next(blocking.order)
        self.timer = None  # the shell's timeout handle

    # The keyspace's watchers protocol (db.py): a change to a key waited on.
    def touched(self, db, key: bytes) -> None:
        self.blocking.ready[self.seq] = self

    def replaced(self, db, key: bytes, exists: bool, replaced_with) -> None:
        self.blocking.ready[self.seq] = self


class Blocking:
    """The waiters of one keyspace (the primary's store)."""

    def __init__(self, keyspace):
        self.keyspace = keyspace
        self.order = itertools.count()
        self.by_conn: dict[int, Waiter] = {}  # connection id -> its waiter (one at a time)
        self.ready: dict[int, Waiter] = {}  # seq -> waiter, worth trying again

    def __len__(self) -> int:
        return len(self.by_conn)

    def block(self, conn, args: list[bytes], keys: list[bytes], db: int, kind: type) -> Waiter:
        waiter = Waiter(self, conn, args, keys, db, kind)
        self.by_conn[conn.id] = waiter
        watchers = self.keyspace.watchers
        for key in keys:
            watchers.setdefault((db, key), set()).add(waiter)
        return waiter

    def unblock(self, waiter: Waiter) -> None:
        """Forget a waiter (served, timed out, or its connection closed)."""
        if self.by_conn.get(waiter.conn.id) is not waiter:
            return
        del self.by_conn[waiter.conn.id]
        self.ready.pop(waiter.seq, None)
        watchers = self.keyspace.watchers
        for key in waiter.keys:
            watching = watchers.get((waiter.db, key))
            if watching is not None:
                watching.discard(waiter)
                if not watching:
                    del watchers[(waiter.db, key)]

    def take_ready(self) -> list[Waiter]:
        """The waiters a change made worth trying, oldest first; they stay blocked until
        :meth:`unblock`."""
        ready = [self.ready[seq] for seq in sorted(self.ready)]
        self.ready.clear()
        return ready

    def can_serve(self, waiter: Waiter) -> bool:
        """Whether one of the waiter's keys now holds something of the type it pops from."""
        keyspace = self.keyspace
        db = keyspace.dbs[waiter.db]  # (an expired key is not deleted here: only commands do that)
        return any(db.data.get(key).__class__ is waiter.kind and not keyspace.expired(key, db) for key in waiter.keys)
