"""The data and what Redis's data commands do to it: sixteen databases with expiry (``db``), one
module per family of commands (``strings``, ``keys``), Redis's number rules (``numbers``) and
its key patterns (``glob``). Pure and deterministic: no I/O, no clock (the time is given), no
knowledge of replication; the store mixes the command families together."""
