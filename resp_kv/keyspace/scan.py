"""Cursor iteration, shared by SCAN, HSCAN, SSCAN and ZSCAN: how a cursor and the options are
read, and which elements a page holds.

An iteration starts (cursor 0) with a snapshot of the element names, a plain copy in whatever
order the container keeps them (a C-speed copy: a million keys in a few milliseconds, so a SCAN
never stalls the server); a cursor names the snapshot and a position in it. An element there
throughout an iteration is in its snapshot, so a full iteration returns it; one added later is
missed, one deleted is skipped (each page keeps only live names), as Redis allows.

Each server keeps its own snapshots, numbered from a random start, so a cursor names nothing on
another server (or once its snapshot was dropped, the least recently used going first): then
the iteration starts over, which returns some elements twice, as Redis allows, and misses none.
"""

from __future__ import annotations

import secrets
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
    """One iteration's snapshot of a container's (or a database's) element names."""

    __slots__ = ("scope", "names")

    def __init__(self, scope, names):
        self.scope = scope  # (database index, key), or (database index, None) for SCAN
        self.names = list(names)


class ScanOrders:
    """The snapshots of the iterations in progress, by number; a cursor is the number and the
    position (``number << 32 | position``), never 0."""

    def __init__(self, kept: int = 16, max_names: int = 8_000_000):
        self.kept = kept  # snapshots at most
        self.max_names = max_names  # names in all of them at most (8 bytes of memory each)
        self.names = 0
        self.orders: OrderedDict[int, Order] = OrderedDict()
        self.next_number = secrets.randbelow(2**31 - 1) + 1

    def page(self, scope, names, cursor: int, count: int, alive) -> tuple[bytes, list[bytes]]:
        """From ``cursor`` (0: start) over ``scope``'s ``names``: (the next cursor, up to
        ``count`` names that are still ``alive``)."""
        number, at = cursor >> 32, cursor & 0xFFFFFFFF
        order = self.orders.get(number) if cursor else None
        if order is None or order.scope != scope:
            number = self._start(scope, names)
            order, at = self.orders[number], 0
        else:
            self.orders.move_to_end(number)
        end = min(at + count, len(order.names))
        found = [name for name in order.names[at:end] if alive(name)]
        if end >= len(order.names):
            self._drop(number)
            return b"0", found
        return b"%d" % (number << 32 | end), found

    def _start(self, scope, names) -> int:
        """A new snapshot: its number."""
        number = self.next_number
        self.next_number = number % (2**31 - 1) + 1
        self._drop(number)  # (a number from 2**31 iterations ago)
        order = self.orders[number] = Order(scope, names)
        self.names += len(order.names)
        while len(self.orders) > self.kept or (self.names > self.max_names and len(self.orders) > 1):
            self._drop(next(iter(self.orders)))
        return number

    def _drop(self, number: int) -> None:
        order = self.orders.pop(number, None)
        if order is not None:
            self.names -= len(order.names)
