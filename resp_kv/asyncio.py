"""The smart client for asyncio: ``redis.asyncio.Redis`` pointed at viewd.

The same decisions as :mod:`resp_kv.client`, made by the same code (``Attempts`` for when to
retry and what to send, ``primary_address`` and ``Locator``'s cache for where, ``SmartClient``
for the wiring and options); only the waiting is asynchronous.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio

from . import client
from .client import Unavailable, is_data_command, parse_view, primary_address

__all__ = ["Client", "Unavailable"]


class Locator(client.Locator):
    """Finds the primary through viewd and caches it until told to forget it."""

    viewd_class = redis.asyncio.Redis

    async def locate(self) -> tuple[str, int]:
        if self.primary is None:
            self.primary = primary_address(await self.viewd.execute_command("VIEW.GET"))
        return self.primary


class ToPrimary:
    """Mixed into a redis-py asyncio connection class: it connects to whichever server viewd
    names primary."""

    def __init__(self, *, locator: Locator, **kwargs):
        self.locator = locator
        super().__init__(**kwargs)

    async def _connect(self):
        self.host, self.port = await self.locator.locate()
        try:
            return await super()._connect()
        except OSError:
            self.locator.forget()  # the primary may have changed: ask viewd on the next attempt
            raise


class PrimaryConnection(ToPrimary, redis.asyncio.Connection):
    pass


class PrimarySSLConnection(ToPrimary, redis.asyncio.SSLConnection):
    pass


class Client(client.SmartClient, redis.asyncio.Redis):
    """``redis.asyncio.Redis`` for a resp-kv service; see :class:`resp_kv.Client`."""

    locator_class = Locator
    pool_class = redis.asyncio.ConnectionPool
    connection_class = PrimaryConnection
    ssl_connection_class = PrimarySSLConnection
    lock_class = asyncio.Lock

    async def execute_command(self, *args, **options):
        if not is_data_command(args[0]):
            return await super().execute_command(*args, **options)
        async with self._lock:
            attempts = self._attempts(args, time.monotonic())
            while True:
                try:
                    return await self._attempt(args[0], attempts, options)
                except Exception as error:
                    wait = attempts.failed(error, time.monotonic())
                self.locator.forget()
                await self.connection_pool.disconnect()
                await asyncio.sleep(wait)

    async def _attempt(self, command_name, attempts, options):
        pool = self.connection_pool
        conn = await pool.get_connection()
        try:
            if attempts.needs_session:
                await conn.send_command("KV.SESSION")
                attempts.identity.client_id = await conn.read_response()
            await conn.send_command(*attempts.request)
            return await self.parse_response(conn, command_name, **options)
        except BaseException:
            await conn.disconnect()
            raise
        finally:
            await pool.release(conn)

    async def view(self) -> tuple[int, str, str]:
        return parse_view(await self.locator.viewd.execute_command("VIEW.GET"))

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        await self.locator.viewd.aclose()
