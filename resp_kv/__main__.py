"""pbd: one resp-kv server. ``python -m resp_kv`` or the ``pbd`` console script."""

from __future__ import annotations

import logging

from .daemon import (
    Parser, add_limit_flags, add_security_flags, address_type, cluster_secret, limits_from, memory_size, port_number,
    positive_float, positive_int, run, setup_logging, tls_from,
)


def build_parser() -> Parser:
    p = Parser(prog="pbd", description="A resp-kv server: a replicated key/value store that speaks RESP.")
    p.add_argument("--viewd", required=False, default=None, type=address_type("--viewd address"),
                   help="HOST:PORT of the view daemon (required)")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", default=6379, type=port_number, help="port to listen on")
    p.add_argument("--advertise", default=None, type=address_type("--advertise address"),
                   help="HOST:PORT others reach this server at (default: BIND:PORT)")
    p.add_argument("--ping-interval", default=0.1, type=positive_float, help="seconds between pings to viewd")
    p.add_argument("--session-ttl", default=3600.0, type=positive_float,
                   help="seconds an idle smart client's exactly-once entry is kept")
    p.add_argument("--max-sessions", default=1_000_000, type=positive_int,
                   help="most smart clients remembered for exactly-once")
    p.add_argument("--max-sessions-memory", default=64 * 1024**2, type=memory_size,
                   help="most memory for the exactly-once table (ids and replies; 64mb)")
    add_security_flags(p, "data and admin commands")
    add_limit_flags(p)
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.viewd is None:
        parser.error("the following arguments are required: --viewd (or RESP_KV_VIEWD)")
    if args.advertise is None and args.bind in ("0.0.0.0", "::", ""):
        parser.error(f"listening on {args.bind!r} needs --advertise HOST:PORT (or RESP_KV_ADVERTISE): "
                     "the address viewd, clients and the primary can reach this server at")
    from .node import Node, Settings

    setup_logging(args.log_level, f"pbd[{args.advertise or f'{args.bind}:{args.port}'}]")
    settings = Settings(
        args.viewd, args.bind, args.port, args.advertise or "", args.ping_interval, args.session_ttl,
        args.max_sessions, args.max_sessions_memory, limits=limits_from(args, logging.getLogger("pbd")),
        cluster_secret=cluster_secret(parser, args), tls=tls_from(parser, args),
        requirepass=args.requirepass.encode() if args.requirepass else None)

    async def start():
        node = Node(settings)
        await node.start()
        return node.stop

    run("pbd", start, f"{settings.bind}:{settings.port}")


if __name__ == "__main__":
    main()
