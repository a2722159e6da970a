"""The sorted sets commands, as Redis 7.0's ``t_zset.c`` defines them: each one small method of
:class:`ZSetCommands`, mixed into the store. Replies and error wording are redis-server's."""

from __future__ import annotations


class ZSetCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``typed``, ``container``,
    ``changed``, ``store``, ``delete``, ``replicate_as``."""
