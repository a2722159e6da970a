"""Redis's glob-style patterns (KEYS, SCAN MATCH), compiled to a regular expression once:
``*`` any bytes, ``?`` one byte, ``[abc]``/``[^a-z]`` a class (a reversed range counts, an
unclosed class runs to the end of the pattern), ``\\x`` the byte x itself."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def matcher(pattern: bytes, every_key: bool = True):
    """A function telling whether a key matches ``pattern``. As Redis: the empty key matches only
    the empty pattern, except that KEYS and SCAN take "*" alone as every key (``every_key``; a
    pub/sub pattern "*" does not match the empty channel)."""
    if pattern == b"*" and every_key:
        return lambda key: True
    if not pattern:
        return lambda key: not key
    out = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i : i + 1]
        if ch == b"*":
            out.append(b".*")
        elif ch == b"?":
            out.append(b".")
        elif ch == b"\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i : i + 1]))
        elif ch == b"[":
            i, cls = _class(pattern, i + 1)
            out.append(cls)
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    match = re.compile(b"".join(out), re.DOTALL).fullmatch
    return lambda key: bool(key) and match(key) is not None


def _class(pattern: bytes, i: int) -> tuple[int, bytes]:
    """The class starting after '[' at ``i``: (where the pattern goes on, its regex)."""
    n = len(pattern)
    negate = i < n and pattern[i] == 0x5E  # '^'
    if negate:
        i += 1
    members = []
    while i < n and pattern[i] != 0x5D:  # ']'
        if pattern[i] == 0x5C and i + 1 < n:  # '\': the next byte itself
            members.append(re.escape(pattern[i + 1 : i + 2]))
            i += 2
        elif i + 2 < n and pattern[i + 1] == 0x2D:  # 'a-z' (Redis takes 'z-a' as 'a-z')
            lo, hi = sorted((pattern[i], pattern[i + 2]))
            members.append(re.escape(bytes([lo])) + b"-" + re.escape(bytes([hi])))
            i += 3
        else:
            members.append(re.escape(pattern[i : i + 1]))
            i += 1
    body = b"".join(members)
    if not body:
        return i + 1, (b"[\\x00-\\xff]" if negate else b"(?!)")
    return i + 1, b"[" + (b"^" if negate else b"") + body + b"]"
