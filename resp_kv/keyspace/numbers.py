"""Redis's number rules: strict 64-bit integers (``string2ll``), long doubles (``strtold``,
x87 arithmetic, printed as Redis prints them), and the expiry-time arithmetic with its
overflow checks."""

from __future__ import annotations

import math
import re
from fractions import Fraction

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


# --------------------------------------------------------------------------- long doubles
# Redis computes INCRBYFLOAT in C's long double: on x86-64, the x87 80-bit format, a 64-bit
# significand and exponents from -16382. Values here are exact Fractions, always rounded to
# that format (to nearest, ties to even) after each step, as the hardware does.

SIGNIFICAND_BITS = 64
MIN_EXPONENT = -16382 - (SIGNIFICAND_BITS - 1)  # of the significand's last bit, subnormals included
MAX_EXPONENT = 16383 - (SIGNIFICAND_BITS - 1)
INFINITY = float("inf")

_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
_INFINITY = re.compile(rb"[+-]?inf(?:inity)?", re.IGNORECASE)
# An exponent beyond these overflows or underflows whatever the (at most 5 KB of) digits.
_CHUNK = 4000  # decimal digits converted at once
_EXPONENT_LIMIT = {10: 4951 + MAX_LONG_DOUBLE_CHARS, 2: 16445 + 4 * MAX_LONG_DOUBLE_CHARS}


def round_long_double(value: Fraction) -> Fraction | float:
    """The long double nearest to ``value`` (ties to even), or ±infinity past the largest."""
    if value == 0:
        return Fraction(0)
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length() - SIGNIFICAND_BITS
    while magnitude >= Fraction(2) ** (exponent + SIGNIFICAND_BITS):
        exponent += 1
    while magnitude < Fraction(2) ** (exponent + SIGNIFICAND_BITS - 1):
        exponent -= 1
    exponent = max(exponent, MIN_EXPONENT)
    significand = round(magnitude / Fraction(2) ** exponent)  # Fraction rounds ties to even
    if significand >= 2**SIGNIFICAND_BITS:
        significand //= 2
        exponent += 1
    if exponent > MAX_EXPONENT:
        return sign * INFINITY
    return sign * significand * Fraction(2) ** exponent


def parse_long_double(raw: bytes):
    """``strtold`` as Redis's ``string2ld`` takes it: the whole string, no spaces, no NaN, no
    overflow to infinity or underflow to zero ("inf" itself is fine). A Fraction (or ±inf)
    rounded to long double, None if refused."""
    if not raw or len(raw) >= MAX_LONG_DOUBLE_CHARS:
        return None
    if _INFINITY.fullmatch(raw):
        return -INFINITY if raw[:1] == b"-" else INFINITY
    if _DECIMAL.fullmatch(raw):
        mantissa, _, exponent = raw.lower().partition(b"e")
        whole, _, part = mantissa.lstrip(b"+-").partition(b".")
        exact = Fraction(_int(whole + part), 10 ** len(part))
        exact, power, base = -exact if mantissa.startswith(b"-") else exact, int(exponent or 0), 10
    elif _HEX.fullmatch(raw):
        body, _, exponent = raw.lower().partition(b"p")
        whole, _, part = body.lstrip(b"+-")[2:].partition(b".")
        exact = Fraction(int(whole + part or b"0", 16), 16 ** len(part))
        exact, power, base = -exact if body.startswith(b"-") else exact, int(exponent or 0), 2
    else:
        return None
    if exact == 0:
        return Fraction(0)
    if abs(power) > _EXPONENT_LIMIT[base]:  # far out of range (and too costly to compute)
        return None
    exact *= Fraction(base) ** power
    value = round_long_double(exact)
    if value in (INFINITY, -INFINITY) or (value == 0 and exact != 0):
        return None  # ERANGE
    return value


def _int(digits: bytes) -> int:
    """Decimal digits (any number of them: Python refuses more than 4300 at once) as an int."""
    if len(digits) <= _CHUNK:
        return int(digits or b"0")
    return _int(digits[:-_CHUNK]) * 10**_CHUNK + int(digits[-_CHUNK:])


def _text(number: int) -> str:
    """The decimal digits of a non-negative int, however many."""
    if number < 10**_CHUNK:
        return str(number)
    high, low = divmod(number, 10**_CHUNK)
    return _text(high) + str(low).zfill(_CHUNK)


def add_long_doubles(a, b):
    """``a + b`` in long double: exact, then rounded; None for NaN (inf - inf)."""
    infinite = [x for x in (a, b) if x in (INFINITY, -INFINITY)]
    if infinite:
        return infinite[0] if len(set(infinite)) == 1 else None
    return round_long_double(a + b)


def format_long_double(value: Fraction) -> bytes:
    """``%.17Lf`` (the exact value, rounded to 17 decimals, ties to even) with the trailing
    zeros and a trailing dot removed, as Redis's human-friendly ``ld2string``; "-0" is "0"."""
    scaled = round(abs(value) * 10**17)
    whole, frac = divmod(scaled, 10**17)
    text = f"{_text(whole)}.{frac:017d}".rstrip("0").rstrip(".")
    if value < 0 and text != "0":
        text = "-" + text
    return text.encode()


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


TIMEOUT_NOT_FLOAT = Error("ERR timeout is not a float or out of range")
TIMEOUT_NEGATIVE = Error("ERR timeout is negative")


def timeout_ms(raw: bytes) -> int | Error:
    """A blocking command's timeout (seconds, decimals allowed) in ms, 0 meaning for ever, as
    Redis's getTimeoutFromObjectOrReply: ``(long long) ceill(seconds * 1000.0)`` in long double.
    A value past the 64-bit range converts (on x86-64) to LLONG_MIN, so it is "negative" too."""
    seconds = parse_long_double(raw)
    if seconds is None:
        return TIMEOUT_NOT_FLOAT
    if seconds in (INFINITY, -INFINITY):
        return TIMEOUT_NEGATIVE
    ms = round_long_double(seconds * 1000)
    if ms in (INFINITY, -INFINITY):
        return TIMEOUT_NEGATIVE
    ms = math.ceil(ms)
    return TIMEOUT_NEGATIVE if ms < 0 or ms > INT64_MAX else ms
