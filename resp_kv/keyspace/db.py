"""The databases: keys, their values and their expiry times, and what a key is at a given time.

A key with an expiry time lives until that time has passed (``now > when``, in milliseconds, as
Redis). Every lookup takes the time of the commands being run (``Keyspace.now``, seconds, the
primary's batch time, so the same on the backup), and deletes a key it finds expired: a read
expires keys on the primary and on the backup alike. Keys nobody looks up are found by
:meth:`Keyspace.expire_some`, which only the primary runs; its deletions reach the backup as
``DEL`` requests. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from ..protocol import Error

DATABASES = 16


class CommandError(Exception):
    """A command's error reply, raised from inside it (``WRONGTYPE`` from a type check)."""

    def __init__(self, reply: Error):
        self.reply = reply


WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")


class Database:
    """One numbered database: key -> value, and key -> expiry time (ms) for keys that have one."""

    __slots__ = ("index", "data", "expires")

    def __init__(self, index: int):
        self.index = index
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}

    def delete(self, key: bytes) -> bool:
        if self.data.pop(key, None) is None:
            return False
        self.expires.pop(key, None)
        return True

    def clear(self) -> None:
        self.data.clear()
        self.expires.clear()


class Keyspace:
    """Sixteen databases, the one commands run in (``db``), and the time they run at (``now``)."""

    def __init__(self) -> None:
        self.dbs = [Database(i) for i in range(DATABASES)]
        self.db = self.dbs[0]
        self.now = 0.0  # seconds
        self.expired_keys = 0

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)

    def select(self, index: int) -> None:
        self.db = self.dbs[index]

    # ------------------------------------------------------------------ lookups

    def lookup(self, key: bytes, db: Database | None = None):
        """The value of a live key (None if there is none); an expired key is deleted."""
        db = db or self.db
        value = db.data.get(key)
        if value is not None and db.expires:
            when = db.expires.get(key)
            if when is not None and self.now_ms > when:
                del db.data[key]
                del db.expires[key]
                self.expired_keys += 1
                return None
        return value

    def string(self, key: bytes) -> bytes | None:
        """A live key's string value, None if there is none; WRONGTYPE for another type."""
        value = self.lookup(key)
        if value is not None and value.__class__ is not bytes:
            raise CommandError(WRONGTYPE)
        return value

    def ttl_of(self, key: bytes, db: Database | None = None) -> int:
        """The key's expiry time in ms, -1 if it has none (the key must exist)."""
        return (db or self.db).expires.get(key, -1)

    def store(self, key: bytes, value, keep_ttl: bool = False) -> None:
        """Set a key's value; its expiry time goes unless ``keep_ttl``."""
        db = self.db
        db.data[key] = value
        if not keep_ttl and db.expires:
            db.expires.pop(key, None)

    def expire_at(self, key: bytes, when: int, db: Database | None = None) -> None:
        (db or self.db).expires[key] = when

    # ------------------------------------------------------------------ active expiry

    def expire_some(self, budget: int) -> tuple[list[tuple[int, bytes]], int]:
        """Look at up to ``budget`` keys with an expiry time in each database, those looked at
        longest ago first; delete the expired ones. Returns them as (database, key), for the
        backup, and how many keys were looked at."""
        now = self.now_ms
        gone = []
        looked = 0
        for db in self.dbs:
            expires = db.expires
            count = min(budget, len(expires))
            looked += count
            for _ in range(count):
                key, when = next(iter(expires.items()))
                del expires[key]
                if now > when:
                    del db.data[key]
                    gone.append((db.index, key))
                else:
                    expires[key] = when  # to the back of the line
        self.expired_keys += len(gone)
        return gone, looked
