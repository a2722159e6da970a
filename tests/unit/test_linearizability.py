"""The linearizability checker (tests/linearizability.py) on hand-made and simulated histories."""

from __future__ import annotations

import itertools
import random
import time

from linearizability import UNKNOWN, Op, check, fnv1a32, puthash_value


def get(client, key, result, call, ret):
    return Op(client, "get", key, None, result, call, ret)


def put(client, key, value, call, ret, result=True):
    return Op(client, "set", key, value, result, call, ret)


def puthash(client, key, value, result, call, ret):
    return Op(client, "puthash", key, value, result, call, ret)


# --------------------------------------------------------------------------- the model


def test_fnv1a_and_the_puthash_chain_example():
    assert fnv1a32(b"") == 2166136261 and fnv1a32(b"a") == 0xE40C292C
    value = b""
    history = []
    for i in range(100):
        history.append(puthash(0, "k", str(i), value, 2 * i, 2 * i + 1))
        value = puthash_value(value, str(i).encode())
    assert value == b"3868028174"
    history.append(get(1, "k", "3868028174", 300, 301))
    assert check(history).ok is True
    history[-1] = get(1, "k", "3868028175", 300, 301)
    assert check(history).ok is False


# --------------------------------------------------------------------------- hand-made histories


def test_sequential_history_is_linearizable():
    history = [get(0, "k", None, 0, 1), put(0, "k", "a", 2, 3), get(1, "k", "a", 4, 5),
               put(1, "k", b"b", 6, 7), get(0, "k", b"b", 8, 9), get(2, "k", "b", 10, 11)]
    result = check(history)
    assert result.ok is True and bool(result)


def test_stale_read_after_a_completed_write_is_rejected():
    history = [put(0, "k", "a", 0, 1), put(0, "k", "b", 2, 3), get(1, "k", "a", 4, 5)]
    result = check(history)
    assert result.ok is False and not result
    assert result.key == b"k"
    assert "get() -> b'a'" in result.explanation and "value is b'b'" in result.explanation
    assert result.ops == [history[2]]


def test_a_read_concurrent_with_a_write_may_see_either_value():
    for seen in ("a", "b"):
        history = [put(0, "k", "a", 0, 1), put(0, "k", "b", 2, 5), get(1, "k", seen, 3, 4)]
        assert check(history).ok is True, seen
    history = [put(0, "k", "a", 0, 1), put(0, "k", "b", 2, 5), get(1, "k", None, 3, 4)]
    assert check(history).ok is False  # but not the value from before "a"


def test_reads_cannot_go_back_in_time():
    # Both reads overlap the write, but once one has seen "b" a later one cannot see "a".
    history = [put(0, "k", "a", 0, 1), put(0, "k", "b", 2, 10), get(1, "k", "b", 3, 4), get(2, "k", "a", 5, 6)]
    assert check(history).ok is False


def test_a_read_of_a_value_never_written_is_rejected():
    history = [put(0, "k", "a", 0, 10), get(1, "k", "z", 1, 2)]
    result = check(history)
    assert result.ok is False and "z" in result.explanation


def test_a_timed_out_write_that_shows_up_later_is_linearizable():
    for timed_out in (put(0, "k", "b", 2, None, result=UNKNOWN), put(0, "k", "b", 2, 3, result=UNKNOWN),
                      put(0, "k", "b", 2, None)):
        history = [put(0, "k", "a", 0, 1), timed_out, get(1, "k", "a", 4, 5), get(1, "k", "b", 100, 101)]
        assert check(history).ok is True, timed_out


def test_a_timed_out_write_never_seen_is_linearizable():
    history = [put(0, "k", "a", 0, 1), put(0, "k", "b", 2, None), get(1, "k", "a", 4, 5), get(1, "k", "a", 100, 101)]
    assert check(history).ok is True


def test_a_timed_out_write_takes_effect_once_and_not_before_its_call():
    before = [get(1, "k", "b", 0, 1), put(0, "k", "b", 2, None)]
    assert check(before).ok is False
    seen_then_gone = [put(0, "k", "a", 0, 1), put(0, "k", "b", 2, None), get(1, "k", "b", 4, 5),
                      get(1, "k", "a", 6, 7)]
    assert check(seen_then_gone).ok is False


def test_puthash_chains():
    h1 = puthash_value(b"", b"x")
    h2 = puthash_value(h1, b"y")
    sequential = [puthash(0, "k", "x", "", 0, 1), puthash(1, "k", "y", h1, 2, 3), get(0, "k", h2, 4, 5)]
    assert check(sequential).ok is True
    # Concurrent puthashes: the results tell the order (y first here), and it must be consistent.
    hy = puthash_value(b"", b"y")
    concurrent = [puthash(0, "k", "x", hy, 0, 10), puthash(1, "k", "y", b"", 1, 9),
                  get(2, "k", puthash_value(hy, b"x"), 11, 12)]
    assert check(concurrent).ok is True
    concurrent[2] = get(2, "k", h2, 11, 12)  # the x-then-y value contradicts the results
    assert check(concurrent).ok is False


def test_a_puthash_applied_twice_is_rejected():
    h1 = puthash_value(b"", b"x")
    twice = puthash_value(h1, b"x")
    history = [puthash(0, "k", "x", "", 0, 1), get(1, "k", twice, 2, 3)]
    assert check(history).ok is False
    # A timed-out puthash retried is two operations, so both may apply: then it is fine.
    retried = [puthash(0, "k", "x", UNKNOWN, 0, None), puthash(0, "k", "x", h1, 5, 6), get(1, "k", twice, 7, 8)]
    assert check(retried).ok is True
    # A timed-out puthash applies at most once, and a later puthash sees whether it did.
    history = [puthash(0, "k", "x", UNKNOWN, 0, None), puthash(1, "k", "y", twice, 5, 6)]
    assert check(history).ok is False


def test_timed_out_puthashes_applied_back_to_back_are_found():
    # Three timed-out puthashes all applied, in the order z, x, y, with nobody reading in
    # between; a fourth never applied. Only the final value shows what happened.
    value = b""
    for arg in (b"z", b"x", b"y"):
        value = puthash_value(value, arg)
    history = [puthash(c, "k", arg, UNKNOWN, c, None) for c, arg in enumerate("xyzw")]
    history.append(get(9, "k", value, 10, 11))
    assert check(history).ok is True
    history.append(puthash(9, "k", "v", value, 12, 13))  # reads the same value: fine
    assert check(history).ok is True
    history.append(get(9, "k", value, 14, 15))  # but the puthash changed it
    assert check(history).ok is False


def test_a_pending_window_bounds_when_a_failed_op_can_apply():
    # "b" was not there at 61, so the failed set took effect after that, or never.
    history = [put(0, "k", "a", 0, 1), put(0, "k", "b", 2, None), get(1, "k", "a", 60, 61), get(1, "k", "b", 100, 101)]
    assert check(history).ok is True
    assert check(history, pending_window=50).ok is False
    assert check(history, pending_window=60).ok is True


def test_keys_are_independent():
    history = [put(0, "a", "1", 0, 1), get(1, "b", None, 2, 3), put(1, "b", "2", 4, 5), get(0, "a", "1", 6, 7),
               get(0, b"b", "2", 8, 9)]
    assert check(history).ok is True
    history.append(get(2, "b", "1", 10, 11))  # "1" was written, but to a
    result = check(history)
    assert result.ok is False and result.key == b"b"


def test_the_budget_gives_unknown_instead_of_hanging():
    # Twelve puthashes of unknown outcome and a read no order of them explains: proving that
    # means trying every order (12! of them), as every order leaves a different value.
    history = [puthash(i, "k", str(i), UNKNOWN, i, None) for i in range(12)]
    history.append(get(99, "k", "not a hash", 100, 101))
    t0 = time.monotonic()
    result = check(history, max_nodes=20_000)
    assert result.ok is None and result.key == b"k" and "undecided" in result.explanation
    assert result.nodes <= 20_001
    result = check(history, max_nodes=None, timeout=0.5)
    assert result.ok is None and "timeout" in result.explanation
    assert time.monotonic() - t0 < 10
    assert check(history[:3] + history[-1:]).ok is False  # small enough to decide


def test_unknown_does_not_hide_a_failure_on_another_key():
    history = [puthash(i, "k", str(i), UNKNOWN, i, None) for i in range(12)]
    history += [get(99, "k", "not a hash", 100, 101), put(0, "z", "1", 0, 1), get(1, "z", "2", 2, 3)]
    result = check(history, max_nodes=5_000)
    assert result.ok is False and result.key == b"z"


# --------------------------------------------------------------------------- simulated histories


def simulate(seed: int, clients: int = 4, ops_per_client: int = 30, keys=("a", "b"), timeouts: float = 0.05):
    """A linearizable history: each op takes effect at a random instant inside its interval,
    in the order of those instants, on a sequential model. Clients issue one op at a time.
    A timed-out op took effect at its instant or (half the time) never."""
    rng = random.Random(seed)
    planned = []
    for client in range(clients):
        t = rng.random()
        for n in range(ops_per_client):
            call = t
            ret = call + rng.uniform(0.05, 2.0)
            kind = rng.choice(["get", "set", "puthash"])
            arg = None if kind == "get" else f"{client}.{n}"
            op = Op(client, kind, rng.choice(keys), arg, None, call, ret)
            planned.append((rng.uniform(call, ret), op))
            t = ret + rng.random() * 0.3
    values: dict = {}
    for _, op in sorted(planned, key=lambda p: p[0]):
        timed_out = rng.random() < timeouts
        if timed_out:
            op.ret, op.result = None, UNKNOWN
            if rng.random() < 0.5:
                continue
        previous = values.get(op.key)
        if op.kind == "set":
            values[op.key] = op.arg.encode()
        elif op.kind == "puthash":
            values[op.key] = puthash_value(previous or b"", op.arg.encode())
        if not timed_out:
            op.result = True if op.kind == "set" else (previous or b"" if op.kind == "puthash" else previous)
    return [op for _, op in planned]


def test_simulated_histories_are_linearizable():
    for seed in range(60):
        history = simulate(seed)
        result = check(history, timeout=30)
        assert result.ok is True, (seed, result.explanation)


def test_mutated_histories_are_rejected():
    failed = 0
    for seed in range(60):
        history = simulate(seed, timeouts=0)
        rng = random.Random(seed)
        reads = [op for op in history if op.kind != "set" and op.result not in (None, b"")]
        victim = rng.choice(reads)
        # Deterministic: a value no operation ever wrote must be rejected.
        original = victim.result
        victim.result = b"never written"
        assert check(history).ok is False, seed
        # Random: another key's or another time's value; usually, but not always, impossible.
        victim.result = rng.choice([op.result for op in reads if op.result != original])
        failed += check(history).ok is False
    assert failed >= 55, failed


def test_thousands_of_ops_on_one_key_with_eight_clients_check_quickly():
    history = simulate(7, clients=8, ops_per_client=400, keys=("hot",), timeouts=0.02)
    assert sum(op.pending for op in history) > 40
    t0 = time.monotonic()
    result = check(history, timeout=60)
    assert result.ok is True, result.explanation
    assert time.monotonic() - t0 < 30


def test_many_timeouts_check_quickly_with_a_pending_window():
    # Ops take at most 2 s in simulate(), so a failed one took effect within 2 s of its call.
    history = simulate(2, clients=8, ops_per_client=400, keys=("hot",), timeouts=0.1)
    assert sum(op.pending for op in history) > 250
    assert check(history, timeout=60, pending_window=2).ok is True
    history = simulate(3, clients=8, ops_per_client=150, keys=("hot",), timeouts=0.1)
    last_read = max((op for op in history if op.kind == "get" and not op.pending), key=lambda op: op.call)
    last_read.result = b"never written"
    result = check(history, timeout=60, pending_window=2)
    assert result.ok is False and result.key == b"hot"


def brute_force(ops: list[Op], window: float | None = None) -> bool:
    """Linearizable, by trying every order of the completed ops and every subset of the pending."""
    completed = [op for op in ops if not op.pending]
    pending = [op for op in ops if op.pending and op.kind != "get"]
    for k in range(len(pending) + 1):
        for chosen in itertools.combinations(pending, k):
            for order in itertools.permutations(completed + list(chosen)):
                now, state, ok = float("-inf"), None, True
                for op in order:
                    now = max(now, op.call)  # the earliest instant it can take effect, in this order
                    if op.pending:
                        ok = window is None or now <= op.call + window
                    else:
                        ok = now <= op.ret
                    if op.kind == "get":
                        ok = ok and (op.pending or op.result == state)
                    elif op.kind == "set":
                        state = op.arg.encode()
                    else:
                        ok = ok and (op.pending or (op.result or b"") == (state or b""))
                        state = puthash_value(state or b"", op.arg.encode())
                    if not ok:
                        break
                if ok:
                    return True
    return False


def test_small_random_histories_agree_with_brute_force():
    verdicts = []
    for seed in range(400):
        rng = random.Random(seed)
        ops = simulate(seed, clients=rng.choice([2, 3, 4]), ops_per_client=2, keys=("k",), timeouts=0.35)[:7]
        for op in ops:  # results as bytes, as brute_force() compares them
            if op.kind != "set" and op.result not in (None, UNKNOWN):
                op.result = bytes(op.result)
        if rng.random() < 0.5:  # swap in a result seen elsewhere: often, not always, impossible
            reads = [op for op in ops if op.kind != "set" and not op.pending]
            seen = [None, b""] + [op.result for op in reads]
            if reads:
                rng.choice(reads).result = rng.choice(seen)
        window = rng.choice([None, None, 0.5, 1.5])
        expected = brute_force(ops, window)
        assert check(ops, pending_window=window).ok is expected, (seed, window, ops)
        verdicts.append(expected)
    assert verdicts.count(False) > 40 and verdicts.count(True) > 200
