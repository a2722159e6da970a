"""Regenerate resp_kv/redis_commands.json: what redis-server's COMMAND INFO says about each
command of ours beyond its arity, flags and key positions (ACL categories, tips, key specs and
subcommands), read from a running redis-server 7.0 in RESP3.

    .venv/bin/python tools/redis_commands.py [PORT]     (default 6379)

The file is data about Redis's interface (what clients route by), not code; the compat test
``test_the_command_table_and_key_positions_are_redis`` checks it against redis-server.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resp_kv.commands import (  # noqa: E402
    ADMIN_COMMANDS, CONNECTION_COMMANDS, DATA_COMMANDS, PUBSUB_COMMANDS, TRANSACTION_COMMANDS,
)

OUT = Path(__file__).resolve().parents[1] / "resp_kv" / "redis_commands.json"


class Reader:
    """Just enough RESP3 to read COMMAND INFO: statuses and sets become plain strings and lists
    (the server's shapes are fixed by field, see resp_kv/commandinfo.py)."""

    def __init__(self, sock: socket.socket):
        self.file = sock.makefile("rb")

    def read(self):
        line = self.file.readline()[:-2]
        kind, head = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return head.decode()
        if kind == b":":
            return int(head)
        if kind == b"$":
            data = self.file.read(int(head) + 2)[:-2]
            return data.decode()
        if kind in (b"*", b"~"):
            return [self.read() for _ in range(int(head))]
        if kind == b"%":
            return {self.read(): self.read() for _ in range(int(head))}
        if kind == b"_":
            return None
        raise ValueError(f"unexpected reply {line!r}")


def call(sock: socket.socket, reader: Reader, *words: str):
    sock.sendall(b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words))
    return reader.read()


def extra(info: list) -> dict:
    """Fields 7-10 of one COMMAND INFO entry."""
    return {"acl": info[6], "tips": info[7], "key_specs": info[8],
            "subcommands": [sub[:6] + [extra(sub)] for sub in info[9]]}


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    sock = socket.create_connection(("127.0.0.1", port))
    reader = Reader(sock)
    call(sock, reader, "HELLO", "3")
    names = sorted({cmd.name.lower() for table in (CONNECTION_COMMANDS, DATA_COMMANDS, TRANSACTION_COMMANDS,
                                                     PUBSUB_COMMANDS, ADMIN_COMMANDS) for cmd in table})
    out = {}
    for name, info in zip(names, call(sock, reader, "COMMAND", "INFO", *names)):
        if info is not None:
            out[name] = extra(info)
    lines = [f"{json.dumps(name)}: {json.dumps(fields)}" for name, fields in out.items()]  # maps keep their order
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"{OUT}: {len(out)} commands")


if __name__ == "__main__":
    main()
