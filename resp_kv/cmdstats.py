"""INFO's commandstats and errorstats: how often each command ran, how long it took, how often it
was refused or failed, and how many error replies went out by error code; as Redis counts them.

A command is ``rejected`` when it is refused before it runs (wrong arity, NOAUTH, READONLY) and
``failed`` when it ran and answered an error. The hot path counts every call, in the counters it
keeps by spelling, but times only one chunk of requests in ``TIMED_ONE_IN``, as a whole, giving
each of its commands an equal share, times ``TIMED_ONE_IN`` (so ``usec`` is an estimate there,
exact on average); everything else is timed one command at a time.
"""

from __future__ import annotations

from .commands import SUBCOMMANDS
from .protocol import Error

CALLS, NANOSECONDS, REJECTED, FAILED = range(4)
TIMED_ONE_IN = 8  # the hot path times one chunk of requests in this many (a clock costs as much as a GET)
MAX_ERROR_CODES = 128  # as Redis: past this many distinct codes, new ones count as nothing
CONTAINERS = frozenset(name.upper() for name in SUBCOMMANDS)
UNSAFE = str.maketrans("#:\r\n", "____")  # INFO's own characters, not allowed in a name


def error_code(error: Error) -> str:
    """The code errorstats files an error under: its first word (within 32 characters), else ERR."""
    text = str(error)[:32]
    space = text.find(" ")
    return text[:space].translate(UNSAFE) if space > 0 else "ERR"


def stat_name(name: str, args: list[bytes]) -> str | None:
    """What commandstats counts a request under: ``NAME``, or ``NAME|SUB`` for a subcommand
    (None for an unknown one, which Redis counts nowhere but in errorstats)."""
    if name not in CONTAINERS or len(args) == 1:  # (COMMAND alone is "command")
        return name
    sub = args[1].lower()
    return f"{name}|{sub.decode()}" if sub in SUBCOMMANDS[name.lower()] else None


class CommandStats:
    """Counters per command name (upper case; ``NAME|SUB`` for a subcommand) and per error code."""

    def __init__(self) -> None:
        self.commands: dict[str, list[int]] = {}
        self.by_spelling: dict[bytes, list[int]] = {}  # a data command as clients spell it -> its counters
        self.errors: dict[str, int] = {}
        self.chunks = 0  # chunks the hot path ran (it times one in TIMED_ONE_IN)

    def _cell(self, name: str) -> list[int]:
        cell = self.commands.get(name)
        if cell is None:
            cell = self.commands[name] = [0, 0, 0, 0]
        return cell

    def cell_for(self, name: str, args: list[bytes]) -> list[int]:
        """The counters a request of command ``name`` counts in (the hot path keeps them by
        spelling, ``by_spelling``; a subcommand's are not kept so, being the request's)."""
        if name in CONTAINERS:
            sub = stat_name(name, args)
            return [0, 0, 0, 0] if sub is None else self._cell(sub)  # (an unknown one counts nowhere)
        cell = self._cell(name)
        if len(self.by_spelling) < 1024:
            self.by_spelling[args[0]] = cell
        return cell

    def call(self, name: str | None, nanoseconds: int, reply) -> None:
        """One command ran (and answered ``reply``); None names nothing to count it under."""
        if name is not None:
            cell = self._cell(name)
            cell[CALLS] += 1
            cell[NANOSECONDS] += nanoseconds
        if reply.__class__ is Error:
            self.failed(name, reply)

    def failed(self, name: str | None, error: Error) -> None:
        if name is not None:
            self._cell(name)[FAILED] += 1
        self.error(error)

    def rejected(self, name: str, error: Error) -> None:
        self._cell(name)[REJECTED] += 1
        self.error(error)

    def error(self, error: Error) -> None:
        """An error reply that went out (errorstats; total_error_replies)."""
        code = error_code(error)
        if code in self.errors or len(self.errors) < MAX_ERROR_CODES:
            self.errors[code] = self.errors.get(code, 0) + 1

    def reset(self) -> None:
        for cell in self.commands.values():  # (the hot path holds them)
            cell[:] = [0, 0, 0, 0]
        self.errors.clear()

    def total_errors(self) -> int:
        return sum(self.errors.values())

    def total_calls(self) -> int:
        return sum(cell[CALLS] for cell in self.commands.values())

    def commandstats(self) -> dict[str, str]:
        """INFO commandstats' fields, in Redis's wording."""
        out = {}
        for name, (calls, ns, rejected, failed) in sorted(self.commands.items()):
            if not (calls or rejected or failed):
                continue
            usec = ns // 1000
            per_call = usec / calls if calls else 0.0
            out[f"cmdstat_{name.lower()}"] = (f"calls={calls},usec={usec},usec_per_call={per_call:.2f},"
                                              f"rejected_calls={rejected},failed_calls={failed}")
        return out

    def errorstats(self) -> dict[str, str]:
        return {f"errorstat_{code}": f"count={count}" for code, count in sorted(self.errors.items())}
