"""Throughput, latency and failover of resp-kv, side by side with redis-server in one run.

    ./dev bench                 # everything below
    ./dev bench --quick         # fewer requests (a smoke run)
    ./dev bench --only tools    # only the redis-benchmark table (also: security, waitgen, failover, transfer)
    ./dev bench --only tools --baseline 3077e23   # ... and resp-kv at 3077e23 beside the working tree

What it measures, all on this machine, in this run:
* tools: redis-benchmark -c 50, SET and GET (one run each) at -P 1 and -P 16 against redis-server
  alone, a lone resp-kv server, and a resp-kv primary with its backup: requests per second, and
  the servers' CPU time per request (utime + stime from /proc/<pid>/stat before and after each
  run: the redis-server process; the pbd process; the primary's and the backup's pbd processes
  summed, viewd excluded), steadier than throughput on a busy machine (not exact: at -P 1 it
  still moves by 10-20% between runs). Both as ratios to redis-server. With --baseline REV, resp-kv built from git revision REV runs in the same run,
  interleaved with the working tree's, and the table adds before/after ratios.
* security: the same redis-benchmark runs (-n 100000) against redis-server, a lone pbd and a
  primary + backup, each three ways at once: plain; with a client password (--requirepass P,
  redis-benchmark -a P: one AUTH per connection, then the same requests); and over TLS
  (--tls-cert-file/--tls-key-file/--tls-ca-cert-file, clients present a certificate too,
  redis-benchmark --tls --cacert --cert --key; certificates made with openssl for this run).
  rps and CPU µs per request, and each as a ratio to the same server's plain figure: what the
  password and TLS cost redis-server and resp-kv. Then the server CPU of one new connection
  (redis-benchmark -k 0), since each run opens 51 and a TLS handshake costs ~4 ms of it, and the
  ratios again net of those connections.
* waitgen: our own load generator (several processes, 50 connections) doing SET + WAIT 1 0 per
  write against a redis-server master with a replica, and plain SET against replicated resp-kv.
* types: redis-benchmark -t lpush,lpop,rpush,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100 (in that
  order, so SPOP and ZPOPMIN find what SADD and ZADD added; LRANGE_100's run includes the LPUSHes
  that fill its list) at -P 1 and -P 16, against the same three servers: rps and CPU per request.
  Then memory per element: 1,000,000 elements in one hash, list, set and sorted set (and as
  1,000,000 string keys), added in commands of 1000 elements: redis-server's used_memory growth
  and its RSS growth, pbd's RSS growth, in bytes per element.
* scripts and pub/sub: redis-benchmark running EVALSHA of a small script (SCRIPT LOADed first), and
  PUBLISH to a channel with 1 and with 50 subscribers (raw sockets that read everything), against
  the same three servers: rps and CPU per request (the subscribers' CPU is theirs, not counted).
* failover: SIGKILL the primary, time until the smart client's first successful write (x10).
* transfer: a new backup joining a primary that holds 1,000,000 keys of 100 bytes: how long
  the transfer takes, and the client's p99 latency meanwhile; then the same with one sorted set
  of 1,000,000 members (p99 and the slowest request: one value must not stall the loop).
Targets are printed beside each ratio; nothing here asserts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from procs import ROOT, Cluster, Proc, free_port, settled, wait_for  # noqa: E402

import resp_kv  # noqa: E402


def redis_server(*extra: str) -> Proc:
    port = free_port()
    return Proc(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", "/tmp", *extra], port,
                "redis-server").start()


def benchmark(port: int, pipeline: int, requests: int, tests: str = "set,get",
              client_args: tuple[str, ...] | list[str] = ()) -> dict[str, float]:
    """``client_args``: redis-benchmark's flags for a password (-a P) or TLS (--tls --cacert ...)."""
    done = subprocess.run(["redis-benchmark", "-p", str(port), "-t", tests, "-c", "50", "-n", str(requests),
                           "-P", str(pipeline), "--csv", *client_args], capture_output=True, text=True, timeout=600)
    return {name: float(rps) for name, rps in re.findall(r'^"([^"]+)","([\d.]+)"', done.stdout, re.M)}


def replicated(servers: int, cwd: Path | None = None, **security) -> Cluster:
    """``security``: Cluster's password= and tls= (tlsfiles.TLSFiles)."""
    # an old revision (cwd) has no cluster secret
    cluster = Cluster(servers=servers, cwd=cwd, secret=None if cwd else "", **security)
    cluster.primary()
    wait_for(lambda: settled(cluster), 30, what="a settled view")
    return cluster


# ------------------------------------------------------------------ redis-benchmark: rps and CPU per request

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(procs: list[Proc]) -> float:
    """utime + stime of these processes (all their threads), from /proc/<pid>/stat."""
    total = 0
    for proc in procs:
        with open(f"/proc/{proc.popen.pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()  # fields 3.. (the name, field 2, may hold spaces)
        total += int(fields[14 - 3]) + int(fields[15 - 3])
    return total / CLOCK_TICKS


def measure(port: int, procs: list[Proc], pipeline: int, test: str, requests: int,
            client_args: tuple[str, ...] | list[str] = ()) -> tuple[float, float]:
    """One redis-benchmark run of ``test``: (requests per second, µs of the servers' CPU per request)."""
    before = cpu_seconds(procs)
    result = benchmark(port, pipeline, requests, test.lower(), client_args)
    if test not in result:
        raise RuntimeError(f"redis-benchmark -t {test.lower()} -P {pipeline} against port {port} reported no {test}")
    return result[test], (cpu_seconds(procs) - before) / requests * 1e6


class Target:
    """What redis-benchmark runs against: a redis-server, or a resp-kv cluster's primary; and
    the server processes whose CPU it counts: the redis-server, or every pbd (not viewd)."""

    def __init__(self, name: str, server: Proc | Cluster):
        self.name, self.server = name, server

    def procs(self) -> list[Proc]:
        return list(self.server.servers) if isinstance(self.server, Cluster) else [self.server]

    def port(self) -> int:
        return self.server.primary().port if isinstance(self.server, Cluster) else self.server.port

    def stop(self) -> None:
        self.server.stop() if isinstance(self.server, Cluster) else self.server.kill()

    def client(self):
        """redis-py, with the password or TLS files the server wants."""
        return (self.server.primary() if isinstance(self.server, Cluster) else self.server).client()


def checkout(rev: str) -> tuple[Path, str]:
    """A copy of the repository at ``rev`` in a new temporary directory, and a description of rev."""
    described = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", rev],
                               capture_output=True, text=True, check=True).stdout.strip()
    tree = Path(tempfile.mkdtemp(prefix="resp-kv-baseline-"))
    try:
        archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", rev], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, check=True)
        archive.stdout.close()
        if archive.wait() != 0:
            raise RuntimeError(f"git archive {rev} failed")
    except BaseException:
        shutil.rmtree(tree, ignore_errors=True)
        raise
    return tree, described


def check_imported_from(tree: Path) -> str:
    """Prove that processes started with cwd=tree run tree's code, not this one's.

    Nothing but those processes runs Python in the fresh copy, so the bytecode they wrote there
    names the modules they imported from it; at least one must differ from this tree's."""
    imported = {f"{package}.{pyc.name.split('.')[0]}"
                for package in ("resp_kv", "viewd")
                for pyc in (tree / package / "__pycache__").glob("*.pyc")}

    def source(root: Path, module: str) -> bytes | None:
        path = (root / module.replace(".", "/")).with_suffix(".py")
        return path.read_bytes() if path.exists() else None

    only_there = sorted(m for m in imported if source(tree, m) != source(ROOT, m))
    if not {"resp_kv.__main__", "viewd.__main__"} <= imported or not only_there:
        raise RuntimeError(f"the baseline servers did not import code of their own from {tree} "
                           f"(bytecode written there: {sorted(imported) or 'none'})")
    return ", ".join(only_there)


def working_tree_label() -> str:
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "resp_kv", "viewd"],
                           capture_output=True, text=True).stdout.strip()
    return f"HEAD {head}" + (" + uncommitted changes to resp_kv/viewd" if dirty else "")


def tools_table(requests: int, baseline: str | None = None) -> list[tuple]:
    """redis-benchmark against redis-server, resp-kv single and replicated (and, with
    ``baseline``, the same two built from that git revision), interleaved run by run."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # check_imported_from reads the bytecode
    tree = described = verified = None
    targets: list[Target] = []  # in the order they run: redis, (base, cur) single, (base, cur) pair
    results: dict[tuple[str, str], tuple[float, float]] = {}  # (row, target) -> (rps, µs CPU/request)
    try:
        targets.append(Target("redis", redis_server()))
        codes = [("cur", None)]
        if baseline:
            tree, described = checkout(baseline)
            codes.insert(0, ("base", tree))  # each baseline run just before the current code's
        for servers, kind in ((1, "single"), (2, "pair")):
            for code, cwd in codes:
                targets.append(Target(f"{code} {kind}", replicated(servers, cwd)))
        if tree:
            verified = check_imported_from(tree)
        for pipeline in (1, 16):
            for test in ("SET", "GET"):
                for target in targets:
                    results[(f"{test} -P {pipeline}", target.name)] = measure(
                        target.port(), target.procs(), pipeline, test, requests)
    finally:
        for target in targets:
            target.stop()
        if tree:
            shutil.rmtree(tree, ignore_errors=True)

    tick = 1e6 / CLOCK_TICKS / requests
    print(f"\nredis-benchmark -c 50 -n {requests}, one run per test and server; rps = requests per second; "
          f"cpu = server CPU time per request in µs\n(utime+stime from /proc/<pid>/stat before and after the run, "
          f"1 clock tick = {1000 / CLOCK_TICKS:g} ms = {tick:.2f} µs/request here); "
          f"x = ratio to redis-server (for cpu: how many times its CPU)")
    print("single = the one pbd process; replicated = primary + backup pbd processes summed (viewd excluded)")
    codes = [("cur", working_tree_label())]
    if baseline:
        codes.insert(0, ("base", described if len(described) <= 72 else described[:71] + "…"))
        print("resp-kv rows: " + "; ".join(f"@{'before' if c == 'base' else 'after'} = {label}" for c, label in codes))
        print(f"baseline servers verified to run the {baseline} tree (imported modules absent here: {verified})")
    width = 23 if baseline else 12
    group = f"{'rps':>9}{'x':>6}{'cpu':>8}{'x':>7} "
    print(f"\n{'':<{width}}{'redis-server':>17} |{'resp-kv single':^{len(group)}}|{'resp-kv replicated':^{len(group)}}|")
    print(f"{'test':<{width}}{'rps':>10}{'cpu':>7} |{group}|{group}|")
    rows = []
    for name in (f"{t} -P {p}" for p in (1, 16) for t in ("SET", "GET")):
        base_rps, base_cpu = results[(name, "redis")]
        for i, (code, _) in enumerate(codes):
            label = name + (f" @{'before' if code == 'base' else 'after'}" if baseline else "")
            single = results[(name, f"{code} single")]
            pair = results[(name, f"{code} pair")]
            redis_cols = f"{base_rps:>10,.0f}{base_cpu:>7.2f}" if i == 0 else " " * 17
            cells = "|".join(f"{rps:>9,.0f}{rps / base_rps:>6.2f}{cpu:>8.2f}"
                             f"{cpu / base_cpu if base_cpu else float('nan'):>7.2f} " for rps, cpu in (single, pair))
            print(f"{label:<{width}}{redis_cols} |{cells}|")
            rows.append((label, base_rps, base_cpu, *single, *pair))
    print("targets (rps x): single >= 0.95 (-P 1), >= 0.70 (-P 16); replicated >= 0.90 (-P 1), >= 0.50 (-P 16)")
    if baseline:
        print(f"\nbefore/after: {baseline} -> working tree, same run (after/before: rps > 1 is faster, cpu < 1 is cheaper)")
        group = f"{'rps before':>11}{'after':>8}{'ratio':>7}{'cpu before':>12}{'after':>7}{'ratio':>7} "
        print(f"{'':<12}|{'resp-kv single':^{len(group)}}|{'resp-kv replicated':^{len(group)}}|")
        print(f"{'test':<12}|{group}|{group}|")
        for name in (f"{t} -P {p}" for p in (1, 16) for t in ("SET", "GET")):
            cells = []
            for kind in ("single", "pair"):
                (b_rps, b_cpu), (a_rps, a_cpu) = results[(name, f"base {kind}")], results[(name, f"cur {kind}")]
                cells.append(f"{b_rps:>11,.0f}{a_rps:>8,.0f}{a_rps / b_rps:>7.2f}"
                             f"{b_cpu:>12.2f}{a_cpu:>7.2f}{a_cpu / b_cpu if b_cpu else float('nan'):>7.2f} ")
            print(f"{name:<12}|" + "|".join(cells) + "|")
    return rows


# ------------------------------------------------------------------ the cost of a password and of TLS

SECURITY_SETUPS = ("plain", "password", "TLS")
SERVER_KINDS = (("redis", "redis-server"), ("single", "resp-kv single"), ("pair", "resp-kv replicated"))


def redis_server_tls(tls) -> Proc:
    """redis-server serving TLS only (tls-auth-clients yes: clients present a certificate)."""
    port = free_port()
    proc = Proc(["redis-server", "--port", "0", "--tls-port", str(port), *tls.server_args(),
                 "--tls-auth-clients", "yes", "--save", "", "--appendonly", "no", "--dir", "/tmp"],
                port, "redis-server").start()  # Proc._listening: a plain TCP connect, enough here
    proc.extra["tls"] = tls  # for Proc.client()
    return proc


def geomean(values: list[float]) -> float:
    return statistics.geometric_mean(values) if all(v > 0 for v in values) else float("nan")


def security_table(requests: int, connects: int) -> list[tuple]:
    """redis-benchmark against redis-server, a lone pbd and a primary + backup, each plain, with a
    client password and over TLS: all nine up at once, run by run interleaved (test, then setup,
    then server), so a busy machine slows them alike. Then what one new connection costs each
    (redis-benchmark -k 0: connect, one GET, close; ``connects`` of them over TLS, 5 times as many
    without, for the clock ticks), since every run above opens 51 and a TLS handshake is dear: the
    cost per request is also shown net of them."""
    from tlsfiles import make_tls_files

    folder = Path(tempfile.mkdtemp(prefix="resp-kv-bench-tls-"))
    password = "bench-" + secrets.token_hex(8)
    targets: dict[tuple[str, str], Target] = {}  # (setup, kind) -> Target
    results: dict[tuple[str, str, str], tuple[float, float]] = {}  # (test, setup, kind) -> (rps, µs CPU/request)
    per_connection: dict[tuple[str, str], float] = {}  # (setup, kind) -> µs of server CPU per new connection
    connections = {setup: connects if setup == "TLS" else 5 * connects for setup in SECURITY_SETUPS}
    try:
        tls = make_tls_files(folder)
        client_args = {"plain": [], "password": ["-a", password], "TLS": tls.cli_args()}
        targets[("plain", "redis")] = Target("redis plain", redis_server())
        targets[("password", "redis")] = Target("redis password", redis_server("--requirepass", password))
        targets[("password", "redis")].server.extra["password"] = password  # for Proc.client()
        targets[("TLS", "redis")] = Target("redis TLS", redis_server_tls(tls))
        security = {"plain": {}, "password": {"password": password}, "TLS": {"tls": tls}}
        for servers, kind in ((1, "single"), (2, "pair")):
            for setup in SECURITY_SETUPS:
                targets[(setup, kind)] = Target(f"{kind} {setup}", replicated(servers, **security[setup]))
        key = "key:__rand_int__"  # what redis-benchmark's SET writes (no -r), a 3-byte value
        for pipeline in (1, 16):
            for test in ("SET", "GET"):
                for setup in SECURITY_SETUPS:
                    for kind, _ in SERVER_KINDS:
                        target = targets[(setup, kind)]
                        if test == "SET":
                            target.client().delete(key)
                        results[(f"{test} -P {pipeline}", setup, kind)] = measure(
                            target.port(), target.procs(), pipeline, test, requests, client_args[setup])
                        if test == "SET" and len(target.client().get(key) or b"") != 3:
                            # redis-benchmark counts error replies as requests: prove the SETs landed
                            raise RuntimeError(f"redis-benchmark's SET did not write {key} on {target.name}")
        for setup in SECURITY_SETUPS:
            count = connections[setup]
            for kind, _ in SERVER_KINDS:
                target = targets[(setup, kind)]
                _, cpu = measure(target.port(), target.procs(), 1, "GET", count, [*client_args[setup], "-k", "0"])
                per_connection[(setup, kind)] = cpu * count / (count + 1)  # and the CONFIG GET one
    finally:
        for target in targets.values():
            target.stop()
        shutil.rmtree(folder, ignore_errors=True)

    opened = 51  # per redis-benchmark run: its 50 clients and the one that asks for CONFIG GET first
    tick = 1e6 / CLOCK_TICKS / requests
    print(f"\nthe cost of a client password and of TLS: redis-benchmark -c 50 -n {requests}, one run per test, "
          f"setup and server, all in this run;\nrps = requests per second; cpu = server CPU time per request in µs "
          f"(utime+stime from /proc/<pid>/stat, 1 clock tick = {tick:.2f} µs/request here); "
          f"x = ratio to the same server's plain figure")
    print("plain = no password, no TLS; password = --requirepass (resp-kv: password=), redis-benchmark -a "
          "(one AUTH per connection, then the same requests);\nTLS = TLS-only port, clients present a certificate "
          "(tls-auth-clients yes; resp-kv: tls=, its links to viewd and into the backup over TLS too; RSA-2048 "
          "certificates from openssl), redis-benchmark --tls --cacert --cert --key")
    print("single = the one pbd process; replicated = primary + backup pbd processes summed (viewd excluded); "
          "every resp-kv process also holds a cluster secret (the default);\nredis-benchmark shares the machine's "
          f"{os.cpu_count()} cores, and does its own TLS work: rps over TLS is partly the client's cost")
    group = f"{'rps':>9}{'x':>6}{'cpu':>7}{'x':>6} "
    width = 20
    print(f"\n{'':<{width}}|" + "|".join(f"{label:^{len(group)}}" for _, label in SERVER_KINDS) + "|")
    print(f"{'test':<{width}}|" + "|".join(group for _ in SERVER_KINDS) + "|")
    rows = []
    tests = [f"{t} -P {p}" for p in (1, 16) for t in ("SET", "GET")]
    for name in tests:
        for setup in SECURITY_SETUPS:
            cells, row = [], [name, setup]
            for kind, _ in SERVER_KINDS:
                rps, cpu = results[(name, setup, kind)]
                plain_rps, plain_cpu = results[(name, "plain", kind)]
                cells.append(f"{rps:>9,.0f}{rps / plain_rps:>6.2f}{cpu:>7.2f}"
                             f"{cpu / plain_cpu if plain_cpu else float('nan'):>6.2f} ")
                row += [rps, cpu]
            print(f"{name + '  ' + setup if setup == 'plain' else '  ' + setup:<{width}}|" + "|".join(cells) + "|")
            rows.append(tuple(row))

    print(f"\na new connection: server CPU in µs per connection (redis-benchmark -c 50 -k 0: connect, one GET, "
          f"close; -n {connections['plain']} plain and password, -n {connections['TLS']} TLS, one more connection "
          f"for its CONFIG GET);\nx = ratio to a plain connection; µs/req = what the {opened} connections of each run "
          f"above add to its cpu per request at -n {requests}")
    group = f"{'µs/conn':>9}{'x':>7}{'µs/req':>8} "
    print(f"{'':<{width}}|" + "|".join(f"{label:^{len(group)}}" for _, label in SERVER_KINDS) + "|")
    for setup in SECURITY_SETUPS:
        cells = []
        for kind, _ in SERVER_KINDS:
            conn, plain = per_connection[(setup, kind)], per_connection[("plain", kind)]
            ratio = conn / plain if plain else float("nan")
            cells.append(f"{conn:>9,.0f}{ratio:>7.1f}{conn * opened / requests:>8.2f} ")
        print(f"{setup:<{width}}|" + "|".join(cells) + "|")

    def net(name: str, setup: str, kind: str) -> float:
        """cpu per request without the run's connection setup (never below 0)"""
        return max(0.0, results[(name, setup, kind)][1] - per_connection[(setup, kind)] * opened / requests)

    print("\nwhat each costs, as times the same server's plain figure (geometric mean of SET and GET); "
          "net = cpu per request less the connections' share above")
    group = f"{'-P 1':>9}{'-P 16':>9} "
    print(f"{'':<{width}}|" + "|".join(f"{label:^{len(group)}}" for _, label in SERVER_KINDS) + "|")
    figures = {"rps": lambda name, setup, kind: results[(name, setup, kind)][0],
               "cpu": lambda name, setup, kind: results[(name, setup, kind)][1],
               "cpu net": net}
    for setup in SECURITY_SETUPS[1:]:
        for what in ("cpu", "cpu net", "rps"):
            cells = []
            for kind, _ in SERVER_KINDS:
                ratios = []
                for pipeline in (1, 16):
                    pairs = [(figures[what](f"{t} -P {pipeline}", setup, kind),
                              figures[what](f"{t} -P {pipeline}", "plain", kind)) for t in ("SET", "GET")]
                    ratios.append(geomean([v / plain if plain else float("nan") for v, plain in pairs]))
                cells.append("".join(f"{r:>8.2f}x" for r in ratios) + " ")
            print(f"{setup + ' ' + what:<{width}}|" + "|".join(cells) + "|")
    return rows


# ------------------------------------------------------------------ our own load generator

def _writer(port: int, conns: int, seconds: float, with_wait: bool, out) -> None:
    """One process: ``conns`` connections, each one write (and WAIT) at a time, for ``seconds``."""
    import selectors

    request = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\nval\r\n"
    replies_per_op = 1
    if with_wait:
        request += b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n"
        replies_per_op = 2
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, [0, b""])
        socks.append(s)
    done = 0
    end = time.monotonic() + seconds
    for s in socks:
        s.send(request)
    while time.monotonic() < end:
        for key, _ in sel.select(0.1):
            state = key.data
            data = key.fileobj.recv(65536)
            state[1] += data
            lines = state[1].count(b"\r\n")
            if lines >= replies_per_op:
                state[1] = b""
                done += 1
                key.fileobj.send(request)
    out.put(done)
    for s in socks:
        s.close()


def load(port: int, with_wait: bool, seconds: float, processes: int = 2, conns: int = 50) -> float:
    queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_writer, args=(port, conns // processes, seconds, with_wait, queue))
               for _ in range(processes)]
    for w in workers:
        w.start()
    total = sum(queue.get() for _ in workers)
    for w in workers:
        w.join()
    return total / seconds


def waitgen_table(seconds: float) -> tuple[float, float]:
    master = redis_server()
    replica = redis_server("--replicaof", "127.0.0.1", str(master.port))
    pair = replicated(2)
    try:
        wait_for(lambda: b"master_link_status:up" in subprocess.run(
            ["redis-cli", "-p", str(replica.port), "INFO", "replication"], capture_output=True).stdout,
            30, what="the redis replica to connect")
        redis_wait = load(master.port, True, seconds)
        resp_kv_set = load(pair.primary().port, False, seconds)
    finally:
        master.kill()
        replica.kill()
        pair.stop()
    print(f"\nown load generator, 50 connections, {seconds:.0f} s each (writes per second)")
    print(f"redis-server + replica, SET + WAIT 1 0: {redis_wait:>10,.0f}")
    print(f"resp-kv primary + backup, SET:          {resp_kv_set:>10,.0f}   ratio {resp_kv_set / redis_wait:.2f} (target >= 1.5)")
    return redis_wait, resp_kv_set


# ------------------------------------------------------------------ failover

def failover_times(rounds: int) -> list[float]:
    cluster = replicated(3)
    times = []
    try:
        kv = resp_kv.Client(cluster.viewd.addr, timeout=30)
        for i in range(rounds):
            wait_for(lambda: settled(cluster), 30, what="a settled view")
            kv.set("failover", i)
            primary = cluster.primary()
            port = primary.port
            killed = time.monotonic()
            primary.kill()
            kv.set("failover", f"after {i}")
            times.append(time.monotonic() - killed)
            cluster.servers.remove(primary)
            cluster.add_server(port)
    finally:
        cluster.stop()
    print(f"\nfailover: SIGKILL of the primary to the first successful write, {rounds} rounds")
    print(f"median {statistics.median(times):.3f} s, max {max(times):.3f} s (target: median < 1.0 s)")
    return times


# ------------------------------------------------------------------ state transfer

def transfer(what: str, fill) -> tuple[float, float]:
    """A new backup joining a primary that holds what ``fill(pipeline)`` added: how long until the
    view is acknowledged, and a client's SET latencies meanwhile (p99, slowest)."""
    cluster = replicated(1)
    try:
        client = cluster.primary().client()
        pipe = client.pipeline(transaction=False)
        fill(pipe)
        pipe.execute()
        latencies = []
        backup = cluster.add_server()
        started = time.monotonic()
        while not settled(cluster):
            t = time.monotonic()
            client.set("during-transfer", "x")
            latencies.append(time.monotonic() - t)
            if time.monotonic() - started > 300:
                raise RuntimeError("the transfer did not finish in 300 s")
        took = time.monotonic() - started
        p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 100 else max(latencies)
        assert backup.client().execute_command("DEBUG", "DIGEST") == client.execute_command("DEBUG", "DIGEST")
    finally:
        cluster.stop()
    print(f"\nstate transfer of {what} to a new backup: {took:.2f} s until the view was acknowledged (target "
          f"< 10 s); client SET p99 {p99 * 1000:.1f} ms, slowest {max(latencies) * 1000:.1f} ms over {len(latencies)} "
          "writes (target: p99 < 50 ms, none stalled for more than tens of ms)")
    return took, p99


def fill_keys(keys: int):
    def fill(pipe) -> None:
        for i in range(keys):
            pipe.set(f"key:{i:08d}", b"x" * 100)
            if i % 10000 == 9999:
                pipe.execute()
    return fill


def fill_sorted_set(members: int):
    def fill(pipe) -> None:
        for i in range(0, members, 1000):
            pipe.zadd("big", {f"member:{j:08d}": j * 0.5 for j in range(i, min(members, i + 1000))})
            if i % 100_000 == 99_000:
                pipe.execute()
    return fill


# ------------------------------------------------------------------ the data types

TYPE_TESTS = ("LPUSH", "LPOP", "RPUSH", "RPOP", "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN", "LRANGE_100")
REPORTED_AS = {"LRANGE_100": "LRANGE_100 (first 100 elements)"}


def types_table(requests: int) -> None:
    """redis-benchmark's type tests against redis-server, a lone pbd and a primary + backup."""
    targets = [Target("redis", redis_server()), Target("single", replicated(1)), Target("pair", replicated(2))]
    results = {}
    try:
        for pipeline in (1, 16):
            for target in targets:
                for test in TYPE_TESTS:
                    results[(test, pipeline, target.name)] = measure_as(
                        target.port(), target.procs(), pipeline, test, requests)
    finally:
        for target in targets:
            target.stop()
    print(f"\nredis-benchmark -c 50 -n {requests} per test (the data types); rps, cpu = server CPU µs per request, "
          "x = ratio to redis-server")
    group = f"{'rps':>9}{'x':>6}{'cpu':>8}{'x':>7} "
    print(f"{'':<18}{'redis-server':>17} |{'resp-kv single':^{len(group)}}|{'resp-kv replicated':^{len(group)}}|")
    print(f"{'test':<18}{'rps':>10}{'cpu':>7} |{group}|{group}|")
    for pipeline in (1, 16):
        for test in TYPE_TESTS:
            base_rps, base_cpu = results[(test, pipeline, "redis")]
            cells = "|".join(f"{rps:>9,.0f}{rps / base_rps:>6.2f}{cpu:>8.2f}{cpu / base_cpu if base_cpu else float('nan'):>7.2f} "
                             for rps, cpu in (results[(test, pipeline, kind)] for kind in ("single", "pair")))
            print(f"{test + f' -P {pipeline}':<18}{base_rps:>10,.0f}{base_cpu:>7.2f} |{cells}|")


def measure_as(port: int, procs: list[Proc], pipeline: int, test: str, requests: int) -> tuple[float, float]:
    """``measure``, for a test redis-benchmark reports under a longer name."""
    before = cpu_seconds(procs)
    result = benchmark(port, pipeline, requests, test.lower())
    reported = REPORTED_AS.get(test, test)
    if reported not in result:
        raise RuntimeError(f"redis-benchmark -t {test.lower()} against port {port} reported {sorted(result)}")
    return result[reported], (cpu_seconds(procs) - before) / requests * 1e6


SCRIPT = "return redis.call('GET', KEYS[1])"


class Subscribers:
    """``count`` raw connections subscribed to ``channel`` that read (and drop) all they get."""

    def __init__(self, port: int, channel: bytes, count: int):
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%b\r\n" % (len(channel), channel))
        self.stop = False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        import selectors
        selector = selectors.DefaultSelector()
        for sock in self.socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        while not self.stop:
            for key, _ in selector.select(0.1):
                try:
                    key.fileobj.recv(1 << 20)
                except BlockingIOError:
                    pass

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        for sock in self.socks:
            sock.close()


def custom_benchmark(port: int, procs: list[Proc], pipeline: int, requests: int, *command: str) -> tuple[float, float]:
    """redis-benchmark running one command of ours: (rps, µs of the servers' CPU per request)."""
    before = cpu_seconds(procs)
    done = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests), "-P", str(pipeline),
                           "--csv", *command], capture_output=True, text=True, timeout=600)
    found = re.findall(r'^"([^"]+)","([\d.]+)"', done.stdout, re.M)
    if not found:
        raise RuntimeError(f"redis-benchmark {' '.join(command)} against port {port}: {done.stdout} {done.stderr}")
    return float(found[0][1]), (cpu_seconds(procs) - before) / requests * 1e6


def scripts_and_pubsub_table(requests: int) -> None:
    targets = [Target("redis", redis_server()), Target("single", replicated(1)), Target("pair", replicated(2))]
    rows = ("EVALSHA", "PUBLISH to 1", "PUBLISH to 50")
    results = {}
    try:
        for target in targets:
            client = target.client()
            sha = client.script_load(SCRIPT)
            client.set("k", "v")
            results[("EVALSHA", target.name)] = custom_benchmark(target.port(), target.procs(), 1, requests,
                                                                 "EVALSHA", sha, "1", "k")
            for count in (1, 50):
                subscribers = Subscribers(target.port(), b"bench", count)
                try:
                    wait_for(lambda: client.pubsub_numsub("bench")[0][1] == count, 10, what="the subscribers")
                    results[(f"PUBLISH to {count}", target.name)] = custom_benchmark(
                        target.port(), target.procs(), 1, requests, "PUBLISH", "bench", "hello")
                finally:
                    subscribers.close()
    finally:
        for target in targets:
            target.stop()
    print(f"\nscripts and pub/sub: redis-benchmark -c 50 -n {requests} -P 1; rps, cpu = server CPU µs per request, "
          "x = ratio to redis-server")
    group = f"{'rps':>9}{'x':>6}{'cpu':>8}{'x':>7} "
    print(f"{'':<16}{'redis-server':>17} |{'resp-kv single':^{len(group)}}|{'resp-kv replicated':^{len(group)}}|")
    print(f"{'test':<16}{'rps':>10}{'cpu':>7} |{group}|{group}|")
    for row in rows:
        base_rps, base_cpu = results[(row, "redis")]
        cells = "|".join(f"{rps:>9,.0f}{rps / base_rps:>6.2f}{cpu:>8.2f}{cpu / base_cpu if base_cpu else float('nan'):>7.2f} "
                         for rps, cpu in (results[(row, kind)] for kind in ("single", "pair")))
        print(f"{row:<16}{base_rps:>10,.0f}{base_cpu:>7.2f} |{cells}|")


def rss_bytes(proc: Proc) -> int:
    with open(f"/proc/{proc.popen.pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


MEMORY_KINDS = {
    "string keys": lambda pipe, i, batch: pipe.mset({f"key:{j:08d}": f"v{j}" for j in range(i, i + batch)}),
    "hash fields": lambda pipe, i, batch: pipe.hset("hash", mapping={f"field:{j:08d}": f"v{j}" for j in range(i, i + batch)}),
    "list items": lambda pipe, i, batch: pipe.rpush("list", *(f"item:{j:08d}" for j in range(i, i + batch))),
    "set members": lambda pipe, i, batch: pipe.sadd("set", *(f"member:{j:08d}" for j in range(i, i + batch))),
    "zset members": lambda pipe, i, batch: pipe.zadd("zset", {f"member:{j:08d}": j * 1.5 for j in range(i, i + batch)}),
}


def memory_table(elements: int) -> None:
    """Bytes per element, each type in a fresh server: redis-server's used_memory and RSS growth,
    and a lone pbd's RSS growth."""
    print(f"\nmemory per element: {elements:,} elements of ~14 bytes (values ~8 bytes) in one value "
          "(string keys: that many keys), added 1000 per command; bytes per element")
    print(f"{'':<14}{'redis used_memory':>18}{'redis RSS':>11}{'pbd RSS':>9}{'pbd/redis RSS':>15}")
    for kind, add in MEMORY_KINDS.items():
        row = []
        for make in (redis_server, lambda: replicated(1)):
            server = make()
            try:
                proc = server if isinstance(server, Proc) else server.primary()
                client = proc.client()
                is_redis = isinstance(server, Proc)
                used_before = client.info("memory")["used_memory"] if is_redis else 0
                rss_before = rss_bytes(proc)
                pipe = client.pipeline(transaction=False)
                for i in range(0, elements, 1000):
                    add(pipe, i, min(1000, elements - i))
                    if i % 100_000 == 99_000:
                        pipe.execute()
                pipe.execute()
                if is_redis:
                    row.append((client.info("memory")["used_memory"] - used_before) / elements)
                row.append((rss_bytes(proc) - rss_before) / elements)
            finally:
                server.kill() if isinstance(server, Proc) else server.stop()
        print(f"{kind:<14}{row[0]:>18.1f}{row[1]:>11.1f}{row[2]:>9.1f}{row[2] / row[1]:>15.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter runs")
    parser.add_argument("--only", choices=["tools", "types", "memory", "scripts", "security", "waitgen", "failover",
                                           "transfer"], action="append")
    parser.add_argument("--baseline", metavar="REV",
                        help="also run resp-kv built from this git revision in the tools table, interleaved with "
                             "the working tree's, and print before/after ratios")
    args = parser.parse_args()
    only = set(args.only or ["tools", "types", "memory", "scripts", "security", "waitgen", "failover", "transfer"])
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    if "tools" in only:
        tools_table(20000 if args.quick else 200000, args.baseline)
    if "types" in only:
        types_table(20000 if args.quick else 100000)
    if "memory" in only:
        memory_table(100_000 if args.quick else 1_000_000)
    if "scripts" in only:
        scripts_and_pubsub_table(20000 if args.quick else 100000)
    if "security" in only:
        security_table(20000 if args.quick else 100000, 100 if args.quick else 200)
    if "waitgen" in only:
        waitgen_table(3 if args.quick else 10)
    if "failover" in only:
        failover_times(3 if args.quick else 10)
    if "transfer" in only:
        count = 100_000 if args.quick else 1_000_000
        transfer(f"{count:,} keys of 100 bytes", fill_keys(count))
        transfer(f"one sorted set of {count:,} members", fill_sorted_set(count))


if __name__ == "__main__":
    main()
