"""Cursor iteration, shared by SCAN, HSCAN, SSCAN and ZSCAN: how a cursor and the options are
read, and which elements a page holds.

Elements are visited in the order of a stable hash of their names (crc32, the same in every
process, so a cursor survives a failover); the cursor is the next hash value to look at, and all
the elements sharing a hash value go in one page. The order is a snapshot taken when an
iteration starts (cursor 0), or when none is kept for that value: an element there throughout
an iteration is in every snapshot taken since it began, so a full iteration returns it; one
added later may be missed, one deleted is skipped, as Redis allows. Snapshots of a few recently
scanned containers are kept (:class:`ScanOrders`).
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections import OrderedDict

from ..commands import NOT_INTEGER, SYNTAX_ERROR, option
from ..protocol import Error
from .glob import matcher
from .numbers import parse_int64

INVALID_CURSOR = Error("ERR invalid cursor")
C_SPACES = b" \t\n\v\f\r"


def parse_cursor(raw: bytes) -> int | None:
    """A cursor as Redis's ``strtoul`` reads it (base 10, up to the first NUL byte): "" is 0,
    an optional sign ("-1" wraps), nothing before or after the digits, nothing beyond 64 bits."""
    raw = raw.split(b"\0", 1)[0]
    if not raw:
        return 0
    digits = raw[1:] if raw[:1] in (b"+", b"-") else raw
    if not digits.isdigit() or raw[0] in C_SPACES:
        return None
    value = int(digits)
    if value >= 2**64:
        return None
    return (-value) % 2**64 if raw[:1] == b"-" else value


def scan_options(args: list[bytes], start: int, with_type: bool = False):
    """COUNT, MATCH (and for SCAN, TYPE) from ``args[start:]``: (count, match function or None,
    type name or None), or Redis's error."""
    count, match, kind = 10, None, None
    j = start
    while j < len(args):
        opt = option(args[j])
        if j + 1 >= len(args):
            return SYNTAX_ERROR
        if opt == b"COUNT":
            count = parse_int64(args[j + 1])
            if count is None:
                return NOT_INTEGER
            if count < 1:
                return SYNTAX_ERROR
        elif opt == b"MATCH":
            match = None if args[j + 1] == b"*" else matcher(args[j + 1])
        elif opt == b"TYPE" and with_type:
            kind = args[j + 1].decode("utf-8", "replace").lower()
        else:
            return SYNTAX_ERROR
        j += 2
    return count, match, kind


class Order:
    """A snapshot of a container's element names, in iteration order."""

    __slots__ = ("of", "hashes", "names")

    def __init__(self, of, names):
        self.of = of  # the container (or database) it was taken of
        self.names = sorted(names, key=zlib.crc32)  # (no Python code per name: 1M in 0.7 s)
        self.hashes = list(map(zlib.crc32, self.names))

    def page(self, cursor: int, count: int, alive) -> tuple[bytes, list[bytes]]:
        """From ``cursor``: (the next cursor, ``count`` names that are still ``alive``, with
        every other name sharing the last one's hash)."""
        hashes, names = self.hashes, self.names
        at, end = bisect_left(hashes, cursor), len(names)
        page, last = [], None
        while at < end and (len(page) < count or hashes[at] == last):
            last = hashes[at]
            if alive(names[at]):
                page.append(names[at])
            at += 1
        return (b"%d" % (last + 1) if at < end else b"0"), page


class ScanOrders:
    """The snapshots of the containers scanned most recently, by (database, key)."""

    def __init__(self, kept: int = 16):
        self.kept = kept
        self.orders: OrderedDict[tuple[int, bytes], Order] = OrderedDict()

    def order(self, db: int, key: bytes, container, names, restart: bool) -> Order:
        """The snapshot of ``container`` (at ``key``; its element ``names``): a new one if an
        iteration starts (``restart``) or none is kept for it."""
        where = (db, key)
        order = self.orders.get(where)
        if restart or order is None or order.of is not container:
            order = self.orders[where] = Order(container, names)
            if len(self.orders) > self.kept:
                self.orders.popitem(last=False)
        self.orders.move_to_end(where)
        return order
