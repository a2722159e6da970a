"""The data and what Redis's data commands do to it: sixteen databases with expiry (``db``), one
Python object per Redis type (``values``), one module per family of commands (``strings``,
``keys``, ``hashes``, ``lists``, ``sets``, ``zsets``, ``sort``, ``scripts``), cursors (``scan``),
Redis's number rules (``numbers``) and its patterns (``glob``). Pure and deterministic: no I/O,
no clock (the time is given), no knowledge of replication; the store mixes the families together."""

DATABASES = 16
