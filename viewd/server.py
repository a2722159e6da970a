"""viewd's RESP front: VIEW.PING / VIEW.GET for the servers, SENTINEL / INFO / ROLE for clients.

The shell around :class:`viewd.core.ViewService`: it turns requests into ``ping`` calls, a
timer into ``tick`` calls (one per ping interval), and the view into replies shaped like Redis
Sentinel's, so stock Sentinel clients find the primary. It logs one line per view change. It
decides nothing about the view itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time

from resp_kv.commands import NOT_INTEGER, PEER_COMMANDS, c, unknown_subcommand, wrong_arity
from resp_kv.daemon import OPEN_CHANNEL, Limits, UsageError, parse_address
from resp_kv.peerauth import NOT_PROVEN, PeerAuth
from resp_kv.protocol import NULL_ARRAY, Error
from resp_kv.respserver import REDIS_VERSION, RespServer, format_info

from .core import View, ViewService

log = logging.getLogger("viewd")

VIEWD_COMMANDS = [
    c("VIEW.PING", 3, "fast no_auth"),  # guarded by the cluster secret
    c("VIEW.GET", 1, "fast"),
    c("SENTINEL", -2, "admin"),
    c("INFO", -1, "admin"),
    c("ROLE", 1, "admin fast"),
]

# SENTINEL subcommand -> (method, number of words including SENTINEL and the subcommand)
SENTINEL_SUBCOMMANDS = {
    b"MASTERS": ("sentinel_masters", 2),
    b"MASTER": ("sentinel_master", 3),
    b"GET-MASTER-ADDR-BY-NAME": ("sentinel_get_master_addr", 3),
    b"SLAVES": ("sentinel_replicas", 3),
    b"REPLICAS": ("sentinel_replicas", 3),
    b"SENTINELS": ("sentinel_sentinels", 3),
    b"MYID": ("sentinel_myid", 2),
}

NO_SUCH_MASTER = Error("ERR No such master with that name")
_VIEWNUM = re.compile(rb"[0-9]{1,19}")


def split_id(server_id: str) -> tuple[str, str]:
    """A server id ``host:port`` -> (host, port) as strings; the port is "0" if it is not one."""
    try:
        host, port = parse_address(server_id)
    except UsageError:
        return server_id, "0"
    return host, str(port)


def view_reply(view: View) -> list:
    return [view.viewnum, view.primary, view.backup]


class ViewServer:
    """The view daemon: a :class:`ViewService` behind a RESP listener, ticked by a timer."""

    def __init__(self, name: str = "resp-kv", ping_interval: float = 0.1, dead_pings: int = 5,
                 limits: Limits = Limits(), cluster_secret: bytes | None = None, requirepass: bytes | None = None):
        self.auth = PeerAuth(cluster_secret)
        self.server = RespServer(VIEWD_COMMANDS + PEER_COMMANDS, self, self.auth, mode="sentinel", limits=limits,
                                 password=requirepass)
        self.core = ViewService(dead_pings)
        self.name = name
        self.ping_interval = ping_interval
        self.run_id = os.urandom(20).hex()
        self.port = 0
        self.view_since = time.monotonic()  # when the current view began
        self._ticker: asyncio.Task | None = None

    # ------------------------------------------------------------------ life cycle

    async def start(self, host: str, port: int, tls=None) -> None:
        await self.server.listen(host, port, tls)
        self.port = port
        self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())
        log.info("listening on %s:%d; service %s; ping interval %gs, dead after %d pings",
                 host, port, self.name, self.ping_interval, self.core.dead_pings)
        if self.auth.secret is None:
            log.warning(OPEN_CHANNEL)

    async def stop(self) -> None:
        self.server.close_listener()
        self.server.close_clients()
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
        log.info("stopped at view %d", self.core.view.viewnum)

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += self.ping_interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            if loop.time() - due > self.ping_interval:
                due = loop.time()  # we were stalled: skip the missed ticks, don't fire them in a burst
            self.core.tick()
            self._log_changes()

    def _log_changes(self) -> None:
        for view, reason in self.core.take_changes():
            self.view_since = time.monotonic()
            log.info("view %d: primary=%s backup=%s (%s)",
                     view.viewnum, view.primary or "-", view.backup or "-", reason)

    # ------------------------------------------------------------------ VIEW.*

    def cmd_view_ping(self, conn, args):
        server_id = args[1].decode("utf-8", "replace")
        if not server_id:
            return Error("ERR the server id must not be empty")
        speaker = self.auth.speaker(conn, server_id)
        if speaker is None:
            return NOT_PROVEN  # only servers that know the cluster secret register and ping
        if speaker != server_id:
            return Error(f"NOPERM this connection speaks for {speaker}, not {server_id}")
        if not _VIEWNUM.fullmatch(args[2]) or int(args[2]) >= 2**63:
            return NOT_INTEGER
        view = self.core.ping(server_id, int(args[2]))
        self._log_changes()
        return view_reply(view)

    def cmd_view_get(self, conn, args):
        return view_reply(self.core.view)

    # ------------------------------------------------------------------ SENTINEL

    def cmd_sentinel(self, conn, args):
        sub = args[1].upper()
        entry = SENTINEL_SUBCOMMANDS.get(sub)
        if entry is None:
            return unknown_subcommand(args[1], "SENTINEL")
        method, words = entry
        if len(args) != words:
            return wrong_arity("sentinel|" + sub.decode())
        return getattr(self, method)(*args[2:])

    def sentinel_masters(self):
        return [self._master_entry()] if self.core.view.primary else []

    def sentinel_master(self, name: bytes):
        if not self._is_service(name):
            return NO_SUCH_MASTER
        return self._master_entry()

    def sentinel_get_master_addr(self, name: bytes):
        if not self._is_service(name):
            return NULL_ARRAY
        return list(split_id(self.core.view.primary))

    def sentinel_replicas(self, name: bytes):
        if not self._is_service(name):
            return NO_SUCH_MASTER
        return [self._replica_entry()] if self.core.view.backup else []

    def sentinel_sentinels(self, name: bytes):
        if not self._is_service(name):
            return NO_SUCH_MASTER
        return []

    def sentinel_myid(self):
        return self.run_id

    def _is_service(self, name: bytes) -> bool:
        """Whether ``name`` is the service and it has a primary (else Sentinel knows no master)."""
        return name.decode("utf-8", "replace") == self.name and bool(self.core.view.primary)

    def _instance(self, server_id: str, role: str) -> dict[str, str]:
        """The fields Sentinel reports for any instance, as strings (Redis sends them as bulk)."""
        status = self.core.server(server_id)
        alive = status is not None and status.alive and not status.restarted
        ms = str(int(status.ticks_since_ping * self.ping_interval * 1000)) if status else "0"
        ip, port = split_id(server_id)
        since_view = str(int((time.monotonic() - self.view_since) * 1000))
        return {
            "name": self.name if role == "master" else f"{ip}:{port}",
            "ip": ip,
            "port": port,
            "runid": "",
            "flags": role if alive else role + ",s_down",
            "link-pending-commands": "0",
            "link-refcount": "1",
            "last-ping-sent": "0",
            "last-ok-ping-reply": ms,
            "last-ping-reply": ms,
            **({} if alive else {"s-down-time": ms}),
            "down-after-milliseconds": str(int(self.ping_interval * self.core.dead_pings * 1000)),
            "info-refresh": ms,
            "role-reported": role,
            "role-reported-time": since_view,
        }

    def _master_entry(self) -> dict[str, str]:
        view = self.core.view
        entry = self._instance(view.primary, "master")
        entry.update({
            "config-epoch": str(view.viewnum),
            "num-slaves": "1" if view.backup else "0",
            "num-other-sentinels": "0",
            "quorum": "1",
            "failover-timeout": entry["down-after-milliseconds"],
            "parallel-syncs": "1",
        })
        return entry

    def _replica_entry(self) -> dict[str, str]:
        view = self.core.view
        entry = self._instance(view.backup, "slave")
        host, port = split_id(view.primary)
        entry.update({
            "master-link-down-time": "0",
            "master-link-status": "ok" if "s_down" not in entry["flags"] else "err",
            "master-host": host,
            "master-port": port,
            "slave-priority": "100",
            "slave-repl-offset": "0",
            "replica-announced": "1",
        })
        return entry

    # ------------------------------------------------------------------ INFO, ROLE

    def cmd_info(self, conn, args):
        summary = self.core.summary()
        view = summary.view
        uptime = int(time.monotonic() - self.server.started)
        sentinel = {
            "sentinel_masters": 1 if view.primary else 0,
            "sentinel_tilt": 0,
            "sentinel_tilt_since_seconds": -1,
            "sentinel_running_scripts": 0,
            "sentinel_scripts_queue_length": 0,
            "sentinel_simulate_failure_flags": 0,
        }
        if view.primary:
            primary = self.core.server(view.primary)
            ok = primary is not None and primary.alive and not primary.restarted
            ip, port = split_id(view.primary)
            sentinel["master0"] = (f"name={self.name},status={'ok' if ok else 'sdown'},"
                                   f"address={ip}:{port},slaves={1 if view.backup else 0},sentinels=1")
        view_section = {
            "viewnum": view.viewnum,
            "primary": view.primary,
            "backup": view.backup,
            "acked": int(summary.acked),
            "ticks": summary.ticks,
            "ping_interval": self.ping_interval,
            "dead_pings": self.core.dead_pings,
            "servers_known": len(summary.servers),
            "servers_alive": summary.alive,
        }
        for i, s in enumerate(summary.servers):
            view_section[f"server{i}"] = (f"id={s.id},role={s.role},alive={int(s.alive)},"
                                          f"ticks_since_ping={s.ticks_since_ping},restarted={int(s.restarted)}")
        sections = {
            "Server": {
                "redis_version": REDIS_VERSION,
                "redis_mode": self.server.mode,
                "process_id": os.getpid(),
                "run_id": self.run_id,
                "tcp_port": self.port,
                "uptime_in_seconds": uptime,
                "uptime_in_days": uptime // 86400,
            },
            "Clients": {"connected_clients": len(self.server.connections)},
            "Sentinel": sentinel,
            "View": view_section,
        }
        return format_info(sections, args[1:])

    def cmd_role(self, conn, args):
        return ["sentinel", [self.name] if self.core.view.primary else []]
