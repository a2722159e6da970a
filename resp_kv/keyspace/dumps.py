"""DUMP and RESTORE, with Redis 7.0's payloads (``cluster.c`` ``createDumpPayload`` and
``restoreCommand``, ``rdb.c`` ``rdbSaveObject`` and ``rdbLoadObject``):

    payload = type value rdb-version crc64   (version: 2 bytes little endian, 10 for Redis 7.0;
                                              crc64: rdb.py's CRC-64/Jones of all before it)

DUMP writes a value as redis-server 7.0 would have encoded the same value built by adding its
elements in order, so that where Redis's encoding depends only on the value its payload and ours
are the same bytes:

    string  integers in 8/16/32 bits, strings longer than 20 bytes LZF-compressed when that saves
            at least 4 bytes (with liblzf's own compressor, below: the same output bytes)
    list    quicklist 2 of listpacks, cut where RPUSH cuts them (a node takes an element while its
            listpack's bytes + the element's length + 8 stay within 8 kB)
    set     an intset when it holds at most 512 integers, else a plain set (in our order)
    hash    a listpack when it holds at most 512 fields, none longer than 64 bytes, nor any value;
            else a plain hash (in our order)
    zset    a listpack when it holds at most 128 members, none longer than 64 bytes; else a
            zset2 (members from the greatest, binary scores)

Redis keeps a container's larger encoding once it took it, orders a hash table's elements by a
random seed, and cuts a list built otherwise than by RPUSH elsewhere: those payloads differ from
ours in their bytes, not in the value they hold.

RESTORE reads every value type Redis 7.0 reads (strings, lists as plain lists, ziplists,
quicklists 1 and 2, sets as plain sets and intsets, hashes as plain hashes, zipmaps, ziplists and
listpacks, zsets as zset, zset2, ziplists and listpacks) and answers "Bad data format" for
streams, modules and anything it cannot read. It checks every compact encoding entry by entry
(as Redis with ``sanitize-dump-payload yes``): a small hash or a zset listpack with a field twice,
which Redis keeps as it is unless told to sanitize, is refused here, and so is a listpack Redis
would take on the strength of its header alone (its entries are read as it is loaded).
"""

from __future__ import annotations

import math
import re
import struct
from collections import deque

from ..commands import NOT_INTEGER, SYNTAX_ERROR, option
from ..protocol import OK, Error
from .numbers import INT64_MAX, INT64_MIN, parse_int64
from .rdb import RDB_VERSION, RdbReader, crc64, rdb_length, verify
from .values import ZSet, encoding, integer_string
from .zsets import new_zset

BAD_PAYLOAD = Error("ERR DUMP payload version or checksum are wrong")
BAD_FORMAT = Error("ERR Bad data format")
BUSYKEY = Error("BUSYKEY Target key name already exists.")
BAD_TTL = Error("ERR Invalid TTL value, must be >= 0")
BAD_IDLETIME = Error("ERR Invalid IDLETIME value, must be >= 0")
BAD_FREQ = Error("ERR Invalid FREQ value, must be >= 0 and <= 255")

# RDB object types (rdb.h).
STRING, LIST, SET, ZSET, HASH, ZSET_2 = 0, 1, 2, 3, 4, 5
HASH_ZIPMAP, LIST_ZIPLIST, SET_INTSET, ZSET_ZIPLIST, HASH_ZIPLIST = 9, 10, 11, 12, 13
LIST_QUICKLIST, HASH_LISTPACK, ZSET_LISTPACK, LIST_QUICKLIST_2 = 14, 16, 17, 18
NODE_PLAIN, NODE_PACKED = 1, 2  # a quicklist 2 node: one element as it is, or a listpack

LIST_NODE_BYTES = 8192  # list-max-listpack-size -2
NODE_OVERHEAD = 8  # what RPUSH adds to an element's length to guess its cost in a listpack
LISTPACK_UNKNOWN_COUNT = 65535


class BadFormat(Exception):
    """A payload whose value cannot be read ("Bad data format")."""


# =========================================================================== LZF (liblzf 3.6)


_MAX_LITERAL, _MAX_OFFSET, _MAX_REFERENCE = 32, 1 << 13, (1 << 8) + (1 << 3)


def _hash(data: bytes, at: int) -> int:
    """The 3 bytes at ``at``, as one number."""
    return (data[at] << 16) | (data[at + 1] << 8) | data[at + 2]


def _slot(h: int) -> int:
    """lzf_c.c's hash table slot for 3 bytes (HLOG 16, VERY_FAST)."""
    return ((h >> 8) - h * 5) & 0xFFFF


def _match_length(data: bytes, ref: int, at: int, longest: int) -> int:
    """How many bytes from ``at`` repeat those from ``ref`` (3 already known), as lzf_compress
    counts them: 16 unchecked against ``longest`` when more than 16 may follow, then up to it."""
    length = 2
    if longest > 16:
        for _ in range(16):
            length += 1
            if data[ref + length] != data[at + length]:
                return length
    length += 1
    while length < longest and data[ref + length] == data[at + length]:
        length += 1
    return length


def lzf_compress(data: bytes, limit: int) -> bytes | None:
    """liblzf's compressor as Redis builds it (a fresh hash table, VERY_FAST): ``data`` in at most
    ``limit`` bytes, None if it does not fit. The table's slots hold a position and its 3 bytes
    (position << 24 | bytes): a candidate matches when its bytes are the same."""
    end = len(data)
    if not end or not limit:
        return None
    table = [0] * 65536
    out = bytearray(1)  # each literal run starts with its length byte, filled in when it ends
    literals = at = 0
    while at < end - 2:
        h = (data[at] << 16) | (data[at + 1] << 8) | data[at + 2]
        slot = ((h >> 8) - h * 5) & 0xFFFF
        entry = table[slot]
        table[slot] = (at << 24) | h
        ref = entry >> 24
        if ref and at - ref <= _MAX_OFFSET and entry & 0xFFFFFF == h:
            if len(out) - (not literals) + 4 >= limit:
                return None
            if literals:
                out[-literals - 1] = literals - 1
            else:
                del out[-1]
            offset = at - ref - 1
            length = _match_length(data, ref, at, min(end - at - 2, _MAX_REFERENCE)) - 2
            if length < 7:
                out.append((offset >> 8) + (length << 5))
            else:
                out += bytes([(offset >> 8) + (7 << 5), length - 7])
            out += bytes([offset & 0xFF, 0])
            literals = 0
            at += length + 2
            if at >= end - 2:
                break
            for back in (at - 2, at - 1):
                h = _hash(data, back)
                table[_slot(h)] = (back << 24) | h
            continue
        if len(out) >= limit:
            return None
        literals += 1
        out.append(data[at])
        at += 1
        if literals == _MAX_LITERAL:
            out[-literals - 1] = literals - 1
            literals = 0
            out.append(0)
    if len(out) + 3 > limit:
        return None
    while at < end:
        literals += 1
        out.append(data[at])
        at += 1
        if literals == _MAX_LITERAL:
            out[-literals - 1] = literals - 1
            literals = 0
            out.append(0)
    if literals:
        out[-literals - 1] = literals - 1
    else:
        del out[-1]
    return bytes(out)


# =========================================================================== writing


def rdb_string(s: bytes) -> bytes:
    """rdbSaveRawString: a 32-bit integer as one, a longer string LZF-compressed if that saves
    at least 4 bytes, else the length and the bytes."""
    if len(s) <= 11:
        number = integer_string(s)
        if number is not None and -(1 << 31) <= number < 1 << 31:
            if -128 <= number < 128:
                return struct.pack("<Bb", 0xC0, number)
            if -32768 <= number < 32768:
                return struct.pack("<Bh", 0xC1, number)
            return struct.pack("<Bi", 0xC2, number)
    if len(s) > 20:
        compressed = lzf_compress(s, len(s) - 4)
        if compressed:
            return b"\xc3" + rdb_length(len(compressed)) + rdb_length(len(s)) + compressed
    return rdb_length(len(s)) + s


def _listpack_int(number: int) -> bytes:
    if 0 <= number <= 127:
        return bytes([number])
    if -4096 <= number <= 4095:
        number &= 0x1FFF
        return bytes([0xC0 | (number >> 8), number & 0xFF])
    for code, width in ((0xF1, 2), (0xF2, 3), (0xF3, 4)):
        bound = 1 << (8 * width - 1)
        if -bound <= number < bound:
            return bytes([code]) + number.to_bytes(width, "little", signed=True)
    return b"\xf4" + number.to_bytes(8, "little", signed=True)


def _backlen(size: int) -> bytes:
    """lpEncodeBacklen: an entry's size, 7 bits a byte, the most significant first; read from
    its end, a byte with bit 7 set says another one comes before it. (Redis takes one byte more
    than needed for 16383, 2097151 and 268435455.)"""
    count = 1 + sum(size >= limit for limit in (128, 16383, 2097151, 268435455))
    groups = [(size >> (7 * i)) & 127 for i in range(count)]
    return bytes([groups[-1]] + [g | 128 for g in reversed(groups[:-1])])


def listpack_entry(element: bytes) -> bytes:
    number = integer_string(element)
    if number is not None:
        encoded = _listpack_int(number)
    elif len(element) < 64:
        encoded = bytes([0x80 | len(element)]) + element
    elif len(element) < 4096:
        encoded = bytes([0xE0 | (len(element) >> 8), len(element) & 0xFF]) + element
    else:
        encoded = b"\xf0" + struct.pack("<I", len(element)) + element
    return encoded + _backlen(len(encoded))


def listpack(entries: list[bytes]) -> bytes:
    """A listpack of already encoded entries."""
    body = b"".join(entries)
    return struct.pack("<IH", len(body) + 7, min(len(entries), LISTPACK_UNKNOWN_COUNT)) + body + b"\xff"


_LONG_SCORE_LIMIT = float(INT64_MAX // 2)  # double2ll's bound (2**62 once a double)


def score_entry(score: float) -> bytes:
    """A zset listpack's score: an integer when it is one within +-2**62 (-0 too), else
    d2string's text ("inf", "-inf", %.17g)."""
    if abs(score) <= _LONG_SCORE_LIMIT and score == int(score):
        return listpack_entry(b"%d" % int(score))
    if math.isinf(score):
        return listpack_entry(b"inf" if score > 0 else b"-inf")
    return listpack_entry(b"%.17g" % score)


def _list_nodes(items) -> list[bytes]:
    """The listpacks RPUSH fills: a node takes an element while its bytes + the element's length
    + 8 stay within 8 kB."""
    nodes, entries, size = [], [], 7
    for item in items:
        if entries and size + len(item) + NODE_OVERHEAD > LIST_NODE_BYTES:
            nodes.append(listpack(entries))
            entries, size = [], 7
        entry = listpack_entry(item)
        entries.append(entry)
        size += len(entry)
    nodes.append(listpack(entries))
    return nodes


def _intset(members) -> bytes:
    """An intset: its width, its count, then the integers in order, each of that width."""
    numbers = sorted(int(m) for m in members)
    low, high = numbers[0], numbers[-1]
    if -(1 << 15) <= low and high < 1 << 15:
        width, code = 2, "h"
    elif -(1 << 31) <= low and high < 1 << 31:
        width, code = 4, "i"
    else:
        width, code = 8, "q"
    return struct.pack(f"<II{len(numbers)}{code}", width, len(numbers), *numbers)


def _dump_list(items: deque) -> tuple[int, bytes]:
    nodes = _list_nodes(items)
    return LIST_QUICKLIST_2, rdb_length(len(nodes)) + b"".join(
        rdb_length(NODE_PACKED) + rdb_string(node) for node in nodes)


def _dump_set(members: set) -> tuple[int, bytes]:
    if encoding(members) == "intset":
        return SET_INTSET, rdb_string(_intset(members))
    return SET, rdb_length(len(members)) + b"".join(rdb_string(m) for m in members)


def _dump_hash(fields: dict) -> tuple[int, bytes]:
    if encoding(fields) == "listpack":
        entries = [listpack_entry(w) for pair in fields.items() for w in pair]
        return HASH_LISTPACK, rdb_string(listpack(entries))
    return HASH, rdb_length(len(fields)) + b"".join(rdb_string(f) + rdb_string(v) for f, v in fields.items())


def _dump_zset(zset: ZSet) -> tuple[int, bytes]:
    if encoding(zset) == "listpack":
        entries = [e for score, member in zset.order for e in (listpack_entry(member), score_entry(score))]
        return ZSET_LISTPACK, rdb_string(listpack(entries))
    return ZSET_2, rdb_length(len(zset)) + b"".join(
        rdb_string(member) + struct.pack("<d", score) for score, member in reversed(zset.order))


_DUMPERS = {deque: _dump_list, set: _dump_set, dict: _dump_hash, ZSet: _dump_zset}


def dump_value(value) -> bytes:
    """DUMP's payload for a value."""
    if value.__class__ is bytes:
        kind, body = STRING, rdb_string(value)
    else:
        kind, body = _DUMPERS[value.__class__](value)
    payload = bytes([kind]) + body + struct.pack("<H", RDB_VERSION)
    return payload + struct.pack("<Q", crc64(payload))


# =========================================================================== reading compact encodings


def _int(blob: bytes, at: int, width: int, end: int) -> int:
    if at + width > end:
        raise BadFormat
    return int.from_bytes(blob[at : at + width], "little", signed=True)


def listpack_elements(blob: bytes) -> list[bytes]:
    """A listpack's elements (integers as their decimal text), every entry checked."""
    size = len(blob)
    if size < 7 or struct.unpack_from("<I", blob)[0] != size or blob[-1] != 0xFF:
        raise BadFormat
    end, at, elements = size - 1, 6, []
    while at < end:
        element, length = _listpack_element(blob, at, end)
        after = at + length + len(_backlen(length))
        if after > end or blob[at + length : after] != _backlen(length):
            raise BadFormat
        elements.append(element)
        at = after
    count = struct.unpack_from("<H", blob, 4)[0]
    if count != LISTPACK_UNKNOWN_COUNT and count != len(elements):
        raise BadFormat
    return elements


_LISTPACK_INT_WIDTHS = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}


def _listpack_element(blob: bytes, at: int, end: int) -> tuple[bytes, int]:
    """The element at ``at`` and its encoded length (without its backlen)."""
    first = blob[at]
    if first < 0x80:
        return b"%d" % first, 1
    if first < 0xC0:
        head, size = 1, first & 0x3F
    elif first < 0xE0:
        number = ((first & 0x1F) << 8) | _int(blob, at + 1, 1, end) & 0xFF
        return b"%d" % (number - 8192 if number >= 4096 else number), 2
    elif first < 0xF0:
        head, size = 2, ((first & 0x0F) << 8) | _int(blob, at + 1, 1, end) & 0xFF
    elif first == 0xF0:
        head, size = 5, _int(blob, at + 1, 4, end) & 0xFFFFFFFF
    elif first in _LISTPACK_INT_WIDTHS:
        width = _LISTPACK_INT_WIDTHS[first]
        return b"%d" % _int(blob, at + 1, width, end), 1 + width
    else:
        raise BadFormat
    if at + head + size > end:
        raise BadFormat
    return blob[at + head : at + head + size], head + size


_ZIPLIST_INTS = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


def ziplist_elements(blob: bytes) -> list[bytes]:
    """A ziplist's elements (Redis 6.2 and older), checked as ziplistValidateIntegrity does."""
    size = len(blob)
    if size < 11 or struct.unpack_from("<I", blob)[0] != size or blob[-1] != 0xFF:
        raise BadFormat
    tail, count = struct.unpack_from("<IH", blob, 4)
    end, at, previous, last, elements = size - 1, 10, 0, None, []
    while at < end:
        if blob[at] == 0xFF:  # the end, too early
            raise BadFormat
        header, prevlen = (1, blob[at]) if blob[at] < 254 else (5, _int(blob, at + 1, 4, end) & 0xFFFFFFFF)
        if prevlen != previous or at + header >= end:
            raise BadFormat
        element, length = _ziplist_element(blob, at + header, end)
        last, previous = at, header + length
        at += previous
        if at > end:
            raise BadFormat
        elements.append(element)
    if (last is not None and last != tail) or tail > end or (count != 0xFFFF and count != len(elements)):
        raise BadFormat
    return elements


def _ziplist_element(blob: bytes, at: int, end: int) -> tuple[bytes, int]:
    first, kind = blob[at], blob[at] >> 6
    if kind == 0:
        head, size = 1, first & 0x3F
    elif kind == 1:
        head, size = 2, ((first & 0x3F) << 8) | _int(blob, at + 1, 1, end) & 0xFF
    elif kind == 2:  # (Redis ignores the other 6 bits)
        if at + 5 > end:
            raise BadFormat
        head, size = 5, int.from_bytes(blob[at + 1 : at + 5], "big")
    elif first in _ZIPLIST_INTS:
        width = _ZIPLIST_INTS[first]
        return b"%d" % _int(blob, at + 1, width, end), 1 + width
    elif 0xF1 <= first <= 0xFD:
        return b"%d" % ((first & 0x0F) - 1), 1
    else:
        raise BadFormat
    if at + head + size > end:
        raise BadFormat
    return blob[at + head : at + head + size], head + size


def zipmap_pairs(blob: bytes) -> list[tuple[bytes, bytes]]:
    """A zipmap's field-value pairs (Redis 2.4's small hashes)."""
    size = len(blob)
    if size < 2 or blob[-1] != 0xFF:
        raise BadFormat
    end, at, pairs = size - 1, 1, []
    while at < end and blob[at] != 0xFF:  # (Redis stops at the first end marker too)
        field, at = _zipmap_string(blob, at, end, with_free=False)
        value, at = _zipmap_string(blob, at, end, with_free=True)
        pairs.append((field, value))
    if not pairs or (blob[0] != 254 and blob[0] != len(pairs)):
        raise BadFormat
    return pairs


def _zipmap_string(blob: bytes, at: int, end: int, with_free: bool) -> tuple[bytes, int]:
    if at >= end:
        raise BadFormat
    if blob[at] < 254:
        size, at = blob[at], at + 1
    else:
        size, at = _int(blob, at + 1, 4, end) & 0xFFFFFFFF, at + 5
    free = 0
    if with_free:
        if at >= end:
            raise BadFormat
        free, at = blob[at], at + 1
    if at + size + free > end:
        raise BadFormat
    return blob[at : at + size], at + size + free


def intset_members(blob: bytes) -> set:
    """An intset's members; its header and size checked (not its order: Redis does not either)."""
    if len(blob) < 8:
        raise BadFormat
    width, count = struct.unpack_from("<II", blob)
    code = {2: "h", 4: "i", 8: "q"}.get(width)
    if code is None or 8 + count * width != len(blob) or count == 0:
        raise BadFormat
    return {b"%d" % n for n in struct.unpack_from(f"<{count}{code}", blob, 8)}


# =========================================================================== reading values


def _pairs_to_hash(pairs) -> dict:
    fields: dict[bytes, bytes] = {}
    for field, value in pairs:
        if field in fields:
            raise BadFormat
        fields[field] = value
    if not fields:
        raise BadFormat
    return fields


def _pairs_to_zset(pairs) -> ZSet:
    """A zset as Redis loads it: a small one becomes a listpack, where a score of -0 is 0."""
    scores: dict[bytes, float] = {}
    for member, score in pairs:
        if math.isnan(score) or member in scores:
            raise BadFormat
        scores[member] = score
    if not scores:
        raise BadFormat
    return new_zset(scores)


def _paired(elements: list[bytes]) -> list[tuple[bytes, bytes]]:
    if len(elements) % 2:
        raise BadFormat
    return list(zip(elements[::2], elements[1::2]))


_STRTOD = re.compile(rb"\s*[+-]?(?:inf(?:inity)?|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)", re.I)


def _strtod(text: bytes) -> float:
    """A score as strtod/sscanf read it: the longest number at the start; none is an error."""
    found = _STRTOD.match(text)
    if not found:
        raise BadFormat
    return float(found.group().strip())


_SPECIAL_DOUBLES = {253: math.nan, 254: math.inf, 255: -math.inf}


def _text_double(reader: RdbReader) -> float:
    """rdbLoadDoubleValue (zsets of Redis 3.2 and older): a length then text, or a special length."""
    size = reader.take(1)[0]
    return _SPECIAL_DOUBLES[size] if size in _SPECIAL_DOUBLES else _strtod(reader.take(size))


def _count(reader: RdbReader) -> int:
    count = reader.length()[0]
    if count == 0:
        raise BadFormat
    return count


def _load_list(reader: RdbReader) -> deque:
    return deque(reader.string() for _ in range(_count(reader)))


def _load_set(reader: RdbReader) -> set:
    count = _count(reader)
    members = set()
    for _ in range(count):
        members.add(reader.string())
    if len(members) != count:
        raise BadFormat
    return members


def _load_hash(reader: RdbReader) -> dict:
    return _pairs_to_hash((reader.string(), reader.string()) for _ in range(_count(reader)))


def _load_zset(reader: RdbReader, binary: bool) -> ZSet:
    def pair():
        member = reader.string()
        return member, struct.unpack("<d", reader.take(8))[0] if binary else _text_double(reader)
    return _pairs_to_zset(pair() for _ in range(_count(reader)))


def _load_quicklist(reader: RdbReader, version: int) -> deque:
    items: deque = deque()
    for _ in range(_count(reader)):
        container = reader.length()[0] if version == 2 else NODE_PACKED
        if container not in (NODE_PLAIN, NODE_PACKED):
            raise BadFormat
        blob = reader.string()
        if not blob:
            raise BadFormat
        if container == NODE_PLAIN:
            items.append(blob)
        else:
            items.extend(listpack_elements(blob) if version == 2 else ziplist_elements(blob))
    if not items:
        raise BadFormat
    return items


def _nonempty(value):
    if not value:
        raise BadFormat
    return value


def _score_pairs(pairs) -> list[tuple[bytes, float]]:
    return [(member, _strtod(score)) for member, score in pairs]


_LOADERS = {
    STRING: lambda r: r.string(),
    LIST: _load_list,
    SET: _load_set,
    ZSET: lambda r: _load_zset(r, binary=False),
    HASH: _load_hash,
    ZSET_2: lambda r: _load_zset(r, binary=True),
    HASH_ZIPMAP: lambda r: _pairs_to_hash(zipmap_pairs(r.string())),
    LIST_ZIPLIST: lambda r: _nonempty(deque(ziplist_elements(r.string()))),
    SET_INTSET: lambda r: intset_members(r.string()),
    ZSET_ZIPLIST: lambda r: _pairs_to_zset(_score_pairs(_paired(ziplist_elements(r.string())))),
    HASH_ZIPLIST: lambda r: _pairs_to_hash(_paired(ziplist_elements(r.string()))),
    LIST_QUICKLIST: lambda r: _load_quicklist(r, 1),
    HASH_LISTPACK: lambda r: _pairs_to_hash(_paired(listpack_elements(r.string()))),
    ZSET_LISTPACK: lambda r: _pairs_to_zset(_score_pairs(_paired(listpack_elements(r.string())))),
    LIST_QUICKLIST_2: lambda r: _load_quicklist(r, 2),
}


def load_value(payload: bytes):
    """The value in a verified payload (rdb.verify); BadFormat if it cannot be read. The reading
    may run into the footer, as Redis's does (it reads from the whole payload)."""
    reader = RdbReader(payload, len(payload))
    try:
        loader = _LOADERS.get(reader.take(1)[0])
        if loader is None:  # streams, modules, not a type
            raise BadFormat
        return loader(reader)
    except EOFError:
        raise BadFormat from None


# =========================================================================== the commands


class DumpCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``lookup``, ``store``,
    ``set_expiry``, ``delete``, ``now_ms``."""

    def cmd_dump(self, args):
        value = self.lookup(args[1])
        return None if value is None else dump_value(value)

    def cmd_restore(self, args):
        options = _restore_options(args)
        if options.__class__ is Error:
            return options
        replace, absolute = options
        key = args[1]
        if not replace and self.lookup(key) is not None:
            return BUSYKEY
        ttl = parse_int64(args[2])
        if ttl is None:
            return NOT_INTEGER
        if ttl < 0:
            return BAD_TTL
        payload = args[3]
        if not verify(payload):
            return BAD_PAYLOAD
        try:
            value = load_value(payload)
        except BadFormat:
            return BAD_FORMAT
        if replace:
            self.delete(key)
        if ttl and not absolute:
            ttl = _wrap_int64(ttl + self.now_ms)
        if ttl and ttl <= self.now_ms:  # already expired: no key (Redis's checkAlreadyExpired)
            return OK
        self.store(key, value)
        if ttl:
            self.set_expiry(key, ttl)
        return OK


def _wrap_int64(number: int) -> int:
    """A sum as Redis's long long addition leaves it (wrapping around on overflow)."""
    return (number - INT64_MIN) % (1 << 64) + INT64_MIN


def _restore_options(args) -> tuple[bool, bool] | Error:
    """RESTORE's options: (REPLACE, ABSTTL); IDLETIME and FREQ are checked (one of them at
    most) and have no effect (no eviction policy here)."""
    replace = absolute = False
    idle = frequency = None
    j = 4
    while j < len(args):
        word, more = option(args[j]), len(args) - j - 1
        if word == b"REPLACE":
            replace = True
        elif word == b"ABSTTL":
            absolute = True
        elif word == b"IDLETIME" and more and frequency is None:
            idle = parse_int64(args[j + 1])
            if idle is None:
                return NOT_INTEGER
            if idle < 0:
                return BAD_IDLETIME
            j += 1
        elif word == b"FREQ" and more and idle is None:
            frequency = parse_int64(args[j + 1])
            if frequency is None:
                return NOT_INTEGER
            if not 0 <= frequency <= 255:
                return BAD_FREQ
            j += 1
        else:
            return SYNTAX_ERROR
        j += 1
    return replace, absolute
