"""The data side of replication: carries out the core's data actions on the store.

``replication.Replica`` decides *what* happens to the data (apply these forwarded requests,
stage a transfer aside, install it, drop it, clear everything); this module does it, and so is
shared by pbd's shell and the deterministic simulation. It decides nothing.
"""

from __future__ import annotations

from .replication import Apply, BeginStaging, ClearData, DropStaging, Install, Stage
from .store import Store

CHUNK_PAIRS = 1000  # entries per PB.LOAD / PB.SESSIONS: small enough for client traffic to pass
CHUNK_BYTES = 1 << 20  # and about this many bytes of keys and values per PB.LOAD


class Keeper:
    """The live store, and the one a transfer fills aside until it is complete."""

    def __init__(self, session_ttl: float = 3600.0, max_sessions: int = 1_000_000,
                 max_session_bytes: int = 64 * 1024**2, session_key: bytes | None = None):
        self.session_limits = (session_ttl, max_sessions, max_session_bytes, session_key)
        self.store = self._new()
        self.staging: Store | None = None

    def _new(self) -> Store:
        return Store(*self.session_limits)

    def chunks(self):
        """A snapshot of the live store, as the (kind, items) chunks a transfer sends."""
        return self.store.snapshot().chunks(CHUNK_PAIRS, CHUNK_BYTES)

    def carry_out(self, action) -> bool:
        """Do ``action`` if it is a data action; return whether it was one."""
        kind = action.__class__
        if kind is Apply:
            store = self.store
            store.now = action.now
            store.select(0)
            apply = store.apply
            for args in action.requests:
                apply(args)
        elif kind is Stage:
            self.staging.load_chunk(action.kind, action.items)
        elif kind is BeginStaging:
            self.staging = self._new()
        elif kind is Install:
            self.store, self.staging = self.staging, None
        elif kind is DropStaging:
            self.staging = None
        elif kind is ClearData:
            self.store = self._new()
        else:
            return False
        return True
