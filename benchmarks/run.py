"""Throughput, latency and failover of resp-kv, side by side with redis-server in one run.

    ./dev bench                 # everything below
    ./dev bench --quick         # fewer requests (a smoke run)
    ./dev bench --only tools    # only the redis-benchmark table (also: waitgen, failover, transfer)

What it measures, all on this machine, in this run:
* tools: redis-benchmark -t set,get -c 50 at -P 1 and -P 16 against redis-server alone, a lone
  resp-kv server, and a resp-kv primary with its backup; reported as ratios to redis-server.
* waitgen: our own load generator (several processes, 50 connections) doing SET + WAIT 1 0 per
  write against a redis-server master with a replica, and plain SET against replicated resp-kv.
* failover: SIGKILL the primary, time until the smart client's first successful write (x10).
* transfer: a new backup joining a primary that holds 1,000,000 keys of 100 bytes: how long
  the transfer takes, and the client's p99 latency meanwhile.
Targets are printed beside each ratio; nothing here asserts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from procs import Cluster, Proc, free_port, settled, wait_for  # noqa: E402

import resp_kv  # noqa: E402


def redis_server(*extra: str) -> Proc:
    port = free_port()
    return Proc(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", "/tmp", *extra], port,
                "redis-server").start()


def benchmark(port: int, pipeline: int, requests: int) -> dict[str, float]:
    done = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set,get", "-c", "50", "-n", str(requests),
                           "-P", str(pipeline), "--csv"], capture_output=True, text=True, timeout=600)
    return {name: float(rps) for name, rps in re.findall(r'^"([^"]+)","([\d.]+)"', done.stdout, re.M)}


def replicated(servers: int) -> Cluster:
    cluster = Cluster(servers=servers)
    cluster.primary()
    wait_for(lambda: settled(cluster), 30, what="a settled view")
    return cluster


def tools_table(requests: int) -> list[tuple]:
    rows = []
    reference = redis_server()
    lone, pair = replicated(1), replicated(2)
    try:
        for pipeline in (1, 16):
            base = benchmark(reference.port, pipeline, requests)
            single = benchmark(lone.primary().port, pipeline, requests)
            double = benchmark(pair.primary().port, pipeline, requests)
            for test in ("SET", "GET"):
                rows.append((f"{test} -P {pipeline}", base[test], single[test], single[test] / base[test],
                             double[test], double[test] / base[test]))
    finally:
        reference.kill()
        lone.stop()
        pair.stop()
    print("\nredis-benchmark -c 50 -n %d (requests per second; ratio to redis-server)" % requests)
    print(f"{'test':<12}{'redis-server':>14}{'resp-kv single':>16}{'ratio':>8}{'resp-kv replicated':>20}{'ratio':>8}")
    for name, base, single, r1, double, r2 in rows:
        print(f"{name:<12}{base:>14,.0f}{single:>16,.0f}{r1:>8.2f}{double:>20,.0f}{r2:>8.2f}")
    print("targets: single >= 0.95 (-P 1), >= 0.70 (-P 16); replicated >= 0.90 (-P 1), >= 0.50 (-P 16)")
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

def transfer(keys: int) -> tuple[float, float]:
    cluster = replicated(1)
    try:
        primary = cluster.primary()
        value = b"x" * 100
        client = primary.client()
        pipe = client.pipeline(transaction=False)
        for i in range(keys):
            pipe.set(f"key:{i:08d}", value)
            if i % 10000 == 9999:
                pipe.execute()
        pipe.execute()
        latencies = []
        backup = cluster.add_server()
        started = time.monotonic()
        while not settled(cluster):
            t = time.monotonic()
            client.set("during-transfer", "x")
            latencies.append(time.monotonic() - t)
            if time.monotonic() - started > 120:
                raise RuntimeError("the transfer did not finish in 120 s")
        took = time.monotonic() - started
        p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 100 else max(latencies)
        assert backup.client().info("keyspace")["db0"]["keys"] == keys + 1
    finally:
        cluster.stop()
    print(f"\nstate transfer of {keys:,} keys of 100 bytes to a new backup")
    print(f"until the view was acknowledged: {took:.2f} s (target < 10 s); client SET p99 meanwhile "
          f"{p99 * 1000:.1f} ms over {len(latencies)} writes (target < 50 ms)")
    return took, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter runs")
    parser.add_argument("--only", choices=["tools", "waitgen", "failover", "transfer"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["tools", "waitgen", "failover", "transfer"])
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    if "tools" in only:
        tools_table(20000 if args.quick else 200000)
    if "waitgen" in only:
        waitgen_table(3 if args.quick else 10)
    if "failover" in only:
        failover_times(3 if args.quick else 10)
    if "transfer" in only:
        transfer(100_000 if args.quick else 1_000_000)


if __name__ == "__main__":
    main()
