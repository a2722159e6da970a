"""The smart client for asyncio: ``redis.asyncio.Redis`` pointed at viewd.

The same decisions as :mod:`resp_kv.client` (where to send, when to retry, how a retry stays
harmless), and the same pieces of it (``Identity``, ``Deadline``, ``is_data_command``); only
the waiting is asynchronous.
"""

from __future__ import annotations

import asyncio

import redis.asyncio

from .client import (
    DEFAULT_RETRY_INTERVAL, DEFAULT_SOCKET_TIMEOUT, RETRYABLE, Deadline, Identity, Unavailable, is_data_command,
    parse_view, split_address,
)

__all__ = ["Client", "Unavailable"]


class Locator:
    """Finds the primary through viewd and caches it until told to forget it."""

    def __init__(self, viewd: str, socket_timeout: float | None):
        host, port = split_address(viewd)
        self.viewd = redis.asyncio.Redis(host=host, port=port, protocol=2, socket_timeout=socket_timeout,
                                         socket_connect_timeout=socket_timeout)
        self.primary: tuple[str, int] | None = None

    async def locate(self) -> tuple[str, int]:
        if self.primary is None:
            viewnum, primary, _ = parse_view(await self.viewd.execute_command("VIEW.GET"))
            if not primary:
                raise redis.exceptions.ConnectionError(f"viewd names no primary (view {viewnum})")
            self.primary = split_address(primary)
        return self.primary

    def forget(self) -> None:
        self.primary = None


class PrimaryConnection(redis.asyncio.Connection):
    """A redis-py asyncio connection to whichever server viewd names primary."""

    def __init__(self, *, locator: Locator, **kwargs):
        self.locator = locator
        super().__init__(**kwargs)

    async def _connect(self):
        self.host, self.port = await self.locator.locate()
        return await super()._connect()


class Client(redis.asyncio.Redis):
    """``redis.asyncio.Redis`` for a resp-kv service; see :class:`resp_kv.Client`."""

    def __init__(self, viewd: str = "127.0.0.1:26379", *, timeout: float | None = None,
                 retry_interval: float = DEFAULT_RETRY_INTERVAL,
                 socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT, **kwargs):
        self.locator = Locator(viewd, socket_timeout)
        kwargs.setdefault("socket_connect_timeout", socket_timeout)
        pool = redis.asyncio.ConnectionPool(connection_class=PrimaryConnection, locator=self.locator,
                                            socket_timeout=socket_timeout, **kwargs)
        super().__init__(connection_pool=pool)
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.identity = Identity()
        self._lock = asyncio.Lock()

    async def execute_command(self, *args, **options):
        if not is_data_command(args[0]):
            return await super().execute_command(*args, **options)
        async with self._lock:
            request = self.identity.wrap(args)
            deadline = Deadline(self.timeout)
            while True:
                try:
                    return await self._attempt(args[0], request, options)
                except RETRYABLE as error:
                    deadline.check(error)
                    self.locator.forget()
                    await self.connection_pool.disconnect()
                    await asyncio.sleep(self.retry_interval)

    async def _attempt(self, command_name, request, options):
        pool = self.connection_pool
        conn = await pool.get_connection()
        try:
            await conn.send_command(*request)
            return await self.parse_response(conn, command_name, **options)
        except BaseException:
            await conn.disconnect()
            raise
        finally:
            await pool.release(conn)

    async def puthash(self, key, value):
        """PUTHASH: set the key to the hash of its previous value and ``value``; return the previous."""
        return await self.execute_command("PUTHASH", key, value)

    async def view(self) -> tuple[int, str, str]:
        return parse_view(await self.locator.viewd.execute_command("VIEW.GET"))

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        await self.locator.viewd.aclose()
