"""``./dev sim``: run the replication simulation over many seeds, or one, or hunt mutations.

    ./dev sim --seeds N [--start S] [--steps M] [--jobs J]   N schedules: seeds S..S+N-1
    ./dev sim --seed S [--steps M] [--trace]                  one schedule (--trace: its events)
    ./dev sim --mutations [--limit L]                         seeds needed to catch each mutation
    ./dev sim --mutation NAME --seeds N                       N schedules with one mutation

One line per failure (the seed that replays it, the rule broken, details), then a summary
line, then exactly ``N seeds, K violations``; the exit status is 1 if K > 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .schedule import DEFAULT_STEPS, run_many, run_seed, summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="./dev sim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=2000, help="how many schedules (default 2000)")
    parser.add_argument("--start", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--seed", type=int, help="run this one seed only")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"fault-phase steps (default {DEFAULT_STEPS})")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    parser.add_argument("--trace", action="store_true", help="with --seed: print the run's last events")
    parser.add_argument("--mutation", help="put this bug back (see tests/sim/mutations.py)")
    parser.add_argument("--mutations", action="store_true", help="seeds needed to catch each mutation")
    parser.add_argument("--limit", type=int, default=3000, help="with --mutations: seeds to try at most")
    args = parser.parse_args(argv)

    if args.mutations:
        return mutation_table(args.limit, args.steps, args.jobs)
    started = time.perf_counter()
    if args.seed is not None:
        outcome = run_seed(args.seed, args.steps, trace=args.trace, mutation=args.mutation)
        if args.trace:
            print("\n".join(outcome.trace))
        outcomes = [outcome]
    else:
        outcomes = list(run_many(range(args.start, args.start + args.seeds), args.steps, args.jobs,
                                 args.mutation))
    failures = [o for o in outcomes if o.status == "violation"]
    for o in failures:
        print(f"{o.line()}  (replay: ./dev sim --seed {o.seed}"
              f"{f' --steps {args.steps}' if args.steps != DEFAULT_STEPS else ''}"
              f"{f' --mutation {args.mutation}' if args.mutation else ''} --trace)")
    print(f"{summary(outcomes)}; {time.perf_counter() - started:.1f} s")
    print(f"{len(outcomes)} seeds, {len(failures)} violations")
    return 1 if failures else 0


def mutation_table(limit: int, steps: int, jobs: int) -> int:
    from .mutations import MUTATIONS

    print(f"{'mutation':32} {'seeds':>6}  first violation")
    missed = 0
    for name, (what, _) in MUTATIONS.items():
        caught = None
        for n, outcome in enumerate(run_many(range(limit), steps, jobs, name), 1):
            if outcome.status == "violation":
                caught = (n, outcome)
                break
        if caught is None:
            missed += 1
            print(f"{name:32} {'>' + str(limit):>6}  not caught  ({what})")
        else:
            n, o = caught
            print(f"{name:32} {n:>6}  seed {o.seed}: {o.rule}: {o.detail[:110]}")
    print(f"{len(MUTATIONS)} mutations, {missed} not caught within {limit} seeds")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
