"""A certificate authority and one certificate it signed, made with the openssl command for a
test (nothing is downloaded): what a TLS cluster and its clients are given."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TLSFiles:
    ca: str
    cert: str
    key: str

    def server_args(self) -> list[str]:
        return ["--tls-cert-file", self.cert, "--tls-key-file", self.key, "--tls-ca-cert-file", self.ca]

    def client_kwargs(self) -> dict:
        """redis-py's (and the smart client's) keyword arguments for these files."""
        return {"ssl": True, "ssl_ca_certs": self.ca, "ssl_certfile": self.cert, "ssl_keyfile": self.key}

    def cli_args(self) -> list[str]:
        """redis-cli's (and pbc's) flags for these files."""
        return ["--tls", "--cacert", self.ca, "--cert", self.cert, "--key", self.key]


def make_tls_files(folder: Path) -> TLSFiles:
    """A CA, and a certificate for 127.0.0.1 / localhost signed by it (servers and clients
    alike present it, as Redis's own test suite does)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.crt", folder / "ca.key"
    cert, key, csr = folder / "node.crt", folder / "node.key", folder / "node.csr"
    ext = folder / "node.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=resp-kv test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return TLSFiles(str(ca), str(cert), str(key))
