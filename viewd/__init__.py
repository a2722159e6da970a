"""viewd: the view daemon that decides which resp-kv server is primary and which is backup.

``viewd.core`` holds the rules (a pure state machine); ``viewd.server`` is its RESP front,
which also answers Redis Sentinel's queries; ``python -m viewd`` runs it.
"""

from .core import ServerStatus, Summary, View, ViewService

__all__ = ["ServerStatus", "Summary", "View", "ViewService"]
