"""Start the browser lab: the bank and the attacker on loopback over HTTPS, and a Chromium that trusts them."""

from __future__ import annotations

import atexit
from typing import Any
from urllib.parse import quote

import requests

from authkit.web.lab.browser import Chromium, Profile, spki_pin
from authkit.tokens.keys import KeySet, SigningKey
from authkit.state.redis import connect, free_port
from authkit.state.refresh import RefreshFamilies, TokenService
from authkit.state.revocation import AccessGuard, RevocationStore
from authkit.state.sessions import SessionStore
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from authkit.web import bearer_app, cookie_app
from authkit.web.bff import create_bff_app, create_key_publisher
from authkit.web.jwks import JWKS_PATH, create_resource_app
from authkit.web.lab.attacker import Loot, create_attacker_app
from authkit.web.lab.bank import LAB_COST, BankState, create_bank_app, create_refresh_cookie_app
from authkit.web.lab.recorder import Recorder
from authkit.web.server import RunningServer, serve
from authkit.web.tls import LocalTLS

#: Every name the certificate covers. Chromium resolves ``localhost`` and ``*.localhost`` to loopback itself.
HOSTS = ("127.0.0.1", "localhost", "*.bank.localhost")
API_ISSUER, API_AUDIENCE = "https://bank.example", "https://bank.example/api"
BFF_ISSUER, BFF_AUDIENCE = "https://bff.bank.example", "https://internal.bank.example"
#: The password of each demo user for each way of logging in.
PASSWORDS = {"token": bearer_app.DEMO_ACCOUNTS, "refresh-cookie": bearer_app.DEMO_ACCOUNTS,
             "cookie": cookie_app.DEMO_ACCOUNTS, "bff": cookie_app.DEMO_ACCOUNTS}


_running: list[Lab] = []


class Lab:
    """The bank (``https://127.0.0.1:P``) and the attacker (``https://localhost:Q``), each recording what it receives.

    The same two servers answer under a second pair of names that are *same-site* siblings,
    ``app.bank.localhost`` and ``evil.bank.localhost``, for the attacks that a sibling subdomain can make.
    """

    def __init__(self) -> None:
        self.tls = LocalTLS(HOSTS)
        self.redis = connect(fresh=True)
        self.store = SessionStore(self.redis)
        self.servers: list[RunningServer] = []
        bank_port, attacker_port = free_port(), free_port()
        self.bank_url, self.bank_named_url = f"https://127.0.0.1:{bank_port}", f"https://app.bank.localhost:{bank_port}"
        self.attacker_url = f"https://localhost:{attacker_port}"
        self.sibling_url = f"https://evil.bank.localhost:{attacker_port}"
        self.users = cookie_app.demo_users(LAB_COST)
        self.minted: list[str] = []
        self.state = BankState()
        mounts = self._services({self.bank_url, self.bank_named_url})
        self.bank = Recorder(create_bank_app(self.state, self.store, self.users, mounts), "bank")
        self.loot = Loot()
        self.attacker = Recorder(create_attacker_app(self.loot), "attacker")
        self.servers += [serve(self.bank, ssl_context=self.tls.server_context, port=bank_port),
                         serve(self.attacker, ssl_context=self.tls.server_context, port=attacker_port)]
        self.pin = spki_pin(self.bank_url)  # both HTTPS servers present the same certificate
        self.chromium = Chromium(pins=[self.pin])
        _running.append(self)

    def _services(self, trusted: set[str]) -> dict[str, Any]:
        """The course's apps by the path the bank mounts them under (the BFF's two helper servers start here)."""
        api_users = bearer_app.demo_users(LAB_COST)
        keys = KeySet(SigningKey.generate("EdDSA"))
        api = bearer_app.create_app({"ISSUER": API_ISSUER, "AUDIENCE": API_AUDIENCE, "USERS": api_users,
                                     "PASSWORD_COST": LAB_COST},
                                    redis_client=self.redis, keys=keys)
        verifier = TokenVerifier(keys, issuer=API_ISSUER, audience=API_AUDIENCE)
        guard = AccessGuard(verifier, "denylist+version", RevocationStore(self.redis))  # as the bearer API's
        service = TokenService(TokenIssuer(keys, issuer=API_ISSUER, audience=API_AUDIENCE), verifier,
                               RefreshFamilies(self.redis), guard)

        bff_keys = KeySet(SigningKey.generate("EdDSA"))
        publisher = serve(create_key_publisher(bff_keys))
        internal = serve(create_resource_app(f"{publisher.url}{JWKS_PATH}", BFF_ISSUER, BFF_AUDIENCE))
        self.servers += [publisher, internal]
        bff = create_bff_app(self.store, bff_keys, internal_url=internal.url, issuer=BFF_ISSUER,
                             audience=BFF_AUDIENCE, users=self.users, trusted_origins=trusted,
                             password_cost=LAB_COST, on_mint=self.minted.append)
        cookie = cookie_app.create_cookie_app(self.store, self.users, trusted_origins=trusted, password_cost=LAB_COST)
        return {"/bearer": api, "/cookie": cookie, "/rt": create_refresh_cookie_app(service, api_users, trusted),
                "/bff": bff}

    @classmethod
    def current(cls) -> Lab:
        """The lab most recently started and still running in this process, else a new one (stopped at exit)."""
        if _running:
            return _running[-1]
        lab = cls()
        atexit.register(lab.stop)
        return lab

    @property
    def same_host_attacker_url(self) -> str:
        """The attacker's server under the bank's own host name: same host, another port."""
        return f"https://app.bank.localhost:{self.attacker_url.rsplit(':', 1)[1]}"

    @property
    def collect_url(self) -> str:
        """Where the attacker's payloads send what they took."""
        return f"{self.attacker_url}/collect"

    def victim(self, *, third_party_cookies: bool = False) -> Profile:
        """A fresh browser profile: a victim with no cookies, no storage, no history."""
        return self.chromium.profile(third_party_cookies=third_party_cookies)

    def link(self, q: str, base: str | None = None) -> str:
        """The bank page with ``q`` in its URL: what a victim gets by clicking the attacker's link."""
        return f"{base or self.bank_url}/?q={quote(q)}"

    def login(self, page: Any, kind: str, user: str = "alice", base: str | None = None) -> list[str]:
        """Open the bank page and let its own script log ``user`` in the ``kind`` way; the answer's field names."""
        page.goto(f"{base or self.bank_url}/")
        return page.evaluate("([k, u, p]) => bank.login(k, u, p)", [kind, user, PASSWORDS[kind][user][0]])

    def thief(self) -> requests.Session:
        """An HTTP client on another machine, as far as the bank can tell: no browser, no cookies."""
        return self.tls.client({"User-Agent": "thief"})

    def reset(self) -> None:
        """Forget what every server recorded and what the attacker collected."""
        self.bank.clear()
        self.attacker.clear()
        self.loot.items.clear()
        self.state.reports.clear()
        self.state.ledger.clear()

    def stop(self) -> None:
        """Close the browser, stop every server, delete the CA file."""
        if self in _running:
            _running.remove(self)
        self.chromium.close()
        for server in self.servers:
            server.stop()
        self.tls.close()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
