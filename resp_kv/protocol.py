"""RESP2/RESP3 wire format: splitting a client's byte stream into requests, encoding replies.

Theory of operation
-------------------
A request is either a multibulk frame (``*<n>\\r\\n`` then ``n`` bulk strings) or an inline
command (one line of space-separated words, as typed in telnet). Redis decides by the first
byte of each request, and so do we.

Decoding uses ``hiredis.Reader`` on the hot path, fed only chunks that start on a request
boundary with ``*``. hiredis cannot tell where in the stream it stopped, so after a chunk we
check that the requests it returned account for every byte of it (see ``feed``). When they do
not (the chunk ends mid-request, or holds something hiredis should not have accepted), the rest
goes to the slow path: a buffer of our own, where :func:`frame_end` checks a frame's headers
against Redis's limits before hiredis parses it, and inline lines are split by
:func:`split_inline`. When the slow buffer empties, the fast path resumes.

A request cut at the end of a chunk has had its headers read by hiredis before the slow path
refuses a huge one: hiredis then reserves (calloc) but never touches room for the elements, so
the memory used stays bounded by the bytes received, and a count too big to reserve at all is
refused the same way.

Errors are raised as :class:`ProtocolError` with Redis's wording; the caller answers
``-ERR Protocol error: ...`` and closes the connection. This module does no I/O.
"""

from __future__ import annotations

import re
from itertools import chain

import hiredis

MAX_MULTIBULK_COUNT = 1024 * 1024  # Redis: more elements is "invalid multibulk length"
MAX_BULK_LENGTH = 512 * 1024 * 1024  # Redis's proto-max-bulk-len
MAX_INLINE_SIZE = 64 * 1024  # Redis's PROTO_INLINE_MAX_SIZE



class ProtocolError(Exception):
    """The client broke the protocol; the message follows Redis's ``Protocol error: ...``."""

    def __init__(self, detail: str):
        super().__init__(f"Protocol error: {detail}")


# --------------------------------------------------------------------------- decoding


def frame_end(buf: bytes | bytearray, start: int = 0) -> int | None:
    """Return the end offset of the multibulk frame at ``buf[start]``, or None if incomplete.

    Checks every header against Redis's limits as soon as the header line is complete, so a
    huge length is refused before anything is allocated for it. ``buf[start]`` must be ``*``.
    """
    pos, left = scan_frame(buf, start, None)
    return pos if left == 0 else None


def scan_frame(buf: bytes | bytearray, pos: int, left: int | None) -> tuple[int, int | None]:
    """Walk a multibulk frame's headers from ``pos``, skipping bulk payloads.

    ``left`` is how many bulk strings are still to walk (None: the ``*`` header is at ``pos``).
    Returns where the walk stopped and what is left there: ``left == 0`` means the frame ends
    at ``pos``; otherwise call again from there with more data.
    """
    if left is None:
        count, after = _header(buf, pos, b"*", MAX_MULTIBULK_COUNT, "multibulk")
        if count is None:
            return pos, None
        pos, left = after, count
    size = len(buf)
    while left:
        if pos >= size:
            break
        if buf[pos] != 0x24:  # '$'
            raise ProtocolError(f"expected '$', got '{chr(buf[pos])}'")
        length, after = _header(buf, pos, b"$", MAX_BULK_LENGTH, "bulk")
        if length is None or after + length + 2 > size:
            break
        pos, left = after + length + 2, left - 1
    return pos, left


def _header(buf, pos: int, kind: bytes, limit: int, name: str) -> tuple[int | None, int]:
    """Parse ``<kind><digits>\\r\\n`` at ``pos``; return (value, offset after it)."""
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        if len(buf) - pos > MAX_INLINE_SIZE:
            raise ProtocolError(f"too big {'mbulk' if name == 'multibulk' else 'bulk'} count string")
        return None, pos
    value = _strict_int(bytes(buf[pos + 1 : eol]))
    if name == "multibulk" and value <= 0:
        # "*0" and "*-1" are empty requests that Redis silently skips.
        if value in (0, -1):
            return 0, eol + 2
        raise ProtocolError("invalid multibulk length")
    if value < 0 or value > limit:
        raise ProtocolError(f"invalid {name} length")
    return value, eol + 2


_INTEGER = re.compile(rb"-?[1-9][0-9]{0,18}|0")


def _strict_int(text: bytes) -> int:
    """Redis's string2ll: digits, an optional '-', no leading zeros; -2 when it is not one."""
    return int(text) if _INTEGER.fullmatch(text) else -2


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline command into arguments, with Redis's quoting rules (sdssplitargs)."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \t\r\n\v\f":
            i += 1
        if i >= n:
            return args
        word = bytearray()
        quote = 0
        while True:
            if i >= n:
                if quote:
                    raise ProtocolError("unbalanced quotes in request")
                break
            c = line[i]
            if quote == 0x22:  # inside "double quotes"
                if c == 0x5C and i + 3 < n and line[i + 1] == 0x78 and _is_hex(line[i + 2 : i + 4]):
                    word.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    word += _ESCAPES.get(line[i + 1], bytes([line[i + 1]]))
                    i += 1
                elif c == 0x22:
                    i = _closing_quote(line, i)
                    break
                else:
                    word.append(c)
            elif quote == 0x27:  # inside 'single quotes'
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    word.append(0x27)
                    i += 1
                elif c == 0x27:
                    i = _closing_quote(line, i)
                    break
                else:
                    word.append(c)
            elif c in b" \t\r\n\v\f":
                break
            elif c in (0x22, 0x27):
                quote = c
            else:
                word.append(c)
            i += 1
        args.append(bytes(word))


class _Unexpected(Exception):
    """hiredis returned something no request can be (a status, an integer, ...)."""


def _closing_quote(line: bytes, i: int) -> int:
    """A closing quote at ``i`` must end the word; return where the next word may start."""
    if i + 1 < len(line) and line[i + 1] not in b" \t\r\n\v\f":
        raise ProtocolError("unbalanced quotes in request")
    return i + 1


def _is_hex(two: bytes) -> bool:
    return len(two) == 2 and all(ch in b"0123456789abcdefABCDEF" for ch in two)


class RequestParser:
    """Turns the bytes of one connection into requests (each a list of bytes arguments).

    ``feed(data)`` returns the complete requests found so far; ``exact`` then says whether
    ``data`` was precisely those requests, canonically encoded. A protocol violation raises
    :class:`ProtocolError` carrying the requests that came before it (``.requests``), so the
    caller can answer those first, as Redis does.
    """

    __slots__ = ("_reader", "_slow", "_walk", "exact")

    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._slow: bytearray | None = None  # set while on the slow path
        self._walk: tuple[int, int | None] | None = None  # how far the frame at _slow[0] was checked
        # True when the last chunk fed held exactly the requests returned, canonically
        # encoded: the chunk itself can then stand for them (pbd forwards it as it is).
        self.exact = False

    def feed(self, data: bytes) -> list[list[bytes]]:
        self.exact = False
        if self._slow is not None:
            self._slow += data
            return self._drain_slow([])
        if not data:
            return []
        if data[0] != 0x2A:
            self._slow = bytearray(data)
            return self._drain_slow([])
        reader = self._reader
        reader.feed(data)
        requests: list[list[bytes]] = []
        empty = 0  # frames "*0" / "*-1": nothing to run, but bytes to account for
        empty_size = 0
        try:
            while (req := reader.gets()) is not False:
                if req.__class__ is list and req:
                    requests.append(req)
                elif req is None or req == []:
                    empty += 1
                    empty_size += 5 if req is None else 4
                else:
                    raise _Unexpected
        except (hiredis.ProtocolError, MemoryError, _Unexpected):
            return self._resume_slow(data, 0, [])  # parse the whole chunk again, carefully
        args = list(chain.from_iterable(requests))
        if args and set(map(type, args)) != {bytes}:
            return self._resume_slow(data, 0, [])
        # hiredis cannot say whether it holds half a frame. It does not exactly when the frames
        # it returned account for every byte: a frame is never shorter than its canonical
        # encoding, so the sizes can only add up to len(data) when nothing is left over.
        lengths = tuple(map(len, args))
        size = (empty_size + sum(lengths) + 2 * len(lengths) + len(b"$%d\r\n" * len(lengths) % lengths)
                + len(b"*%d\r\n" * len(requests) % tuple(map(len, requests))))
        if size != len(data):
            return self._resume_slow(data, len(requests) + empty, requests)
        self.exact = True
        return requests

    def _resume_slow(self, data: bytes, frames: int, requests: list[list[bytes]]) -> list[list[bytes]]:
        """hiredis stopped mid-chunk: skip the frames it parsed, and go on on the slow path."""
        self._reader = hiredis.Reader()
        pos = 0
        for _ in range(frames):
            pos = frame_end(data, pos)  # hiredis parsed these, so they are complete
        self._slow = bytearray(data[pos:])
        return self._drain_slow(requests)

    def _drain_slow(self, requests: list[list[bytes]]) -> list[list[bytes]]:
        buf = self._slow
        pos = 0
        try:
            while pos < len(buf):
                if buf[pos] == 0x2A:  # '*'
                    end, left = scan_frame(buf, *(self._walk or (pos, None)))
                    if left != 0:
                        self._walk = (end - pos, left)  # the frame will start at 0 next time
                        break
                    self._walk = None
                    self._reader.feed(bytes(buf[pos:end]))
                    try:
                        req = self._reader.gets()
                    except hiredis.ProtocolError as exc:  # checked above; kept as a safety net
                        raise ProtocolError(str(exc).lower()) from None
                    pos = end
                    if req:  # "*0" and "*-1" give [] and None: nothing to run
                        requests.append(req)
                else:
                    eol = buf.find(b"\n", pos)
                    if eol < 0:
                        if len(buf) - pos > MAX_INLINE_SIZE:
                            raise ProtocolError("too big inline request")
                        break
                    args = split_inline(bytes(buf[pos:eol]))
                    pos = eol + 1
                    if args:
                        requests.append(args)
        except ProtocolError as exc:
            exc.requests = requests
            self._slow, self._walk = bytearray(), None
            raise
        del buf[:pos]
        if not buf:
            self._slow = None
        return requests


# --------------------------------------------------------------------------- encoding


class Status(str):
    """A simple-string reply: ``+OK``."""

    __slots__ = ()


class Error(str):
    """An error reply: ``-ERR ...``. The text starts with its prefix (ERR, READONLY, ...)."""

    __slots__ = ()


class _NullArray:
    """Redis's null array (``*-1`` in RESP2, ``_`` in RESP3)."""

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()

OK = Status("OK")
OK_REPLY = b"+OK\r\n"
NULL_BULK = b"$-1\r\n"
NULL_RESP3 = b"_\r\n"


def encode(value, resp3: bool = False) -> bytes:
    """Encode one reply value. bytes/str are bulk strings; see the classes above for the rest."""
    if value.__class__ is bytes:
        return b"$%d\r\n%b\r\n" % (len(value), value)
    if value is OK:
        return OK_REPLY
    if value is None:
        return NULL_RESP3 if resp3 else NULL_BULK
    out: list[bytes] = []
    _encode_into(out, value, resp3)
    return b"".join(out)


def _encode_into(out: list[bytes], value, resp3: bool) -> None:
    cls = value.__class__
    if cls is bytes:
        out.append(b"$%d\r\n%b\r\n" % (len(value), value))
    elif cls is Status:
        out.append(b"+%b\r\n" % value.encode())
    elif cls is Error:
        out.append(b"-%b\r\n" % value.replace("\r", " ").replace("\n", " ").encode())
    elif value is None:
        out.append(NULL_RESP3 if resp3 else NULL_BULK)
    elif value is NULL_ARRAY:
        out.append(NULL_RESP3 if resp3 else b"*-1\r\n")
    elif cls is bool:
        out.append((b"#t\r\n" if value else b"#f\r\n") if resp3 else (b":1\r\n" if value else b":0\r\n"))
    elif cls is int:
        out.append(b":%d\r\n" % value)
    elif cls is str:
        raw = value.encode()
        out.append(b"$%d\r\n%b\r\n" % (len(raw), raw))
    elif cls is float:
        if resp3:
            out.append(b",%b\r\n" % repr(value).encode())
        else:
            _encode_into(out, repr(value), resp3)
    elif cls is list or cls is tuple:
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            _encode_into(out, item, resp3)
    elif cls is dict:
        out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(value) if resp3 else 2 * len(value)))
        for key, item in value.items():
            _encode_into(out, key, resp3)
            _encode_into(out, item, resp3)
    elif cls is set or cls is frozenset:
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value))
        for item in value:
            _encode_into(out, item, resp3)
    else:
        raise TypeError(f"cannot encode {cls.__name__} as a RESP reply")


def encode_command(args) -> bytes:
    """Encode a request as a multibulk frame (what a client sends)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if arg.__class__ is not bytes:
            arg = str(arg).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(out)


def decode_reply(raw: bytes):
    """The inverse of :func:`encode` for one RESP2 reply (used for replies kept in the
    exactly-once table): Status and Error keep their types, the rest comes from hiredis."""
    if raw[:1] == b"+":
        return Status(raw[1:-2].decode())
    if raw[:1] == b"-":
        return Error(raw[1:-2].decode())
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()
