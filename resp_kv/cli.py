"""pbc: Get, Put and PutHash from a shell, through the view daemon and the smart client."""

from __future__ import annotations

import argparse
import os
import sys

from .client import Client, Unavailable
from .daemon import UsageError, fail, parse_address, positive_float


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pbc",
        description="Get, put or puthash a key in a resp-kv service, found through its view daemon.",
        epilog="pbc VIEWD KEY (get) | pbc VIEWD KEY VALUE (put) | pbc --puthash VIEWD KEY VALUE | pbc --view VIEWD")
    p.add_argument("--puthash", action="store_true", help="PUTHASH: print the previous value")
    p.add_argument("--view", action="store_true", help="print the current view and exit")
    p.add_argument("--timeout", type=positive_float, default=None,
                   help="give up after this many seconds (default: keep retrying)")
    p.add_argument("--password", default=os.environ.get("RESP_KV_PASSWORD"),
                   help="the client password (--requirepass) of viewd and the servers (env RESP_KV_PASSWORD)")
    p.add_argument("--tls", action="store_true", help="connect with TLS (as redis-cli --tls)")
    p.add_argument("--cacert", help="the CA to verify the servers against (PEM)")
    p.add_argument("--cert", dest="certfile", help="this client's certificate (PEM), for servers that ask for one")
    p.add_argument("--key", dest="keyfile", help="this client's private key (PEM)")
    p.add_argument("viewd", help="HOST:PORT of the view daemon")
    p.add_argument("key", nargs="?")
    p.add_argument("value", nargs="?")
    return p


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        parse_address(args.viewd, "view daemon address")
    except UsageError as exc:
        parser.error(str(exc))
    if not args.view and args.key is None:
        parser.error("a KEY is required")
    if args.puthash and args.value is None:
        parser.error("--puthash needs a KEY and a VALUE")
    options = {"password": args.password} if args.password else {}
    if args.tls:
        options.update(ssl=True, ssl_ca_certs=args.cacert, ssl_certfile=args.certfile, ssl_keyfile=args.keyfile)
    client = Client(args.viewd, timeout=args.timeout, **options)
    out = sys.stdout.buffer
    try:
        if args.view:
            viewnum, primary, backup = client.view()
            out.write(f"viewnum: {viewnum}\nprimary: {primary}\nbackup: {backup}\n".encode())
        elif args.puthash:
            out.write(client.puthash(args.key, args.value) + b"\n")
        elif args.value is not None:
            client.set(args.key, args.value)
            out.write(b"OK\n")
        else:
            out.write((client.get(args.key) or b"") + b"\n")
    except Unavailable as exc:
        fail("pbc", str(exc))
    except (ConnectionError, OSError) as exc:
        fail("pbc", f"cannot reach the view daemon at {args.viewd}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a server error is reported as one line
        fail("pbc", str(exc))
    finally:
        client.close()


if __name__ == "__main__":
    main()
