"""The script thread's hand-off: a short job's outcome at once, a long one's by callback, and a
job that ends just as the caller gives up waiting still calls back exactly once."""

import threading
import time

import pytest

from resp_kv.scriptthread import ScriptThread


def test_a_short_job_ends_within_the_wait_and_hands_back_its_result():
    thread = ScriptThread()
    for i in range(200):
        assert thread.run(lambda x: x * 2, i, timeout=5)
        assert thread.result() == 2 * i


def test_a_jobs_exception_is_raised_by_result():
    thread = ScriptThread()
    assert thread.run(lambda: 1 / 0, timeout=5)
    with pytest.raises(ZeroDivisionError):
        thread.result()
    assert thread.run(lambda: "next", timeout=5) and thread.result() == "next"


def test_a_long_job_calls_back_once_when_it_ends():
    thread, release, called = ScriptThread(), threading.Event(), []
    assert not thread.run(lambda: release.wait(10) and "slow", timeout=0.01)
    ended = threading.Event()
    thread.when_done(lambda: (called.append(thread.result()), ended.set()))
    assert called == []
    release.set()
    assert ended.wait(10) and called == ["slow"]
    assert thread.run(lambda: "after", timeout=5) and thread.result() == "after"  # ready for the next


def test_every_job_ends_exactly_once_however_its_end_and_the_wait_interleave():
    thread = ScriptThread()
    for i in range(500):  # a wait of 0: the job ends before, during or after when_done
        ended, outcomes = threading.Event(), []
        if thread.run(lambda x: x, i, timeout=0):
            outcomes.append(thread.result())
        else:
            thread.when_done(lambda: (outcomes.append(thread.result()), ended.set()))
            assert ended.wait(10)
        assert outcomes == [i]


def test_a_job_that_ended_before_when_done_calls_back_from_the_caller():
    thread, called, release = ScriptThread(), [], threading.Event()
    assert not thread.run(lambda: release.wait(10) and "late", timeout=0)
    release.set()
    deadline = time.monotonic() + 10
    while not thread._finished and time.monotonic() < deadline:  # the job ends before when_done
        time.sleep(0.001)
    assert thread._finished
    thread.when_done(lambda: called.append((threading.current_thread() is threading.main_thread(),
                                            thread.result())))
    assert called == [(True, "late")]
    assert thread.run(lambda: "next", timeout=5) and thread.result() == "next"
