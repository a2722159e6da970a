"""The RESP parser and encoder, fed bytes directly (no sockets)."""

import gc
import random
import tracemalloc

import pytest

from resp_kv.protocol import (
    BIG, MAX_BULK_LENGTH, MAX_INLINE_SIZE, NULL_ARRAY, Error, ProtocolError, RequestParser, Status, decode_reply, encode,
    Pieces, encode_command, join_large, split_inline,
)

PIPELINE = [[b"SET", b"k", b"v"], [b"GET", b"k"], [b"MSET", b"a", b"1", b"b", b""], [b"PING"]]


def feed_all(chunks):
    parser = RequestParser()
    out = []
    for chunk in chunks:
        out += join_large(parser.feed(chunk))
    return out


def test_pipelined_requests_come_out_in_order():
    data = b"".join(encode_command(r) for r in PIPELINE)
    assert feed_all([data]) == PIPELINE


def test_a_request_split_at_every_byte_boundary_parses_the_same():
    data = b"".join(encode_command(r) for r in PIPELINE) + b"PING\r\n"
    for cut in range(1, len(data)):
        assert feed_all([data[:cut], data[cut:]]) == PIPELINE + [[b"PING"]], cut


def test_one_byte_at_a_time():
    data = b"".join(encode_command(r) for r in PIPELINE)
    assert feed_all([data[i:i + 1] for i in range(len(data))]) == PIPELINE


def test_inline_commands_follow_redis_quoting():
    assert split_inline(b'set k "a b\\n\\x41"') == [b"set", b"k", b"a b\nA"]
    assert split_inline(b"set k 'it\\'s'") == [b"set", b"k", b"it's"]
    assert split_inline(b"   ") == []
    with pytest.raises(ProtocolError, match="unbalanced quotes"):
        split_inline(b'set k "open')
    with pytest.raises(ProtocolError, match="unbalanced quotes"):
        split_inline(b'set k "closed"x')


def test_inline_and_multibulk_mix_in_one_chunk():
    data = b"PING\r\n" + encode_command([b"GET", b"k"]) + b"ECHO hi\n" + encode_command([b"PING"])
    assert feed_all([data]) == [[b"PING"], [b"GET", b"k"], [b"ECHO", b"hi"], [b"PING"]]


def test_empty_lines_and_empty_multibulks_are_skipped():
    assert feed_all([b"\r\n*0\r\n*-1\r\nPING\r\n"]) == [[b"PING"]]


def test_binary_values_with_every_byte_survive():
    value = bytes(range(256)) * 3
    data = encode_command([b"SET", b"\x00\r\n", value])
    assert feed_all([data]) == [[b"SET", b"\x00\r\n", value]]
    assert feed_all([data[:300], data[300:]]) == [[b"SET", b"\x00\r\n", value]]


def test_large_value_across_many_chunks():
    value = b"x" * 3_000_000
    data = encode_command([b"SET", b"k", value]) + encode_command([b"GET", b"k"])
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    assert feed_all(chunks) == [[b"SET", b"k", value], [b"GET", b"k"]]


def test_large_values_cut_anywhere_parse_the_same():
    # Values of BIG bytes and more are collected as they come and joined once: every cut, at
    # the header, inside the value, inside its CRLF, right after it, must give the same requests.
    big, other = bytes(range(256)) * (BIG // 256), b"y" * (BIG + 3)
    requests = [[b"SET", b"k", big, b"EX", b"10"], [b"PING"], [b"MSET", b"a", other, b"b", big], [b"GET", b"k"]]
    data = b"".join(encode_command(r) for r in requests) + b"PING\r\n"
    first = len(encode_command([b"SET", b"k", big]))  # just past the first large value's CRLF
    rng = random.Random(7)
    cuts = [1, 20, 26, first - 3, first - 2, first - 1, first, first + 1, len(data) - 9]
    cuts += [rng.randrange(1, len(data)) for _ in range(30)]
    for cut in cuts:
        assert feed_all([data[:cut], data[cut:]]) == requests + [[b"PING"]], cut
    pieces = []
    at = 0
    while at < len(data):
        step = rng.choice([1, 2, 3, 100, 65536, 262144])
        pieces.append(data[at : at + step])
        at += step
    assert feed_all(pieces) == requests + [[b"PING"]]
    parser = RequestParser()
    assert parser.feed(data[:100]) == [] and not parser.large
    got = parser.feed(data[100:])
    assert parser.large and got[0][2].__class__ is Pieces  # for the caller to join, off the loop
    assert join_large(got) == requests + [[b"PING"]]


# Every reply below is what redis-server 7.0 answers to the same bytes (tests/integration/
# test_hostile_input.py checks them against a real one), then it closes the connection.
MALFORMED = [
    # multibulk counts: Redis 7.0 accepts up to INT_MAX (for an authenticated client)
    (b"*2147483648\r\n", b"invalid multibulk length"),
    (b"*9223372036854775807\r\n", b"invalid multibulk length"),
    (b"*99999999999999999999\r\n", b"invalid multibulk length"),
    (b"*-9223372036854775809\r\n", b"invalid multibulk length"),  # below LLONG_MIN
    (b"*x\r\n", b"invalid multibulk length"),
    (b"*\r\n", b"invalid multibulk length"),
    (b"*01\r\n$4\r\nPING\r\n", b"invalid multibulk length"),  # no leading zero, as string2ll
    (b"*+1\r\n$4\r\nPING\r\n", b"invalid multibulk length"),
    (b"*-0\r\n", b"invalid multibulk length"),
    (b"* 1\r\n", b"invalid multibulk length"),
    (b"*1 \r\n", b"invalid multibulk length"),
    # bulk lengths: up to proto-max-bulk-len (512 MB), refused from the header alone
    (b"*1\r\n$536870913\r\n", b"invalid bulk length"),
    (b"*1\r\n$600000000\r\n", b"invalid bulk length"),
    (b"*1\r\n$9223372036854775807\r\n", b"invalid bulk length"),
    (b"*1\r\n$-1\r\n", b"invalid bulk length"),
    (b"*1\r\n$-5\r\n", b"invalid bulk length"),
    (b"*1\r\n$x\r\n", b"invalid bulk length"),
    (b"*1\r\n$\r\n", b"invalid bulk length"),
    (b"*1\r\n$04\r\nPING\r\n", b"invalid bulk length"),
    (b"*1\r\n$+4\r\nPING\r\n", b"invalid bulk length"),
    # an element that is not a bulk string, whatever hiredis would make of it
    *[(b"*1\r\n%cPING\r\n" % c, b"expected '$', got '%c'" % c) for c in b"+-:,_#=(%~>|!*aZ0 "],
    (b"*1\r\n:5\r\n", b"expected '$', got ':'"),
    (b"*1\r\n*2147483648\r\n", b"expected '$', got '*'"),  # nested: refused, never reserved
    (b"*1\r\n~2147483648\r\n", b"expected '$', got '~'"),
    (b"*1\r\n>2147483648\r\n", b"expected '$', got '>'"),
    (b"*1\r\n|2147483648\r\n", b"expected '$', got '|'"),
    (b"*2\r\n$4\r\nECHO\r\n*99999\r\n", b"expected '$', got '*'"),
    (b"*1\r\n\xffPING\r\n", b"expected '$', got '\xff'"),  # the raw byte, as Redis's %c
    (b"*1\r\n\nPING\r\n", b"expected '$', got ' '"),  # CR and LF become spaces in an error
    (b"*1\r\n\r\n", b"expected '$', got ' '"),
    (b"*1\r$4\r\nPING\r\n", b"expected '$', got '4'"),  # the byte after CR is skipped unread
    (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", b"expected '$', got 'f'"),
    # mixes hiredis accepts and whose sizes add up to the canonical ones (they used to run)
    (b"*2\r\n+ECHO\r\n=5\r\ntxt:x\r\n", b"expected '$', got '+'"),
    (b"*2\r\n(1234\r\n=5\r\ntxt:x\r\n", b"expected '$', got '('"),
    (b"*2\r\n$4\r\nECHO\r\n+hello\r\n" + encode_command([b"PING"]), b"expected '$', got '+'"),
    # inline commands
    (b'SET a "unbalanced\r\n', b"unbalanced quotes in request"),
    (b"PING 'x\r\n", b"unbalanced quotes in request"),
    (b'ECHO "a"b\r\n', b"unbalanced quotes in request"),
    (b"ECHO 'a'b\r\n", b"unbalanced quotes in request"),
    (b'ECHO "a\\"\r\n', b"unbalanced quotes in request"),
    # lines that never end
    (b"x" * (MAX_INLINE_SIZE + 1), b"too big inline request"),
    (b"PING\x00" + b"x" * MAX_INLINE_SIZE + b"\r\n", b"too big inline request"),  # strchr stops at NUL
    (b"*" + b"1" * (MAX_INLINE_SIZE + 1), b"too big mbulk count string"),
    (b"*1\r\n$" + b"1" * (MAX_INLINE_SIZE + 1), b"too big bulk count string"),
]


@pytest.mark.parametrize("data, detail", MALFORMED, ids=lambda v: repr(v[:24]) if isinstance(v, bytes) else None)
def test_malformed_frames_are_refused_with_redis_wording(data, detail):
    with pytest.raises(ProtocolError) as info:
        RequestParser().feed(data)
    assert info.value.reply == b"-ERR Protocol error: " + detail + b"\r\n"
    assert info.value.requests == []
    assert str(info.value) == "Protocol error: " + detail.decode("latin-1")


@pytest.mark.parametrize("data, detail", [m for m in MALFORMED if len(m[0]) < 100])
def test_malformed_frames_give_the_same_error_however_they_are_cut(data, detail):
    prefix = encode_command([b"SET", b"k", b"v"]) + b"PING\r\n"
    stream = prefix + data
    for cut in range(1, len(stream)):
        parser = RequestParser()
        got = []
        with pytest.raises(ProtocolError) as info:
            got += parser.feed(stream[:cut])
            got += parser.feed(stream[cut:])
        assert got + info.value.requests == [[b"SET", b"k", b"v"], [b"PING"]], cut
        assert info.value.reply == b"-ERR Protocol error: " + detail + b"\r\n", cut


@pytest.mark.parametrize("data, requests", [
    (b"*-5\r\nPING\r\n", [[b"PING"]]),  # any count <= 0 is an empty request, skipped
    (b"*-9223372036854775808\r\n*1\r\n$4\r\nPING\r\n", [[b"PING"]]),
    (b"*0\r\n*1\r\n$4\r\nPING\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", [[b"PING"], [b"PING"]]),
    (b"*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPING\r\n", [[b"PING"], [b"PING"]]),  # 2 bytes skipped unread
    (b"*1\r\n$4\rXPING\r\n", [[b"PING"]]),  # so is the byte after a header's CR
    (b"*1\r\n$1\r\nPx\r\n", [[b"P"]]),  # "x\r" skipped, then "\n": an empty inline line
    (b"*1\r\n$0\r\n\r\n", [[b""]]),
    (b"\r\n\r\nPING\r\n\n", [[b"PING"]]),
    (b"$4\r\nPING\r\n", [[b"$4"], [b"PING"]]),  # not '*': inline
    (b"~1\r\n$4\r\nPING\r\n", [[b"~1"], [b"$4"], [b"PING"]]),
    (b"ECHO a\x0bb\r\n", [[b"ECHO", b"a\x0bb"]]),  # a vertical tab does not end a word...
    (b"ECHO \x0b\x0ca\r\n", [[b"ECHO", b"a"]]),  # ...but is skipped between words
    (b'ECHO "a\\x41\\n" \'it\\\'s\'\r\n', [[b"ECHO", b"aA\n", b"it's"]]),
    (b"ECHO a\rb\n", [[b"ECHO", b"a", b"b"]]),
])
def test_odd_but_valid_input_parses_as_redis_does(data, requests):
    assert RequestParser().feed(data) == requests


def test_a_nul_byte_before_the_end_of_a_line_leaves_it_unfinished_as_in_redis():
    parser = RequestParser()
    assert parser.feed(b"PING\x00\r\n") == []
    assert parser.feed(b"PING\r\n") == []  # C's strchr stops at the NUL: Redis waits for ever
    parser = RequestParser()
    assert parser.feed(b"*1\x00\r\n$4\r\nPING\r\n") == []


def test_the_parser_ignores_what_comes_after_an_error():
    parser = RequestParser()
    with pytest.raises(ProtocolError):
        parser.feed(b"*1\r\n+PING\r\n")
    assert parser.feed(encode_command([b"PING"])) == []
    assert parser.feed(b"PING\r\n") == []


def test_a_count_redis_accepts_costs_nothing_until_its_elements_arrive():
    # hiredis would reserve 8 bytes per element at once, and take seconds to free them
    for header in (b"*2147483647\r\n", b"*268435456\r\n", b"*1048577\r\n"):
        parser = RequestParser()
        tracemalloc.start()
        try:
            assert parser.feed(header) == []
            assert parser.feed(b"$4\r\nPING\r\n" * 1000) == []
            del parser
            gc.collect()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1_000_000, (header, peak)  # (what hiredis reserves would also take seconds)


def test_a_count_is_honoured_when_its_elements_come():
    parser = RequestParser()
    assert parser.feed(b"*30000\r\n") == []
    assert parser.feed(b"$1\r\nx\r\n" * 29999) == []
    assert parser.feed(b"$1\r\ny\r\n" + encode_command([b"PING"])) == [[b"x"] * 29999 + [b"y"], [b"PING"]]
    assert parser.feed(encode_command([b"PING"])) == [[b"PING"]] and parser.exact  # fast again


@pytest.mark.parametrize("hostile", [
    b"*2147483648\r\n", b"*2147483647\r\n", b"*1\r\n*2147483647\r\n", b"*1\r\n~2147483647\r\n",
    b"*1\r\n>2147483647\r\n", b"*1\r\n|2147483647\r\n", b"*2\r\n$1\r\nxAB*2147483647\r\n",
    b"*1\r\n$4\r\nPING\r\n~2147483647\r\n", b"*1\r\n$4\r\nPING\r\n>2147483647\r\n",
])
@pytest.mark.parametrize("before", [b"", encode_command([b"PING"]) * 200, encode_command([b"SET", b"k", b"v" * 5000])])
def test_no_huge_aggregate_header_reaches_hiredis_wherever_it_hides(hostile, before):
    tracemalloc.start()
    try:
        try:
            RequestParser().feed(before + hostile)
        except ProtocolError:
            pass
        gc.collect()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(before) + 1_000_000


def test_max_bulk_len_is_a_parameter():
    parser = RequestParser(max_bulk_len=1024)
    assert parser.feed(encode_command([b"ECHO", b"x" * 1024])) == [[b"ECHO", b"x" * 1024]]
    with pytest.raises(ProtocolError) as info:
        parser.feed(b"*2\r\n$4\r\nECHO\r\n$1025\r\n")
    assert info.value.requests == []
    assert info.value.reply == b"-ERR Protocol error: invalid bulk length\r\n"
    assert RequestParser().max_bulk_len == MAX_BULK_LENGTH == 512 * 1024 * 1024


def test_requests_before_a_protocol_error_are_kept():
    data = encode_command([b"SET", b"a", b"1"]) + encode_command([b"GET", b"a"]) + b"*1\r\n$abc\r\n"
    with pytest.raises(ProtocolError) as info:
        RequestParser().feed(data)
    assert info.value.requests == [[b"SET", b"a", b"1"], [b"GET", b"a"]]


def test_huge_bulk_header_split_across_chunks_is_still_refused():
    parser = RequestParser()
    assert parser.feed(b"*1\r\n$6000") == []
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parser.feed(b"00000\r\n")


def test_endless_inline_line_is_refused():
    parser = RequestParser()
    with pytest.raises(ProtocolError, match="too big inline request"):
        parser.feed(b"a" * (MAX_INLINE_SIZE + 10))


@pytest.mark.parametrize("value, resp2, resp3", [
    (b"v", b"$1\r\nv\r\n", b"$1\r\nv\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    (7, b":7\r\n", b":7\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (Status("OK"), b"+OK\r\n", b"+OK\r\n"),
    (Error("ERR bad\r\nthing"), b"-ERR bad  thing\r\n", b"-ERR bad  thing\r\n"),
    ([b"a", None], b"*2\r\n$1\r\na\r\n$-1\r\n", b"*2\r\n$1\r\na\r\n_\r\n"),
    ({"k": 1}, b"*2\r\n$1\r\nk\r\n:1\r\n", b"%1\r\n$1\r\nk\r\n:1\r\n"),
])
def test_reply_encoding_in_both_protocols(value, resp2, resp3):
    assert encode(value) == resp2
    assert encode(value, resp3=True) == resp3


@pytest.mark.parametrize("value", [b"v", None, 3, Status("OK"), Error("ERR x"), [b"a", None]])
def test_decode_reply_inverts_encode(value):
    decoded = decode_reply(encode(value))
    assert decoded == value and type(decoded) is type(value)


def test_exact_says_when_a_chunk_is_precisely_the_requests_returned():
    parser = RequestParser()
    data = b"".join(encode_command(r) for r in PIPELINE)
    assert parser.feed(data) == PIPELINE and parser.exact
    assert parser.feed(data[:10]) == [] and not parser.exact
    assert parser.feed(data[10:]) == PIPELINE and not parser.exact  # it began mid-frame
    assert parser.feed(b"PING\r\n") == [[b"PING"]] and not parser.exact  # inline


def test_exact_is_only_claimed_for_a_chunk_of_requests_and_nothing_else():
    parser = RequestParser()
    pipeline = b"".join(encode_command(r) for r in PIPELINE)
    assert parser.feed(pipeline + b"*0\r\n") == PIPELINE and parser.exact
    assert parser.feed(b"*0\r\n") == [] and parser.exact
    for tail in (b"*1\r\n", b"*1\r\n$4\r\nPI", b"PING\r\n", b"*-1\r\n", b"*1\r\n+PING\r\n"):
        parser = RequestParser()
        try:
            parser.feed(pipeline + tail)
        except ProtocolError:
            pass
        assert not parser.exact, tail
    parser = RequestParser()
    assert parser.feed(encode_command([b"SET", b"k", b"a=1|~2>3"]) * 3) == [[b"SET", b"k", b"a=1|~2>3"]] * 3
    assert parser.exact  # proved the long way: "=1" could have been a verbatim string


def _outcome(parser, chunks):
    """(requests, error reply or None) from feeding ``chunks`` one after the other."""
    got = []
    try:
        for chunk in chunks:
            got += parser.feed(chunk)
    except ProtocolError as exc:
        return got + exc.requests, exc.reply
    return got, None


def _mutant(rng):
    words = [b"SET", b"GET", b"ECHO", b"PING", b"k", b"", b"x" * 300, b"a=1", b"*5", b"$3", b"\r\n"]
    frames = [encode_command([rng.choice(words) for _ in range(rng.randrange(1, 4))])
              for _ in range(rng.randrange(1, 6))]
    data = bytearray(b"".join(frames))
    for _ in range(rng.randrange(0, 4)):
        i = rng.randrange(len(data))
        kind = rng.randrange(5)
        if kind == 0:
            data[i] = rng.randrange(256)
        elif kind == 1:
            data[i:i] = rng.choice([b"+", b"=", b"(", b":", b"~", b">", b"|", b"*", b"$", b"-", b"_", b"\r\n"])
        elif kind == 2:
            data[i:i] = rng.choice([b"*2147483648\r\n", b"*99999\r\n", b"$-1\r\n", b"*0\r\n", b"=5\r\ntxt:x\r\n"])
        elif kind == 3:
            del data[i:i + rng.randrange(1, 6)]
        else:
            data[i:i] = b"%d" % rng.randrange(10**rng.randrange(1, 12))
    return bytes(data)


def _resp_item(rng, depth=0):
    """Any RESP3 item hiredis reads (a reply, not a request), nested up to 3 deep."""
    word = rng.choice([b"PING", b"ECHO", b"x", b"", b"abcdefghij", b"12", b"txt:ab"])
    kind = rng.randrange(16)
    if kind < 5:
        return b"$%d\r\n%b\r\n" % (len(word), word)
    if kind == 5:
        return b"+%b\r\n" % word
    if kind == 6:
        return b"=%d\r\ntxt:%b\r\n" % (len(word) + 4, word)
    if kind == 7:
        return b"(%d\r\n" % rng.randrange(1000)
    if kind == 8:
        return b":%d\r\n" % rng.randrange(-5, 1000)
    if kind == 9 or depth > 2:
        return rng.choice([b"_\r\n", b"#t\r\n", b",1.5\r\n", b"-ERR x\r\n", b"$-1\r\n", b"*-1\r\n"])
    n = rng.randrange(0, 4)
    marker = rng.choice(b"**~>|%")
    return b"%c%d\r\n" % (marker, n) + b"".join(
        _resp_item(rng, depth + 1) for _ in range(2 * n if marker in b"%|" else n))


def _resp_stream(rng):
    frames = [_resp_item(rng, 1 if rng.random() < 0.6 else 0) for _ in range(rng.randrange(1, 5))]
    data = b"".join(b"*1\r\n" + f if rng.random() < 0.5 else f for f in frames)
    return data[: rng.randrange(1, len(data) + 1)] if rng.random() < 0.3 else data


def test_the_fast_path_agrees_with_the_slow_path_on_mutated_frames():
    """Whole chunks take the fast path (hiredis, then a proof); bytes fed one at a time take the
    slow path (Redis's parser, transcribed). They must agree on every input."""
    for seed in (1, 2, 3):
        rng = random.Random(seed)
        for n in range(1000):
            data = _mutant(rng) if n % 2 else _resp_stream(rng)
            whole = _outcome(RequestParser(), [data])
            cut = rng.randrange(1, len(data)) if len(data) > 1 else 1
            assert _outcome(RequestParser(), [data[i:i + 1] for i in range(len(data))]) == whole, (seed, n, data)
            assert _outcome(RequestParser(), [data[:cut], data[cut:]]) == whole, (seed, n, cut, data)
