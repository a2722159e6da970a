"""One outgoing RESP connection (asyncio.Protocol + hiredis), pipelined: requests go out as
they come, replies come back in the same order. pbd uses it for its link into the backup
(every reply handed to a callback) and for viewd (``call``: one reply awaited, with a timeout).

A peer never raises into the event loop: a lost connection is reported once, through
``on_lost``, and fails whatever still awaits a reply. It decides nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import hiredis

from .daemon import parse_address
from .peerauth import prove
from .protocol import encode_command


class Peer(asyncio.Protocol):
    """A connection to a RESP server; see the module docstring."""

    def __init__(self, on_reply: Callable | None = None, on_lost: Callable | None = None):
        self.on_reply = on_reply  # (reply) for messages sent with send()
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader()
        self.waiting: deque = deque()  # a future per call(), None per send(), in send order
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, message: list[bytes]) -> None:
        """Send an encoded request (its parts, in order); its reply goes to ``on_reply``."""
        if not self.closed:
            self.waiting.append(None)
            self.transport.writelines(message)

    async def call(self, *args, timeout: float):
        """Send a request and return its reply (a hiredis.ReplyError is returned, not raised)."""
        if self.closed:
            raise ConnectionError("connection closed")
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        self.transport.write(encode_command(args))
        return await asyncio.wait_for(future, timeout)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                if not self.waiting:
                    raise hiredis.ProtocolError("a reply nobody asked for")
                future = self.waiting.popleft()
                if future is None:
                    self.on_reply(reply)
                elif not future.done():
                    future.set_result(reply)
                if self.closed:
                    return
        except hiredis.ProtocolError:
            self.close()

    def connection_lost(self, exc) -> None:
        self.closed = True
        for future in self.waiting:
            if future is not None and not future.done():
                future.set_exception(ConnectionError("connection lost"))
        self.waiting.clear()
        if self.on_lost is not None:
            on_lost, self.on_lost = self.on_lost, None
            on_lost()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


async def connect(address: str, timeout: float, on_reply=None, on_lost=None, tls=None) -> Peer:
    """Open a connection to ``HOST:PORT`` (over TLS with the ``tls`` client context); raises
    OSError/TimeoutError/UsageError on failure."""
    host, port = parse_address(address)
    _, peer = await asyncio.wait_for(
        asyncio.get_running_loop().create_connection(lambda: Peer(on_reply, on_lost), host, port, ssl=tls),
        timeout)
    return peer


async def open_proven(address: str, timeout: float, proof: tuple[bytes, str] | None,
                      on_reply=None, on_lost=None, tls=None) -> Peer:
    """``connect``, then prove the cluster secret as the server ``me`` if ``proof`` is
    (secret, me); the connection is closed again if the proof fails."""
    peer = await connect(address, timeout, on_reply, on_lost, tls)
    if proof is not None:
        try:
            await prove(peer, proof[0], proof[1], timeout)
        except BaseException:
            peer.on_lost = None
            peer.close()
            raise
    return peer


class Caller:
    """Request/reply to one server over a connection opened on demand and reopened after a
    failure (pbd's connection to viewd), proving the cluster secret on each new one."""

    def __init__(self, address: str, timeout: float, proof: tuple[bytes, str] | None = None, tls=None):
        parse_address(address, "--viewd address")  # fail early on a malformed one
        self.address = address
        self.timeout = timeout
        self.proof = proof
        self.tls = tls
        self.peer: Peer | None = None

    async def call(self, *args):
        """The reply; a refusal raises ConnectionError, as does any failure to get one."""
        try:
            if self.peer is None or self.peer.closed:
                self.peer = await open_proven(self.address, self.timeout, self.proof, tls=self.tls)
            reply = await self.peer.call(*args, timeout=self.timeout)
        except BaseException:
            self.close()
            raise
        if isinstance(reply, hiredis.ReplyError):
            raise ConnectionError(f"{self.address} refused: {reply}")
        return reply

    def close(self) -> None:
        if self.peer is not None:
            self.peer.close()
            self.peer = None


class Links:
    """Numbered connections opened on request (a primary's links into its backup), each proving
    the cluster secret first: each one's coming up, replies and loss are reported with its number."""

    def __init__(self, timeout: float, on_up: Callable, on_reply: Callable, on_lost: Callable,
                 proof: tuple[bytes, str] | None = None, tls=None):
        self.timeout = timeout
        self.proof = proof
        self.tls = tls
        self.on_up, self.on_reply, self.on_lost = on_up, on_reply, on_lost
        self.open: dict[int, Peer | asyncio.Task] = {}  # link -> its connection (or the attempt)

    def connect(self, link: int, address: str) -> None:
        self.open[link] = asyncio.create_task(self._connect(link, address))

    async def _connect(self, link: int, address: str) -> None:
        try:
            peer = await open_proven(address, self.timeout, self.proof,
                                     on_reply=lambda reply: self.on_reply(link, reply), on_lost=lambda: self._lost(link),
                                     tls=self.tls)
        except (OSError, asyncio.TimeoutError, ValueError):
            self._lost(link)
        else:
            self.open[link] = peer
            self.on_up(link)

    def _lost(self, link: int) -> None:
        self.open.pop(link, None)
        self.on_lost(link)

    def send(self, link: int, message: list[bytes]) -> None:
        """Send on an open link; a link not (or no longer) open takes nothing."""
        peer = self.open.get(link)
        if peer.__class__ is Peer:
            peer.send(message)

    def close(self, link: int) -> None:
        """Close a link (or give up opening it); nothing more is reported about it."""
        conn = self.open.pop(link, None)
        if conn.__class__ is Peer:
            conn.on_lost = None
            conn.close()
        elif conn is not None:
            conn.cancel()

    def close_all(self) -> None:
        for link in list(self.open):
            self.close(link)
