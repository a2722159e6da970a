"""pbd as a process: flags, exit codes, restarts."""

import socket
import subprocess
import sys

import pytest
import redis

from procs import Cluster, pbd_proc, wait_for


def run_pbd(*args, timeout=10):
    return subprocess.run([sys.executable, "-m", "resp_kv", *args], capture_output=True, timeout=timeout, text=True)


@pytest.mark.parametrize("args, message", [
    (["--viewd", "nocolon"], "malformed --viewd address"),
    (["--viewd", "127.0.0.1:99999"], "malformed --viewd address"),
    (["--viewd", "127.0.0.1:26379", "--port", "http"], "--port"),
    (["--viewd", "127.0.0.1:26379", "--bogus"], "unrecognized arguments: --bogus"),
    ([], "--viewd"),
    (["--viewd", "127.0.0.1:26379", "--bind", "0.0.0.0"], "needs --advertise"),
])
def test_bad_command_lines_fail_with_one_clear_line(args, message):
    done = run_pbd(*args)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert message in last and "Traceback" not in done.stderr


def test_port_in_use_fails_with_one_clear_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_pbd("--viewd", "127.0.0.1:1", "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"pbd: error: cannot listen on 127.0.0.1:{port}: address already in use"
    assert "Traceback" not in done.stderr


def test_environment_supplies_settings_and_flags_win():
    done = subprocess.run([sys.executable, "-m", "resp_kv", "--port", "http"], capture_output=True, text=True,
                          env={"RESP_KV_VIEWD": "127.0.0.1:1", "PATH": "/usr/bin:/bin"}, timeout=10)
    assert "--port" in done.stderr.splitlines()[-1]  # got past --viewd: the environment had it


def test_sigterm_exits_zero_after_closing_the_listener(procs, viewd):
    server = procs.add(pbd_proc(viewd.addr))
    assert server.terminate() == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_restarted_lone_primary_never_serves_from_its_empty_store():
    cluster = Cluster(servers=1)
    try:
        primary = cluster.primary()
        primary.client().set("precious", "data")
        port = primary.port
        primary.kill()
        restarted = cluster.add_server(port)  # same port, same id, within the dead time
        client = restarted.client()
        wait_for(lambda: cluster.view()[1] == restarted.addr, what="viewd to still name it")
        # It pings 0 and refuses data commands, again and again: a value would be a lie.
        for _ in range(20):
            with pytest.raises(redis.exceptions.ReadOnlyError):
                client.get("precious")
        assert client.info("replication")["pb_role"] == "restarted"
    finally:
        cluster.stop()


def test_sigterm_on_a_primary_finishes_in_flight_writes_and_the_backup_takes_over():
    import resp_kv
    from procs import settled

    cluster = Cluster(servers=2)
    try:
        primary = cluster.primary()
        wait_for(lambda: settled(cluster), 15, what="a settled view")
        kv = resp_kv.Client(cluster.viewd.addr, timeout=30)
        for i in range(200):
            kv.set(f"graceful{i}", i)
        assert primary.terminate(timeout=5) == 0
        cluster.wait_view(lambda n, p, b: p and p != primary.addr, what="the backup to take over")
        assert kv.mget([f"graceful{i}" for i in range(200)]) == [str(i).encode() for i in range(200)]
    finally:
        cluster.stop()
