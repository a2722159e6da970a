"""The primary/backup role of one pbd as a pure state machine: which view it is in, whether it
holds the state for that view, what it tells viewd, and whether it may serve.

Theory of operation
-------------------
A server *holds the state* of view V when it is the primary of V and held the state of V-1
(as primary or as a backup that had received the full state), or when it is a backup of V that
received a full state transfer in V. The one exception is the very first view: a server that
saw no view at all when it started (``genesis``) holds the (empty) state of view 1.

* It pings viewd with the view number it knows, with two exceptions. A server named primary of
  a view whose state it does not hold (it restarted) pings 0, so viewd counts it as dead and
  never waits for it. A primary whose backup has not yet received the full state in this view
  keeps pinging the last view it acknowledged, so viewd cannot move on before the backup is
  ready. Once the backup has held the full state, the view is acknowledged for good: losing
  the link later only means the next link starts with a new transfer.
* A backup that already holds the state of its view keeps it while a new transfer comes in
  (the shell stages it aside), so a primary dying mid-transfer never leaves a half state to
  promote.
* It serves data commands only as the primary of the newest view it knows, holding its state,
  and not fenced. It is fenced when its backup refuses a forward because the backup knows a
  newer view: the primary then serves nothing until it learns a newer view itself.
* As a backup, it accepts forwards and transfers only from the primary of its current view,
  tagged with that view's number; a tag newer than its view means "ask again soon"; older, or
  from anyone else, is refused, which fences the sender.

Everything is decided here from events (a view from viewd, a reply from the backup, a message
from a primary); the server shell does the I/O. No sockets, no clocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from viewd.core import View

# Replies a backup gives a forward or transfer it will not take. The prefix tells the primary
# what to do: NOTBACKUP -> fence; TRYAGAIN -> resend later; NOTSYNCED -> transfer the state first.
NOT_BACKUP = "NOTBACKUP"
TRY_AGAIN = "TRYAGAIN"
NOT_SYNCED = "NOTSYNCED"


@dataclass
class Transition:
    """What changed when a new view was learned; the shell acts on it."""

    old_role: str
    new_role: str
    new_backup: bool  # a serving primary with a backup in this new view: link up with it

    @property
    def role_changed(self) -> bool:
        return self.old_role != self.new_role


class Replica:
    """The role state machine of the server whose advertised address is ``me``."""

    def __init__(self, me: str, genesis: bool):
        self.me = me
        self.genesis = genesis  # viewd had no view when this process started
        self.view = View(0, "", "")
        self.state_view = 0  # the view whose state this server holds (0: none)
        self.acked = 0  # the view number last sent to viewd
        self.fenced_view = 0  # views up to this one are known to be stale
        self.backup_synced = False  # primary: the backup holds the full state over the current link
        self.backup_ready = 0  # primary: the view whose backup has held the full state
        self.receiving = 0  # backup: the view whose state transfer is under way
        # primary (serving), backup, idle, fenced, or restarted (named, without state)
        self.role = "idle"
        self.serving = False

    # ------------------------------------------------------------------ roles

    def _update_role(self) -> None:
        """Recompute ``role`` and ``serving`` (read on every request, so kept, not derived)."""
        v = self.view
        if v.viewnum and v.primary == self.me:
            if self.state_view != v.viewnum:
                self.role = "restarted"
            else:
                self.role = "fenced" if self.fenced_view >= v.viewnum else "primary"
        elif v.viewnum and v.backup == self.me:
            self.role = "backup"
        else:
            self.role = "idle"
        self.serving = self.role == "primary"

    def ping_viewnum(self) -> int:
        """The view number to send with the next ping (and remember as acknowledged)."""
        v = self.view
        if v.viewnum and v.primary == self.me:
            if self.state_view != v.viewnum:
                return 0
            if v.backup and self.backup_ready != v.viewnum:
                return self.acked
        self.acked = v.viewnum
        return v.viewnum

    # ------------------------------------------------------------------ events from viewd

    def on_view(self, view: View) -> Transition | None:
        """A ping reply. Returns what changed, or None if the view is not new."""
        if view.viewnum <= self.view.viewnum:
            return None
        old_role, previous = self.role, self.view
        self.view = view
        me = self.me
        if view.primary == me:
            if self.state_view and self.state_view == previous.viewnum == view.viewnum - 1:
                self.state_view = view.viewnum
            elif view.viewnum == 1 and self.genesis:
                self.state_view = 1
        elif self.state_view != view.viewnum:
            self.state_view = 0  # a backup of a new view waits for its transfer; idle holds nothing
        # A backup's state never outlives its view (even under the same name: it may have
        # restarted and been chosen again), so every new view with a backup needs a new link.
        self.backup_synced = False
        self.receiving = 0
        self._update_role()
        return Transition(old_role, self.role, self.serving and view.backup != "")

    # ------------------------------------------------------------------ primary side

    def on_backup_synced(self, viewnum: int) -> bool:
        """The backup confirmed it holds the full state of ``viewnum``."""
        if viewnum == self.view.viewnum and self.serving:
            self.backup_synced = True
            self.backup_ready = viewnum
            return True
        return False

    def on_backup_refused(self, viewnum: int, reason: str) -> str:
        """The backup refused a message tagged ``viewnum``: 'fence', 'retry' or 'resync'."""
        if reason.startswith(NOT_BACKUP):
            self.fenced_view = max(self.fenced_view, viewnum)
            self._update_role()
            return "fence"
        if reason.startswith(NOT_SYNCED):
            self.backup_synced = False
            return "resync"
        return "retry"

    def on_backup_link_lost(self) -> None:
        """What the backup has applied is unknown now: it must be sent the full state again."""
        self.backup_synced = False

    # ------------------------------------------------------------------ backup side

    def check_sender(self, viewnum: int, sender: str) -> str | None:
        """Why a forward or transfer tagged ``viewnum`` from ``sender`` is refused, or None."""
        v = self.view
        if viewnum > v.viewnum:
            return f"{TRY_AGAIN} view {viewnum} is not known here yet (at {v.viewnum})"
        if viewnum < v.viewnum or v.backup != self.me or v.primary != sender:
            return f"{NOT_BACKUP} {self.me} is not the backup of {sender} in view {viewnum} (view is {v.viewnum})"
        return None

    def check_forward(self, viewnum: int, sender: str) -> str | None:
        refusal = self.check_sender(viewnum, sender)
        if refusal is None and self.state_view != viewnum and self.receiving != viewnum:
            refusal = f"{NOT_SYNCED} {self.me} holds no state for view {viewnum}"
        return refusal

    def begin_transfer(self, viewnum: int, sender: str) -> str | None:
        refusal = self.check_sender(viewnum, sender)
        if refusal is None:
            self.receiving = viewnum
        return refusal

    def end_transfer(self, viewnum: int, sender: str) -> str | None:
        refusal = self.check_sender(viewnum, sender)
        if refusal is None and self.receiving != viewnum:
            refusal = f"{NOT_SYNCED} no transfer under way for view {viewnum}"
        if refusal is None:
            self.receiving = 0
            self.state_view = viewnum
            self._update_role()
        return refusal

    def abort_transfer(self) -> None:
        """The transfer's connection broke: what arrived of it is worth nothing."""
        self.receiving = 0
