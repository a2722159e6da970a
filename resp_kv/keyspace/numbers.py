"""Redis's number rules: strict 64-bit integers (``string2ll``), long doubles (``strtold``,
printed as Redis prints them), and the expiry-time arithmetic with its overflow checks."""

from __future__ import annotations

import re

import numpy

from ..commands import NOT_INTEGER
from ..protocol import Error

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
NOT_FLOAT = Error("ERR value is not a valid float")
MAX_LONG_DOUBLE_CHARS = 5 * 1024


def parse_int64(raw: bytes) -> int | None:
    """Redis's strict integer parsing: no spaces, no '+', no leading zeros, fits in 64 bits."""
    if not raw or len(raw) > 20 or raw[0] in b" +" or raw[-1:].isspace():
        return None
    if raw.lstrip(b"-").startswith(b"0") and raw != b"0":
        return None
    if raw.startswith(b"-") and (len(raw) == 1 or not raw[1:2].isdigit()):
        return None
    if not raw.lstrip(b"-").isdigit():
        return None
    value = int(raw)
    return value if INT64_MIN <= value <= INT64_MAX else None


def parse_int32(raw: bytes) -> int | None:
    value = parse_int64(raw)
    return value if value is not None and INT32_MIN <= value <= INT32_MAX else None


_NONZERO_DEC = re.compile(rb"[1-9]")
_NONZERO_HEX = re.compile(rb"[1-9a-fA-F]")
_INFINITY = re.compile(rb"[+-]?inf(inity)?", re.IGNORECASE)


def parse_long_double(raw: bytes):
    """``strtold`` as Redis's ``string2ld`` takes it (no spaces around, no NaN, no overflow
    or underflow to zero; "inf" itself is fine), as a numpy long double; None if refused."""
    if not raw or len(raw) >= MAX_LONG_DOUBLE_CHARS or raw[:1].isspace() or raw[-1:].isspace() or b"\0" in raw:
        return None
    try:
        with numpy.errstate(over="ignore", under="ignore"):
            value = numpy.longdouble(raw.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    if numpy.isnan(value):
        return None
    if numpy.isinf(value) and not _INFINITY.fullmatch(raw):
        return None  # ERANGE: too large
    if value == 0:
        body = raw.lstrip(b"+-")
        hexa = body[:2].lower() == b"0x"
        mantissa = re.split(rb"[pP]" if hexa else rb"[eE]", body[2:] if hexa else body)[0]
        if (_NONZERO_HEX if hexa else _NONZERO_DEC).search(mantissa):
            return None  # ERANGE: too small
    return value


def expire_time(raw: bytes, unit_ms: int, base_ms: int, command: str) -> int | Error:
    """An expiry time in ms from a command's argument (``unit_ms`` 1000 for seconds, 1;
    ``base_ms`` the time now for a relative time, 0 for an absolute one), with Redis's checks
    for what SET and GETEX accept (a positive time)."""
    value = parse_int64(raw)
    if value is None:
        return NOT_INTEGER
    if value <= 0 or value > INT64_MAX // unit_ms:
        return invalid_expire(command)
    value = value * unit_ms + base_ms
    return invalid_expire(command) if value > INT64_MAX else value


def invalid_expire(command: str) -> Error:
    return Error(f"ERR invalid expire time in '{command}' command")


def format_long_double(value) -> bytes:
    """``%.17Lf`` with the trailing zeros (and a trailing dot) removed, as Redis's
    human-friendly ``ld2string``; "-0" is "0"."""
    text = numpy.format_float_positional(value, precision=17, unique=False, fractional=True, trim="k")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text.encode()
