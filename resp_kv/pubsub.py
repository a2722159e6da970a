"""Publish/subscribe (Redis's ``pubsub.c``): who listens to which channels and patterns, what a
PUBLISH delivers to whom, and the SUBSCRIBE family's replies.

Messages are not data: they are neither replicated nor kept. A PUBLISH on the primary reaches
the clients subscribed there at that moment, at most once; a subscriber whose connection closes
(a view change closes them all) misses what is published until it has subscribed again (redis-py
resubscribes when it reconnects). Only the primary of the current view takes SUBSCRIBE and
PUBLISH; other servers answer READONLY, so that clients find the primary.

A subscriber that does not read is cut off as Redis's ``client-output-buffer-limit pubsub 32mb
8mb 60`` says: at once above 32 MB of unread messages, after 60 s above 8 MB. This module keeps
the subscriptions and builds the replies and messages; the connections carry them.
"""

from __future__ import annotations

from .commands import SUBCOMMANDS, help_reply
from .keyspace.glob import matcher
from .protocol import Error, Push, Replies, c_string, encode

OUTPUT_HARD_LIMIT = 32 * 1024 * 1024
OUTPUT_SOFT_LIMIT = 8 * 1024 * 1024
OUTPUT_SOFT_SECONDS = 60

# What a RESP2 connection in subscribe mode may still run (anything else: Redis's error).
IN_SUBSCRIBE_MODE = frozenset({"SUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "SUNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE",
                               "PING", "QUIT", "RESET"})


def not_in_subscribe_mode(name: str, args: list[bytes]) -> Error:
    if name.lower() in SUBCOMMANDS and len(args) > 1:  # (Redis names a subcommand: "client|list")
        name += "|" + c_string(args[1])
    return Error(f"ERR Can't execute '{name.lower()}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                 "RESET are allowed in this context")


class Subscriber:
    """One connection's subscriptions, in the order it made them."""

    __slots__ = ("channels", "patterns", "shard_channels", "over_soft_limit_since")

    def __init__(self) -> None:
        self.channels: dict[bytes, None] = {}
        self.patterns: dict[bytes, None] = {}
        self.shard_channels: dict[bytes, None] = {}
        self.over_soft_limit_since: float | None = None

    def count(self) -> int:
        """What (P)SUBSCRIBE replies count: channels and patterns."""
        return len(self.channels) + len(self.patterns)

    def total(self) -> int:
        return self.count() + len(self.shard_channels)


class PubSub:
    """Every subscription on this server, and the commands that make and use them."""

    def __init__(self, serving, readonly_error, clock):
        """``serving()``: whether this server takes them (the primary); ``readonly_error()``:
        what it answers otherwise; ``clock()``: monotonic seconds, for the output limits."""
        self.serving = serving
        self.readonly_error = readonly_error
        self.clock = clock
        self.channels: dict[bytes, dict[int, object]] = {}  # channel -> {connection id: connection}
        self.patterns: dict[bytes, tuple[dict[int, object], object]] = {}  # pattern -> (connections, match)
        self.shard_channels: dict[bytes, dict[int, object]] = {}
        self.messages = 0  # delivered, for INFO

    # ------------------------------------------------------------------ subscribing

    def _subscriber(self, conn) -> Subscriber:
        if conn.pubsub is None:
            conn.pubsub = Subscriber()
        return conn.pubsub

    def _refused(self):
        return None if self.serving() else Error(self.readonly_error())

    def cmd_subscribe(self, conn, args):
        return self._refused() or self._subscribe(conn, args[1:], "channels", b"subscribe")

    def cmd_ssubscribe(self, conn, args):
        return self._refused() or self._subscribe(conn, args[1:], "shard_channels", b"ssubscribe")

    def cmd_psubscribe(self, conn, args):
        return self._refused() or self._subscribe(conn, args[1:], "patterns", b"psubscribe")

    def _subscribe(self, conn, names: list[bytes], kind: str, verb: bytes) -> Replies:
        sub = self._subscriber(conn)
        mine, everyone = getattr(sub, kind), getattr(self, kind)
        replies = Replies()
        for name in names:
            if name not in mine:
                mine[name] = None
                if kind == "patterns":
                    everyone.setdefault(name, ({}, matcher(name, every_key=False)))[0][conn.id] = conn
                else:
                    everyone.setdefault(name, {})[conn.id] = conn
            replies.append(Push([verb, name, len(mine) if kind == "shard_channels" else sub.count()]))
        return replies

    def cmd_unsubscribe(self, conn, args):
        return self._unsubscribe(conn, args[1:], "channels", b"unsubscribe")

    def cmd_sunsubscribe(self, conn, args):
        return self._unsubscribe(conn, args[1:], "shard_channels", b"sunsubscribe")

    def cmd_punsubscribe(self, conn, args):
        return self._unsubscribe(conn, args[1:], "patterns", b"punsubscribe")

    def _unsubscribe(self, conn, names: list[bytes], kind: str, verb: bytes) -> Replies:
        sub = conn.pubsub or Subscriber()
        mine = getattr(sub, kind)
        replies = Replies()
        for name in names or list(mine):
            self._forget(conn, kind, name)
            replies.append(Push([verb, name, len(mine) if kind == "shard_channels" else sub.count()]))
        if not replies:  # nothing to unsubscribe from: still one reply, naming no channel
            replies.append(Push([verb, None, len(mine) if kind == "shard_channels" else sub.count()]))
        if conn.pubsub is not None and not conn.pubsub.total():
            conn.pubsub = None
        return replies

    def _forget(self, conn, kind: str, name: bytes) -> None:
        mine = None if conn.pubsub is None else getattr(conn.pubsub, kind)
        if not mine or name not in mine:
            return
        del mine[name]
        everyone = getattr(self, kind)
        entry = everyone.get(name)
        listeners = entry[0] if kind == "patterns" else entry
        listeners.pop(conn.id, None)
        if not listeners:
            del everyone[name]

    def forget(self, conn) -> None:
        """A connection closed: it listens to nothing any more."""
        sub = conn.pubsub
        if sub is None:
            return
        for kind in ("channels", "patterns", "shard_channels"):
            for name in list(getattr(sub, kind)):
                self._forget(conn, kind, name)
        conn.pubsub = None

    # ------------------------------------------------------------------ publishing

    def cmd_publish(self, conn, args):
        return self._refused() or self.publish(args[1], args[2])

    def cmd_spublish(self, conn, args):
        if (refused := self._refused()) is not None:
            return refused
        return self._deliver(self.shard_channels.get(args[1]), Push([b"smessage", args[1], args[2]]))

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to the channel's subscribers, then to those of every matching pattern."""
        receivers = self._deliver(self.channels.get(channel), Push([b"message", channel, message]))
        for pattern, (listeners, match) in list(self.patterns.items()):
            if match(channel):
                receivers += self._deliver(listeners, Push([b"pmessage", pattern, channel, message]))
        return receivers

    def _deliver(self, listeners: dict | None, message: Push) -> int:
        if not listeners:
            return 0
        frames = {}
        for conn in list(listeners.values()):
            frame = frames.get(conn.resp3)
            if frame is None:
                frame = frames[conn.resp3] = encode(message, conn.resp3)
            if self._over_limit(conn):
                continue
            conn.replies.append(frame)
            conn.flush()
        self.messages += len(listeners)
        return len(listeners)

    def _over_limit(self, conn) -> bool:
        """Whether the subscriber has stopped reading for too long (then it is closed)."""
        size = conn.output_size()
        sub = conn.pubsub
        if size < OUTPUT_SOFT_LIMIT:
            if sub is not None:
                sub.over_soft_limit_since = None
            return False
        now = self.clock()
        if sub is not None and sub.over_soft_limit_since is None:
            sub.over_soft_limit_since = now
        since = sub.over_soft_limit_since if sub is not None else now
        if size >= OUTPUT_HARD_LIMIT or now - since >= OUTPUT_SOFT_SECONDS:
            conn.abort()
            return True
        return False

    # ------------------------------------------------------------------ PUBSUB

    def cmd_pubsub(self, conn, args):  # (dispatch checked the subcommand)
        sub = args[1].upper()
        if sub == b"HELP":
            return help_reply(args[0], PUBSUB_HELP)
        if sub in (b"CHANNELS", b"SHARDCHANNELS"):
            if len(args) > 3:
                return Error(f"ERR unknown subcommand or wrong number of arguments for '{c_string(args[1])}'. "
                             "Try PUBSUB HELP.")
            names = self.channels if sub == b"CHANNELS" else self.shard_channels
            match = matcher(args[2], every_key=False) if len(args) == 3 else None
            return [name for name in names if match is None or match(name)]
        if sub in (b"NUMSUB", b"SHARDNUMSUB"):
            names = self.channels if sub == b"NUMSUB" else self.shard_channels
            return [w for name in args[2:] for w in (name, len(names.get(name, ())))]
        return len(self.patterns)  # NUMPAT


PUBSUB_HELP = [
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
]
