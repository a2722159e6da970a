"""A linearizability checker for key/value histories recorded by tests.

It decides whether a concurrent history of get / set / puthash operations could have come from
one register per key, each operation taking effect atomically at some instant between its call
and its return. A history is linearizable iff every key's sub-history is, so keys are checked
one at a time.

Model: a key starts absent (None). ``get`` returns the value; ``set(v)`` stores v (its result
is not checked); ``puthash(v)`` returns the previous value (b"" when absent) and stores the
decimal 32-bit FNV-1a hash of previous + v. Values are compared as bytes (str is UTF-8 encoded).

The search is Wing & Gong's with Lowe's improvements, as in Porcupine and Knossos: walk the
call/return events in time order, tentatively linearize an operation whose call has been seen
(only those called before the earliest return still to come are candidates), backtrack when
that return is reached with its operation not linearized, and never revisit a (set of
linearized operations, model state) pair already explored.

An operation that failed or timed out (``ret=None`` or ``result=UNKNOWN``) is *pending*: it may
have taken effect at any time after its call, or never (or, given ``pending_window``, within
that many seconds of its call, or never). A pending get changes nothing and is left out. Every
model operation can always be applied, so "never" is the same as "after everything else" and
the search is done when every completed operation is linearized. Pending operations matter
only through the value they leave, so the search places a run of them (a *chain*) only right
before a completed get or puthash that reads the value the run leaves: from any linearization,
a pending operation placed elsewhere can be dropped without changing what anyone saw.
Completed operations are tried first, and chains are searched with a length limit that starts
at 1 and is doubled while it was the limit that stopped the search.

The search is exponential in the worst case (think of many pending puthashes, whose every
order leaves a different value), so it has a budget (steps per key, and an overall timeout);
running out of it gives ``Result.ok is None``: unknown.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["UNKNOWN", "Op", "Result", "check", "check_key", "fnv1a32", "puthash_value"]


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()  # the result of an operation whose outcome was never seen
KINDS = ("get", "set", "puthash")


@dataclass
class Op:
    """One operation by one client; ``call``/``ret`` on one clock (say time.monotonic()).

    ``arg``: the value set or puthashed. ``result``: what get returned (None: absent), what
    puthash returned (b"" or None: absent); a set's result is not looked at. ``ret=None`` or
    ``result=UNKNOWN``: it failed or timed out, and may or may not have taken effect."""

    client: int
    kind: str
    key: Any
    arg: Any = None
    result: Any = None
    call: float = 0.0
    ret: float | None = None

    @property
    def pending(self) -> bool:
        return self.ret is None or self.result is UNKNOWN

    def __str__(self) -> str:
        arg = "" if self.kind == "get" else repr(_bytes(self.arg))
        result = "?" if self.pending else repr(True if self.kind == "set" else _result(self))
        ret = "..." if self.ret is None else f"{self.ret:.6f}"
        return f"client {self.client}: {self.kind}({arg}) -> {result}  [{self.call:.6f}, {ret}]"


@dataclass
class Result:
    """``ok``: True (linearizable), False (not), None (the budget ran out first: unknown)."""

    ok: bool | None
    key: Any = None  # the key found not linearizable (or not decided)
    explanation: str = ""
    ops: list[Op] = field(default_factory=list)  # on failure: the operations that could not come next
    nodes: int = 0  # search steps taken, over all keys

    def __bool__(self) -> bool:
        return self.ok is True


def fnv1a32(data: bytes) -> int:
    h = 2166136261
    for byte in data:
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


@lru_cache(maxsize=1 << 16)
def puthash_value(previous: bytes, arg: bytes) -> bytes:
    """The value puthash(arg) stores over ``previous`` (b"" when the key is absent)."""
    return str(fnv1a32(previous + arg)).encode()


def _bytes(value):
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    return value


def _result(op: Op):
    result = _bytes(op.result)
    return b"" if op.kind == "puthash" and result is None else result


def _step(state, op: Op, result):
    """Apply ``op`` to ``state``: (is the result consistent, new state)."""
    if op.kind == "get":
        return result is UNKNOWN or result == state, state
    if op.kind == "set":
        return True, _bytes(op.arg)
    previous = state or b""
    return result is UNKNOWN or result == previous, puthash_value(previous, _bytes(op.arg))


class _Budget(Exception):
    pass


def check(history: list[Op], *, max_nodes: int | None = 2_000_000, timeout: float | None = 60.0,
          pending_window: float | None = None) -> Result:
    """Is ``history`` linearizable?

    ``max_nodes`` (per key) and ``timeout`` (seconds, overall) bound the search: when either
    runs out the answer is ``ok=None``, unless another key is found not linearizable.
    ``pending_window``: a failed operation took effect within this many seconds of its call or
    never (None: at any time after its call, or never)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    by_key: dict[Any, list[Op]] = {}
    for op in history:
        if op.kind not in KINDS:
            raise ValueError(f"unknown operation kind {op.kind!r}")
        if op.ret is not None and op.ret < op.call:
            raise ValueError(f"operation returns before it is called: {op}")
        by_key.setdefault(_bytes(op.key), []).append(op)
    undecided, nodes = None, 0
    for key, ops in by_key.items():
        result = check_key(ops, max_nodes=max_nodes, deadline=deadline, pending_window=pending_window, key=key)
        nodes += result.nodes
        if result.ok is False:
            result.nodes = nodes
            return result
        if result.ok is None and undecided is None:
            undecided = result
    if undecided is not None:
        undecided.nodes = nodes
        return undecided
    return Result(True, nodes=nodes, explanation=f"{len(history)} operations on {len(by_key)} keys")


def check_key(ops: list[Op], *, max_nodes: int | None = None, deadline: float | None = None,
              pending_window: float | None = None, key=None) -> Result:
    """Check the history of one key (all ``ops`` are taken to be on the same key)."""
    search = _KeySearch([op for op in ops if not (op.kind == "get" and op.pending)], max_nodes, deadline,
                        pending_window)
    limit = 1
    try:
        while True:
            if search.run(limit):
                return Result(True, key, nodes=search.nodes)
            if not search.truncated:
                return _failure(key, search)
            limit *= 2
    except _Budget as why:
        return Result(None, key, f"key {key!r}: undecided after {search.nodes} steps ({why}; chains of up to "
                      f"{limit} pending operations tried); longest linearizable prefix found: "
                      f"{search.best.depth} of {len(search.ops)} operations", nodes=search.nodes)


class _Frame:
    """One step of the search: the state after linearizing ``op``, and the moves to try next."""

    __slots__ = ("moves", "next", "op", "state", "order", "depth", "chain", "now", "pending_tried")

    def __init__(self, moves, op, state, order, depth, chain, now):
        self.moves, self.next = moves, 0
        self.op, self.state = op, state
        self.order = order  # the linearized ops, as a persistent chain (op, previous chain)
        self.depth = depth  # how many ops are linearized
        self.chain = chain  # how many pending ops were linearized just before this point
        self.now = now  # the earliest instant the next op can take effect (latest call so far)
        self.pending_tried = False


class _KeySearch:
    """The depth-first search over one key's operations (see the module docstring)."""

    def __init__(self, ops: list[Op], max_nodes: int | None, deadline: float | None, window: float | None):
        # Completed ops first, then pending ones, each in call order: op i's bit in the bitset of
        # linearized ops is 1 << i, and the completed ops linearized form a long run of ones
        # from bit 0 (stored shifted out, to keep the memo small).
        ops = sorted(ops, key=lambda op: (op.pending, op.call))
        self.ops, self.max_nodes, self.deadline, self.window = ops, max_nodes, deadline, window
        n = len(ops)
        self.completed = n - sum(op.pending for op in ops)
        self.pending = [op.pending for op in ops]
        self.results = [UNKNOWN if op.pending else _result(op) for op in ops]
        self.args = [_bytes(op.arg) for op in ops]
        self.sets = [op.kind == "set" for op in ops]
        # Completed ops go through a list of events: 2i is op i's call, 2i+1 its return. At
        # equal times calls go first: operations that touch at an instant count as concurrent.
        self.times = [t for op in ops for t in (op.call, op.ret)]
        self.events = sorted((e for i in range(n) if not self.pending[i] for e in (2 * i, 2 * i + 1)),
                             key=lambda e: (self.times[e], e % 2))
        # The events of ops not linearized yet, as a doubly linked list between two sentinels.
        self.head, self.tail = 2 * n, 2 * n + 1
        self.nxt, self.prv = [0] * (2 * n + 2), [0] * (2 * n + 2)
        chain = [self.head] + self.events + [self.tail]
        for a, b in zip(chain, chain[1:]):
            self.nxt[a], self.prv[b] = b, a
        # Pending ops have no return: they are kept apart (ops completed..n-1, by call).
        self.pending_calls = [op.call for op in ops[self.completed:]]
        self.nodes = 0
        self.truncated = False  # did the chain limit stop the last run somewhere
        self.best = _Frame([], None, None, None, 0, 0, float("-inf"))  # the longest linearizable prefix

    def run(self, limit: int) -> bool:
        """Search with chains of at most ``limit`` pending ops: is there a linearization?"""
        self.truncated, self.limit = False, limit
        self.seen: set = set()  # _mark()s already explored
        pending, ops = self.pending, self.ops
        to_go = len(ops) - sum(pending)  # completed ops not linearized yet
        linearized = 0
        frames = [_Frame(self._completed_moves(0), None, None, None, 0, 0, float("-inf"))]
        while to_go:
            frame = frames[-1]
            move = self._next_move(frame, linearized)
            if move is not None:  # linearize op i next
                i, state, chain = move
                if not pending[i]:
                    self._lift(i)
                    to_go -= 1
                linearized |= 1 << i
                frames.append(_Frame(self._completed_moves(chain), i, state, (i, frame.order), frame.depth + 1,
                                     chain, max(frame.now, ops[i].call)))
                if frame.depth + 1 > self.best.depth:
                    self.best = frames[-1]
            elif len(frames) == 1:
                return False
            else:  # nothing works here: undo the op that led here
                frames.pop()
                i = frame.op
                if not pending[i]:
                    self._unlift(i)
                    to_go += 1
                linearized &= ~(1 << i)
        return True

    def _next_move(self, frame: _Frame, linearized: int):
        """The frame's next untried move that fits the model and was not explored yet, as
        (op, state after it, chain length after it); None when there is none."""
        while True:
            if frame.next == len(frame.moves):
                if frame.pending_tried:
                    return None
                frame.moves, frame.next = self._pending_moves(frame, linearized), 0
                frame.pending_tried = True
                continue
            i = frame.moves[frame.next]
            frame.next += 1
            self._tick()
            ok, state = _step(frame.state, self.ops[i], self.results[i])
            if not ok:
                continue
            chain = frame.chain + 1 if self.pending[i] else 0
            mark = self._mark(linearized | (1 << i), state, chain)
            if mark not in self.seen:
                self.seen.add(mark)
                return i, state, chain

    def _mark(self, linearized: int, state, chain: int) -> tuple:
        """What identifies a search node: the linearized ops (as the length of the run of
        completed ops linearized from bit 0 and the bits above it), the state, the chain."""
        done = self.completed
        completed = linearized & ((1 << done) - 1)
        run = (~completed & (completed + 1)).bit_length() - 1
        return run, completed >> run, linearized >> done, state, chain

    def _frontier(self) -> tuple[list[int], float]:
        """Completed ops called before the earliest return still to come, and that return's time."""
        out, nxt, e = [], self.nxt, self.nxt[self.head]
        while e % 2 == 0 and e != self.tail:
            out.append(e >> 1)
            e = nxt[e]
        return out, (self.times[e] if e != self.tail else float("inf"))

    def _completed_moves(self, chain: int) -> list[int]:
        # After a chain only a read may come: before a set, the chain could as well be dropped.
        return [i for i in self._frontier()[0] if not (chain and self.sets[i])]

    def _pending_moves(self, frame: _Frame, linearized: int) -> list[int]:
        """Pending ops that may extend the chain here. The chain's last op must leave a value
        that a completed get or puthash among the candidates reads; a set only starts a chain."""
        self._tick()
        frontier, until = self._frontier()
        wanted = {self.results[i] for i in frontier if not self.sets[i]}
        if not wanted:
            return []
        lo = 0 if self.window is None else bisect.bisect_left(self.pending_calls, frame.now - self.window)
        hi = bisect.bisect_right(self.pending_calls, until)
        usable = [i for i in range(self.completed + hi - 1, self.completed + lo - 1, -1)  # the latest calls first
                  if not (linearized >> i & 1 or (frame.chain and self.sets[i]))]
        ends, links = [], []
        for i in usable:
            value = self.args[i] if self.sets[i] else puthash_value(frame.state or b"", self.args[i])
            if frame.chain < self.limit and value in wanted:
                ends.append(i)
            elif frame.chain + 1 < self.limit:
                links.append(i)
            else:
                self.truncated = True  # a longer chain through this op might have explained a value
        return ends + links

    def _lift(self, i: int) -> None:  # take op i's call and return out of the list
        nxt, prv = self.nxt, self.prv
        for x in (2 * i, 2 * i + 1):
            nxt[prv[x]], prv[nxt[x]] = nxt[x], prv[x]

    def _unlift(self, i: int) -> None:  # put them back, in the reverse order
        nxt, prv = self.nxt, self.prv
        for x in (2 * i + 1, 2 * i):
            nxt[prv[x]], prv[nxt[x]] = x, x

    def _tick(self) -> None:
        self.nodes += 1
        if self.max_nodes is not None and self.nodes > self.max_nodes:
            raise _Budget(f"search budget of {self.max_nodes} steps")
        if self.deadline is not None and self.nodes % 256 == 0 and time.monotonic() > self.deadline:
            raise _Budget("timeout")


def _failure(key, search: _KeySearch) -> Result:
    """Explain a failure by the longest linearizable prefix and the ops none of which can follow."""
    ops, results, best = search.ops, search.results, search.best
    prefix, order = [], best.order
    while order is not None:
        prefix.append(order[0])
        order = order[1]
    prefix.reverse()
    done = set(prefix)
    candidates = []  # completed ops not linearized, called before the earliest return among them
    for e in search.events:
        if e >> 1 in done:
            continue
        if e % 2:
            break
        candidates.append(e >> 1)
    state = best.state
    lines = [f"key {key!r} is not linearizable: at most {len(prefix)} of {len(ops)} operations linearize, "
             f"leaving the value {state!r}" + (", after:" if prefix else ".")]
    lines += [f"    {ops[i]}" for i in prefix[-5:]]
    lines.append("and none of these can come next:")
    for i in candidates[:10]:
        op, result = ops[i], results[i]
        why = ""
        if op.kind == "get" and result != state:
            why = f"  (value is {state!r})"
        elif op.kind == "puthash" and result != (state or b""):
            why = f"  (previous value is {state or b''!r})"
        lines.append(f"    {op}{why}")
    return Result(False, key, "\n".join(lines), [ops[i] for i in candidates], search.nodes)
