"""A fault-injecting TCP proxy for failure tests, on real loopback sockets.

A :class:`FaultProxy` listens on 127.0.0.1 and relays every connection to a target address,
byte for byte, in a background thread running its own asyncio loop. It decides, per
connection and per request, whether traffic gets through:

* ``drop_request_rate``: the chosen request is not delivered; both sides are closed instead
  (so neither it nor anything after it reaches the server).
* ``drop_reply_rate``: the chosen request is delivered, but both sides are closed at the moment
  its reply would be forwarded (the client sees a connection error after the server acted).
* ``connect_delay``: new connections wait this long before the proxy connects to the target.
* ``cut()`` closes every current connection; ``blocked = True`` also refuses new ones (a
  partition) until it is set back to False.

Request-level faults need to know where requests and replies begin and end, so both directions
go through a small incremental RESP *frame splitter* (:class:`RequestSplitter`,
:class:`ReplySplitter`): it finds frame boundaries without decoding values, skipping bulk
payloads by length, so a multi-megabyte frame costs one pass. The k-th reply on a connection
answers the k-th request (RESP3 push frames ``>`` are not counted). A stream the splitter
cannot frame is relayed raw from that point on, without request-level faults.

Knobs may be set from any thread at any time and apply to traffic that arrives afterwards.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import deque
from typing import Callable, NamedTuple

__all__ = ["FaultProxy", "Frame", "FramingError", "ReplySplitter", "RequestSplitter", "request_args"]

READ_SIZE = 256 * 1024
MAX_LINE = 1024 * 1024  # a header or inline line longer than this means "not RESP"


class FramingError(ValueError):
    """The bytes are not RESP as the splitter understands it."""


class Frame(NamedTuple):
    """One complete frame. ``counts``: a request that gets a reply / a reply that answers one."""

    data: bytes
    counts: bool


class _Splitter:
    """Shared machinery: a buffer of not-yet-framed bytes, a line finder and a payload skipper.

    Parsing state survives between :meth:`feed` calls, so every byte is examined once: bulk
    payloads are skipped by count and a line search resumes where the last one stopped.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # how far the current (incomplete) frame has been parsed
        self._scan = 0  # where to resume looking for the end of a line
        self._skip = 0  # payload bytes (incl. CRLF) still to skip

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return the frames they complete. On FramingError nothing is consumed."""
        buf = self._buf
        buf += data
        ends: list[tuple[int, bool]] = []
        pos = self._parse(buf, self._pos, ends)
        frames, start = [], 0
        for end, counts in ends:
            frames.append(Frame(bytes(buf[start:end]), counts))
            start = end
        if start:
            del buf[:start]  # O(1) amortised for a bytearray prefix
            self._scan = max(self._scan - start, 0)
        self._pos = pos - start
        return frames

    def take_all(self) -> bytes:
        """Everything buffered (an incomplete frame, or all of it after a FramingError)."""
        data = bytes(self._buf)
        self.__init__()  # the subclass's: all parsing state starts over
        return data

    def _line(self, buf: bytearray, pos: int) -> tuple[bytes, int] | None:
        """The line at ``pos`` without its line ending, and where the next one starts."""
        nl = buf.find(b"\n", max(pos, self._scan))
        if nl < 0:
            if len(buf) - pos > MAX_LINE:
                raise FramingError("line too long")
            self._scan = len(buf)
            return None
        self._scan = 0
        end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
        return bytes(buf[pos:end]), nl + 1

    def _skip_payload(self, buf: bytearray, pos: int) -> tuple[int, bool]:
        """Skip what is left of a payload; return the new position and whether it is done."""
        avail = len(buf) - pos
        if avail < self._skip:
            self._skip -= avail
            return len(buf), False
        pos += self._skip
        self._skip = 0
        return pos, True

    def _parse(self, buf: bytearray, pos: int, ends: list) -> int:
        raise NotImplementedError


def _int(text: bytes) -> int:
    try:
        return int(text)
    except ValueError:
        raise FramingError(f"bad length {text[:20]!r}") from None


class RequestSplitter(_Splitter):
    """Client-to-server bytes: multibulk frames (``*N`` then N bulk strings) or inline lines.

    Like Redis, an empty inline line and a multibulk frame of ``*0``/``*-1`` are no request
    (``counts=False``): the server does not reply to them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._left: int | None = None  # bulk strings still to read; None: at a frame start

    def _parse(self, buf, pos, ends):
        while pos < len(buf):
            if self._skip:
                pos, done = self._skip_payload(buf, pos)
                if not done:
                    break
                self._left -= 1
                if self._left == 0:
                    self._left = None
                    ends.append((pos, True))
                continue
            if (line := self._line(buf, pos)) is None:
                break
            text, pos = line
            if self._left is None:
                if text[:1] == b"*":
                    count = _int(text[1:])
                    if count <= 0:
                        ends.append((pos, False))
                    else:
                        self._left = count
                else:
                    ends.append((pos, bool(text.strip())))
            else:
                if text[:1] != b"$":
                    raise FramingError(f"expected '$', got {text[:20]!r}")
                length = _int(text[1:])
                if length < 0:
                    raise FramingError("negative bulk length in a request")
                self._skip = length + 2
        return pos


_SIMPLE = frozenset(b"+-:_,#(")  # one line each
_BULK = frozenset(b"$!=")  # length line, then payload and CRLF
_AGGREGATE = {ord("*"): 1, ord("~"): 1, ord(">"): 1, ord("%"): 2, ord("|"): 2}  # elements per count


class ReplySplitter(_Splitter):
    """Server-to-client bytes: RESP2 and RESP3 values, nested to any depth.

    An attribute (``|``) belongs to the value after it, so an attribute and its value are one
    frame. A top-level push (``>``) is a frame with ``counts=False``: it answers no request.
    """

    def __init__(self) -> None:
        super().__init__()
        self._stack: list[list] = []  # [elements still to read, is an attribute] per open aggregate
        self._push: bool | None = None  # is the current top-level value a push

    def _parse(self, buf, pos, ends):
        while pos < len(buf):
            if self._skip:
                pos, complete = self._skip_payload(buf, pos)
                if not complete:
                    break
                if self._value_done():
                    ends.append((pos, not self._push))
                    self._push = None
                continue
            if (line := self._line(buf, pos)) is None:
                break
            text, pos = line
            kind = text[0] if text else None
            if not self._stack and self._push is None and kind != ord("|"):
                self._push = kind == ord(">")
            if kind in _SIMPLE:
                complete = True
            elif kind in _BULK:
                length = _int(text[1:])
                if length < 0:  # $-1: the RESP2 null
                    complete = True
                else:
                    self._skip = length + 2
                    complete = False
            elif kind in _AGGREGATE:
                count = _int(text[1:])
                if count > 0:
                    self._stack.append([count * _AGGREGATE[kind], kind == ord("|")])
                    complete = False
                else:  # empty or null (*-1): complete, except an empty attribute annotates what follows
                    complete = kind != ord("|")
            else:
                raise FramingError(f"unknown reply type {text[:20]!r}")
            if complete and self._value_done():
                ends.append((pos, not self._push))
                self._push = None
        return pos

    def _value_done(self) -> bool:
        """A value ended: count it in its parents; True when a top-level value is complete."""
        stack = self._stack
        while stack:
            top = stack[-1]
            top[0] -= 1
            if top[0] > 0:
                return False
            stack.pop()
            if top[1]:  # an attribute ended: the value it annotates is still to come
                return False
        return True


def request_args(frame: bytes) -> list[bytes]:
    """The arguments of one request frame (for ``request_filter``s); inline: split on spaces."""
    if frame[:1] != b"*":
        return frame.split()
    args, pos = [], frame.index(b"\n") + 1
    while pos < len(frame):
        nl = frame.index(b"\n", pos)
        length = int(frame[pos + 1:nl].rstrip(b"\r"))
        args.append(frame[nl + 1:nl + 1 + length])
        pos = nl + 1 + length + 2
    return args


class _Conn:
    """One proxied connection: its two writers, its handler task, its fault dice."""

    def __init__(self, task: asyncio.Task, client: asyncio.StreamWriter, rng: random.Random):
        self.task = task
        self.client = client
        self.server: asyncio.StreamWriter | None = None
        self.rng = rng
        self.requests = self.replies = 0  # forwarded so far (replies: counting the one in hand)
        self.doomed: deque[int] = deque()  # numbers of the requests whose replies are to be dropped
        self.closed = False

    def roll(self, rate: float) -> bool:
        return rate >= 1 or (rate > 0 and self.rng.random() < rate)

    def close(self, abort: bool = False) -> None:
        """Close both sides; ``abort`` discards unsent data (RST), else it is flushed first."""
        self.closed = True
        for writer in (self.client, self.server):
            if writer is not None:
                if abort:
                    writer.transport.abort()
                else:
                    writer.close()


class FaultProxy:
    """A TCP proxy from ``127.0.0.1:listen_port`` to ``target_host:target_port`` with faults.

    ``listen_port=0`` picks a free port (see :attr:`port`). ``request_filter(frame) -> bool``,
    if set, limits request and reply drops to the requests it accepts (see :func:`request_args`);
    it runs on the proxy's thread. ``resp=False`` relays raw bytes without framing (no
    request-level faults). ``stop()`` then ``start()`` listens again on the same port.

    Reply drops assume one reply per request. Where that does not hold (a request answered by
    several replies, as after SUBSCRIBE, or several requests by one, as in a batch of frames
    acknowledged once), ``drop_reply_rate`` still drops replies at that rate, but a
    ``request_filter`` may then pick the wrong reply.
    """

    def __init__(self, listen_port: int, target_host: str, target_port: int, *, seed=None,
                 listen_host: str = "127.0.0.1", resp: bool = True):
        self.listen_host, self.port = listen_host, listen_port
        self.target_host, self.target_port = target_host, target_port
        self.resp = resp
        self.drop_request_rate = 0.0
        self.drop_reply_rate = 0.0
        self.connect_delay = 0.0
        self.request_filter: Callable[[bytes], bool] | None = None
        self.connections = 0  # total accepted
        self.requests_dropped = 0
        self.replies_dropped = 0
        self._blocked = False
        self._rng_lock = threading.Lock()
        self.seed = seed
        self._conns: set[_Conn] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None

    # ------------------------------------------------------------------ public knobs

    @property
    def addr(self) -> str:
        return f"{self.listen_host}:{self.port}"

    @property
    def active(self) -> int:
        """How many connections are open right now."""
        return len(self._conns)

    @property
    def seed(self):
        return self._seed

    @seed.setter
    def seed(self, value) -> None:
        """An int (or anything random.seed takes), or a random.Random to draw from."""
        with self._rng_lock:
            self._seed = value
            self._rng = value if isinstance(value, random.Random) else random.Random(value)

    @property
    def blocked(self) -> bool:
        return self._blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        self._blocked = bool(value)
        if self._blocked:
            self.cut()

    def cut(self) -> int:
        """Close every current connection (abruptly); return how many there were."""
        if self._loop is None:
            return 0
        future = asyncio.run_coroutine_threadsafe(self._cut_all(), self._loop)
        if threading.current_thread() is self._thread:
            return len(self._conns)  # called from a callback on the loop: cannot wait for it
        return future.result(timeout=10)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FaultProxy":
        if self._thread is not None:
            raise RuntimeError("FaultProxy already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self._main(ready))
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name=f"FaultProxy:{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread.join(10)
            raise failure[0]
        if not ready.is_set():
            raise RuntimeError("FaultProxy did not start")
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and join the thread."""
        if self._thread is None:
            return
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)
        if self._thread.is_alive():
            raise RuntimeError("FaultProxy thread did not stop")
        self._thread = self._loop = None

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ the loop thread

    async def _main(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._handle, self.listen_host, self.port, reuse_address=True)
        self.port = server.sockets[0].getsockname()[1]
        self._loop = asyncio.get_running_loop()
        ready.set()
        await self._stopping.wait()
        server.close()
        await self._cut_all()
        await server.wait_closed()

    async def _cut_all(self) -> int:
        conns = list(self._conns)
        for conn in conns:
            conn.task.cancel()
        if conns:
            await asyncio.wait([conn.task for conn in conns], timeout=5)
        return len(conns)

    def _conn_rng(self) -> random.Random:
        with self._rng_lock:  # one stream per connection: reproducible if connections arrive in order
            return random.Random(self._rng.getrandbits(64))

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = _Conn(asyncio.current_task(), c_writer, self._conn_rng())
        self._conns.add(conn)
        graceful = False
        try:
            if self._blocked:
                return
            if self.connect_delay > 0:
                await asyncio.sleep(self.connect_delay)
            s_reader, conn.server = await asyncio.open_connection(self.target_host, self.target_port)
            await asyncio.gather(self._pump(conn, c_reader, conn.server, True),
                                 self._pump(conn, s_reader, c_writer, False))
            graceful = True
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            conn.close(abort=not graceful)
            for writer in (conn.client, conn.server):
                if writer is not None:
                    try:
                        await asyncio.wait_for(writer.wait_closed(), 5)
                    except (Exception, asyncio.CancelledError):  # noqa: BLE001 - closing anyway
                        writer.transport.abort()
            self._conns.discard(conn)

    async def _pump(self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    requests: bool) -> None:
        """Relay one direction until EOF, applying request (or reply) faults frame by frame."""
        splitter = (RequestSplitter() if requests else ReplySplitter()) if self.resp else None
        try:
            while data := await reader.read(READ_SIZE):
                if conn.closed:
                    return
                if splitter is None:
                    writer.write(data)
                else:
                    try:
                        frames = splitter.feed(data)
                    except FramingError:
                        writer.write(splitter.take_all())  # not RESP: relay raw from here on
                        splitter = None
                    else:
                        out, stop = self._filter(conn, frames, requests)
                        writer.write(b"".join(out))
                        if stop:
                            conn.close()
                            return
                await writer.drain()
            if not conn.closed:  # EOF: pass on what is left, and the half-close
                if splitter is not None:
                    writer.write(splitter.take_all())
                if writer.can_write_eof():
                    writer.write_eof()
        except OSError:
            conn.close(abort=True)

    def _filter(self, conn: _Conn, frames: list[Frame], requests: bool) -> tuple[list[bytes], bool]:
        """The frames that get through, and whether the connection must close after them."""
        out = []
        for frame in frames:
            if frame.counts:
                if requests:
                    pick = self.request_filter is None or self.request_filter(frame.data)
                    if pick and conn.roll(self.drop_request_rate):
                        self.requests_dropped += 1
                        return out, True
                    conn.requests += 1
                    if pick and conn.roll(self.drop_reply_rate):
                        conn.doomed.append(conn.requests)
                else:
                    conn.replies += 1
                    while conn.doomed and conn.doomed[0] < conn.replies:
                        conn.doomed.popleft()  # more replies than requests: the mapping was off
                    if conn.doomed and conn.doomed[0] == conn.replies:
                        self.replies_dropped += 1
                        return out, True
            out.append(frame.data)
        return out, False
