"""Lua scripts and functions (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL), as Redis 7.0's ``eval.c``,
``script_lua.c`` and ``function_lua.c`` define them: each command one small method of
:class:`ScriptCommands`, mixed into the store. Replies and error wording are redis-server's."""

from __future__ import annotations


class ScriptCommands:
    """Mixed into the store, which provides the keyspace (db.py) and ``run``."""
