"""What every long-running resp-kv process shares: flags from the environment, address
parsing, logging, and running on uvloop until SIGTERM/SIGINT.

User errors (a bad flag, a port in use, a malformed address) end the process with one line on
stderr and a non-zero status, never a traceback. This module decides nothing about the service.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import logging
import os
import re
import resource
import signal
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


class UsageError(ValueError):
    """A mistake in how the program was started; printed as one line, exit status 2."""


def parse_address(text: str, what: str = "address") -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); raises UsageError with a sentence if it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"malformed {what} {text!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def address_type(what: str) -> Callable[[str], str]:
    """An argparse type that checks ``HOST:PORT`` and keeps it as text."""

    def check(text: str) -> str:
        try:
            parse_address(text, what)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return check


def _positive(convert, kind: str):
    """An argparse type: ``convert`` the text, and require the value to be above zero."""

    def check(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind} {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value

    return check


positive_float = _positive(float, "number")
positive_int = _positive(int, "integer")


def non_negative_int(text: str) -> int:
    return 0 if text.strip() == "0" else positive_int(text)


def port_number(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {text}")
    return value


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def memory_size(text: str) -> int:
    """Redis's memory units: ``512mb``, ``64kb``, ``1g``, ``1048576``."""
    match = re.fullmatch(r"([0-9]+)([a-z]*)", text.strip().lower())
    if not match or match.group(2) not in _UNITS:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (e.g. 512mb, 64kb, 1048576)")
    value = int(match.group(1)) * _UNITS[match.group(2)]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """What one client may cost a server (Redis's names and defaults)."""

    maxclients: int = 10000
    proto_max_bulk_len: int = 512 * 1024**2
    tcp_keepalive: int = 300  # seconds of silence before TCP probes a peer (0: off)


RESERVED_FDS = 32  # as Redis: descriptors kept for the listener, the log, viewd and the link


def add_limit_flags(parser: "Parser") -> None:
    parser.add_argument("--maxclients", type=positive_int, default=Limits.maxclients,
                        help="connections served at once; the next gets -ERR max number of clients reached")
    parser.add_argument("--proto-max-bulk-len", type=memory_size, default=Limits.proto_max_bulk_len,
                        help="the longest bulk string a request may hold (512mb)")
    parser.add_argument("--tcp-keepalive", type=non_negative_int, default=Limits.tcp_keepalive,
                        help="seconds before TCP probes a silent client (0: never)")


def limits_from(args: argparse.Namespace, log: logging.Logger) -> Limits:
    """The limits asked for, with maxclients lowered to what the file descriptors allow (and
    the soft descriptor limit raised as far as needed and allowed), as Redis does."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.maxclients + RESERVED_FDS
    if soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
            soft = ceiling
        except (ValueError, OSError):
            pass
    maxclients = args.maxclients
    if soft < wanted:
        maxclients = max(1, soft - RESERVED_FDS)
        log.warning("maxclients lowered from %d to %d: the open files limit is %d",
                    args.maxclients, maxclients, soft)
    return Limits(maxclients, args.proto_max_bulk_len, args.tcp_keepalive)


def add_security_flags(parser: "Parser", guarded: str) -> None:
    parser.add_argument("--requirepass", default=None,
                        help=f"clients must AUTH with this password ({guarded})")
    parser.add_argument("--tls-cert-file", default=None, help="serve TLS only, with this certificate (PEM)")
    parser.add_argument("--tls-key-file", default=None, help="the certificate's private key (PEM)")
    parser.add_argument("--tls-ca-cert-file", default=None,
                        help="the CA that signs every peer's certificate (PEM); peers are verified against it")
    parser.add_argument("--tls-auth-clients", default="yes", choices=["yes", "no", "optional"],
                        help="whether clients must present a certificate signed by the CA (yes)")
    parser.add_argument("--cluster-secret", default=None,
                        help="what servers prove to viewd and to each other (the same on every process; "
                             "required unless listening on loopback only)")


@dataclass(frozen=True)
class TLS:
    """The TLS contexts of a process: ``server`` for its port, ``client`` for the connections it
    opens (to viewd, into a backup); both verify the peer against the CA, by certificate chain
    only (servers are reached at the addresses viewd hands out, so no host name is checked)."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def tls_from(parser: "Parser", args: argparse.Namespace) -> TLS | None:
    files = (args.tls_cert_file, args.tls_key_file, args.tls_ca_cert_file)
    if not any(files):
        return None
    if not all(files):
        parser.error("TLS needs --tls-cert-file, --tls-key-file and --tls-ca-cert-file together")
    cert, key, ca = files
    try:
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca)
        server.load_cert_chain(cert, key)
        server.verify_mode = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL,
                              "no": ssl.CERT_NONE}[args.tls_auth_clients]
        client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        client.check_hostname = False
        client.load_cert_chain(cert, key)  # servers ask their peers for a certificate too
    except (OSError, ssl.SSLError) as exc:
        parser.error(f"cannot load the TLS files: {exc}")
    return TLS(server, client)


OPEN_CHANNEL = "no --cluster-secret: the cluster channel is open to every process on this machine (loopback only)"


def cluster_secret(parser: "Parser", args: argparse.Namespace) -> bytes | None:
    """The cluster secret, or None for the open channel, which only a process listening on
    loopback may run with (as Redis's protected mode refuses remote clients); such a process
    logs OPEN_CHANNEL once it listens."""
    if args.cluster_secret:
        return args.cluster_secret.encode()
    if not is_loopback(args.bind):
        parser.error(f"listening on {args.bind!r} needs --cluster-secret (or RESP_KV_CLUSTER_SECRET): without it "
                     "anyone who can reach this port could register servers and write into backups")
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Parser(argparse.ArgumentParser):
    """argparse whose defaults may come from RESP_KV_<FLAG> environment variables.

    Flags win over the environment; the environment wins over the built-in default.
    """

    def add_argument(self, *names, **kwargs):
        flag = next((n for n in names if n.startswith("--")), None)
        if flag is not None and "default" in kwargs and kwargs.get("action") is None:
            env = "RESP_KV_" + flag[2:].upper().replace("-", "_")
            if env in os.environ:
                kwargs["default"] = os.environ[env]
            kwargs["help"] = (kwargs.get("help", "") + f" (env {env})").strip()
        return super().add_argument(*names, **kwargs)

    def parse_args(self, args=None, namespace=None):
        ns = super().parse_args(args, namespace)
        # A default that came from the environment is a string: run it through its type.
        for action in self._actions:
            value = getattr(ns, action.dest, None)
            if isinstance(value, str) and action.type is not None and action.default is value:
                try:
                    setattr(ns, action.dest, action.type(value))
                except (argparse.ArgumentTypeError, ValueError) as exc:
                    self.error(f"argument {action.option_strings[-1]}: {exc}")
        return ns


def setup_logging(level: str, process: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format=f"%(asctime)s.%(msecs)03d {process} %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def run(program: str, start: Callable[[], Awaitable[Callable[[], Awaitable[None]]]], address: str = "") -> None:
    """Run ``start()`` on uvloop; it returns a ``stop`` coroutine function called on SIGTERM/SIGINT.

    Exits 0 after a clean stop, 1 with one line on stderr for a listener that cannot be opened.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a declared dependency
        uvloop = None

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        stop = await start()
        await stopping.wait()
        await stop()

    try:
        if uvloop is not None:
            uvloop.run(main())
        else:
            asyncio.run(main())
    except UsageError as exc:
        fail(program, str(exc), status=2)
    except OSError as exc:
        where = f" on {address}" if address else ""
        if exc.errno == errno.EADDRINUSE:
            fail(program, f"cannot listen{where}: address already in use")
        fail(program, f"cannot listen{where}: {exc.strerror or exc}")
    sys.exit(0)


def fail(program: str, message: str, status: int = 1) -> None:
    sys.stderr.flush()
    print(f"{program}: error: {message}", file=sys.stderr)
    sys.exit(status)
