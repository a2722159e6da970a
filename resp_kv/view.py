"""The one value viewd and the servers share: a view (its number, its primary, its backup).

It lives here, in the package that both ``resp_kv`` and ``viewd`` import from, so that neither
package needs the other's internals: viewd decides views, pbd reacts to them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class View:
    """One view: its number, and the ids of its primary and backup ("" where there is none)."""

    viewnum: int = 0
    primary: str = ""
    backup: str = ""
