"""The smart client: redis-py, pointed at viewd instead of a server.

It decides three things, and only these: where to send a request (the primary viewd names,
cached until a request fails or is refused), when to try again (after a connection error, a
timeout or READONLY, one ping interval later, until ``timeout`` runs out), and how a retry stays
harmless (each data command is wrapped as ``KV.ONCE <client-id> <seq> <command> <args...>``,
the id issued once by the cluster, and a retry reuses the same identity, so the servers apply
it once and replay its reply).

Those decisions are made here once, without I/O (``Attempts``, ``primary_address``, and the
shared halves of ``Locator`` and ``SmartClient``); this module's ``Client`` and
:mod:`resp_kv.asyncio`'s only carry them out, one blocking and one awaiting.

Everything else is redis-py's: connections, reply parsing, response callbacks, options.
Requests from one client object are sent one at a time (a lock), which is what lets the
servers remember a single reply per client.
"""

from __future__ import annotations

import os
import threading
import time

import redis
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
from redis.retry import Retry

from .commands import DATA_COMMANDS
from .daemon import parse_address

DATA = frozenset(cmd.name for cmd in DATA_COMMANDS if "connection" not in cmd.flags)
RETRYABLE = (ConnectionError, TimeoutError, ReadOnlyError)
DEFAULT_SOCKET_TIMEOUT = 2.0
# The options that also apply to the connection to viewd (the servers get every option).
VIEWD_OPTIONS = frozenset({"username", "password", "ssl", "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs",
                           "ssl_ca_certs", "ssl_ca_path", "ssl_check_hostname"})
DEFAULT_RETRY_INTERVAL = 0.1  # viewd's default ping interval
FOLLOW_SECONDS = 10.0  # how long ConnectionPool's requests keep retrying


class Unavailable(redis.exceptions.RedisError):
    """No primary completed the request before the client's ``timeout`` ran out."""


def is_data_command(name) -> bool:
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return str(name).upper() in DATA


class Identity:
    """This client's exactly-once session id and the next sequence number: what makes a retry
    recognisable.

    The id is issued by the cluster (``KV.SESSION``, at the first data command), so no other
    client can write into this one's session. A process forked from one holding a client
    (gunicorn, multiprocessing) asks for a new id at its first request: sharing the parent's id
    and numbers would make one's request be taken for the other's retry, and never applied."""

    def __init__(self) -> None:
        self._new()

    def _new(self) -> None:
        self.client_id: str | bytes | None = None  # until KV.SESSION answers
        self.seq = 0
        self.pid = os.getpid()

    def next_seq(self) -> int:
        """A new request's sequence number; keep it to retry with the same identity."""
        if self.pid != os.getpid():
            self._new()
        self.seq += 1
        return self.seq


class Attempts:
    """The retry policy for one data command, with no I/O: the caller passes the time.

    ``request`` is what every attempt sends: the command wrapped once, so a retry is the very
    same request (once the identity has its session id: ``needs_session``). After a failed attempt the caller asks ``failed(error, now)``: an error a
    retry cannot help is raised again; once ``timeout`` seconds (None: never) have passed since
    ``start`` it raises ``Unavailable``; otherwise it returns how long to wait before the next
    attempt. A retryable failure means the cached primary is dead, cut off or no longer primary,
    so before waiting the caller forgets it and drops the pool's connections to it.
    """

    def __init__(self, identity: Identity, args: tuple, *, start: float, timeout: float | None,
                 retry_interval: float):
        self.identity = identity
        self.seq = identity.next_seq()
        self.args = tuple(args)
        self.end = None if timeout is None else start + timeout
        self.retry_interval = retry_interval

    @property
    def needs_session(self) -> bool:
        return self.identity.client_id is None

    @property
    def request(self) -> tuple:
        return ("KV.ONCE", self.identity.client_id, self.seq) + self.args

    @staticmethod
    def retryable(error: BaseException) -> bool:
        """A connection error, a timeout or READONLY: another attempt, perhaps elsewhere, may work."""
        return isinstance(error, RETRYABLE)

    def failed(self, error: Exception, now: float) -> float:
        """The seconds to wait before the next attempt; raises if there is to be none."""
        if not self.retryable(error):
            raise error
        if self.end is not None and now >= self.end:
            raise Unavailable(f"no primary completed the request in time (last error: {error})") from error
        return self.retry_interval


def parse_view(reply) -> tuple[int, str, str]:
    """A VIEW.GET reply -> (viewnum, primary, backup)."""
    viewnum, primary, backup = reply
    text = lambda v: v.decode() if isinstance(v, bytes) else (v or "")
    return int(viewnum), text(primary), text(backup)


def primary_address(reply) -> tuple[str, int]:
    """A VIEW.GET reply -> the primary's (host, port); a ConnectionError if viewd names none."""
    viewnum, primary, _ = parse_view(reply)
    if not primary:
        raise ConnectionError(f"viewd names no primary (view {viewnum})")
    return parse_address(primary, "primary address")


class Locator:
    """Finds the primary through viewd and caches it until told to forget it."""

    viewd_class = redis.Redis

    def __init__(self, viewd: str, socket_timeout: float | None, **options):
        """``options``: how to reach viewd beyond its address (the password, TLS settings)."""
        host, port = parse_address(viewd, "view daemon address")
        self.viewd = self.viewd_class(host=host, port=port, protocol=2, socket_timeout=socket_timeout,
                                      socket_connect_timeout=socket_timeout, **options)
        self.primary: tuple[str, int] | None = None

    def locate(self) -> tuple[str, int]:
        if self.primary is None:
            self.primary = primary_address(self.viewd.execute_command("VIEW.GET"))
        return self.primary

    def forget(self) -> None:
        self.primary = None


class ToPrimary:
    """Mixed into a redis-py connection class: it connects to whichever server viewd names
    primary."""

    def __init__(self, *, locator: Locator, **kwargs):
        self.locator = locator
        super().__init__(**kwargs)

    def _connect(self):
        self.host, self.port = self.locator.locate()
        try:
            return super()._connect()
        except OSError:
            self.locator.forget()  # the primary may have changed: ask viewd on the next attempt
            raise


class PrimaryConnection(ToPrimary, redis.Connection):
    pass


class PrimarySSLConnection(ToPrimary, redis.SSLConnection):
    pass


class FollowingConnection(PrimaryConnection):
    """For a pool behind a plain ``redis.Redis``: once a connection is lost or refused, the
    next one asks viewd again (the primary may have changed)."""

    def disconnect(self, *args, **kwargs):
        self.locator.forget()
        return super().disconnect(*args, **kwargs)


class ConnectionPool(redis.ConnectionPool):
    """A redis-py connection pool to a resp-kv service's primary, for libraries that take a
    pool class and a URL, such as Django's cache (``"OPTIONS": {"pool_class":
    "resp_kv.ConnectionPool"}``): the URL names viewd, ``redis://[:password@]host:port/db``.
    A request is retried after a lost connection, a timeout or READONLY, every
    ``DEFAULT_RETRY_INTERVAL`` for up to ``FOLLOW_SECONDS``, so it follows a failover; it is
    not exactly-once (``resp_kv.Client`` is)."""

    def __init__(self, connection_class=FollowingConnection, *, host: str = "127.0.0.1", port: int = 26379,
                 **kwargs):
        locator = Locator(f"{host}:{port}", kwargs.get("socket_timeout"),
                          **{k: v for k, v in kwargs.items() if k in VIEWD_OPTIONS})
        kwargs.setdefault("retry", Retry(ConstantBackoff(DEFAULT_RETRY_INTERVAL),
                                         int(FOLLOW_SECONDS / DEFAULT_RETRY_INTERVAL)))
        kwargs.setdefault("retry_on_error", list(RETRYABLE))
        super().__init__(connection_class=connection_class, locator=locator, **kwargs)


class SmartClient:
    """What the blocking and the asyncio client share, mixed in before their redis-py class:
    the wiring (a locator, a pool of primary connections, an identity, a lock) and the
    options. Each subclass names its I/O classes and carries out ``Attempts`` in
    ``execute_command``."""

    locator_class: type = Locator
    pool_class: type = redis.ConnectionPool
    connection_class: type = PrimaryConnection
    ssl_connection_class: type = PrimarySSLConnection
    lock_class: type = threading.Lock

    def __init__(self, viewd: str = "127.0.0.1:26379", *, timeout: float | None = None,
                 retry_interval: float = DEFAULT_RETRY_INTERVAL,
                 socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT, **kwargs):
        self.locator = self.locator_class(viewd, socket_timeout,
                                          **{k: v for k, v in kwargs.items() if k in VIEWD_OPTIONS})
        kwargs.setdefault("socket_connect_timeout", socket_timeout)
        # redis-py picks TLS by connection class, not by option: ssl=True means ours over TLS.
        connection_class = self.ssl_connection_class if kwargs.pop("ssl", False) else self.connection_class
        pool = self.pool_class(connection_class=connection_class, locator=self.locator,
                               socket_timeout=socket_timeout, **kwargs)
        super().__init__(connection_pool=pool)
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.identity = Identity()
        self._lock = self.lock_class()

    def _attempts(self, args: tuple, now: float) -> Attempts:
        return Attempts(self.identity, args, start=now, timeout=self.timeout, retry_interval=self.retry_interval)

    def puthash(self, key, value):
        """PUTHASH: set the key to the hash of its previous value and ``value``; return the previous."""
        return self.execute_command("PUTHASH", key, value)


class Client(SmartClient, redis.Redis):
    """``redis.Redis`` for a resp-kv service: pass viewd's ``HOST:PORT`` instead of a server.

    ``timeout`` bounds how long one operation keeps retrying (None: forever);
    ``retry_interval`` is the pause between attempts; other keyword arguments go to redis-py.
    """

    def execute_command(self, *args, **options):
        if not is_data_command(args[0]):
            try:  # not retried (a PUBLISH may have been delivered): the next call finds the primary
                return super().execute_command(*args, **options)
            except RETRYABLE:
                self.locator.forget()
                self.connection_pool.disconnect()
                raise
        with self._lock:
            attempts = self._attempts(args, time.monotonic())
            while True:
                try:
                    return self._attempt(args[0], attempts, options)
                except Exception as error:
                    wait = attempts.failed(error, time.monotonic())
                self.locator.forget()
                self.connection_pool.disconnect()
                time.sleep(wait)

    def _attempt(self, command_name, attempts, options):
        pool = self.connection_pool
        conn = pool.get_connection()
        try:
            if attempts.needs_session:
                conn.send_command("KV.SESSION")
                attempts.identity.client_id = conn.read_response()
            conn.send_command(*attempts.request)
            return self.parse_response(conn, command_name, **options)
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def view(self) -> tuple[int, str, str]:
        """The current view: (viewnum, primary, backup)."""
        return parse_view(self.locator.viewd.execute_command("VIEW.GET"))

    def close(self) -> None:
        super().close()
        self.locator.viewd.close()
