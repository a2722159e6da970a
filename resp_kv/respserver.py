"""The asyncio shell shared by pbd and viewd: a RESP listener, its connections, and the
connection commands (PING, ECHO, HELLO, CLIENT, SELECT, QUIT, COMMAND) every Redis server has.

A connection turns each chunk of bytes into requests (``protocol.RequestParser``), asks the
server to execute each one, and writes all the replies of the chunk in one ``transport.write``.
A reply may be a :class:`Deferred` (pbd's replicated commands): replies are still written in
request order, so a connection holds back what follows a deferred reply until it is settled.
This module decides nothing about data, views or replication.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable

from .commands import (
    CONNECTION_COMMANDS, NOAUTH, SYNTAX_ERROR, Command, CommandTable, subcommand_error, unknown_command,
    unknown_subcommand,
)
from .cmdstats import CommandStats, stat_name
from .daemon import Limits
from .protocol import OK, Error, ProtocolError, RequestParser, Status, encode, join_large

REDIS_VERSION = "7.2.0"  # what we tell clients we are compatible with

log = logging.getLogger(__name__)


BLOCKED_PENDING = 10_000  # requests a blocked client may send before it is not read any more


class Deferred:
    """Replies that may not be sent yet: the encoded replies of requests that wait for
    something (pbd's backup). ``done`` releases them; ``fail`` replaces each with an error."""

    __slots__ = ("conn", "value", "count", "done")

    def __init__(self, conn: "RespConnection", value: bytes | list[bytes], count: int):
        self.conn = conn
        self.value = value  # the encoded replies, in order (as one, or in parts: see size())
        self.count = count  # how many replies that is
        self.done = False

    def fail(self, error: "Error") -> None:
        self.value = encode(error, self.conn.resp3) * self.count
        self.done = True


class RespConnection(asyncio.Protocol):
    """One client connection: parse, execute, reply in order."""

    def __init__(self, server: "RespServer"):
        self.server = server
        self.id = next(server.client_ids)
        self.parser = RequestParser(server.limits.proto_max_bulk_len)
        self.resp3 = False
        self.name: str | None = None
        self.lib: dict[str, str] = {}
        self.created = time.monotonic()
        self.addr = ""
        self.laddr = ""
        self.transport: asyncio.Transport | None = None
        self.replies: deque = deque()  # encoded replies (bytes, parts) or Deferred, in request order
        self.closing = False  # QUIT or a protocol error: close once the replies are out
        self.commands = 0
        self.pending: deque = deque()  # requests of a long pipeline, run a slice at a time
        self.scheduled = False  # a slice of them is due to run
        self.write_paused = False  # the transport's buffer is full: the client does not read
        self.joining = False  # a large value is being joined off the event loop: read nothing
        self.error_after: bytes | None = None  # a protocol error, answered after what came before
        self.authenticated = server.password is None  # AUTH (or HELLO ... AUTH) done, if needed
        self.db = 0  # SELECT's
        self.blocked = None  # the waiter of a blocking command (BLPOP ...) this client waits in
        self.pubsub = None  # its subscriptions (pubsub.Subscriber), while it has any
        self.tx = None  # MULTI/WATCH state (pbd's transactions.Transaction), once used
        self.challenge: bytes | None = None  # PEER.CHALLENGE's nonce, until PEER.PROVE
        self.peer: str | None = None  # the server this connection proved it speaks for

    # ------------------------------------------------------------- asyncio callbacks

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.addr = _addr(transport.get_extra_info("peername"))
        self.laddr = _addr(transport.get_extra_info("sockname"))
        limits = self.server.limits
        if len(self.server.connections) >= limits.maxclients:
            self.closing = True
            transport.write(MAX_CLIENTS_REPLY)
            transport.close()
            return
        self.server.connections[self.id] = self
        self.server.connections_received += 1
        if limits.tcp_keepalive:
            _keepalive(transport.get_extra_info("socket"), limits.tcp_keepalive)

    def connection_lost(self, exc) -> None:
        if self.server.connections.pop(self.id, None) is None:
            return  # refused at once (maxclients): it never was a client
        self.closing = True
        self.replies.clear()
        self.server.closed(self)

    def pause_writing(self) -> None:
        # The client is not reading its replies: stop reading its requests until it does.
        self.write_paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._go_on()

    def data_received(self, data: bytes) -> None:
        error = None
        try:
            requests = self.parser.feed(data)
        except ProtocolError as exc:
            # Keep the reply, not the exception: its traceback would hold this frame in a cycle.
            requests, error = exc.requests, exc.reply
        if error is not None:
            log.debug("client %s: %r", self.addr, error)
            self.error_after = error  # Redis's exact "-ERR Protocol error: ...\r\n", after the rest
        if self.parser.large:
            self._join_then_run(requests)
        else:
            self._run(requests, data if self.parser.exact else None)

    def _run(self, requests: list[list[bytes]], raw: bytes | None = None) -> None:
        """Run requests parsed from this client's bytes; ``raw`` is those bytes when they were
        exactly these requests (else None)."""
        if requests and not self.closing:
            self.commands += len(requests)
            if self.pending or len(requests) > SLICE or self.blocked is not None:
                self.pending.extend(requests)  # a long pipeline (run in slices), or a blocked client
                self._run_pending()
                return
            self.server.execute_chunk(self, requests, raw)
        self._end_of_input()
        self.flush()

    def _join_then_run(self, requests: list[list]) -> None:
        """Requests holding a large value in pieces: join it in a worker thread (the copy of
        100 MB takes ~0.1 s here, which the event loop spends serving everyone else, and
        pinging viewd), reading nothing more from this client meanwhile; then run them."""
        self.joining = True
        self.transport.pause_reading()
        joined = asyncio.get_running_loop().run_in_executor(None, join_large, requests)
        joined.add_done_callback(lambda _: self._joined(requests))

    def _joined(self, requests: list[list[bytes]]) -> None:
        self.joining = False
        if self.transport.is_closing():
            return
        self._run(requests)
        self._go_on()

    def _run_pending(self) -> None:
        """Run queued requests a slice at a time, letting other clients (and the ping to viewd)
        have their turn in between, and stop while this client's unread replies pile up: its
        requests are not read meanwhile, so what it sends costs only what the kernel holds."""
        self.scheduled = False
        pending = self.pending
        if self.transport.is_closing():
            pending.clear()
            return
        if self.blocked is not None:  # in BLPOP & co.: what it sends waits (read on, to see it close)
            if len(pending) > BLOCKED_PENDING:
                self.transport.pause_reading()
            elif not (self.write_paused or self.joining):
                self.transport.resume_reading()
            return
        self.transport.pause_reading()
        if pending and not self.closing and self.output_size() < OUTPUT_HIGH:
            batch = [pending.popleft() for _ in range(min(SLICE, len(pending)))]
            self.server.execute_chunk(self, batch, None)
            if self.closing:  # QUIT: what came after it is not run
                pending.clear()
            self.flush()
            if pending and not self.closing and self.output_size() < OUTPUT_HIGH:
                self.scheduled = True
                asyncio.get_running_loop().call_soon(self._run_pending)
                return
        if not pending:
            self._end_of_input()
            self.flush()
            self._go_on()
        # Otherwise the replies' being written (resume_writing) or released (flush) goes on.

    def unblocked(self) -> None:
        """Its blocking command is answered: send that, and run what it sent meanwhile."""
        self.flush()
        self._go_on()

    def _end_of_input(self) -> None:
        """After the last queued request: a protocol error's reply, then the connection closes."""
        if self.error_after is not None and not self.pending and not self.closing:
            self.replies.append(self.error_after)
            self.closing = True

    def _go_on(self) -> None:
        """Read (or run queued requests) again, unless the client's replies still pile up."""
        if (self.transport is None or self.transport.is_closing() or self.write_paused or self.scheduled
                or self.joining or self.blocked is not None):
            return
        if self.pending:
            if self.output_size() < OUTPUT_LOW:
                self.scheduled = True
                asyncio.get_running_loop().call_soon(self._run_pending)
        else:
            self.transport.resume_reading()

    def output_size(self) -> int:
        """Bytes of replies this client has not read yet: in the kernel's way, and queued here."""
        queued = sum(size(r.value if r.__class__ is Deferred else r) for r in self.replies)
        return self.transport.get_write_buffer_size() + queued

    # ------------------------------------------------------------- replies

    def flush(self) -> None:
        """Write every reply that is ready, in order, in one write."""
        replies = self.replies
        if not replies:
            if self.closing and self.transport is not None:
                self.transport.close()
            return
        out = []
        parts = False
        while replies:
            head = replies[0]
            if head.__class__ is Deferred:
                if not head.done:
                    break
                head = head.value
            if head.__class__ is list:
                out += head
                parts = True
            else:
                out.append(head)
            replies.popleft()
        if out and self.transport is not None:
            if parts:
                self.transport.writelines(out)
            else:
                self.transport.write(b"".join(out) if len(out) > 1 else out[0])
        if self.closing and not replies and self.transport is not None:
            self.transport.close()
        elif self.pending and out:
            self._go_on()  # replies released (a backup's answer): queued requests may go on

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Close at once, dropping what the client has not read (an output limit)."""
        self.replies.clear()
        if self.transport is not None:
            self.transport.abort()

    def info_line(self) -> str:
        age = int(time.monotonic() - self.created)
        return (f"id={self.id} addr={self.addr} laddr={self.laddr} name={self.name or ''} "
                f"age={age} db={self.db} qbuf={self.parser.buffered()} omem={self.output_size()} cmd={self.commands} "
                f"resp={3 if self.resp3 else 2} "
                f"lib-name={self.lib.get('lib-name', '')} lib-ver={self.lib.get('lib-ver', '')}")


SLICE = 64  # requests run in one go: a longer pipeline yields to other clients between slices
OUTPUT_HIGH = 8 * 1024 * 1024  # unread reply bytes above which a client's requests wait ...
OUTPUT_LOW = 1024 * 1024  # ... until they are below this
MAX_CLIENTS_REPLY = b"-ERR max number of clients reached\r\n"
WRONGPASS = Error("WRONGPASS invalid username-password pair or user is disabled.")


def size(replies: bytes | list[bytes]) -> int:
    """The bytes of encoded replies: one string, or parts (a large value is kept as it is,
    never copied into one string, and written with ``writelines``)."""
    return sum(map(len, replies)) if replies.__class__ is list else len(replies)


def may_run(conn: RespConnection) -> bool:
    """Whether a connection may run commands that need the client password: it gave it, or
    none is needed, or it is a server that proved the cluster secret."""
    return conn.authenticated or conn.peer is not None


def _keepalive(sock, idle: int) -> None:
    """TCP keepalive as Redis sets it: probes after ``idle`` seconds of silence, then every
    idle/3 seconds; a peer that vanished without a FIN is dropped after three unanswered."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, idle // 3))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    except OSError:
        pass


def _addr(peer) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else ""


class RespServer:
    """A RESP listener, its live connections, and the connection commands every Redis server
    has. It is used, not subclassed: ``commands`` are served by the methods of ``owners`` (the
    first that has one), and a service may take over how requests run (``execute`` for one
    request, ``execute_chunk`` for a chunk), hear of closed connections (``closed``) and say
    its role (``role``, as HELLO reports it)."""

    def __init__(self, commands: list[Command], *owners: object, mode: str = "standalone",
                 role: Callable[[], str] | None = None, execute: Callable | None = None,
                 execute_chunk: Callable | None = None, closed: Callable | None = None,
                 limits: Limits = Limits(), password: bytes | None = None):
        self.table = CommandTable(CONNECTION_COMMANDS + commands, self, *owners)
        self.command_stats = CommandStats()
        self.limits = limits
        self.password = password  # requirepass: None means every client is the default user
        self.mode = mode  # as HELLO and INFO report it
        self.role = role or (lambda: "master")
        self.execute = execute or self.dispatch
        self.execute_chunk = execute_chunk or self.run_each
        self.closed = closed or (lambda conn: None)
        self.client_ids = itertools.count(1)
        self.connections_received = 0  # accepted since start (INFO stats)
        self.connections: dict[int, RespConnection] = {}
        self.listener: asyncio.base_events.Server | None = None
        self.started = time.monotonic()

    async def listen(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        """Listen on ``host:port`` (TLS only, with ``tls``)."""
        loop = asyncio.get_running_loop()
        self.listener = await loop.create_server(
            lambda: RespConnection(self), host, port, reuse_address=True, backlog=1024, ssl=tls)

    def close_listener(self) -> None:
        if self.listener is not None:
            self.listener.close()

    def close_clients(self) -> None:
        """Drop every client connection, as Redis does when its role changes."""
        for conn in list(self.connections.values()):
            conn.close()

    def run_each(self, conn: RespConnection, requests: list[list[bytes]], raw: bytes | None) -> None:
        """Run the requests of one chunk of a connection's bytes one by one, queueing their
        replies. ``raw`` is the chunk itself when it held exactly these requests (else None)."""
        replies = conn.replies
        execute = self.execute
        for args in requests:
            reply = execute(conn, args)
            replies.append(encode(reply, conn.resp3))
            if conn.closing:
                break

    def dispatch(self, conn: RespConnection, args: list[bytes]):
        """One request, served by the method its command names (or Redis's error)."""
        stats = self.command_stats
        cmd = self.table.resolve(args)
        if cmd.__class__ is Error:
            known = self.table.lookup(args[0])
            if known is not None:
                stats.rejected(known.name, cmd)
            else:
                stats.error(cmd)
            return cmd
        if not may_run(conn) and cmd.needs_auth:
            stats.rejected(cmd.name, NOAUTH)
            return NOAUTH
        if cmd.subcommands() and (refused := subcommand_error(args)) is not None:
            stats.error(refused)
            return refused
        handler = self.table.handlers.get(cmd.name)
        if handler is None:  # in the table, but nothing here serves it
            reply = unknown_command(args)
            stats.error(reply)
            return reply
        started = time.perf_counter_ns()
        reply = handler(conn, args)
        stats.call(stat_name(cmd.name, args), time.perf_counter_ns() - started, reply)
        return reply

    def check_password(self, user: bytes, password: bytes) -> bool:
        """Redis's default user: any password when none is configured, else that one."""
        if user != b"default":
            return False
        return self.password is None or hmac.compare_digest(password, self.password)

    def cmd_auth(self, conn, args):
        if len(args) > 3:
            return SYNTAX_ERROR
        if len(args) == 2 and self.password is None:
            return Error("ERR AUTH <password> called without any password configured for the default user. "
                         "Are you sure your configuration is correct?")
        user = args[1] if len(args) == 3 else b"default"
        if not self.check_password(user, args[-1]):
            return WRONGPASS
        conn.authenticated = True
        return OK

    # ------------------------------------------------------------- connection commands

    def cmd_ping(self, conn, args):
        if len(args) > 2:
            return Error("ERR wrong number of arguments for 'ping' command")
        return args[1] if len(args) == 2 else Status("PONG")

    def cmd_echo(self, conn, args):
        return args[1]

    def cmd_quit(self, conn, args):
        conn.closing = True
        return OK

    def cmd_select(self, conn, args):
        if args[1] != b"0":
            try:
                int(args[1])
            except ValueError:
                return Error("ERR value is not an integer or out of range")
            return Error("ERR DB index is out of range")
        return OK

    def cmd_hello(self, conn, args):
        resp3 = conn.resp3
        i = 1
        if len(args) > 1:
            try:
                version = int(args[1])
            except ValueError:
                return Error("ERR Protocol version is not an integer or out of range")
            if version not in (2, 3):
                return Error("NOPROTO unsupported protocol version")
            resp3 = version == 3
            i = 2
        name = None
        credentials = None
        while i < len(args):
            option = args[i].upper()
            if option == b"AUTH" and i + 2 < len(args):
                credentials = args[i + 1], args[i + 2]
                i += 3
            elif option == b"SETNAME" and i + 1 < len(args):
                name = args[i + 1]
                i += 2
            else:
                return Error(f"ERR Syntax error in HELLO option '{args[i].decode('utf-8', 'replace')}'")
        if credentials is not None:
            if not self.check_password(*credentials):
                return WRONGPASS
            conn.authenticated = True
        if not conn.authenticated:
            return Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                         "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
                         "the RESP protocol version at the same time")
        if name is not None:
            error = _set_client_name(conn, name)
            if error:
                return error
        conn.resp3 = resp3
        return {
            "server": "redis", "version": REDIS_VERSION, "proto": 3 if resp3 else 2,
            "id": conn.id, "mode": self.mode, "role": self.role(), "modules": [],
        }

    def cmd_client(self, conn, args):
        sub = args[1].upper()  # (known to Redis, with its number of arguments: dispatch checked)
        if sub == b"SETNAME":
            return _set_client_name(conn, args[2]) or OK
        if sub == b"GETNAME":
            return conn.name.encode() if conn.name else None
        if sub == b"ID":
            return conn.id
        if sub == b"SETINFO":
            attr = args[2].lower().decode("utf-8", "replace")
            if attr not in ("lib-name", "lib-ver"):
                return Error(f"ERR Unrecognized option '{args[2].decode('utf-8', 'replace')}'")
            conn.lib[attr] = args[3].decode("utf-8", "replace")
            return OK
        if sub == b"INFO":
            return conn.info_line() + "\n"
        if sub == b"LIST":  # (no TYPE or ID filter)
            return SYNTAX_ERROR if len(args) > 2 else "".join(c.info_line() + "\n" for c in self.connections.values())
        if sub == b"NO-EVICT":
            return OK if args[2].upper() in (b"ON", b"OFF") else SYNTAX_ERROR
        if sub == b"KILL":
            return self._client_kill(conn, args)
        return unknown_subcommand(args[1], "CLIENT")

    def _client_kill(self, conn, args):
        """CLIENT KILL addr:port (the old form: +OK or an error), or filters (ID, ADDR, LADDR,
        SKIPME) answering how many connections were closed."""
        if len(args) == 3:
            victims = [c for c in self.connections.values() if c.addr == args[2].decode("utf-8", "replace")]
            if not victims:
                return Error("ERR No such client")
            victims[0].close()
            return OK
        if len(args) % 2:
            return SYNTAX_ERROR
        wanted, skip_me = {}, True
        for i in range(2, len(args), 2):
            field, value = args[i].upper(), args[i + 1].decode("utf-8", "replace")
            if field == b"ID":
                if not value.isdigit():
                    return Error("ERR client-id should be greater than 0")
                wanted["id"] = int(value)
            elif field in (b"ADDR", b"LADDR"):
                wanted[field.lower().decode()] = value
            elif field == b"SKIPME" and value.lower() in ("yes", "no"):
                skip_me = value.lower() == "yes"
            else:
                return SYNTAX_ERROR
        victims = [c for c in self.connections.values()
                   if all(getattr(c, f) == v for f, v in wanted.items()) and not (skip_me and c is conn)]
        for victim in victims:
            victim.close()
        return len(victims)

    def cmd_command(self, conn, args):
        commands = self.table.commands
        if len(args) == 1:
            return [cmd.info() for cmd in commands.values()]
        sub = args[1].upper()
        if sub == b"COUNT":
            return len(commands)
        if sub == b"INFO":
            names = args[2:] or [n.encode() for n in commands]
            return [cmd.info() if (cmd := self.table.lookup(n)) else None for n in names]
        if sub == b"LIST":
            return [name.lower() for name in commands]
        if sub == b"DOCS":
            return {}  # no docs: redis-cli falls back to its built-in hints
        if sub == b"GETKEYS":
            cmd = self.table.lookup(args[2])
            if cmd is not None and cmd.subcommands() and len(args) > 3:
                cmd = cmd.subcommand(args[3])
            if cmd is None:
                return Error("ERR Invalid command specified")
            if not cmd.has_keys():
                return Error("ERR The command has no key arguments")
            if not cmd.arity_ok(len(args) - 2):
                return Error("ERR Invalid number of arguments specified for command")
            keys = cmd.keys(args[2:])
            if not keys and "no_mandatory_keys" not in cmd.flags:
                return Error("ERR Invalid arguments specified for command")
            return keys
        return unknown_subcommand(args[1], "COMMAND")


def _set_client_name(conn: RespConnection, name: bytes) -> Error | None:
    if any(ch <= 32 or ch >= 127 for ch in name):
        return Error("ERR Client names cannot contain spaces, newlines or special characters.")
    conn.name = name.decode() or None
    return None


NOT_DEFAULT = frozenset({"commandstats"})  # INFO sections shown only when asked for (or with "all")


def format_info(sections: dict[str, dict[str, object]], wanted: list[bytes]) -> str:
    """INFO's text: ``# Section`` headers and ``key:value`` lines, CRLF-separated."""
    names = {w.decode("utf-8", "replace").lower() for w in wanted}
    everything = names & {"all", "everything"}
    default = not names or "default" in names
    parts = []
    for section, fields in sections.items():
        name = section.lower()
        if everything or (default and name not in NOT_DEFAULT) or name in names:
            lines = [f"# {section}"] + [f"{k}:{v}" for k, v in fields.items()]
            parts.append("\r\n".join(lines))
    return "\r\n\r\n".join(parts) + "\r\n" if parts else ""


__all__ = ["Deferred", "RespConnection", "RespServer", "format_info", "REDIS_VERSION"]
