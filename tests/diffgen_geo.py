"""Random geo commands for the differential test (mixed into diffgen.Generator, whose ``rng``,
``key()``, ``word()`` and ``value()`` they use).

Points gather around a few places (Sicily, both poles' limits, the antimeridian on both sides,
where the equator meets the prime meridian), often on a coarse grid (the same point under several
names: ties in distance, which show how Redis's sorts order them), or anywhere; coordinates come
in every spelling strtod takes, and out of range or not numbers. Searches are centred on those
places or anywhere, with radii and boxes from 0 to the whole earth (and infinite), in every unit
and spelling, and every option in any order and case, together or wrong (STORE with WITH*, ANY
without COUNT, FROMMEMBER and FROMLONLAT both, BYRADIUS and BYBOX both, ...).

Keys: mostly ``geo:1`` to ``geo:3``, which only these commands touch (the shared keys hold
strings, lists... more often than not), sometimes the shared ones (WRONGTYPE, or a sorted set of
the sorted sets stream read as a geo index). Searches store mostly into ``geo:out``, sometimes
into a shared key or a source. All hold small sets (up to a few dozen points: the sorted sets
stream expects small sets on the shared keys).
``geo:big`` holds hundreds of points (a skiplist in Redis), and its searches store into
``geo:dst``; nothing else touches those two.

Everything here is deterministic: the replies are compared byte for byte.
"""

from __future__ import annotations

GEO_KEYS = [b"geo:1", b"geo:2", b"geo:3"]
STORED = b"geo:out"  # where searches mostly store (storing nothing deletes the destination)
BIG, BIG_DST = b"geo:big", b"geo:dst"
MEMBERS = [b"Palermo", b"Catania", b"Agrigento", b"a", b"b", b"c", b"", b"\x00", b"\xff\xfe", b"x y", b"1.5"]
NAMED = 12  # GEOADD of many points names them n0 .. n11 (again and again: the same names move)
# (longitude, latitude) of the places points gather around
PLACES = [(13.361389, 38.115556), (15.087269, 37.502669), (0.0, 0.0), (179.99, 10.0), (-179.99, 10.0),
          (180.0, -45.0), (-180.0, 45.0), (30.0, 85.0), (-120.0, -85.0), (90.0, 84.99), (0.0, 66.5), (-0.5, -80.5)]
LAT_LIMIT = 85.0511  # (written with six decimals, not past Redis's limit)
GOOD_LONS = [b"0", b"-0", b"180", b"-180", b"180.0", b"1e1", b"0x10", b"+5", b"-179.999999", b"5e-324", b".5"]
GOOD_LATS = [b"85.05112878", b"-85.05112878", b"0", b"-0", b"85", b"-85", b"1E1", b"0x1p-2", b"+45"]
BAD_COORDS = [b"180.0000001", b"-180.0000001", b"85.05112879", b"-85.0511288", b"90", b"-90", b"inf", b"-inf",
              b"nan", b"1e400", b"abc", b"", b" 1", b"1 ", b"1e", b"0x", b"1\x00", b"1,5", b"1_0"]
UNITS = [b"m", b"km", b"ft", b"mi", b"M", b"KM", b"Ft", b"mI"]
BAD_UNITS = [b"mm", b"", b"meters", b"k", b"m\x00x", b"KM ", b"miles", b"\x00"]
METRES = {b"M": 1.0, b"KM": 1000.0, b"FT": 0.3048, b"MI": 1609.34}
# search sizes in metres: from nothing to more than the earth
SIZES = [0, 0.5, 10, 100, 1000, 5000, 20000, 100000, 250000, 600000, 1e6, 3e6, 1e7, 2e7, 4e7, 1e12]
ODD_SIZES = [b"inf", b"+inf", b"-0", b"0", b"0x10", b"1e5", b"5e-324", b"1.7976931348623157e308"]
BAD_SIZES = [b"-1", b"-0.001", b"-inf", b"nan", b"abc", b"", b"1e400", b" 5", b"5 ", b"1km"]
COUNTS = [b"1", b"1", b"2", b"3", b"5", b"6", b"7", b"8", b"9", b"10", b"20", b"41", b"50", b"100", b"1000",
          b"9223372036854775807"]
BAD_COUNTS = [b"0", b"-1", b"x", b"", b"1.5", b" 1", b"+1", b"9223372036854775808", b"-9223372036854775808"]
JUNK = [b"FOO", b"", b"\x00", b"1", b"WITH", b"STOREDISTX", b"COUNTS", b"ANYWAY"]


class GeoStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_geoadd", 24), ("g_geoadd_many", 6), ("g_geodist", 4), ("g_geohash", 3), ("g_geopos", 3),
        ("g_georadius", 8), ("g_georadiusbymember", 6), ("g_geosearch", 10), ("g_geosearchstore", 4),
        ("g_geobig", 5),
    ]
    COMPARE: dict = {}
    NOT_IN_TX: tuple[str, ...] = ()

    # -- words ---------------------------------------------------------------------------------

    def geo_key(self) -> bytes:
        return self.rng.choice(GEO_KEYS) if self.rng.random() < 0.85 else self.key()

    def geo_destination(self) -> bytes:
        r = self.rng.random()
        return STORED if r < 0.7 else (self.key() if r < 0.9 else self.geo_key())

    def geo_member(self) -> bytes:
        r = self.rng.random()
        if r < 0.7:
            return self.rng.choice(MEMBERS)
        return b"n%d" % self.rng.randrange(NAMED) if r < 0.95 else self.value()

    def geo_number(self, value: float) -> bytes:
        """A coordinate or size spelled as people and programs do."""
        r = self.rng.random()
        if r < 0.45:
            return b"%.6f" % value
        if r < 0.75:
            return repr(value).encode()
        if r < 0.9:
            return b"%d" % round(value)
        return b"%.2e" % value

    def geo_point(self) -> tuple[float, float]:
        """Near a place (often on a coarse grid: the same point again), or anywhere."""
        r = self.rng.random()
        if r < 0.75:
            lon, lat = self.rng.choice(PLACES[:2] if self.rng.random() < 0.5 else PLACES)
            scale = self.rng.choice([0.0001, 0.01, 0.5, 3.0])
            if self.rng.random() < 0.5:
                lon += self.rng.randint(-2, 2) * scale
                lat += self.rng.randint(-2, 2) * scale
            else:
                lon += self.rng.uniform(-scale, scale)
                lat += self.rng.uniform(-scale, scale)
            return max(-180.0, min(180.0, lon)), max(-LAT_LIMIT, min(LAT_LIMIT, lat))
        return self.rng.uniform(-180, 180), self.rng.uniform(-LAT_LIMIT, LAT_LIMIT)

    def geo_coords(self, wrong: float = 0.07) -> list[bytes]:
        """A longitude and a latitude: mostly good, sometimes an edge spelling, wrong with
        probability ``wrong``."""
        r = self.rng.random()
        lon, lat = self.geo_point()
        if r < wrong:
            pair = [self.geo_number(lon), self.geo_number(lat)]
            pair[self.rng.randrange(2)] = self.rng.choice(BAD_COORDS)
            return pair
        if r < wrong + 0.08:
            return [self.rng.choice(GOOD_LONS), self.rng.choice(GOOD_LATS)]
        return [self.geo_number_within(lon, 180.0), self.geo_number_within(lat, LAT_LIMIT)]

    def geo_number_within(self, value: float, limit: float) -> bytes:
        """``value`` spelled some way that stays within -limit..limit."""
        text = self.geo_number(value)
        return text if abs(float(text)) <= limit else b"%.6f" % value

    def geo_unit(self) -> bytes:
        return self.rng.choice(UNITS) if self.rng.random() < 0.95 else self.rng.choice(BAD_UNITS)

    def geo_size_in(self, unit: bytes) -> bytes:
        """A radius, width or height in ``unit``: mostly a useful size, sometimes odd or wrong."""
        r = self.rng.random()
        if r < 0.88:
            metres = self.rng.choice(SIZES) * self.rng.choice([1, 1, 0.3, 0.7, 1.5])
            return self.geo_number(metres / METRES.get(unit.upper(), 1.0))
        if r < 0.95:
            return self.rng.choice(ODD_SIZES)
        return self.rng.choice(BAD_SIZES)

    def geo_radius(self) -> list[bytes]:
        unit = self.geo_unit()
        return [self.geo_size_in(unit), self.word(unit)]

    def geo_box(self) -> list[bytes]:
        unit = self.geo_unit()
        return [self.geo_size_in(unit), self.geo_size_in(unit), self.word(unit)]

    # -- options -------------------------------------------------------------------------------

    def geo_result_options(self, store: bool) -> list[list[bytes]]:
        """WITH*, ASC/DESC and COUNT [ANY] (each as a group of words), mostly valid together."""
        opts: list[list[bytes]] = []
        for name in (b"WITHDIST", b"WITHHASH", b"WITHCOORD"):
            if self.rng.random() < (0.03 if store else 0.35):
                opts.append([self.word(name)])
        if self.rng.random() < 0.45:
            opts.append([self.word(self.rng.choice([b"ASC", b"DESC"]))])
            if self.rng.random() < 0.05:
                opts.append([self.word(self.rng.choice([b"ASC", b"DESC"]))])  # the last one counts
        r = self.rng.random()
        if r < 0.45:
            count = self.rng.choice(COUNTS) if self.rng.random() < 0.93 else self.rng.choice(BAD_COUNTS)
            opts.append([self.word(b"COUNT"), count])
            if self.rng.random() < 0.3:
                opts[-1].append(self.word(b"ANY"))
        elif r < 0.48:
            opts.append([self.word(b"ANY")])  # without COUNT: an error
        r = self.rng.random()
        if r < 0.03:
            opts.append([self.rng.choice(JUNK)])
        elif r < 0.05:
            opts.append([self.word(b"COUNT")])  # no value follows
        self.rng.shuffle(opts)
        return opts

    def geo_radius_tail(self, read_only: bool, dst: bytes | None = None) -> list[bytes]:
        """GEORADIUS[BYMEMBER]'s options, STORE / STOREDIST among them unless ``read_only``."""
        store = not read_only and self.rng.random() < 0.3
        opts = self.geo_result_options(store)
        if store or (read_only and self.rng.random() < 0.03):
            name = self.rng.choice([b"STORE", b"STOREDIST"])
            opts.insert(self.rng.randint(0, len(opts)), [self.word(name), dst or self.geo_destination()])
            if self.rng.random() < 0.05:
                opts.append([self.word(name)])  # no key follows
        return [w for o in opts for w in o]

    def geo_search_tail(self, store: bool, member: bytes | None = None) -> list[bytes]:
        """GEOSEARCH[STORE]'s options: FROM*, BY*, the result options; sometimes two or none of
        a kind, a STORE (not GEOSEARCH's) or a STOREDIST (GEOSEARCHSTORE's only). FROMMEMBER names
        ``member`` if given, else one of the pool."""
        opts = self.geo_result_options(store)
        r = self.rng.random()
        froms = 1 if r < 0.9 else (0 if r < 0.95 else 2)
        for _ in range(froms):
            if self.rng.random() < 0.4:
                opts.append([self.word(b"FROMMEMBER"), member or self.geo_member()])
            else:
                opts.append([self.word(b"FROMLONLAT")] + self.geo_coords())
        r = self.rng.random()
        bys = 1 if r < 0.9 else (0 if r < 0.95 else 2)
        for _ in range(bys):
            if self.rng.random() < 0.5:
                opts.append([self.word(b"BYRADIUS")] + self.geo_radius())
            else:
                opts.append([self.word(b"BYBOX")] + self.geo_box())
        if self.rng.random() < (0.3 if store else 0.03):
            opts.append([self.word(b"STOREDIST")])
        if self.rng.random() < 0.03:
            opts.append([self.word(b"STORE"), self.geo_destination()])
        if self.rng.random() < 0.9:  # usually FROM* and BY* first, as people write them
            opts.sort(key=lambda o: o[0].upper() not in (b"FROMMEMBER", b"FROMLONLAT", b"BYRADIUS", b"BYBOX"))
        else:
            self.rng.shuffle(opts)
        return [w for o in opts for w in o]

    # -- the commands --------------------------------------------------------------------------

    def g_geoadd(self) -> list[bytes]:
        cmd = [self.word(b"GEOADD"), self.geo_key()]
        r = self.rng.random()
        if r < 0.3:
            options = self.rng.sample([b"NX", b"XX", b"CH"], self.rng.randint(1, 2))
            cmd += [self.word(o) for o in options]
        elif r < 0.33:
            cmd += [self.word(self.rng.choice([b"GT", b"LT", b"INCR", b"CH", b"NX"]))]  # GT...: not GEOADD's
        triples = self.rng.choice([1, 1, 2, 3, 5, 8])
        for _ in range(triples):
            cmd += self.geo_coords(0.1 / triples) + [self.geo_member()]
        if self.rng.random() < 0.03:
            cmd.pop()  # not a multiple of three
        return cmd

    def g_geoadd_many(self) -> list[bytes]:
        """A few dozen points at once: new names and the same ones again."""
        cmd = [self.word(b"GEOADD"), self.geo_key()]
        for _ in range(self.rng.randint(5, 20)):
            cmd += self.geo_coords(0.0) + [b"n%d" % self.rng.randrange(NAMED)]
        return cmd

    def g_geodist(self) -> list[bytes]:
        cmd = [self.word(b"GEODIST"), self.geo_key(), self.geo_member(), self.geo_member()]
        r = self.rng.random()
        if r < 0.7:
            cmd.append(self.word(self.geo_unit()))
        elif r < 0.74:
            cmd += [self.word(self.geo_unit()), self.rng.choice(JUNK)]
        return cmd

    def g_geohash(self) -> list[bytes]:
        return [self.word(b"GEOHASH"), self.geo_key()] + [self.geo_member() for _ in range(self.rng.randint(0, 4))]

    def g_geopos(self) -> list[bytes]:
        return [self.word(b"GEOPOS"), self.geo_key()] + [self.geo_member() for _ in range(self.rng.randint(0, 4))]

    def g_georadius(self) -> list[bytes]:
        read_only = self.rng.random() < 0.3
        name = b"GEORADIUS_RO" if read_only else b"GEORADIUS"
        return [self.word(name), self.geo_key()] + self.geo_coords() + self.geo_radius() + self.geo_radius_tail(read_only)

    def g_georadiusbymember(self) -> list[bytes]:
        read_only = self.rng.random() < 0.3
        name = b"GEORADIUSBYMEMBER_RO" if read_only else b"GEORADIUSBYMEMBER"
        return [self.word(name), self.geo_key(), self.geo_member()] + self.geo_radius() + self.geo_radius_tail(read_only)

    def g_geosearch(self) -> list[bytes]:
        return [self.word(b"GEOSEARCH"), self.geo_key()] + self.geo_search_tail(False)

    def g_geosearchstore(self) -> list[bytes]:
        source = self.geo_key()
        dst = source if self.rng.random() < 0.05 else self.geo_destination()
        return [self.word(b"GEOSEARCHSTORE"), dst, source] + self.geo_search_tail(True)

    def g_geobig(self) -> list[bytes]:
        """``geo:big``: hundreds of points (many at the same spots), searched, stored in ``geo:dst``."""
        r = self.rng.random()
        if r < 0.25:
            cmd = [self.word(b"GEOADD"), BIG]
            for _ in range(self.rng.randint(30, 120)):
                cmd += self.geo_coords(0.0) + [b"g%03d" % self.rng.randrange(400)]
            return cmd
        member = b"g%03d" % self.rng.randrange(400)
        if r < 0.45:
            return [self.word(b"GEOSEARCH"), BIG] + self.geo_search_tail(False, member)
        if r < 0.55:
            return [self.word(b"GEOSEARCHSTORE"), BIG_DST, BIG] + self.geo_search_tail(True, member)
        if r < 0.7:
            return ([self.word(b"GEORADIUS"), BIG] + self.geo_coords() + self.geo_radius()
                    + self.geo_radius_tail(False, BIG_DST))
        if r < 0.85:
            return [self.word(b"GEORADIUSBYMEMBER_RO"), BIG, member] + self.geo_radius() + self.geo_radius_tail(True)
        if r < 0.92:
            return [self.word(b"GEODIST"), BIG, member, b"g%03d" % self.rng.randrange(400), self.word(self.geo_unit())]
        return [self.word(self.rng.choice([b"GEOPOS", b"GEOHASH"])), BIG, member, b"g%03d" % self.rng.randrange(400)]
