"""The bitmap commands, as Redis 7.0's ``bitops.c`` defines them: a string read and written as an
array of bits, bit 0 the most significant bit of the first byte. Each command is a small method
of :class:`BitCommands`, mixed into the store. Replies and error wording are redis-server's.

Bit offsets go up to 2**32 - 1 (the 512 MB string limit); BITFIELD's ``#N`` offsets count
fields (N * width, multiplied in 64 bits, wrapping as Redis's multiplication does). Missing
bytes read as zeros; a write past the end pads the string with zeros first.

A string is an immutable ``bytes`` here, so SETBIT and a writing BITFIELD make a new value: each
write costs O(length of the string) (Redis changes one byte in place). As in Redis they keep the
key's expiry time, and tell a key's watchers only when a bit changed or the string was created
or grew. A BITFIELD whose writes all failed (OVERFLOW FAIL) still creates or grows the string,
silently, as Redis does.

BITFIELD's overflow checks follow Redis's, down to one quirk: a signed SET of a value so far
below the type's range that ``max - value`` overflows 64 bits counts as an overflow upwards
(OVERFLOW SAT stores the maximum).
"""

from __future__ import annotations

import re

from ..commands import NOT_INTEGER, SYNTAX_ERROR, option
from ..protocol import Error
from .numbers import INT64_MAX, parse_int64
from .strings import MAX_STRING

BAD_OFFSET = Error("ERR bit offset is not an integer or out of range")
BAD_BIT_VALUE = Error("ERR bit is not an integer or out of range")
BAD_BITPOS_BIT = Error("ERR The bit argument must be 1 or 0.")
NOT_ONE_SOURCE = Error("ERR BITOP NOT must be called with a single source key.")
BAD_FIELD_TYPE = Error("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported "
                       "but i64 is.")
BAD_OVERFLOW = Error("ERR Invalid OVERFLOW type specified")
READONLY_GET_ONLY = Error("ERR BITFIELD_RO only supports the GET subcommand")

MAX_BIT_OFFSET = MAX_STRING * 8 - 1
UNIT = {b"BIT": True, b"BYTE": False}  # BITCOUNT / BITPOS's last argument: counts bits?
OVERFLOWS = (b"WRAP", b"SAT", b"FAIL")
FIELD_ARGUMENTS = {b"GET": 2, b"SET": 3, b"INCRBY": 3}  # BITFIELD's subcommands: how many follow
ANY_ONE = re.compile(rb"[^\x00]")  # a byte with a bit set
ANY_ZERO = re.compile(rb"[^\xff]")  # a byte with a bit clear
BLOCK = 1 << 16  # BITPOS skips whole blocks of 0x00 (or 0xff) bytes at memcmp speed
EMPTY_BLOCKS = {1: bytes(BLOCK), 0: b"\xff" * BLOCK}  # by the bit looked for


def wrap64(number: int) -> int:
    """``number`` as a C int64 holds it (two's complement, wrapped)."""
    return (number + 2**63) % 2**64 - 2**63


def parse_bit_offset(raw: bytes, width: int = 0) -> int | None:
    """A bit offset argument, 0 to 2**32 - 1; with a field ``width``, ``#N`` stands for N * width."""
    fields = width and raw[:1] == b"#"
    offset = parse_int64(raw[1:] if fields else raw)
    if offset is not None and fields:
        offset = wrap64(offset * width)
    return offset if offset is not None and 0 <= offset <= MAX_BIT_OFFSET else None


def parse_field_type(raw: bytes) -> tuple[bool, int] | None:
    """A BITFIELD type, ``i1``..``i64`` or ``u1``..``u63``: (signed, width). Redis reads the width
    up to a NUL byte."""
    if raw[:1] not in (b"i", b"u"):
        return None
    signed = raw[:1] == b"i"
    width = parse_int64(raw[1:].split(b"\0", 1)[0])
    if width is None or not 1 <= width <= (64 if signed else 63):
        return None
    return signed, width


def bit_range(size: int, start: int, end: int, in_bits: bool) -> tuple[int, int] | None:
    """BITCOUNT / BITPOS's range over a string of ``size`` bytes, ``start`` and ``end`` counted
    in bits or bytes (negative: from the end), clamped to the string: the first and last bit,
    or None if it is empty."""
    total = size * 8 if in_bits else size
    if start < 0:
        start = max(total + start, 0)
    if end < 0:
        end = max(total + end, 0)
    end = min(end, total - 1)
    if start > end:
        return None
    return (start, end) if in_bits else (start * 8, end * 8 + 7)


def count_ones(value: bytes, first: int, last: int) -> int:
    """How many bits are set from bit ``first`` to bit ``last`` (both in the string)."""
    chunk = int.from_bytes(value[first >> 3 : (last >> 3) + 1], "big") >> (7 - (last & 7))
    return chunk.bit_count() - (chunk >> (last - first + 1)).bit_count()


def bit_in_byte(byte: int, bit: int, lo: int, hi: int) -> int | None:
    """The first of a byte's bits ``lo``..``hi`` (0 the most significant) equal to ``bit``."""
    for i in range(lo, hi + 1):
        if (byte >> (7 - i)) & 1 == bit:
            return i
    return None


def first_byte_with(value: bytes, bit: int, start: int, stop: int) -> int | None:
    """The index of the first byte from ``start`` to before ``stop`` with a bit equal to ``bit``."""
    empty = EMPTY_BLOCKS[bit]
    while stop - start >= BLOCK and value.startswith(empty, start):
        start += BLOCK
    match = (ANY_ONE if bit else ANY_ZERO).search(value, start, stop)
    return None if match is None else match.start()


def first_bit(value: bytes, bit: int, first: int, last: int) -> int | None:
    """The position of the first bit equal to ``bit`` from bit ``first`` to bit ``last``."""
    lo, hi = first >> 3, last >> 3
    found = bit_in_byte(value[lo], bit, first & 7, last & 7 if lo == hi else 7)
    if found is not None:
        return lo * 8 + found
    if lo == hi:
        return None
    index = first_byte_with(value, bit, lo + 1, hi)
    if index is not None:
        return index * 8 + bit_in_byte(value[index], bit, 0, 7)
    found = bit_in_byte(value[hi], bit, 0, last & 7)
    return None if found is None else hi * 8 + found


def read_field(value, offset: int, width: int, signed: bool) -> int:
    """The integer of ``width`` bits at bit ``offset`` (bytes past the end read as zeros)."""
    first, last = offset >> 3, (offset + width - 1) >> 3
    chunk = bytes(value[first : last + 1]).ljust(last - first + 1, b"\0")
    number = (int.from_bytes(chunk, "big") >> (7 - ((offset + width - 1) & 7))) & ((1 << width) - 1)
    if signed and number >> (width - 1):
        number -= 1 << width
    return number


def write_field(buf: bytearray, offset: int, width: int, number: int) -> None:
    """Store ``number``'s low ``width`` bits at bit ``offset`` (inside ``buf``)."""
    first, last = offset >> 3, (offset + width - 1) >> 3
    shift = 7 - ((offset + width - 1) & 7)
    mask = ((1 << width) - 1) << shift
    chunk = int.from_bytes(buf[first : last + 1], "big")
    chunk = (chunk & ~mask) | ((number << shift) & mask)
    buf[first : last + 1] = chunk.to_bytes(last - first + 1, "big")


def field_overflow(value: int, increment: int, width: int, signed: bool) -> int:
    """Whether ``value + increment`` leaves the field type's range: 1 above, -1 below, 0 not.
    (For SET, ``value`` is the argument and ``increment`` 0; an unsigned field takes a negative
    one as the 64-bit unsigned number it is in C: above the range.)"""
    if signed:
        high = (1 << (width - 1)) - 1
        if width < 64 and high - value > INT64_MAX:  # Redis's 64-bit "max - value" wraps
            return 1
        low = -high - 1
    else:
        value %= 2**64
        high, low = (1 << width) - 1, 0
        if value > high:
            return 1
    total = value + increment
    return 1 if total > high else -1 if total < low else 0


def wrapped(total: int, width: int, signed: bool) -> int:
    """``total`` cut to the field's ``width`` bits (two's complement if ``signed``)."""
    number = total % (1 << width)
    return number - (1 << width) if signed and number >> (width - 1) else number


def saturated(direction: int, width: int, signed: bool) -> int:
    """The field type's maximum (``direction`` 1) or minimum (-1)."""
    if signed:
        high = (1 << (width - 1)) - 1
        return high if direction > 0 else -high - 1
    return (1 << width) - 1 if direction > 0 else 0


class FieldOp:
    """One parsed BITFIELD subcommand: GET, SET or INCRBY of a field, with the overflow rule in
    force where it was given."""

    __slots__ = ("kind", "signed", "width", "offset", "amount", "overflow")

    def __init__(self, kind: bytes, signed: bool, width: int, offset: int, amount: int, overflow: bytes):
        self.kind, self.signed, self.width, self.offset = kind, signed, width, offset
        self.amount, self.overflow = amount, overflow

    @property
    def last_bit(self) -> int:
        return self.offset + self.width - 1

    def new_value(self, old: int) -> int | None:
        """What SET or INCRBY stores over ``old``: None when it overflows under FAIL."""
        if self.kind == b"SET":
            value, increment = self.amount, 0
        else:
            value, increment = old, self.amount
        direction = field_overflow(value, increment, self.width, self.signed)
        if not direction:
            return value + increment
        if self.overflow == b"FAIL":
            return None
        if self.overflow == b"SAT":
            return saturated(direction, self.width, self.signed)
        return wrapped(value + increment, self.width, self.signed)


def parse_field_ops(args: list[bytes]) -> list[FieldOp] | Error:
    """BITFIELD's subcommands (from ``args[2]``), or the first one's error."""
    ops = []
    overflow = b"WRAP"
    j = 2
    while j < len(args):
        sub, left = option(args[j]), len(args) - j - 1
        if sub == b"OVERFLOW" and left >= 1:
            overflow = option(args[j + 1])
            if overflow not in OVERFLOWS:
                return BAD_OVERFLOW
            j += 2
            continue
        needed = FIELD_ARGUMENTS.get(sub)
        if needed is None or needed > left:
            return SYNTAX_ERROR
        field_type = parse_field_type(args[j + 1])
        if field_type is None:
            return BAD_FIELD_TYPE
        offset = parse_bit_offset(args[j + 2], field_type[1])
        if offset is None:
            return BAD_OFFSET
        amount = 0
        if sub != b"GET":
            amount = parse_int64(args[j + 3])
            if amount is None:
                return NOT_INTEGER
        ops.append(FieldOp(sub, *field_type, offset, amount, overflow))
        j += 1 + needed
    return ops


class BitCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``string``, ``store``,
    ``delete``, ``db``."""

    # ------------------------------------------------------------------ single bits

    def cmd_setbit(self, args):
        offset = parse_bit_offset(args[2])
        if offset is None:
            return BAD_OFFSET
        on = parse_int64(args[3])
        if on not in (0, 1):
            return BAD_BIT_VALUE
        key = args[1]
        value = self.string(key) or b""
        index, shift = offset >> 3, 7 - (offset & 7)
        if index >= len(value):  # created or grown: a change whatever the bit
            value += bytes(index + 1 - len(value))
            was = 0
        else:
            was = (value[index] >> shift) & 1
            if was == on:
                return was
        byte = (value[index] & ~(1 << shift)) | (on << shift)
        self.store(key, value[:index] + bytes((byte,)) + value[index + 1 :], keep_ttl=True)
        return was

    def cmd_getbit(self, args):
        offset = parse_bit_offset(args[2])
        if offset is None:
            return BAD_OFFSET
        value = self.string(args[1])
        if value is None or offset >> 3 >= len(value):
            return 0
        return (value[offset >> 3] >> (7 - (offset & 7))) & 1

    # ------------------------------------------------------------------ counting and finding

    def cmd_bitcount(self, args):
        value = self.string(args[1])
        if value is None:  # (the other arguments are not looked at)
            return 0
        if len(args) == 2:
            return int.from_bytes(value, "big").bit_count()
        if len(args) not in (4, 5):
            return SYNTAX_ERROR
        start, end = parse_int64(args[2]), parse_int64(args[3])
        if start is None or end is None:
            return NOT_INTEGER
        if start < 0 and end < 0 and start > end:
            return 0
        in_bits = UNIT.get(option(args[4])) if len(args) == 5 else False
        if in_bits is None:
            return SYNTAX_ERROR
        span = bit_range(len(value), start, end, in_bits)
        return 0 if span is None else count_ones(value, *span)

    def cmd_bitpos(self, args):
        bit = parse_int64(args[2])
        if bit is None:
            return NOT_INTEGER
        if bit not in (0, 1):
            return BAD_BITPOS_BIT
        value = self.string(args[1])
        if value is None:  # an endless run of zeros
            return -1 if bit else 0
        if len(args) > 6:
            return SYNTAX_ERROR
        span = self._bitpos_range(args, len(value))
        if span.__class__ is Error:
            return span
        if span is None:
            return -1
        found = first_bit(value, bit, *span)
        if found is not None:
            return found
        end_given = len(args) >= 5
        return span[1] + 1 if bit == 0 and not end_given else -1  # zeros follow the string

    @staticmethod
    def _bitpos_range(args: list[bytes], size: int):
        """BITPOS's range (first and last bit), None if empty, or an argument's error."""
        if len(args) == 3:
            return bit_range(size, 0, size - 1, False)
        start = parse_int64(args[3])
        if start is None:
            return NOT_INTEGER
        in_bits = UNIT.get(option(args[5])) if len(args) == 6 else False
        if in_bits is None:
            return SYNTAX_ERROR
        end = parse_int64(args[4]) if len(args) >= 5 else size - 1
        if end is None:
            return NOT_INTEGER
        return bit_range(size, start, end, in_bits)

    # ------------------------------------------------------------------ several strings

    def cmd_bitop(self, args):
        op = option(args[1])
        if op not in (b"AND", b"OR", b"XOR", b"NOT"):
            return SYNTAX_ERROR
        if op == b"NOT" and len(args) != 4:
            return NOT_ONE_SOURCE
        values = [self.string(key) or b"" for key in args[3:]]
        size = max(len(value) for value in values)
        if not size:
            self.delete(args[2])
            return 0
        # Each string as one big number, shorter ones padded with zero bytes on the right.
        numbers = [int.from_bytes(value, "big") << (8 * (size - len(value))) for value in values]
        result = numbers[0]
        if op == b"NOT":
            result ^= (1 << (8 * size)) - 1
        for number in numbers[1:]:
            if op == b"AND":
                result &= number
            elif op == b"OR":
                result |= number
            else:
                result ^= number
        self.store(args[2], result.to_bytes(size, "big"))
        return size

    # ------------------------------------------------------------------ integer fields

    def cmd_bitfield(self, args):
        return self._bitfield(args, readonly=False)

    def cmd_bitfield_ro(self, args):
        return self._bitfield(args, readonly=True)

    def _bitfield(self, args: list[bytes], readonly: bool):
        ops = parse_field_ops(args)
        if ops.__class__ is Error:
            return ops
        if all(op.kind == b"GET" for op in ops):
            value = self.string(args[1]) or b""
            return [read_field(value, op.offset, op.width, op.signed) for op in ops]
        if readonly:
            return READONLY_GET_ONLY
        return self._bitfield_write(args[1], ops)

    def _bitfield_write(self, key: bytes, ops: list[FieldOp]) -> list:
        old = self.string(key)
        buf = bytearray(old or b"")
        size = (max(op.last_bit for op in ops if op.kind != b"GET") >> 3) + 1
        grown = old is None or len(buf) < size
        if len(buf) < size:
            buf += bytes(size - len(buf))
        replies, changes = [], 0
        for op in ops:
            was = read_field(buf, op.offset, op.width, op.signed)
            if op.kind == b"GET":
                replies.append(was)
                continue
            new = op.new_value(was)
            if new is None:
                replies.append(None)
                continue
            replies.append(was if op.kind == b"SET" else new)
            write_field(buf, op.offset, op.width, new)
            changes += grown or new != was
        if changes:
            self.store(key, bytes(buf), keep_ttl=True)
        elif grown:  # only failed writes: the string is made or padded all the same, silently
            self.db.data[key] = bytes(buf)
        return replies
