"""The simulated world: servers, viewd and clients over an in-memory network, and the safety
rules checked while it runs.

What is real and what is simulated
----------------------------------
The decisions are the real ones: every server is a ``replication.Replica`` (with a
``keeper.Keeper`` holding its ``Store``), viewd is a ``viewd.core.ViewService``, data commands
run through ``Store.run`` and PB.* messages are the bytes ``pbwire`` encodes, decoded with
hiredis on the other side (so refusals reach the primary as ``hiredis.ReplyError``). What this
module replaces is pbd's asyncio shell (``resp_kv/node.py``), and it carries out the core's
actions as that shell does: after every event it drains ``take_actions()`` until nothing is
left, in order; ``TakeSnapshot`` is answered with ``snapshot_taken`` at once; a turn's data
commands are propagated and ``end_turn`` runs later, possibly after other events (asyncio's
``call_soon``); the ping loop asks viewd for ``genesis`` first, then ticks the core, pings with
``ping_viewnum()`` and waits for the reply (``PING_TIMEOUT`` at most) before the next interval.

The network
-----------
A *connection* has a queue per direction. Messages in one direction are delivered in order
(TCP); different queues are served in any order the schedule picks, so messages are delayed and
interleaved but never reordered within a connection. A connection can be cut (both ends get a
close event; what was in flight is lost), closed by one end (what it sent before still
arrives, then the close), stalled (nothing moves on it for a while), or blocked by a partition
between its two hosts (nothing moves until the partition heals). A killed server's connections
close: what it sent still arrives, what was sent to it is lost. ``CloseClients`` closes every
connection the server accepted (clients and links alike, as ``RespServer.close_clients``).
Messages to and from viewd are separate messages (pbd's viewd connection is reopened after
every failure): they may be dropped, held back, duplicated (towards viewd), and delivered in
any order.

One liberty, on purpose: after ``Disconnect`` the sim's shell now and then (``late_replies``)
goes on dispatching that connection's replies with the old link id, as pbd's first shell did
(node.py does not). The core promises to ignore them; this checks it.

Time is a count of micro-ticks (``MICRO`` per ping interval); nothing reads a clock. The
history the linearizability checker reads is stamped with a counter of executed events, so
"returned before it was called" is exact.

The rules (checked while running; a broken one raises :class:`Violation`)
-------------------------------------------------------------------------
``release-durable``  A reply released by the primary of view V whose primary has acknowledged V
    (``core.acked == V``) and that has a backup B: the release was caused by B's answer on the
    primary's current link, B answered while it was the backup of V (same view as viewd
    issued), held V's state installed (not a transfer under way) and held every released batch
    (``last_batch``); and if that same B is still in V, its exactly-once table shows every
    released request applied.
``backup-holds``  A backup that holds its view's state never forgets a batch it held in that
    view: its ``last_batch`` (or, while a transfer is under way, the point the live data is at)
    never goes down until the view changes (a restart starts a new server).
``release-unacked``  A release while the primary has not acknowledged V (allowed on +QUEUED and
    PB.SYNC's +OK) happens only while viewd's view is V and unacknowledged: V cannot be
    succeeded, so its backup can never be promoted with less than the primary holds.
``release-primary``  Only a serving primary (role ``primary``, not fenced, named primary by its
    view) releases, and only what it propagated.
``commit-order``  Every released request has a commit point: when the backup accepted its batch
    (acknowledged view with a backup), or the release itself (no backup, or unacknowledged
    view). Commit points are ordered by view: none in view V after one in a view above V. This
    is the 6.824 argument made checkable: a primary that was replaced cannot complete anything
    once the new view has completed something, because its backup refuses it.
``views``  Every view a server holds is the one viewd issued under that number (so at most one
    server serves a view), and a serving server is the primary of its view.
``fence``  A NOTBACKUP refusal on the current link stops the primary serving its view at once
    (a contract of the core: without it a replaced primary keeps clients waiting; nothing
    unsafe can be released because the backup keeps refusing).
``client-error``  Clients see only their replies and READONLY, never another error.
``quiescence``  After the quiet phase, primary and backup hold equal data (``Store.digest``) and
    equal exactly-once tables, the backup holds the view's state and the primary's last batch,
    and nothing waits for it.
``linearizable``  The clients' history (every operation, retried or not, one op from its first
    call to its final reply; open if it never got one), plus a read of every key once the
    service is quiet, is linearizable (``tests/linearizability.py``): no acknowledged write is
    lost, none applied twice (puthash makes a double application visible), no stale read.
``liveness``  See ``schedule.py``.
"""

from __future__ import annotations

import heapq
import random
from collections import deque

import hiredis

from linearizability import Op
from resp_kv import replication as rp
from resp_kv.keeper import Keeper
from resp_kv.pbwire import ARITY, NOT_BACKUP
from resp_kv.protocol import Error, encode, encode_command
from resp_kv.view import View
from viewd.core import ViewService

PING_INTERVAL = 0.1  # pbd's and viewd's default
MICRO = 5  # micro-ticks per ping interval
DT = PING_INTERVAL / MICRO
DEAD_PINGS = 5  # viewd's default
LINK_TIMEOUT = max(1.0, 10 * PING_INTERVAL)  # as node.Settings.link_timeout
PING_TIMEOUT_MT = round(max(0.5, 5 * PING_INTERVAL) / DT)  # node.py's Caller timeout to viewd
CLIENT_TIMEOUT_MT = round(1.0 / DT)  # the smart client's socket timeout (shortened from 2 s)
RETRY_MT = round(0.1 / DT)  # the smart client's retry interval
VIEWD = "viewd"

# queue items
SYN, UP, REFUSED, MSG, REP, REQ, CLOSE = range(7)


class Violation(Exception):
    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


class Conn:
    """One connection: ``fwd`` towards the server that accepted it, ``back`` towards the opener."""

    __slots__ = ("id", "kind", "src", "addr", "dst", "link", "fwd", "back", "src_open", "dst_open",
                 "cut", "late", "stalled", "kept")

    def __init__(self, cid: int, kind: str, src, addr: str, link: int = 0):
        self.id = cid
        self.kind = kind  # "link" (a primary into its backup) or "client"
        self.src = src  # the opener: a Node (link) or a Client
        self.addr = addr  # the server's name
        self.dst = None  # the server incarnation that accepted it
        self.link = link
        self.fwd: deque = deque()
        self.back: deque = deque()
        self.src_open = True  # the opener still reads
        self.dst_open = False  # the server still reads
        self.cut = False
        self.late = False  # replies still dispatched after the opener closed (see World.late_replies)
        self.stalled = 0  # nothing moves on it before this micro-tick (a slow path)
        self.kept = False  # a hot spot's: random faults leave it alone

    def __repr__(self) -> str:
        return f"conn{self.id}({self.kind} {getattr(self.src, 'label', self.src)}->{self.addr} link{self.link})"


class Node:
    """One incarnation of a server (a pbd process)."""

    def __init__(self, name: str, inc: int, now_mt: int):
        self.name = name
        self.inc = inc
        self.label = f"{name}#{inc}"
        self.core = rp.Replica(name, link_timeout=LINK_TIMEOUT)
        self.keeper = Keeper()
        self.alive = True
        self.links: dict[int, Conn] = {}  # link id -> the connection it opened
        self.server_conns: dict[int, Conn] = {}  # accepted connections (clients and links)
        self.turn_open = False  # propagate() said "first": end_turn() is due
        self.local: deque = deque()  # callbacks due (connection_lost of what this node closed)
        self.waiting = 0  # the viewd message this ping loop waits for (0: none)
        self.acked = 0  # the highest view number this incarnation pinged with
        self.held = (0, 0)  # (view, last batch held) as a backup (World.check_held)
        self.seen = None  # the view and serving flag last checked (World.check_views)
        self.seen_serving = None
        self.next_at = now_mt

    def __repr__(self) -> str:
        return self.label


class Waiter:
    """A client request waiting on the primary for its batch to be held by the backup."""

    __slots__ = ("conn", "reply", "client", "seq", "batch", "node")

    def __init__(self, conn, reply, client, seq, batch, node):
        self.conn, self.reply, self.client, self.seq, self.batch, self.node = conn, reply, client, seq, batch, node


class Client:
    """A smart client: one operation at a time, each sent as KV.ONCE <id> <seq> ..., retried
    with the same words (after a timeout, a lost connection or READONLY) at whichever server
    viewd names primary, until it gets a reply."""

    def __init__(self, world: "World", n: int, script=None):
        self.world = world
        self.n = n
        self.cid = b"c%d" % n
        self.label = f"client{n}"
        self.seq = 0
        self.op: Op | None = None
        self.words: list[bytes] | None = None
        self.conn: Conn | None = None
        self.state = "idle"  # idle, sent, backoff
        self.attempt = 0
        self.script = deque(script) if script is not None else None  # fixed ops (final reads)

    def start(self) -> None:
        w = self.world
        if self.state != "idle":
            return
        if self.script is not None:
            if not self.script:
                return
            kind, key = self.script.popleft()
        else:
            if not w.more_ops:
                return
            kind = w.rng.choice(("get", "set", "puthash", "puthash"))
            key = w.rng.choice(w.keys)
        self.seq += 1
        arg = None
        if kind == "get":
            cmd = [b"GET", key]
        else:
            arg = b"%s-%d" % (self.cid, self.seq)
            cmd = [b"SET" if kind == "set" else b"PUTHASH", key, arg]
        self.words = [b"KV.ONCE", self.cid, b"%d" % self.seq] + cmd
        self.op = Op(self.n, kind, key, arg, None, w.stamp(), None)
        w.history.append(self.op)
        w.trace_event(f"{self.label} calls {kind} {key!r} {arg!r} (seq {self.seq})")
        self.send()

    def send(self) -> None:
        w = self.world
        conn = self.conn
        if conn is None or not conn.src_open or conn.cut:
            primary = w.vs.view.primary  # the locator asks viewd
            node = w.nodes.get(primary) if primary else None
            if node is None or not node.alive:  # nobody named, or connection refused
                self.backoff()
                return
            conn = self.conn = w.open_client_conn(self, node)
        self.attempt += 1
        self.state = "sent"
        conn.fwd.append((REQ, self.words))
        w.at(w.mt + CLIENT_TIMEOUT_MT, self.timeout, self.attempt)

    def backoff(self) -> None:
        self.state = "backoff"
        self.world.at(self.world.mt + RETRY_MT, self.retry)

    def retry(self) -> None:
        if self.state == "backoff":
            self.send()

    def drop_conn(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            self.world.close_from_opener(conn)

    def timeout(self, attempt: int) -> None:
        if self.state == "sent" and attempt == self.attempt:
            self.world.trace_event(f"{self.label} times out (seq {self.seq})")
            self.drop_conn()
            self.backoff()

    def on_reply(self, conn: Conn, value) -> None:
        if conn is not self.conn or self.state != "sent":
            return
        w = self.world
        if value.__class__ is Error:
            if value.startswith("READONLY"):
                self.drop_conn()  # the locator forgets the primary, the pool disconnects
                self.backoff()
                return
            raise Violation("client-error", f"{self.label} got {value!r} for {self.words!r}")
        op = self.op
        op.ret, op.result = w.stamp(), value
        w.trace_event(f"{self.label} gets {value!r} for {op.kind} {op.key!r} (seq {self.seq})")
        self.op, self.state = None, "idle"
        w.ops_done += 1
        if self.script is not None:
            self.start()
        elif w.more_ops:
            w.at(w.mt + w.rng.randint(0, 8), self.start)

    def on_lost(self, conn: Conn) -> None:
        if conn is self.conn:
            self.conn = None
            if self.state == "sent":
                self.backoff()


class World:
    """Servers, viewd, clients and the network between them; see the module docstring."""

    def __init__(self, seed: int, names=("a:1", "b:2", "c:3"), clients: int = 3, keys: int = 2,
                 trace: bool = False, late_replies: float = 0.25, auto_ping: bool = True):
        self.rng = random.Random(seed)
        self.seed = seed
        self.vs = ViewService(DEAD_PINGS)
        self.mt = 0
        self.events = 0  # executed events (the history's clock)
        self.timers: list = []
        self.timer_seq = 0
        self.conns: dict[int, Conn] = {}
        self.conn_ids = 0
        self.vmsgs: dict[int, tuple] = {}  # viewd messages in flight, by id
        self.vmsg_ids = 0
        self.names = list(names)
        self.nodes: dict[str, Node] = {}
        self.incs = 0
        self.killed: set[str] = set()  # names whose process was killed at least once
        self.history: list[Op] = []
        self.issued: dict[int, View] = {0: View()}
        self.commits: dict[int, list[int]] = {}  # view -> [first, last] commit stamp
        self.blocked: dict[tuple[str, str], int] = {}  # partitioned pair -> until (micro-tick)
        self.keys = [b"k%d" % i for i in range(keys)]
        self.clients = [Client(self, i + 1) for i in range(clients)]
        self.more_ops = True  # clients start new operations
        self.ops_done = 0
        self.faulty = False  # pings may be dropped or duplicated
        self.p_drop = 0.05
        self.p_dup = 0.02
        self.p_ping_delay = 0.0  # a message to or from viewd is held back 1-8 intervals
        self.hot = True  # hot spots (targeted faults) may strike: until the quiet phase
        self.hot_ack = 0.0  # see _ping
        self.hot_fresh_bounce = 0.0  # see drain
        self.hot_sync_stall = 0.0  # see _stall_transfer
        self.long_stall_share = 0.0
        self.long_stall = 0  # the fault phase lasts until this micro-tick at least
        self.late_replies = late_replies
        self.auto_ping = auto_ping
        self.ghost = None  # what the backup held when it sent the reply being handled
        self.reader = hiredis.Reader()
        self.trace = deque(maxlen=20000) if trace else None
        self.counts = dict.fromkeys(("releases", "released", "failed", "views", "kills", "transfers",
                                     "acked_transfers", "late", "stalls", "old_conn_msgs", "queued",
                                     "queued_acked"), 0)

    # ------------------------------------------------------------------ time and tracing

    @property
    def now(self) -> float:
        return self.mt * DT

    def stamp(self) -> int:
        self.events += 1
        return self.events

    def at(self, mt: int, fn, *args) -> None:
        self.timer_seq += 1
        heapq.heappush(self.timers, (mt, self.rng.random(), self.timer_seq, fn, args))

    def advance(self) -> None:
        """One micro-tick passes: run the timers now due, in random order among equals."""
        self.mt += 1
        timers = self.timers
        while timers and timers[0][0] <= self.mt:
            _, _, _, fn, args = heapq.heappop(timers)
            self.events += 1
            fn(*args)
            self.check_views()

    def trace_event(self, text: str) -> None:
        if self.trace is not None:
            self.trace.append(f"[{self.mt:5d} {self.events:6d}] {text}")

    # ------------------------------------------------------------------ servers

    def start_node(self, name: str, genesis=None) -> Node:
        self.incs += 1
        node = self.nodes[name] = Node(name, self.incs, self.mt)
        if genesis is not None:
            node.core.genesis = genesis
        self.trace_event(f"start {node.label}")
        if self.auto_ping:
            node.next_at = self.mt + self.rng.randrange(MICRO)
            self.at(node.next_at, self._ping_loop, node)
        return node

    def kill(self, node: Node) -> None:
        if not node.alive:
            return
        self.trace_event(f"KILL {node.label} (view {node.core.view.viewnum} {node.core.role})")
        self.counts["kills"] += 1
        self.killed.add(node.name)
        node.alive = False
        for conn in node.links.values():  # what it sent still arrives, then the close
            conn.back.clear()
            conn.late = False
            conn.src_open = False
            if not conn.cut:
                conn.fwd.append((CLOSE,))
        node.links.clear()
        for conn in node.server_conns.values():  # what was sent to it is lost
            conn.fwd.clear()
            conn.dst_open = False
            if not conn.cut:
                conn.back.append((CLOSE,))
        node.server_conns.clear()
        node.local.clear()
        node.turn_open = False

    def bounce(self, name: str) -> None:
        """A crash and an immediate restart (under a supervisor)."""
        node = self.nodes.get(name)
        if node is not None and node.alive and self.hot:
            self.kill(node)
            self.at(self.mt + self.rng.randint(0, 2), self.restart, name)

    def restart(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None or not node.alive:
            self.start_node(name)

    # ------------------------------------------------------------------ carrying out actions

    def drain(self, node: Node) -> None:
        """Carry out everything the core queued, in order, until it queues nothing more."""
        core, keeper = node.core, node.keeper
        while True:
            actions = core.take_actions()
            if not actions:
                return
            for action in actions:
                kind = action.__class__
                if kind is rp.Send:
                    conn = node.links.get(action.link)
                    if conn is not None and not conn.cut and conn.src_open:
                        conn.fwd.append((MSG, action.message))
                elif kind is rp.Release:
                    self.release(node, action.waiters)
                elif kind is rp.Fail:
                    self.fail(node, action.waiters, action.error)
                elif keeper.carry_out(action):
                    if (kind is rp.Install and self.hot_fresh_bounce and node.acked == 0 and self.hot
                            and self.rng.random() < self.hot_fresh_bounce):
                        # Hot spot: a backup that never pinged a view number (viewd took it as a
                        # new server) received the state and restarts before its next ping, so
                        # viewd keeps it as backup (viewd/core.py, "what viewd cannot see").
                        self.trace_event(f"HOT {node.label} got the state before pinging a view; it bounces")
                        self.at(self.mt + self.rng.randint(0, 2), self.bounce, node.name)
                elif kind is rp.TakeSnapshot:
                    self.counts["transfers"] += 1
                    if core.acked == core.view.viewnum:
                        self.counts["acked_transfers"] += 1
                    conn = node.links.get(action.link)
                    if self.hot_sync_stall and conn is not None and self.hot and self.rng.random() < self.hot_sync_stall:
                        self._stall_transfer(conn)
                    core.snapshot_taken(action.link, keeper.chunks())
                elif kind is rp.Connect:
                    self.conn_ids += 1
                    conn = Conn(self.conn_ids, "link", node, action.address, action.link)
                    conn.fwd.append((SYN,))
                    self.conns[conn.id] = conn
                    node.links[action.link] = conn
                elif kind is rp.Disconnect:
                    self.disconnect(node, action.link)
                elif kind is rp.CloseClients:
                    self.close_clients(node)
                elif kind is rp.Log:
                    self.trace_event(f"{node.label} [view {core.view.viewnum} {core.role}] {action.level}: {action.text}")
                else:
                    raise Violation("actions", f"{node.label}: unknown action {action!r}")

    def _stall_transfer(self, conn: Conn) -> None:
        """Hot spot: a link stalls as a transfer starts on it. Either briefly, so clients time
        out and retry meanwhile and their batches queue up behind the transfer (+QUEUED); or
        just past the transfer's timeout (10 link timeouts), so a new link overtakes this one
        while it still carries the old transfer's messages."""
        if self.rng.random() < self.long_stall_share:
            conn.stalled = self.mt + round(10 * LINK_TIMEOUT / DT) + self.rng.randint(MICRO, 3 * MICRO)
            conn.kept = True  # no other fault touches it
            self.long_stall = max(self.long_stall, conn.stalled)
        else:
            conn.stalled = self.mt + self.rng.randint(2, 9) * MICRO
        self.trace_event(f"STALL {conn!r} until {conn.stalled} (transfer)")

    def disconnect(self, node: Node, link: int) -> None:
        conn = node.links.pop(link, None)
        if conn is None:
            return
        conn.src_open = False
        if conn.cut:
            return
        conn.fwd.append((CLOSE,))
        # Now and then the shell goes on dispatching this connection's replies, with the old
        # link id, until the backup closes it (as pbd's first shell did: the bug where a refusal
        # from the previous view's backup fenced the new view's primary). node.py does not, but
        # the core must not care: "anything from an older link is ignored".
        if self.late_replies and self.rng.random() < self.late_replies:
            conn.late = True
            if self.hot and self.rng.random() < 0.5:  # and they come late indeed: a new link is under way
                conn.stalled = max(conn.stalled, self.mt + self.rng.randint(1, 5) * MICRO)
        else:
            conn.back.clear()
        if conn.dst is not None:  # connection_lost follows, with the link id no longer current
            node.local.append(("lost", link))

    def close_from_opener(self, conn: Conn) -> None:
        conn.src_open = False
        conn.back.clear()
        if not conn.cut and conn.dst_open:
            conn.fwd.append((CLOSE,))

    def close_clients(self, node: Node) -> None:
        """Every accepted connection is closed (RespServer.close_clients: clients and links):
        replies already written still go out, requests not read yet are lost."""
        for conn in node.server_conns.values():
            conn.dst_open = False
            conn.fwd.clear()
            if not conn.cut:
                conn.back.append((CLOSE,))
            node.local.append(("closed", conn))
        node.server_conns.clear()

    def cut(self, conn: Conn) -> None:
        """Both ends see the connection break; what was in flight is lost."""
        if conn.cut:
            return
        self.trace_event(f"CUT {conn!r}")
        conn.cut = True
        conn.fwd.clear()
        conn.back.clear()
        conn.late = False
        if conn.src_open and (conn.kind == "client" or conn.src.alive):
            conn.back.append((CLOSE,))
        if conn.dst is not None and conn.dst.alive and conn.dst_open:
            conn.fwd.append((CLOSE,))

    # ------------------------------------------------------------------ releases and checks

    def release(self, node: Node, waiters: list) -> None:
        core = node.core
        v = core.view
        self.counts["releases"] += 1
        self.counts["released"] += len(waiters)
        if not (core.serving and core.role == "primary" and v.primary == node.name
                and core.fenced_view < v.viewnum and node.alive):
            raise Violation("release-primary", f"{node.label} released in view {v} as role {core.role} "
                                               f"(fenced up to {core.fenced_view})")
        for w in waiters:
            if w.node is not node:
                raise Violation("release-primary", f"{node.label} released a request another server ran")
        stamp = self.events
        if not v.backup:
            self.commit(v.viewnum, stamp, node)
        elif core.acked != v.viewnum:
            if self.vs.view != v or self.vs.acked:
                raise Violation("release-unacked", f"{node.label} released with view {v.viewnum} unacknowledged "
                                                   f"(acked {core.acked}) but viewd is at {self.vs.view} "
                                                   f"acked={self.vs.acked}")
            self.commit(v.viewnum, stamp, node)
        else:
            ghost = self.ghost
            top = max(w.batch for w in waiters)
            if ghost is None:
                raise Violation("release-durable", f"{node.label} released batches up to {top} in acknowledged "
                                                   f"view {v} without a word from the backup")
            backup, gview, gstate, ginstalled, glast, gstamp = ghost
            problem = None
            if backup.name != v.backup:
                problem = f"the answer came from {backup.label}, not the backup {v.backup}"
            elif gview != v:
                problem = f"the backup answered in view {gview}"
            elif gstate != v.viewnum or not ginstalled:
                problem = (f"the backup did not hold the state of view {v.viewnum} (state of {gstate}, "
                           f"{'installed' if ginstalled else 'transfer under way'})")
            elif glast < top:
                problem = f"the backup held batches up to {glast} only"
            if problem:
                raise Violation("release-durable", f"{node.label} released batches up to {top} in acknowledged "
                                                   f"view {v.viewnum}: {problem}")
            bcore = backup.core
            if (backup.alive and self.nodes.get(backup.name) is backup and bcore.view == v
                    and bcore.state_view == v.viewnum and bcore.incoming is None):
                table = backup.keeper.store.sessions.table
                for w in waiters:
                    entry = table.get(w.client)
                    if entry is None or entry[0] < w.seq:
                        raise Violation("release-durable", f"{node.label} released {w.client!r} seq {w.seq} "
                                                           f"(batch {w.batch}) but {backup.label} never applied it")
            self.commit(v.viewnum, gstamp, node)
        for w in waiters:
            conn = w.conn
            if conn.dst_open and not conn.cut:
                conn.back.append((REP, w.reply))

    def fail(self, node: Node, waiters: list, error: str) -> None:
        self.counts["failed"] += len(waiters)
        value = Error(error)
        for w in waiters:
            conn = w.conn
            if conn.dst_open and not conn.cut:
                conn.back.append((REP, value))

    def check_held(self, node: Node) -> None:
        """A backup holding its view's state never forgets a batch it held in that view: what
        its live data holds (``last_batch``, or the point a transfer under way started from)
        only grows until the view changes."""
        core = node.core
        v = core.view.viewnum
        if not v or core.state_view != v:
            return
        held = core.incoming.prior if core.incoming is not None else core.last_batch
        seen_view, seen = node.held
        if seen_view == v and held < seen:
            raise Violation("backup-holds", f"{node.label} held batch {seen} of view {v}, now only {held}")
        node.held = (v, held)

    def commit(self, viewnum: int, stamp: int, node: Node) -> None:
        for other, (first, last) in self.commits.items():
            if (other > viewnum and first < stamp) or (other < viewnum and last > stamp):
                raise Violation("commit-order", f"{node.label} completed requests accepted at event {stamp} in "
                                                f"view {viewnum}, but view {other} completed requests at events "
                                                f"{first}..{last}")
        span = self.commits.get(viewnum)
        if span is None:
            self.commits[viewnum] = [stamp, stamp]
        else:
            span[0] = min(span[0], stamp)
            span[1] = max(span[1], stamp)

    def check_views(self) -> None:
        changed = False
        for node in self.nodes.values():
            core = node.core
            if node.seen is not core.view or node.seen_serving is not core.serving:
                node.seen, node.seen_serving = core.view, core.serving
                changed = True
        if not changed:
            return
        serving = None
        for node in self.nodes.values():
            if not node.alive:
                continue
            core = node.core
            v = core.view
            if self.issued.get(v.viewnum) != v:
                raise Violation("views", f"{node.label} holds view {v}, viewd issued {self.issued.get(v.viewnum)}")
            if core.serving:
                if v.primary != node.name:
                    raise Violation("views", f"{node.label} serves view {v} it is not the primary of")
                if serving is not None and serving.core.view.viewnum == v.viewnum:
                    raise Violation("views", f"{node.label} and {serving.label} both serve view {v.viewnum}")
                serving = node

    def _viewd_changed(self) -> None:
        for view, reason in self.vs.take_changes():
            self.issued[view.viewnum] = view
            self.counts["views"] += 1
            self.trace_event(f"VIEWD view {view.viewnum}: primary={view.primary or '-'} "
                             f"backup={view.backup or '-'} ({reason})")

    # ------------------------------------------------------------------ viewd and the ping loop

    def viewd_tick(self) -> None:
        self.vs.tick()
        self._viewd_changed()

    def _viewd_ticker(self) -> None:
        self.viewd_tick()
        self.at(self.mt + MICRO, self._viewd_ticker)

    def start_viewd(self) -> None:
        self.at(self.rng.randrange(MICRO), self._viewd_ticker)

    def _vsend(self, item: tuple, delay: int = 0) -> int:
        """A message to or from viewd: maybe dropped, maybe held back a while; its id."""
        self.vmsg_ids += 1
        ready = self.mt + delay
        if self.faulty and not delay:
            rng = self.rng
            if rng.random() < self.p_drop:
                return self.vmsg_ids
            if rng.random() < self.p_ping_delay:
                ready += rng.randint(1, 8) * MICRO
        self.vmsgs[self.vmsg_ids] = (ready, item)
        return self.vmsg_ids

    def _ping_loop(self, node: Node) -> None:
        """One iteration of node.py's ping loop (a timer)."""
        if not node.alive or node.waiting:
            return
        if node.core.genesis is None:  # VIEW.GET first: did this process start before any view?
            node.waiting = self._vsend(("get", node))
        else:
            self._ping(node)
        self.at(self.mt + PING_TIMEOUT_MT, self._ping_timeout, node, node.waiting)

    def _ping(self, node: Node) -> None:
        core = node.core
        core.tick(self.now)
        self.drain(node)
        viewnum = core.ping_viewnum()
        delay = 0
        v = core.view
        if (self.hot_ack and viewnum > node.acked and v.backup and v.primary == node.name and viewnum == v.viewnum
                and self.hot and self.rng.random() < self.hot_ack):
            # Hot spot: the ping acknowledging a view with a new backup is slow, and the backup
            # crashes and restarts meanwhile (the restart viewd may never see, rule 5).
            delay = self.rng.randint(3, 6) * MICRO
            self.trace_event(f"HOT {node.label} acknowledges view {viewnum} slowly; backup {v.backup} bounces")
            self.at(self.mt + self.rng.randint(0, 3), self.bounce, v.backup)
        node.acked = max(node.acked, viewnum)
        node.waiting = self._vsend(("ping", node, viewnum), delay)

    def _ping_timeout(self, node: Node, waiting: int) -> None:
        if node.alive and node.waiting == waiting:
            node.waiting = 0
            self._next_iteration(node)

    def _next_iteration(self, node: Node) -> None:
        """``next_at = max(next_at + interval, now)``, then sleep until then (node.py)."""
        node.next_at = max(node.next_at + MICRO, self.mt)
        self.at(node.next_at, self._ping_loop, node)

    def deliver_vmsg(self, mid: int) -> None:
        item = self.vmsgs.pop(mid)[1]
        kind, node = item[0], item[1]
        if kind in ("ping", "get"):
            if self.is_blocked(node.name, VIEWD):
                return
            if self.faulty and self.rng.random() < self.p_dup:
                self.vmsg_ids += 1
                self.vmsgs[self.vmsg_ids] = (self.mt, item)  # it will arrive once more
            if kind == "get":
                self._vsend(("viewnum", node, mid, self.vs.view.viewnum))
            else:
                view = self.vs.ping(node.name, item[2])
                self._viewd_changed()
                self._vsend(("view", node, mid, view))
            return
        # a reply, to the ping loop of the incarnation that sent the request
        if not node.alive or node.waiting != item[2] or self.is_blocked(node.name, VIEWD):
            return
        node.waiting = 0
        core = node.core
        if kind == "viewnum":
            core.genesis = item[3] == 0
            self._ping(node)
            self.at(self.mt + PING_TIMEOUT_MT, self._ping_timeout, node, node.waiting)
            return
        view = item[3]
        if view.viewnum > core.view.viewnum:
            self.trace_event(f"{node.label} learns view {view.viewnum}")
            core.on_view(view)
            self.drain(node)
        self._next_iteration(node)

    # ------------------------------------------------------------------ partitions

    def is_blocked(self, a: str, b: str) -> bool:
        if not self.blocked:
            return False
        until = self.blocked.get((a, b) if a < b else (b, a))
        return until is not None and until > self.mt

    def partition(self, a: str, b: str, until: int) -> None:
        self.trace_event(f"PARTITION {a} | {b} until {until}")
        key = (a, b) if a < b else (b, a)
        self.blocked[key] = max(until, self.blocked.get(key, 0))

    def heal(self) -> None:
        self.blocked.clear()

    # ------------------------------------------------------------------ clients

    def open_client_conn(self, client: Client, node: Node) -> Conn:
        self.conn_ids += 1
        conn = Conn(self.conn_ids, "client", client, node.name)
        conn.dst = node
        conn.dst_open = True
        node.server_conns[conn.id] = conn
        self.conns[conn.id] = conn
        return conn

    def serve(self, node: Node, conns: list[Conn]) -> None:
        """One event-loop turn of ``node``: the requests that arrived on ``conns``."""
        core = node.core
        for conn in conns:
            fwd = conn.fwd
            while fwd and conn.dst_open:
                item = fwd.popleft()
                if item[0] == CLOSE:
                    conn.dst_open = False
                    node.server_conns.pop(conn.id, None)
                    core.conn_closed(conn)
                    self.drain(node)
                    continue
                words = item[1]
                if not core.serving:
                    conn.back.append((REP, Error(core.readonly_error())))
                    continue
                store = node.keeper.store
                backup = core.view.backup
                store.now = core.turn_time(self.now) if backup else self.now
                reply = store.run(words)
                if not backup:
                    self.commit(core.view.viewnum, self.events, node)
                    self.counts["released"] += 1
                    conn.back.append((REP, reply))
                    continue
                waiter = Waiter(conn, reply, words[1], int(words[2]), core.batch_id + 1, node)
                if core.propagate(encode_command(words), [], waiter):
                    node.turn_open = True

    def end_turn(self, node: Node) -> None:
        node.turn_open = False
        node.core.end_turn()
        self.drain(node)

    # ------------------------------------------------------------------ the network's events

    def candidates(self) -> list:
        """Every event that may happen next (besides time passing and faults)."""
        out = []
        blocked = self.is_blocked
        dead = []
        mt = self.mt
        for conn in self.conns.values():
            if conn.stalled > mt:
                continue
            if conn.fwd:
                if conn.kind == "link":
                    if not blocked(conn.src.name, conn.addr):
                        out.append((0, conn))
            if conn.back:
                if conn.kind == "client" or not blocked(conn.src.name, conn.addr):
                    out.append((1, conn))
            elif not conn.fwd and (conn.cut or not (conn.src_open or conn.dst_open)):
                dead.append(conn.id)
        for cid in dead:
            del self.conns[cid]
        for mid, (ready, _) in self.vmsgs.items():
            if ready <= mt:
                out.append((2, mid))
        for node in self.nodes.values():
            if not node.alive:
                continue
            if node.turn_open:
                out.append((3, node))
            if node.local:
                out.append((4, node))
            for conn in node.server_conns.values():
                if conn.kind == "client" and conn.fwd:
                    out.append((5, node))
                    break
        return out

    def execute(self, event) -> None:
        kind, obj = event
        self.events += 1
        if kind == 0:
            self.deliver_fwd(obj)
        elif kind == 1:
            self.deliver_back(obj)
        elif kind == 2:
            self.deliver_vmsg(obj)
        elif kind == 3:
            self.end_turn(obj)
        elif kind == 4:
            what, arg = obj.local.popleft()
            if what == "lost":
                obj.core.link_lost(arg)
            else:
                obj.core.conn_closed(arg)
            self.drain(obj)
        elif kind == 5:
            ready = [c for c in obj.server_conns.values() if c.kind == "client" and c.fwd]
            chosen = [c for c in ready if self.rng.random() < 0.6] or [self.rng.choice(ready)]
            self.serve(obj, chosen)
            if obj.turn_open and self.rng.random() < 0.5:
                self.end_turn(obj)  # nothing else ran in between
        self.check_views()

    def deliver_fwd(self, conn: Conn) -> None:
        item = conn.fwd.popleft()
        kind = item[0]
        if kind == SYN:
            target = self.nodes.get(conn.addr)
            if target is not None and target.alive:
                conn.dst = target
                conn.dst_open = True
                target.server_conns[conn.id] = conn
                conn.back.append((UP,))
            else:
                conn.back.append((REFUSED,))
            return
        dst = conn.dst
        if dst is None or not dst.alive or not conn.dst_open:
            return
        core = dst.core
        if kind == MSG:
            if core.link_conn is not None and core.link_conn is not conn:
                self.counts["old_conn_msgs"] += 1
            reader = self.reader
            reader.feed(b"".join(item[1]))
            args = reader.gets()
            arity = ARITY.get(args[0].upper(), 0)
            if not (len(args) == arity or 0 > arity >= -len(args)):
                reply = Error(f"ERR wrong number of arguments for '{args[0].decode()}' command")
            else:
                reply = core.on_message(conn, args)
                self.drain(dst)
            self.check_held(dst)
            if (conn.src_open or conn.late) and not conn.cut:
                ghost = (dst, core.view, core.state_view, core.incoming is None, core.last_batch, self.events)
                conn.back.append((REP, encode(reply), ghost))
        elif kind == CLOSE:
            conn.dst_open = False
            dst.server_conns.pop(conn.id, None)
            core.conn_closed(conn)
            self.drain(dst)

    def deliver_back(self, conn: Conn) -> None:
        item = conn.back.popleft()
        kind = item[0]
        if conn.kind == "client":
            if conn.src_open:
                if kind == CLOSE:
                    conn.src_open = False
                    conn.src.on_lost(conn)
                else:
                    conn.src.on_reply(conn, item[1])
            return
        node = conn.src
        if not node.alive:
            return
        if not conn.src_open:
            if conn.late and kind == REP:
                self.trace_event(f"{node.label} late reply on closed link {conn.link}")
                self.counts["late"] += 1
                self.link_reply(node, conn, item)
            return
        core = node.core
        if kind == UP:
            core.link_up(conn.link)
        elif kind == REP:
            self.link_reply(node, conn, item)
            return
        else:  # REFUSED or CLOSE
            conn.src_open = False
            node.links.pop(conn.link, None)
            core.link_lost(conn.link)
        self.drain(node)

    def link_reply(self, node: Node, conn: Conn, item) -> None:
        reader = self.reader
        reader.feed(item[1])
        reply = reader.gets()
        core = node.core
        link = core.link
        current = link is not None and link.id == conn.link
        link_view = link.viewnum if current else 0
        if reply == b"QUEUED":
            self.counts["queued"] += 1
            if core.acked == core.view.viewnum:
                self.counts["queued_acked"] += 1
        self.ghost = item[2]
        try:
            core.link_reply(conn.link, reply)
            self.drain(node)
        finally:
            self.ghost = None
        if (current and reply.__class__ is hiredis.ReplyError and str(reply).startswith(NOT_BACKUP)
                and core.serving and core.view.viewnum <= link_view):
            raise Violation("fence", f"{node.label} still serves view {core.view.viewnum} after its backup "
                                     f"refused: {reply}")

    # ------------------------------------------------------------------ scripted use (tests)

    def ping_now(self, name: str) -> int:
        """One iteration of ``name``'s ping loop at once, nothing lost: tick, ping viewd with
        ``ping_viewnum()``, learn its reply. Returns the view number pinged."""
        node = self.nodes[name]
        core = node.core
        if core.genesis is None:
            core.genesis = self.vs.view.viewnum == 0
        self.events += 1
        core.tick(self.now)
        self.drain(node)
        viewnum = core.ping_viewnum()
        node.acked = max(node.acked, viewnum)
        view = self.vs.ping(name, viewnum)
        self._viewd_changed()
        if view.viewnum > core.view.viewnum:
            core.on_view(view)
            self.drain(node)
        self.check_views()
        return viewnum

    def settle(self, skip=(), limit: int = 100_000) -> int:
        """Deliver every pending event (in random order) except those on the connections in
        ``skip``, until none is left; returns how many ran."""
        for n in range(limit):
            events = [e for e in self.candidates() if not (e[0] in (0, 1) and e[1] in skip)]
            if not events:
                return n
            self.execute(events[self.rng.randrange(len(events))])
        raise AssertionError("the network never goes quiet")

    def link_of(self, name: str) -> Conn | None:
        """The connection of ``name``'s current link into its backup."""
        node = self.nodes[name]
        link = node.core.link
        return node.links.get(link.id) if link is not None else None
