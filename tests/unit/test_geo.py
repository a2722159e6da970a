"""The geo commands, driven directly on a Store: replies (values from redis-server 7.0.15), what
they leave in the keyspace, their errors and the order of their checks; and a cross-check of
random searches against a real redis-server, byte for byte."""

import random
import shutil
import socket

import hiredis
import pytest

from resp_kv import protocol
from resp_kv.keyspace import geo
from resp_kv.keyspace.values import ZSet
from resp_kv.protocol import NULL_ARRAY, Error, encode, encode_command
from resp_kv.store import Store
from storecalls import run

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Error("ERR syntax error")
SICILY = ("13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
PALERMO = [b"13.36138933897018433", b"38.11555639549629859"]
CATANIA = [b"15.08726745843887329", b"37.50266842333162032"]


def sicily(*extra):
    s = Store()
    assert run(s, "GEOADD", "Sicily", *SICILY) == 2
    if extra:
        run(s, "GEOADD", "Sicily", *extra)
    return s


# ------------------------------------------------------------------ adding


def test_geoadd_stores_52_bit_geohashes_as_scores():
    s = sicily()
    z = s.db.data[b"Sicily"]
    assert z.__class__ is ZSet
    assert z.scores == {b"Palermo": 3479099956230698.0, b"Catania": 3479447370796909.0}


def test_geoadd_nx_xx_ch_as_zadd():
    s = Store()
    assert run(s, "geoadd", "Sicily", "nx", "ch", *SICILY) == 2
    assert run(s, "geoadd", "Sicily", "xx", *SICILY) == 0
    assert run(s, "GEOADD", "Sicily", "XX", "CH", "13", "38", "Palermo", "1", "1", "new") == 1
    assert b"new" not in s.db.data[b"Sicily"].scores
    assert run(s, "GEOADD", "Sicily", "NX", "1", "1", "Palermo") == 0
    assert run(s, "GEOADD", "nokey", "XX", "1", "1", "m") == 0 and b"nokey" not in s.db.data


def test_geoadd_syntax_errors():
    s = Store()
    for args in (["NX", "XX", "1", "2", "m"], ["CH", "1", "2", "m", "3"], ["GT", "1", "2", "m"], ["CH", "NX", "CH"]):
        assert run(s, "GEOADD", "g", *args) == SYNTAX, args
    assert run(s, "GEOADD", "g", "GT", "1", "2", "m", "3", "4") == Error("ERR value is not a valid float")
    assert s.db.data == {}


def test_geoadd_checks_every_coordinate_first_and_then_the_type():
    s = Store()
    run(s, "SET", "s", "v")
    assert run(s, "GEOADD", "s", "200", "0", "x") == Error("ERR invalid longitude,latitude pair 200.000000,0.000000")
    assert run(s, "GEOADD", "s", "10", "0", "x") == WRONGTYPE
    assert run(s, "GEOADD", "g", "10", "10", "b", "200", "0", "x") == Error(
        "ERR invalid longitude,latitude pair 200.000000,0.000000")
    assert b"g" not in s.db.data  # nothing written: not even the good point before the bad one
    for lon, lat, text in (("-0", "100", "-0.000000,100.000000"), ("1", "-85.0511288", "1.000000,-85.051129"),
                           ("1", "inf", "1.000000,inf")):
        assert run(s, "GEOADD", "g", lon, lat, "m") == Error(f"ERR invalid longitude,latitude pair {text}")
    for bad in ("1e400", "nan", "", " 1", "abc"):
        assert run(s, "GEOADD", "g", bad, "2", "m") == Error("ERR value is not a valid float")


def test_the_limits_themselves_are_valid_points():
    s = Store()
    assert run(s, "GEOADD", "g", "-180", "-85.05112878", "lo", "180", "85.05112878", "hi") == 2
    assert run(s, "GEOPOS", "g", "lo", "hi") == [[b"-179.99999731779098511", b"-85.05112751263942528"],
                                                  [b"180", b"85.0511287799999991"]]


# ------------------------------------------------------------------ reading points


def test_geopos_geohash_and_geodist_of_sicily():
    s = sicily()
    assert run(s, "GEOPOS", "Sicily", "Palermo", "Catania", "NonExisting") == [PALERMO, CATANIA, NULL_ARRAY]
    assert run(s, "GEOHASH", "Sicily", "Palermo", "Catania", "x") == [b"sqc8b49rny0", b"sqdtr74hyu0", None]
    assert run(s, "GEODIST", "Sicily", "Palermo", "Catania") == b"166274.1516"
    units = {"m": b"166274.1516", "KM": b"166.2742", "ft": b"545518.8700", "Mi": b"103.3182"}
    for unit, text in units.items():
        assert run(s, "GEODIST", "Sicily", "Palermo", "Catania", unit) == text
    assert run(s, "GEODIST", "Sicily", "Palermo", "Palermo") == b"0.0000"
    assert run(s, "GEODIST", "Sicily", "Palermo", "x") is None
    assert run(s, "GEODIST", "nokey", "a", "b") is None


def test_missing_points_are_null_arrays_in_geopos_and_null_bulks_in_geohash():
    s = Store()
    assert encode(run(s, "GEOPOS", "nokey", "a", "b")) == b"*2\r\n*-1\r\n*-1\r\n"
    assert encode(run(s, "GEOPOS", "nokey", "a"), resp3=True) == b"*1\r\n_\r\n"
    assert encode(run(s, "GEOHASH", "nokey", "a")) == b"*1\r\n$-1\r\n"
    assert run(s, "GEOPOS", "nokey") == [] and run(s, "GEOHASH", "nokey") == []


def test_any_score_names_a_cell_as_x86_64_converts_it():
    s = Store()
    run(s, "ZADD", "w", "-1", "neg", "1e300", "big", "1.5", "frac")
    assert run(s, "GEOPOS", "w", "neg", "big", "frac") == [
        [b"180", b"85.0511287799999991"], [b"-179.99999731779098511", b"-85.05112751263942528"],
        [b"-179.99999731779098511", b"-85.05112497791824921"]]
    assert run(s, "GEOHASH", "w", "neg", "big", "frac") == [b"bp05b5048p0", b"00bh0hbj200", b"00bh0hbj210"]


def test_geodist_checks_its_unit_and_arguments_before_the_key():
    s = sicily()
    run(s, "SET", "s", "v")
    assert run(s, "GEODIST", "s", "a", "b", "mm") == Error("ERR unsupported unit provided. please use M, KM, FT, MI")
    assert run(s, "GEODIST", "s", "a", "b", "km", "x") == SYNTAX
    assert run(s, "GEODIST", "s", "a", "b") == WRONGTYPE
    assert run(s, "GEODIST", "Sicily", "Palermo", "Catania", "m\x00junk") == b"166274.1516"  # as strcasecmp


def test_reads_of_another_type_are_wrongtype():
    s = Store()
    run(s, "RPUSH", "l", "a")
    for args in (["GEOPOS", "l", "a"], ["GEOHASH", "l", "a"], ["GEORADIUS", "l", "0", "0", "1", "m"],
                 ["GEORADIUSBYMEMBER_RO", "l", "a", "1", "m"], ["GEOSEARCH", "l", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"],
                 ["GEOSEARCHSTORE", "d", "l", "FROMMEMBER", "a", "BYBOX", "1", "1", "m"]):
        assert run(s, *args) == WRONGTYPE, args


# ------------------------------------------------------------------ searching


def test_georadius_units_and_order_of_discovery():
    s = sicily()
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "200", "m") == []
    assert run(s, "georadius", "Sicily", "15", "37", "200", "KM") == [b"Palermo", b"Catania"]
    assert run(s, "GEORADIUS_RO", "Sicily", "15", "37", "200", "mi") == [b"Palermo", b"Catania"]


def test_with_options_reply_member_distance_hash_coordinates_in_that_order():
    s = sicily()
    reply = run(s, "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "WITHHASH", "WITHDIST")
    assert reply == [[b"Palermo", b"190.4424", 3479099956230698, PALERMO],
                     [b"Catania", b"56.4413", 3479447370796909, CATANIA]]
    assert run(s, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHDIST") == [
        [b"Palermo", b"190.4424"], [b"Catania", b"56.4413"]]


def test_count_sorts_unless_any_which_stops_at_the_first_found():
    s = sicily()
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1") == [b"Catania"]
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY") == [b"Palermo"]
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC") == [b"Palermo", b"Catania"]
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "200", "km", "ASC", "DESC", "ASC") == [b"Catania", b"Palermo"]


def test_georadiusbymember_and_geosearch_frommember():
    s = sicily("13.583333", "37.316667", "Agrigento")
    assert run(s, "GEORADIUSBYMEMBER", "Sicily", "Agrigento", "100", "km") == [b"Agrigento", b"Palermo"]
    assert run(s, "GEORADIUSBYMEMBER", "Sicily", "Agrigento", "100", "mi") == [b"Agrigento", b"Palermo", b"Catania"]
    assert run(s, "GEORADIUSBYMEMBER", "Sicily", "Agrigento", "100", "km", "WITHCOORD") == [
        [b"Agrigento", [b"13.5833314061164856", b"37.31666804993816555"]], [b"Palermo", PALERMO]]
    assert run(s, "GEORADIUSBYMEMBER", "Sicily", "nobody", "100", "km") == Error(
        "ERR could not decode requested zset member")
    assert run(s, "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "DESC") == [
        b"Catania", b"Agrigento", b"Palermo"]


def test_geosearch_bybox_finds_the_corners_a_radius_misses():
    s = sicily("12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2")
    assert run(s, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km") == [b"Palermo", b"Catania"]
    assert run(s, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km") == [
        b"Palermo", b"edge1", b"Catania", b"edge2"]


def test_ties_in_distance_come_out_as_redis_sorts_them():
    s = Store()
    for i in range(10):
        run(s, "GEOADD", "t", "13.5", "38.5", f"m{i}")
    run(s, "GEOADD", "t", "13.6", "38.5", "far", "13.4", "38.5", "west")
    search = ["GEOSEARCH", "t", "FROMLONLAT", "13.5", "38.5", "BYRADIUS", "50", "km"]
    tied = [b"m%d" % i for i in range(10)]
    assert run(s, *search) == [b"west", *tied, b"far"]
    assert run(s, *search, "ASC") == [*tied, b"west", b"far"]  # a stable sort
    assert run(s, *search, "DESC") == [b"far", b"west", *tied]
    assert run(s, *search, "COUNT", "3", "ASC") == [b"m8", b"m0", b"m1"]  # the partial quicksort
    assert run(s, *search, "COUNT", "3", "DESC") == [b"far", b"west", b"m0"]
    assert run(s, *search, "COUNT", "4", "ANY") == [b"west", b"m0", b"m1", b"m2"]


def test_a_missing_key_is_an_empty_reply_once_the_options_are_read():
    s = Store()
    assert run(s, "GEORADIUS", "nokey", "15", "37", "200", "km") == []
    assert run(s, "GEORADIUS", "nokey", "200", "37", "200", "km") == Error(
        "ERR invalid longitude,latitude pair 200.000000,37.000000")
    # GEORADIUSBYMEMBER reads no radius without a key, but still its options
    assert run(s, "GEORADIUSBYMEMBER", "nokey", "m", "-5", "parsecs") == []
    assert run(s, "GEORADIUSBYMEMBER", "nokey", "m", "-5", "parsecs", "FOO") == SYNTAX
    assert run(s, "GEOSEARCH", "nokey", "FROMMEMBER", "m", "BYRADIUS", "1", "m") == []


# ------------------------------------------------------------------ storing


def test_store_and_storedist_write_sorted_sets_and_drop_the_old_value():
    s = sicily()
    run(s, "SET", "here", "v", "EX", "100")
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "here") == 2
    assert s.db.data[b"here"].scores == s.db.data[b"Sicily"].scores and b"here" not in s.db.expires
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "here", "COUNT", "1") == 1
    assert run(s, "ZRANGE", "here", "0", "-1", "WITHSCORES") == protocol.Pairs([(b"Catania", 56.441257870158204)])
    assert run(s, "GEOSEARCHSTORE", "here", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
               "STOREDIST") == 2
    assert run(s, "ZSCORE", "here", "Palermo") == 190.44242984775784


def test_storing_nothing_deletes_the_destination():
    s = sicily()
    run(s, "SET", "here", "v")
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "here") == 0
    assert b"here" not in s.db.data
    run(s, "SET", "here", "v")
    assert run(s, "GEOSEARCHSTORE", "here", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "m") == 0
    assert b"here" not in s.db.data


def test_store_refusals():
    s = sicily()
    assert run(s, "GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d", "WITHDIST") == Error(
        "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    assert run(s, "GEORADIUSBYMEMBER", "Sicily", "Palermo", "1", "km", "WITHHASH", "STOREDIST", "d") == Error(
        "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    assert run(s, "GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "WITHCOORD") == Error(
        "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    for args in (["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "d"],
                 ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE"],
                 ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "STOREDIST"],
                 ["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "STORE", "x"]):
        assert run(s, *args) == SYNTAX, args
    assert b"d" not in s.db.data


# ------------------------------------------------------------------ argument errors


@pytest.mark.parametrize("tail, error", [
    (["FROMLONLAT", "15", "37", "ASC", "WITHDIST"], "ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch"),
    (["BYRADIUS", "1", "km", "ASC", "ANY"], "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch"),
    (["FROMMEMBER", "Palermo", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km"], "ERR syntax error"),
    (["FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"], "ERR syntax error"),
    (["FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "ANY"], "ERR the ANY argument requires COUNT argument"),
    (["FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT", "0"], "ERR COUNT must be > 0"),
    (["FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT", "1.5"], "ERR value is not an integer or out of range"),
    (["FROMLONLAT", "15", "37", "BYRADIUS", "-1", "km"], "ERR radius cannot be negative"),
    (["FROMLONLAT", "15", "37", "BYRADIUS", "x", "km"], "ERR need numeric radius"),
    (["FROMLONLAT", "15", "37", "BYBOX", "x", "y", "km"], "ERR need numeric width"),
    (["FROMLONLAT", "15", "37", "BYBOX", "1", "y", "km"], "ERR need numeric height"),
    (["FROMLONLAT", "15", "37", "BYBOX", "1", "-1", "parsecs"], "ERR height or width cannot be negative"),
    (["FROMLONLAT", "15", "37", "BYBOX", "1", "1", "parsecs"], "ERR unsupported unit provided. please use M, KM, FT, MI"),
    (["FROMMEMBER", "nobody", "BYRADIUS", "x", "km"], "ERR could not decode requested zset member"),
    (["FROMLONLAT", "15", "91", "BYRADIUS", "1", "km"], "ERR invalid longitude,latitude pair 15.000000,91.000000"),
])
def test_geosearch_errors_in_redis_order(tail, error):
    assert run(sicily(), "geosearch", "Sicily", *tail) == Error(error)


def test_an_empty_radius_finds_only_the_point_itself():
    s = sicily()
    assert run(s, "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "-0", "m", "WITHDIST") == [
        [b"Palermo", b"0.0000"]]
    assert run(s, "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "inf", "m") == [b"Palermo", b"Catania"]


# ------------------------------------------------------------------ formatting


def test_distances_have_four_decimals_rounded_as_llrint():
    assert geo.distance_text(0.0) == b"0.0000" and geo.distance_text(-0.0) == b"0.0000"
    assert geo.distance_text(0.00005) == b"0.0000"  # 0.5: to even
    assert geo.distance_text(0.00125) == b"0.0012" and geo.distance_text(0.00135) == b"0.0014"
    assert geo.distance_text(12.34567) == b"12.3457"
    assert geo.distance_text(float("nan")) == b"-922337203685477.5808"  # llrint's LLONG_MIN


def test_coordinates_have_17_decimals_rounded_half_to_even_without_trailing_zeros():
    assert geo.coordinate(1 / 2**18) == b"0.00000381469726562"  # ...625: a tie, to even
    assert geo.coordinate(3 / 2**18) == b"0.00001144409179688"  # ...875: a tie, to even
    assert geo.coordinate(-180.0) == b"-180" and geo.coordinate(37.5) == b"37.5"
    assert geo.coordinate(-1e-20) == b"0"  # "-0" is written "0"


def test_coordinates_are_doubles_in_resp3_and_bulk_strings_in_resp2():
    reply = run(sicily(), "GEOPOS", "Sicily", "Palermo")
    assert encode(reply) == b"*1\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"
    assert encode(reply, resp3=True) == b"*1\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n"


# ------------------------------------------------------------------ against redis-server


class Raw:
    """A connection to redis-server that returns each reply's raw bytes."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))

    def call(self, args: list[bytes]) -> bytes:
        self.sock.sendall(encode_command(args))
        reader, raw = hiredis.Reader(), b""
        while True:
            chunk = self.sock.recv(1 << 16)
            raw += chunk
            reader.feed(chunk)
            if reader.gets() is not False:
                return raw


def random_search(rng: random.Random, members: list[str]) -> list[str]:
    """A search around Sicily or a pole, of some size, with random options."""
    lon, lat = rng.choice([(13.4, 38.0), (-179.9, 84.9), (179.95, -84.99)])
    centre = ["FROMMEMBER", rng.choice(members)] if rng.random() < 0.3 else ["FROMLONLAT", str(lon), str(lat)]
    size = str(rng.choice([0, 1, 50, 200, 800, 5000, 20000]))
    shape = ["BYRADIUS", size, "km"] if rng.random() < 0.5 else ["BYBOX", size, str(rng.choice([1, 100, 900])), "km"]
    options = [o for o in ("WITHDIST", "WITHHASH", "WITHCOORD", rng.choice(["ASC", "DESC"])) if rng.random() < 0.4]
    if rng.random() < 0.6:
        options += ["COUNT", str(rng.choice([1, 2, 5, 7, 8, 9, 12, 41, 60]))] + (["ANY"] if rng.random() < 0.2 else [])
    return ["GEOSEARCH", "g"] + centre + shape + options


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_random_searches_answer_as_redis_server_byte_for_byte(oracle):
    rng = random.Random(7)
    server, s = Raw(oracle.port), Store()
    server.call([b"FLUSHALL"])
    members = [f"m{i}" for i in range(60)]
    commands = []
    for member in members:  # clusters, with many points in the very same place (ties)
        lon, lat = rng.choice([(13.4, 38.0), (-179.9, 84.9), (179.95, -84.99)])
        step = rng.choice([0, 0.01, 0.5])
        commands.append(["GEOADD", "g", str(lon + rng.randint(-3, 3) * step), str(lat - rng.randint(0, 3) * step / 10),
                         member])
    commands += [random_search(rng, members) for _ in range(150)]
    for command in commands:
        args = [a.encode() for a in command]
        assert encode(run(s, *args)) == server.call(args), command
