"""Redis 7's key specs: where a request's keys are, read from the specs COMMAND INFO publishes
(``redis_commands.json``), the way redis-server's COMMAND GETKEYS reads them.

A spec says where to begin (an ``index``, or just after a ``keyword`` searched from a position,
backwards if negative) and how to go on (a ``range`` up to ``lastkey`` every ``keystep``, or
``keynum``: a count of keys then the keys). A spec whose keyword is absent finds no keys; one
whose arguments do not fit makes the whole search fail (None), and an ``incomplete`` one too,
and then the command's own rule decides.
"""

from __future__ import annotations


def usable(specs: list[dict]) -> bool:
    """Redis prefers the specs if one of them names real keys and none has variable flags."""
    return (any("not_key" not in spec["flags"] for spec in specs)
            and not any("variable_flags" in spec["flags"] for spec in specs))


def keys_by_specs(specs: list[dict], args: list[bytes]) -> list[bytes] | None:
    """The keys of ``args`` (the command's name first), or None if the specs cannot say."""
    found = []
    for spec in specs:
        if "not_key" in spec["flags"]:
            continue
        first = _begin(spec["begin_search"], args)
        if first is None:
            return None
        if not first:  # its keyword is not there: no keys from this spec
            continue
        span = _find(spec["find_keys"], args, first)
        if span is None:
            return None
        first, last, step = span
        if last >= len(args) or last < first or first >= len(args):
            return None
        found += args[first:last + 1:step]
        if "incomplete" in spec["flags"]:
            return None
    return found


def _begin(begin: dict, args: list[bytes]) -> int | None:
    """Where a spec's keys begin (0: its keyword is absent; None: a kind we do not know)."""
    spec = begin["spec"]
    if begin["type"] == "index":
        return spec["index"]
    if begin["type"] != "keyword":
        return None
    start = spec["startfrom"] if spec["startfrom"] > 0 else len(args) + spec["startfrom"]
    end = len(args) - 1 if spec["startfrom"] > 0 else 1
    step = 1 if start <= end else -1
    keyword = spec["keyword"].encode().upper()
    i = start
    while i != end and 1 <= i < len(args):  # (Redis never looks at the end position itself)
        if args[i].split(b"\0", 1)[0].upper() == keyword:
            return i + 1
        i += step
    return 0


def _find(find: dict, args: list[bytes], first: int) -> tuple[int, int, int] | None:
    """(first, last, step) of a spec's keys, or None if its arguments do not fit."""
    spec = find["spec"]
    if find["type"] == "range":
        if spec["lastkey"] >= 0:
            return first, first + spec["lastkey"], spec["keystep"]
        if not spec["limit"]:
            return first, len(args) + spec["lastkey"], spec["keystep"]
        return first, first + (len(args) - first) // spec["limit"] + spec["lastkey"], spec["keystep"]
    if find["type"] != "keynum" or spec["keynumidx"] >= len(args) or first + spec["keynumidx"] >= len(args):
        return None
    count = _int64(args[first + spec["keynumidx"]])
    if count is None or count < 0:
        return None
    first += spec["firstkey"]
    return first, first + count - 1, spec["keystep"]


def _int64(word: bytes) -> int | None:
    """A decimal int64 written as Redis writes one (string2ll's strictness), or None."""
    try:
        value = int(word)
    except ValueError:
        return None
    return value if word == b"%d" % value and -(2**63) <= value < 2**63 else None
