"""Random HyperLogLog commands for the differential test (mixed into diffgen.Generator, whose
``rng``, ``key()``, ``keys()``, ``value()`` and ``word()`` they use).

Elements come mostly from a small pool (so PFADD often changes nothing and answers 0), with edge
elements (empty, binary, 8-byte multiples for the hash's blocks), and now and then hundreds or
thousands at once: a sparse value grows past hll-sparse-max-bytes and turns dense, so PFMERGE and
PFCOUNT mix both encodings. The same keys hold strings, other types and hand-made "HYLL" strings:
a valid empty one with a cached count, dense ones of odd registers (52 and up count nowhere; all
50 or more overflow the estimate), sparse ones whose opcodes cover fewer or more than 16384
registers (PFADD changes what it can, then INVALIDOBJ), a bad encoding or length (WRONGTYPE).
Sparse values are never cut inside their last XZERO: after a PFADD splits such an opcode, Redis
keeps a byte past the string's end that the next command reads (a known difference).

Replies are deterministic: compared byte for byte; the data check GETs the values themselves."""

from __future__ import annotations

ELEMENTS = [b"a", b"b", b"c", b"d", b"e", b"foo", b"bar", b"1", b"2", b"10", b"-1", b"", b"\x00", b"\xff\xfe",
            b"x y", b"12345678", b"123456789", b"abcdefghijklmnop", b"k:1", b"a\r\nb", b"9223372036854775807",
            b"\x00" * 8, b"\xff" * 16, b"hello world"]
MANY = [20, 100, 300, 800, 1500, 3000]

HEADER = b"HYLL"
STALE = b"\x00" * 7 + b"\x80"


def xzero(run: int) -> bytes:
    return bytes([0x40 | (run - 1) >> 8, (run - 1) & 0xFF])


def val(value: int, run: int) -> bytes:
    return bytes([0x80 | (value - 1) << 2 | (run - 1)])


class HyperLogLogStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_pfadd", 30), ("g_pfadd_many", 2.5), ("g_pfcount", 12), ("g_pfmerge", 8), ("g_set_hll", 3),
    ]
    COMPARE: dict = {}
    NOT_IN_TX: tuple[str, ...] = ()

    # -- words ---------------------------------------------------------------------------------

    def element(self) -> bytes:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(ELEMENTS)
        if r < 0.85:
            return b"e%d" % self.rng.randrange(2000)
        return self.value()

    def sparse_body(self) -> bytes:
        """Random opcodes (an XZERO always whole) covering 16384 registers, or fewer, or more."""
        body, left = b"", self.rng.choice([16384, 16384, 16384, 16000, 16500, 100])
        while left > 0:
            r = self.rng.random()
            if r < 0.4:
                run = self.rng.randint(1, min(16384, left))
                body += xzero(run)
            elif r < 0.7:
                run = self.rng.randint(1, min(64, left))
                body += bytes([run - 1])
            else:
                run = self.rng.randint(1, min(4, left))
                body += val(self.rng.randint(1, 32), run)
            left -= run
        return body

    def hll_string(self) -> bytes:
        kind = self.rng.random()
        if kind < 0.15:  # valid, empty, with a cached count (PFCOUNT answers it unchecked)
            return HEADER + b"\x01\x00\x00\x00" + bytes([self.rng.randrange(256)]) + b"\x00" * 7 + xzero(16384)
        if kind < 0.35:  # dense, every register alike
            reg = self.rng.choice([0, 1, 5, 32, 33, 50, 51, 52, 63])
            b0, b1, b2 = (reg | reg << 6) & 0xFF, (reg >> 2 | reg << 4) & 0xFF, (reg >> 4 | reg << 2) & 0xFF
            return HEADER + b"\x00\x00\x00\x00" + STALE + bytes([b0, b1, b2]) * 4096
        if kind < 0.7:
            return HEADER + b"\x01" + bytes([0, 0, self.rng.choice([0, 0, 7])]) + STALE + self.sparse_body()
        if kind < 0.8:  # a dense value of the wrong length
            return HEADER + b"\x00\x00\x00\x00" + STALE + b"\x00" * self.rng.choice([0, 100, 12287, 12289])
        if kind < 0.9:  # an unknown encoding, or too short
            return HEADER + bytes([self.rng.choice([2, 255])]) + b"\x00" * 11 + xzero(16384)
        return self.rng.choice([b"HYLL", b"HYLL\x01", b"HYL\x01" + bytes(12) + xzero(16384), b"hyll" + bytes(14)])

    # -- commands ------------------------------------------------------------------------------

    def g_pfadd(self) -> list[bytes]:
        return [self.word(b"PFADD"), self.key()] + [self.element() for _ in range(self.rng.choice([0, 1, 1, 2, 3, 5]))]

    def g_pfadd_many(self) -> list[bytes]:
        """Hundreds or thousands at once: a sparse value turns dense (past 3000 bytes)."""
        n = self.rng.choice(MANY)
        start = self.rng.randrange(5000)
        return [self.word(b"PFADD"), self.key()] + [b"m%d" % i for i in range(start, start + n)]

    def g_pfcount(self) -> list[bytes]:
        return [self.word(b"PFCOUNT")] + self.keys(1, 4)

    def g_pfmerge(self) -> list[bytes]:
        dest = self.key()
        sources = self.keys(0, 3)
        if sources and self.rng.random() < 0.2:
            dest = self.rng.choice(sources)
        return [self.word(b"PFMERGE"), dest] + sources

    def g_set_hll(self) -> list[bytes]:
        return [self.word(b"SET"), self.key(), self.hll_string()]
