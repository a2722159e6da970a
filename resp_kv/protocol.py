"""RESP2/RESP3 wire format: splitting a client's byte stream into requests, encoding replies.

Theory of operation
-------------------
A request is either a multibulk frame (``*<n>\\r\\n`` then ``n`` bulk strings) or an inline
command (one line of space-separated words, as typed in telnet). Redis decides by the first
byte of each request, and so do we. The reference is Redis 7.0's ``processMultibulkBuffer``
and ``processInlineBuffer`` (src/networking.c): the same bytes give the same requests, and the
same malformed bytes the same ``-ERR Protocol error: ...`` at the same point.

Two paths share the work:

* The **fast path** hands a chunk that starts on a request boundary with ``*`` to
  ``hiredis.Reader`` whole, then proves the result: the chunk must be byte for byte the
  canonical encoding of the frames hiredis returned (``*<n>\\r\\n`` and
  ``$<len>\\r\\n<arg>\\r\\n`` only). hiredis parses replies, not requests: it accepts
  ``+``, ``=``, ``(`` or ``:`` elements, ``~`` and ``|`` frames, ``$-1``, which Redis refuses or
  reads as inline commands. A chunk of one frame is compared with its encoding; a pipeline is
  proved by sizes (see ``_exact``); anything else by building the encoding (``_prove``). Only a
  proved chunk sets ``exact``, which lets pbd forward the client's bytes as they came. What is
  not proved (the chunk ends mid-frame, or holds anything non-canonical) goes, from the end of
  the proved prefix, to the slow path.
* The **slow path** is a transcription of Redis's two functions over a buffer of our own. It
  grows a multibulk request one element at a time, as the bytes arrive, as Redis grows its
  argv: a header's count or length costs nothing until its bytes are there.

hiredis, though, reserves room for an aggregate's elements the moment it reads the header: a
list of ``n`` pointers, calloc'ed, that freeing (and the garbage collector) walks again;
``*2147483648\\r\\n`` alone stalled the process for 8.7 s. So a chunk in which an aggregate
header (``*``, ``~``, ``>`` or ``|``) could have five digits or more never reaches hiredis (see
``_after``: the scan costs a ``find`` per ``*``, not a look at every byte, and a chunk of
values has few); it takes the slow path, where Redis's limits apply: a multibulk count up to
INT_MAX, a bulk length up to proto-max-bulk-len, 64 KB for a header or an inline line still
without its end. (Before AUTH, Redis 7.0 allows a count of 10 and a length of 16384, else
"unauthenticated multibulk length" / "unauthenticated bulk length"; every client counts as
authenticated here.) hiredis reserves nothing for a bulk string's header: it waits for the
whole string.

Errors are raised as :class:`ProtocolError`, carrying Redis's exact reply (``.reply``) and the
requests that came before the error (``.requests``); the caller runs those, answers the error
and closes the connection. The parser ignores whatever arrives after. This module does no I/O.
"""

from __future__ import annotations

import re
from itertools import chain

import hiredis

MAX_MULTIBULK_COUNT = 2**31 - 1  # Redis 7.0: INT_MAX, once authenticated (10 before AUTH)
MAX_BULK_LENGTH = 512 * 1024 * 1024  # the default of Redis's proto-max-bulk-len
MAX_INLINE_SIZE = 64 * 1024  # Redis's PROTO_INLINE_MAX_SIZE: a header or inline line without its end
_LLONG_MIN, _LLONG_MAX = -(2**63), 2**63 - 1

# hiredis reserves room for an aggregate's elements when it reads the header. An array ("*"),
# set ("~"), push (">") or attribute ("|") header of five digits or more must never reach it:
# reserving and freeing 9999 elements takes 10 us, 99999 70 us, 9999999 19 ms, 268435456 0.5 s
# (more when the garbage collector walks them meanwhile). Such a chunk takes the slow path;
# legitimate requests of 10000 arguments and more are rare, and are served there.
#
# What the cheap proof of a chunk (RequestParser._exact) cannot see: a verbatim string ("=",
# longer than its canonical form), a set or an attribute frame ("~", "|": hiredis returns lists
# for them). Each needs a digit after its type byte; a chunk with one is proved the long way.
_LIST, _BYTES = {list}, {bytes}

# A count or length -> the size of its header ("*3\r\n", "$3\r\n"): below 65536 in
# _HEADERS, below 256 in _SHORT_HEADERS (a bytes.translate table).
_HEADERS = bytes(3 + len(str(i)) for i in range(65536))
_SHORT_HEADERS = _HEADERS[:256]

_SCANS = {(marker, digits): re.compile(re.escape(marker) + b"[0-9]{%d}" % digits).search
          for marker in (b"*", b"~", b">", b"|", b"=") for digits in (1, 5)}


def _after(data: bytes, marker: bytes, digits: int) -> bool:
    """Whether ``marker`` occurs in ``data`` followed by ``digits`` digits (1 or 5).

    Conservative: for five, digits 2 and 5 bytes on count (a canonical ``*3\\r\\n$3`` does not).
    Each ``marker`` is found with ``find`` (memchr) and looked at: the cost follows the markers,
    not the bytes, which suits chunks of values. Where markers are dense (one every 300 bytes
    or less, when a ``find`` and a look cost about what a regular expression spends on the
    bytes between), a regular expression (about 1 ns a byte) scans the rest.
    """
    find = data.find
    last = len(data) - 1 - digits  # a marker past this has no room for its digits and a CR
    i = find(marker)
    n = 0
    while 0 <= i <= last:
        if 47 < data[i + 1 if digits == 1 else i + 2] < 58 and 47 < data[i + digits] < 58:
            return True
        n += 1
        if n > 1 and n * 300 > i:
            return _SCANS[marker, digits](data, i + 1) is not None
        i = find(marker, i + 1)
    return False


def _big_array(data: bytes) -> bool:
    """Whether hiredis could read a ``*`` header of five digits or more in ``data`` (a short
    chunk, a pipeline of small requests, is scanned at once)."""
    if len(data) <= 2048:
        return _SCANS[b"*", 5](data) is not None
    return _after(data, b"*", 5)


class ProtocolError(Exception):
    """The client broke the protocol: Redis's ``Protocol error: ...``.

    ``reply`` is the exact error reply (bytes: Redis may echo a raw byte), ``requests`` the
    complete requests that came before the error in the stream, to be run first.
    """

    def __init__(self, detail: bytes | str):
        if detail.__class__ is str:
            detail = detail.encode()
        super().__init__("Protocol error: " + detail.decode("latin-1"))
        self.reply = b"-ERR Protocol error: %b\r\n" % detail
        self.requests: list[list[bytes]] = []


# --------------------------------------------------------------------------- decoding


_INTEGER = re.compile(rb"-?[1-9][0-9]{0,18}|0")


def _string2ll(text) -> int | None:
    """Redis's string2ll: an optional '-', digits without a leading zero, within a long long."""
    if _INTEGER.fullmatch(text) is None:
        return None
    value = int(text)
    return value if _LLONG_MIN <= value <= _LLONG_MAX else None


def _strchr(buf: bytearray, pos: int, char: bytes) -> int:
    """C's ``strchr(buf + pos, char)`` on Redis's NUL-terminated query buffer: the offset of
    the first ``char`` from ``pos``, or -1 when there is none or a NUL byte comes first."""
    found = buf.find(char, pos)
    if found > pos and buf.find(b"\0", pos, found) >= 0:
        return -1
    return found


_SPACE = b" \t\n\v\f\r"  # C's isspace: what is skipped between words, and may follow a quote
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline command into arguments, with Redis's quoting rules (sdssplitargs).

    Outside quotes a word ends only at a space, tab, CR or LF (a vertical tab or form feed is
    part of it), although all six of C's isspace are skipped between words."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
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
            elif c in b" \t\r\n":
                break
            elif c in (0x22, 0x27):
                quote = c
            else:
                word.append(c)
            i += 1
        args.append(bytes(word))


def _closing_quote(line: bytes, i: int) -> int:
    """A closing quote at ``i`` must end the word; return where the next word may start."""
    if i + 1 < len(line) and line[i + 1] not in _SPACE:
        raise ProtocolError("unbalanced quotes in request")
    return i + 1


def _is_hex(two: bytes) -> bool:
    return len(two) == 2 and all(ch in b"0123456789abcdefABCDEF" for ch in two)


def _copy(buf: bytearray, pos: int, length: int) -> bytes:
    """``bytes(buf[pos:pos + length])`` with one copy instead of two (for large values)."""
    with memoryview(buf) as view:
        return bytes(view[pos : pos + length])


class _FrameFormats(dict):
    """n -> the %-format of a canonical n-argument frame, for ``fmt % (len1, arg1, ...)``."""

    def __missing__(self, n: int) -> bytes:
        fmt = b"*%d\r\n" % n + b"$%d\r\n%b\r\n" * n
        if n <= 1024:
            self[n] = fmt
        return fmt


_FRAME_FORMATS = _FrameFormats()


def _canonical(frames: list) -> bytes:
    """The canonical encoding of ``frames``; TypeError unless each is a list of bytes."""
    fmt = b"".join(map(_FRAME_FORMATS.__getitem__, map(len, frames)))
    args = list(chain.from_iterable(frames))
    return fmt % tuple(chain.from_iterable(zip(map(len, args), args)))


class Pieces(list):
    """A large bulk string as it arrived, in pieces: :func:`join_large` makes it one."""


def join_large(requests: list[list]) -> list[list[bytes]]:
    """Join the :class:`Pieces` in ``requests``, in place: one copy each, during which other
    threads run (``bytes.join`` lets go of the GIL for large strings)."""
    for args in requests:
        for i, arg in enumerate(args):
            if arg.__class__ is Pieces:
                args[i] = b"".join(arg)
    return requests


class RequestParser:
    """Turns the bytes of one connection into requests (each a list of bytes arguments).

    ``feed(data)`` returns the complete requests found so far; ``exact`` then says whether
    ``data`` was precisely those requests, canonically encoded (pbd then forwards ``data``
    itself). A protocol violation raises :class:`ProtocolError`, carrying the requests that
    came before it; the parser ignores everything fed after that.

    ``max_bulk_len`` is Redis's proto-max-bulk-len: a longer bulk string is refused from its
    header, before any of it is buffered.

    A bulk string of ``BIG`` bytes or more is kept as it came, in pieces (:class:`Pieces`, in
    the request where the string goes); ``large`` then says the requests hold one, and the
    caller joins them (:func:`join_large`), off the event loop if it likes.
    """

    __slots__ = ("_reader", "_buf", "_args", "_left", "_bulk", "_failed", "_pieces", "_missing", "_skip",
                 "max_bulk_len", "exact", "large")

    def __init__(self, max_bulk_len: int = MAX_BULK_LENGTH) -> None:
        self.max_bulk_len = max_bulk_len
        self._reader = hiredis.Reader()
        self._buf: bytearray | None = None  # set while on the slow path: the bytes not parsed yet
        self._args: list[bytes] | None = None  # the multibulk request being read (slow path)
        self._left = 0  # how many of its bulk strings are still to come
        self._bulk = -1  # the length of the next one, once its header is read (else -1)
        self._failed = False  # a protocol error was raised: ignore the rest
        self._pieces: list[bytes] | None = None  # a large bulk string being received, as it came
        self._missing = 0  # how many of its bytes are still to come
        self._skip = 0  # and how many of the two bytes after it
        self.exact = False
        self.large = False

    def feed(self, data: bytes) -> list[list[bytes]]:
        self.exact = self.large = False
        if self._pieces is not None:
            return self._feed_large(data)
        if self._buf is not None:
            if self._failed:
                return []
            self._buf += data
            return self._drain([])
        if not data:
            return []
        if data[0] != 0x2A:  # an inline command
            self._buf = bytearray(data)
            return self._drain([])
        tilde, bar = 0x7E in data, 0x7C in data  # "~", "|"
        if (_big_array(data) or (0x3E in data and _after(data, b">", 5))
                or (tilde and _after(data, b"~", 5)) or (bar and _after(data, b"|", 5))):
            self._buf = bytearray(data)  # hiredis would reserve room for a huge aggregate
            return self._drain([])
        reader = self._reader
        reader.feed(data)
        frames: list = []
        try:
            while (frame := reader.gets()) is not False:
                frames.append(frame)
        except Exception:  # noqa: BLE001 - hiredis's errors, and Python's (a list as a map key ...)
            return self._resume_slow(data, 0, [])  # the slow path finds the error, and what precedes it
        if len(frames) == 1:  # one request, the usual chunk: compare it with its encoding
            frame = frames[0]
            try:
                if _FRAME_FORMATS[len(frame)] % tuple(chain.from_iterable(zip(map(len, frame), frame))) == data:
                    self.exact = True
                    return frames if frame else []
            except TypeError:  # not a list of bytes
                pass
        elif (frames and not ((0x3D in data and _after(data, b"=", 1)) or (tilde and _after(data, b"~", 1))
                              or (bar and _after(data, b"|", 1)))
                and self._exact(frames, data)):
            self.exact = True
            return frames if all(frames) else [frame for frame in frames if frame]  # "*0"
        return self._prove(frames, data)

    def _prove(self, frames: list, data: bytes) -> list[list[bytes]]:
        """The general case: keep the frames whose canonical encoding begins ``data``."""
        try:
            canonical = _canonical(frames)
        except TypeError:  # something other than lists of bytes: prove nothing
            return self._resume_slow(data, 0, [])
        if canonical == data:  # (then hiredis used every byte, but it may hold the probe)
            self._reader = hiredis.Reader()
            self.exact = True
            return frames if all(frames) else [frame for frame in frames if frame]
        if data.startswith(canonical):  # hiredis parsed exactly these bytes: skip them
            return self._resume_slow(data, len(canonical), [frame for frame in frames if frame])
        return self._resume_slow(data, 0, [])

    def _exact(self, frames: list, data: bytes) -> bool:
        """Whether ``data`` is exactly ``frames`` (two or more), canonically encoded, proved
        without building that encoding, when ``data`` holds no ``=``, ``~`` or ``|`` followed by
        a digit.

        hiredis read every header with canonical digits (its string2ll is Redis's). If the frames
        are lists of bytes, each came from a ``*`` frame (no ``~`` or ``|`` here), and each
        element from a ``$`` string (exactly its canonical size) or a ``+`` or ``(`` line
        (shorter; no ``=`` here, the only longer kind). So when hiredis used every byte and the
        canonical sizes add up to ``len(data)``, every element is a ``$`` string. (The two bytes
        after a string are skipped unread by Redis and hiredis alike: they need not be CRLF.)
        """
        if set(map(type, frames)) != _LIST:
            return False
        args = list(chain.from_iterable(frames))
        try:
            size = len(b"".join(args)) + 2 * len(args)  # TypeError unless all are bytes
            lengths = map(len, chain(frames, args))  # the counts, then the lengths
            if len(data) <= 96 * len(args):  # short strings: their header sizes by bytes.translate
                size += sum(bytes(lengths).translate(_SHORT_HEADERS))  # ValueError from 256 on
            else:
                size += sum(map(_HEADERS.__getitem__, lengths))  # IndexError from 65536 on
        except (TypeError, ValueError, IndexError):
            return False  # not a list of bytes, or long strings: let _canonical decide
        if size != len(data):
            return False
        # Did hiredis use every byte? Only if it is between frames, where "*0" is a frame of its own.
        reader = self._reader
        reader.feed(b"*0\r\n")
        try:
            probe = reader.gets()
        except Exception:  # noqa: BLE001 - it was inside a line, or the like: not between frames
            return False
        return probe == [] and probe.__class__ is list

    def buffered(self) -> int:
        """Bytes received and not yet handed out as requests (Redis's ``qbuf``)."""
        held = self._reader.len() + (len(self._buf) if self._buf is not None else 0)
        return held + (sum(map(len, self._pieces)) if self._pieces is not None else 0)

    def _feed_large(self, data: bytes) -> list[list[bytes]]:
        """More of a large bulk string: kept as it came; once complete, on as usual."""
        take = min(len(data), self._missing)
        if take:
            self._pieces.append(data if take == len(data) else data[:take])
            self._missing -= take
        skip = min(len(data) - take, self._skip)  # the two bytes after it: skipped, unchecked
        self._skip -= skip
        if self._missing or self._skip:
            return []
        args = self._args
        args.append(Pieces(self._pieces))
        self.large = True
        self._pieces, self._bulk = None, -1
        self._left -= 1
        requests = []
        if not self._left:
            requests.append(args)
            self._args = None
        self._buf = bytearray(memoryview(data)[take + skip :])
        return self._drain(requests)

    def _resume_slow(self, data: bytes, start: int, requests: list[list[bytes]]) -> list[list[bytes]]:
        """Continue at ``data[start]`` on the slow path (hiredis's state is dropped)."""
        self._reader = hiredis.Reader()
        self._buf = bytearray(memoryview(data)[start:])
        return self._drain(requests)

    def _drain(self, requests: list[list[bytes]]) -> list[list[bytes]]:
        """Redis's processInputBuffer over ``self._buf``: parse every request it completes."""
        buf = self._buf
        size = len(buf)
        pos = 0
        try:
            while pos < size:
                args = self._args
                if args is None:  # a request starts at pos
                    if buf[pos] != 0x2A:  # '*': multibulk; anything else: inline
                        eol = buf.find(b"\n", pos)  # _strchr, inlined for telnet's sake
                        if eol >= 0:
                            line = bytes(buf[pos : eol - 1 if eol > pos and buf[eol - 1] == 0x0D else eol])
                            if 0 in line:  # a NUL before the LF: C's strchr never finds it
                                eol = -1
                        if eol < 0:
                            if size - pos > MAX_INLINE_SIZE:
                                raise ProtocolError("too big inline request")
                            break
                        args = split_inline(line)
                        pos = eol + 1
                        if args:
                            requests.append(args)
                        continue
                    cr = _strchr(buf, pos, b"\r")
                    if cr < 0:
                        if size - pos > MAX_INLINE_SIZE:
                            raise ProtocolError("too big mbulk count string")
                        break
                    if cr > size - 2:  # Redis wants the byte after '\r' (and never looks at it)
                        break
                    count = _string2ll(buf[pos + 1 : cr])
                    if count is None or count > MAX_MULTIBULK_COUNT:
                        raise ProtocolError("invalid multibulk length")
                    pos = cr + 2
                    if count <= 0:  # "*0", "*-1", "*-5": an empty request, skipped
                        continue
                    self._args = args = []
                    self._left, self._bulk = count, -1
                left, bulk = self._left, self._bulk
                while left:
                    if bulk < 0:
                        cr = _strchr(buf, pos, b"\r")
                        if cr < 0:
                            if size - pos > MAX_INLINE_SIZE:
                                raise ProtocolError("too big bulk count string")
                            break
                        if cr > size - 2:
                            break
                        if buf[pos] != 0x24:  # '$'
                            got = buf[pos]
                            raise ProtocolError(b"expected '$', got '%c'" % (32 if got in b"\r\n" else got))
                        bulk = _string2ll(buf[pos + 1 : cr])
                        if bulk is None or bulk < 0 or bulk > self.max_bulk_len:
                            raise ProtocolError("invalid bulk length")
                        pos = cr + 2
                    if size - pos < bulk + 2:  # the 2 bytes after it are skipped, unchecked
                        if bulk >= BIG:  # collect the rest as it comes, without growing buf
                            have = min(size - pos, bulk)
                            self._pieces = [_copy(buf, pos, have)]
                            self._missing, self._skip = bulk - have, 2 - (size - pos - have)
                            pos = size
                        break
                    args.append(bytes(buf[pos : pos + bulk]) if bulk < 65536 else _copy(buf, pos, bulk))
                    pos += bulk + 2
                    bulk = -1
                    left -= 1
                self._left, self._bulk = left, bulk
                if left:
                    break
                requests.append(args)
                self._args = None
        except ProtocolError as exc:
            exc.requests = requests
            self._failed = True
            self._buf, self._args = bytearray(), None
            raise
        del buf[:pos]
        if not buf and self._args is None:
            self._buf = None  # on a request boundary with nothing left: back to the fast path
        return requests


# --------------------------------------------------------------------------- encoding


class Status(str):
    """A simple-string reply: ``+OK``."""

    __slots__ = ()


def c_string(raw: bytes, limit: int | None = None) -> str:
    """A request's bytes as Redis prints them in a reply (``%s``, ``%.Ns``: up to the first NUL
    byte, at most ``limit`` bytes), for an :class:`Error`'s text, byte for byte."""
    raw = raw.split(b"\0", 1)[0]
    return (raw if limit is None else raw[:limit]).decode("utf-8", "surrogateescape")


class Error(str):
    """An error reply: ``-ERR ...``. The text starts with its prefix (ERR, READONLY, ...);
    bytes from a request in it are kept as they were (see :func:`c_string`)."""

    __slots__ = ()


class Push(list):
    """An out-of-band message (pub/sub): a RESP3 push (``>``), an array in RESP2."""

    __slots__ = ()


class BigNumber(bytes):
    """A RESP3 big number (``(``), a bulk string in RESP2."""

    __slots__ = ()


class Verbatim(bytes):
    """A RESP3 verbatim string (``=``, ``fmt:text``), the text as a bulk string in RESP2."""

    __slots__ = ()


class Pairs(list):
    """(a, b) pairs: in RESP3 an array of 2-element arrays (HRANDFIELD ... WITHVALUES, ZRANGE ...
    WITHSCORES), in RESP2 one flat array."""

    __slots__ = ()


class HumanDouble(bytes):
    """A number as Redis's addReplyHumanLongDouble sends it (GEOPOS): its text, a RESP3 double
    (``,``), a bulk string in RESP2."""

    __slots__ = ()


class OrderedSet(list):
    """A set reply whose order is fixed (COMMAND INFO's flags): in RESP3 a set, in RESP2 an array."""

    __slots__ = ()


class Replies(list):
    """Several replies to one request, back to back (SUBSCRIBE a b: one per channel)."""

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


_INFINITIES = (float("inf"), float("-inf"))


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
        out.append(b"-%b\r\n" % value.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogateescape"))
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
    elif cls is float:  # Redis's addReplyDouble: %.17g; inf and -inf spelled out
        text = (b"inf" if value > 0 else b"-inf") if value in _INFINITIES else b"%.17g" % value
        out.append(b",%b\r\n" % text if resp3 else b"$%d\r\n%b\r\n" % (len(text), text))
    elif cls is list or cls is tuple:
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            _encode_into(out, item, resp3)
    elif cls is HumanDouble:
        out.append(b",%b\r\n" % value if resp3 else b"$%d\r\n%b\r\n" % (len(value), value))
    elif cls is BigNumber:
        out.append(b"(%b\r\n" % value if resp3 else b"$%d\r\n%b\r\n" % (len(value), value))
    elif cls is Verbatim:
        if resp3:
            out.append(b"=%d\r\n%b\r\n" % (len(value), value))
        else:
            out.append(b"$%d\r\n%b\r\n" % (len(value) - 4, value[4:]))
    elif cls is Pairs:
        if resp3:
            out.append(b"*%d\r\n" % len(value))
            for a, b in value:
                out.append(b"*2\r\n")
                _encode_into(out, a, resp3)
                _encode_into(out, b, resp3)
        else:
            out.append(b"*%d\r\n" % (2 * len(value)))
            for pair in value:
                for item in pair:
                    _encode_into(out, item, resp3)
    elif cls is Push:
        out.append((b">%d\r\n" if resp3 else b"*%d\r\n") % len(value))
        for item in value:
            _encode_into(out, item, resp3)
    elif cls is Replies:
        for item in value:
            _encode_into(out, item, resp3)
    elif cls is dict:
        out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(value) if resp3 else 2 * len(value)))
        for key, item in value.items():
            _encode_into(out, key, resp3)
            _encode_into(out, item, resp3)
    elif cls is set or cls is frozenset or cls is OrderedSet:
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value))
        for item in value:
            _encode_into(out, item, resp3)
    else:
        raise TypeError(f"cannot encode {cls.__name__} as a RESP reply")


BIG = 1 << 20  # bytes: an argument this long is sent as a part of its own, never copied


def encode_command_parts(args) -> list[bytes]:
    """A request as a multibulk frame, in parts to send in order (``transport.writelines``):
    every argument of ``BIG`` bytes or more is a part of its own, so a large value is never
    copied on its way out."""
    args = [arg if arg.__class__ is bytes else str(arg).encode() for arg in args]
    if max(map(len, args)) < BIG:  # the usual case: one part, formatted in one go
        return [_FRAME_FORMATS[len(args)] % tuple(chain.from_iterable(zip(map(len, args), args)))]
    parts = []
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if len(arg) < BIG:
            out.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
        else:
            out.append(b"$%d\r\n" % len(arg))
            parts += (b"".join(out), arg)
            out = [b"\r\n"]
    parts.append(b"".join(out))
    return parts


def encode_command(args) -> bytes:
    """A request as one multibulk frame (what a client sends)."""
    parts = encode_command_parts(args)
    return parts[0] if len(parts) == 1 else b"".join(parts)


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
