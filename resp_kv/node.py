"""pbd's asyncio shell: feeds the replication core (``replication.Replica``) its events and
carries out the actions it returns; runs clients' data commands on the store.

Events come from four places: the ping loop (a tick, then viewd's reply), clients' requests
(the data commands of each event-loop turn are propagated as one batch), the links this server
opens into its backup (up, reply, lost), and PB.* requests from a primary. After each event the
queued actions are carried out at once, in order (:meth:`Node.carry_out`). This module decides
nothing about replication; what a command does is the store's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from functools import partial

from . import pbwire
from . import replication as rp
from .admin import AdminCommands
from .blocking import MAY_BLOCK, Blocking, Waiter
from .cmdstats import CALLS, NANOSECONDS, TIMED_ONE_IN, stat_name
from .commands import (
    ADMIN_COMMANDS, DATA_COMMANDS, NOAUTH, ONCE, PEER_COMMANDS, PUBSUB_COMMANDS, REPLICATION_COMMANDS, SESSION,
    TRANSACTION_COMMANDS, subcommand_error, wrong_arity,
)
from .daemon import OPEN_CHANNEL, TLS, Limits
from .keeper import Keeper
from .keyspace.db import CommandError
from .peer import Caller, Links
from .peerauth import NOT_PROVEN, PeerAuth
from .protocol import BIG, NULL_ARRAY, OK, OK_REPLY, Error, encode
from .pubsub import IN_SUBSCRIBE_MODE, PubSub, not_in_subscribe_mode
from .respserver import Deferred, RespServer, may_run
from .scriptthread import ScriptThread
from .store import Store, internal_error, session_id
from .transactions import (
    DISCARD_WITHOUT_MULTI, EXEC_WITHOUT_MULTI, IMMEDIATE, NESTED, QUEUED, WATCH_IN_MULTI, Transaction, exec_abort,
)
from .view import View

log = logging.getLogger("pbd")


@dataclass
class Settings:
    """pbd's settings, as given on the command line (or the environment)."""

    viewd: str
    bind: str = "127.0.0.1"
    port: int = 6379
    advertise: str = ""  # default: bind:port
    ping_interval: float = 0.1
    session_ttl: float = 3600.0
    max_sessions: int = 1_000_000
    max_sessions_memory: int = 64 * 1024**2
    limits: Limits = field(default_factory=Limits)
    cluster_secret: bytes | None = None
    requirepass: bytes | None = None
    tls: TLS | None = None

    def __post_init__(self) -> None:
        self.advertise = self.advertise or f"{self.bind}:{self.port}"

    @property
    def proof(self) -> tuple[bytes, str] | None:
        """What this server proves on the connections it opens (None: the open channel)."""
        return None if self.cluster_secret is None else (self.cluster_secret, self.advertise)

    @property
    def link_timeout(self) -> float:
        """How long a backup may leave a message unanswered (or a connection unopened)."""
        return max(1.0, 10 * self.ping_interval)


SCRIPT_INLINE_SECONDS = 0.05  # a script the loop waits for; a longer one runs on while the loop serves
BUSY_REPLY_THRESHOLD = 5.0  # seconds of a script after which other clients get BUSY (Redis's default)
# What a client may still run while a long script holds the data (Redis's allow-busy commands).
ALLOWED_WHILE_BUSY = frozenset({"AUTH", "HELLO", "QUIT", "CLIENT", "KV.SESSION"})
SCRIPTS = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})
MAY_WAIT = MAY_BLOCK | SCRIPTS
WAITING = object()  # a reply that comes later


def is_script(args: list[bytes]) -> bool:
    """Whether a request (maybe inside KV.ONCE) runs a script or a function."""
    name = args[3] if args[0].upper() == b"KV.ONCE" else args[0]
    return name.upper().decode("utf-8", "replace") in SCRIPTS


@dataclass
class RunningScript:
    """A script that runs longer than SCRIPT_INLINE_SECONDS, in the script thread."""

    conn: object
    args: list[bytes]
    db: int
    started_ns: int  # time.perf_counter_ns() when it began
    held: list = field(default_factory=list)  # connections whose commands wait for it
    busy: bool = False  # past BUSY_REPLY_THRESHOLD: other clients get BUSY
    busy_timer: object = None


EXPIRE_INTERVAL = 0.1  # seconds between active expiry cycles (Redis's hz 10)
EXPIRE_SAMPLE = 200  # keys with an expiry time looked at per database and round
EXPIRE_ROUNDS = 10  # rounds per cycle at most, while more than a quarter of those looked at expired


class NodeLog(logging.LoggerAdapter):
    """Every log line of a node says its view and role, so a failover reads across processes."""

    def process(self, msg, kwargs):
        r = self.extra["replica"]
        return f"[view {r.view.viewnum} {r.role}] {msg}", kwargs


class Node:
    """One pbd: a RESP server whose data commands follow the replication core."""

    def __init__(self, settings: Settings):
        self.admin = AdminCommands(self)
        self.auth = PeerAuth(settings.cluster_secret)
        served = [cmd for cmd in DATA_COMMANDS if hasattr(Store, cmd.method)]  # COMMAND lists no others
        commands = (served + [ONCE, SESSION] + TRANSACTION_COMMANDS + PUBSUB_COMMANDS + ADMIN_COMMANDS
                    + PEER_COMMANDS + REPLICATION_COMMANDS)
        self.pubsub = PubSub(serving=lambda: self.replica.serving, readonly_error=lambda: self.replica.readonly_error(),
                             clock=time.monotonic)
        self.server = RespServer(commands, self, self.admin, self.auth, self.pubsub,
                                 role=lambda: "master" if self.replica.serving else "replica",
                                 execute=self.execute, execute_chunk=self.execute_chunk, closed=self.connection_closed,
                                 limits=settings.limits, password=settings.requirepass)
        self.command_stats = self.server.command_stats
        self.settings = settings
        self.me = settings.advertise
        self.replica = rp.Replica(self.me, link_timeout=settings.link_timeout)
        self.keeper = Keeper(settings.session_ttl, settings.max_sessions, settings.max_sessions_memory,
                             settings.cluster_secret)
        self.log = NodeLog(log, {"replica": self.replica})
        client_tls = settings.tls.client if settings.tls else None
        self.viewd = Caller(settings.viewd, timeout=max(0.5, 5 * settings.ping_interval), proof=settings.proof,
                            tls=client_tls)
        r = self.replica
        self.links = Links(settings.link_timeout, on_up=partial(self._on_link, r.link_up),
                           on_reply=partial(self._on_link, r.link_reply), on_lost=partial(self._on_link, r.link_lost),
                           proof=settings.proof, tls=client_tls)
        self.ping_task: asyncio.Task | None = None
        self.stats = dict.fromkeys(("data_commands", "fenced_requests", "view_changes"), 0)
        self.blocking = Blocking(self.keeper.store)  # clients waiting in BLPOP & co.
        self.scripts = ScriptThread()
        self.script: RunningScript | None = None  # a long script, running

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        await self.server.listen(self.settings.bind, self.settings.port,
                                 self.settings.tls.server if self.settings.tls else None)
        self.log.info("listening on %s:%d, advertised as %s, viewd at %s", self.settings.bind,
                      self.settings.port, self.me, self.settings.viewd)
        if self.settings.cluster_secret is None:
            self.log.warning(OPEN_CHANNEL)
        self.ping_task = asyncio.create_task(self._ping_loop())
        self.expire_task = asyncio.create_task(self._expire_loop())

    async def stop(self, grace: float = 1.0) -> None:
        """Stop accepting, give replies in flight a moment to be acknowledged, then close."""
        self.server.close_listener()
        deadline = time.monotonic() + grace
        while self.replica.unacked and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.ping_task is not None:
            self.ping_task.cancel()
            self.expire_task.cancel()
        self.links.close_all()
        self.server.close_clients()
        self.viewd.close()
        self.log.info("stopped")

    async def _ping_loop(self) -> None:
        interval = self.settings.ping_interval
        replica = self.replica
        next_at = time.monotonic()
        while True:
            try:
                if replica.genesis is None:
                    # Did this process start before any view existed? Only then may it be the
                    # (empty) primary of view 1; any later start is a restart and holds nothing.
                    reply = await self.viewd.call("VIEW.GET")
                    replica.genesis = int(reply[0]) == 0
                replica.tick(time.monotonic())
                self.carry_out()
                reply = await self.viewd.call("VIEW.PING", self.me, replica.ping_viewnum())
                view = View(int(reply[0]), reply[1].decode(), reply[2].decode())
                if view.viewnum > replica.view.viewnum:
                    self.stats["view_changes"] += 1
                    replica.on_view(view)
                    self.carry_out()
            except (OSError, ConnectionError, asyncio.TimeoutError, ValueError, IndexError) as exc:
                self.log.debug("ping to viewd failed: %r", exc)
            next_at = max(next_at + interval, time.monotonic())
            await asyncio.sleep(next_at - time.monotonic())

    async def _expire_loop(self) -> None:
        """Ten times a second, as Redis's active expiry: the primary deletes some of the keys
        whose time has passed and nobody looked up, and tells the backup (DEL)."""
        while True:
            await asyncio.sleep(EXPIRE_INTERVAL)
            if self.replica.serving and self.script is None:  # (a long script has the data)
                self.expire_some()

    def expire_some(self) -> None:
        replica, store = self.replica, self.keeper.store
        if not any(db.expires for db in store.dbs):
            return
        backup = replica.view.backup
        store.now = replica.turn_time(time.time()) if backup else time.time()
        for _ in range(EXPIRE_ROUNDS):
            gone, looked = store.expire_some(EXPIRE_SAMPLE)
            if backup:
                for db in sorted({index for index, _ in gone}):
                    large = []
                    frames = pbwire.frames([[b"DEL", key] for index, key in gone if index == db], large)
                    if replica.propagate(frames, large, None, db, db):
                        asyncio.get_running_loop().call_soon(self._end_turn)
            if len(gone) * 4 <= looked:  # a quarter or less had expired: enough for now
                break

    # ------------------------------------------------------------------ actions

    def carry_out(self) -> None:
        """Carry out every action the core has queued, in order (some queue more)."""
        replica, keeper = self.replica, self.keeper
        while actions := replica.take_actions():
            for action in actions:
                kind = action.__class__
                if kind is rp.Send:
                    self.links.send(action.link, action.message)
                elif kind is rp.Release:
                    self._settle(action.waiters, None)
                elif kind is rp.Fail:
                    self._settle(action.waiters, Error(action.error))
                elif keeper.carry_out(action):
                    pass
                elif kind is rp.TakeSnapshot:
                    replica.snapshot_taken(action.link, keeper.chunks())
                elif kind is rp.Connect:
                    self.links.connect(action.link, action.address)
                elif kind is rp.Disconnect:
                    self.links.close(action.link)
                elif kind is rp.CloseClients:
                    self.server.close_clients()
                elif kind is rp.Log:
                    self.log.log(logging.getLevelName(action.level.upper()), action.text)

    def _settle(self, waiters: list[Deferred], error: Error | None) -> None:
        conns = {}
        for reply in waiters:
            if error is None:
                reply.done = True
            else:
                reply.fail(error)
                self.stats["fenced_requests"] += reply.count
            conns[reply.conn.id] = reply.conn
        for conn in conns.values():
            conn.flush()

    def _on_link(self, event, link: int, *reply) -> None:
        event(link, *reply)
        self.carry_out()

    # ------------------------------------------------------------------ clients

    def execute_chunk(self, conn, requests, raw) -> None:
        """Run one chunk of a client's requests (the hot path); ``raw`` is the chunk's bytes
        if it held exactly these requests.

        On a primary with a backup, the data commands join this event-loop turn's batch, and
        the chunk's replies wait, as one, for the backup to hold the batch."""
        replica = self.replica
        if self.script is not None:
            return self._while_script_runs(conn, requests)
        if conn.pubsub is not None and not conn.resp3:
            return self._run_subscribed(conn, requests)
        if not replica.serving:
            return self.server.run_each(conn, requests, raw)  # READONLY, one by one
        if not conn.authenticated:  # NOAUTH, one by one until an AUTH succeeds
            for i, args in enumerate(requests):
                if conn.authenticated:
                    return self.execute_chunk(conn, requests[i:], None)
                conn.replies.append(encode(self.execute(conn, args), conn.resp3))
                if conn.closing:
                    return
            return
        backup = replica.view.backup
        store = self.keeper.store
        store.now = replica.turn_time(time.time()) if backup else time.time()
        db = conn.db
        store.db = store.dbs[db]
        runners = store.runners
        stats = self.command_stats  # INFO commandstats: calls counted, one chunk in TIMED_ONE_IN timed
        stat_cells = stats.by_spelling
        stats.chunks += 1
        timed = [] if not stats.chunks % TIMED_ONE_IN else None  # the counters of the data commands that ran
        started = time.perf_counter_ns() if timed is not None else 0
        out = []
        append = out.append
        data_commands = 0
        large = False  # a reply of BIG bytes or more: the replies are kept in parts, not joined
        forward = None  # what the backup runs, when not simply the chunk's requests (a transaction)
        tx = conn.tx  # set (by MULTI or WATCH) only by a request that goes through execute()
        for ran, args in enumerate(requests, 1):
            if tx is not None and tx.queued is not None and self._queues(args):
                if forward is None:
                    forward = requests[: ran - 1]
                reply = self._queue(tx, args)
            else:
                # store.run(args) and store.call, inlined: this loop is the hot path
                runner = runners.get(args[0]) or store.runner(args[0])
                if runner is not None and (len(args) == runner[0] or 0 > runner[0] >= -len(args)):
                    if runner[2] in MAY_WAIT:  # a blocking command or a script: may answer later
                        reply = self._may_wait(conn, runner, args, requests[ran:])
                        if reply is WAITING:  # what this client sent after it waits with it
                            requests, raw = requests[: ran - 1], None
                            break
                    else:
                        try:
                            reply = runner[1](args)
                        except CommandError as exc:
                            reply = exc.reply
                        except Exception as exc:  # noqa: BLE001 - a bug: answered, and the same on the backup
                            reply = internal_error(runner[2], exc)
                    cell = stat_cells.get(args[0]) or stats.cell_for(runner[2], args)
                    cell[CALLS] += 1
                    if timed is not None:
                        timed.append(cell)
                    if reply.__class__ is Error:
                        stats.failed(stat_name(runner[2], args), reply)
                    data_commands += 1
                    if store.effects is not None:  # a random pick: the backup runs its effect instead
                        if forward is None:
                            forward = requests[: ran - 1]
                        forward += store.effects
                        store.effects = None
                    elif forward is not None:
                        forward.append(args)
                else:
                    reply = self.execute(conn, args)
                    tx = conn.tx
                    if tx is not None and tx.ran is not None:  # EXEC ran these, as one unit
                        if forward is None:
                            forward = requests[: ran - 1]
                        forward += tx.ran
                        data_commands += len(tx.ran)
                        tx.ran = None
            if reply.__class__ is bytes:
                if len(reply) < BIG:
                    append(b"$%d\r\n%b\r\n" % (len(reply), reply))
                else:
                    out += (b"$%d\r\n" % len(reply), reply, b"\r\n")
                    large = True
            elif reply is OK:
                append(OK_REPLY)
            else:
                append(encode(reply, conn.resp3))
            if conn.closing:  # QUIT: the rest of the chunk is not run, so not forwarded either
                requests, raw = requests[:ran], None
                break
        self.stats["data_commands"] += data_commands
        if timed:  # the chunk's time, in equal shares, for the chunks not timed too
            share = (time.perf_counter_ns() - started) * TIMED_ONE_IN // len(timed)
            for cell in timed:
                cell[NANOSECONDS] += share
        # A SELECT among them; while a long script runs, its thread has the store (and its db).
        conn.db = store.db.index if self.script is None else self.script.db
        replies = out if large else b"".join(out)
        if not (backup and data_commands):
            if out:
                conn.replies.append(replies)
        else:
            # The backup runs the requests as they came (only the data commands do anything there).
            large = []
            if forward is not None:
                frames = pbwire.frames(forward, large)
            else:
                frames = raw if raw is not None else pbwire.frames(requests, large)
            reply = Deferred(conn, replies, len(requests))
            if replica.propagate(frames, large, reply, db, conn.db):
                asyncio.get_running_loop().call_soon(self._end_turn)
            conn.replies.append(reply)
        if self.blocking.ready and self.script is None:
            self._serve_blocked()

    def _run_subscribed(self, conn, requests) -> None:
        """A RESP2 connection in subscribe mode runs only the SUBSCRIBE family, PING and QUIT."""
        for i, args in enumerate(requests):
            if conn.pubsub is None:  # unsubscribed from everything: the rest runs as usual
                return self.execute_chunk(conn, requests[i:], None)
            cmd = self.server.table.resolve(args)
            if cmd.__class__ is Error:
                reply = cmd
            elif cmd.name == "PUBSUB" and (refused := subcommand_error(args)) is not None:
                reply = refused
            elif cmd.name not in IN_SUBSCRIBE_MODE:
                reply = not_in_subscribe_mode(cmd.name, args)
            elif cmd.name == "PING" and len(args) <= 2:
                reply = [b"pong", args[1] if len(args) == 2 else b""]
            else:
                reply = self.execute(conn, args)
            conn.replies.append(encode(reply, conn.resp3))
            if conn.closing:
                return

    # ------------------------------------------------------------------ blocked clients and long scripts

    def _may_wait(self, conn, runner, args: list[bytes], rest: list[list[bytes]]):
        """A blocking command, a script, or KV.ONCE around one: its reply now, or WAITING (a
        pop with nothing to pop, a script still running: ``rest`` waits with it)."""
        store = self.keeper.store
        if (wait := store.must_wait(args)) is not None:
            self._block(conn, args, wait, rest)
            return WAITING
        if not is_script(args):
            return store.call(runner, args)
        db = store.db.index  # (the script may SELECT in its thread)
        started = time.perf_counter_ns()
        # The usual script is done at once; the loop waits for it (the store is the script's).
        if self.scripts.run(store.call, runner, args, timeout=SCRIPT_INLINE_SECONDS):
            self._count_script_calls()
            return self.scripts.result()
        # A long one: the loop goes on (viewd's pings, SCRIPT KILL), holding everyone's commands.
        self.script = RunningScript(conn, args, db, started)
        conn.blocked = self.script
        if rest:
            conn.pending.extendleft(reversed(rest))
        loop = asyncio.get_running_loop()
        self.scripts.when_done(lambda: loop.call_soon_threadsafe(self._script_done))
        self.script.busy_timer = loop.call_later(BUSY_REPLY_THRESHOLD, self._release_held)
        return WAITING

    def _while_script_runs(self, conn, requests) -> None:
        """Another client's requests while a long script runs: SCRIPT KILL, FUNCTION KILL and
        FUNCTION STATS are answered; the rest waits until the script ends, or, once it has run for
        BUSY_REPLY_THRESHOLD seconds, gets BUSY (as Redis's busy-reply-threshold)."""
        script, store = self.script, self.keeper.store
        for i, args in enumerate(requests):
            cmd = self.server.table.resolve(args)
            sub = args[1].upper() if len(args) > 1 else b""
            if cmd.__class__ is Error:
                reply = cmd
            elif cmd.name in ("SCRIPT", "FUNCTION") and sub == b"KILL":
                reply = store.script_kill(cmd.name == "SCRIPT")
            elif cmd.name == "FUNCTION" and sub == b"STATS":  # (which script runs, for how long)
                reply = store.call(store.runner(args[0]), args)
            elif cmd.name in ALLOWED_WHILE_BUSY:
                reply = self.execute(conn, args)
            elif script.busy:
                reply = store.busy_error() or self.execute(conn, args)
            else:
                conn.blocked = script
                conn.pending.extendleft(reversed(requests[i:]))
                script.held.append(conn)
                return
            conn.replies.append(encode(reply, conn.resp3))
            if conn.closing:
                return

    def _release_held(self) -> None:
        """The script has run for BUSY_REPLY_THRESHOLD: the clients it held get BUSY now."""
        script = self.script
        if script is None:
            return
        script.busy = True
        held, script.held = script.held, []
        for conn in held:
            conn.blocked = None
            if not conn.closing:
                conn.unblocked()

    def _script_done(self) -> None:
        """A long script ended: its reply (and the effects it had, to the backup), then everyone
        it held goes on."""
        script, self.script = self.script, None
        script.busy_timer.cancel()
        conn = script.conn
        try:
            reply = self.scripts.result()
        except Exception as exc:  # noqa: BLE001 - a bug: answered, and the same on the backup
            reply = internal_error("EVAL", exc)
        self._count_script_calls()
        self._answer_later(conn, script.args, reply, script.db, time.perf_counter_ns() - script.started_ns)
        for waiting in [conn, *script.held]:
            waiting.blocked = None
            if not waiting.closing:
                waiting.unblocked()
        if self.blocking.ready:
            self._serve_blocked()


    def _count_script_calls(self) -> None:
        """INFO commandstats counts what a script ran with redis.call, as Redis does."""
        calls = self.keeper.store.script_calls
        for name, args, nanoseconds, reply in calls:
            self.command_stats.call(stat_name(name, args), nanoseconds, reply)
        calls.clear()

    def _block(self, conn, args: list[bytes], wait, rest: list[list[bytes]]) -> None:
        """``args`` (a blocking command with nothing to pop) waits; the requests after it wait
        with it, in order."""
        keys, kind, timeout, timeout_reply = wait
        store = self.keeper.store
        if self.blocking.keyspace is not store:  # a new store (a state was installed)
            self.blocking = Blocking(store)
        waiter = self.blocking.block(conn, args, keys, store.db.index, kind)
        conn.blocked = waiter
        if rest:
            conn.pending.extendleft(reversed(rest))
        if timeout:
            waiter.timer = asyncio.get_running_loop().call_later(timeout, self._unblock, waiter, timeout_reply)

    def _unblock(self, waiter, reply=None) -> None:
        """The waiter is done: served (its reply is queued already), timed out (``reply``), or
        its connection closed. Its connection goes on with what it sent meanwhile."""
        self.blocking.unblock(waiter)
        if waiter.timer is not None:
            waiter.timer.cancel()
        conn = waiter.conn
        conn.blocked = None
        if not conn.closing:
            if reply is not None:
                conn.replies.append(encode(reply, conn.resp3))
            conn.unblocked()

    def _serve_blocked(self) -> None:
        """Serve the waiters a change made ready, oldest first: each runs now (its non-blocking
        form pops) and reaches the backup as it ran, after what made it ready. What a served
        BLMOVE pushes may make more ready."""
        replica, store, blocking = self.replica, self.keeper.store, self.blocking
        backup = replica.view.backup
        store.now = replica.turn_time(time.time()) if backup else time.time()
        while ready := blocking.take_ready():
            for waiter in ready:
                if blocking.by_conn.get(waiter.conn.id) is not waiter or not blocking.can_serve(waiter):
                    continue
                store.db = store.dbs[waiter.db]
                started = time.perf_counter_ns()
                reply = store.run(waiter.args)
                self._answer_later(waiter.conn, waiter.args, reply, waiter.db, time.perf_counter_ns() - started)
                self._unblock(waiter)

    def _answer_later(self, conn, args: list[bytes], reply, db: int, nanoseconds: int) -> None:
        """A request that ran after its chunk (a served blocking pop, a long script, which took
        ``nanoseconds``): its reply waits for the backup to hold what it did (``args``, or the
        effects it left), in ``db``."""
        replica, store = self.replica, self.keeper.store
        self.command_stats.call(stat_name(store.runner(args[0])[2], args), nanoseconds, reply)
        forward = [args] if store.effects is None else store.effects
        store.effects = None
        self.stats["data_commands"] += 1
        encoded = encode(reply, conn.resp3)
        if replica.view.backup and replica.serving:
            large = []
            deferred = Deferred(conn, encoded, 1)
            if replica.propagate(pbwire.frames(forward, large), large, deferred, db, db):
                asyncio.get_running_loop().call_soon(self._end_turn)
            conn.replies.append(deferred)
        else:
            conn.replies.append(encoded)

    def _end_turn(self) -> None:
        self.replica.end_turn()
        self.carry_out()

    def execute(self, conn, args):
        """One request, answered at once (no backup to wait for)."""
        store = self.keeper.store
        runner = store.runner(args[0])
        if runner is None:
            reply = self.server.dispatch(conn, args)
            if reply.__class__ is Error and len(args) > 1 and args[0].upper() == b"EXEC":
                return self._exec_refused(conn, reply)
            return reply
        if not (len(args) == runner[0] or 0 > runner[0] >= -len(args)):
            return self._rejected(runner[2], wrong_arity(runner[2]))
        if not may_run(conn):
            return self._rejected(runner[2], NOAUTH)
        if runner[2] == "SELECT":  # on any server, as Redis's replicas take it
            index = store.db_index(args[1])
            if index.__class__ is Error:
                return index
            conn.db = index
            return OK
        if not self.replica.serving:
            self.stats["fenced_requests"] += 1
            return self._rejected(runner[2], Error(self.replica.readonly_error()))
        raise AssertionError("a serving primary runs data commands in execute_chunk")

    def _rejected(self, name: str, error: Error) -> Error:
        self.command_stats.rejected(name, error)
        return error

    # ------------------------------------------------------------------ transactions

    def _transaction(self, conn) -> Transaction:
        store = self.keeper.store
        if conn.tx is None or conn.tx.keyspace is not store:
            conn.tx = Transaction(store)
        return conn.tx

    def _queues(self, args) -> bool:
        """Whether a request inside MULTI is queued (rather than answered at once)."""
        cmd = self.server.table.lookup(args[0])
        return cmd is None or cmd.name not in IMMEDIATE

    def _queue(self, tx: Transaction, args):
        cmd = self.server.table.resolve(args)
        if cmd.__class__ is not Error:  # (a subcommand is checked when queued)
            cmd = subcommand_error(args) or cmd
        if cmd.__class__ is Error:
            tx.errored = True
            return cmd
        tx.queue(args)
        return QUEUED

    def cmd_multi(self, conn, args):
        tx = self._transaction(conn)
        if tx.queued is not None:
            return NESTED
        tx.begin()
        return OK

    def cmd_exec(self, conn, args):
        tx = conn.tx
        if tx is None or tx.queued is None:
            return EXEC_WITHOUT_MULTI
        taken = tx.take()
        if taken is None:
            return NULL_ARRAY  # a watched key changed
        if taken.__class__ is Error:
            return taken
        replies = []
        ran = []  # what the backup runs: the commands, or the effects of those that decided at random
        store = self.keeper.store
        for args in taken:
            runner = store.runner(args[0])
            if self.replica.serving and runner is not None and (len(args) == runner[0] or 0 > runner[0] >= -len(args)):
                started = time.perf_counter_ns()
                replies.append(store.call(runner, args))
                self.command_stats.call(stat_name(runner[2], args), time.perf_counter_ns() - started, replies[-1])
                if store.effects is not None:
                    ran += store.effects
                    store.effects = None
                    continue
            else:
                replies.append(self.execute(conn, args))
            ran.append(args)
        if self.replica.serving:
            tx.ran = ran
        return replies

    def _exec_refused(self, conn, error: Error) -> Error:
        """EXEC refused before it runs (wrong arity): as Redis, the transaction ends, and the
        reply says why."""
        if conn.tx is not None:
            conn.tx.discard()
        return exec_abort(error)

    def cmd_discard(self, conn, args):
        if conn.tx is None or conn.tx.queued is None:
            return DISCARD_WITHOUT_MULTI
        conn.tx.discard()
        return OK

    def cmd_watch(self, conn, args):
        tx = self._transaction(conn)
        if tx.queued is not None:
            return WATCH_IN_MULTI
        tx.watch(self.keeper.store.dbs[conn.db], args[1:])
        return OK

    def cmd_unwatch(self, conn, args):
        if conn.tx is not None:
            conn.tx.unwatch()
        return OK

    def cmd_kv_session(self, conn, args):
        """A new exactly-once session id for the smart client (any server may issue one)."""
        return session_id(self.settings.cluster_secret, os.urandom(12).hex().encode())

    def connection_closed(self, conn) -> None:
        self.pubsub.forget(conn)
        if conn.tx is not None:
            conn.tx.discard()
        if conn.blocked.__class__ is Waiter:
            self._unblock(conn.blocked)
        self.replica.conn_closed(conn)
        self.carry_out()

    # ------------------------------------------------------------------ PB.* from a primary

    def cmd_pb(self, conn, args):
        claimed = args[2].decode("utf-8", "replace") if args[0].upper() == pbwire.RESUME else ""
        sender = self.auth.speaker(conn, claimed)
        if sender is None:
            return NOT_PROVEN  # no client, whatever its password, writes into a backup
        reply = self.replica.on_message(conn, args, sender)
        self.carry_out()
        return reply
