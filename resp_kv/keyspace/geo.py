"""The geospatial commands, as Redis 7.0's ``geo.c``, ``geohash.c`` and ``geohash_helper.c``
define them: each one small method of :class:`GeoCommands`, mixed into the store. Replies, their
order and error wording are redis-server's.

A geo index is a sorted set (:class:`~.values.ZSet`) whose scores are 52-bit geohashes: the
longitude's and the latitude's cell numbers at 26 bits each, interleaved (the latitude on the
even bits), over Redis's ranges (-180..180, and -85.05112878..85.05112878, Web Mercator's). A
score is read back as the centre of its cell, whatever the score (Redis converts it to a 64-bit
unsigned integer as x86-64 does, so a score no GEOADD wrote still names some cell).

A search (GEORADIUS, GEOSEARCH and co.) walks what Redis walks: the cell holding the centre at
a precision fitted to the radius, then its eight neighbours (north, south, east, west, north-east,
north-west, south-east, south-west), minus those the search area cannot reach and a neighbour
equal to the box walked just before it; each box is one score range of the sorted set, walked in
its order. The points come out in that order unless sorted by distance: a full sort is glibc's
``qsort`` (a stable merge sort), and a sort for the first COUNT of more points is Redis's own
partial quicksort (``pqsort``), which is not stable: both are reproduced here, so ties (points at
the same distance) come out as redis-server puts them. Distances are the haversine formula on
Redis's earth radius, in the same double arithmetic (``math`` calls the C library's sin, cos and
asin: the same results as redis-server's where both use the same libm, as here, glibc).
Like Redis, a search decodes every point of the boxes it walks: O(points in the boxes).

Numbers are written as Redis writes them: a distance with ``fixedpoint_d2string`` (four decimals),
a coordinate as ``addReplyHumanLongDouble`` (``%.17Lf`` without trailing zeros: a bulk string in
RESP2, a double in RESP3).
"""

from __future__ import annotations

import math

from ..commands import NOT_INTEGER, SYNTAX_ERROR, option
from ..protocol import NULL_ARRAY, Error, HumanDouble, c_string
from .db import CommandError
from .numbers import INT64_MAX, INT64_MIN, NOT_FLOAT, parse_int64
from .pqsort import pqsort
from .values import ZSet
from .zsets import parse_score

LONG_MIN, LONG_MAX = -180.0, 180.0
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878  # Web Mercator's limits (EPSG:900913)
STEP_MAX = 26  # bits per coordinate in a score: 52 in all
EARTH_RADIUS = 6372797.560856  # metres, Redis's
MERCATOR_MAX = 20037726.37
DEG_RAD = math.pi / 180.0
UNITS = {b"M": 1.0, b"KM": 1000.0, b"FT": 0.3048, b"MI": 1609.34}  # metres in one
BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"

U64 = (1 << 64) - 1
EVEN_BITS, ODD_BITS = 0x5555555555555555, 0xAAAAAAAAAAAAAAAA

UNSUPPORTED_UNIT = Error("ERR unsupported unit provided. please use M, KM, FT, MI")
NOT_A_MEMBER = Error("ERR could not decode requested zset member")
NEGATIVE_RADIUS = Error("ERR radius cannot be negative")
NEGATIVE_BOX = Error("ERR height or width cannot be negative")
COUNT_NOT_POSITIVE = Error("ERR COUNT must be > 0")
ANY_WITHOUT_COUNT = Error("ERR the ANY argument requires COUNT argument")

# georadiusGeneric's variants
AROUND_COORDS, AROUND_MEMBER, NO_STORE, SEARCH, SEARCH_STORE = (1 << i for i in range(5))
RADIUS, BOX = "radius", "box"


# ---------------------------------------------------------------------------- C's arithmetic


def _cos(x: float) -> float:
    """C's ``cos``: NaN (not an exception) for an infinite argument."""
    return math.cos(x) if math.isfinite(x) else math.nan


def _asin(x: float) -> float:
    """C's ``asin``: NaN (not an exception) outside [-1, 1] (rounding can take a haversine there)."""
    return math.asin(x) if -1.0 <= x <= 1.0 else math.nan


def _uint64(score: float) -> int:
    """``(uint64_t) score`` as x86-64 code computes it, for any double (what C leaves undefined:
    below 2**63 a signed conversion, else one of ``score - 2**63``; out of range is 2**63)."""
    if score != score:
        return 1 << 63
    if score < 2.0**63:
        return int(score) & U64 if score >= -(2.0**63) else 1 << 63
    rest = score - 2.0**63
    return (int(rest) if rest < 2.0**63 else 1 << 63) ^ (1 << 63)


def _llrint(x: float) -> int:
    """``llrint``: to the nearest integer (ties to even); LLONG_MIN when out of range or NaN."""
    if not math.isfinite(x):
        return INT64_MIN
    n = round(x)
    return n if INT64_MIN <= n <= INT64_MAX else INT64_MIN


def distance_text(d: float) -> bytes:
    """A distance as Redis replies it (``fixedpoint_d2string`` with four decimals)."""
    if d == 0:
        return b"0.0000"
    n = _llrint(d * 10000.0)
    whole, fraction = divmod(abs(n), 10000)
    return b"%s%d.%04d" % (b"-" if n < 0 else b"", whole, fraction)


def coordinate(value: float):
    """A coordinate as ``addReplyHumanLongDouble`` sends it: ``%.17Lf`` of the exact value
    (rounded half to even), without trailing zeros; "-0" is "0"."""
    numerator, denominator = abs(value).as_integer_ratio()  # the denominator: a power of two
    scaled, rest = divmod(numerator * 10**17, denominator)
    if 2 * rest > denominator or (2 * rest == denominator and scaled & 1):
        scaled += 1
    whole, fraction = divmod(scaled, 10**17)
    text = b"%d.%017d" % (whole, fraction)
    text = text.rstrip(b"0").rstrip(b".")
    return HumanDouble(b"-" + text if value < 0 and text != b"0" else text)


# ---------------------------------------------------------------------------- geohashes


def _spread(v: int) -> int:
    """The bits of a 32-bit number on the even bits of a 64-bit one."""
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & EVEN_BITS


def _squash(v: int) -> int:
    """The even bits of a 64-bit number, as a 32-bit one."""
    v &= EVEN_BITS
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    return (v | (v >> 16)) & 0xFFFFFFFF


def encode(lon: float, lat: float, step: int, lat_min: float = LAT_MIN, lat_max: float = LAT_MAX) -> int:
    """The geohash of a point at ``step`` bits a coordinate (latitude range: Redis's, or another)."""
    cells = float(1 << step)
    lat_cell = int((lat - lat_min) / (lat_max - lat_min) * cells)
    lon_cell = int((lon - LONG_MIN) / (LONG_MAX - LONG_MIN) * cells)
    return _spread(lat_cell) | (_spread(lon_cell) << 1)


def cell(bits: int, step: int) -> tuple[float, float, float, float]:
    """A geohash's cell: (west, east, south, north) edges."""
    cells = float(1 << step)
    lat_cell, lon_cell = _squash(bits), _squash(bits >> 1)
    lat_scale, lon_scale = LAT_MAX - LAT_MIN, LONG_MAX - LONG_MIN
    return (LONG_MIN + (lon_cell / cells) * lon_scale,
            LONG_MIN + (((lon_cell + 1) & 0xFFFFFFFF) / cells) * lon_scale,
            LAT_MIN + (lat_cell / cells) * lat_scale,
            LAT_MIN + (((lat_cell + 1) & 0xFFFFFFFF) / cells) * lat_scale)


def position(score: float) -> tuple[float, float]:
    """The point a score stands for: its cell's centre, kept within Redis's ranges."""
    west, east, south, north = cell(_uint64(score), STEP_MAX)
    lon = min(max((west + east) / 2, LONG_MIN), LONG_MAX)
    lat = min(max((south + north) / 2, LAT_MIN), LAT_MAX)
    return lon, lat


def geohash_text(score: float) -> bytes:
    """GEOHASH's 11 characters: the point re-encoded over the standard latitude range (-90..90),
    in base 32; the 11th is always "0" (a score has 52 bits, not 55)."""
    lon, lat = position(score)
    bits = encode(lon, lat, STEP_MAX, -90.0, 90.0)
    return bytes(BASE32[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)) + b"0"


def _move(bits: int, step: int, lon_delta: int, lat_delta: int) -> int:
    """The neighbouring cell ``lon_delta`` east and ``lat_delta`` north (each -1, 0 or 1),
    wrapping around at the edges as Redis's 64-bit arithmetic does."""
    for delta, mine, others in ((lon_delta, ODD_BITS, EVEN_BITS), (lat_delta, EVEN_BITS, ODD_BITS)):
        if delta:
            moved, kept = bits & mine, bits & others
            filler = others >> (64 - 2 * step)  # ones between my bits: a carry runs through them
            moved = moved + filler + 1 if delta > 0 else (moved | filler) - (filler + 1)
            bits = (moved & (mine >> (64 - 2 * step))) | kept
    return bits


# The eight neighbours in the order Redis walks them: (east, north) steps.
NEIGHBOURS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))
NORTH, SOUTH, EAST, WEST = 0, 1, 2, 3  # in NEIGHBOURS


# ---------------------------------------------------------------------------- distances


def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS * abs(lat2 * DEG_RAD - lat1 * DEG_RAD)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """The haversine great-circle distance in metres (Redis's geohashGetDistance)."""
    v = math.sin((lon2 * DEG_RAD - lon1 * DEG_RAD) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r, lat2r = lat1 * DEG_RAD, lat2 * DEG_RAD
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS * _asin(math.sqrt(a))


# ---------------------------------------------------------------------------- searches


class Shape:
    """A search area: a circle or an axis-aligned box around (``lon``, ``lat``), its sizes in
    the unit that is ``conversion`` metres."""

    __slots__ = ("kind", "lon", "lat", "conversion", "radius", "width", "height")

    def __init__(self) -> None:
        self.kind = None
        self.lon = self.lat = 0.0
        self.conversion = self.radius = self.width = self.height = 0.0

    def within(self, lon: float, lat: float) -> float | None:
        """The distance in metres from the centre to a point inside the area; None if outside."""
        if self.kind is RADIUS:
            d = distance(self.lon, self.lat, lon, lat)
            return None if d > self.radius * self.conversion else d
        if lat_distance(lat, self.lat) > self.height * self.conversion / 2:
            return None
        if distance(lon, lat, self.lon, lat) > self.width * self.conversion / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the area (geohashBoundingBox)."""
        circle = self.kind is RADIUS
        height = self.conversion * (self.radius if circle else self.height / 2)
        width = self.conversion * (self.radius if circle else self.width / 2)
        lat_delta = height / EARTH_RADIUS / DEG_RAD
        top = width / EARTH_RADIUS / _cos((self.lat + lat_delta) * DEG_RAD) / DEG_RAD
        bottom = width / EARTH_RADIUS / _cos((self.lat - lat_delta) * DEG_RAD) / DEG_RAD
        lon_delta = bottom if self.lat < 0 else top
        return self.lon - lon_delta, self.lat - lat_delta, self.lon + lon_delta, self.lat + lat_delta

    def reach(self) -> float:
        """How far from the centre the area reaches, in metres (a box: to its corners)."""
        if self.kind is RADIUS:
            return self.radius * self.conversion
        return math.sqrt((self.width / 2) * (self.width / 2) + (self.height / 2) * (self.height / 2)) * self.conversion


def estimate_step(reach: float, lat: float) -> int:
    """The precision of the boxes to walk for a search reaching ``reach`` metres."""
    if reach == 0:
        return STEP_MAX
    step = 1
    while reach < MERCATOR_MAX:
        reach *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), STEP_MAX)


def boxes(shape: Shape) -> list[tuple[int, int] | None]:
    """The nine boxes (bits, step) Redis may walk for a search: the centre's, then its neighbours
    in NEIGHBOURS' order; None for a neighbour the area does not reach
    (geohashCalculateAreasByShapeWGS84)."""
    west, south, east, north = shape.bounds()
    step = estimate_step(shape.reach(), shape.lat)
    bits = encode(shape.lon, shape.lat, step)
    around = [_move(bits, step, dx, dy) for dx, dy in NEIGHBOURS]
    if step > 1 and (cell(around[NORTH], step)[3] < north or cell(around[SOUTH], step)[2] > south
                     or cell(around[EAST], step)[1] < east or cell(around[WEST], step)[0] > west):
        step -= 1  # the neighbours are too small to hold the area
        bits = encode(shape.lon, shape.lat, step)
        around = [_move(bits, step, dx, dy) for dx, dy in NEIGHBOURS]
    found: list[tuple[int, int] | None] = [(bits, step)] + [(b, step) for b in around]
    if step >= 2:  # a neighbour on a side the centre's cell already covers is not walked
        cell_west, cell_east, cell_south, cell_north = cell(bits, step)
        for i, (dx, dy) in enumerate(NEIGHBOURS, 1):
            if ((dy < 0 and cell_south < south) or (dy > 0 and cell_north > north)
                    or (dx < 0 and cell_west < west) or (dx > 0 and cell_east > east)):
                found[i] = None
    return found


def search(z: ZSet, shape: Shape, limit: int) -> list[list]:
    """The points of ``z`` in the area, as [distance (metres), score, lon, lat, member], in the
    order Redis finds them; at most about ``limit`` (0: all) (membersOfAllNeighbors)."""
    points: list[list] = []
    last = None  # the box walked last: a box equal to it (at the coarsest steps) is not walked again
    for box in boxes(shape):
        if box is None or box == last:
            continue
        if points and limit and len(points) >= limit:
            break
        _walk(z, box, shape, points, limit)
        last = box
    return points


def _walk(z: ZSet, box: tuple[int, int], shape: Shape, points: list, limit: int) -> None:
    """Add the points of one box's score range that are inside the area (geoGetPointsInRange)."""
    bits, step = box
    shift = 52 - 2 * step
    low, high = float((bits << shift) & U64), float(((bits + 1) << shift) & U64)
    for score, member in z.order.irange((low,), (high,), (True, False)):
        lon, lat = position(score)
        d = shape.within(lon, lat)
        if d is not None:
            points.append([d, score, lon, lat, member])
        if limit and len(points) >= limit:
            break


# ---------------------------------------------------------------------------- sorting


def _ascending(a: list, b: list) -> int:
    """Redis's comparison of two points by distance (a NaN distance is "less" both ways)."""
    return 1 if a[0] > b[0] else (0 if a[0] == b[0] else -1)


def _descending(a: list, b: list) -> int:
    return -_ascending(a, b)


def sort_points(points: list[list], descending: bool, wanted: int) -> list[list]:
    """``points`` ordered by distance as Redis orders them when it replies with the first
    ``wanted``: all of them by glibc's qsort (a stable merge sort), fewer by Redis's pqsort."""
    compare = _descending if descending else _ascending
    if wanted < len(points):
        pqsort(points, compare, 0, wanted - 1)
        return points
    if any(p[0] != p[0] for p in points):  # NaN: only the merge sort itself orders alike
        return _merge_sort(points, compare)
    points.sort(key=lambda p: p[0], reverse=descending)  # stable, as the merge sort
    return points


def _merge_sort(items: list, compare) -> list:
    """glibc's msort: halves (the first one the smaller), merged taking from the first on ties."""
    if len(items) <= 1:
        return items
    half = len(items) // 2
    left, right = _merge_sort(items[:half], compare), _merge_sort(items[half:], compare)
    merged = []
    i = j = 0
    while i < len(left) and j < len(right):
        if compare(left[i], right[j]) <= 0:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]


# ---------------------------------------------------------------------------- arguments


def parse_lonlat(raw_lon: bytes, raw_lat: bytes) -> tuple[float, float]:
    """A longitude and a latitude (extractLongLatOrReply), or CommandError."""
    lon, lat = parse_score(raw_lon), parse_score(raw_lat)
    if lon is None or lat is None:
        raise CommandError(NOT_FLOAT)
    if not (LONG_MIN <= lon <= LONG_MAX and LAT_MIN <= lat <= LAT_MAX):
        raise CommandError(Error("ERR invalid longitude,latitude pair %f,%f" % (lon, lat)))
    return lon, lat


def parse_unit(raw: bytes) -> float:
    """A unit's size in metres, or CommandError."""
    conversion = UNITS.get(option(raw))
    if conversion is None:
        raise CommandError(UNSUPPORTED_UNIT)
    return conversion


def _size(raw: bytes, what: str) -> float:
    value = parse_score(raw)
    if value is None:
        raise CommandError(Error(f"ERR need numeric {what}"))
    return value


def member_position(z: ZSet, member: bytes) -> tuple[float, float]:
    score = z.scores.get(member)
    if score is None:
        raise CommandError(NOT_A_MEMBER)
    return position(score)


class Query:
    """What a search asks (georadiusGeneric's arguments)."""

    __slots__ = ("shape", "withdist", "withhash", "withcoord", "descending", "sort", "count", "any",
                 "store", "storedist", "frommember", "fromlonlat")

    def __init__(self) -> None:
        self.shape = Shape()
        self.withdist = self.withhash = self.withcoord = False
        self.sort = self.descending = self.any = self.storedist = False
        self.frommember = self.fromlonlat = False
        self.count = 0  # 0: no limit
        self.store: bytes | None = None

    def set_radius(self, raw_radius: bytes, raw_unit: bytes) -> None:
        radius = _size(raw_radius, "radius")
        if radius < 0:
            raise CommandError(NEGATIVE_RADIUS)
        self.shape.radius = radius
        self.shape.conversion = parse_unit(raw_unit)
        self.shape.kind = RADIUS

    def set_box(self, raw_width: bytes, raw_height: bytes, raw_unit: bytes) -> None:
        width, height = _size(raw_width, "width"), _size(raw_height, "height")
        if height < 0 or width < 0:
            raise CommandError(NEGATIVE_BOX)
        self.shape.width, self.shape.height = width, height
        self.shape.conversion = parse_unit(raw_unit)
        self.shape.kind = BOX

    def set_center(self, lon: float, lat: float) -> None:
        self.shape.lon, self.shape.lat = lon, lat

    def parse_options(self, args: list[bytes], j: int, z: ZSet | None, flags: int) -> None:
        """The options from ``args[j]`` on, in Redis's order of checks; CommandError if wrong."""
        n = len(args)
        storable = not flags & (NO_STORE | SEARCH)
        searching = bool(flags & SEARCH)
        while j < n:
            word, more = option(args[j]), n - j - 1
            if word in (b"WITHDIST", b"WITHHASH", b"WITHCOORD", b"ANY"):
                setattr(self, word.decode().lower(), True)
            elif word in (b"ASC", b"DESC"):
                self.sort, self.descending = True, word == b"DESC"
            elif word == b"COUNT" and more >= 1:
                self.count = _count(args[j + 1])
                j += 1
            elif word in (b"STORE", b"STOREDIST") and more >= 1 and storable:
                self.store, self.storedist = args[j + 1], word == b"STOREDIST"
                j += 1
            elif word == b"STOREDIST" and flags & SEARCH_STORE:
                self.storedist = True
            elif word == b"FROMMEMBER" and more >= 1 and searching and not self.fromlonlat:
                if z is not None:
                    self.set_center(*member_position(z, args[j + 1]))
                self.frommember = True
                j += 1
            elif word == b"FROMLONLAT" and more >= 2 and searching and not self.frommember:
                self.set_center(*parse_lonlat(args[j + 1], args[j + 2]))
                self.fromlonlat = True
                j += 2
            elif word == b"BYRADIUS" and more >= 2 and searching and self.shape.kind is not BOX:
                self.set_radius(args[j + 1], args[j + 2])
                j += 2
            elif word == b"BYBOX" and more >= 3 and searching and self.shape.kind is not RADIUS:
                self.set_box(args[j + 1], args[j + 2], args[j + 3])
                j += 3
            else:
                raise CommandError(SYNTAX_ERROR)
            j += 1

    def check(self, name: bytes, flags: int) -> None:
        """The refusals of options together, once all are read."""
        if self.store is not None and (self.withdist or self.withhash or self.withcoord):
            what = "GEOSEARCHSTORE" if flags & SEARCH_STORE else "STORE option in GEORADIUS"
            raise CommandError(Error(f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"))
        if flags & SEARCH and not (self.frommember or self.fromlonlat):
            raise CommandError(Error(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {c_string(name)}"))
        if flags & SEARCH and self.shape.kind is None:
            raise CommandError(Error(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {c_string(name)}"))
        if self.any and not self.count:
            raise CommandError(ANY_WITHOUT_COUNT)


def _count(raw: bytes) -> int:
    count = parse_int64(raw)
    if count is None:
        raise CommandError(NOT_INTEGER)
    if count <= 0:
        raise CommandError(COUNT_NOT_POSITIVE)
    return count


# ---------------------------------------------------------------------------- the commands


class GeoCommands:
    """Mixed into the store, which provides the keyspace (db.py) and ZADD (zsets.py)."""

    def cmd_geoadd(self, args):
        """GEOADD key [NX|XX] [CH] lon lat member ...: ZADD of the members' geohashes."""
        j, n = 2, len(args)
        seen = set()
        while j < n and option(args[j]) in (b"NX", b"XX", b"CH"):
            seen.add(option(args[j]))
            j += 1
        if (n - j) % 3 or {b"NX", b"XX"} <= seen:
            return SYNTAX_ERROR
        zadd = [b"ZADD", *args[1:j]]
        for i in range(j, n, 3):
            lon, lat = parse_lonlat(args[i], args[i + 1])
            zadd += [b"%d" % encode(lon, lat, STEP_MAX), args[i + 2]]
        return self._zadd(zadd, 0)

    def cmd_geodist(self, args):
        conversion = 1.0
        if len(args) == 5:
            conversion = parse_unit(args[4])
        elif len(args) > 5:
            return SYNTAX_ERROR
        z = self.typed(args[1], ZSet)
        if z is None:
            return None
        first, second = z.scores.get(args[2]), z.scores.get(args[3])
        if first is None or second is None:
            return None
        return distance_text(distance(*position(first), *position(second)) / conversion)

    def cmd_geohash(self, args):
        z = self.typed(args[1], ZSet)
        scores = {} if z is None else z.scores
        return [None if (score := scores.get(member)) is None else geohash_text(score) for member in args[2:]]

    def cmd_geopos(self, args):
        z = self.typed(args[1], ZSet)
        scores = {} if z is None else z.scores
        replies = []
        for member in args[2:]:
            score = scores.get(member)
            if score is None:
                replies.append(NULL_ARRAY)
            else:
                lon, lat = position(score)
                replies.append([coordinate(lon), coordinate(lat)])
        return replies

    def cmd_georadius(self, args):
        return self._geo_search(args, 1, AROUND_COORDS)

    def cmd_georadiusbymember(self, args):
        return self._geo_search(args, 1, AROUND_MEMBER)

    def cmd_georadius_ro(self, args):
        return self._geo_search(args, 1, AROUND_COORDS | NO_STORE)

    def cmd_georadiusbymember_ro(self, args):
        return self._geo_search(args, 1, AROUND_MEMBER | NO_STORE)

    def cmd_geosearch(self, args):
        return self._geo_search(args, 1, SEARCH)

    def cmd_geosearchstore(self, args):
        return self._geo_search(args, 2, SEARCH | SEARCH_STORE)

    def _geo_search(self, args, source: int, flags: int):
        """Redis's georadiusGeneric: the arguments, the search, then the reply or the store."""
        z = self.typed(args[source], ZSet)
        query = self._geo_query(args, z, flags)
        if z is None:
            return self._geo_stored(query.store, []) if query.store is not None else []
        shape = query.shape
        if query.count and not query.sort and not query.any:
            query.sort = True  # COUNT means the nearest ones
        points = search(z, shape, query.count if query.any else 0)
        wanted = min(query.count, len(points)) if query.count else len(points)
        if query.sort:
            points = sort_points(points, query.descending, wanted)
        for point in points[:wanted]:
            point[0] /= shape.conversion
        if query.store is not None:
            return self._geo_stored(query.store, [(p[4], p[0] if query.storedist else p[1]) for p in points[:wanted]])
        return [_point_reply(p, query) for p in points[:wanted]]

    @staticmethod
    def _geo_query(args, z: ZSet | None, flags: int) -> Query:
        query = Query()
        if flags & AROUND_COORDS:
            query.set_center(*parse_lonlat(args[2], args[3]))
            query.set_radius(args[4], args[5])
            start = 6
        elif flags & AROUND_MEMBER:
            if z is not None:
                query.set_center(*member_position(z, args[2]))
                query.set_radius(args[3], args[4])
            start = 5
        else:
            start = 3 if flags & SEARCH_STORE else 2
            if flags & SEARCH_STORE:
                query.store = args[1]
        query.parse_options(args, start, z, flags)
        query.check(args[0], flags)
        return query

    def _geo_stored(self, key: bytes, pairs: list) -> int:
        """STORE / STOREDIST / GEOSEARCHSTORE: the destination becomes a sorted set of ``pairs``
        (member, score), or is deleted if there are none."""
        if pairs:
            self.store(key, ZSet(pairs))
        else:
            self.delete(key)
        return len(pairs)


def _point_reply(point: list, query: Query):
    """A found point as the search replies it: the member, or [member, distance?, hash?, coords?]."""
    dist, score, lon, lat, member = point
    if not (query.withdist or query.withhash or query.withcoord):
        return member
    reply = [member]
    if query.withdist:
        reply.append(distance_text(dist))
    if query.withhash:
        reply.append(int(score))
    if query.withcoord:
        reply.append([coordinate(lon), coordinate(lat)])
    return reply
