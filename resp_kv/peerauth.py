"""The cluster's own channel: a connection proves it knows ``--cluster-secret`` without sending it.

    PEER.CHALLENGE                       -> a fresh random nonce Ns, kept on the connection
    PEER.PROVE <id> <Nc> <mac("peer")>   -> mac("server"): the connection is now <id>'s

where ``mac(side) = HMAC-SHA256(secret, side | Ns | Nc | id)``. The server learns that the
peer knows the secret and which server (``HOST:PORT``) it speaks for; the peer learns the same
of the server from its answer (so a primary never streams its state to an impostor). From then
on the connection is the peer's: viewd takes ``VIEW.PING`` only for that id, and a backup takes
``PB.*`` only from the connection its current primary proved itself on.

What it protects against: clients (with or without the client password) registering servers,
acknowledging views, fencing a primary or writing into a backup; replaying a recorded proof (a
new nonce per connection); learning the secret by listening (only MACs cross the wire). What
it does not: without TLS, someone on the path can read the data, or hijack a connection after
the proof; and every holder of the secret can speak for any server id (the secret is the
cluster's one trust root). Use TLS where the network is not trusted.

Without a secret the channel is open, as it always was, which is allowed only on loopback.
This module decides whether a proof holds; the shells decide what a proven connection may do.
"""

from __future__ import annotations

import hmac
import os
from hashlib import sha256

from .daemon import UsageError, parse_address
from .protocol import Error

CHALLENGE = b"PEER.CHALLENGE"
PROVE = b"PEER.PROVE"
NOT_PROVEN = Error("NOPERM this connection has not proved the cluster secret (PEER.CHALLENGE, PEER.PROVE)")


def nonce() -> bytes:
    return os.urandom(16).hex().encode()


def mac(secret: bytes, side: bytes, server_nonce: bytes, peer_nonce: bytes, peer_id: bytes) -> bytes:
    message = b"\n".join((b"resp-kv peer", side, server_nonce, peer_nonce, peer_id))
    return hmac.new(secret, message, sha256).hexdigest().encode()


def valid_id(peer_id: str) -> bool:
    """A server id is the ``HOST:PORT`` it is reached at."""
    try:
        parse_address(peer_id)
    except UsageError:
        return False
    return True


class PeerAuth:
    """The server side: PEER.CHALLENGE and PEER.PROVE, as commands of a RESP server.
    ``secret`` None means the open channel (loopback only): every connection may speak."""

    def __init__(self, secret: bytes | None):
        self.secret = secret

    def cmd_peer_challenge(self, conn, args):
        if self.secret is None:
            return Error("ERR no cluster secret is configured")
        conn.challenge = nonce()
        return conn.challenge

    def cmd_peer_prove(self, conn, args):
        challenge, conn.challenge = conn.challenge, None  # one proof per challenge
        if self.secret is None:
            return Error("ERR no cluster secret is configured")
        peer_id, peer_nonce, proof = args[1], args[2], args[3]
        if challenge is None:
            return Error("ERR PEER.PROVE without PEER.CHALLENGE")
        if not valid_id(peer_id.decode("utf-8", "replace")):
            return Error("ERR a server id is its HOST:PORT")
        if not hmac.compare_digest(proof, mac(self.secret, b"peer", challenge, peer_nonce, peer_id)):
            return Error("WRONGPASS the cluster secret does not match")
        conn.peer = peer_id.decode()
        return mac(self.secret, b"server", challenge, peer_nonce, peer_id)

    def speaker(self, conn, claimed: str) -> str | None:
        """Whom a message on ``conn`` speaks for: the proven id (None if unproven), or with
        no secret, whoever it claims to be."""
        if self.secret is None:
            return claimed
        return conn.peer


async def prove(peer, secret: bytes, me: str, timeout: float) -> None:
    """The peer side, on a fresh connection (a ``peer.Peer``): prove the secret as ``me`` and
    check the server's answer; raises ConnectionError if either side does not know it."""
    server_nonce = await peer.call(CHALLENGE, timeout=timeout)
    if not isinstance(server_nonce, bytes):
        raise ConnectionError(f"PEER.CHALLENGE refused: {server_nonce}")
    peer_nonce, ident = nonce(), me.encode()
    answer = await peer.call(PROVE, ident, peer_nonce, mac(secret, b"peer", server_nonce, peer_nonce, ident),
                             timeout=timeout)
    if not isinstance(answer, bytes) or not hmac.compare_digest(
            answer, mac(secret, b"server", server_nonce, peer_nonce, ident)):
        raise ConnectionError(f"the server did not prove the cluster secret: {answer}")
