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
        self.ca.issue_cert(*hosts).configure_cert(self.server_context)
        folder = tempfile.mkdtemp(prefix="authkit-tls-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        self.ca_file = str(Path(folder) / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

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
