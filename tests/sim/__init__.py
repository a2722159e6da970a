"""Deterministic simulation of pbd's replication: the pure cores (``resp_kv.replication.Replica``
with a ``resp_kv.keeper.Keeper`` per server, ``viewd.core.ViewService``) over an in-memory
network, under a seeded random schedule. See ``world.py`` (the network, the shell, the
checks), ``schedule.py`` (one seed's run), ``mutations.py`` (bugs put back on purpose) and
``__main__.py`` (``./dev sim``)."""
