"""The smart client: redis-py, pointed at viewd instead of a server.

It decides three things, and only these: where to send a request (the primary viewd names,
cached until a request fails or is refused), when to try again (after a connection error, a
timeout or READONLY, one ping interval later, until ``timeout`` runs out), and how a retry stays
harmless (each data command is wrapped as ``KV.ONCE <client-id> <seq> <command> <args...>``,
and a retry reuses the same identity, so the servers apply it once and replay its reply).

Everything else is redis-py's: connections, reply parsing, response callbacks, options.
Requests from one client object are sent one at a time (a lock), which is what lets the
servers remember a single reply per client.
"""

from __future__ import annotations

import threading
import time
import uuid

import redis
from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError

from .commands import DATA_COMMANDS

DATA = frozenset(cmd.name for cmd in DATA_COMMANDS)
RETRYABLE = (ConnectionError, TimeoutError, ReadOnlyError)
DEFAULT_SOCKET_TIMEOUT = 2.0
DEFAULT_RETRY_INTERVAL = 0.1  # viewd's default ping interval


class Unavailable(redis.exceptions.RedisError):
    """No primary completed the request before the client's ``timeout`` ran out."""


def is_data_command(name) -> bool:
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return str(name).upper() in DATA


class Identity:
    """This client's id and the next sequence number: what makes a retry recognisable."""

    def __init__(self) -> None:
        self.client_id = uuid.uuid4().hex
        self.seq = 0

    def wrap(self, args: tuple) -> tuple:
        """A new request's wrapped form; keep it to retry with the same identity."""
        self.seq += 1
        return ("KV.ONCE", self.client_id, self.seq) + tuple(args)


class Deadline:
    """When a retrying operation gives up (never, for ``timeout=None``)."""

    def __init__(self, timeout: float | None):
        self.end = None if timeout is None else time.monotonic() + timeout

    def check(self, error: Exception) -> None:
        if self.end is not None and time.monotonic() >= self.end:
            raise Unavailable(f"no primary completed the request in time (last error: {error})") from error


def parse_view(reply) -> tuple[int, str, str]:
    """A VIEW.GET reply -> (viewnum, primary, backup)."""
    viewnum, primary, backup = reply
    text = lambda v: v.decode() if isinstance(v, bytes) else (v or "")
    return int(viewnum), text(primary), text(backup)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


class Locator:
    """Finds the primary through viewd and caches it until told to forget it."""

    def __init__(self, viewd: str, socket_timeout: float | None):
        host, port = split_address(viewd)
        self.viewd = redis.Redis(host=host, port=port, protocol=2, socket_timeout=socket_timeout,
                                 socket_connect_timeout=socket_timeout)
        self.primary: tuple[str, int] | None = None

    def locate(self) -> tuple[str, int]:
        if self.primary is None:
            viewnum, primary, _ = parse_view(self.viewd.execute_command("VIEW.GET"))
            if not primary:
                raise ConnectionError(f"viewd names no primary (view {viewnum})")
            self.primary = split_address(primary)
        return self.primary

    def forget(self) -> None:
        self.primary = None


class PrimaryConnection(redis.Connection):
    """A redis-py connection that connects to whichever server viewd names primary."""

    def __init__(self, *, locator: Locator, **kwargs):
        self.locator = locator
        super().__init__(**kwargs)

    def _connect(self):
        self.host, self.port = self.locator.locate()
        return super()._connect()


class Client(redis.Redis):
    """``redis.Redis`` for a resp-kv service: pass viewd's ``HOST:PORT`` instead of a server.

    ``timeout`` bounds how long one operation keeps retrying (None: forever);
    ``retry_interval`` is the pause between attempts; other keyword arguments go to redis-py.
    """

    def __init__(self, viewd: str = "127.0.0.1:26379", *, timeout: float | None = None,
                 retry_interval: float = DEFAULT_RETRY_INTERVAL,
                 socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT, **kwargs):
        self.locator = Locator(viewd, socket_timeout)
        kwargs.setdefault("socket_connect_timeout", socket_timeout)
        pool = redis.ConnectionPool(connection_class=PrimaryConnection, locator=self.locator,
                                    socket_timeout=socket_timeout, **kwargs)
        super().__init__(connection_pool=pool)
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.identity = Identity()
        self._lock = threading.Lock()

    def execute_command(self, *args, **options):
        if not is_data_command(args[0]):
            return super().execute_command(*args, **options)
        with self._lock:
            request = self.identity.wrap(args)
            deadline = Deadline(self.timeout)
            while True:
                try:
                    return self._attempt(args[0], request, options)
                except RETRYABLE as error:
                    deadline.check(error)
                    self.locator.forget()
                    self.connection_pool.disconnect()
                    time.sleep(self.retry_interval)

    def _attempt(self, command_name, request, options):
        pool = self.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_command(*request)
            return self.parse_response(conn, command_name, **options)
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def puthash(self, key, value):
        """PUTHASH: set the key to the hash of its previous value and ``value``; return the previous."""
        return self.execute_command("PUTHASH", key, value)

    def view(self) -> tuple[int, str, str]:
        """The current view: (viewnum, primary, backup)."""
        return parse_view(self.locator.viewd.execute_command("VIEW.GET"))

    def close(self) -> None:
        super().close()
        self.locator.viewd.close()
