"""pbd's asyncio shell: the client listener, the ping loop to viewd, the link into the backup.

The decisions live elsewhere: what a command does (store.py), which role this server has and
whether it may serve or must refuse (replication.py). This module moves bytes and time.

The primary's conversation with its backup, over one TCP connection to the backup's
advertised address (replies come back in order, one per message):

    PB.SYNC <view> <primary>           the backup drops its data; a transfer starts
    PB.LOAD <view> <k> <v> ...         chunks of a snapshot of the primary's data
    PB.SESSIONS <view> <c> <seq> <used> <reply> ...   the exactly-once table
    PB.SYNCED <view>                   the transfer is complete
    PB.BATCH <view> <now> <requests>   client requests, as the clients sent them

Every data command a primary runs goes into the batch of its event-loop turn; the batch is sent
once the turn ends, and the clients' replies are released when the backup acknowledges it. A
batch that never reached the backup (no link, link lost) is not sent again: the next link
starts with a snapshot, which contains it, and the replies wait for that transfer's end. A
backup that knows a newer view refuses, and the primary fences itself.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import time
from collections import deque
from collections.abc import Callable

import hiredis

from viewd.core import View

from .commands import (
    ADMIN_COMMANDS, DATA_COMMANDS, ONCE, REPLICATION_COMMANDS, Command, unknown_subcommand, wrong_arity,
)
from .daemon import parse_address
from .protocol import (
    OK, OK_REPLY, Error, ProtocolError, RequestParser, Status, decode_reply, encode, encode_command,
)
from .replication import Replica
from .respserver import Deferred, RespServer, format_info
from .store import Store

log = logging.getLogger("pbd")

CHUNK_PAIRS = 5000  # keys per PB.LOAD message of a state transfer


class Settings:
    """pbd's settings, as given on the command line (or the environment)."""

    def __init__(self, viewd: str, bind: str = "127.0.0.1", port: int = 6379, advertise: str | None = None,
                 ping_interval: float = 0.1, session_ttl: float = 3600.0, max_sessions: int = 1_000_000):
        self.viewd = viewd
        self.bind = bind
        self.port = port
        self.advertise = advertise or f"{bind}:{port}"
        self.ping_interval = ping_interval
        self.session_ttl = session_ttl
        self.max_sessions = max_sessions


class ViewdClient:
    """A minimal RESP client for viewd: one connection, one request at a time, with a timeout."""

    def __init__(self, address: str, timeout: float):
        self.host, self.port = parse_address(address, "--viewd address")
        self.timeout = timeout
        self.streams = None
        self.reader = hiredis.Reader()

    async def call(self, *args):
        try:
            return await asyncio.wait_for(self._call(args), self.timeout)
        except BaseException:
            self.close()
            raise

    async def _call(self, args):
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
            self.reader = hiredis.Reader()
        stream_in, stream_out = self.streams
        stream_out.write(encode_command(args))
        while (reply := self.reader.gets()) is False:
            data = await stream_in.read(65536)
            if not data:
                raise ConnectionError("viewd closed the connection")
            self.reader.feed(data)
        if isinstance(reply, hiredis.ReplyError):
            raise ConnectionError(f"viewd refused: {reply}")
        return reply

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class BackupLink(asyncio.Protocol):
    """The primary's connection into its backup: sends messages, matches replies in order."""

    def __init__(self, node: "Node", viewnum: int):
        self.node = node
        self.viewnum = viewnum
        self.transport = None
        self.reader = hiredis.Reader()
        self.inflight: deque = deque()  # (what, covers, sent_at) per message, in order
        self.forwarding = False  # PB.SYNC is out: batches may follow it
        self.closed = False
        self._drained: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, message: bytes, what: str, covers: int = 0) -> None:
        self.inflight.append((what, covers, time.monotonic()))
        self.transport.write(message)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if not self.inflight or self.closed:
                return
            what, covers, _ = self.inflight.popleft()
            self.node.on_backup_reply(self, what, covers, reply)

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self.node.on_link_lost(self)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def drain(self) -> None:
        if self._drained is not None:
            await self._drained

    def oldest_age(self) -> float:
        return time.monotonic() - self.inflight[0][2] if self.inflight else 0.0

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Inbound:
    """The backup's side of one link from a primary: who sent it, and the transfer under way."""

    __slots__ = ("viewnum", "sender", "queue", "staging")

    def __init__(self, viewnum: int, sender: str, staging: Store):
        self.viewnum = viewnum
        self.sender = sender
        self.staging: Store | None = staging  # the state coming in; replaces the store when complete
        self.queue: list | None = []  # batches held back until then


class NodeLog(logging.LoggerAdapter):
    """Every log line of a node says its view and role, so a failover reads across processes."""

    def process(self, msg, kwargs):
        r = self.extra["node"].replica
        return f"[view {r.view.viewnum} {r.role}] {msg}", kwargs


class Node(RespServer):
    """One pbd: a RESP server whose data commands follow the replication role."""

    def __init__(self, settings: Settings):
        super().__init__(DATA_COMMANDS + [ONCE] + ADMIN_COMMANDS + REPLICATION_COMMANDS)
        self.settings = settings
        self.log = NodeLog(log, {"node": self})
        self.me = settings.advertise
        self.store = Store(settings.session_ttl, settings.max_sessions)
        self.replica = Replica(self.me, genesis=False)
        self.viewd = ViewdClient(settings.viewd, timeout=max(0.5, 5 * settings.ping_interval))
        self.data_commands = {cmd.name: cmd for cmd in DATA_COMMANDS + [ONCE]}
        self.link: BackupLink | None = None
        self.link_task: asyncio.Task | None = None
        self.ping_task: asyncio.Task | None = None
        # A data command's name as clients spell it -> (arity, function of the request).
        self.runners: dict[bytes, tuple[int, Callable]] = {}
        self.now = 0.0  # the time KV.ONCE records: the batch's, so the backup records the same
        # Batching: requests run in this event-loop turn, and batches not yet acknowledged.
        self.batch: list[bytes] = []  # the requests, encoded
        self.batch_replies: list[Deferred] = []
        self.batch_now = 0.0
        self.batch_id = 0
        self.unacked: deque[tuple[int, list[Deferred]]] = deque()
        self.inbound: Inbound | None = None  # backup: the link of the latest PB.SYNC
        self.stats = dict.fromkeys(
            ("data_commands", "forwarded_batches", "state_transfers_sent",
             "state_transfers_received", "fenced_requests", "view_changes"), 0)

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        await self.listen(self.settings.bind, self.settings.port)
        self.log.info("listening on %s:%d, advertised as %s, viewd at %s", self.settings.bind,
                      self.settings.port, self.me, self.settings.viewd)
        self.ping_task = asyncio.create_task(self._ping_loop())

    async def stop(self, grace: float = 1.0) -> None:
        """Stop accepting, give replies in flight a moment to be acknowledged, then close."""
        self.close_listener()
        deadline = time.monotonic() + grace
        while self.unacked and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for task in (self.ping_task, self.link_task):
            if task is not None:
                task.cancel()
        self._drop_link()
        self.close_clients()
        self.viewd.close()
        self.log.info("stopped")

    # ------------------------------------------------------------------ viewd

    async def _ping_loop(self) -> None:
        interval = self.settings.ping_interval
        knows_genesis = False
        next_at = time.monotonic()
        while True:
            try:
                if not knows_genesis:
                    # Did this process start before any view existed? Only then may it be the
                    # (empty) primary of view 1; any later start is a restart and holds nothing.
                    reply = await self.viewd.call("VIEW.GET")
                    self.replica.genesis = int(reply[0]) == 0
                    knows_genesis = True
                reply = await self.viewd.call("VIEW.PING", self.me, self.replica.ping_viewnum())
                self.on_view(View(int(reply[0]), reply[1].decode(), reply[2].decode()))
            except (OSError, ConnectionError, asyncio.TimeoutError) as exc:
                self.log.debug("ping to viewd failed: %r", exc)
            self._check_link()
            next_at = max(next_at + interval, time.monotonic())
            await asyncio.sleep(next_at - time.monotonic())

    def on_view(self, view: View) -> None:
        change = self.replica.on_view(view)
        if change is None:
            return
        self.stats["view_changes"] += 1
        self.log.info("new view: primary=%s backup=%s; role %s -> %s", view.primary or "-",
                      view.backup or "-", change.old_role, change.new_role)
        self.inbound = None  # a link into this server belongs to the view it was opened in
        if change.role_changed:
            self.close_clients()  # as Redis Sentinel does: clients re-resolve the primary
        if change.new_role == "primary":
            if not view.backup:
                self._drop_link()
                self._send_batch()
                self._release_upto(self.batch_id)  # no backup in this view: nothing to wait for
            elif change.new_backup:
                self._start_link()
        else:
            self._drop_link()
            self._fail_unacked()
            if change.new_role == "idle":
                self.store.clear()

    # ------------------------------------------------------------------ client commands

    def execute_chunk(self, conn, requests, raw) -> None:
        """Run one chunk of a client's requests (the hot path).

        On a primary with a backup, the data commands join this event-loop turn's batch, and
        the chunk's replies wait, as one, for the backup to accept the batch."""
        replica = self.replica
        if not replica.serving:
            return super().execute_chunk(conn, requests, raw)  # READONLY, one by one
        backup = replica.view.backup
        if not backup:
            self.now = time.time()
        elif not self.batch:
            self.now = self.batch_now = time.time()
            asyncio.get_running_loop().call_soon(self._send_batch)
        runners = self.runners
        out = []
        append = out.append
        data_commands = 0
        for args in requests:
            runner = runners.get(args[0]) or self._runner(args[0])
            if runner is not None and (len(args) == runner[0] or 0 > runner[0] >= -len(args)):
                reply = runner[1](args)
                data_commands += 1
            else:
                reply = self.execute(conn, args)
            if reply.__class__ is bytes:
                append(b"$%d\r\n%b\r\n" % (len(reply), reply))
            elif reply is OK:
                append(OK_REPLY)
            else:
                append(encode(reply, conn.resp3))
            if conn.closing:  # QUIT: the rest of the chunk is not run, so not forwarded either
                raw = None
                requests = requests[: len(out)]
                break
        self.stats["data_commands"] += data_commands
        if not (backup and data_commands):
            conn.replies.append(b"".join(out))
            return
        # The backup runs the requests as they came (only the data commands do anything there).
        if raw is None:
            raw = b"".join([encode_command(args) for args in requests if self.data_command(args)])
        self.batch.append(raw)
        reply = Deferred(conn, b"".join(out), len(out))
        self.batch_replies.append(reply)
        conn.replies.append(reply)

    def _runner(self, name: bytes) -> tuple[int, Callable] | None:
        """(arity, function of the request) for a data command's name as clients spell it."""
        cmd = self.table.lookup(name)
        if cmd is None or cmd.name not in self.data_commands:
            return None
        runner = self.runners[name] = (cmd.arity, self._apply_once if cmd is ONCE else self.store.handlers[cmd.name])
        return runner

    def data_command(self, args: list[bytes]) -> Command | None:
        """The data command a request runs, if it is one with a valid arity."""
        cmd = self.table.lookup(args[0])
        if cmd is None or cmd.name not in self.data_commands or not cmd.arity_ok(len(args)):
            return None
        return cmd

    def execute(self, conn, args):
        """One request, answered at once (no backup to wait for)."""
        cmd = self.table.lookup(args[0])
        if cmd is None or cmd.name not in self.data_commands:
            return super().execute(conn, args)
        if not cmd.arity_ok(len(args)):
            return wrong_arity(cmd.name)
        if not self.replica.serving:
            self.stats["fenced_requests"] += 1
            return self._readonly()
        self.stats["data_commands"] += 1
        self.now = time.time()
        return self._runner(args[0])[1](args)

    def _apply_once(self, args: list[bytes]):
        """KV.ONCE <client> <seq> <command> <args...>: run the command once per (client, seq)."""
        inner = args[3:]
        inner_cmd = self.table.lookup(inner[0])
        if inner_cmd is None or inner_cmd.name not in self.data_commands or inner_cmd is ONCE:
            return Error(f"ERR KV.ONCE cannot run '{inner[0].decode('utf-8', 'replace')[:64]}'")
        if not inner_cmd.arity_ok(len(inner)):
            return wrong_arity(inner_cmd.name)
        try:
            seq = int(args[2])
        except ValueError:
            return Error("ERR KV.ONCE sequence number is not an integer")
        return self.store.apply_once(args[1], seq, inner_cmd, inner, self.now)

    def _use_store(self, store: Store) -> None:
        """Replace the data (a completed transfer); the runners were bound to the old store."""
        self.store = store
        self.runners.clear()

    def _readonly(self) -> Error:
        r = self.replica
        return Error(f"READONLY {self.me} is not the primary of view {r.view.viewnum} "
                     f"(role {r.role}, primary {r.view.primary or 'none'})")

    # ------------------------------------------------------------------ primary: forwarding

    def _send_batch(self) -> None:
        """Close this turn's batch: send it to the backup if a link is up; either way it is
        acknowledged by the backup's reply to it, or to the snapshot that will contain it."""
        if not self.batch:
            return
        pieces, replies = self.batch, self.batch_replies
        self.batch, self.batch_replies = [], []
        self.batch_id += 1
        self.unacked.append((self.batch_id, replies))
        link = self.link
        if link is not None and link.forwarding and not link.closed:
            link.send(encode_command((b"PB.BATCH", b"%d" % link.viewnum, repr(self.batch_now).encode(),
                                      b"".join(pieces))), "batch", self.batch_id)
            self.stats["forwarded_batches"] += 1

    def _release_upto(self, batch_id: int) -> None:
        """The backup holds every batch up to ``batch_id``: their replies may go out."""
        unacked = self.unacked
        conns = {}
        while unacked and unacked[0][0] <= batch_id:
            for reply in unacked.popleft()[1]:
                reply.done = True
                conns[reply.conn.id] = reply.conn
        for conn in conns.values():
            conn.flush()

    def _fail_unacked(self) -> None:
        """This server may no longer answer: every waiting reply becomes READONLY."""
        self._send_batch()
        error = self._readonly()
        conns = {}
        while self.unacked:
            for reply in self.unacked.popleft()[1]:
                reply.fail(error)
                conns[reply.conn.id] = reply.conn
                self.stats["fenced_requests"] += reply.count
        for conn in conns.values():
            conn.flush()

    def on_backup_reply(self, link: BackupLink, what: str, covers: int, reply) -> None:
        if link is not self.link:
            return
        if isinstance(reply, hiredis.ReplyError):
            action = self.replica.on_backup_refused(link.viewnum, str(reply))
            self.log.warning("backup %s refused %s (view %d): %s -> %s", self.replica.view.backup, what,
                             link.viewnum, reply, action)
            self._drop_link()
            if action == "fence":
                self.close_clients()
                self._fail_unacked()
            else:
                self._start_link(delay=self.settings.ping_interval)
            return
        if what == "synced" and self.replica.on_backup_synced(link.viewnum):
            self.log.info("backup %s holds the full state", self.replica.view.backup)
        if covers:
            self._release_upto(covers)

    def on_link_lost(self, link: BackupLink) -> None:
        if link is not self.link:
            return
        self.log.warning("link to backup %s lost", self.replica.view.backup)
        self.link = None
        self.replica.on_backup_link_lost()
        self._start_link(delay=self.settings.ping_interval)

    def _check_link(self) -> None:
        """A backup that does not answer for a while is as good as gone: resync."""
        link = self.link
        if link is not None and link.oldest_age() > max(1.0, 10 * self.settings.ping_interval):
            self.log.warning("backup %s not answering; reconnecting", self.replica.view.backup)
            self._drop_link()
            self.replica.on_backup_link_lost()
            self._start_link()

    def _drop_link(self) -> None:
        if self.link_task is not None and self.link_task is not asyncio.current_task():
            self.link_task.cancel()
        self.link_task = None
        if self.link is not None:
            link, self.link = self.link, None
            link.close()

    def _start_link(self, delay: float = 0.0) -> None:
        self._drop_link()
        self.link_task = asyncio.create_task(self._sync_backup(self.replica.view, delay))

    async def _sync_backup(self, view: View, delay: float) -> None:
        """Connect to the backup of ``view`` and send it the full state; forwards follow."""
        try:
            await self._connect_and_transfer(view, delay)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.exception("state transfer to %s failed", view.backup)
            self._drop_link()
            self._start_link(delay=self.settings.ping_interval)

    async def _connect_and_transfer(self, view: View, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        host, port = parse_address(view.backup, "backup address")
        loop = asyncio.get_running_loop()
        while self.replica.serving and self.replica.view == view:
            try:
                _, link = await asyncio.wait_for(
                    loop.create_connection(lambda: BackupLink(self, view.viewnum), host, port),
                    timeout=max(1.0, 10 * self.settings.ping_interval))
            except (OSError, asyncio.TimeoutError) as exc:
                self.log.debug("cannot reach backup %s: %r", view.backup, exc)
                await asyncio.sleep(self.settings.ping_interval)
                continue
            if not (self.replica.serving and self.replica.view == view):
                link.close()
                return
            self.link = link
            await self._transfer(link, view)
            return

    async def _transfer(self, link: BackupLink, view: View) -> None:
        # From here to link.forwarding = True nothing may yield: the snapshot and the batches
        # that follow it must meet exactly.
        self._send_batch()  # what ran this turn is in the snapshot: close it as a batch
        covers = self.batch_id
        snapshot = self.store.snapshot()
        vn = b"%d" % view.viewnum
        link.send(encode_command((b"PB.SYNC", vn, self.me.encode())), "sync")
        link.forwarding = True
        self.stats["state_transfers_sent"] += 1
        started = time.monotonic()
        self.log.info("sending %d keys to backup %s", len(snapshot.data), view.backup)
        for chunk in snapshot.chunks(CHUNK_PAIRS):
            if link.closed:
                return
            link.send(encode_command([b"PB.LOAD", vn] + chunk), "load")
            await link.drain()
            await asyncio.sleep(0)  # let client traffic in between chunks
        sessions = [b"PB.SESSIONS", vn]
        for client, (seq, reply, used) in snapshot.sessions:
            sessions += [client, b"%d" % seq, repr(used).encode(), encode(reply)]
        if link.closed:
            return
        link.send(encode_command(sessions), "sessions")
        link.send(encode_command((b"PB.SYNCED", vn)), "synced", covers)
        self.log.info("state sent to %s in %.2fs", view.backup, time.monotonic() - started)

    # ------------------------------------------------------------------ backup: receiving

    def cmd_pb_sync(self, conn, args):
        viewnum, sender = _int(args[1]), args[2].decode("utf-8", "replace")
        refusal = self.replica.begin_transfer(viewnum, sender)
        if refusal:
            return Error(refusal)
        # The state arrives aside: until it is complete, the old one (if any) stays promotable.
        staging = Store(self.settings.session_ttl, self.settings.max_sessions)
        conn.replication = self.inbound = Inbound(viewnum, sender, staging)
        self.stats["state_transfers_received"] += 1
        self.log.info("receiving the state from %s", sender)
        return OK

    def _inbound(self, conn, args) -> tuple[Inbound | None, str | None]:
        inbound = conn.replication
        if inbound is None:
            return None, "NOTSYNCED no PB.SYNC on this connection"
        refusal = self.replica.check_forward(_int(args[1]), inbound.sender)
        if refusal is None and inbound is not self.inbound:
            refusal = "NOTSYNCED a newer link replaced this one"
        return inbound, refusal

    def cmd_pb_load(self, conn, args):
        inbound, refusal = self._inbound(conn, args)
        if refusal:
            return Error(refusal)
        if inbound.staging is None:
            return Error("NOTSYNCED no transfer under way")
        if len(args) % 2:
            return wrong_arity("pb.load")
        it = iter(args[2:])
        inbound.staging.data.update(zip(it, it))
        return OK

    def cmd_pb_sessions(self, conn, args):
        inbound, refusal = self._inbound(conn, args)
        if refusal:
            return Error(refusal)
        if inbound.staging is None:
            return Error("NOTSYNCED no transfer under way")
        entries = []
        for i in range(2, len(args) - 3, 4):
            client, seq, used, reply = args[i : i + 4]
            entries.append((client, (int(seq), decode_reply(reply), float(used))))
        inbound.staging.sessions.load(entries)
        return OK

    def cmd_pb_synced(self, conn, args):
        inbound = conn.replication
        if inbound is None or inbound is not self.inbound:
            return Error("NOTSYNCED no current PB.SYNC on this connection")
        refusal = self.replica.end_transfer(_int(args[1]), inbound.sender)
        if refusal:
            return Error(refusal)
        held, inbound.queue = inbound.queue, None
        self._use_store(inbound.staging)
        inbound.staging = None
        for now, requests in held:
            self._apply_forwarded(requests, now)
        self.log.info("state received: %d keys, %d exactly-once clients", len(self.store.data),
                      len(self.store.sessions))
        return OK

    def cmd_pb_batch(self, conn, args):
        if len(args) != 4:
            return wrong_arity("pb.batch")
        inbound, refusal = self._inbound(conn, args)
        if refusal:
            return Error(refusal)
        try:
            requests = RequestParser().feed(args[3])
            now = float(args[2])
        except (ProtocolError, ValueError) as exc:
            return Error(f"ERR malformed PB.BATCH: {exc}")
        if inbound.queue is not None:  # the transfer is still coming in: hold the batch
            inbound.queue.append((now, requests))
        else:
            self._apply_forwarded(requests, now)
        return OK

    def _apply_forwarded(self, requests: list[list[bytes]], now: float) -> None:
        self.now = now
        runners = self.runners
        for args in requests:
            runner = runners.get(args[0]) or self._runner(args[0])
            if runner is not None and (len(args) == runner[0] or 0 > runner[0] >= -len(args)):
                runner[1](args)

    # ------------------------------------------------------------------ admin commands

    @property
    def role(self) -> str:
        return "master" if self.replica.serving else "replica"

    def cmd_info(self, conn, args):
        r, v = self.replica, self.replica.view
        sessions = self.store.sessions
        sections = {
            "Server": {
                "redis_version": "7.2.0", "resp_kv_version": "0.1.0", "redis_mode": "standalone",
                "process_id": os.getpid(), "tcp_port": self.settings.port, "advertise": self.me,
                "viewd": self.settings.viewd, "uptime_in_seconds": int(time.monotonic() - self.started),
            },
            "Clients": {"connected_clients": len(self.connections)},
            "Stats": {"total_commands_processed": sum(c.commands for c in self.connections.values()),
                      **self.stats,
                      "exactly_once_clients": len(sessions),
                      "exactly_once_memory_bytes": sessions.memory()},
            "Replication": {
                "role": "master" if r.serving else "slave", "pb_role": r.role, "view": v.viewnum,
                "primary": v.primary, "backup": v.backup,
                "backup_in_sync": "yes" if r.backup_synced else "no",
                "acknowledged_view": r.acked, "state_view": r.state_view,
                "connected_slaves": 1 if r.serving and r.backup_synced else 0,
                "unacknowledged_batches": len(self.unacked),
            },
            "Keyspace": {"db0": f"keys={len(self.store.data)},expires=0,avg_ttl=0"} if self.store.data else {},
        }
        return format_info(sections, args[1:])

    def cmd_role(self, conn, args):
        r, v = self.replica, self.replica.view
        if r.serving:
            replicas = []
            if v.backup and r.backup_synced:
                host, port = parse_address(v.backup)
                replicas.append([host, str(port), "0"])
            return ["master", 0, replicas]
        if v.primary and r.role == "backup":
            host, port = parse_address(v.primary)
            return ["slave", host, port, "connected" if r.state_view == v.viewnum else "sync", 0]
        return ["slave", "", 0, "none", -1]

    def cmd_config(self, conn, args):
        sub = args[1].upper()
        if sub == b"GET" and len(args) >= 3:
            s = self.settings
            settings = {"save": "", "appendonly": "no", "databases": "1", "port": str(s.port), "bind": s.bind,
                        "advertise": s.advertise, "viewd": s.viewd, "ping-interval": str(s.ping_interval),
                        "session-ttl": str(s.session_ttl), "max-sessions": str(s.max_sessions)}
            out = {}
            for pattern in args[2:]:
                pat = pattern.decode("utf-8", "replace").lower()
                out.update({k: v for k, v in settings.items() if fnmatch.fnmatchcase(k, pat)})
            return out
        if sub == b"RESETSTAT" and len(args) == 2:
            for key in self.stats:
                self.stats[key] = 0
            return OK
        if sub in (b"GET", b"SET"):
            return Error(f"ERR CONFIG {sub.decode()} is not supported for these arguments")
        return unknown_subcommand(args[1], "CONFIG")

    def cmd_debug(self, conn, args):
        if args[1].upper() == b"DIGEST" and len(args) == 2:
            return Status(self.store.digest())
        return unknown_subcommand(args[1], "DEBUG")

    def cmd_wait(self, conn, args):
        try:
            int(args[1]), int(args[2])
        except ValueError:
            return Error("ERR value is not an integer or out of range")
        # Every write this server acknowledged was already accepted by the backup of its view.
        r = self.replica
        return 1 if r.serving and r.view.backup and r.backup_synced else 0


def _int(raw: bytes) -> int:
    try:
        return int(raw)
    except ValueError:
        return -1
