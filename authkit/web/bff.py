"""The hybrid architecture: a session cookie at the edge, short-lived JWTs behind it.

A backend-for-frontend (BFF) faces the browser over HTTPS with a ``__Host-`` session cookie kept
in Redis, so logout at the edge is immediate. For each API call it mints a 60-second access token
and forwards the call to an internal service, which verifies the token offline through the BFF's
published JWKS. The browser never holds a JWT; once the session is gone, no new token is minted,
and the last one minted dies within its 60 seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any

import requests
from flask import Flask, Response, g, jsonify, request

from authkit.errors import CsrfRejected, LoginRefused, SessionError, StoreUnavailable
from authkit.tokens.keys import KeySet, SigningKey
from authkit.login.authenticate import PasswordLogin
from authkit.login.hashing import DEFAULT_ARGON2, Argon2Cost
from authkit.login.passwords import ScryptCost
from authkit.login.users import UserDirectory
from authkit.state.sessions import Session, SessionStore
from authkit.tokens.issuer import TokenIssuer
from authkit.web.cookie_app import (
    COOKIE_NAME, CSRF_HEADER, add_session_response_hooks, clear_session_cookie, end_presented_session,
    login_refused, password_login, refuse_forgery, refuse_untrusted_origin, request_origin, session_cookie,
    trusted_origins_config,
)
from authkit.web.jwks import JWKS_MAX_AGE, JWKS_PATH, create_resource_app
from authkit.web.body import json_object
from authkit.web.fetch_metadata import add_fetch_metadata_policy
from authkit.web.server import serve
from authkit.web.tls import LocalTLS

INTERNAL_TOKEN_TTL = timedelta(seconds=60)  # the longest a minted token outlives the edge session
INTERNAL_TIMEOUT = 5.0  # seconds the BFF waits for the internal service
#: The BFF is an API its own single-page app calls with fetch from its own origin: no flow needs the cookie
#: on a request another site starts, not even a top-level link (the page it would open is the app, which
#: holds no state of its own), so the cookie is Strict. A site whose pages are reached by links from mail
#: or other sites, and render the user's state at once, keeps Lax (the cookie app's default).
SAME_SITE = "Strict"


def create_key_publisher(keys: KeySet) -> Flask:
    """The internal JWKS endpoint: public keys only, for services that verify the BFF's tokens."""
    app = Flask("authkit.bff_keys")

    @app.get(JWKS_PATH)
    def jwks() -> Response:
        """The BFF's public signing keys (RFC 7517 §5)."""
        response = jsonify(keys.jwks())
        response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
        return response

    return app


def create_bff_app(
    store: SessionStore,
    keys: KeySet,
    *,
    internal_url: str,
    issuer: str,
    audience: str,
    token_ttl: timedelta = INTERNAL_TOKEN_TTL,
    users: UserDirectory | None = None,
    trusted_origins: Collection[str] = (),
    password_cost: Argon2Cost | ScryptCost = DEFAULT_ARGON2,
    on_mint: Callable[[str], None] | None = None,
    login: PasswordLogin | None = None,
) -> Flask:
    """The edge: ``POST /login``, ``GET /api/me`` (forwarded with a fresh JWT), ``POST /logout``.

    ``trusted_origins`` and ``password_cost`` as in ``create_cookie_app`` (no trusted origin: every
    state-changing request refused). ``on_mint`` sees every token minted (for demonstrations and
    tests); the browser never does.
    """
    if not keys.current.public_jwk():
        raise ValueError("the BFF signs with an asymmetric key: internal services must not hold a secret")
    origins = trusted_origins_config(trusted_origins)
    tokens = TokenIssuer(keys, issuer=issuer, audience=audience, access_ttl=token_ttl)
    upstream = requests.Session()
    upstream.trust_env = False  # no proxy from the environment between the BFF and its service
    app = Flask("authkit.bff")
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
    app.config["TRUSTED_ORIGINS"] = origins
    logins = login if login is not None else password_login(users, password_cost, "bff")
    app.config["USERS"] = logins.directory

    def origin() -> str | None:
        return request_origin(request.headers.get("Origin"), request.headers.get("Referer"))

    def current_session() -> Session:
        """The cookie's session; on POST first a trusted Origin and the CSRF token, before the store is touched."""
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie:
            raise SessionError("missing", "no session cookie: log in first")
        if request.method == "POST":
            refuse_forgery(store, cookie, request.headers.get(CSRF_HEADER), origin(), app.config["TRUSTED_ORIGINS"])
        g.session = store.validate(cookie)  # one round trip; slides the idle deadline
        return g.session

    @app.post("/login")
    def login() -> Response | tuple[Response, int]:
        """Check the password, drop any session the browser brought, start a fresh one; no token reaches the browser."""
        refuse_untrusted_origin(origin(), app.config["TRUSTED_ORIGINS"])
        data = json_object() or {}
        username, password = data.get("username"), data.get("password")
        user = logins.check(username, password, request.remote_addr)  # type: ignore[arg-type]
        end_presented_session(store, request.cookies.get(COOKIE_NAME))
        session = store.create(user.id, roles=user.roles)
        response = jsonify(user=username, csrf_token=session.csrf_token)
        response.headers.add("Set-Cookie", session_cookie(session.id, SAME_SITE))
        return response

    @app.get("/api/me")
    def me() -> Response | tuple[Response, int]:
        """Validate the cookie, mint a short JWT for this call, forward it to the internal service."""
        session = current_session()
        token = tokens.issue_access(session.user_id, scope=" ".join(session.roles))
        if on_mint is not None:
            on_mint(token)
        try:
            answer = upstream.get(f"{internal_url}/me", headers={"Authorization": f"Bearer {token}"},
                                  timeout=INTERNAL_TIMEOUT)
        except requests.RequestException as err:
            return jsonify(error="bad_gateway", message=f"internal service unreachable ({type(err).__name__})"), 502
        if answer.status_code != 200:
            return jsonify(error="bad_gateway", message=f"internal service said {answer.status_code}"), 502
        try:
            body = answer.json()
            user, scope = body["sub"], body["scope"]
        except (ValueError, TypeError, KeyError):
            return jsonify(error="bad_gateway", message="internal service gave an unreadable answer"), 502
        return jsonify(user=user, scope=scope, token_ttl=int(token_ttl.total_seconds()))

    @app.post("/logout")
    def logout() -> Response:
        """Trusted Origin and CSRF token, then delete the session: no token is minted for it again."""
        session = current_session()
        store.destroy(session.id)
        response = jsonify(logged_out=True)
        response.headers.add("Set-Cookie", clear_session_cookie(SAME_SITE))
        return response

    @app.errorhandler(SessionError)
    def session_refused(err: SessionError) -> tuple[Response, int]:
        response = jsonify(error=err.reason, message=err.args[0])
        if request.cookies.get(COOKIE_NAME):
            response.headers.add("Set-Cookie", clear_session_cookie(SAME_SITE))
        return response, 401

    @app.errorhandler(CsrfRejected)
    def csrf_refused(err: CsrfRejected) -> tuple[Response, int]:
        return jsonify(error=err.reason, message=err.args[0]), 403

    @app.errorhandler(StoreUnavailable)
    def store_down(err: StoreUnavailable) -> tuple[Response, int]:
        return jsonify(error=err.reason, message="the session store is unreachable"), 503

    app.register_error_handler(LoginRefused, login_refused)
    add_fetch_metadata_policy(app)
    add_session_response_hooks(app, SAME_SITE)
    return app


class Hybrid:
    """All three on loopback: JWKS publisher and internal service over HTTP, the BFF over HTTPS."""

    def __init__(self, store: SessionStore, *, issuer: str = "https://bff.example",
                 audience: str = "https://internal.example", token_ttl: timedelta = INTERNAL_TOKEN_TTL,
                 users: UserDirectory | None = None, password_cost: Argon2Cost | ScryptCost = DEFAULT_ARGON2) -> None:
        self.keys = KeySet(SigningKey.generate("EdDSA"))
        self.minted: list[str] = []
        self.tls = LocalTLS()
        self.publisher = serve(create_key_publisher(self.keys))
        self.internal = serve(create_resource_app(f"{self.publisher.url}{JWKS_PATH}", issuer, audience))
        bff = create_bff_app(store, self.keys, internal_url=self.internal.url, issuer=issuer, audience=audience,
                             token_ttl=token_ttl, users=users, password_cost=password_cost, on_mint=self.minted.append)
        self.edge = serve(bff, ssl_context=self.tls.server_context)
        bff.config["TRUSTED_ORIGINS"] = trusted_origins_config({self.edge.url})  # known once the port is

    @property
    def url(self) -> str:
        """The BFF's HTTPS origin, the only address a browser knows."""
        return self.edge.url

    def browser(self) -> requests.Session:
        """A client that trusts the throwaway CA and sends the BFF's Origin, as a browser would."""
        return self.tls.client(headers={"Origin": self.url})

    def stop(self) -> None:
        """Stop the three servers and drop the CA."""
        for server in (self.edge, self.internal, self.publisher):
            server.stop()
        self.tls.close()

    def __enter__(self) -> Hybrid:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
