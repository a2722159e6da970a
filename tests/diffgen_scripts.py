"""Random scripts (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL) for the differential test (mixed into
diffgen.Generator, whose ``rng``, ``key()``, ``keys()``, ``value()``, ``integer()``, ``word()``
and ``index()`` they use)."""

from __future__ import annotations


class ScriptStreams:
    FAMILIES: list[tuple[str, float]] = []  # (generator method, weight)
    COMPARE: dict = {}  # command name -> rule(cmd, redis_reply, kv_reply) -> None or why they differ
    NOT_IN_TX: tuple[str, ...] = ()  # generator methods never used inside MULTI
