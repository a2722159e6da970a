"""pbd's asyncio shell: the client listener, the ping loop to viewd, and the backup's side of
the replication link (the primary's side is in link.py, with the conversation).

The decisions live elsewhere: what a command does (store.py), which role this server has and
whether it may serve or must refuse (replication.py). This module moves bytes and time.

Every data command a primary runs joins the batch of its event-loop turn, and the chunk's
replies wait until the backup holds that batch. As a backup, this server takes PB.* messages
only from the primary of its current view, on the connections that primary opened last.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import time
from collections.abc import Callable
from itertools import chain

import hiredis

from viewd.core import View

from .commands import (
    ADMIN_COMMANDS, DATA_COMMANDS, ONCE, REPLICATION_COMMANDS, unknown_subcommand, wrong_arity,
)
from .daemon import parse_address
from .link import Forwarder
from .protocol import (
    OK, OK_REPLY, Error, Status, decode_reply, encode, encode_command,
)
from .replication import NOT_SYNCED, Replica
from .respserver import Deferred, RespServer, format_info
from .store import Store

log = logging.getLogger("pbd")



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


QUEUED = Status("QUEUED")  # a backup's reply to a batch it holds until its transfer completes


class Transfer:
    """The backup's side of a state transfer under way: the state arriving, batches held."""

    def __init__(self, viewnum: int, sender: str, staging: Store, conn):
        self.viewnum = viewnum
        self.sender = sender
        self.staging = staging  # replaces the store when complete
        self.conn = conn  # the connection it arrives on
        self.queue: list[tuple[float, list[list[bytes]]]] = []  # batches held until then


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
        # A data command's name as clients spell it -> (arity, function of the request, name).
        self.runners: dict[bytes, tuple[int, Callable, str]] = {}
        self.now = 0.0  # the time KV.ONCE records: the batch's, so the backup records the same
        self.forwarder = Forwarder(self)  # primary: the link into the backup
        # backup: the primary's current forward connection, the last batch held, a transfer
        self.forward_conn = None
        self.last_batch = 0
        self.transfer: Transfer | None = None
        self.ping_task: asyncio.Task | None = None
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
        while self.forwarder.unacked and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.ping_task is not None:
            self.ping_task.cancel()
        self.forwarder.stop()
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
            self.forwarder.check_timeouts()
            next_at = max(next_at + interval, time.monotonic())
            await asyncio.sleep(next_at - time.monotonic())

    def on_view(self, view: View) -> None:
        change = self.replica.on_view(view)
        if change is None:
            return
        self.stats["view_changes"] += 1
        self.log.info("new view: primary=%s backup=%s; role %s -> %s", view.primary or "-",
                      view.backup or "-", change.old_role, change.new_role)
        # Connections into this server belong to the view they were opened in.
        self.forward_conn, self.transfer, self.last_batch = None, None, 0
        if change.role_changed:
            self.close_clients()  # as Redis Sentinel does: clients re-resolve the primary
        if change.new_role == "primary":
            if not view.backup:
                self.forwarder.stop()
                self.forwarder.release_all()  # no backup in this view: nothing to wait for
            elif change.new_backup:
                self.forwarder.start()
        else:
            self.forwarder.stop()
            self.forwarder.fail_all(self._readonly())
            if change.new_role == "idle":
                self.store.clear()

    def on_backup_synced(self) -> None:
        if self.replica.on_backup_synced(self.replica.view.viewnum):
            self.log.info("backup %s holds the full state", self.replica.view.backup)

    def fence(self) -> None:
        """The backup knows a newer view: answer nothing more until this server learns it."""
        self.close_clients()
        self.forwarder.fail_all(self._readonly())

    # ------------------------------------------------------------------ client commands

    def execute_chunk(self, conn, requests, raw) -> None:
        """Run one chunk of a client's requests (the hot path).

        On a primary with a backup, the data commands join this event-loop turn's batch, and
        the chunk's replies wait, as one, for the backup to accept the batch."""
        replica = self.replica
        if not replica.serving:
            return super().execute_chunk(conn, requests, raw)  # READONLY, one by one
        backup = replica.view.backup
        self.now = self.forwarder.start_turn() if backup else time.time()
        runners = self.runners
        out = []
        append = out.append
        data_commands = 0
        for args in requests:
            # runner_for(args), inlined: this loop is the hot path
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
            raw = b"".join([encode_command(args) for args in requests if self.runner_for(args)])
        reply = Deferred(conn, b"".join(out), len(out))
        self.forwarder.add(raw, reply)
        conn.replies.append(reply)

    def _runner(self, name: bytes) -> tuple[int, Callable, str] | None:
        """(arity, function of the request, command name) for a data command's name as clients
        spell it; cached in ``self.runners``."""
        cmd = self.table.lookup(name)
        if cmd is None or cmd.name not in self.data_commands:
            return None
        handler = self._apply_once if cmd is ONCE else self.store.handlers[cmd.name]
        runner = self.runners[name] = (cmd.arity, handler, cmd.name)
        return runner

    def runner_for(self, args: list[bytes]) -> Callable | None:
        """The function that runs a request, if it is a data command with a valid arity."""
        runner = self.runners.get(args[0]) or self._runner(args[0])
        if runner is not None and (len(args) == runner[0] or 0 > runner[0] >= -len(args)):
            return runner[1]
        return None

    def execute(self, conn, args):
        """One request, answered at once (no backup to wait for)."""
        runner = self.runners.get(args[0]) or self._runner(args[0])
        if runner is None:
            return super().execute(conn, args)
        run = self.runner_for(args)
        if run is None:
            return wrong_arity(runner[2])
        if not self.replica.serving:
            self.stats["fenced_requests"] += 1
            return self._readonly()
        self.stats["data_commands"] += 1
        self.now = time.time()
        return run(args)

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

    # ------------------------------------------------------------------ backup: receiving

    def _sender(self, conn, args) -> tuple[int, str, str | None]:
        """(view, primary, refusal) for a PB.* message on a connection opened by a primary."""
        viewnum = _int(args[1])
        sender = conn.replication
        if sender is None:
            return viewnum, "", f"{NOT_SYNCED} this connection did not say whom it is from"
        return viewnum, sender, self.replica.check_sender(viewnum, sender)

    def cmd_pb_resume(self, conn, args):
        viewnum, sender = _int(args[1]), args[2].decode("utf-8", "replace")
        refusal = self.replica.check_sender(viewnum, sender)
        if refusal:
            return Error(refusal)
        receiving = self.transfer is not None and self.transfer.viewnum == viewnum
        if self.replica.state_view != viewnum and not receiving:
            return Error(f"{NOT_SYNCED} {self.me} holds no state for view {viewnum}")
        conn.replication = sender
        self.forward_conn = conn  # batches come on this connection from now on
        return [self.last_batch, b"receiving" if receiving else b"synced"]

    def connection_closed(self, conn) -> None:
        if self.transfer is not None and self.transfer.conn is conn:
            self.log.warning("state transfer from %s broken off", self.transfer.sender)
            self.transfer = None
            self.replica.abort_transfer()
        if conn is self.forward_conn:
            self.forward_conn = None

    def cmd_pb_batch(self, conn, args):
        viewnum, sender, refusal = self._sender(conn, args)
        if refusal is None:
            refusal = self.replica.check_forward(viewnum, sender)
        if refusal is None and conn is not self.forward_conn:
            refusal = f"{NOT_SYNCED} a newer connection replaced this one"
        if refusal:
            return Error(refusal)
        batch_id = _int(args[2])
        if batch_id < 1:
            return Error("ERR malformed PB.BATCH: the batch id is not a positive integer")
        if batch_id <= self.last_batch:
            return OK  # held already
        if batch_id != self.last_batch + 1:
            return Error(f"{NOT_SYNCED} batch {batch_id} after {self.last_batch}")
        try:
            now = float(args[3])
        except ValueError:
            now = None
        requests = _batch_requests(args[4])
        if requests is None or now is None:
            return Error("ERR malformed PB.BATCH: expected a time and client requests")
        self.last_batch = batch_id
        if self.transfer is not None:  # the state is still coming in: hold the batch
            self.transfer.queue.append((now, requests))
            return QUEUED
        self._apply_forwarded(requests, now)
        return OK

    def cmd_pb_sync(self, conn, args):
        viewnum, sender = _int(args[1]), args[2].decode("utf-8", "replace")
        refusal = self.replica.begin_transfer(viewnum, sender)
        if refusal:
            return Error(refusal)
        # The state arrives aside: until it is complete, the old one (if any) stays as it is.
        staging = Store(self.settings.session_ttl, self.settings.max_sessions)
        self.transfer = Transfer(viewnum, sender, staging, conn)
        self.last_batch = _int(args[3])  # the snapshot holds every batch up to this one
        self.forward_conn = None  # the primary resumes forwarding after this
        conn.replication = sender
        self.stats["state_transfers_received"] += 1
        self.log.info("receiving the state from %s", sender)
        return OK

    def _transfer_for(self, conn, args) -> tuple[Transfer | None, str | None]:
        viewnum, sender, refusal = self._sender(conn, args)
        transfer = self.transfer
        if refusal is None and (transfer is None or transfer.conn is not conn or transfer.viewnum != viewnum):
            refusal = f"{NOT_SYNCED} no transfer under way on this connection"
        return transfer, refusal

    def cmd_pb_load(self, conn, args):
        transfer, refusal = self._transfer_for(conn, args)
        if refusal:
            return Error(refusal)
        pairs = _flat_array(args[2], 2)
        if pairs is None:
            return Error("ERR malformed PB.LOAD: expected an array of keys and values")
        it = iter(pairs)
        transfer.staging.data.update(zip(it, it))
        return OK

    def cmd_pb_sessions(self, conn, args):
        transfer, refusal = self._transfer_for(conn, args)
        if refusal:
            return Error(refusal)
        fields = _flat_array(args[2], 4)
        try:
            entries = [(fields[i], (int(fields[i + 1]), decode_reply(fields[i + 3]), float(fields[i + 2])))
                       for i in range(0, len(fields), 4)]
        except (TypeError, ValueError, hiredis.ProtocolError):
            return Error("ERR malformed PB.SESSIONS: expected an array of client, seq, used, reply")
        transfer.staging.sessions.load(entries)
        return OK

    def cmd_pb_synced(self, conn, args):
        transfer, refusal = self._transfer_for(conn, args)
        if refusal is None:
            refusal = self.replica.end_transfer(transfer.viewnum, transfer.sender)
        if refusal:
            return Error(refusal)
        self.transfer = None
        self._use_store(transfer.staging)
        for now, requests in transfer.queue:
            self._apply_forwarded(requests, now)
        self.log.info("state received: %d keys, %d exactly-once clients, %d batches held meanwhile",
                      len(self.store.data), len(self.store.sessions), len(transfer.queue))
        return self.last_batch

    def _apply_forwarded(self, requests: list[list[bytes]], now: float) -> None:
        self.now = now
        for args in requests:
            run = self.runner_for(args)
            if run is not None:
                run(args)

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
                "unacknowledged_batches": len(self.forwarder.unacked),
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


def _batch_requests(payload: bytes) -> list[list[bytes]] | None:
    """The requests a PB.BATCH carries: multibulk frames, as the primary's parser accepted
    them (so hiredis alone suffices here), or None if they are not that."""
    reader = hiredis.Reader()
    reader.feed(payload)
    requests = []
    try:
        while (req := reader.gets()) is not False:
            if req.__class__ is not list or not req:
                return None
            requests.append(req)
    except hiredis.ProtocolError:
        return None
    if requests and set(map(type, chain.from_iterable(requests))) != {bytes}:
        return None
    return requests


def _flat_array(payload: bytes, group: int) -> list[bytes] | None:
    """A RESP array of bulk strings (a transfer chunk), if its length is a multiple of ``group``."""
    reader = hiredis.Reader()
    reader.feed(payload)
    try:
        items = reader.gets()
    except hiredis.ProtocolError:
        return None
    if items.__class__ is not list or len(items) % group or (items and set(map(type, items)) != {bytes}):
        return None
    return items


def _int(raw: bytes) -> int:
    try:
        return int(raw)
    except ValueError:
        return -1
