"""The view service: which server is primary and which is backup, as a pure state machine.

Theory of operation
-------------------
Everything that decides the view lives in this file. It does no I/O, reads no clock and never
sleeps: the shell (``viewd.server``) feeds it two kinds of events and reads back the view.

* ``ping(server_id, viewnum)``: a server says it is alive and which view it last heard of
  (0 when it has just started and knows none).
* ``tick()``: one ping interval has passed. Time exists only as a count of ticks.

The rules are MIT 6.824's viewservice (2015, lab 2 part A), exactly:

1. There is no view (view 0) until the first ping; its sender is the primary of view 1,
   with no backup.
2. The view never changes until the primary of the current view has pinged with the current
   view number (it has *acknowledged* the view). This is what keeps two primaries from acting
   at once: a primary that has not heard of view N+1 cannot be replaced behind its back.
3. The primary of view N+1 is the primary or the backup of view N, never an idle or a
   restarted server (except for view 1): only they hold the data.
4. A server is dead once ``dead_pings`` ticks have passed without a ping from it.
5. ``Ping(0)`` from the current primary or backup means "I restarted and lost my state" only
   if that server *knew a view*: it has pinged with a nonzero view number since it appeared
   (it knew a view, and now knows none). Such a restart counts as its death. A server that has
   never pinged anything but 0 since it appeared is simply new, not restarted, whatever role a
   tick gave it (the seed's idle clerk pings 0 until it sees itself in the view): as backup,
   it becomes a real one once it receives the state. After a ``Ping(0)`` a server knows no
   view, so a further ``Ping(0)`` keeps a restart mark but never makes a new one. A restart is
   judged by the server's *latest* ping: a ``Ping(0)`` that arrived while the view could not
   change is forgotten as soon as that server pings with a nonzero view number. So a server
   must ping with the last view number it heard of, idle or not; only a server that has just
   started (and so knows no view) pings 0. A view member that was dead and pings again is the
   same server as before for this rule (what it knew is kept), so a primary that died and
   comes back with ``Ping(0)`` is still a restart.
6. An idle live server fills an empty backup slot. A dead (or restarted) backup is removed,
   and replaced by an idle live server if there is one.
7. A dead (or restarted) primary is replaced by the backup in one step; if an idle live server
   exists it becomes the new backup in that same view. If the backup is dead too, the view
   stays as it is (stuck) until one of them comes back.

Whether the view can change is re-evaluated after every ping and every tick, so a restart
``Ping(0)`` in an acknowledged view takes effect at once. At most one change happens per event
(a new view is never acknowledged yet). When an idle server is needed, the one that has been
alive longest is taken; ties cannot happen. A restarted primary or backup that is still alive
becomes a new idle server when it leaves the view (one that knows no view): it queues behind
the idle servers that were already there, and is taken as the new backup if there is no other.

What viewd cannot see: a new server made backup while it still pinged 0 may learn the view from
a ping reply, receive the state, and restart before viewd ever sees it ping a view number. Its
next ``Ping(0)`` looks like a new server's, so it stays backup in the same view. pbd copes: the
primary's link to it breaks, ``PB.RESUME`` is answered ``NOTSYNCED`` and the state is sent
again, and no reply is released until the backup holds it; if the primary dies before that,
the backup is promoted without the state, pings 0 and never serves (stuck, not wrong).

Known deadlock (kept, as in the seed): if the primary of a view dies before acknowledging it,
rule 2 forbids every change, so the service is stuck with a dead primary until that primary
comes back, even if the backup is alive. The backup of a view its primary never acknowledged
may never have received the primary's state, so promoting it could lose every write: being
unavailable is the lesser evil.

Servers neither in the view nor alive are forgotten at the next tick: nothing they did can
affect a later decision (a server that comes back is new again).
"""

from __future__ import annotations

from dataclasses import dataclass

from resp_kv.view import View

__all__ = ["ServerStatus", "Summary", "View", "ViewService"]


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """What the service knows about one server, for INFO and Sentinel replies."""

    id: str
    role: str  # "primary", "backup" or "idle"
    alive: bool
    ticks_since_ping: int
    restarted: bool  # knew a view, pinged 0 while in the view, and the view could not change yet


@dataclass(frozen=True, slots=True)
class Summary:
    """A read-only snapshot of the service."""

    view: View
    acked: bool
    ticks: int
    servers: tuple[ServerStatus, ...]

    @property
    def alive(self) -> int:
        return sum(s.alive for s in self.servers)


@dataclass(slots=True)
class _Server:
    last_ping: int  # the tick of its latest ping
    since: int  # when it (re)joined the live servers, in join order: lower = alive longer
    restarted: bool = False  # a restart of a view member, not acted on yet (rule 5)
    knew_view: bool = False  # its latest ping carried a nonzero view number


class ViewService:
    """The view service state machine; see the module docstring for its rules."""

    def __init__(self, dead_pings: int = 5):
        if dead_pings < 1:
            raise ValueError("dead_pings must be at least 1")
        self.dead_pings = dead_pings
        self._view = View()
        self._acked = False
        self._now = 0
        self._joins = 0
        self._servers: dict[str, _Server] = {}
        self._changes: list[tuple[View, str]] = []

    # ------------------------------------------------------------------ events

    def ping(self, server_id: str, viewnum: int) -> View:
        """A ping from ``server_id``, which last heard of ``viewnum``; returns the current view."""
        if not server_id:
            raise ValueError("a server id must not be empty")
        if viewnum < 0:
            raise ValueError("a view number cannot be negative")
        server = self._servers.get(server_id)
        if server is None:
            self._joins += 1
            server = self._servers[server_id] = _Server(self._now, self._joins)
        elif not self._alive(server):
            # Back from the dead: it rejoins the live servers, last in line, but it is the same
            # server for rule 5: what it knew is kept. (Only view members are kept while dead;
            # a dead idle server is forgotten at the next tick, and comes back as a new one.)
            self._joins += 1
            server.since = self._joins
        server.last_ping = self._now
        in_view = server_id in (self._view.primary, self._view.backup)
        if viewnum == 0:
            if in_view and server.knew_view:
                server.restarted = True  # it knew a view and now knows none: it lost its state
            server.knew_view = False
        else:
            server.restarted = False
            server.knew_view = True
            if server_id == self._view.primary and viewnum == self._view.viewnum:
                self._acked = True
        self._advance()
        return self._view

    def tick(self) -> View:
        """One ping interval has passed; returns the current view."""
        self._now += 1
        members = (self._view.primary, self._view.backup)
        for server_id in [i for i, s in self._servers.items() if i not in members and not self._alive(s)]:
            del self._servers[server_id]
        self._advance()
        return self._view

    # ------------------------------------------------------------------ reading

    @property
    def view(self) -> View:
        return self._view

    @property
    def acked(self) -> bool:
        """Whether the primary of the current view has pinged with its number."""
        return self._acked

    def take_changes(self) -> list[tuple[View, str]]:
        """The views entered since the last call, each with the reason, oldest first."""
        changes, self._changes = self._changes, []
        return changes

    def server(self, server_id: str) -> ServerStatus | None:
        server = self._servers.get(server_id)
        if server is None:
            return None
        if server_id == self._view.primary:
            role = "primary"
        elif server_id == self._view.backup:
            role = "backup"
        else:
            role = "idle"
        return ServerStatus(server_id, role, self._alive(server), self._now - server.last_ping,
                            server.restarted)

    def summary(self) -> Summary:
        return Summary(self._view, self._acked, self._now,
                       tuple(self.server(server_id) for server_id in self._servers))

    # ------------------------------------------------------------------ decisions

    def _alive(self, server: _Server) -> bool:
        return self._now - server.last_ping < self.dead_pings

    def _usable(self, server_id: str) -> bool:
        """Alive and not restarted: able to keep its place in the view."""
        server = self._servers.get(server_id)
        return server is not None and self._alive(server) and not server.restarted

    def _idle(self, *exclude: str) -> str:
        """The idle live server that has been alive longest, or ""."""
        candidates = [(s.since, i) for i, s in self._servers.items()
                      if i not in exclude and self._alive(s) and not s.restarted]
        return min(candidates)[1] if candidates else ""

    def _advance(self) -> None:
        view = self._view
        if view.viewnum == 0:
            first = self._idle()
            if first:
                self._change(View(1, first, ""), "first primary")
            return
        if not self._acked:
            return  # rule 2, and the known deadlock
        primary, backup = view.primary, view.backup
        if not self._usable(primary):
            if backup and self._usable(backup):
                reason = f"primary {primary} {self._why(primary)}: backup promoted"
                self._leave(primary)
                self._change(View(view.viewnum + 1, backup, self._idle(backup)), reason)
            # else stuck: only the primary or the backup of this view may be the next primary
        elif backup and not self._usable(backup):
            reason = f"backup {backup} {self._why(backup)}"
            self._leave(backup)
            self._change(View(view.viewnum + 1, primary, self._idle(primary)), reason)
        elif not backup:
            new_backup = self._idle(primary)
            if new_backup:
                self._change(View(view.viewnum + 1, primary, new_backup), "idle server becomes backup")

    def _why(self, server_id: str) -> str:
        server = self._servers.get(server_id)
        return "restarted" if server is not None and self._alive(server) else "dead"

    def _leave(self, server_id: str) -> None:
        """``server_id`` leaves the view. If it restarted and is alive, it is now a new idle
        server that knows no view: its restart has been acted on, and it queues behind the
        other idle servers."""
        server = self._servers.get(server_id)
        if server is not None and server.restarted:
            server.restarted = False
            server.knew_view = False
            self._joins += 1
            server.since = self._joins

    def _change(self, view: View, reason: str) -> None:
        self._view = view
        self._acked = False
        self._changes.append((view, reason))
