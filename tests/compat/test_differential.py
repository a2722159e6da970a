"""Differential test: seeded random command streams (tests/diffgen.py), sent to a real
redis-server 7.0 and to a resp-kv primary with a backup, must get the same replies byte for byte
(TTLs within a tolerance, KEYS and SCAN as sets, RANDOMKEY as nil-or-an-existing-key) and leave
the same data in databases 0-15. After a stream the backup must hold the primary's data (DEBUG
DIGEST), and in the failover test the backup, promoted after a SIGKILL of the primary, must
still hold redis-server's data.

Each server gets two connections, A (the stream's main one) and B (for WATCH races: A watches,
B writes or not, A runs MULTI ... EXEC); both in the same RESP version, each with its own SELECTed
database. The harness follows each connection's transaction from redis-server's replies (+OK to
MULTI, +QUEUED, EXEC/DISCARD) and compares EXEC's replies element by element with the rules of
the queued commands.

Each seed runs in RESP2 and in RESP3 (HELLO 3 first). Replay one seed (a failure prints this):

    RESP_KV_DIFF_SEED=3 .venv/bin/python -m pytest tests/compat/test_differential.py -k 'test_same_replies and resp2'

(``RESP_KV_DIFF_COMMANDS=n`` changes the stream length; the soak variant runs with --soak;
``RESP_KV_DIFF_TREE=/some/checkout`` runs viewd and pbd from another source tree.)
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import time

import hiredis
import pytest

import diffgen
from resp_kv.protocol import encode_command
from diffgen import CONN_NAMES, Command, Step, show
from diffgen_sort import STALE_ERRNO
from procs import Cluster, Proc, digest, wait_for, wait_role, wait_settled

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

QUICK_SEEDS = [1, 2, 3, 4]
QUICK_COMMANDS = 300
PROMOTED_SEED = 5  # the failover test's stream (RESP3), in a cluster of its own
SOAK_SEEDS = range(1000, 1000 + int(os.environ.get("RESP_KV_DIFF_SOAK_SEEDS", "200")))
SOAK_COMMANDS = 1000
MAX_STREAM_SECONDS = 90  # diffgen's times are 100 s apart: a slower stream could race the clock
DATABASES = 16
TREE = os.environ.get("RESP_KV_DIFF_TREE") or None  # the source tree to run viewd and pbd from


def env_seeds(default):
    raw = os.environ.get("RESP_KV_DIFF_SEED")
    return [int(s) for s in raw.split(",")] if raw else list(default)


def env_commands(default: int) -> int:
    return int(os.environ.get("RESP_KV_DIFF_COMMANDS", default))


# The commands that iterate with a cursor, and where the cursor is.
SCANS = {b"SCAN": 1, b"HSCAN": 2, b"SSCAN": 2, b"ZSCAN": 2}
# What reads a whole value of each type (the reply rules of diffgen compare unordered ones).
VALUE_READS = {b"+string\r\n": [b"GET"], b"+hash\r\n": [b"HGETALL"], b"+list\r\n": [b"LRANGE", b"0", b"-1"],
               b"+set\r\n": [b"SMEMBERS"], b"+zset\r\n": [b"ZRANGE", b"0", b"-1", b"WITHSCORES"]}

TESTS = {"replies": "test_same_replies", "promoted": "test_the_promoted", "soak": "test_soak"}


def replay_hint(seed: int, n: int, test: str = "replies", protocol: int | None = None) -> str:
    """How to run just this seed again (``test``: replies, promoted or soak)."""
    select = TESTS[test] + (f" and resp{protocol}" if protocol and test == "replies" else "")
    return (f"replay: RESP_KV_DIFF_SEED={seed} RESP_KV_DIFF_COMMANDS={n} "
            f".venv/bin/python -m pytest tests/compat/test_differential.py -k '{select}'"
            + (" --soak" if test == "soak" else ""))


NOT_YET = object()


class RawConn:
    """One connection; ``call`` returns the raw bytes of the one reply (hiredis finds its end)."""

    def __init__(self, port: int, timeout: float = 10):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = hiredis.Reader(notEnoughData=NOT_YET)  # (a RESP3 false is a reply)

    def call(self, cmd: Command) -> bytes:
        self.sock.sendall(encode_command(cmd))
        raw = bytearray()
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"port {self.port} closed the connection (after {bytes(raw)[:200]!r})")
            raw += chunk
            self.reader.feed(chunk)
            if self.reader.gets() is not NOT_YET:
                break
        if self.reader.has_data():
            raise AssertionError(f"port {self.port} sent more than one reply to one command: {bytes(raw)[:500]!r}")
        return bytes(raw)

    def close(self) -> None:
        self.sock.close()


class Mismatch(Exception):
    def __init__(self, cmd: Command, reason: str, want: bytes, got: bytes, conn: int = diffgen.A):
        super().__init__(reason)
        self.cmd, self.reason, self.want, self.got, self.conn = cmd, reason, want, got, conn

    def describe(self) -> str:
        return (f"on connection {CONN_NAMES[self.conn]}: {show(self.cmd)}\n  {self.reason}\n"
                f"  redis-server: {self.want[:500]!r}\n  resp-kv:      {self.got[:500]!r}")


ERRNO_SCRATCH = b"__resp_kv_diff_errno__"  # a key no stream uses


class Pair:
    """The same commands to redis-server (the reference) and to resp-kv, two connections each
    (A and B)."""

    def __init__(self, redis_port: int, kv_port: int, protocol: int):
        self.protocol = protocol
        self.conns: list[tuple[RawConn, RawConn]] = []
        self.queued: list[list[Command] | None] = [None, None]  # per connection, inside MULTI
        try:
            for conn in (diffgen.A, diffgen.B):
                self.conns.append((RawConn(redis_port), RawConn(kv_port)))
                if protocol == 3:
                    # The replies name each server (version, id...): only their shape is compared.
                    want, got = self.both([b"HELLO", b"3"], conn)
                    if not (want.startswith(b"%") and got.startswith(b"%")):
                        raise Mismatch([b"HELLO", b"3"], "HELLO 3 did not answer a RESP3 map", want, got, conn)
        except BaseException:
            self.close()
            raise

    @property
    def redis(self) -> RawConn:
        return self.conns[diffgen.A][0]

    @property
    def kv(self) -> RawConn:
        return self.conns[diffgen.A][1]

    def close(self) -> None:
        for r, k in self.conns:
            r.close()
            k.close()

    def both(self, cmd: Command, conn: int = diffgen.A) -> tuple[bytes, bytes]:
        redis, kv = self.conns[conn]
        want = redis.call(cmd)
        try:
            got = kv.call(cmd)
        except (OSError, hiredis.ProtocolError, AssertionError) as exc:
            raise Mismatch(cmd, "resp-kv did not answer properly", want, f"<{exc!r}>".encode(), conn) from exc
        return want, got

    def step(self, cmd: Command, conn: int = diffgen.A) -> None:
        """Run ``cmd`` on both servers' connection ``conn``; raise Mismatch if the replies disagree
        (or one does not come)."""
        try:
            self._step(cmd, conn)
        except (OSError, hiredis.ProtocolError, AssertionError) as exc:
            raise Mismatch(cmd, f"no proper reply: {exc!r}", b"", b"", conn) from exc

    def _step(self, cmd: Command, conn: int) -> None:
        kind = diffgen.name(cmd)
        queued = self.queued[conn]
        if queued is None and len(cmd) > SCANS.get(kind, 99):
            return self._scan(cmd, conn)
        want, got = self.both(cmd, conn)
        if queued is None and kind == b"SORT" and want == STALE_ERRNO and got[:1] == b":":
            want = self._sort_store_again(cmd, conn)
        self._follow(cmd, conn, want)
        if queued is None and kind == b"RANDOMKEY":
            return self._randomkey(cmd, want, got, conn)
        if queued is None and kind == b"SPOP":
            self._follow_spop(cmd, want, got, conn)
        if queued is not None and kind == b"EXEC" and len(cmd) == 1:
            reason = diffgen.compare_exec(queued, want, got)
        elif queued is not None:
            reason = None if want == got else "replies differ (inside MULTI)"
        else:
            reason = diffgen.compare(cmd, want, got)
        if reason:
            raise Mismatch(cmd, reason, want, got, conn)

    def _sort_store_again(self, cmd: Command, conn: int) -> bytes:
        """redis-server's sort.c reads errno after strtod without clearing it, so an ERANGE an
        earlier command left there fails a SORT ... STORE of good numbers; resp-kv stored. Clear
        errno (INCRBYFLOAT's parsing sets it to 0, on a scratch key deleted at once) and run the
        SORT on redis-server again, so the data stays comparable."""
        redis = self.conns[conn][0]
        for scratch in ([b"INCRBYFLOAT", ERRNO_SCRATCH, b"0"], [b"DEL", ERRNO_SCRATCH]):
            redis.call(scratch)
        return redis.call(cmd)

    def _follow(self, cmd: Command, conn: int, want: bytes) -> None:
        """Whether connection ``conn`` is inside MULTI, and what it queued, from redis-server's reply."""
        kind, queued = diffgen.name(cmd), self.queued[conn]
        if queued is None:
            if kind == b"MULTI" and want == b"+OK\r\n":
                self.queued[conn] = []
        elif kind == b"EXEC" or (kind == b"DISCARD" and len(cmd) == 1):
            self.queued[conn] = None  # (Redis 7.0 answers EXEC with extra arguments EXECABORT, and ends MULTI)
        elif want == b"+QUEUED\r\n":
            queued.append(cmd)

    def settle(self) -> None:
        """End a transaction a stream left open (DISCARD on both servers), on either connection."""
        for conn in (diffgen.A, diffgen.B):
            if self.queued[conn] is not None:
                self.step([b"DISCARD"], conn)

    def _randomkey(self, cmd: Command, want: bytes, got: bytes, conn: int) -> None:
        x, y = diffgen.parse(want), diffgen.parse(got)
        if isinstance(x, bytes) and isinstance(y, bytes):
            for server, key in zip(self.conns[conn], (x, y)):
                exists = server.call([b"EXISTS", key])
                if exists != b":1\r\n":
                    raise Mismatch(cmd, f"RANDOMKEY named {key!r}, but EXISTS answers {exists!r} on that server",
                                   want, got, conn)
        elif not (x is None and y is None) and want != got:
            raise Mismatch(cmd, "RANDOMKEY: nil on one server only, or different errors", want, got, conn)

    def _follow_spop(self, cmd: Command, want: bytes, got: bytes, conn: int) -> None:
        """SPOP picks at random: where the two servers popped different members (the replies are
        compared by shape), redis-server is made to hold what resp-kv holds (the popped members
        put back, resp-kv's removed)."""
        x, y = diffgen.parse(want), diffgen.parse(got)
        if isinstance(x, bytes) and isinstance(y, bytes):
            x, y = [x], [y]
        if isinstance(x, list) and isinstance(y, list) and sorted(x) != sorted(y):
            redis = self.conns[conn][0]
            if x:
                redis.call([b"SADD", cmd[1], *x])
            if y:
                redis.call([b"SREM", cmd[1], *y])

    def _scan(self, cmd: Command, conn: int) -> None:
        """A full iteration on each server from the given cursor: the same keys (or elements), as
        a set."""
        want, got = self.both(cmd, conn)
        x, y = diffgen.parse(want), diffgen.parse(got)
        if not (self._scan_page(x) and self._scan_page(y)):
            if want != got:
                raise Mismatch(cmd, "replies differ", want, got, conn)
            return
        found = []
        redis, kv = self.conns[conn]
        at = SCANS[diffgen.name(cmd)]  # where the cursor is
        pairs = diffgen.name(cmd) in (b"HSCAN", b"ZSCAN")
        for who, server, page in (("redis-server", redis, x), ("resp-kv", kv, y)):
            found_here, pages = set(), 1
            while True:
                items = page[1]
                found_here.update(zip(items[::2], items[1::2]) if pairs else items)
                if page[0] == b"0":
                    break
                if pages >= 10000:
                    raise Mismatch(cmd, f"{who}: SCAN's cursor never came back to 0 (10000 pages)", want, got,
                                   conn)
                reply = server.call([*cmd[:at], page[0], *cmd[at + 1:]])
                cursor, page = page[0], diffgen.parse(reply)
                if not self._scan_page(page):
                    raise Mismatch(cmd, f"{who}: SCAN {cursor!r} ... answered {reply[:200]!r}", want, got, conn)
                pages += 1
            found.append(found_here)
        if found[0] != found[1]:
            only_redis, only_kv = sorted(found[0] - found[1]), sorted(found[1] - found[0])
            raise Mismatch(cmd, f"{diffgen.name(cmd).decode()} found different elements: only redis-server "
                                f"{only_redis[:20]}, only resp-kv {only_kv[:20]}", want, got, conn)

    @staticmethod
    def _scan_page(value) -> bool:
        return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], bytes)
                and isinstance(value[1], list))

    def data_problems(self, limit: int = 20) -> list[str]:
        """How the two data sets differ, database by database (empty if they are the same)."""
        problems: list[str] = []
        try:
            self.settle()
        except Mismatch as m:
            return [f"ending an open transaction: {m.describe()}"]
        for db in range(DATABASES):
            try:
                self.step([b"SELECT", b"%d" % db])
                want, got = self.both([b"KEYS", b"*"])
                if diffgen.compare_keys(want, got):
                    x, y = diffgen.parse(want), diffgen.parse(got)
                    if isinstance(x, list) and isinstance(y, list):
                        problems.append(f"db {db}: keys only in redis-server {sorted(set(x) - set(y))}, "
                                        f"only in resp-kv {sorted(set(y) - set(x))}")
                    else:
                        problems.append(f"db {db}: KEYS * redis-server {want[:300]!r}, resp-kv {got[:300]!r}")
                    keys = sorted(set(x) & set(y)) if isinstance(x, list) and isinstance(y, list) else []
                else:
                    x = diffgen.parse(want)
                    keys = sorted(set(x)) if isinstance(x, list) else []
                for key in keys:
                    want, got = self.both([b"TYPE", key])
                    if want != got:
                        problems.append(f"db {db} key {key!r}: TYPE redis-server {want!r}, resp-kv {got!r}")
                        continue
                    read = VALUE_READS.get(want)
                    if read is None:
                        problems.append(f"db {db} key {key!r}: no value comparison for type {want!r} yet "
                                        "(add one to VALUE_READS)")
                    else:
                        self.step([*read[:1], key, *read[1:]])
                    self.step([b"PTTL", key])
                    if len(problems) >= limit:
                        return problems
            except Mismatch as m:
                problems.append(f"db {db}: {m.describe()}")
                if diffgen.name(m.cmd) == b"SELECT":
                    return problems  # whatever follows would read another database
            if len(problems) >= limit:
                break
        return problems


def run_stream(pair: Pair, seed: int, n: int, test: str = "replies") -> list[Step]:
    """Generate seed's stream and run it on both servers; fail at the first disagreement."""
    started = time.monotonic()
    steps = diffgen.generate(seed, n, int(time.time() * 1000))
    for i, (conn, cmd) in enumerate(steps):
        try:
            pair.step(cmd, conn)
        except Mismatch as m:
            first = max(0, i - 8)
            context = "\n".join(f"    [{j}] {CONN_NAMES[c]}: {show(cmd_, 150)}"
                                for j, (c, cmd_) in enumerate(steps[first:i], first))
            raise AssertionError(
                f"seed {seed}, RESP{pair.protocol}, command {i} of {len(steps)}: {m.describe()}\n"
                f"  the commands before it (A: the main connection, B: the second one):\n{context or '    (none)'}\n"
                f"  {replay_hint(seed, n, test, pair.protocol)}") from None
    elapsed = time.monotonic() - started
    assert elapsed < MAX_STREAM_SECONDS, (f"seed {seed} took {elapsed:.0f}s: over {MAX_STREAM_SECONDS}s its "
                                          "expiry times could race the clock")
    return steps


def check_data(pair: Pair, seed: int, n: int, when: str, test: str = "replies") -> None:
    problems = pair.data_problems()
    assert not problems, (f"seed {seed}, RESP{pair.protocol}, {when}: the data differs from redis-server's:\n  "
                          + "\n  ".join(problems) + f"\n  {replay_hint(seed, n, test, pair.protocol)}")


def check_backup(cluster: Cluster, seed: int, n: int, test: str = "replies") -> None:
    _, p, b = cluster.view()
    primary, backup = cluster.by_addr(p), cluster.by_addr(b)
    digests = []

    def same():
        digests[:] = [digest(primary), digest(backup)]
        return digests[0] == digests[1]

    try:
        wait_for(same, timeout=10, what="the backup's DEBUG DIGEST to equal the primary's")
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: primary {p} digest {digests[:1]}, backup {b} digest {digests[1:]}: "
                             f"{exc}\n  {replay_hint(seed, n, test)}") from None


def flushall(pair: Pair) -> None:
    """Both servers empty: data, scripts and functions (FLUSHALL leaves the last two)."""
    for cmd in ([b"FLUSHALL"], [b"SCRIPT", b"FLUSH"], [b"FUNCTION", b"FLUSH"]):
        want, got = pair.both(cmd)
        assert want == got == b"+OK\r\n", f"{show(cmd)}: redis-server {want!r}, resp-kv {got!r}"


def run_seed(oracle: Proc, cluster: Cluster, seed: int, protocol: int, n: int, test: str = "replies") -> None:
    """One seed, start to end: empty both, the stream, the data, the backup's copy."""
    primary = cluster.primary()
    try:
        pair = Pair(oracle.port, primary.port, protocol)
    except Mismatch as m:
        raise AssertionError(f"seed {seed}, RESP{protocol}: {m.describe()}") from None
    try:
        flushall(pair)
        run_stream(pair, seed, n, test)
        check_data(pair, seed, n, "after the stream", test)
    finally:
        pair.close()
    check_backup(cluster, seed, n, test)


@pytest.fixture(scope="module")
def shared():
    """One viewd and two pbd for the module's seeds (FLUSHALL between seeds)."""
    cluster = Cluster(servers=2, cwd=TREE)
    try:
        cluster.primary()
        wait_settled(cluster)
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.parametrize("protocol", [2, 3], ids=lambda p: f"resp{p}")
@pytest.mark.parametrize("seed", env_seeds(QUICK_SEEDS), ids=lambda s: f"seed{s}")
def test_same_replies_and_data_as_redis(oracle, shared, seed, protocol):
    run_seed(oracle, shared, seed, protocol, env_commands(QUICK_COMMANDS))


def failover_and_compare(oracle: Proc, c: Cluster, seed: int, n: int, test: str) -> None:
    """SIGKILL the primary; the promoted backup must serve redis-server's data."""
    wait_settled(c)
    _, p, b = c.view()
    assert b, "no backup to fail over to"
    old, heir = c.by_addr(p), c.by_addr(b)
    old.kill()
    c.wait_view(lambda n_, p_, b_: p_ == heir.addr, timeout=15, what=f"viewd to promote {heir.addr}")
    wait_role(heir, "primary", timeout=15)
    pair = Pair(oracle.port, heir.port, 2)
    try:
        check_data(pair, seed, n, "after the primary was killed and the backup promoted", test)
    finally:
        pair.close()


def test_the_promoted_backup_holds_redis_data(oracle, cluster):
    """A fresh cluster: a stream in RESP3, then a SIGKILL of the primary."""
    seed, n = env_seeds([PROMOTED_SEED])[0], env_commands(QUICK_COMMANDS)
    c = cluster(2, cwd=TREE)
    c.primary()
    wait_settled(c)
    run_seed(oracle, c, seed, 3, n, test="promoted")
    failover_and_compare(oracle, c, seed, n, test="promoted")


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_soak_same_replies_and_data_as_redis(oracle, cluster):
    """Many long seeds, both protocols; a failover after every 20 seeds (a fresh cluster each time)."""
    seeds, n = env_seeds(SOAK_SEEDS), env_commands(SOAK_COMMANDS)
    for start in range(0, len(seeds), 20):
        c = cluster(2, cwd=TREE)
        c.primary()
        wait_settled(c)
        for seed in seeds[start:start + 20]:
            for protocol in (2, 3):
                run_seed(oracle, c, seed, protocol, n, test="soak")
        failover_and_compare(oracle, c, seeds[min(start + 19, len(seeds) - 1)], n, test="soak")
        c.stop()


GETKEYS_CASES = [
    ["GET", "k"], ["MSET", "a", "1", "b", "2"], ["LMOVE", "a", "b", "LEFT", "RIGHT"], ["LMPOP", "2", "a", "b", "LEFT"],
    ["BLMPOP", "0", "2", "a", "b", "LEFT"], ["BLPOP", "a", "b", "0"], ["SINTERCARD", "1", "a", "LIMIT", "2"],
    ["ZUNIONSTORE", "d", "2", "a", "b"], ["ZINTER", "2", "a", "b", "WEIGHTS", "1", "2"], ["ZDIFFSTORE", "d", "1", "a"],
    ["ZUNIONSTORE", "d", "3", "a"], ["ZUNIONSTORE", "d", "x", "a"], ["LMPOP", "-1", "a", "LEFT"],
    ["SORT", "k", "BY", "w*", "STORE", "d"], ["SORT", "k", "GET", "x"], ["SORT_RO", "k"], ["SMOVE", "a", "b", "m"],
    ["SINTERSTORE", "d", "a", "b"], ["EVAL", "return 1", "0"], ["EVAL", "s", "2", "a", "b", "c"],
    ["EVAL", "s", "x", "a"], ["EVAL", "s", "2", "a"], ["FCALL_RO", "f", "1", "k"], ["EVALX", "x"], ["PING"], ["PING", "x"], ["GET"], ["GET", "a", "b"],
    ["EVAL", "s", "-1"], ["EVAL", "s", "01", "a"], ["ZUNIONSTORE", "d", "0", "a"], ["SET", "k", "v", "GET"],
    ["LCS", "a", "b"], ["SINTERCARD", "3", "a", "b"], ["ZMPOP", "2", "a", "b", "MIN"], ["BZMPOP", "1", "x", "a", "MIN"],
    ["WATCH", "a", "b"], ["SSUBSCRIBE", "a"], ["OBJECT", "ENCODING", "k"], ["OBJECT", "HELP"], ["DEL", "a", "b", "c"],
    ["GEORADIUS", "k", "0", "0", "1", "m", "STORE", "d", "STOREDIST", "e"], ["GEORADIUSBYMEMBER", "k", "m", "1", "m", "STORE"],
    ["SORT", "k", "LIMIT", "STORE", "x", "STORE"], ["SORT", "k", "get", "STORE", "STORE", "d"],
]


def split_subcommands(raw: bytes) -> tuple[bytes, list[bytes]]:
    """A container command's COMMAND INFO: everything but its subcommands, and those sorted."""
    (entry,) = diffgen.array_items(b"*" + raw[1:]) if raw[:1] == b"*" else (None,)
    fields = diffgen.array_items(entry)
    last = fields[-1]
    subcommands = diffgen.array_items(b"*" + last[1:])
    return b"".join(fields[:-1]) + last[:last.index(b"\r\n")], sorted(subcommands)


def test_the_command_table_and_key_positions_are_redis(oracle, shared):
    """COMMAND INFO of every command pbd serves that Redis has (arity, flags, key positions, ACL
    categories, tips, key specs, subcommands), byte for byte in RESP2 and RESP3; and COMMAND
    GETKEYS (movable keys included), as redis-server 7.0 answers them."""
    from resp_kv.commands import ADMIN_COMMANDS, CONNECTION_COMMANDS, DATA_COMMANDS, PUBSUB_COMMANDS, TRANSACTION_COMMANDS
    from resp_kv.store import Store

    served = [cmd for cmd in DATA_COMMANDS if hasattr(Store, cmd.method) and cmd.name != "PUTHASH"]
    served += CONNECTION_COMMANDS + TRANSACTION_COMMANDS + PUBSUB_COMMANDS + ADMIN_COMMANDS
    redis, kv = RawConn(oracle.port), RawConn(shared.primary().port)
    try:
        for protocol in (2, 3):
            for conn in (redis, kv):
                conn.call([b"HELLO", b"%d" % protocol])
            for cmd in served:
                info = [b"COMMAND", b"INFO", cmd.name.encode()]
                want, got = redis.call(info), kv.call(info)
                if cmd.subcommands():  # Redis lists them in its hash table's order: any order
                    want, got = (split_subcommands(raw) for raw in (want, got))
                assert want == got, f"COMMAND INFO {cmd.name} (RESP{protocol}):\n{want!r}\n{got!r}"
        for case in GETKEYS_CASES:
            request = [b"COMMAND", b"GETKEYS", *(w.encode() for w in case)]
            want, got = redis.call(request), kv.call(request)
            assert want == got, f"COMMAND GETKEYS {' '.join(case)}: redis-server {want!r}, resp-kv {got!r}"
    finally:
        redis.close()
        kv.close()


STATS_REQUESTS = [
    ["SET", "k", "1"], ["GET", "k"], ["GET", "k"], ["INCR", "k"], ["HSET", "k", "f", "v"], ["GET"], ["GET", "a", "b"],
    ["LPUSH", "l", "x"], ["LPOP", "l"], ["LPOP", "l", "x"], ["OBJECT", "ENCODING", "k"], ["OBJECT", "FOO"],
    ["CLIENT", "ID"], ["PING"], ["ECHO"], ["NOSUCH", "x"], ["MULTI"], ["SET", "m", "1"], ["INCR", "k"], ["EXEC"],
    ["EVAL", "return redis.call('GET', KEYS[1])", "1", "k"], ["SCRIPT", "FLUSH"], ["COMMAND", "COUNT"], ["COMMAND"],
]


def stats_lines(info: bytes) -> list[str]:
    """INFO commandstats and errorstats without timings (which no two servers share)."""
    lines = []
    for line in info.decode().split("\r\n"):
        if line.startswith("cmdstat_"):
            name, _, fields = line.partition(":")
            lines.append(name + ":" + ",".join(f for f in fields.split(",") if not f.startswith("usec")))
        elif line.startswith("errorstat_"):
            lines.append(line)
    return sorted(lines)


def test_command_and_error_statistics_count_as_redis(oracle, shared):
    """INFO commandstats (calls, rejected and failed calls, subcommands by name) and errorstats
    after the same requests as redis-server 7.0, timings aside."""
    redis, kv = RawConn(oracle.port), RawConn(shared.primary().port)
    try:
        for conn in (redis, kv):
            conn.call([b"FLUSHALL"])
            conn.call([b"CONFIG", b"RESETSTAT"])
            for request in STATS_REQUESTS:
                conn.call([w.encode() for w in request])
        info = [b"INFO", b"commandstats", b"errorstats"]
        want, got = (stats_lines(diffgen.parse(conn.call(info))) for conn in (redis, kv))
        assert want == got, "\n".join(f"{a:70} {b}" for a, b in itertools.zip_longest(want, got, fillvalue=""))
    finally:
        redis.close()
        kv.close()


SUBCOMMAND_CASES = [
    "CLIENT SETNAME", "CLIENT FOO", "CLIENT ID x", "CLIENT KILL", "CLIENT LIST x", "CLIENT SETINFO a", "CLIENT NO-EVICT",
    "CONFIG GET", "CONFIG FOO", "CONFIG SET a", "COMMAND FOO", "COMMAND COUNT x", "COMMAND GETKEYS", "OBJECT ENCODING",
    "OBJECT HELP x", "OBJECT foo k", "PUBSUB NUMPAT x", "PUBSUB foo", "SCRIPT LOAD", "SCRIPT exists", "FUNCTION x",
    "FUNCTION DUMP x", "COMMAND GETKEYS GET", "COMMAND GETKEYS", "MEMORY USAGE", "MEMORY USAGE nokey",
    "MEMORY USAGE nokey SAMPLES", "MEMORY USAGE nokey SAMPLES -1", "MEMORY USAGE nokey SAMPLES x", "MEMORY FOO",
    "MEMORY HELP", "OBJECT HELP", "PUBSUB HELP", "MULTI", "OBJECT ENCODING", "CONFIG GET", "SCRIPT FOO", "EXEC",
]


def test_subcommand_errors_are_redis(oracle, shared):
    """An unknown subcommand or one with the wrong number of arguments gets Redis's error, from
    any container command, also when queued in MULTI (which then aborts)."""
    redis, kv = RawConn(oracle.port), RawConn(shared.primary().port)
    try:
        for case in SUBCOMMAND_CASES:
            request = [w.encode() for w in case.split()]
            want, got = redis.call(request), kv.call(request)
            assert want == got, f"{case}: redis-server {want!r}, resp-kv {got!r}"
    finally:
        redis.close()
        kv.close()
