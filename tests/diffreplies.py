"""How the differential test reads raw replies: decode one, find where one ends, split an
array into its elements' raw bytes, and compare replies whose order Redis leaves unspecified.
Shared by diffgen.py and the per-type stream modules (diffgen_*.py)."""

from __future__ import annotations

import hiredis


def parse(raw: bytes):
    """The reply ``raw`` decoded by hiredis (errors come back as hiredis.ReplyError instances)."""
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def is_error(value) -> bool:
    return isinstance(value, hiredis.ReplyError)


def reply_end(raw: bytes, pos: int = 0) -> int:
    """Where the one RESP2/RESP3 reply starting at ``raw[pos]`` ends (ValueError if it does not)."""
    line_end = raw.index(b"\r\n", pos)
    kind, head = raw[pos:pos + 1], raw[pos + 1:line_end]
    pos = line_end + 2
    if kind in b"+-:_,#(" and len(kind) == 1:
        return pos
    if kind in (b"$", b"!", b"="):
        size = int(head)
        return pos if size < 0 else pos + size + 2
    if kind in (b"*", b"~", b">", b"%", b"|"):
        count = int(head)
        for _ in range(max(count, 0) * (2 if kind in (b"%", b"|") else 1)):
            pos = reply_end(raw, pos)
        return pos
    raise ValueError(f"not a RESP reply at {pos}: {raw[pos - 2 - len(head):pos + 20]!r}")


def array_items(raw: bytes) -> list[bytes] | None:
    """The raw bytes of each element of the array reply ``raw``; None if it is not a whole array."""
    if not raw.startswith(b"*"):
        return None
    try:
        count = int(raw[1:raw.index(b"\r\n")])
        if count < 0:
            return None
        items, pos = [], raw.index(b"\r\n") + 2
        for _ in range(count):
            end = reply_end(raw, pos)
            items.append(raw[pos:end])
            pos = end
    except ValueError:
        return None
    return items if pos == len(raw) else None


def compare_unordered(cmd, a: bytes, b: bytes) -> str | None:
    """An array (or RESP3 set) whose order is unspecified: equal as multisets of raw elements."""
    if a == b:
        return None
    x, y = array_items(a), array_items(b)
    if x is None or y is None:
        x, y = _set_items(a), _set_items(b)
    if x is None or y is None:
        return "replies differ"
    return None if sorted(x) == sorted(y) else "different elements (as multisets)"


def compare_unordered_pairs(cmd, a: bytes, b: bytes) -> str | None:
    """Field/value pairs in an unspecified order: a flat RESP2 array of pairs, or a RESP3 map."""
    if a == b:
        return None
    x, y = pair_items(a), pair_items(b)
    if x is None or y is None:
        return "replies differ"
    return None if sorted(x) == sorted(y) else "different pairs (as multisets)"


def _set_items(raw: bytes) -> list[bytes] | None:
    """The raw elements of a RESP3 set reply (``~``)."""
    if not raw.startswith(b"~"):
        return None
    return array_items(b"*" + raw[1:])


def pair_items(raw: bytes) -> list[tuple[bytes, bytes]] | None:
    """The (raw field, raw value) pairs of a RESP2 flat array or a RESP3 map; None otherwise."""
    if raw[:1] == b"%":
        line_end = raw.index(b"\r\n")
        raw = b"*%d" % (2 * int(raw[1:line_end])) + raw[line_end:]
    flat = array_items(raw)
    if flat is None or len(flat) % 2:
        return None
    return list(zip(flat[::2], flat[1::2]))
