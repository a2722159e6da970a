"""Real processes on loopback for the tests: viewd and pbd as subprocesses, free ports, and
polling with a deadline (never a sleep that hopes)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = Path(os.environ.get("RESP_KV_TEST_LOGS", "/tmp/resp-kv-test-logs"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - polled conditions may fail until ready
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_exc!r})")


def poke(port: int, data: bytes, linger: float) -> None:
    """Send ``data`` on a fresh connection, read for at most ``linger`` seconds, and go, whatever
    happens: what a fuzzing or careless client does."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(data)
            sock.settimeout(linger)
            try:
                sock.recv(65536)
            except OSError:
                pass
    except OSError:
        pass


@dataclass
class Proc:
    """A running resp-kv program."""

    args: list[str]
    port: int
    name: str
    popen: subprocess.Popen | None = None
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def addr(self) -> str:
        """The address viewd knows it by (its --advertise, if it has one)."""
        return self.extra.get("advertise", f"127.0.0.1:{self.port}")

    def start(self) -> "Proc":
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}-{self.port}.log"
        log = open(self.log_path, "ab")
        if self.popen is None:  # log() reads from here: the file may hold another run's lines (ports recur)
            self.extra["log_from"] = log.tell()
        # python -m puts the cwd first on sys.path: extra["cwd"] runs another tree's code.
        self.popen = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=self.extra.get("cwd", ROOT))
        log.close()
        wait_for(self._listening, timeout=15, what=f"{self.name} listening on {self.port}")
        return self

    def _listening(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log(self) -> str:
        """What this process (and its restarts under this object) logged."""
        if not self.log_path:
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(self.extra.get("log_from", 0))
            return f.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def terminate(self, timeout: float = 10) -> int:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            return self.popen.wait(timeout)
        return self.popen.returncode if self.popen else 0

    def alive(self) -> bool:
        return bool(self.popen) and self.popen.poll() is None

    def client(self, **kwargs) -> redis.Redis:
        """A redis-py client of this process (with its client password, if it has one)."""
        kwargs.setdefault("socket_timeout", 5)
        if "password" in self.extra:
            kwargs.setdefault("password", self.extra["password"])
        if "tls" in self.extra:
            for key, value in self.extra["tls"].client_kwargs().items():
                kwargs.setdefault(key, value)
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)


def python_module(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def viewd_proc(port: int | None = None, *extra: str, cwd: Path | str | None = None) -> Proc:
    """``cwd``: a source tree to run viewd from (by default this one)."""
    port = port or free_port()
    proc = Proc(python_module("viewd") + ["--port", str(port), *extra], port, "viewd")
    if cwd is not None:
        proc.extra["cwd"] = cwd
    return proc


def pbd_proc(viewd_addr: str, port: int | None = None, *extra: str, cwd: Path | str | None = None) -> Proc:
    """``cwd``: a source tree to run pbd from (by default this one)."""
    port = port or free_port()
    proc = Proc(python_module("resp_kv") + ["--viewd", viewd_addr, "--port", str(port), *extra], port, "pbd")
    if cwd is not None:
        proc.extra["cwd"] = cwd
    return proc


def role(proc: Proc) -> str:
    """What the server says it is: 'primary', 'backup', 'idle', 'fenced' or 'restarted'."""
    info = proc.client(socket_timeout=2).info("replication")
    return info["pb_role"]


def wait_role(proc: Proc, wanted: str, timeout: float = 10.0) -> None:
    wait_for(lambda: role(proc) == wanted, timeout, what=f"{proc.addr} to be {wanted}")


class Cluster:
    """viewd and some pbd servers, started together and killed together.

    A server added with ``proxied=True`` advertises a fault proxy in front of its port, so
    clients and the primary's forwards both cross it; ``viewd_proxy=True`` puts another one
    between that server and viewd. Proxies outlive restarts of their server (same port).
    ``cwd``: run viewd and pbd from another source tree (another revision), not this one.
    """

    def __init__(self, servers: int = 1, ping_interval: float = 0.1, pbd_args=(), cwd: Path | str | None = None,
                 secret: str | None = "", password: str | None = None, viewd_args=(), tls=None,
                 **server_kwargs):
        self.ping_interval = ping_interval
        # Every process proves a cluster secret (a fresh one unless given; None: the open channel).
        self.secret = secrets.token_hex(16) if secret == "" else secret
        self.password = password  # --requirepass of every process
        security = ["--cluster-secret", self.secret] if self.secret else []
        security += ["--requirepass", password] if password else []
        self.tls = tls  # tlsfiles.TLSFiles: every process serves and connects over TLS
        security += tls.server_args() if tls else []
        self.pbd_args = [*security, *pbd_args]
        self.cwd = cwd
        self.viewd = self._for_clients(viewd_proc(None, "--ping-interval", str(ping_interval), *security,
                                                    *viewd_args, cwd=cwd)).start()
        self.servers: list[Proc] = []
        self.proxies: dict[int, object] = {}  # server port -> FaultProxy at its advertised address
        self.viewd_proxies: dict[int, object] = {}  # server port -> FaultProxy on its way to viewd
        for _ in range(servers):
            self.add_server(**server_kwargs)

    def add_server(self, port: int | None = None, proxied: bool = False, viewd_proxy: bool = False) -> Proc:
        from faults import FaultProxy

        port = port or free_port()
        extra = ["--ping-interval", str(self.ping_interval), *self.pbd_args]
        viewd_addr = self.viewd.addr
        if proxied or port in self.proxies:
            if port not in self.proxies:
                self.proxies[port] = FaultProxy(0, "127.0.0.1", port, seed=port, resp=not self.tls).start()
            extra += ["--advertise", self.proxies[port].addr]
        if viewd_proxy or port in self.viewd_proxies:
            if port not in self.viewd_proxies:
                self.viewd_proxies[port] = FaultProxy(0, "127.0.0.1", self.viewd.port, seed=port + 1,
                                                      resp=not self.tls).start()  # TLS cannot be framed
            viewd_addr = self.viewd_proxies[port].addr
        proc = self._for_clients(pbd_proc(viewd_addr, port, *extra, cwd=self.cwd))
        if port in self.proxies:
            proc.extra["advertise"] = self.proxies[port].addr
        self.servers.append(proc.start())
        return proc

    def client_options(self) -> dict:
        """What a client of this cluster passes redis-py or the smart client (password, TLS)."""
        options = {"password": self.password} if self.password else {}
        return {**options, **(self.tls.client_kwargs() if self.tls else {})}

    def _for_clients(self, proc: Proc) -> Proc:
        """The process, with what its clients need to know (the password, the TLS files)."""
        if self.password:
            proc.extra["password"] = self.password
        if self.tls:
            proc.extra["tls"] = self.tls
        return proc

    def restart(self, proc: Proc) -> Proc:
        """SIGKILL a server and start a new, empty one on the same port (and proxies)."""
        proc.kill()
        self.servers.remove(proc)
        return self.add_server(proc.port)

    def view(self) -> tuple[int, str, str]:
        n, p, b = self.viewd.client().execute_command("VIEW.GET")
        return int(n), p.decode(), b.decode()

    def by_addr(self, addr: str) -> Proc:
        return next(s for s in self.servers if s.addr == addr and s.alive())

    def wait_view(self, predicate, timeout: float = 10.0, what: str = "view"):
        return wait_for(lambda: (v := self.view()) and predicate(*v) and v, timeout, what=what)

    def primary(self) -> Proc:
        """The serving primary once viewd names one and it answers as primary."""
        _, p, _ = self.wait_view(lambda n, p, b: bool(p), what="a primary")
        proc = self.by_addr(p)
        wait_role(proc, "primary")
        return proc

    def stop(self) -> None:
        for proc in self.servers + [self.viewd]:
            proc.kill()
        for proxy in list(self.proxies.values()) + list(self.viewd_proxies.values()):
            proxy.stop()


def digest(proc: Proc) -> str:
    """A fingerprint of the server's data, whatever its role."""
    reply = proc.client().execute_command("DEBUG", "DIGEST")
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def settled(cluster: "Cluster") -> bool:
    """The primary acknowledged the current view, and its backup (if any) holds the full state.

    Killing a primary before that is the seed's known deadlock, which failure tests avoid."""
    viewnum, primary, backup = cluster.view()
    if not primary:
        return False
    try:
        info = cluster.by_addr(primary).client(socket_timeout=1).info("replication")
    except Exception:  # noqa: BLE001 - not reachable: not settled
        return False
    return info["acknowledged_view"] == viewnum and (not backup or info["backup_in_sync"] == "yes")


def wait_settled(cluster: "Cluster", timeout: float = 30) -> None:
    wait_for(lambda: settled(cluster), timeout, what="the view to settle (acknowledged, backup in sync)")
