"""The replication protocol under thousands of seeded random schedules (see schedule.py for the
schedule and world.py for the rules), and the bugs of mutations.py put back to show the rules
catch them."""

from __future__ import annotations

import os

import pytest

from sim.mutations import MUTATIONS
from sim.schedule import DEFAULT_STEPS, run_many, run_seed, summary

JOBS = min(2, os.cpu_count() or 1)


def run(seeds, steps=DEFAULT_STEPS, mutation=None):
    outcomes = list(run_many(seeds, steps, JOBS, mutation))
    failures = [o.line() + f"  (replay: ./dev sim --seed {o.seed} --steps {steps} --trace)"
                for o in outcomes if o.status == "violation"]
    return outcomes, failures


def test_two_thousand_schedules_break_no_rule():
    outcomes, failures = run(range(2000))
    print(summary(outcomes))
    assert not failures, "\n".join(failures[:20])
    # The rules are only worth something if the runs get somewhere: most must end live and
    # quiet (checked), with client operations, failovers, transfers and faults on the way.
    ok = [o for o in outcomes if o.status == "ok"]
    assert len(ok) >= 0.7 * len(outcomes), summary(outcomes)
    totals = {k: sum(o.counts.get(k, 0) for o in outcomes) for k in outcomes[0].counts}
    assert sum(o.ops for o in outcomes) > 20 * len(outcomes)
    assert totals["views"] > 2 * len(outcomes) and totals["transfers"] > len(outcomes)
    assert totals["kills"] > len(outcomes) and totals["queued"] and totals["acked_transfers"] and totals["late"]
    assert not [o for o in outcomes if o.status == "undecided"]


def test_a_seed_replays_the_same_run():
    first, second = run_seed(7, trace=True), run_seed(7, trace=True)
    assert first.trace == second.trace and first.status == second.status and first.counts == second.counts


# Seeds it took to catch each mutation when this was written (./dev sim --mutations), and the
# limit allowed here (room for the schedule to change).
CATCH_WITHIN = {
    "queued-release-after-ack": 200,  # 2
    "old-connection-batch": 300,  # 52
    "resume-resends-nothing": 1000,  # 302
    "resume-releases-all": 200,  # 37
    "promote-without-state": 100,  # 3
    "backup-promoted-without-state": 200,  # 30
    "no-fence": 100,  # 6
    "old-link-reply": 1000,  # 181
    "ack-before-synced": 100,  # 4
}


def test_every_mutation_has_a_limit():
    assert set(CATCH_WITHIN) == set(MUTATIONS)


@pytest.mark.parametrize("name", list(CATCH_WITHIN))
def test_the_simulation_catches_the_bug_put_back(name):
    limit = CATCH_WITHIN[name]
    for outcome in run_many(range(limit), DEFAULT_STEPS, JOBS, name):
        if outcome.status == "violation":
            return
    pytest.fail(f"mutation {name} ({MUTATIONS[name][0]}) broke no rule in {limit} seeds")


@pytest.mark.soak
def test_soak_many_more_schedules_break_no_rule():
    outcomes, failures = run(range(2000, 42000))
    long_outcomes, long_failures = run(range(100000, 105000), steps=4 * DEFAULT_STEPS)
    print(summary(outcomes + long_outcomes))
    failures += long_failures
    assert not failures, "\n".join(failures[:20])
