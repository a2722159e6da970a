"""Scripts on a primary with a backup: a script that loops for ever is stopped by SCRIPT KILL while
another client gets BUSY (and the primary keeps pinging viewd: no failover), then service goes
on; a script's writes reach the backup as writes, whatever it read or drew; and EVALSHA keeps
working on the promoted backup after a SIGKILL failover."""

from __future__ import annotations

import threading
import time

import pytest
import redis

import resp_kv
from procs import digest, wait_for, wait_settled

ENDLESS = "local i = 0 while true do i = i + 1 end"


@pytest.fixture
def pair(cluster):
    c = cluster(2)
    wait_settled(c)
    return c


def test_script_kill_stops_an_endless_script_while_others_get_busy(pair):
    view = pair.view()
    primary = pair.primary()
    runner, other = primary.client(socket_timeout=30), primary.client(socket_timeout=30)
    outcome = []

    def run_endless() -> None:
        try:
            runner.eval(ENDLESS, 0)
        except redis.ResponseError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=run_endless)
    thread.start()
    started = time.monotonic()

    def script_runs() -> bool:  # FUNCTION STATS is answered while a script runs: BUSY for an EVAL
        try:
            other.execute_command("FUNCTION", "STATS")
            return False
        except redis.ResponseError as exc:
            return str(exc).startswith("BUSY")

    wait_for(script_runs, what="the script to run")
    # Other clients' commands wait while the script runs, then (after 5 s) get BUSY.
    with pytest.raises(redis.ResponseError, match="^BUSY Redis is busy running a script"):
        other.set("k", "v")
    assert 4 < time.monotonic() - started < 15
    assert other.execute_command("SCRIPT", "KILL") == b"OK"
    thread.join(10)
    assert outcome and outcome[0].startswith("Script killed by user with SCRIPT KILL")  # (redis-py drops "ERR ")
    assert other.set("k", "v") and other.get("k") == b"v"  # service again
    with pytest.raises(redis.ResponseError, match="^NOTBUSY"):
        other.execute_command("SCRIPT", "KILL")
    assert pair.view() == view  # the primary kept pinging viewd all along


def test_a_script_that_reads_the_time_and_draws_replicates_as_its_writes(pair):
    primary, backup = pair.primary(), pair.by_addr(pair.view()[2])
    client = primary.client()
    client.sadd("pool", *range(20))
    script = ("local t = redis.call('TIME') redis.call('SET', KEYS[1], t[1] .. '.' .. t[2]) "
              "local picked = redis.call('SPOP', KEYS[2], 3) redis.call('RPUSH', KEYS[3], unpack(picked)) "
              "return #picked")
    assert client.eval(script, 3, "when", "pool", "picked") == 3
    wait_for(lambda: digest(backup) == digest(primary), what="the backup to hold the script's writes")
    assert client.scard("pool") == 17 and client.llen("picked") == 3


def test_evalsha_works_on_the_promoted_backup_after_a_failover(pair):
    kv = resp_kv.Client(pair.viewd.addr, timeout=30)
    sha = kv.script_load("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    kv.function_load("#!lua name=counters\nredis.register_function('bump', function(keys, args) "
                     "return redis.call('INCR', keys[1]) end)")
    assert kv.evalsha(sha, 1, "n", 5) == 5
    pair.primary().kill()
    wait_settled(pair, 30)
    assert kv.evalsha(sha, 1, "n", 5) == 10  # the script cache came over with the data
    assert kv.fcall("bump", 1, "n") == 11
