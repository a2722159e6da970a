"""Fixtures: real viewd and pbd processes on loopback, stopped after each test."""

from __future__ import annotations

import pytest

from procs import Cluster, Proc, free_port, pbd_proc, viewd_proc


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", help="also run the long soak/chaos variants")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak variant: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def procs():
    """Start processes with ``procs.add(proc)``; all are killed at the end of the test."""

    class Procs(list):
        def add(self, proc: Proc) -> Proc:
            self.append(proc)
            return proc.start()

    started = Procs()
    yield started
    for proc in started:
        proc.kill()


@pytest.fixture
def viewd(procs):
    return procs.add(viewd_proc())


@pytest.fixture
def make_pbd(procs, viewd):
    def make(port=None, *extra):
        return procs.add(pbd_proc(viewd.addr, port, *extra))
    return make


@pytest.fixture(scope="module")
def lone():
    """viewd and a single pbd, its primary (data commands work), shared by a module's tests."""
    cluster = Cluster(servers=1)
    cluster.primary()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    """A CA and a certificate for 127.0.0.1 (tlsfiles.TLSFiles), made once per test run."""
    from tlsfiles import make_tls_files

    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def cluster():
    """``cluster(servers, **kwargs)`` starts a :class:`procs.Cluster`; all are stopped at the end."""
    made = []

    def make(servers=1, **kwargs):
        made.append(Cluster(servers=servers, **kwargs))
        return made[-1]

    yield make
    for c in made:
        c.stop()


@pytest.fixture(scope="module")
def oracle():
    """A redis-server 7.0 (the reference the compat tests compare with), for a module's tests."""
    port = free_port()
    proc = Proc(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                port, "redis-server").start()
    yield proc
    proc.kill()
