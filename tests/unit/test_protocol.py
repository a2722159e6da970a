"""The RESP parser and encoder, fed bytes directly (no sockets)."""

import pytest

from resp_kv.protocol import (
    MAX_INLINE_SIZE, NULL_ARRAY, Error, ProtocolError, RequestParser, Status, decode_reply, encode,
    encode_command, split_inline,
)

PIPELINE = [[b"SET", b"k", b"v"], [b"GET", b"k"], [b"MSET", b"a", b"1", b"b", b""], [b"PING"]]


def feed_all(chunks):
    parser = RequestParser()
    out = []
    for chunk in chunks:
        out += parser.feed(chunk)
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


@pytest.mark.parametrize("data, message", [
    (b"*1\r\n$600000000\r\n", "invalid bulk length"),  # over 512 MB, refused from the header alone
    (b"*2000000\r\n", "invalid multibulk length"),  # over 1024*1024 elements
    (b"*99999999999999999999\r\n", "invalid multibulk length"),
    (b"*1\r\n$-5\r\n", "invalid bulk length"),
    (b"*1\r\n$x\r\n", "invalid bulk length"),
    (b"*x\r\n", "invalid multibulk length"),
    (b"*1\r\n$04\r\nPING\r\n", "invalid bulk length"),  # no leading zeros, as string2ll
    (b"*01\r\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"*1\r\n:5\r\n", "expected '\\$', got ':'"),
    (b"*1\r\n+OK\r\n", "expected '\\$', got '\\+'"),
])
def test_malformed_frames_are_refused_with_redis_wording(data, message):
    with pytest.raises(ProtocolError, match="Protocol error: " + message):
        RequestParser().feed(data)


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
