"""HTTPS on loopback: a throwaway certificate authority, a server context, and clients that trust it.

``Secure`` cookies only travel over HTTPS, so the cookie demos need real TLS. ``trustme`` makes a
private CA in memory; the server presents a certificate it issued for 127.0.0.1, and a
``requests.Session`` that trusts only that CA plays the browser.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import weakref
from pathlib import Path
from typing import Any

import requests
import trustme

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


class LocalTLS:
    """A private CA, a server ``SSLContext`` for loopback, and the CA's PEM file for clients."""

    def __init__(self, hosts: tuple[str, ...] = LOOPBACK_NAMES) -> None:
        self.ca = trustme.CA(organization_name="authkit course throwaway CA")
        self.server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._leaf = self.ca.issue_cert(*hosts)
        self._leaf.configure_cert(self.server_context)
        self._folder = Path(tempfile.mkdtemp(prefix="authkit-tls-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        self.ca_file = str(self._folder / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

    def server_files(self) -> tuple[str, str]:
        """The server's certificate chain and private key as PEM files, for ``gunicorn --certfile --keyfile``."""
        cert_file, key_file = self._folder / "server-chain.pem", self._folder / "server-key.pem"
        if not key_file.exists():
            cert_file.write_bytes(b"".join(blob.bytes() for blob in self._leaf.cert_chain_pems))
            key_file.touch(mode=0o600)
            self._leaf.private_key_pem.write_to_path(str(key_file))
        return str(cert_file), str(key_file)

    def client(self, headers: dict[str, str] | None = None) -> requests.Session:
        """A ``requests.Session`` that trusts this CA (and no other): our stand-in for a browser."""
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE and proxy variables override ``verify``
        session.verify = self.ca_file
        session.headers.update(headers or {})
        return session

    def close(self) -> None:
        """Delete the CA file."""
        self._cleanup()

    def __enter__(self) -> "LocalTLS":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
