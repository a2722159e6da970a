"""The smart client's policy, without sockets or sleeps: the retry decisions (``Attempts``, which
takes the time as a number), the primary lookup, the locator's cache, and the thin blocking and
asyncio loops that carry them out, driven with a fake attempt, a fake clock and a fake sleep."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError, ReadOnlyError, RedisError, ResponseError, TimeoutError

import resp_kv
import resp_kv.asyncio
from resp_kv import client as kvclient
from resp_kv.client import Attempts, Identity, Unavailable, is_data_command, parse_view, primary_address
from resp_kv.daemon import UsageError


def attempts(args=("SET", "k", "v"), *, identity=None, start=100.0, timeout=None, retry_interval=0.1):
    return Attempts(identity or Identity(), args, start=start, timeout=timeout, retry_interval=retry_interval)


# --- Attempts: what is sent, what is retried, how long to wait, when to give up ---------------

def issued(client_id="s1.tag"):
    identity = Identity()
    identity.client_id = client_id
    return identity


def test_the_request_is_the_command_wrapped_once_with_the_identity():
    identity = issued()
    a = attempts(("SET", "k", "v"), identity=identity)
    assert not a.needs_session
    assert a.request == ("KV.ONCE", identity.client_id, 1, "SET", "k", "v")
    a.failed(ConnectionError("lost"), 100.5)
    a.failed(TimeoutError("slow"), 101.0)
    assert a.request == ("KV.ONCE", identity.client_id, 1, "SET", "k", "v")  # every retry: the same words
    assert identity.seq == 1


def test_each_new_command_takes_the_next_sequence_number():
    identity = issued()
    first = attempts(("SET", "k", "v"), identity=identity)
    second = attempts(("GET", "k"), identity=identity)
    assert first.request[:3] == ("KV.ONCE", identity.client_id, 1)
    assert second.request == ("KV.ONCE", identity.client_id, 2, "GET", "k")


def test_a_new_identity_needs_a_session_id_from_the_cluster_first():
    identity = Identity()
    a = attempts(identity=identity)
    assert a.needs_session
    identity.client_id = b"abc.def"  # what KV.SESSION answered
    assert a.request == ("KV.ONCE", b"abc.def", 1, "SET", "k", "v")


def test_a_forked_process_starts_a_new_session(monkeypatch):
    identity = issued()
    attempts(identity=identity)
    monkeypatch.setattr(kvclient.os, "getpid", lambda: -1)
    a = attempts(identity=identity)
    assert a.needs_session and a.seq == 1


@pytest.mark.parametrize("error", [ConnectionError("refused"), TimeoutError("timed out"),
                                   ReadOnlyError("You can't write against a read only replica.")])
def test_a_lost_connection_a_timeout_or_readonly_waits_one_interval_and_retries(error):
    a = attempts(retry_interval=0.25, timeout=5.0)
    assert Attempts.retryable(error)
    assert a.failed(error, 100.0) == 0.25
    assert a.failed(error, 104.9) == 0.25


@pytest.mark.parametrize("error", [ResponseError("WRONGTYPE"), RedisError("other"), ValueError("bad"),
                                   Unavailable("nested")])
def test_an_error_a_retry_cannot_help_is_raised_as_it_is(error):
    a = attempts(timeout=None)
    assert not Attempts.retryable(error)
    with pytest.raises(type(error)) as caught:
        a.failed(error, 100.0)
    assert caught.value is error


def test_without_a_timeout_it_retries_forever():
    a = attempts(timeout=None, retry_interval=0.1)
    for now in (100.0, 1e6, 1e12):
        assert a.failed(ConnectionError("down"), now) == 0.1


def test_once_the_timeout_has_passed_it_gives_up_with_unavailable():
    a = attempts(start=100.0, timeout=2.0)
    assert a.failed(ConnectionError("down"), 101.99) == 0.1
    last = TimeoutError("still down")
    with pytest.raises(Unavailable) as caught:
        a.failed(last, 102.0)
    assert caught.value.__cause__ is last
    assert "still down" in str(caught.value)


def test_the_timeout_counts_from_the_start_not_from_the_last_failure():
    a = attempts(start=100.0, timeout=1.0)
    for now in (100.2, 100.5, 100.9):
        a.failed(ConnectionError("down"), now)
    with pytest.raises(Unavailable):
        a.failed(ConnectionError("down"), 101.0)


def test_a_zero_timeout_gives_up_at_the_first_failure():
    with pytest.raises(Unavailable):
        attempts(start=100.0, timeout=0).failed(ReadOnlyError("READONLY"), 100.0)


def test_unavailable_is_a_redis_error_exported_by_both_clients():
    assert issubclass(Unavailable, RedisError)
    assert resp_kv.Unavailable is Unavailable is resp_kv.asyncio.Unavailable


def test_only_data_commands_are_wrapped():
    assert is_data_command("get") and is_data_command(b"SET") and is_data_command("PUTHASH")
    assert not is_data_command("PING") and not is_data_command(b"info")


# --- the primary lookup -------------------------------------------------------------------------

def test_a_view_reply_names_the_primary():
    reply = [b"3", b"127.0.0.1:7001", b"127.0.0.1:7002"]
    assert parse_view(reply) == (3, "127.0.0.1:7001", "127.0.0.1:7002")
    assert primary_address(reply) == ("127.0.0.1", 7001)
    assert primary_address(["4", "10.0.0.9:6380", ""]) == ("10.0.0.9", 6380)  # decode_responses
    assert primary_address([5, b"[::1]:7001", b""]) == ("::1", 7001)


@pytest.mark.parametrize("primary", [b"", "", None])
def test_a_view_without_a_primary_is_a_connection_error(primary):
    with pytest.raises(ConnectionError, match=r"viewd names no primary \(view 7\)"):
        primary_address([b"7", primary, b""])


def test_a_malformed_primary_address_is_not_taken_for_one():
    with pytest.raises(UsageError, match="primary address"):
        primary_address([b"1", b"no-port", b""])


def test_a_malformed_viewd_address_is_refused_at_construction():
    with pytest.raises(UsageError, match="view daemon address"):
        resp_kv.Client("localhost")


class FakeViewd:
    def __init__(self, *replies):
        self.replies = list(replies)
        self.asked = 0

    def execute_command(self, *args):
        assert args == ("VIEW.GET",)
        self.asked += 1
        return self.replies.pop(0)


class FakeAsyncViewd(FakeViewd):
    async def execute_command(self, *args):
        return super().execute_command(*args)


def test_the_locator_caches_the_primary_until_told_to_forget_it():
    locator = kvclient.Locator("127.0.0.1:26379", 1.0)
    locator.viewd = FakeViewd([b"1", b"", b""], [b"2", b"h:1", b""], [b"3", b"h:2", b""])
    with pytest.raises(ConnectionError):
        locator.locate()
    assert locator.primary is None
    assert locator.locate() == ("h", 1)
    assert locator.locate() == ("h", 1)
    assert locator.viewd.asked == 2
    locator.forget()
    assert locator.locate() == ("h", 2)


def test_the_asyncio_locator_shares_the_cache():
    locator = resp_kv.asyncio.Locator("127.0.0.1:26379", 1.0)
    locator.viewd = FakeAsyncViewd([b"1", b"h:1", b""], [b"2", b"", b""])

    async def run():
        assert await locator.locate() == ("h", 1)
        assert await locator.locate() == ("h", 1)
        locator.forget()
        with pytest.raises(ConnectionError, match="names no primary"):
            await locator.locate()

    asyncio.run(run())
    assert locator.viewd.asked == 2


# --- the thin loops, with the I/O replaced ------------------------------------------------------

class Clock:
    def __init__(self, now=1000.0):
        self.now = now
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds):
        self.sleep(seconds)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(kvclient.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(kvclient.time, "sleep", clock.sleep)
    monkeypatch.setattr(resp_kv.asyncio.asyncio, "sleep", clock.asleep)
    return clock


def scripted(outcomes, sent, locator):
    """An ``_attempt`` that records what it sent and answers with the next outcome."""
    def attempt(command_name, attempts, options):
        if attempts.needs_session:
            attempts.identity.client_id = b"issued"
        sent.append(attempts.request)
        locator.primary = ("h", 1)  # as if the pool had connected through the locator
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
    return attempt


def test_the_client_retries_the_same_request_and_forgets_the_primary(clock):
    kv = resp_kv.Client("127.0.0.1:26379", retry_interval=0.5)
    sent = []
    kv._attempt = scripted([ConnectionError("lost"), ReadOnlyError("READONLY"), b"v"], sent, kv.locator)
    forgotten = []
    kv.locator.forget = lambda: forgotten.append(True)
    assert kv.execute_command("GET", "k") == b"v"
    assert sent == [("KV.ONCE", kv.identity.client_id, 1, "GET", "k")] * 3
    assert clock.sleeps == [0.5, 0.5]
    assert len(forgotten) == 2
    kv.close()


def test_the_client_gives_up_after_its_timeout(clock):
    kv = resp_kv.Client("127.0.0.1:26379", timeout=1.0, retry_interval=0.3)
    sent = []
    kv._attempt = scripted([TimeoutError("slow")] * 10, sent, kv.locator)
    with pytest.raises(Unavailable):
        kv.set("k", "v")
    assert clock.sleeps == [0.3, 0.3, 0.3, 0.3]  # failures at +0, +0.3, +0.6, +0.9; +1.2 is too late
    assert len(sent) == 5 and len(set(sent)) == 1
    kv.close()


def test_the_client_raises_a_server_error_at_once(clock):
    kv = resp_kv.Client("127.0.0.1:26379")
    sent = []
    kv._attempt = scripted([ResponseError("WRONGTYPE")], sent, kv.locator)
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        kv.puthash("k", "v")
    assert clock.sleeps == [] and len(sent) == 1
    assert kv.locator.primary == ("h", 1)  # a server that answers is still the primary
    kv.close()


def ascripted(outcomes, sent, locator):
    attempt = scripted(outcomes, sent, locator)

    async def aattempt(command_name, attempts, options):
        return attempt(command_name, attempts, options)
    return aattempt


def test_the_asyncio_client_carries_out_the_same_policy(clock):
    async def run():
        kv = resp_kv.asyncio.Client("127.0.0.1:26379", timeout=1.0, retry_interval=0.4)
        assert isinstance(kv.locator, resp_kv.asyncio.Locator)
        sent = []
        kv._attempt = ascripted([ConnectionError("lost"), b"prev"], sent, kv.locator)
        assert await kv.puthash("k", "x") == b"prev"
        assert sent == [("KV.ONCE", kv.identity.client_id, 1, "PUTHASH", "k", "x")] * 2
        assert clock.sleeps == [0.4]

        sent.clear()
        kv._attempt = ascripted([ConnectionError("down")] * 10, sent, kv.locator)
        with pytest.raises(Unavailable):
            await kv.set("k", "v")
        assert clock.sleeps == [0.4] * 4
        assert len(sent) == 4 and set(sent) == {("KV.ONCE", kv.identity.client_id, 2, "SET", "k", "v")}
        await kv.aclose()

    asyncio.run(run())


def test_both_clients_keep_their_options():
    kv = resp_kv.Client("127.0.0.1:26379", timeout=3.0, retry_interval=0.2, socket_timeout=1.5,
                        decode_responses=True)
    assert (kv.timeout, kv.retry_interval) == (3.0, 0.2)
    kw = kv.connection_pool.connection_kwargs
    assert kw["decode_responses"] and kw["socket_timeout"] == 1.5 and kw["socket_connect_timeout"] == 1.5
    assert kv.connection_pool.connection_class is kvclient.PrimaryConnection
    kv.close()
    akv = resp_kv.asyncio.Client("127.0.0.1:26379")
    assert (akv.timeout, akv.retry_interval) == (None, kvclient.DEFAULT_RETRY_INTERVAL)
    assert akv.connection_pool.connection_class is resp_kv.asyncio.PrimaryConnection
    assert akv.connection_pool.connection_kwargs["socket_timeout"] == kvclient.DEFAULT_SOCKET_TIMEOUT
