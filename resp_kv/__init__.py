"""resp-kv: a primary/backup replicated key/value store that speaks the Redis protocol.

``resp_kv.Client`` is the smart client (redis-py underneath); ``resp_kv.asyncio.Client`` is
the same for asyncio.
"""

from .client import Client, Unavailable

__all__ = ["Client", "Unavailable"]
__version__ = "0.1.0"
