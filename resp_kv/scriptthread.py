"""The thread scripts run in (Lua runs there without the GIL, so a long script does not stop the
event loop), and how a script is handed to it: one at a time, over two plain locks. A short
script costs the loop one thread wake-up each way and nothing more; an executor's queue and
future cost twice that here (55 µs of CPU per hand-off, against 30).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class ScriptThread:
    """Runs one job at a time: ``run`` starts it and waits a while; a job still running then
    calls back when it ends (``when_done``)."""

    def __init__(self, name: str = "script"):
        self._go = threading.Lock()  # released: a job is waiting to run
        self._go.acquire()
        self._done = threading.Lock()  # released: the job ended and nobody asked to be called back
        self._done.acquire()
        self._guard = threading.Lock()  # orders a job's end against a late when_done
        self._job: tuple[Callable, tuple] | None = None
        self._result = self._error = None
        self._finished = False
        self._callback: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def run(self, fn: Callable, *args, timeout: float) -> bool:
        """Start ``fn(*args)`` in the thread; True if it ended within ``timeout`` seconds (then
        ``result`` has its outcome), False if it runs on (then call ``when_done``)."""
        self._job, self._finished, self._callback = (fn, args), False, None
        self._go.release()
        return self._done.acquire(timeout=timeout)

    def when_done(self, callback: Callable[[], None]) -> None:
        """For a job that outlived ``run``'s wait: ``callback()`` when it ends, from the script
        thread (or at once, from here, if it ended meanwhile)."""
        with self._guard:
            if not self._finished:
                self._callback = callback
                return
        self._done.acquire()  # it ended before the callback was set: take its signal
        callback()

    def result(self):
        """The ended job's return value; its exception is raised."""
        if self._error is not None:
            raise self._error
        return self._result

    def _serve(self) -> None:
        while True:
            self._go.acquire()
            fn, args = self._job
            try:
                self._result, self._error = fn(*args), None
            except BaseException as exc:  # noqa: BLE001 - handed to whoever reads the result
                self._result, self._error = None, exc
            with self._guard:
                self._finished = True
                callback = self._callback
            if callback is None:
                self._done.release()
            else:
                callback()
