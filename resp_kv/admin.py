"""pbd's administrative commands (INFO, ROLE, CONFIG, DEBUG, WAIT): answered by every server
from its own state, in Redis's shapes. They read the node; they change nothing but statistics.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import resource
import time

from .commands import unknown_subcommand
from .daemon import parse_address
from .protocol import OK, Error, Status
from .respserver import REDIS_VERSION, format_info


def keyspace_line(db, now_ms: int) -> str:
    """INFO keyspace's line for a database; avg_ttl from up to 1000 of its expiry times."""
    sample = list(itertools.islice(db.expires.values(), 1000))
    avg_ttl = sum(max(when - now_ms, 0) for when in sample) // len(sample) if sample else 0
    return f"keys={len(db.data)},expires={len(db.expires)},avg_ttl={avg_ttl}"


def human_bytes(n: int) -> str:
    """Redis's bytesToHuman: 1023B, 1.00K, 2.50M, ..."""
    for unit, scale in (("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if scale <= n < scale << 10:
            return f"{n / scale:.2f}{unit}"
    return f"{n}B"


def memory_fields() -> dict[str, object]:
    """INFO memory: this process's resident memory (Python has no allocator count like Redis's
    used_memory, so both are the resident size), and its peak; no maxmemory, no eviction."""
    with open("/proc/self/statm") as statm:
        rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    peak = max(rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"used_memory": rss, "used_memory_human": human_bytes(rss), "used_memory_rss": rss,
            "used_memory_rss_human": human_bytes(rss), "used_memory_peak": peak,
            "used_memory_peak_human": human_bytes(peak), "maxmemory": 0, "maxmemory_human": "0B",
            "maxmemory_policy": "noeviction", "mem_allocator": "libc"}


class AdminCommands:
    """The commands' methods, bound to one node (a ``node.Node``)."""

    def __init__(self, node):
        self.node = node

    def cmd_info(self, conn, args):
        node = self.node
        r, v, store = node.replica, node.replica.view, node.keeper.store
        sessions = store.sessions
        sections = {
            "Server": {
                "redis_version": REDIS_VERSION, "resp_kv_version": "0.1.0", "redis_mode": "standalone",
                "process_id": os.getpid(), "tcp_port": node.settings.port, "advertise": node.me,
                "viewd": node.settings.viewd, "uptime_in_seconds": int(time.monotonic() - node.server.started),
            },
            "Clients": {"connected_clients": len(node.server.connections), "blocked_clients": len(node.blocking),
                        "pubsub_clients": sum(conn.pubsub is not None for conn in node.server.connections.values())},
            "Memory": memory_fields(),
            "Persistence": {"loading": 0, "async_loading": 0, "rdb_changes_since_last_save": 0,
                            "rdb_bgsave_in_progress": 0, "rdb_last_bgsave_status": "ok", "aof_enabled": 0,
                            "aof_rewrite_in_progress": 0},  # (memory only: nothing is ever saved)
            "Stats": {"total_connections_received": node.server.connections_received,
                      "total_commands_processed": node.command_stats.total_calls(),
                      "total_error_replies": node.command_stats.total_errors(),
                      **node.stats, **r.stats,
                      "expired_keys": store.expired_keys,
                      "exactly_once_clients": len(sessions),
                      "exactly_once_memory_bytes": sessions.memory()},
            "Replication": {
                "role": "master" if r.serving else "slave", "pb_role": r.role, "view": v.viewnum,
                "primary": v.primary, "backup": v.backup,
                "backup_in_sync": "yes" if r.backup_synced else "no",
                "acknowledged_view": r.acked, "state_view": r.state_view,
                "receiving_state": "yes" if r.receiving else "no",
                "connected_slaves": 1 if r.serving and r.backup_synced else 0,
                "unacknowledged_batches": len(r.unacked),
            },
            "Keyspace": {f"db{db.index}": keyspace_line(db, int(time.time() * 1000)) for db in store.dbs if db.data},
            "Commandstats": node.command_stats.commandstats(),
            "Errorstats": node.command_stats.errorstats(),
        }
        return format_info(sections, args[1:])

    def cmd_role(self, conn, args):
        r, v = self.node.replica, self.node.replica.view
        if r.serving:
            replicas = []
            if v.backup and r.backup_synced:
                host, port = parse_address(v.backup)
                replicas.append([host, str(port), "0"])
            return ["master", 0, replicas]
        if v.primary and r.role == "backup":
            host, port = parse_address(v.primary)
            return ["slave", host, port, "connected" if r.state_view == v.viewnum else "sync", 0]
        return ["slave", "", 0, "none", -1]

    def cmd_config(self, conn, args):
        node = self.node
        sub = args[1].upper()
        if sub == b"GET" and len(args) >= 3:
            s = node.settings
            settings = {"save": "", "appendonly": "no", "databases": "16", "port": str(s.port), "bind": s.bind,
                        "advertise": s.advertise, "viewd": s.viewd, "ping-interval": str(s.ping_interval),
                        "session-ttl": str(s.session_ttl), "max-sessions": str(s.max_sessions),
                        "max-sessions-memory": str(s.max_sessions_memory),
                        "maxclients": str(s.limits.maxclients), "tcp-keepalive": str(s.limits.tcp_keepalive),
                        "proto-max-bulk-len": str(s.limits.proto_max_bulk_len)}
            out = {}
            for pattern in args[2:]:
                pat = pattern.decode("utf-8", "replace").lower()
                out.update({k: v for k, v in settings.items() if fnmatch.fnmatchcase(k, pat)})
            return out
        if sub == b"RESETSTAT" and len(args) == 2:
            for stats in (node.stats, node.replica.stats):
                for key in stats:
                    stats[key] = 0
            node.command_stats.reset()
            return OK
        if sub in (b"GET", b"SET"):
            return Error(f"ERR CONFIG {sub.decode()} is not supported for these arguments")
        return unknown_subcommand(args[1], "CONFIG")

    def cmd_debug(self, conn, args):
        if args[1].upper() == b"DIGEST" and len(args) == 2:
            return Status(self.node.keeper.store.digest())
        return unknown_subcommand(args[1], "DEBUG")

    def cmd_time(self, conn, args):
        now = time.time_ns() // 1000
        return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]

    def cmd_wait(self, conn, args):
        try:
            int(args[1]), int(args[2])
        except ValueError:
            return Error("ERR value is not an integer or out of range")
        # Every write this server acknowledged was already accepted by the backup of its view.
        r = self.node.replica
        return 1 if r.serving and r.view.backup and r.backup_synced else 0
