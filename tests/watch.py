"""Watching a cluster while one client abuses it: another client PINGs every server and viewd
every 20 ms, in a thread, and viewd's view is read as often."""

from __future__ import annotations

import threading
import time

from procs import Cluster

PING_LIMIT = 0.2  # seconds: another client's PING is answered within this, abuse or not


class Watch:
    """Another client PINGs each server every 20 ms in a thread, and viewd's view is read as
    often, for as long as the abuse lasts."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.view = cluster.view()
        self.slowest: dict[int, float] = {}
        self.views: set = set()
        self.errors: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        procs = self.cluster.servers + [self.cluster.viewd]
        clients = [(proc.port, proc.client(socket_timeout=5)) for proc in procs]
        viewd = self.cluster.viewd.client(socket_timeout=5)
        while not self._stop.is_set():
            try:
                for port, client in clients:
                    started = time.monotonic()
                    client.ping()
                    took = time.monotonic() - started
                    self.slowest[port] = max(self.slowest.get(port, 0.0), took)
                self.views.add(tuple(viewd.execute_command("VIEW.GET")))
            except Exception as exc:  # noqa: BLE001 - reported by check()
                self.errors.append(exc)
            self._stop.wait(0.02)

    def __enter__(self) -> "Watch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def check(self) -> None:
        assert not self._thread.is_alive(), "a PING never returned"
        assert not self.errors, self.errors[:3]
        assert self.slowest and max(self.slowest.values()) < PING_LIMIT, f"slowest PING by port: {self.slowest}"
        assert len(self.views) == 1 and self.cluster.view() == self.view, f"the view changed: {self.views}"
        for proc in self.cluster.servers + [self.cluster.viewd]:
            assert proc.alive(), proc.name
            log = proc.log()
            assert "Traceback" not in log and "Protocol error" not in log, log[-3000:]
