"""The databases: keys, their values and their expiry times, and what a key is at a given time.

A key with an expiry time lives until that time has passed (``now > when``, in milliseconds, as
Redis). Every lookup takes the time of the commands being run (``Keyspace.now``, seconds, the
primary's batch time, so the same on the backup), and deletes a key it finds expired: a read
expires keys on the primary and on the backup alike. Keys nobody looks up are found by
:meth:`Keyspace.expire_some`, which only the primary runs; its deletions reach the backup as
``DEL`` requests. Nothing here reads a clock or does I/O.

Every change to a key goes through :class:`Keyspace`'s ``store``, ``delete``, ``set_expiry``,
``persist``, ``flush`` and ``swap``, which tell the keys' watchers (``WATCH``, on the primary:
``watchers`` maps (database, key) to the transactions watching it; empty on a backup). A
container (hash, list, set, zset: values.py) is changed in place: a command takes it with
``container`` and reports the change with ``changed``, which deletes it if it became empty and
tells the watchers. ``container`` also keeps a state transfer's snapshot frozen: a container the
snapshot still holds is copied before its first change (``frozen``: the ids of those).

A command whose outcome the backup cannot decide alike (a random pick) says what the backup
must run instead with ``replicate_as`` (``effects``: None, or the requests that stand for it).
"""

from __future__ import annotations

from ..protocol import Error
from . import DATABASES
from .scan import ScanOrders
from .values import copy_value



class CommandError(Exception):
    """A command's error reply, raised from inside it (``WRONGTYPE`` from a type check)."""

    def __init__(self, reply: Error):
        self.reply = reply


WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")


class Database:
    """One numbered database: key -> value, and key -> expiry time (ms) for keys that have one.
    Read it freely; change it through :class:`Keyspace`."""

    __slots__ = ("index", "data", "expires")

    def __init__(self, index: int):
        self.index = index
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}


class Keyspace:
    """Sixteen databases, the one commands run in (``db``), and the time they run at (``now``)."""

    def __init__(self) -> None:
        self.dbs = [Database(i) for i in range(DATABASES)]
        self.db = self.dbs[0]
        self.now = 0.0  # seconds
        self.expired_keys = 0
        self.watchers: dict[tuple[int, bytes], set] = {}  # (db, key) -> transactions watching it
        self.frozen: set[int] = set()  # ids of the containers a snapshot being sent still holds
        self.effects: list[list[bytes]] | None = None  # what the backup runs instead of the command
        self.scan_orders = ScanOrders()  # SCAN, HSCAN, SSCAN and ZSCAN's snapshots

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
                self.delete(key, db)
                self.expired_keys += 1
                return None
        return value

    def string(self, key: bytes) -> bytes | None:
        """A live key's string value, None if there is none; WRONGTYPE for another type."""
        value = self.lookup(key)
        if value is not None and value.__class__ is not bytes:
            raise CommandError(WRONGTYPE)
        return value

    def typed(self, key: bytes, kind: type):
        """A live key's value if it is a ``kind``, None if there is none; WRONGTYPE otherwise.
        For reading: change a container only through :meth:`container`."""
        value = self.lookup(key)
        if value is not None and value.__class__ is not kind:
            raise CommandError(WRONGTYPE)
        return value

    def container(self, key: bytes, kind: type, create: bool = False):
        """A live key's container of type ``kind``, to change in place (WRONGTYPE for another
        type); None if there is none, or a new empty one stored if ``create``. After changing it,
        call :meth:`changed`."""
        value = self.lookup(key)
        if value is None:
            if create:
                value = self.db.data[key] = kind()
            return value
        if value.__class__ is not kind:
            raise CommandError(WRONGTYPE)
        if self.frozen and id(value) in self.frozen:  # a snapshot still holds it: copy on write
            self.frozen.discard(id(value))
            value = self.db.data[key] = copy_value(value)
        return value

    def changed(self, key: bytes, value, db: Database | None = None) -> None:
        """After a container changed in place: deleted if empty, and its watchers told."""
        db = db or self.db
        if not value:
            self.delete(key, db)
        elif self.watchers:
            self._touch(db, key)

    def replicate_as(self, *requests: list[bytes]) -> None:
        """The backup runs ``requests`` (in the current database) instead of the command being
        run, which decided something it cannot decide alike (none: it runs nothing)."""
        if self.effects is None:
            self.effects = []
        self.effects += requests

    def scan_page(self, key: bytes | None, names, cursor: int, count: int, alive) -> tuple[bytes, list[bytes]]:
        """A page of an iteration over the database (``key`` None) or the container at ``key``
        (scan.py). Cursors are each server's own, and the primary's reply is the one that counts,
        so the backup runs nothing for it."""
        self.replicate_as()
        return self.scan_orders.page((self.db.index, key), names, cursor, count, alive)

    def expired(self, key: bytes, db: Database) -> bool:
        """Whether the key is there but its time has passed (not yet deleted)."""
        when = db.expires.get(key)
        return when is not None and self.now_ms > when and key in db.data

    # ------------------------------------------------------------------ changes

    def _touch(self, db: Database, key: bytes) -> None:
        watching = self.watchers.get((db.index, key))
        if watching:
            for transaction in list(watching):
                transaction.touched(db, key)

    def store(self, key: bytes, value, keep_ttl: bool = False, db: Database | None = None) -> None:
        """Set a key's value; its expiry time goes unless ``keep_ttl``."""
        db = db or self.db
        db.data[key] = value
        if not keep_ttl and db.expires:
            db.expires.pop(key, None)
        if self.watchers:
            self._touch(db, key)

    def delete(self, key: bytes, db: Database | None = None) -> bool:
        db = db or self.db
        if db.data.pop(key, None) is None:
            return False
        db.expires.pop(key, None)
        if self.watchers:
            self._touch(db, key)
        return True

    def set_expiry(self, key: bytes, when: int, db: Database | None = None) -> None:
        db = db or self.db
        db.expires[key] = when
        if self.watchers:
            self._touch(db, key)

    def persist(self, key: bytes) -> bool:
        """Remove the key's expiry time; whether it had one."""
        if self.db.expires.pop(key, None) is None:
            return False
        if self.watchers:
            self._touch(self.db, key)
        return True

    def flush(self, db: Database) -> None:
        self._touch_all(db, None)
        db.data.clear()
        db.expires.clear()

    def swap(self, a: Database, b: Database) -> None:
        self._touch_all(a, b)
        self._touch_all(b, a)
        a.data, b.data = b.data, a.data
        a.expires, b.expires = b.expires, a.expires

    def _touch_all(self, db: Database, replaced_with: Database | None) -> None:
        """Before ``db`` is emptied (or gets ``replaced_with``'s keys): tell the watchers of its
        keys that are in either."""
        for index, key in list(self.watchers):
            exists = key in db.data
            if index == db.index and (exists or (replaced_with is not None and key in replaced_with.data)):
                for transaction in list(self.watchers.get((index, key), ())):
                    transaction.replaced(db, key, exists, replaced_with)

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
                if now > when:
                    self.delete(key, db)
                    gone.append((db.index, key))
                else:
                    del expires[key]
                    expires[key] = when  # to the back of the line
        self.expired_keys += len(gone)
        return gone, looked
