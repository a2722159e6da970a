"""One seed's run: a random world, a fault phase, a quiet phase, and the verdict.

A seed decides everything: how many servers (2 or 3), clients (2 to 4) and keys (1 to 4), a
fault profile (below), when each process starts, and every choice of the schedule. Each step
of the *fault phase* either injects a fault (probability ``P_FAULT``), lets one micro-tick pass
(``P_TIME``: timers fire: ping loops, viewd's ticks, client timeouts and retries, restarts), or
delivers one pending event picked at random (a message on one connection, a message to or from
viewd, a server's turn of client requests, an ``end_turn``, a close seen by one end). Faults
start once viewd has an acknowledged view with a backup (or after ``WARMUP`` steps), and the
phase lasts ``steps`` steps from there (300 steps: about 20 ping intervals, 5 to 10 faults).

Faults: kill a server (it restarts on the same address after a random delay, holding nothing),
crash loops (kill, restart at once, again), cut a connection, stall one link (TCP keeps it:
what is on it arrives later, in order), partition two hosts (servers, viewd) for a while, tick
viewd out of turn; throughout the phase messages to and from viewd are dropped, held back or
duplicated now and then. A *profile* weighs them ("mixed", "churn", "slow", "fresh"; see
``PROFILES``), and switches on *hot spots*: faults aimed at the moments a bug would show
(FoundationDB's BUGGIFY): a primary's acknowledging ping is slow while its backup crashes; a
new backup crashes right after receiving the state; a link stalls as a transfer starts on it,
briefly (client batches queue up behind the transfer) or just past the transfer's timeout (a
new link overtakes the old one, which still carries its messages; the fault phase lasts until
that stall is over). Servers are seldom killed while viewd waits for their acknowledgement as
primary: that is the known dead end, after which a seed shows little more.

The *quiet phase* heals every partition and stall, restarts every dead server at once, stops
drops and faults; clients start no new operations but finish theirs. Each micro-tick, every
pending event is delivered before time moves on (a prompt network). The run is *live* when
viewd's view is acknowledged, its primary serves with ``backup_synced``, its backup holds the
view's state (``state_view``) and every client is done; then a fresh client reads every key,
and once that is done and nothing waits on the primary the quiescence rules are checked and the
history goes to the linearizability checker.

Liveness bound: ``LIVENESS_BOUND`` = 200 ping intervals (20 simulated seconds) from the start
of the quiet phase. Why it is enough: in the quiet phase nothing is lost or held back, so no
link waits for its timeout. A ping loop that was waiting for a lost reply resumes within its
timeout (5 intervals). A restarted view member is noticed at its first ping (Ping(0)), a dead
one within ``DEAD_PINGS`` (5) intervals; each view change needs about three intervals (the ping
that learns it; the link and the transfer within a micro-tick; the ping that acknowledges
it), and a few changes at most are needed (replace a restarted primary, then fill the backup
slot, over again for three servers): under 40 intervals. A client waits at most its timeout
(10 intervals) before retrying, and its retry completes within the micro-tick. Even a link
silent for its whole timeout (10 intervals, 100 during a transfer) would fit. Measured: live
within 25 intervals at most over tens of thousands of seeds (``./dev sim`` prints the worst).
A run that misses the bound is a liveness violation, except for the service's known dead ends
(README, "Known limits"), counted apart: the primary of viewd's view no longer holds its state
(it was killed: a restart holds nothing) and the view is either not acknowledged ("deadlock":
viewd may not move on, the primary of an unacknowledged view died) or has no backup ("lost":
every server that held the state died). Those are stable (nothing can give that primary the
state back, so it pings 0 for ever), and the run stops once one has lasted ``STUCK_FOR``
intervals. A dead end whose primary was never killed is not one of those: it is a violation.
"""

from __future__ import annotations

import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

from linearizability import check
from resp_kv import keeper
from resp_kv.protocol import encode

from .world import MICRO, VIEWD, Client, Violation, World

DEFAULT_STEPS = 300  # fault-phase steps per seed
WARMUP = 300  # steps at most before faults start anyway
P_FAULT = 0.02
P_TIME = 0.3
LIVENESS_BOUND = 200  # ping intervals after the faults stop
STUCK_FOR = 10  # ping intervals a known dead end must last before the run stops
CHUNK_PAIRS = 1  # entries per transfer chunk: many chunks, so batches overtake a transfer (+QUEUED)


@dataclass
class Outcome:
    seed: int
    status: str  # ok, violation, deadlock (known), lost (known: every holder died), undecided
    profile: str = ""
    rule: str = ""
    detail: str = ""
    live_after: int | None = None  # ping intervals from the end of faults to live and quiet
    ops: int = 0
    counts: dict = field(default_factory=dict)
    trace: list = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return f"seed {self.seed}: {self.rule}: {self.detail}"


def run_seed(seed: int, steps: int = DEFAULT_STEPS, trace: bool = False, mutation: str | None = None) -> Outcome:
    """Run one seed; ``mutation`` names a bug from mutations.py to put back for the run."""
    from . import mutations

    started = time.perf_counter()
    setup = random.Random(seed ^ 0x5EED)
    profile = _profile(setup)
    names = ("a:1", "b:2", "c:3") if profile != "fresh" and setup.random() < 0.75 else ("a:1", "b:2")
    world = World(seed, names=names, clients=setup.choice((2, 3, 3, 4)), keys=setup.choice((1, 2, 3, 4)),
                  trace=trace)
    outcome = Outcome(seed, "ok", profile)
    chunk_pairs, keeper.CHUNK_PAIRS = keeper.CHUNK_PAIRS, CHUNK_PAIRS
    try:
        with mutations.applied(mutation) if mutation else nullcontext():
            _run(world, steps, outcome)
    except Violation as exc:
        outcome.status, outcome.rule, outcome.detail = "violation", exc.rule, exc.detail
    finally:
        keeper.CHUNK_PAIRS = chunk_pairs
    outcome.ops = len(world.history)
    outcome.counts = dict(world.counts)
    if world.trace is not None:
        outcome.trace = list(world.trace)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _run(w: World, steps: int, outcome: Outcome) -> None:
    rng = w.rng
    (weights, w.p_drop, w.p_ping_delay, w.late_replies, w.hot_ack, w.hot_sync_stall,
     w.long_stall_share, w.hot_fresh_bounce) = PROFILES[outcome.profile]
    w.start_viewd()
    for name in w.names:
        w.at(rng.randrange(3 * MICRO), w.start_node, name)
    for client in w.clients:
        w.at(rng.randrange(4 * MICRO), client.start)

    # ---------------------------------------------------------------- the fault phase
    step = done = 0
    while done < steps or w.mt < w.long_stall + 5 * MICRO:
        step += 1
        if not w.faulty and ((w.vs.acked and w.vs.view.backup) or step > WARMUP):
            w.faulty = True
            w.trace_event("faults start")
        if w.faulty:
            done += 1
            # (past ``steps``, only a long stall keeps the phase going: no new faults)
            if done <= steps and rng.random() < P_FAULT:
                _fault(w, weights)
                w.check_views()
                continue
        events = w.candidates()
        if not events or rng.random() < P_TIME:
            w.advance()
        else:
            w.execute(events[rng.randrange(len(events))])

    # ---------------------------------------------------------------- the quiet phase
    w.trace_event("faults stop")
    w.faulty = w.hot = False
    w.more_ops = False
    w.heal()
    for conn in w.conns.values():
        conn.stalled = 0
    for name in w.names:
        w.restart(name)
    start = w.mt
    final: list[Client] = []
    stuck_since = None
    while True:
        _deliver_all(w)
        if _live(w):
            busy = [c for c in w.clients + final if c.state != "idle"]
            if not busy:
                if not final:
                    final = [Client(w, 100 + i, [("get", key)]) for i, key in enumerate(w.keys)]
                    for client in final:
                        client.start()
                    continue
                if all(c.op is None for c in final) and not w.nodes[w.vs.view.primary].core.unacked:
                    outcome.live_after = -(-(w.mt - start) // MICRO)
                    _check_quiescence(w)
                    break
        stuck = _stuck(w)
        if stuck:
            stuck_since = w.mt if stuck_since is None else stuck_since
            if w.mt - stuck_since >= STUCK_FOR * MICRO:
                outcome.status, outcome.rule, outcome.detail = stuck
                break
        else:
            stuck_since = None
        if w.mt - start >= LIVENESS_BOUND * MICRO:
            v = w.vs.view
            roles = ", ".join(f"{n.label}: view {n.core.view.viewnum} {n.core.role} state {n.core.state_view} "
                              f"synced={n.core.backup_synced} unacked={len(n.core.unacked)}"
                              for n in w.nodes.values())
            busy = [c.label for c in w.clients + final if c.state != "idle"]
            raise Violation("liveness", f"not live {LIVENESS_BOUND} intervals after the faults stopped: viewd at "
                                        f"{v} acked={w.vs.acked}; {roles}; clients waiting: {busy}")
        w.advance()

    # ---------------------------------------------------------------- the history
    result = check(w.history, timeout=20.0)
    if result.ok is False:
        raise Violation("linearizable", result.explanation.replace("\n", " | "))
    if result.ok is None and outcome.status == "ok":
        outcome.status, outcome.rule, outcome.detail = "undecided", "linearizable", result.explanation


def _deliver_all(w: World) -> None:
    rng = w.rng
    for _ in range(200_000):
        events = w.candidates()
        if not events:
            return
        w.execute(events[rng.randrange(len(events))])
    raise Violation("liveness", "the network never goes quiet (a message storm)")


def _live(w: World) -> bool:
    v = w.vs.view
    if not (w.vs.acked and v.backup):
        return False
    p, b = w.nodes.get(v.primary), w.nodes.get(v.backup)
    if p is None or b is None or not (p.alive and b.alive):
        return False
    pc, bc = p.core, b.core
    return (pc.view == v and pc.serving and pc.backup_synced and bc.view == v and bc.state_view == v.viewnum
            and bc.incoming is None)


def _stuck(w: World):
    """A known dead end (see the module docstring), as (status, rule, detail), or None."""
    v = w.vs.view
    if not v.viewnum:
        return None
    p = w.nodes.get(v.primary)
    if p is None or not p.alive or p.core.view != v or p.core.state_view == v.viewnum:
        return None
    if w.vs.acked and v.backup:
        return None  # viewd can still move on (it promotes the backup once the primary pings 0)
    if v.primary not in w.killed:
        raise Violation("liveness", f"viewd's view {v} (acked={w.vs.acked}) has a primary {p.label} that "
                                    f"never died and does not hold the state: the service is stuck")
    if not w.vs.acked:
        return ("deadlock", "known-deadlock", f"view {v.viewnum} is unacknowledged and its primary {p.label} "
                                              f"was killed (README: the primary of an unacknowledged view died)")
    return ("lost", "state-lost", f"view {v.viewnum} has no backup and its primary {p.label} was killed "
                                  f"(README: every server that held the state died)")


def _check_quiescence(w: World) -> None:
    v = w.vs.view
    p, b = w.nodes[v.primary], w.nodes[v.backup]
    pc, bc = p.core, b.core
    problems = []
    if pc.unacked:
        problems.append(f"{len(pc.unacked)} batches still wait on the primary")
    if bc.last_batch != pc.batch_id:
        problems.append(f"the backup holds batch {bc.last_batch}, the primary sealed {pc.batch_id}")
    ps, bs = p.keeper.store, b.keeper.store
    if ps.digest() != bs.digest():
        diff = {k: (ps.data.get(k), bs.data.get(k)) for k in set(ps.data) | set(bs.data)
                if ps.data.get(k) != bs.data.get(k)}
        problems.append(f"data differs: {diff}")
    ptable = {c: (e[0], encode(e[1]), e[2]) for c, e in ps.sessions.table.items()}
    btable = {c: (e[0], encode(e[1]), e[2]) for c, e in bs.sessions.table.items()}
    if ptable != btable:
        problems.append(f"exactly-once tables differ: {ptable} vs {btable}")
    if problems:
        raise Violation("quiescence", f"view {v.viewnum} primary {p.label} backup {b.label}: " + "; ".join(problems))


# Fault profiles: each seed draws one (weights of each fault; chances that a message to or from
# viewd is dropped, or held back; that the shell dispatches a closed link's replies; and of the
# two hot spots, see World._ping and World.drain). "mixed" is a bit of everything; "churn" crashes
# and restarts servers (mostly backups) and drops pings, so restarts go unnoticed by viewd and
# states are sent again in acknowledged views; "slow" delays links, sometimes past the link
# timeout of a transfer (10 s), so a new link overtakes an old one still carrying messages.
PROFILES = {
    "mixed": ({"kill": 15, "cut": 20, "stall": 20, "partition": 25, "tick": 10, "crashloop": 10},
              0.05, 0.05, 0.25, 0.05, 0.1, 0.3, 0.1),
    "churn": ({"kill": 5, "cut": 10, "stall": 10, "partition": 15, "tick": 10, "crashloop": 30},
              0.02, 0.05, 0.25, 0.3, 0.5, 0.0, 0.6),
    "slow": ({"kill": 5, "cut": 10, "stall": 45, "partition": 25, "tick": 10, "crashloop": 5},
             0.03, 0.05, 0.25, 0.0, 0.15, 1.0, 0.0),
    # two servers whose backup keeps crashing: each restart makes it a new server for viewd,
    # backup again at once, racing the primary's transfer against its first ping
    "fresh": ({"kill": 5, "cut": 10, "stall": 10, "partition": 10, "tick": 5, "crashloop": 60},
              0.02, 0.02, 0.25, 0.2, 0.5, 0.0, 0.8),
}
PROFILE_ODDS = (("mixed", 0.4), ("churn", 0.2), ("slow", 0.2), ("fresh", 0.2))


def _profile(rng) -> str:
    r = rng.random()
    for name, odds in PROFILE_ODDS:
        if r < odds:
            return name
        r -= odds
    return PROFILE_ODDS[-1][0]


def _fault(w: World, weights: dict) -> None:
    rng = w.rng
    kind = rng.choices(list(weights), list(weights.values()))[0]
    if kind == "kill":
        node = _victim(w, [n for n in w.nodes.values() if n.alive])
        if node is not None:
            w.kill(node)
            w.at(w.mt + rng.randint(1, 12) * MICRO, w.restart, node.name)
    elif kind == "cut":
        conns = [c for c in w.conns.values() if not c.cut and not c.kept and (c.src_open or c.dst_open)]
        if conns:
            w.cut(rng.choice(conns))
    elif kind == "stall":  # a slow path: nothing moves on one link for a while (TCP keeps it)
        conns = [c for c in w.conns.values() if c.kind == "link" and not c.cut and not c.kept]
        if conns:
            conn = rng.choice(conns)
            conn.stalled = max(conn.stalled, w.mt + rng.randint(1, 25) * MICRO)
            w.counts["stalls"] += 1
            w.trace_event(f"STALL {conn!r} until {conn.stalled}")
    elif kind == "partition":
        hosts = w.names + [VIEWD]
        a, b = rng.sample(hosts, 2)
        w.partition(a, b, w.mt + rng.randint(1, 15) * MICRO)
    elif kind == "tick":
        w.trace_event("VIEWD extra tick")
        w.viewd_tick()
    else:  # a crash loop under a supervisor, often of the backup: crash, restart at once, repeat
        v = w.vs.view
        node = w.nodes.get(v.backup) if v.backup and rng.random() < 0.7 else _victim(w, list(w.nodes.values()))
        if node is not None and node.alive:
            _crash_loop(w, node.name, rng.randint(1, 2))


def _victim(w: World, nodes: list):
    """A server to kill; seldom the primary of a view viewd has not seen acknowledged: killing
    it is the known dead end (README), which ends what a seed can still show."""
    if not nodes:
        return None
    node = w.rng.choice(nodes)
    if node.name == w.vs.view.primary and not w.vs.acked and len(nodes) > 1 and w.rng.random() < 0.8:
        node = w.rng.choice([n for n in nodes if n is not node])
    return node


def _crash_loop(w: World, name: str, times: int) -> None:
    node = w.nodes.get(name)
    if node is None or not node.alive or not w.faulty:
        return
    w.kill(node)
    w.at(w.mt + w.rng.randint(0, 2), w.restart, name)
    if times > 1:
        w.at(w.mt + w.rng.randint(3, 20), _crash_loop, w, name, times - 1)



# --------------------------------------------------------------------------- many seeds


def _run_one(args):
    seed, steps, mutation = args
    return run_seed(seed, steps, mutation=mutation)


def run_many(seeds, steps: int = DEFAULT_STEPS, jobs: int = 1, mutation: str | None = None):
    """Outcomes of ``seeds``, in order; ``jobs`` > 1 runs them in that many processes."""
    work = [(seed, steps, mutation) for seed in seeds]
    if jobs <= 1 or len(work) < 2 * jobs:
        for item in work:
            yield _run_one(item)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_run_one, work, chunksize=16)


def summary(outcomes: list[Outcome]) -> str:
    """One line: how the runs ended, and the worst time to live after the faults stopped."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    live = [o.live_after for o in outcomes if o.live_after is not None]
    parts = [f"{counts.get(s, 0)} {s}" for s in ("ok", "deadlock", "lost", "undecided", "violation")]
    ops = sum(o.ops for o in outcomes)
    worst = f"{max(live)} intervals (bound {LIVENESS_BOUND})" if live else "-"
    return (f"{', '.join(parts)} (deadlock, lost: the README's known dead ends); {ops} client operations; "
            f"live again after the faults within {worst}")
