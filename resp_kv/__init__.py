"""resp-kv: a primary/backup replicated key/value store that speaks the Redis protocol.

``resp_kv.Client`` is the smart client (redis-py underneath); ``resp_kv.asyncio.Client`` is
the same for asyncio; ``resp_kv.ConnectionPool`` is a redis-py pool that follows the primary,
for libraries that take a pool class (Django's cache).
"""

from .client import Client, ConnectionPool, Unavailable

__all__ = ["Client", "ConnectionPool", "Unavailable"]
__version__ = "0.1.0"
