"""Primary/backup replication for one pbd, as a pure state machine stepped by events.

Theory of operation
-------------------
Everything that decides replication lives in this file: which role this server has, whether it
may serve, what it tells viewd, how the primary numbers and forwards what its clients ran, when
a client's reply may be released, where a broken link resumes, when the whole state is sent,
and how a backup orders, holds, deduplicates and applies what it receives. It does no I/O and
reads no clock. The shell (``node.py``) feeds it events and carries out the actions it queues
(:meth:`Replica.take_actions`), in order, before anything else runs:

  events                                          actions
  on_view(view)            a reply from viewd     Connect(link, address) / Send(link, parts) /
  tick(now)                a ping interval          Disconnect(link)
  turn_time / propagate /  clients' data commands TakeSnapshot(link): call snapshot_taken()
    end_turn                                      Release(waiters) / Fail(waiters, error)
  link_up / link_lost /    the primary's link     CloseClients() / ClearData()
    link_reply / snapshot_taken                   Apply(requests, now)
  on_message(conn, args)   a PB.* request         BeginStaging() / Stage(kind, items) /
  conn_closed(conn)        a connection gone        Install() / DropStaging()
                                                  Log(level, text)

Roles. A server *holds the state* of view V when it is the primary of V and held the state of
V-1, or a backup of V that received a full transfer in V; a server that saw no view at all
when it started (``genesis``) holds the empty state of view 1. It serves data commands only as
the primary of the newest view it knows, holding its state, and not fenced. It pings viewd
with the view it knows, except that a primary without the state pings 0 (so viewd counts it as
dead), and a primary whose backup has not yet held the full state in this view pings the last
view it acknowledged (so viewd cannot move on before the backup is ready). Once the backup held
the full state the view stays acknowledged: a later link just starts over.

The primary. Each event-loop turn's data commands (the clients' requests as they came, with the
turn's time, which commands also use on the backup) become one numbered batch, kept until the
backup holds it. Per view with a backup, the primary opens a link: ``PB.RESUME`` asks what the
backup holds; it answers the last batch it holds if it holds the view's state, and the primary
resends what came after; otherwise the primary sends the state on the same link (``PB.SYNC``
covering every batch so far, chunks, ``PB.SYNCED``) while new batches follow, which the backup
holds (``+QUEUED``) until the state is complete. A reply is released when the backup holds its
batch: ``+OK``, the numbers of RESUME and SYNCED, or ``+QUEUED`` and SYNC's ``+OK`` while this
primary has not acknowledged the view (a backup of an unacknowledged view can never be
promoted, so nothing released can be lost). Replies and failures belong to the link they came
on: anything from an older link is ignored. A NOTBACKUP refusal fences the primary (it serves
nothing until it learns a newer view); any other refusal, a lost link or a link silent for too
long means a new link at the next tick, until the view changes. On a view change waiting
replies stay waiting while this server stays primary; otherwise they fail with READONLY; with
no backup, they are released.

The backup takes PB.* only from the primary of its current view, tagged with that view, and
only on the connection that primary last resumed on. Batches apply in order, once each; while
a transfer is under way the state arrives aside (staged) and batches are held, so the state it
had (if any) stays whole until the new one is complete.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


from . import pbwire
from .pbwire import NOT_BACKUP, NOT_SYNCED, TRY_AGAIN, Malformed
from .protocol import OK, Error, Status
from .view import View

LOADS_IN_FLIGHT = 4  # transfer chunks sent and not yet answered, at most
LINK_RATE = 20 * 1024**2  # bytes/s: the slowest a backup may take in and apply what it is sent


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class Connect:
    link: int
    address: str


@dataclass(frozen=True, slots=True)
class Send:
    link: int
    message: list[bytes]  # the message's parts, written in order


@dataclass(frozen=True, slots=True)
class Disconnect:
    link: int


@dataclass(frozen=True, slots=True)
class TakeSnapshot:
    """Snapshot the data now and hand its chunks to :meth:`Replica.snapshot_taken`."""

    link: int


@dataclass(frozen=True, slots=True)
class Release:
    waiters: list


@dataclass(frozen=True, slots=True)
class Fail:
    waiters: list
    error: str


@dataclass(frozen=True, slots=True)
class CloseClients:
    pass


@dataclass(frozen=True, slots=True)
class ClearData:
    pass


@dataclass(frozen=True, slots=True)
class Apply:
    requests: list
    now: float


@dataclass(frozen=True, slots=True)
class BeginStaging:
    pass


@dataclass(frozen=True, slots=True)
class Stage:
    kind: bytes  # pbwire.LOAD or pbwire.SESSIONS
    items: list


@dataclass(frozen=True, slots=True)
class Install:
    """The staged state replaces the data."""


@dataclass(frozen=True, slots=True)
class DropStaging:
    pass


@dataclass(frozen=True, slots=True)
class Log:
    level: str
    text: str


# --------------------------------------------------------------------------- state


@dataclass(slots=True)
class _Link:
    """The primary's current connection into its backup."""

    id: int
    viewnum: int
    opened: float
    phase: str = "connecting"  # connecting, resuming, syncing, forwarding
    inflight: deque = field(default_factory=deque)  # (what, tag, sent_at, bytes), in send order
    inflight_bytes: int = 0
    chunks: object = None  # the snapshot's (kind, items) iterator while syncing
    loads: int = 0  # chunks in flight
    covers: int = 0  # the batch the snapshot covers


@dataclass(slots=True)
class _Incoming:
    """The backup's side of a transfer under way."""

    viewnum: int
    prior: int  # the last batch held before it (what the live state holds)
    held: list = field(default_factory=list)  # (requests, now), applied once the state is in


class Replica:
    """The replication state machine of the server whose advertised address is ``me``."""

    def __init__(self, me: str, genesis: bool | None = None, link_timeout: float = 1.0):
        self.me = me
        self.genesis = genesis  # viewd had no view when this process started (None: not known)
        self.link_timeout = link_timeout
        self.view = View()
        self.state_view = 0  # the view whose state this server holds (0: none)
        self.acked = 0  # the view number last sent to viewd
        self.fenced_view = 0  # views up to this one are known to be stale
        self.role = "idle"  # primary (serving), backup, idle, fenced, restarted
        self.serving = False
        self.clock = 0.0  # the time of the last tick
        self._actions: list = []
        self.stats = dict.fromkeys(("forwarded_batches", "state_transfers_sent", "state_transfers_received"), 0)
        # primary
        self.backup_ready = 0  # the view whose backup has held the full state
        self.batch_id = 0
        self._turn: list[bytes] = []  # this turn's requests (RESP frames) ...
        self._turn_large: list[bytes] = []  # ... and their large words
        self._turn_db = 0  # the database the backup will be in, at this point of the batch
        self._turn_waiters: list = []
        self._turn_now = 0.0
        self.unacked: deque = deque()  # (batch id, requests, now, waiters)
        self.link: _Link | None = None
        self._links = 0
        self._retry_at = 0.0
        # backup
        self.link_conn: object = None
        self.last_batch = 0
        self.incoming: _Incoming | None = None

    def take_actions(self) -> list:
        actions, self._actions = self._actions, []
        return actions

    def _log(self, level: str, text: str) -> None:
        self._actions.append(Log(level, text))

    # ------------------------------------------------------------------ roles and viewd

    def _update_role(self) -> None:
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

    @property
    def backup_synced(self) -> bool:
        """The backup holds the full state over the current link."""
        return self.link is not None and self.link.phase == "forwarding"

    def ping_viewnum(self) -> int:
        """The view number to send with the next ping (remembered as acknowledged)."""
        v = self.view
        if v.viewnum and v.primary == self.me:
            if self.state_view != v.viewnum:
                return 0
            if v.backup and self.backup_ready != v.viewnum:
                return self.acked
        self.acked = v.viewnum
        return v.viewnum

    def on_view(self, view: View) -> None:
        """A ping reply from viewd."""
        if view.viewnum <= self.view.viewnum:
            return
        old_role, previous = self.role, self.view
        self.view = view
        if view.primary == self.me:
            if self.state_view and self.state_view == previous.viewnum == view.viewnum - 1:
                self.state_view = view.viewnum
            elif view.viewnum == 1 and self.genesis:
                self.state_view = 1
        elif self.state_view != view.viewnum:
            self.state_view = 0  # a backup of a new view waits for its transfer; idle holds nothing
        self._update_role()
        self._log("info", f"new view {view.viewnum}: primary={view.primary or '-'} "
                          f"backup={view.backup or '-'}; role {old_role} -> {self.role}")
        # What arrived from a primary belongs to the view it was sent in.
        self._end_incoming()
        self.link_conn, self.last_batch = None, 0
        # A backup's state never outlives its view (even under the same name: it may have
        # restarted and been chosen again), so every new view with a backup needs a new link.
        self._drop_link()
        if self.role != old_role:
            self._actions.append(CloseClients())  # as Redis Sentinel does: clients re-resolve
        if self.serving:
            if view.backup:
                self._open_link()
            else:
                self._release_all()  # no backup in this view: nothing to wait for
        else:
            self._fail_all()
            if self.role == "idle":
                self._actions.append(ClearData())

    def tick(self, now: float) -> None:
        """A ping interval has passed; ``now`` is a monotonic time in seconds."""
        self.clock = now
        if not (self.serving and self.view.backup):
            return
        link = self.link
        if link is None:
            if now >= self._retry_at:
                self._open_link()
            return
        # A large message takes its time to cross and to be parsed: allow LINK_RATE for it.
        limit = self.link_timeout * (10 if link.phase == "syncing" else 1) + link.inflight_bytes / LINK_RATE
        oldest = link.inflight[0][2] if link.inflight else (link.opened if link.phase == "connecting" else now)
        if now - oldest > limit:
            self._log("warning", f"backup {self.view.backup} not answering on link {link.id}; reconnecting")
            self._drop_link()
            self._open_link()

    # ------------------------------------------------------------------ primary: clients

    def turn_time(self, now: float) -> float:
        """The time of this turn's batch (what commands record, on both servers alike)."""
        if not self._turn:
            self._turn_now = now
        return self._turn_now

    def propagate(self, frames: bytes, large: list[bytes], waiter, db: int = 0, db_after: int = 0) -> bool:
        """A client's requests (RESP frames, their large words apart: ``pbwire.frames``; the
        backup runs the data commands among them), run in database ``db`` (and leaving the
        connection in ``db_after``: they may hold a SELECT), and what waits for them (None:
        nothing) join this turn's batch. A batch starts in database 0 on the backup; a SELECT
        goes before requests that run elsewhere. Returns True for the first of the turn: the
        shell calls :meth:`end_turn` once the turn is over."""
        first = not self._turn
        if db != self._turn_db:
            self._turn.append(pbwire.select(db))
        self._turn.append(frames)
        self._turn_db = db_after
        self._turn_large += large
        if waiter is not None:
            self._turn_waiters.append(waiter)
        return first

    def end_turn(self) -> None:
        """Seal this turn's batch and forward it."""
        if not self._turn:
            return
        self.batch_id += 1
        entry = (self.batch_id, (b"".join(self._turn), self._turn_large), self._turn_now, self._turn_waiters)
        self._turn, self._turn_large, self._turn_waiters, self._turn_db = [], [], [], 0
        self.unacked.append(entry)
        link = self.link
        if link is not None and link.phase in ("syncing", "forwarding"):
            self._send_batch(link, entry)

    def _send_batch(self, link: _Link, entry) -> None:
        batch_id, (reqs, large), now, _ = entry
        self.stats["forwarded_batches"] += 1
        self._send(link, "batch", batch_id, pbwire.batch(link.viewnum, batch_id, now, reqs, large))

    def _release_upto(self, batch_id: int) -> None:
        unacked = self.unacked
        waiters = []
        while unacked and unacked[0][0] <= batch_id:
            waiters += unacked.popleft()[3]
        if waiters:
            self._actions.append(Release(waiters))

    def _release_all(self) -> None:
        self.end_turn()
        self._release_upto(self.batch_id)

    def _fail_all(self) -> None:
        self.end_turn()
        waiters = []
        while self.unacked:
            waiters += self.unacked.popleft()[3]
        if waiters:
            self._actions.append(Fail(waiters, self.readonly_error()))

    def readonly_error(self) -> str:
        v = self.view
        return (f"READONLY {self.me} is not the primary of view {v.viewnum} "
                f"(role {self.role}, primary {v.primary or 'none'})")

    # ------------------------------------------------------------------ primary: the link

    def _open_link(self) -> None:
        self._links += 1
        self.link = _Link(self._links, self.view.viewnum, self.clock)
        self._actions.append(Connect(self.link.id, self.view.backup))

    def _drop_link(self) -> None:
        if self.link is not None:
            self._actions.append(Disconnect(self.link.id))
            self.link = None
        self._retry_at = self.clock  # at the next tick

    def _send(self, link: _Link, what: str, tag: int, message: list[bytes]) -> None:
        size = sum(map(len, message))
        link.inflight.append((what, tag, self.clock, size))
        link.inflight_bytes += size
        self._actions.append(Send(link.id, message))

    def link_up(self, link_id: int) -> None:
        link = self.link
        if link is None or link.id != link_id:
            self._actions.append(Disconnect(link_id))  # an attempt given up on
            return
        link.phase = "resuming"
        self._send(link, "resume", 0, pbwire.resume(link.viewnum, self.me))

    def link_lost(self, link_id: int) -> None:
        if self.link is not None and self.link.id == link_id:
            self._log("warning", f"link {link_id} to backup {self.view.backup} lost")
            self.link = None
            self._retry_at = self.clock

    def link_reply(self, link_id: int, reply) -> None:
        """The backup's reply (as hiredis decodes it) to the oldest unanswered message."""
        link = self.link
        if link is None or link.id != link_id or not link.inflight:
            return  # from a link given up on: it speaks for nobody now
        what, tag, _, size = link.inflight.popleft()
        link.inflight_bytes -= size
        if isinstance(reply, Exception):
            self._refused(link, what, str(reply))
        elif what == "batch":
            if reply == b"OK" or (reply == b"QUEUED" and self.acked != self.view.viewnum):
                self._release_upto(tag)
        elif what == "resume":
            self._resumed(link, reply)
        elif what == "sync":
            if self.acked != self.view.viewnum:
                self._release_upto(link.covers)
        elif what == "load":
            link.loads -= 1
            self._pump(link)
        elif what == "synced":
            self._synced(link, reply)

    def _resumed(self, link: _Link, reply) -> None:
        try:
            held, state = int(reply[0]), reply[1]
        except (TypeError, ValueError, IndexError):
            return self._refused(link, "resume", f"{NOT_SYNCED} malformed PB.RESUME reply")
        if state != pbwire.SYNCED_STATE:
            return self._refused(link, "resume", f"{NOT_SYNCED} the backup is {state!r}")
        self._release_upto(held)
        self._forward_from(link, held)
        self._backup_holds_state(link)

    def _forward_from(self, link: _Link, held: int) -> None:
        for entry in self.unacked:
            if entry[0] > held:
                self._send_batch(link, entry)

    def _backup_holds_state(self, link: _Link) -> None:
        link.phase = "forwarding"
        if self.backup_ready != link.viewnum:
            self.backup_ready = link.viewnum
            self._log("info", f"backup {self.view.backup} holds the full state")

    def _refused(self, link: _Link, what: str, reason: str) -> None:
        if what == "resume" and reason.startswith(NOT_SYNCED):
            return self._begin_transfer(link)
        self._log("warning", f"backup {self.view.backup} refused {what}: {reason}")
        self._drop_link()
        if reason.startswith(NOT_BACKUP):
            self._fence(link.viewnum)
        # TRYAGAIN, NOTSYNCED, anything else: a new link at the next tick.

    def _fence(self, viewnum: int) -> None:
        """The backup knows a newer view: answer nothing more until this server learns it."""
        self.fenced_view = max(self.fenced_view, viewnum)
        was = self.role
        self._update_role()
        if self.role != was:
            self._log("warning", f"fenced: the backup knows a view newer than {viewnum}")
            self._actions.append(CloseClients())
            self._fail_all()

    def _begin_transfer(self, link: _Link) -> None:
        """The backup lacks the state: snapshot everything run so far and send it on this link;
        new batches follow it, held by the backup until the state is complete."""
        self.end_turn()  # what ran this turn is in the snapshot
        link.phase, link.covers = "syncing", self.batch_id
        self.stats["state_transfers_sent"] += 1
        self._send(link, "sync", 0, pbwire.sync(link.viewnum, link.covers))
        self._actions.append(TakeSnapshot(link.id))
        self._log("info", f"sending the state to backup {self.view.backup} (covers batch {link.covers})")

    def snapshot_taken(self, link_id: int, chunks) -> None:
        """The snapshot of :class:`TakeSnapshot`: an iterator of (kind, items)."""
        link = self.link
        if link is None or link.id != link_id or link.phase != "syncing":
            return
        link.chunks = iter(chunks)
        self._pump(link)

    def _pump(self, link: _Link) -> None:
        """Keep a few chunks in flight, so client batches get through in between."""
        if link.chunks is None:
            return
        while link.loads < LOADS_IN_FLIGHT:
            item = next(link.chunks, None)
            if item is None:
                link.chunks = None
                self._send(link, "synced", 0, pbwire.synced(link.viewnum))
                return
            kind, items = item
            link.loads += 1
            self._send(link, "load", 0, pbwire.chunk(kind, link.viewnum, items))

    def _synced(self, link: _Link, reply) -> None:
        if not isinstance(reply, int):
            return self._refused(link, "synced", f"{NOT_SYNCED} malformed PB.SYNCED reply")
        self._release_upto(reply)
        self._backup_holds_state(link)

    # ------------------------------------------------------------------ backup side

    def on_message(self, conn, args: list[bytes], sender: str | None = None):
        """A PB.* request on connection ``conn`` (arity already checked); returns the reply,
        an :class:`Error` whose first word is the reason (see pbwire) for a refusal. ``sender``
        is whom the connection proved it speaks for (None: the open channel, where PB.RESUME
        says who it is from)."""
        name = args[0].upper()
        try:
            viewnum = pbwire.number(args[1])
            if name == pbwire.RESUME:
                return self._on_resume(conn, viewnum, sender or args[2].decode("utf-8", "replace"))
            refusal = self._check_link(conn, viewnum)
            if refusal:
                return Error(refusal)
            if name == pbwire.BATCH:
                return self._on_batch(viewnum, pbwire.number(args[2]), pbwire.timestamp(args[3]),
                                      pbwire.requests(args[4], args[5:]))  # (reqs, large words)
            if name == pbwire.SYNC:
                return self._on_sync(viewnum, pbwire.number(args[2]))
            if name in (pbwire.LOAD, pbwire.SESSIONS):
                items = pbwire.entries(args[2:]) if name == pbwire.LOAD else pbwire.session_entries(args[2:])
                return self._on_chunk(name, items)
            if name == pbwire.SYNCED:
                return self._on_synced(viewnum)
        except Malformed as exc:
            return Error(f"ERR malformed {name.decode()}: {exc}")
        return Error(f"ERR unknown replication message {name.decode()}")

    def _check_sender(self, viewnum: int, sender: str) -> str | None:
        v = self.view
        if viewnum > v.viewnum:
            return f"{TRY_AGAIN} view {viewnum} is not known here yet (at {v.viewnum})"
        if viewnum < v.viewnum or v.backup != self.me or v.primary != sender:
            return f"{NOT_BACKUP} {self.me} is not the backup of {sender} in view {viewnum} (view is {v.viewnum})"
        return None

    def _check_link(self, conn, viewnum: int) -> str | None:
        if conn is not self.link_conn or self.link_conn is None:
            return f"{NOT_SYNCED} this connection is not the primary's current link"
        return self._check_sender(viewnum, self.view.primary)

    def _on_resume(self, conn, viewnum: int, sender: str):
        refusal = self._check_sender(viewnum, sender)
        if refusal:
            return Error(refusal)
        self._end_incoming()  # a transfer belongs to the link it came on
        self.link_conn = conn
        if self.state_view != viewnum:
            return Error(f"{NOT_SYNCED} {self.me} holds no state for view {viewnum}")
        return [self.last_batch, pbwire.SYNCED_STATE]

    def _on_batch(self, viewnum: int, batch_id: int, now: float, requests: list):
        if self.state_view != viewnum and self.incoming is None:
            return Error(f"{NOT_SYNCED} {self.me} holds no state for view {viewnum}")
        if batch_id <= self.last_batch:
            return QUEUED if self.incoming is not None else OK  # held already
        if batch_id != self.last_batch + 1:
            return Error(f"{NOT_SYNCED} batch {batch_id} after {self.last_batch}")
        self.last_batch = batch_id
        if self.incoming is not None:
            self.incoming.held.append((requests, now))
            return QUEUED
        self._actions.append(Apply(requests, now))
        return OK

    def _on_sync(self, viewnum: int, covers: int):
        self._end_incoming()
        self.incoming = _Incoming(viewnum, self.last_batch)
        self.last_batch = covers  # the snapshot holds every batch up to this one
        self._actions.append(BeginStaging())
        self._log("info", f"receiving the state from {self.view.primary} (covers batch {covers})")
        return OK

    def _on_chunk(self, kind: bytes, items: list):
        if self.incoming is None:
            return Error(f"{NOT_SYNCED} no transfer under way")
        self._actions.append(Stage(kind, items))
        return OK

    def _on_synced(self, viewnum: int):
        incoming = self.incoming
        if incoming is None:
            return Error(f"{NOT_SYNCED} no transfer under way")
        self.incoming = None
        self.state_view = viewnum
        self._update_role()
        self._actions.append(Install())
        self.stats["state_transfers_received"] += 1
        for requests, now in incoming.held:
            self._actions.append(Apply(requests, now))
        self._log("info", f"state received; {len(incoming.held)} batches held meanwhile")
        return self.last_batch

    def conn_closed(self, conn) -> None:
        if conn is self.link_conn and conn is not None:
            self.link_conn = None
            if self.incoming is not None:
                self._log("warning", f"state transfer from {self.view.primary} broken off")
                self._end_incoming()

    def _end_incoming(self) -> None:
        """What arrived of a transfer is worth nothing now; the live state is as it was."""
        if self.incoming is not None:
            self.last_batch = self.incoming.prior
            self.incoming = None
            self._actions.append(DropStaging())

    # ------------------------------------------------------------------ reading

    @property
    def receiving(self) -> bool:
        return self.incoming is not None


QUEUED = Status("QUEUED")  # a batch held until the state being transferred is complete
