"""Calling a store directly in unit tests: words as str, int or bytes, the time if given."""

from __future__ import annotations


def run(store, *args, now: float | None = None):
    """One request on ``store``, as the backup runs it: its reply. What the previous one left for
    the backup (``store.effects``) is dropped first, as the server takes it after each command."""
    if now is not None:
        store.now = now
    store.effects = None
    return store.run([a if isinstance(a, bytes) else str(a).encode() for a in args])
