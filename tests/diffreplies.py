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


def compare_random_pick(cmd, a: bytes, b: bytes) -> str | None:
    """HRANDFIELD / ZRANDMEMBER / SRANDMEMBER-like picks at random: the same shape (type,
    length, nesting), distinct picks for a positive count, the whole value alike when a positive
    count covers it, and the same value (or score) for an element both picked."""
    if a == b:
        return None
    x, y = parse(a), parse(b)
    if a[:1] != b[:1] or is_error(x) or is_error(y):
        return "replies differ"
    if isinstance(x, bytes) and isinstance(y, bytes):
        return None  # no count: one element each
    rx, ry = array_items(a), array_items(b)
    if rx is None or ry is None or len(rx) != len(ry):
        return "different lengths or not arrays"
    if [r[:1] for r in rx] != [r[:1] for r in ry]:
        return "different element types"
    paired = len(cmd) == 4  # WITHVALUES / WITHSCORES
    px, py = _picks(x, paired), _picks(y, paired)
    if px is None or py is None:
        return "not element/value pairs"
    count = int(cmd[2])
    if count > 0:
        for picks in (px, py):
            if len({element for element, _ in picks}) != len(picks):
                return "an element picked twice for a positive count"
        if len(px) < count and sorted(px) != sorted(py):
            return "the whole value differs"
    values = dict(px)
    if any(element in values and values[element] != value for element, value in py):
        return "an element picked by both with different values"
    return None


def _picks(reply, paired: bool):
    """[(element, value or None)] of a random pick's count reply; None if it is not shaped so."""
    if not paired:
        return [(e, None) for e in reply] if all(isinstance(e, bytes) for e in reply) else None
    if all(isinstance(p, list) and len(p) == 2 for p in reply):  # RESP3: [element, value] arrays
        return [tuple(p) for p in reply]
    if len(reply) % 2 == 0 and all(isinstance(w, bytes) for w in reply):
        return list(zip(reply[::2], reply[1::2]))
    return None
