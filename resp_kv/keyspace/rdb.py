"""FUNCTION DUMP and FUNCTION RESTORE payloads, in Redis 7.0's own format (``rdb.c``
``rdbSaveFunctions``/``rdbFunctionLoad``, ``cluster.c`` ``verifyDumpPayload``), so that a dump
made by redis-server restores here and the other way round:

    payload  = (opcode string)* rdb-version crc64
    opcode   = 0xF5 (RDB_OPCODE_FUNCTION2: the library's code) or, as Redis still reads it,
               0xF6 (RDB_OPCODE_FUNCTION, 7.0 release candidates: name, engine, [description], code)
    string   = an RDB length then the bytes, or an encoded string (an 8/16/32-bit integer, or
               LZF-compressed bytes: Redis compresses strings longer than 20 bytes)
    version  = 2 bytes, little endian (10: Redis 7.0)
    crc64    = 8 bytes, little endian: CRC-64/Jones (reflected) of everything before it

Dumps are written uncompressed (Redis reads those as well)."""

from __future__ import annotations

import struct

RDB_VERSION = 10
OPCODE_FUNCTION2 = 0xF5
OPCODE_FUNCTION = 0xF6
_ENCODED, _INT8, _INT16, _INT32, _LZF = 3, 0, 1, 2, 3

# CRC-64/Jones as Redis's crc64.c: polynomial 0xad93d23594c935a9, reflected (so 0x95ac9329ac4bc9b5
# shifted right), no final xor; crc64(0, b"123456789") == 0xe9c6d914c4b8d9ca.
_REFLECTED_POLY = 0x95AC9329AC4BC9B5


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _REFLECTED_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc64(data: bytes, crc: int = 0) -> int:
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


class PayloadError(Exception):
    """A payload that cannot be read (its reply text: Redis's wording)."""


# --------------------------------------------------------------------------- writing


def rdb_length(n: int) -> bytes:
    """rdbSaveLen: 6, 14, 32 or 64 bits."""
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def dump_functions(codes) -> bytes:
    """FUNCTION DUMP's payload for the libraries' codes (each a whole ``#!lua name=...`` text)."""
    body = b"".join(bytes([OPCODE_FUNCTION2]) + rdb_length(len(code)) + code for code in codes)
    body += struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(body))


# --------------------------------------------------------------------------- reading


def verify(payload: bytes) -> bool:
    """verifyDumpPayload: a known RDB version and a matching checksum."""
    if len(payload) < 10:
        return False
    version = struct.unpack_from("<H", payload, len(payload) - 10)[0]
    if version > RDB_VERSION:
        return False
    return struct.unpack_from("<Q", payload, len(payload) - 8)[0] == crc64(payload[:-8])


class RdbReader:
    """Reads an RDB payload in order; EOFError past its end."""

    def __init__(self, data: bytes, end: int):
        self.data, self.pos, self.end = data, 0, end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise EOFError
        piece = self.data[self.pos : self.pos + n]
        self.pos += n
        return piece

    def length(self) -> tuple[int, bool]:
        """rdbLoadLenByRef: (length or encoding type, whether it is an encoding)."""
        first = self.take(1)[0]
        kind = first >> 6
        if kind == _ENCODED:
            return first & 0x3F, True
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.take(1)[0], False
        if first == 0x80:
            return struct.unpack(">I", self.take(4))[0], False
        if first == 0x81:
            return struct.unpack(">Q", self.take(8))[0], False
        raise EOFError

    def string(self) -> bytes:
        """rdbGenericLoadStringObject."""
        n, encoded = self.length()
        if not encoded:
            return self.take(n)
        if n == _INT8:
            return b"%d" % struct.unpack("<b", self.take(1))[0]
        if n == _INT16:
            return b"%d" % struct.unpack("<h", self.take(2))[0]
        if n == _INT32:
            return b"%d" % struct.unpack("<i", self.take(4))[0]
        if n == _LZF:
            compressed, size = self.length()[0], self.length()[0]
            out = lzf_decompress(self.take(compressed), size)
            if out is None or len(out) != size:
                raise EOFError
            return out
        raise EOFError


def lzf_decompress(data: bytes, size: int) -> bytes | None:
    """LZF (as Redis's lzf_d.c) into at most ``size`` bytes; None for a malformed input."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:  # a literal run of ctrl + 1 bytes
            run = ctrl + 1
            if len(out) + run > size or i + run > n:
                return None
            out += data[i : i + run]
            i += run
            continue
        length = ctrl >> 5  # a back reference
        if i >= n:
            return None
        if length == 7:
            length += data[i]
            i += 1
            if i >= n:
                return None
        start = len(out) - ((ctrl & 0x1F) << 8) - 1 - data[i]
        i += 1
        length += 2
        if len(out) + length > size or start < 0:
            return None
        for j in range(start, start + length):  # (it may overlap what it writes)
            out.append(out[j])
    return bytes(out)


def load_functions(payload: bytes) -> list[bytes]:
    """The libraries' codes in a verified payload (``verify``), in order; PayloadError with
    Redis's reply text when it cannot be read."""
    reader = RdbReader(payload, len(payload) - 10)
    codes = []
    while reader.end - reader.pos > 0:
        try:
            kind = reader.take(1)[0]
        except EOFError:
            raise PayloadError("can not read data type") from None
        if kind not in (OPCODE_FUNCTION, OPCODE_FUNCTION2):
            raise PayloadError("given type is not a function")
        codes.append(_library(reader, kind))
    return codes


def _library(reader: RdbReader, kind: int) -> bytes:
    if kind == OPCODE_FUNCTION2:
        try:
            return reader.string()
        except EOFError:
            raise PayloadError("Failed loading library payload") from None
    # The 7.0 release candidates' format: name, engine, [description], code.
    step = "library name"
    try:
        name = reader.string()
        step = "engine name"
        engine = reader.string()
        step = "library description indicator"
        has_description = reader.length()[0]
        if has_description:
            step = "library description"
            reader.string()
        step = "library blob"
        blob = reader.string()
    except EOFError:
        raise PayloadError(f"Failed loading {step}") from None
    return b"#!%b name=%b\n%b" % (engine, name, blob)
