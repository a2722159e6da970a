"""The container image and compose.yaml, built and run for real with podman (or docker).

* ``test_image``: the image is small, runs as a non-root user, holds all three programs and
  no compiler, and its HEALTHCHECK passes for viewd and for pbd (whatever their port).
* ``test_failover_in_containers``: viewd and three pbd, each in its own container on the
  host's network (``--network host``, distinct free loopback ports, ``--advertise
  127.0.0.1:PORT``: the simplest setup that works reliably here). redis-py's stock Sentinel
  client pointed at viewd writes and reads 200 keys; the primary's container is SIGKILLed
  (``kill``); the backup takes over, every acknowledged write is still there, the third server
  becomes the new backup with the same data, and the failover time (kill -> first successful
  write through the Sentinel client) is printed. Then ``stop`` of each container must take
  under 2 s and end with exit code 0 (SIGTERM reaches the program as PID 1).
* ``test_compose_cluster``: neither PyYAML nor ``podman compose``/``podman-compose`` is
  installed here, so the test reads compose.yaml with the small YAML-subset reader below (and
  checks it against PyYAML when that happens to be importable), derives the equivalent
  ``run`` commands from its services (private network with the service names as DNS aliases,
  environment, command, ports, ``depends_on`` order and health conditions) and starts them.
  The host ports are remapped to free ports so the test does not collide with a cluster
  already running on 6379/26379. It then checks that the cluster is replicated (pbd1 primary,
  pbd2 backup), that a SET/GET through the published port of pbd1 works, that pbd2's port
  refuses writes, and that ``pbc`` on the network reaches the cluster through viewd.

Every container, network and image gets a unique name (random suffix) and is removed at the
end, also on failure; container logs are kept in $RESP_KV_TEST_LOGS (/tmp/resp-kv-test-logs).
The image is built with ``--layers=false``, so no intermediate image is left behind either.
The tests are skipped only when neither podman nor docker with a reachable engine is present
(set RESP_KV_REQUIRE_CONTAINERS=1 to make that a failure instead, as CI does);
RESP_KV_CONTAINER_ENGINE=docker picks docker even where podman exists.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time

import pytest
import redis
from redis.sentinel import Sentinel

from procs import LOG_DIR, ROOT, free_port, wait_for

pytestmark = [pytest.mark.container, pytest.mark.timeout(420)]

SUFFIX = secrets.token_hex(4)
PREFIX = f"rkv-test-{SUFFIX}"
MAX_ADDED_MB = 60  # what the image adds to python:3.11-slim (about 22 MB: venv with uvloop, redis-py, hiredis)
MAX_IMAGE_MB = 400  # the whole image (the local stand-in base alone is ~200 MB, the real one ~130 MB)
STOP_LIMIT = 2.0  # seconds a `stop` may take (a program ignoring SIGTERM would take the 10 s kill)
FAILOVER_LIMIT = 10.0


# ---------------------------------------------------------------------------- the engine


class Engine:
    """The container CLI (podman, or docker with a reachable engine); every call is bounded."""

    def __init__(self, cli: str):
        self.cli = cli
        self.podman = os.path.basename(cli) == "podman"

    def run(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [self.cli, *args]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{shlex.join(cmd)} took more than {timeout}s") from exc
        if check and done.returncode != 0:
            raise AssertionError(f"{shlex.join(cmd)} exited {done.returncode}:\n{done.stdout}\n{_quiet(done.stderr)}")
        return done

    def inspect(self, kind: str, name: str) -> dict:
        return json.loads(self.run(kind, "inspect", name).stdout)[0]

    def running(self, name: str) -> bool:
        done = self.run("inspect", "--format", "{{.State.Running}}", name, check=False)
        return done.returncode == 0 and done.stdout.strip() == "true"

    def exit_code(self, name: str) -> int:
        return int(self.run("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip())

    def healthy(self, name: str) -> bool:
        """Runs the image's HEALTHCHECK now (podman, whose timers need systemd) or reads the
        status the engine keeps (docker)."""
        if self.podman:
            return self.run("healthcheck", "run", name, check=False, timeout=20).returncode == 0
        done = self.run("inspect", "--format", "{{.State.Health.Status}}", name, check=False)
        return done.stdout.strip() == "healthy"

    def logs(self, name: str) -> str:
        done = self.run("logs", name, check=False, timeout=20)
        return done.stdout + done.stderr


def _quiet(stderr: str) -> str:
    """podman without systemd complains on every run that it cannot schedule health checks."""
    return "\n".join(line for line in stderr.splitlines() if "systemd" not in line)


def find_engine() -> tuple[Engine | None, str]:
    tried = []
    wanted = os.environ.get("RESP_KV_CONTAINER_ENGINE")  # podman or docker; default: podman first
    for cli in [wanted] if wanted else ["podman", "docker"]:
        path = shutil.which(cli)
        if path is None:
            tried.append(f"{cli}: not installed")
            continue
        try:
            done = subprocess.run([path, "info"], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            tried.append(f"{cli}: `{cli} info` hung")
            continue
        if done.returncode == 0:
            return Engine(path), ""
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        tried.append(f"{cli}: `{cli} info` failed ({last})")
    return None, "; ".join(tried)


class Resources:
    """Containers and networks made by one test: removed (logs kept) at the end, whatever happens."""

    def __init__(self, engine: Engine, test: str):
        self.engine = engine
        self.test = test
        self.containers: list[str] = []
        self.networks: list[str] = []

    def container(self, role: str, image: str, *args: str, run_args: tuple[str, ...] = ()) -> str:
        name = f"{PREFIX}-{self.test}-{role}"
        self.containers.append(name)
        self.engine.run("run", "-d", "--name", name, *run_args, image, *args, timeout=60)
        return name

    def network(self, label: str) -> str:
        name = f"{PREFIX}-{label}"
        self.networks.append(name)
        self.engine.run("network", "create", name)
        return name

    def cleanup(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for name in reversed(self.containers):
            try:
                (LOG_DIR / f"container-{name}.log").write_text(self.engine.logs(name))
            except Exception:  # noqa: BLE001 - the logs are a convenience; removal must go on
                pass
            force = ["-f", "-t", "0"] if self.engine.podman else ["-f"]
            self.engine.run("rm", *force, name, check=False, timeout=60)
        for name in reversed(self.networks):
            self.engine.run("network", "rm", name, check=False, timeout=60)


@pytest.fixture(scope="module")
def engine() -> Engine:
    found, why = find_engine()
    if found is None:
        reason = f"no container engine ({why}); run /work/shared/tools/container-base as root to get podman"
        if os.environ.get("RESP_KV_REQUIRE_CONTAINERS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def image(engine: Engine):
    """The image, built from the repository's Dockerfile under a unique tag; removed at the end."""
    tag = f"localhost/resp-kv-test:{SUFFIX}"
    if engine.podman:
        # docker format: the OCI format has no HEALTHCHECK. No layer cache: nothing is left behind.
        args = ["build", "--pull=never", "--format", "docker", "--layers=false", "-t", tag, str(ROOT)]
    else:
        args = ["build", "-t", tag, str(ROOT)]
    started = time.monotonic()
    try:
        engine.run(*args, timeout=600)
        print()
        report(f"built {tag} in {time.monotonic() - started:.1f}s")
        yield tag
    finally:
        engine.run("rmi", tag, check=False, timeout=120)


@pytest.fixture
def resources(engine: Engine, request):
    made = Resources(engine, request.node.name.removeprefix("test_").split("_")[0])
    try:
        yield made
    finally:
        made.cleanup()


# ---------------------------------------------------------------------------- helpers


def ping(port: int, timeout: float = 1.0) -> bool:
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=timeout, socket_connect_timeout=timeout) as r:
        return r.ping()


def view(viewd_port: int) -> tuple[int, str, str]:
    with redis.Redis(host="127.0.0.1", port=viewd_port, socket_timeout=2) as r:
        n, p, b = r.execute_command("VIEW.GET")
    return int(n), p.decode(), b.decode()


def replication(port: int) -> dict:
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=2) as r:
        return r.info("replication")


def settled(viewd_port: int, port_of: dict[str, int]) -> tuple[int, str, str] | None:
    """The view, once its primary acknowledged it and its backup (if any) holds the full state."""
    n, primary, backup = view(viewd_port)
    if not primary or primary not in port_of:
        return None
    info = replication(port_of[primary])
    if info["acknowledged_view"] != n or (backup and info["backup_in_sync"] != "yes"):
        return None
    return n, primary, backup


def digest(port: int) -> str:
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=5) as r:
        reply = r.execute_command("DEBUG", "DIGEST")
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def wait_serving(engine: Engine, name: str, port: int, timeout: float = 30) -> None:
    def up() -> bool:
        if not engine.running(name):
            raise AssertionError(f"container {name} is not running:\n{engine.logs(name)}")
        return ping(port)

    wait_for(up, timeout, interval=0.05, what=f"{name} answering PING on 127.0.0.1:{port}")


def report(line: str) -> None:
    """A measurement: printed (``pytest -s`` shows it) and kept in $RESP_KV_TEST_LOGS."""
    print(f"[container] {line}")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "container-metrics.log", "a") as out:
        out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {SUFFIX} {line}\n")


def timed_stop(engine: Engine, name: str) -> float:
    started = time.monotonic()
    engine.run("stop", "-t", "10", name, timeout=30)
    took = time.monotonic() - started
    code = engine.exit_code(name)
    report(f"stop {name}: {took:.2f}s, exit code {code}")
    assert code == 0, f"{name} exited {code} on SIGTERM:\n{engine.logs(name)}"
    assert took < STOP_LIMIT, f"stopping {name} took {took:.2f}s (the programs must exit promptly on SIGTERM)"
    return took


# ---------------------------------------------------------------------------- the image


def test_image(engine: Engine, image: str, resources: Resources):
    info = engine.inspect("image", image)
    size = info["Size"]
    base = engine.inspect("image", "docker.io/library/python:3.11-slim")["Size"] if engine.podman else 0
    report(f"image size {size / 1e6:.1f} MB"
           + (f" (base python:3.11-slim {base / 1e6:.1f} MB, added {(size - base) / 1e6:.1f} MB)" if base else ""))
    assert size < MAX_IMAGE_MB * 1e6
    if base:
        assert size - base < MAX_ADDED_MB * 1e6, "the image adds more than it should to its base"

    config = info["Config"]
    assert config.get("User") not in (None, "", "0", "root", "0:0"), "the image must not run as root"
    assert config.get("Cmd") == ["pbd"] and not config.get("Entrypoint")
    assert {"6379/tcp", "26379/tcp"} <= set(config.get("ExposedPorts") or {})
    health = config.get("Healthcheck") or info.get("Healthcheck") or {}  # docker: Config; podman: top level
    assert health.get("Test"), "the image has no HEALTHCHECK (podman: build with --format docker)"

    probe = engine.run(
        "run", "--rm", image, "sh", "-c",
        "id -u; for c in gcc cc g++ make; do command -v $c && exit 9; done; "
        "viewd --help >/dev/null && pbd --help >/dev/null && pbc --help >/dev/null && echo programs-ok",
        timeout=60)
    uid, programs = probe.stdout.split()
    assert uid != "0" and programs == "programs-ok"

    # The HEALTHCHECK finds viewd and pbd on their default ports and on any other port.
    viewd_port, pbd_port = free_port(), free_port()
    host = ("--network", "host")
    # viewd's port and address on its command line, pbd's in its environment.
    vd = resources.container("viewd", image, "viewd", "--bind", "127.0.0.1", "--port", str(viewd_port),
                             run_args=host)
    pb = resources.container("pbd", image, run_args=(*host, "-e", "RESP_KV_BIND=127.0.0.1",
                                                     "-e", f"RESP_KV_PORT={pbd_port}",
                                                     "-e", f"RESP_KV_VIEWD=127.0.0.1:{viewd_port}"))
    wait_serving(engine, vd, viewd_port)
    wait_serving(engine, pb, pbd_port)
    assert engine.healthy(vd) and engine.healthy(pb)
    # With the image's defaults (listening on 0.0.0.0), a secret is required (protected mode) ...
    bare = resources.container("bare", image, "viewd", run_args=("--network", "none"))
    wait_for(lambda: not engine.running(bare), 30, interval=0.2, what="viewd without a secret to refuse to start")
    assert engine.exit_code(bare) == 2
    assert "needs --cluster-secret" in engine.logs(bare).strip().splitlines()[-1]
    # ... and with one, it serves on its default port.
    inner = resources.container("defaults", image, "viewd",
                                run_args=("--network", "none", "-e", f"RESP_KV_CLUSTER_SECRET={CLUSTER_SECRET}"))
    wait_for(lambda: engine.healthy(inner), 30, interval=0.2, what="viewd on 26379 in its own network healthy")


# ---------------------------------------------------------------------------- failover


def test_failover_in_containers(engine: Engine, image: str, resources: Resources):
    host = ("--network", "host")
    viewd_port = free_port()
    ports = []
    while len(ports) < 3:
        port = free_port()
        if port != viewd_port and port not in ports:
            ports.append(port)
    addr = {port: f"127.0.0.1:{port}" for port in ports}
    port_of = {a: p for p, a in addr.items()}

    # The secret comes in the environment, as it would in production (not on the command line).
    host = (*host, "-e", f"RESP_KV_CLUSTER_SECRET={CLUSTER_SECRET}")
    vd = resources.container("viewd", image, "viewd", "--bind", "127.0.0.1", "--port", str(viewd_port),
                             run_args=host)
    wait_serving(engine, vd, viewd_port)
    names = {}

    def start_pbd(port: int) -> str:
        names[port] = resources.container(
            f"pbd{len(names) + 1}", image, "pbd", "--bind", "127.0.0.1", "--port", str(port),
            "--viewd", f"127.0.0.1:{viewd_port}", "--advertise", addr[port], run_args=host)
        wait_serving(engine, names[port], port)
        return names[port]

    a, b, c = ports
    start_pbd(a)
    wait_for(lambda: view(viewd_port)[1] == addr[a], 15, what="the first pbd to become primary")
    start_pbd(b)
    wait_for(lambda: (v := settled(viewd_port, port_of)) and v[2] == addr[b], 20,
             what="the second pbd to become the backup, in sync")
    start_pbd(c)
    wait_for(lambda: replication(c)["pb_role"] == "idle", 15, what="the third pbd to be idle")

    sentinel = Sentinel([("127.0.0.1", viewd_port)], socket_timeout=2)
    primary = sentinel.master_for("resp-kv")
    acknowledged = {}
    for i in range(200):
        key, value = f"key:{i}", f"value:{i}:{SUFFIX}"
        assert primary.set(key, value) is True
        acknowledged[key] = value.encode()
    assert primary.mget(list(acknowledged)) == list(acknowledged.values())
    assert primary.connection_pool.get_master_address() == ("127.0.0.1", a)

    before = settled(viewd_port, port_of)
    assert before and before[1:] == (addr[a], addr[b]), f"not settled before the kill: {view(viewd_port)}"
    # Right after the last acknowledged write: SIGKILL the primary's container.
    killed_at = time.monotonic()
    engine.run("kill", names[a], timeout=30)
    kill_cmd = time.monotonic() - killed_at
    assert not engine.running(names[a])

    def write_succeeds() -> bool:
        try:
            return primary.set("after-failover", SUFFIX) is True
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            return False  # refused, READONLY, no primary yet: the Sentinel client re-resolves

    wait_for(write_succeeds, FAILOVER_LIMIT, interval=0.01, what="a write through the Sentinel client after the kill")
    failover = time.monotonic() - killed_at
    acknowledged["after-failover"] = SUFFIX.encode()
    report(f"failover time (SIGKILL of the primary's container -> first successful write "
            f"through redis-py's Sentinel client): {failover:.3f}s (of which `{os.path.basename(engine.cli)} "
            f"kill` itself {kill_cmd:.3f}s)")
    assert failover < FAILOVER_LIMIT

    after = wait_for(lambda: (v := settled(viewd_port, port_of)) and v[1:] == (addr[b], addr[c]) and v, 20,
                     what="the backup to be primary and the third server its backup, in sync")
    assert after[0] > before[0]
    assert primary.connection_pool.get_master_address() == ("127.0.0.1", b)
    keys = list(acknowledged)
    assert primary.mget(keys) == [acknowledged[k] for k in keys], "an acknowledged write was lost"
    assert primary.dbsize() == len(acknowledged)
    assert digest(b) == digest(c), "the new backup does not hold the primary's data"

    # pbc, from the image, through viewd.
    got = engine.run("run", "--rm", *host, image, "pbc", f"127.0.0.1:{viewd_port}", "key:7", timeout=60)
    assert got.stdout.strip() == acknowledged["key:7"].decode()

    primary.close()
    for client in sentinel.sentinels:
        client.close()
    # SIGTERM: each container stops promptly with exit code 0 (backup, primary, then viewd).
    for name in (names[c], names[b], vd):
        timed_stop(engine, name)


# ---------------------------------------------------------------------------- compose.yaml


class YAMLSubsetError(ValueError):
    pass


def load_yaml_subset(text: str):
    """Block mappings and sequences, quoted and plain scalars, ``[a, b]`` and ``{}`` flows, and
    comments: enough for compose.yaml, and loud about anything else (anchors, multi-line
    strings, tabs), so that a change to the file outgrowing this reader fails clearly."""
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        body = _strip_comment(raw).rstrip()
        if not body.strip():
            continue
        indent = len(body) - len(body.lstrip(" "))
        if body[indent] == "\t":
            raise YAMLSubsetError(f"line {number}: tab indentation")
        lines.append((indent, body.strip(), number))
    if not lines:
        return None
    value, end = _block(lines, 0, lines[0][0])
    if end != len(lines):
        raise YAMLSubsetError(f"line {lines[end][2]}: unexpected indentation")
    return value


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _block(lines, i, indent):
    if lines[i][1] == "-" or lines[i][1].startswith("- "):
        items = []
        while i < len(lines) and lines[i][0] == indent and (lines[i][1] == "-" or lines[i][1].startswith("- ")):
            rest = lines[i][1][1:].strip()
            if not rest or re.match(r"^[^'\"\[{][^:]*:(\s|$)", rest):
                raise YAMLSubsetError(f"line {lines[i][2]}: only scalars are supported as sequence items")
            items.append(_scalar(rest, lines[i][2]))
            i += 1
        return items, i
    mapping = {}
    while i < len(lines) and lines[i][0] == indent:
        _, content, number = lines[i]
        match = re.match(r"^([A-Za-z0-9_.\-]+):(?:\s+(.*))?$", content)
        if not match:
            raise YAMLSubsetError(f"line {number}: expected 'key: value', got {content!r}")
        key, rest = match.group(1), match.group(2)
        if key in mapping:
            raise YAMLSubsetError(f"line {number}: duplicate key {key!r}")
        i += 1
        if rest:
            mapping[key] = _scalar(rest, number)
        elif i < len(lines) and lines[i][0] > indent:
            mapping[key], i = _block(lines, i, lines[i][0])
        else:
            mapping[key] = None
    if i < len(lines) and lines[i][0] > indent:
        raise YAMLSubsetError(f"line {lines[i][2]}: unexpected indentation")
    return mapping, i


def _scalar(text: str, number: int):
    if text[0] in "&*|>!%@`":
        raise YAMLSubsetError(f"line {number}: unsupported YAML {text!r}")
    if text == "{}":
        return {}
    if text.startswith("["):
        if not text.endswith("]"):
            raise YAMLSubsetError(f"line {number}: unsupported flow sequence {text!r}")
        inner = text[1:-1].strip()
        parts = re.findall(r"""\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,'"\[\]{}]+)\s*(?:,|$)""", inner)
        if inner and ",".join(p.strip() for p in parts).replace(" ", "") != inner.replace(" ", ""):
            raise YAMLSubsetError(f"line {number}: unsupported flow sequence {text!r}")
        return [_scalar(p.strip(), number) for p in parts if p.strip()]
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise YAMLSubsetError(f"line {number}: unterminated string")
        return json.loads(text)
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise YAMLSubsetError(f"line {number}: unterminated string")
        return text[1:-1].replace("''", "'")
    if text[0] in "{[" or ": " in text:
        raise YAMLSubsetError(f"line {number}: unsupported YAML {text!r}")
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    return text


def test_yaml_subset_reader():
    doc = """
a:
  b: "x:y"   # comment
  c: [one, "two", 'three']
  d:
    - "127.0.0.1:1:2"
    - plain
  e: {}
  f: 15
  g: true
"""
    assert load_yaml_subset(doc) == {"a": {"b": "x:y", "c": ["one", "two", "three"],
                                           "d": ["127.0.0.1:1:2", "plain"], "e": {}, "f": 15, "g": True}}
    for bad in ("a: &x 1", "a: |\n  text", "a:\n  - b: 1", "a:\n\t- b"):
        with pytest.raises(YAMLSubsetError):
            load_yaml_subset(bad)


def read_compose() -> dict:
    text = (ROOT / "compose.yaml").read_text()
    compose = load_yaml_subset(text)
    try:
        import yaml
    except ImportError:
        pass
    else:
        assert yaml.safe_load(text) == compose, "the YAML-subset reader disagrees with PyYAML"
    return compose


SUPPORTED_KEYS = {"build", "image", "command", "environment", "ports", "networks", "depends_on", "healthcheck"}


CLUSTER_SECRET = secrets.token_hex(16)  # what `RESP_KV_CLUSTER_SECRET=... compose up` would set


def interpolate(value: str) -> str:
    """Compose's ``${NAME}`` / ``${NAME:?message}``, for the variables this test sets."""
    given = {"RESP_KV_CLUSTER_SECRET": CLUSTER_SECRET}
    return re.sub(r"\$\{(\w+)(?::[?-][^}]*)?\}", lambda m: given[m.group(1)], value)


def start_order(services: dict) -> list[str]:
    order, seen = [], set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise AssertionError(f"depends_on cycle: {' -> '.join(path + (name,))}")
        if name in seen:
            return
        for dep in services[name].get("depends_on") or {}:
            assert dep in services, f"{name} depends on unknown service {dep}"
            visit(dep, path + (name,))
        seen.add(name)
        order.append(name)

    for name in services:
        visit(name, ())
    return order


def test_compose_cluster(engine: Engine, image: str, resources: Resources):
    compose = read_compose()
    services = compose["services"]
    assert set(services) == {"viewd", "pbd1", "pbd2"}
    declared_networks = compose.get("networks") or {}

    # The ports the issue asks for, on 127.0.0.1 only; remapped to free host ports here.
    published: dict[str, dict[int, int]] = {}  # service -> {container port: host port used here}
    wanted = {"viewd": {26379: 26379}, "pbd1": {6379: 6379}, "pbd2": {6379: 6380}}
    for name, service in services.items():
        unknown = set(service) - SUPPORTED_KEYS
        assert not unknown, f"service {name}: this test does not know how to run {sorted(unknown)}"
        assert service.get("build") == "." and service.get("image") == "resp-kv"
        declared = {}
        for spec in service.get("ports") or []:
            ip, host_port, container_port = str(spec).split(":")
            assert ip == "127.0.0.1", f"{name} publishes {spec} beyond loopback"
            declared[int(container_port)] = int(host_port)
        assert declared == wanted[name], f"{name} publishes {declared}, expected {wanted[name]}"
        published[name] = {cport: free_port() for cport in declared}

    networks = {}
    for net in declared_networks:
        networks[net] = resources.network(net)
    containers = {}
    for name in start_order(services):
        service = services[name]
        run_args = []
        service_networks = service.get("networks") or ["default"]
        assert len(service_networks) == 1, "one network per service is all this test derives"
        for net in service_networks:
            if net not in networks:
                assert net == "default", f"{name} uses undeclared network {net}"
                networks[net] = resources.network(net)
            run_args += ["--network", networks[net], "--network-alias", name]
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        for key, value in env.items():
            run_args += ["-e", f"{key}={interpolate(str(value))}"]
        for cport, hport in published[name].items():
            run_args += ["-p", f"127.0.0.1:{hport}:{cport}"]
        health = service.get("healthcheck") or {}
        if not engine.podman and "interval" in health:
            run_args += ["--health-interval", str(health["interval"])]  # podman: run on demand below
        command = service.get("command") or []
        if isinstance(command, str):
            command = shlex.split(command)

        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {dep: {"condition": "service_started"} for dep in depends}
        for dep, how in depends.items():
            condition = (how or {}).get("condition", "service_started")
            assert condition in ("service_started", "service_healthy"), condition
            if condition == "service_healthy":
                wait_for(lambda: engine.healthy(containers[dep]), 60, interval=0.2, what=f"{dep} healthy")
        containers[name] = resources.container(name, image, *command, run_args=tuple(run_args))

    for name in services:
        wait_for(lambda: engine.healthy(containers[name]), 60, interval=0.2, what=f"{name} healthy")

    viewd_port = published["viewd"][26379]
    pbd1_port, pbd2_port = published["pbd1"][6379], published["pbd2"][6379]
    port_of = {"pbd1:6379": pbd1_port, "pbd2:6379": pbd2_port}
    wait_for(lambda: (v := settled(viewd_port, port_of)) and v[1:] == ("pbd1:6379", "pbd2:6379"), 30,
             what="pbd1 primary with pbd2 as its backup, in sync")

    # What `redis-cli -p 6379` does on the host: straight to the published port of the primary.
    with redis.Redis(host="127.0.0.1", port=pbd1_port, socket_timeout=5) as r:
        assert r.set("compose-key", SUFFIX) is True
        assert r.get("compose-key") == SUFFIX.encode()
    with redis.Redis(host="127.0.0.1", port=pbd2_port, socket_timeout=5) as r:
        with pytest.raises(redis.exceptions.ReadOnlyError, match="not the primary"):
            r.get("compose-key")
    assert digest(pbd1_port) == digest(pbd2_port)

    # On the network, clients can follow viewd's advertised names (as compose.yaml says).
    net = networks[(services["pbd2"].get("networks") or ["default"])[0]]
    got = engine.run("run", "--rm", "--network", net, image, "pbc", "viewd:26379", "compose-key", timeout=60)
    assert got.stdout.strip() == SUFFIX
