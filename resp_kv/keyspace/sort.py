"""The SORT and SORT_RO commands, as Redis 7.0's ``sort.c`` defines them: each one small method of
:class:`SortCommands`, mixed into the store. Replies and error wording are redis-server's."""

from __future__ import annotations


class SortCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``typed``, ``container``,
    ``changed``, ``store``, ``delete``, ``replicate_as``."""
