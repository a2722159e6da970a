"""Calling a store directly in unit tests: words as str, int or bytes, the time if given; and a
transaction watching a key, to see whether a command touched it."""

from __future__ import annotations

from resp_kv.transactions import Transaction


def run(store, *args, now: float | None = None):
    """One request on ``store``, as the backup runs it: its reply. What the previous one left for
    the backup (``store.effects``) is dropped first, as the server takes it after each command."""
    if now is not None:
        store.now = now
    store.effects = None
    return store.run([a if isinstance(a, bytes) else str(a).encode() for a in args])


def watching(store, key: str) -> Transaction:
    """A transaction (begun) that watches ``key`` in the store's database: ``.dirty`` after a change."""
    tx = Transaction(store)
    tx.watch(store.db, [key.encode()])
    tx.begin()
    return tx
