"""The real Redis tools against a real lone pbd: redis-cli and redis-benchmark."""

import re
import subprocess

import pytest

from procs import Cluster


@pytest.fixture(scope="module")
def server():
    cluster = Cluster(servers=1)
    primary = cluster.primary()
    yield primary
    cluster.stop()


def cli(server, *args, stdin=None, resp3=False):
    cmd = ["redis-cli", "-p", str(server.port)] + (["-3"] if resp3 else []) + list(args)
    done = subprocess.run(cmd, input=stdin, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_redis_cli_one_shot_commands(server, resp3):
    assert cli(server, "SET", "cli-key", "cli value", resp3=resp3) == "OK\n"
    assert cli(server, "GET", "cli-key", resp3=resp3) == "cli value\n"
    assert cli(server, "--raw", "PUTHASH", "cli-key", "x", resp3=resp3) == "cli value\n"
    assert cli(server, "--raw", "GET", "nothing-here", resp3=resp3) == ("\n" if not resp3 else "\n")
    assert cli(server, "PING", resp3=resp3) == "PONG\n"
    assert "role:master" in cli(server, "INFO", "replication", resp3=resp3)


def test_redis_cli_commands_piped_on_stdin(server):
    script = "".join(f"SET piped:{i} {i}\n" for i in range(500)) + "GET piped:499\nDBSIZE\n"
    out = cli(server, stdin=script.encode()).splitlines()
    assert out[:500] == ["OK"] * 500
    assert out[500] == "499"
    assert int(out[501]) >= 500


def test_redis_cli_pipe_mode_mass_insert(server):
    proto = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nmass:%d\r\n$1\r\nv\r\n" % (len(b"mass:%d" % i), i) for i in range(5000))
    out = cli(server, "--pipe", stdin=proto)
    assert "errors: 0, replies: 5000" in out


@pytest.mark.parametrize("pipeline", [1, 16])
def test_redis_benchmark_runs_every_test_without_errors(server, pipeline):
    cli(server, "DEL", "counter:__rand_int__")
    done = subprocess.run(
        ["redis-benchmark", "-p", str(server.port), "-t", "set,get,ping,incr,mset", "-q", "-n", "5000",
         "-c", "20", "-P", str(pipeline)], capture_output=True, timeout=120)
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    # -q prints progress lines ended by \r, then one final line per test
    lines = re.split(r"[\r\n]+", out)
    rows = dict(re.findall(r"^([A-Z_]+(?: \(10 keys\))?): ([\d.]+) requests per second", "\n".join(lines), re.M))
    assert set(rows) == {"PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"}, out
    assert all(float(rps) > 0 for rps in rows.values())
    assert "ERR" not in out + done.stderr.decode()
    # the benchmark's writes really landed
    assert cli(server, "GET", "key:__rand_int__") == "VXK\n"
    assert int(cli(server, "GET", "counter:__rand_int__")) >= 5000  # -P rounds up to whole pipelines


def test_redis_cli_finds_the_biggest_keys_and_reads_the_stats_its_stat_mode_shows(server):
    cli(server, "SET", "tools:big", "x" * 5000)
    cli(server, "RPUSH", "tools:list", *(["item"] * 300))
    for mode in ("--bigkeys", "--memkeys"):
        out = cli(server, mode)
        assert "Biggest string found '\"" in out and "Biggest   list found '\"tools:list\"'" in out, out
    assert re.search(r"Biggest string found '\"tools:big\"' has \d+ bytes", cli(server, "--memkeys"))
    info = cli(server, "INFO")
    for field in ("used_memory", "connected_clients", "blocked_clients", "total_commands_processed",
                  "total_connections_received"):  # what redis-cli --stat prints, each a number
        assert re.search(rf"^{field}:\d+\r$", info, re.M), field
