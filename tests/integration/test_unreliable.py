"""Replication on an unreliable network: fault proxies at every server's advertised address
(clients and the primary's forwards both cross them) and between servers and viewd."""

import random
import threading
import time

import pytest
import redis

import resp_kv
from linearizability import UNKNOWN, Op, check, puthash_value
from procs import wait_role, wait_settled


def test_puthash_chain_on_an_unreliable_network_applies_each_exactly_once(cluster):
    c = cluster(2, proxied=True)
    c.primary()
    wait_settled(c)
    for proxy in c.proxies.values():
        proxy.drop_request_rate = 0.10
        proxy.drop_reply_rate = 0.18
    kv = resp_kv.Client(c.viewd.addr, timeout=60)
    expected = b""
    for i in range(60):
        previous = kv.puthash("chain", str(i))
        assert previous == expected, f"step {i}: a PUTHASH was applied twice or lost"
        expected = puthash_value(expected, str(i).encode())
    for proxy in c.proxies.values():
        proxy.drop_request_rate = proxy.drop_reply_rate = 0
    assert kv.get("chain") == expected
    # The faults really happened, to clients and to the primary's forwards alike.
    assert sum(p.requests_dropped for p in c.proxies.values()) > 3
    assert sum(p.replies_dropped for p in c.proxies.values()) > 3


@pytest.mark.parametrize("new_backup", [False, True], ids=["alone", "with-new-backup"])
def test_old_primary_cut_off_from_viewd_never_serves_a_stale_get(cluster, new_backup):
    c = cluster(0)
    old = c.add_server(viewd_proxy=True)
    c.primary()
    backup = c.add_server()
    wait_settled(c)
    if new_backup:
        c.add_server()
    kv = resp_kv.Client(c.viewd.addr, timeout=30)
    kv.set("k", "old")
    direct = old.client(socket_timeout=2)
    assert direct.get("k") == b"old"
    c.viewd_proxies[old.port].blocked = True  # the old primary hears nothing from viewd now
    c.wait_view(lambda n, p, b: p == backup.addr, what="the backup to take over")
    wait_role(backup, "primary")
    assert resp_kv.Client(c.viewd.addr, timeout=30).set("k", "new")
    if new_backup:
        wait_settled(c)
    # The old primary still believes in its view. Whatever it answers, it is never "old".
    answers = []
    for _ in range(30):
        try:
            answers.append(direct.get("k"))
        except (redis.exceptions.ReadOnlyError, redis.exceptions.ConnectionError):
            answers.append("refused")
    assert b"old" not in answers and answers[-1] == "refused", answers
    assert old.client().info("replication")["pb_role"] == "fenced"
    c.viewd_proxies[old.port].blocked = False
    assert kv.get("k") == b"new"


class History:
    """Operations as clients saw them, for the linearizability checker."""

    def __init__(self):
        self.ops: list[Op] = []
        self.lock = threading.Lock()

    # Each kind as the register model sees it: (model kind, the key the register is named by).
    MODEL = {"get": "get", "txget": "get", "set": "set", "puthash": "puthash", "hset": "set", "hget": "get",
             "zadd": "set", "zscore": "get"}

    def run(self, client_id, kv, kind, key, arg):
        # A hash field and a sorted set member are registers of their own.
        register = {"hset": f"{key}/hash", "hget": f"{key}/hash", "zadd": f"{key}/zset",
                    "zscore": f"{key}/zset"}.get(kind, key)
        op = Op(client_id, self.MODEL[kind], register, arg, UNKNOWN, time.monotonic(), None)
        try:
            if kind == "get":
                result = kv.get(key)
            elif kind == "txget":  # MULTI GET EXEC, as redis-py's pipeline() sends it
                with kv.pipeline() as pipe:
                    result = pipe.get(key).execute()[0]
            elif kind == "set":
                result = kv.set(key, arg, ex=3600)  # SET ... EX through KV.ONCE
            elif kind == "hset":
                result = kv.hset(f"{key}/hash", "field", arg)
            elif kind == "hget":
                result = kv.hget(f"{key}/hash", "field")
            elif kind == "zadd":  # the member's score is the register's value
                result = kv.zadd(f"{key}/zset", {"member": int(arg)})
            elif kind == "zscore":
                score = kv.zscore(f"{key}/zset", "member")
                result = None if score is None else b"%d" % score
            else:
                result = kv.puthash(key, arg)
            op.result, op.ret = result, time.monotonic()
        except (resp_kv.Unavailable, redis.exceptions.RedisError):
            pass  # may or may not have happened: pending forever
        with self.lock:
            self.ops.append(op)
        return op


class QueueWork:
    """A producer RPUSHes numbered items and a consumer BLMOVEs them to a done list (both through
    the smart client, exactly once): at the end no item is lost or duplicated."""

    def __init__(self, cluster, stop: threading.Event):
        self.cluster, self.stop = cluster, stop
        self.pushed: list[str] = []  # acknowledged
        self.maybe: list[str] = []  # the push failed: it may or may not have happened
        self.received: list[bytes] = []

    def client(self):
        return resp_kv.Client(self.cluster.viewd.addr, timeout=3, **self.cluster.client_options())

    def produce(self) -> None:
        kv = self.client()
        i = 0
        while not self.stop.is_set():
            item = f"item{i}"
            try:
                kv.rpush("queue", item)
                self.pushed.append(item)
            except (resp_kv.Unavailable, redis.exceptions.RedisError):
                self.maybe.append(item)
            i += 1
            time.sleep(0.01)

    def consume(self) -> None:
        kv = self.client()
        while not self.stop.is_set():
            try:
                item = kv.blmove("queue", "done", 0.5, "LEFT", "RIGHT")
            except (resp_kv.Unavailable, redis.exceptions.RedisError):
                continue
            if item is not None:
                self.received.append(item)

    def check(self) -> None:
        kv = resp_kv.Client(self.cluster.viewd.addr, timeout=60, **self.cluster.client_options())
        queued, done = kv.lrange("queue", 0, -1), kv.lrange("done", 0, -1)
        everything = [item.decode() for item in queued + done]
        assert len(everything) == len(set(everything)), "an item is in the lists twice"
        assert set(self.pushed) <= set(everything), f"lost: {sorted(set(self.pushed) - set(everything))[:10]}"
        assert set(everything) <= set(self.pushed) | set(self.maybe), "an item nobody pushed"
        assert len(self.received) == len(set(self.received)), "the consumer got an item twice"
        assert set(self.received) <= set(done), "an item the consumer got is not in the done list"
        assert len(self.pushed) > 50 and len(self.received) > 20, (len(self.pushed), len(self.received))


NEMESIS = ("restart", "drop", "cut", "partition", "delay")


def chaos(c, seconds: float, clients: int, seed: int, nemesis=NEMESIS):
    """Clients do get (alone or in MULTI/EXEC), set (with EX), puthash, a hash field's hset and
    hget and a sorted set member's zadd and zscore on a few keys, and a producer and a consumer
    move items through a list (BLMOVE), while a nemesis kills and restarts servers, drops
    requests and replies, cuts links and cuts servers off from viewd."""
    history = History()
    stop = threading.Event()
    rng = random.Random(seed)

    def client_loop(n):
        kv = resp_kv.Client(c.viewd.addr, timeout=3, **c.client_options())
        local = random.Random(seed * 100 + n)
        i = 0
        while not stop.is_set():
            kind = local.choice(["get", "txget", "set", "puthash", "hset", "hget", "zadd", "zscore"])
            history.run(n, kv, kind, f"key{local.randrange(3)}", f"{n + 1}{i:06d}" if kind == "zadd" else f"{n}.{i}")
            i += 1

    queue = QueueWork(c, stop)
    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(clients)]
    threads += [threading.Thread(target=queue.produce, daemon=True), threading.Thread(target=queue.consume, daemon=True)]
    for t in threads:
        t.start()
    faults = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        wait_settled(c, 60)  # the seed's deadlock (primary dies unacknowledged) is not what we test
        action = rng.choice(nemesis)
        victim = rng.choice([s for s in c.servers if s.alive()])
        faults.append(action)
        if action == "restart":
            c.restart(victim)
        elif action == "drop":
            proxy = c.proxies[victim.port]
            proxy.drop_request_rate, proxy.drop_reply_rate = 0.1, 0.1
            time.sleep(rng.uniform(0.3, 1.0))  # the nemesis' pace
            proxy.drop_request_rate = proxy.drop_reply_rate = 0
        elif action == "cut":
            c.proxies[victim.port].cut()
        elif action == "delay":
            proxy = c.proxies[victim.port]
            proxy.connect_delay = rng.uniform(0.1, 0.6)
            proxy.cut()  # so new connections, and their delay, are needed
            time.sleep(rng.uniform(0.3, 1.0))
            proxy.connect_delay = 0
        else:
            c.viewd_proxies[victim.port].blocked = True
            time.sleep(rng.uniform(0.3, 1.2))
            c.viewd_proxies[victim.port].blocked = False
        time.sleep(rng.uniform(0.2, 0.8))
    stop.set()
    for t in threads:
        t.join(30)
    queue.check()
    return history.ops, faults


def run_chaos(cluster, seconds, seed, nemesis=NEMESIS, **cluster_kwargs):
    c = cluster(3, proxied=True, viewd_proxy=True, **cluster_kwargs)
    c.primary()
    wait_settled(c)
    ops, faults = chaos(c, seconds, clients=4, seed=seed, nemesis=nemesis)
    done = [op for op in ops if not op.pending]
    assert len(done) > 100, f"only {len(done)} operations completed"
    assert {"restart", "drop", "cut", "partition"} & set(faults)
    # A failed request takes effect within its client's timeout (3 s) of its call, or never.
    result = check(ops, timeout=120, pending_window=6.0)
    assert result.ok is True, f"{result.explanation}\n" + "\n".join(map(str, result.ops[:20]))


def test_chaos_histories_are_linearizable(cluster):
    run_chaos(cluster, seconds=20, seed=7)


def test_chaos_over_tls_histories_are_linearizable(cluster, tls):
    # The proxies cannot pick requests out of TLS, so this nemesis only restarts, cuts,
    # partitions and delays.
    run_chaos(cluster, seconds=20, seed=11, nemesis=("restart", "cut", "partition", "delay"), tls=tls)


@pytest.mark.soak
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chaos_soak_histories_are_linearizable(cluster, seed):
    run_chaos(cluster, seconds=120, seed=seed)


def test_repeated_crash_and_restart_on_an_unreliable_network(cluster):
    c = cluster(3, proxied=True)
    c.primary()
    wait_settled(c)
    stop = threading.Event()
    errors = []

    def client_loop(n):
        kv = resp_kv.Client(c.viewd.addr, timeout=60)
        i = 0
        while not stop.is_set():
            try:
                kv.set(f"c{n}", i)
                got = kv.get(f"c{n}")
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(f"client {n}: {exc!r}")
                return
            if got != str(i).encode():
                errors.append(f"client {n}: wrote {i}, read {got!r}")
            i += 1

    for proxy in c.proxies.values():
        proxy.drop_request_rate, proxy.drop_reply_rate = 0.05, 0.05
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    rng = random.Random(3)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        wait_settled(c, 60)
        c.restart(rng.choice([s for s in c.servers if s.alive()]))
        time.sleep(rng.uniform(1.0, 2.0))  # the nemesis' pace
    stop.set()
    for t in threads:
        t.join(90)
    assert not errors, errors
