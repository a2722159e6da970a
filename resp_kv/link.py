"""The primary's side of replication: this turn's batch, the connections into the backup, state
transfers, and which client replies the backup's answers release.

The conversation (one reply per message, in order, on each connection):

  forward connection                      transfer connection (only when the backup has no state)
    PB.RESUME <view> <primary>  -> :N         PB.SYNC <view> <primary> <covers>  -> +OK
    PB.BATCH <view> <id> <now> <requests>     PB.LOAD <view> <[key, value, ...]>  -> +OK
                         -> +OK | +QUEUED     PB.SESSIONS <view> <[client, seq, used, reply, ...]>
                                              PB.SYNCED <view>  -> :N

Batches are numbered. ``PB.RESUME`` asks the backup for the last batch it holds (applied, or
covered by a snapshot) and whether it holds the full state or is still receiving it; the
primary sends again what came after, so a dropped connection costs no transfer. A backup
without the state of the view answers ``NOTSYNCED`` (or ``receiving``, for a transfer the
primary has given up on): the primary then snapshots its store (covering every batch so far),
streams it on a second connection, and resumes forwarding at once; the backup holds those
batches (``+QUEUED``) until ``PB.SYNCED``.

A reply is released when the backup holds its batch: ``+OK`` (applied), ``:N`` after a
transfer, or ``+QUEUED`` while this primary has not yet acknowledged the view to viewd (a
backup mid-transfer in an unacknowledged view can never be promoted, so nothing released can be
lost). A backup that refuses with NOTBACKUP knows a newer view: the primary fences itself.
Any other refusal or a lost connection means: start over with ``PB.RESUME``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import hiredis

from viewd.core import View

from .daemon import parse_address
from .protocol import encode_command
from .respserver import Deferred

CHUNK_PAIRS = 1000  # entries per PB.LOAD / PB.SESSIONS: small enough for client traffic to pass
LOADS_IN_FLIGHT = 4  # such messages sent and not yet answered, at most


class Refused(Exception):
    """The backup refused a message; the text starts with its reason (NOTBACKUP, ...)."""


class Connection(asyncio.Protocol):
    """One connection into the backup: messages out, replies matched to them in order."""

    def __init__(self, on_reply, on_lost):
        self.on_reply = on_reply  # (connection, what, tag, reply), for messages sent with send()
        self.on_lost = on_lost
        self.transport = None
        self.reader = hiredis.Reader()
        self.inflight: deque = deque()  # (what, tag, sent_at, future or None)
        self.closed = False
        self._answered: asyncio.Future | None = None  # wakes replies_below()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, message: bytes, what: str, tag: int = 0) -> None:
        self.inflight.append((what, tag, time.monotonic(), None))
        self.transport.write(message)

    async def request(self, message: bytes, timeout: float):
        """Send and wait for this message's reply; a refusal raises Refused."""
        future = asyncio.get_running_loop().create_future()
        self.inflight.append(("request", 0, time.monotonic(), future))
        self.transport.write(message)
        reply = await asyncio.wait_for(future, timeout)
        if isinstance(reply, hiredis.ReplyError):
            raise Refused(str(reply))
        return reply

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if not self.inflight or self.closed:
                return
            what, tag, _, future = self.inflight.popleft()
            if self._answered is not None and not self._answered.done():
                self._answered.set_result(None)
            if future is not None:
                if not future.done():
                    future.set_result(reply)
            else:
                self.on_reply(self, what, tag, reply)

    def connection_lost(self, exc) -> None:
        self.closed = True
        for _, _, _, future in self.inflight:
            if future is not None and not future.done():
                future.set_exception(ConnectionError("connection to the backup lost"))
        if self._answered is not None and not self._answered.done():
            self._answered.set_result(None)
        self.on_lost(self)

    async def replies_below(self, count: int) -> None:
        """Wait until fewer than ``count`` messages await their reply (or the link is gone)."""
        while len(self.inflight) >= count and not self.closed:
            self._answered = asyncio.get_running_loop().create_future()
            await self._answered

    def oldest_age(self) -> float:
        return time.monotonic() - self.inflight[0][2] if self.inflight else 0.0

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Forwarder:
    """Everything a primary does to keep its backup in step (see the module docstring)."""

    def __init__(self, node):
        self.node = node  # replica, store, me, settings, log, stats, fence()
        self.batch: list[bytes] = []  # this turn's requests, encoded
        self.batch_replies: list[Deferred] = []
        self.batch_now = 0.0
        self.batch_id = 0
        self.unacked: deque[tuple[int, bytes, float, list[Deferred]]] = deque()  # (id, requests, now, replies)
        self.view: View | None = None  # the view the current connections were opened for
        self.link: Connection | None = None  # forwarding, once resumed
        self.transfer: Connection | None = None
        self.task: asyncio.Task | None = None
        self.transfer_task: asyncio.Task | None = None

    # ------------------------------------------------------------------ batches

    def add(self, requests: bytes, reply: Deferred) -> None:
        """A chunk's data requests and its (deferred) replies join this turn's batch."""
        if not self.batch:
            asyncio.get_running_loop().call_soon(self.send_batch)
        self.batch.append(requests)
        self.batch_replies.append(reply)

    def start_turn(self) -> float:
        """The time this turn's batch carries (what KV.ONCE records, on both servers)."""
        if not self.batch:
            self.batch_now = time.time()
        return self.batch_now

    def send_batch(self) -> None:
        if not self.batch:
            return
        payload = b"".join(self.batch)
        self.batch_id += 1
        self.unacked.append((self.batch_id, payload, self.batch_now, self.batch_replies))
        self.batch, self.batch_replies = [], []
        if self.link is not None and not self.link.closed:
            self._send(self.link, self.batch_id, payload, self.batch_now)
        # Otherwise the next PB.RESUME (or snapshot) takes care of it.

    def _send(self, link: Connection, batch_id: int, payload: bytes, now: float) -> None:
        link.send(encode_command((b"PB.BATCH", b"%d" % self.view.viewnum, b"%d" % batch_id, repr(now).encode(),
                                  payload)), "batch", batch_id)
        self.node.stats["forwarded_batches"] += 1

    def release_upto(self, batch_id: int) -> None:
        """The backup holds every batch up to ``batch_id``: their replies may go out."""
        unacked = self.unacked
        conns = {}
        while unacked and unacked[0][0] <= batch_id:
            for reply in unacked.popleft()[3]:
                reply.done = True
                conns[reply.conn.id] = reply.conn
        for conn in conns.values():
            conn.flush()

    def release_all(self) -> None:
        """No backup in this view: nothing to wait for."""
        self.send_batch()
        self.release_upto(self.batch_id)

    def fail_all(self, error) -> None:
        """This server may no longer answer: every waiting reply becomes ``error``."""
        self.send_batch()
        conns = {}
        while self.unacked:
            for reply in self.unacked.popleft()[3]:
                reply.fail(error)
                conns[reply.conn.id] = reply.conn
                self.node.stats["fenced_requests"] += reply.count
        for conn in conns.values():
            conn.flush()

    # ------------------------------------------------------------------ replies

    def on_reply(self, link: Connection, what: str, tag: int, reply) -> None:
        if link is not self.link and link is not self.transfer:
            return
        if isinstance(reply, hiredis.ReplyError):
            self.refused(str(reply), what, self.view.viewnum)
        elif what == "batch":
            if reply == b"OK" or self.node.replica.acked != self.node.replica.view.viewnum:
                self.release_upto(tag)  # applied, or queued while the view is unacknowledged
        elif what == "synced":
            self.transfer = None
            link.close()  # the transfer is over; forwarding goes on on its own connection
            self.node.on_backup_synced()
            self.release_upto(int(reply))

    def refused(self, reason: str, what: str, viewnum: int) -> None:
        """The backup refused a message tagged ``viewnum``: fence, or start over."""
        node = self.node
        action = node.replica.on_backup_refused(viewnum, reason)
        node.log.warning("backup %s refused %s: %s -> %s", node.replica.view.backup, what, reason, action)
        self.stop()
        if action == "fence":
            node.fence()
        else:
            self.start(delay=node.settings.ping_interval)

    def on_lost(self, link: Connection) -> None:
        if link is not self.link and link is not self.transfer:
            return
        self.node.log.warning("connection to backup %s lost", self.node.replica.view.backup)
        self.node.replica.on_backup_link_lost()
        self.stop()
        self.start(delay=self.node.settings.ping_interval)

    def check_timeouts(self) -> None:
        """A backup that does not answer for a while is as good as gone: start over."""
        limit = max(1.0, 10 * self.node.settings.ping_interval)
        stuck = self.link is not None and self.link.oldest_age() > limit
        stuck = stuck or (self.transfer is not None and self.transfer.oldest_age() > 10 * limit)
        if stuck:
            self.node.log.warning("backup %s not answering; reconnecting", self.node.replica.view.backup)
            self.node.replica.on_backup_link_lost()
            self.stop()
            self.start()

    # ------------------------------------------------------------------ connections

    def stop(self) -> None:
        current = asyncio.current_task()
        for task in (self.task, self.transfer_task):
            if task is not None and task is not current:
                task.cancel()
        self.task = self.transfer_task = None
        for link in (self.link, self.transfer):
            if link is not None:
                link.close()
        self.link = self.transfer = None

    def start(self, delay: float = 0.0) -> None:
        self.stop()
        self.view = self.node.replica.view
        self.task = asyncio.create_task(self._run(self.view, delay))

    async def _run(self, view: View, delay: float) -> None:
        node = self.node
        try:
            if delay:
                await asyncio.sleep(delay)
            while node.replica.serving and node.replica.view == view:
                try:
                    await self._resume(view)
                    return
                except (OSError, ConnectionError, asyncio.TimeoutError) as exc:
                    node.log.debug("cannot reach backup %s: %r", view.backup, exc)
                    self.stop_links()
                    await asyncio.sleep(node.settings.ping_interval)
        except Refused as exc:
            self.refused(str(exc), "resume", view.viewnum)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged, and retried
            node.log.exception("replication to %s failed", view.backup)
            self.stop_links()
            self.start(delay=node.settings.ping_interval)

    def stop_links(self) -> None:
        for link in (self.link, self.transfer):
            if link is not None:
                link.close()
        self.link = self.transfer = None

    async def _connect(self, view: View) -> Connection:
        host, port = parse_address(view.backup, "backup address")
        _, link = await asyncio.wait_for(
            asyncio.get_running_loop().create_connection(lambda: Connection(self.on_reply, self.on_lost), host, port),
            timeout=self._timeout())
        return link

    def _timeout(self) -> float:
        return max(1.0, 10 * self.node.settings.ping_interval)

    async def _resume(self, view: View) -> None:
        """Open the forward connection; after a transfer if the backup holds no state."""
        node = self.node
        hello = encode_command((b"PB.RESUME", b"%d" % view.viewnum, node.me.encode()))
        link = await self._connect(view)
        try:
            try:
                held, state = await link.request(hello, self._timeout())
            except Refused as exc:
                if not str(exc).startswith("NOTSYNCED"):
                    raise
                state = b"none"
            if state != b"synced":
                # No state, or a transfer this primary has given up on: send the state (again).
                await self._begin_transfer(view)
                held, state = await link.request(hello, self._timeout())
        except BaseException:
            link.close()
            raise
        complete = state == b"synced"  # also when the new transfer already completed
        held = int(held)
        if not (node.replica.serving and node.replica.view == view):
            link.close()
            return
        # What the backup holds needs no resending; a snapshot still on its way counts only
        # once complete, unless the view is not acknowledged yet (see the module docstring).
        if complete or node.replica.acked != view.viewnum:
            self.release_upto(held)
        self.send_batch()
        for batch_id, payload, now, _ in self.unacked:
            if batch_id > held:
                self._send(link, batch_id, payload, now)
        self.link = link
        if complete:
            node.on_backup_synced()

    async def _begin_transfer(self, view: View) -> None:
        """Snapshot the store and announce it (PB.SYNC); stream it in the background."""
        node = self.node
        transfer = await self._connect(view)
        try:
            self.send_batch()  # what ran this turn is in the snapshot
            covers = self.batch_id
            snapshot = node.store.snapshot()
            sync = encode_command((b"PB.SYNC", b"%d" % view.viewnum, node.me.encode(), b"%d" % covers))
            await transfer.request(sync, self._timeout())
        except BaseException:
            transfer.close()
            raise
        self.transfer = transfer
        node.stats["state_transfers_sent"] += 1
        self.transfer_task = asyncio.create_task(self._stream(transfer, view, snapshot))

    async def _stream(self, transfer: Connection, view: View, snapshot) -> None:
        try:
            await self._send_snapshot(transfer, view, snapshot)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged; the transfer starts over
            self.node.log.exception("state transfer to %s failed", view.backup)
            transfer.close()  # on_lost starts over

    async def _send_snapshot(self, transfer: Connection, view: View, snapshot) -> None:
        node = self.node
        vn = b"%d" % view.viewnum
        started = time.monotonic()
        node.log.info("sending %d keys to backup %s", len(snapshot.data), view.backup)
        # Each chunk is one bulk string (itself a RESP array): the backup's request parser then
        # walks three headers, not thousands, and hiredis does the rest. A few chunks in flight
        # at most: the backup must keep up with client batches too, and client traffic here goes
        # on between chunks.
        for kind, chunk in snapshot.chunks(CHUNK_PAIRS):
            if transfer.closed:
                return
            transfer.send(encode_command((kind, vn, encode_command(chunk))), "load")
            await transfer.replies_below(LOADS_IN_FLIGHT)
        if transfer.closed:
            return
        transfer.send(encode_command((b"PB.SYNCED", vn)), "synced")
        node.log.info("state sent to %s in %.2fs", view.backup, time.monotonic() - started)
