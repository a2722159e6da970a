"""``viewd``: parse the command line and run the view daemon until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse

import logging

from resp_kv.daemon import (
    Parser, add_limit_flags, add_security_flags, cluster_secret, limits_from, port_number, positive_float,
    positive_int, run, setup_logging, tls_from,
)

from .server import ViewServer

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def log_level(text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"invalid log level {text!r} (choose from {', '.join(LOG_LEVELS)})")
    return text.lower()


def service_name(text: str) -> str:
    if not text or any(ch.isspace() for ch in text):
        raise argparse.ArgumentTypeError(f"invalid service name {text!r}: it must be one non-empty word")
    return text


def build_parser() -> Parser:
    parser = Parser(prog="viewd", description="The resp-kv view daemon: tracks which server is "
                    "primary and which is backup, and answers Redis Sentinel queries.")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port_number, default=26379, help="port to listen on")
    parser.add_argument("--ping-interval", type=positive_float, default=0.1,
                        help="seconds between ticks; servers ping this often")
    parser.add_argument("--dead-pings", type=positive_int, default=5,
                        help="a server is dead after this many ping intervals without a ping")
    parser.add_argument("--name", type=service_name, default="resp-kv",
                        help="the service name Sentinel clients ask for")
    add_security_flags(parser, "the Sentinel side: SENTINEL, VIEW.GET, INFO, ROLE")
    add_limit_flags(parser)
    parser.add_argument("--log-level", type=log_level, default="info", help=", ".join(LOG_LEVELS))
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level, "viewd")
    log = logging.getLogger("viewd")
    limits, secret, tls = limits_from(args, log), cluster_secret(parser, args), tls_from(parser, args)

    async def start():
        server = ViewServer(args.name, args.ping_interval, args.dead_pings, limits, secret,
                            args.requirepass.encode() if args.requirepass else None)
        await server.start(args.bind, args.port, tls.server if tls else None)
        return server.stop

    run("viewd", start, f"{args.bind}:{args.port}")


if __name__ == "__main__":
    main()
