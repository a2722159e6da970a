"""The sets commands, as Redis 7.0's ``t_set.c`` defines them: each one small method of
:class:`SetCommands`, mixed into the store. Replies and error wording are redis-server's."""

from __future__ import annotations


class SetCommands:
    """Mixed into the store, which provides the keyspace (db.py): ``typed``, ``container``,
    ``changed``, ``store``, ``delete``, ``replicate_as``."""
