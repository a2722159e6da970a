"""The HyperLogLog commands (PFADD, PFCOUNT, PFMERGE), as Redis 7.0's ``hyperloglog.c`` defines
them: a HyperLogLog is a string value holding Redis's representation byte for byte, so GET,
DUMP and every string command see what redis-server holds after the same commands.

The value: a 16-byte header ("HYLL", the encoding: 0 dense, 1 sparse, three unused bytes, the
cached cardinality, little endian, whose top bit says it is stale), then the 16384 six-bit
registers, either packed (dense: 12288 bytes) or as run-length opcodes (sparse: ZERO ``00llllll``,
XZERO ``01llllll llllllll``, VAL ``1vvvvvll``). A new one is sparse; it turns dense when a
register needs more than 32 or when a change would make it longer than hll-sparse-max-bytes
(3000). Each element's register and value come from MurmurHash64A (Redis's seed), and the
estimate is Redis 7.0's (Ertl's tau and sigma), in the same double operations, so the counts
are redis-server's to the unit.

A sparse value being changed is a list of opcodes (bytes) with each one's first register, so a
register is found by bisection and a split or merge is a list splice: what Redis does to the
bytes, done to the opcodes, including its quirks (adjacent VALs merged only near the change,
runs never joined again). A corrupted sparse value (its opcodes do not cover exactly 16384
registers) is changed as far as Redis would change it before it notices, and kept so; if the
last opcode is an XZERO cut after its first byte, the missing byte reads as 0 (Redis's string
terminator). One difference remains: when a PFADD splits such a cut XZERO, Redis writes the last
byte of what replaces it past the string's end, and the next command reads that byte; here the
next command reads 0. The opcodes of the sparse values commands just made are kept (``DECODED``),
so a command on one does not decode it again.

PFCOUNT of one key stores the estimate in the header (Redis does: it is a write of the value);
the backup runs PFCOUNT too, so both keep the same bytes. Registers of several values are merged
as one big integer per value (a byte per register), a byte-wise max in a few integer operations.
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_right
from collections import Counter
from itertools import accumulate

from ..protocol import OK, Error
from .db import WRONGTYPE, CommandError

NOT_HLL = Error("WRONGTYPE Key is not a valid HyperLogLog string value.")
CORRUPTED = Error("INVALIDOBJ Corrupted HLL object detected")

HEADER_SIZE = 16
REGISTERS = 16384
INDEX_BITS = 14
Q = 64 - INDEX_BITS
DENSE_BYTES = REGISTERS * 6 // 8
DENSE_SIZE = HEADER_SIZE + DENSE_BYTES
DENSE, SPARSE = 0, 1
SPARSE_MAX_BYTES = 3000  # hll-sparse-max-bytes' default
SPARSE_VAL_MAX = 32
ZERO_MAX = 64
XZERO_MAX = 16384
STALE = 0x80  # the top bit of the cached cardinality's last byte
SEED = 0xADC83B19
MURMUR_M = 0xC6A4A7935BD1E995
U64 = (1 << 64) - 1
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)

# One opcode: an XZERO is two bytes (the second may be missing at the very end), the rest one.
OPCODE = re.compile(rb"[\x40-\x7f][\x00-\xff]?|[\x00-\x3f\x80-\xff]")


def _spans() -> dict[bytes, int]:
    spans = {bytes([b]): (b & 0x3F) + 1 for b in range(0x40)}
    spans.update({bytes([b]): (b & 3) + 1 for b in range(0x80, 0x100)})
    spans.update({bytes([0x40 | hi, lo]): (hi << 8 | lo) + 1 for hi in range(0x40) for lo in range(0x100)})
    return spans


SPAN = _spans()  # opcode -> how many registers it covers


def val_op(value: int, run: int) -> bytes:
    return bytes([0x80 | (value - 1) << 2 | (run - 1)])


def zero_op(run: int) -> bytes:
    """A run of zero registers: ZERO up to 64, XZERO beyond."""
    if run > ZERO_MAX:
        return bytes([0x40 | (run - 1) >> 8, (run - 1) & 0xFF])
    return bytes([run - 1])


# Sparse values decoded lately (value -> opcodes, first registers, hidden bytes), so that a
# command on a value a command just made does not decode it again. Only a shortcut: a value
# decodes the same whether it is here or not.
DECODED: dict[bytes, tuple[list[bytes], list[int], int]] = {}
DECODED_MAX = 32

EMPTY_SPARSE = b"HYLL\x01" + bytes(11) + zero_op(XZERO_MAX)


# ---------------------------------------------------------------------- hashing


def murmur64a(data: bytes, seed: int = SEED) -> int:
    """MurmurHash64A as Redis has it (the 8-byte blocks read little endian)."""
    m, length = MURMUR_M, len(data)
    h = (seed ^ (length * m)) & U64
    blocks = length >> 3
    for k in struct.unpack_from("<%dQ" % blocks, data):
        k = (k * m) & U64
        k ^= k >> 47
        h ^= (k * m) & U64
        h = (h * m) & U64
    if length & 7:
        h ^= int.from_bytes(data[blocks << 3:], "little")
        h = (h * m) & U64
    h ^= h >> 47
    h = (h * m) & U64
    return h ^ (h >> 47)


def register_for(element: bytes) -> tuple[int, int]:
    """The register an element falls in, and the value it offers: the length of the run of
    zeroes (and the one ending it) in the hash above the index bits."""
    h = murmur64a(element)
    rest = (h >> INDEX_BITS) | (1 << Q)
    return h & (REGISTERS - 1), (rest & -rest).bit_length()


# ---------------------------------------------------------------------- the estimate


def tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        before = z
        y *= 0.5
        gap = 1 - x
        z -= gap * gap * y
        if before == z:
            return z / 3


def sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        before = z
        z += x * y
        y += y
        if before == z:
            return z


def llround(x: float) -> int:
    """C's llroundl of a double: half away from zero; LLONG_MIN for what does not fit."""
    if not math.isfinite(x) or abs(x) >= 2.0**63:
        return -(2**63)
    whole = math.floor(x)
    return int(whole) + (1 if x - whole >= 0.5 else 0)


def estimate(histogram: list[int]) -> int:
    """Redis 7.0's hllCount from the register histogram (its result as a uint64)."""
    m = float(REGISTERS)
    z = m * tau((m - histogram[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histogram[j]
        z *= 0.5
    z += m * sigma(histogram[0] / m)
    return llround(ALPHA_INF * m * m / z if z else math.inf) & U64


COUNTED = [bytes([v]) for v in range(Q + 2)]  # the register values the estimate counts


def raw_histogram(raw: bytes) -> list[int]:
    """The histogram of one register per byte (values above Q + 1 do not count). A value's
    presence is a quick scan, its count a slower one: only present values are counted."""
    return [raw.count(v) if v in raw else 0 for v in COUNTED]


# ---------------------------------------------------------------------- dense registers


def _table(f) -> bytes:
    return bytes(f(b) & 0xFF for b in range(256))


# Byte-wise shifts and masks, for bytes.translate (SHR2: b >> 2; LOW4_SHL2: (b & 15) << 2).
LOW6, SHR2, SHR4, SHR6 = _table(lambda b: b & 63), _table(lambda b: b >> 2), _table(lambda b: b >> 4), \
    _table(lambda b: b >> 6)
LOW4_SHL2, LOW2_SHL4 = _table(lambda b: (b & 15) << 2), _table(lambda b: (b & 3) << 4)
SHL6, SHL4, SHL2 = _table(lambda b: b << 6), _table(lambda b: b << 4), _table(lambda b: b << 2)


def _or(a: bytes, b: bytes) -> bytes:
    """Byte-wise OR of two equally long strings."""
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def unpack(packed: bytes) -> bytes:
    """Dense registers (6 bits each, from the low bits up) -> one byte per register."""
    b0, b1, b2 = packed[0::3], packed[1::3], packed[2::3]
    raw = bytearray(REGISTERS)
    raw[0::4] = b0.translate(LOW6)
    raw[1::4] = _or(b0.translate(SHR6), b1.translate(LOW4_SHL2))
    raw[2::4] = _or(b1.translate(SHR4), b2.translate(LOW2_SHL4))
    raw[3::4] = b2.translate(SHR2)
    return bytes(raw)


def pack(raw: bytes) -> bytearray:
    """One byte per register (each below 64) -> dense registers."""
    r0, r1, r2, r3 = raw[0::4], raw[1::4], raw[2::4], raw[3::4]
    packed = bytearray(DENSE_BYTES)
    packed[0::3] = _or(r0, r1.translate(SHL6))
    packed[1::3] = _or(r1.translate(SHR2), r2.translate(SHL4))
    packed[2::3] = _or(r2.translate(SHR4), r3.translate(SHL2))
    return packed


HIGH_BITS = int.from_bytes(b"\x80" * REGISTERS, "little")


def max_registers(a: int, b: int) -> int:
    """The register-wise max of two byte-per-register values (as little-endian integers)."""
    a_wins = ((((a | HIGH_BITS) - b) & HIGH_BITS) >> 7) * 0xFF
    return (a & a_wins) | (b & ~a_wins)


# ---------------------------------------------------------------------- one value


class HyperLogLog:
    """A value being read or changed: its header, and either its dense registers (``dense``,
    packed) or its sparse opcodes (``ops``, each one's first register in ``firsts``, with the
    total after the last; ``length``: the opcodes' bytes as Redis counts them)."""

    __slots__ = ("header", "dense", "ops", "firsts", "length", "hidden")

    def __init__(self, value: bytes):
        self.header = bytearray(value[:HEADER_SIZE])
        self.dense = self.ops = self.firsts = None
        if self.header[4] == DENSE:
            self.dense = bytearray(value[HEADER_SIZE:])
            return
        self.length = len(value) - HEADER_SIZE
        decoded = DECODED.get(value)
        if decoded is None:
            decoded = self._decode(value[HEADER_SIZE:])
        ops, firsts, self.hidden = decoded
        self.ops, self.firsts = list(ops), list(firsts)  # the decoded lists may be shared: copies

    @staticmethod
    def _decode(body: bytes) -> tuple[list[bytes], list[int], int]:
        """The opcodes, their first registers, and how many bytes of the last one are past the
        end (1 for an XZERO cut short: its second byte reads as the terminator, 0)."""
        ops, hidden = OPCODE.findall(body), 0
        if ops and len(ops[-1]) == 1 and 0x40 <= ops[-1][0] < 0x80:
            ops[-1] += b"\x00"
            hidden = 1
        return ops, list(accumulate(map(SPAN.__getitem__, ops), initial=0)), hidden

    def encode(self) -> bytes:
        """The value's bytes; a sparse one's opcodes are kept for the next command on it (the
        object must not change after this)."""
        if self.dense is not None:
            return bytes(self.header) + self.dense
        value = bytes(self.header) + b"".join(self.ops)[:self.length]
        self.remember(value)
        return value

    def remember(self, value: bytes) -> None:
        """Keep this sparse value's opcodes for the next command on ``value``."""
        if len(DECODED) >= DECODED_MAX:
            del DECODED[next(iter(DECODED))]
        DECODED[value] = (self.ops, self.firsts, self.hidden)

    def set_stale(self) -> None:
        self.header[15] |= STALE

    def cached(self) -> int | None:
        return None if self.header[15] & STALE else int.from_bytes(self.header[8:], "little")

    # -- registers

    def add(self, index: int, count: int) -> int:
        """Raise a register to ``count`` if it is lower: 1 if it was, 0 if not, -1 if a sparse
        value turned out to be corrupted (Redis's hllSparseSet / hllDenseSet)."""
        if self.dense is not None:
            return self._dense_add(index, count)
        if count > SPARSE_VAL_MAX:
            return self._promote(index, count)
        return self._sparse_add(index, count)

    def _dense_add(self, index: int, count: int) -> int:
        regs, bit = self.dense, index * 6
        byte, shift = bit >> 3, bit & 7
        wide = shift > 2  # the register goes on in the next byte
        word = regs[byte] | (regs[byte + 1] << 8 if wide else 0)
        if (word >> shift) & 63 >= count:
            return 0
        word = (word & ~(63 << shift)) | (count << shift)
        regs[byte] = word & 0xFF
        if wide:
            regs[byte + 1] = word >> 8
        return 1

    def _sparse_add(self, index: int, count: int) -> int:
        ops, firsts = self.ops, self.firsts
        at = bisect_right(firsts, index) - 1
        if at >= self._visible():
            return -1
        op = ops[at][0]
        first, last = firsts[at], firsts[at + 1] - 1
        if op & 0x80:
            value, run = ((op >> 2) & 31) + 1, (op & 3) + 1
            if value >= count:
                return 0
        else:
            value, run = 0, last - first + 1
        if run == 1 and not 0x40 <= op < 0x80:  # a VAL or ZERO of one register: rewritten
            ops[at] = val_op(count, 1)
        else:
            new_ops, new_firsts = self._split(value, first, last, index, count)
            grows = sum(map(len, new_ops)) - len(ops[at])
            if grows > 0 and HEADER_SIZE + self.length + grows > SPARSE_MAX_BYTES:
                return self._promote(index, count)
            ops[at:at + 1] = new_ops
            firsts[at:at + 1] = new_firsts
            self.length += grows
            if at + len(new_ops) < len(ops):  # else the last byte written is the one past the end
                self._terminate()
        self._merge_after(at)
        self.set_stale()
        return 1

    @staticmethod
    def _split(value: int, first: int, last: int, index: int, count: int) -> tuple[list[bytes], list[int]]:
        """The opcodes that replace a run (of zeroes, or of ``value``) when ``index`` in it
        becomes ``count``, and their first registers."""
        run = zero_op if value == 0 else (lambda n: val_op(value, n))
        ops, firsts = [], []
        if index != first:
            ops.append(run(index - first))
            firsts.append(first)
        ops.append(val_op(count, 1))
        firsts.append(index)
        if index != last:
            ops.append(run(last - index))
            firsts.append(index + 1)
        return ops, firsts

    def _merge_after(self, at: int) -> None:
        """Redis's step 4: from the opcode before the change, up to five steps, join adjacent
        VALs of the same value whose runs fit in one."""
        ops, firsts = self.ops, self.firsts
        q = max(at - 1, 0)
        for _ in range(5):
            visible = self._visible()
            if q >= visible:
                return
            a = ops[q][0]
            if a & 0x80 and q + 1 < visible:
                b = ops[q + 1][0]
                run = (a & 3) + (b & 3) + 2
                if b & 0x80 and (a ^ b) & 0x7C == 0 and run <= 4:
                    ops[q] = bytes([(a & 0xFC) | (run - 1)])
                    del ops[q + 1], firsts[q + 1]
                    self.length -= 1
                    self._terminate()
                    continue
            q += 1

    def _terminate(self) -> None:
        """Redis changed the value's length, so the byte past its end is the terminator (0)
        again: so is the hidden last byte of a cut XZERO's replacement."""
        if self.hidden:
            self.ops[-1] = self.ops[-1][:-1] + b"\x00"
            self.firsts[-1] = self.firsts[-2] + SPAN[self.ops[-1]]

    def _visible(self) -> int:
        """How many opcodes start before the value's end (after a cut XZERO is split, the
        last byte of what replaced it lies past the end, as in Redis)."""
        ops = self.ops
        if ops and len(ops[-1]) <= self.hidden:
            return len(ops) - 1
        return len(ops)

    # -- whole values

    def sparse_raw(self) -> bytes | None:
        """A sparse value's registers, a byte each; None if its opcodes do not cover exactly
        all of them."""
        visible = self._visible()
        if self.firsts[visible] != REGISTERS:
            return None
        raw = bytearray(REGISTERS)
        for op, first in zip(self.ops[:visible], self.firsts):
            b = op[0]
            if b & 0x80:
                raw[first:first + (b & 3) + 1] = bytes([((b >> 2) & 31) + 1]) * ((b & 3) + 1)
        return bytes(raw)

    def raw(self) -> bytes | None:
        return unpack(self.dense) if self.dense is not None else self.sparse_raw()

    def to_dense(self) -> bool:
        """Turn a sparse value dense (Redis's hllSparseToDense); False if it is corrupted."""
        if self.dense is not None:
            return True
        raw = self.sparse_raw()
        if raw is None:
            return False
        self.dense, self.ops, self.firsts = pack(raw), None, None
        self.header[4] = DENSE
        return True

    def _promote(self, index: int, count: int) -> int:
        if not self.to_dense():
            return -1
        return self._dense_add(index, count)

    def histogram(self) -> list[int] | None:
        """The register histogram hllCount uses; None for a corrupted sparse value."""
        if self.dense is not None:
            return raw_histogram(unpack(self.dense))
        visible = self._visible()
        if self.firsts[visible] != REGISTERS:
            return None
        histogram = [0] * (Q + 2)
        for op, times in Counter(self.ops[:visible]).items():
            b = op[0]
            if b & 0x80:  # VAL (one byte): the rest are zeroes
                histogram[((b >> 2) & 31) + 1] += times * ((b & 3) + 1)
        histogram[0] = REGISTERS - sum(histogram)
        return histogram


def empty() -> HyperLogLog:
    return HyperLogLog(EMPTY_SPARSE)


def is_hll(value: bytes) -> bool:
    """Redis's isHLLObjectOrReply, for a string value."""
    return (len(value) >= HEADER_SIZE and value[:4] == b"HYLL" and value[4] <= SPARSE
            and (value[4] == SPARSE or len(value) == DENSE_SIZE))


def signed(card: int) -> int:
    return card - (1 << 64) if card >> 63 else card


class HyperLogLogCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``lookup``, ``store``."""

    def _hll_value(self, key: bytes) -> bytes | None:
        """A key's value if it is a HyperLogLog, None if there is no key; WRONGTYPE otherwise."""
        value = self.lookup(key)
        if value is None:
            return None
        if value.__class__ is not bytes:
            raise CommandError(WRONGTYPE)
        if not is_hll(value):
            raise CommandError(NOT_HLL)
        return value

    def cmd_pfadd(self, args):
        key = args[1]
        value = self._hll_value(key)
        hll = HyperLogLog(value) if value is not None else empty()
        updated = value is None
        for element in args[2:]:
            result = hll.add(*register_for(element))
            if result < 0:
                if updated:  # Redis changed the value in place before it noticed; no one is told
                    self.db.data[key] = hll.encode()
                return CORRUPTED
            updated = updated or result == 1
        if not updated:
            return 0
        hll.set_stale()
        self.store(key, hll.encode(), keep_ttl=True)
        return 1

    def cmd_pfcount(self, args):
        if len(args) > 2:
            return self._union_count(args[1:])
        key = args[1]
        value = self._hll_value(key)
        if value is None:
            return 0
        hll = HyperLogLog(value)
        card = hll.cached()
        if card is None:
            histogram = hll.histogram()
            if histogram is None:
                return CORRUPTED
            card = estimate(histogram)
            hll.header[8:] = card.to_bytes(8, "little")
            self.store(key, hll.encode(), keep_ttl=True)
        return signed(card)

    def _merged(self, keys: list[bytes]) -> tuple[int, bool]:
        """The register-wise max of the keys' values (missing keys are empty), and whether one
        of them is dense. Raises the error of the first key that is not a valid HyperLogLog."""
        merged, dense = 0, False
        for key in keys:
            value = self._hll_value(key)
            if value is None:
                continue
            hll = HyperLogLog(value)
            raw = hll.raw()
            if raw is None:
                raise CommandError(CORRUPTED)
            dense = dense or hll.dense is not None
            merged = max_registers(merged, int.from_bytes(raw, "little"))
        return merged, dense

    def _union_count(self, keys: list[bytes]) -> int:
        merged, _ = self._merged(keys)
        return signed(estimate(raw_histogram(merged.to_bytes(REGISTERS, "little"))))

    def cmd_pfmerge(self, args):
        dest = args[1]
        merged, dense = self._merged(args[1:])  # the destination is a source too
        value = self.lookup(dest)
        hll = HyperLogLog(value) if value is not None else empty()
        if dense:
            hll.to_dense()  # it was merged: it is not corrupted
        if hll.dense is None:
            self._merge_sparse(hll, merged.to_bytes(REGISTERS, "little"))
        if hll.dense is not None:
            current = int.from_bytes(unpack(hll.dense), "little")
            hll.dense = pack(max_registers(current, merged).to_bytes(REGISTERS, "little"))
        hll.set_stale()
        self.store(dest, hll.encode(), keep_ttl=True)
        return OK

    @staticmethod
    def _merge_sparse(hll: HyperLogLog, raw: bytes) -> None:
        """Raise the sparse value's registers one by one, as Redis does, until they are all
        done or it turns dense (then the rest is the caller's, at once)."""
        for match in NONZERO.finditer(raw):
            index = match.start()
            hll.add(index, raw[index])
            if hll.dense is not None:
                return


NONZERO = re.compile(rb"[^\x00]")
