"""Two services: an auth service that signs and publishes its JWKS, a resource service that trusts it."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request

from authkit.tokens import jws
from authkit.errors import TokenError
from authkit.tokens.keys import KeySet
from authkit.tokens.issuer import ACCESS_TOKEN_TYPE, TokenIssuer, TokenVerifier
from authkit.web.bearer_app import parse_bearer
from authkit.web.body import json_object

JWKS_PATH = "/.well-known/jwks.json"
JWKS_MAX_AGE = 60  # seconds a verifier may cache the key set: how long a retired key can linger
REALM = "authkit"


def create_auth_app(keys: KeySet, issuer: str, audience: str, *, token_endpoint: bool = True) -> Flask:
    """The auth service: ``GET /.well-known/jwks.json`` and, unless ``token_endpoint=False``, a demo ``POST /token``.

    The demo endpoint mints an access token for any subject it is sent, without a password: it stands
    in for a login in the notebooks, and must never be reachable in a deployment.
    """
    app = Flask("authkit.auth")
    tokens = TokenIssuer(keys, issuer=issuer, audience=audience)

    @app.get(JWKS_PATH)
    def jwks() -> Response:
        """The public keys, current and not yet retired (RFC 7517 §5)."""
        response = jsonify(keys.jwks())
        response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
        return response

    if not token_endpoint:
        return app

    @app.post("/token")
    def token() -> tuple[Response, int]:
        """Demo stand-in for a login: an access token for the JSON body's ``sub`` (and ``scope``)."""
        body = json_object() or {}
        sub, scope = body.get("sub"), body.get("scope", "")
        if not isinstance(sub, str) or not 0 < len(sub) <= 64 or not isinstance(scope, str):
            return jsonify(error="invalid_request", error_description='send JSON {"sub": "<name>"}'), 400
        access = tokens.issue_access(sub, scope=scope)
        expires_in = int(tokens.access_ttl.total_seconds())
        response = jsonify(access_token=access, token_type="Bearer", expires_in=expires_in)
        response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1
        return response, 200

    return app


def _bearer_error(status: int, error: str | None = None, description: str | None = None) -> tuple[Response, int]:
    """An RFC 6750 §3 refusal: status, ``WWW-Authenticate: Bearer …`` and a JSON body."""
    challenge = f'Bearer realm="{REALM}"'
    body = {"error_description": "bearer token required"}  # no credentials: no error code (RFC 6750 §3.1)
    if error:
        challenge += f', error="{error}", error_description="{description}"'
        body = {"error": error, "error_description": description or error}
    response = jsonify(body)
    response.headers["WWW-Authenticate"] = challenge
    return response, status


def create_resource_app(
    jwks_url: str,
    issuer: str,
    audience: str,
    *,
    jwks_lifespan: float = float(JWKS_MAX_AGE),
    jwks_cooldown: float = 1.0,
) -> Flask:
    """The resource service: ``GET /me`` accepts access tokens whose key it finds at ``jwks_url``."""
    app = Flask("authkit.resource")
    verifier = TokenVerifier(
        jws.jwks_client(jwks_url, lifespan=jwks_lifespan, cooldown=jwks_cooldown), issuer=issuer, audience=audience
    )

    @app.get("/me")
    def me() -> Any:
        """Who the bearer token says the caller is, and which key vouched for it."""
        try:
            token = parse_bearer(request.headers.get("Authorization"))
        except ValueError:
            return _bearer_error(400, "invalid_request", "use Authorization: Bearer <token>")
        if token is None:  # no credentials, or another scheme: the bare challenge (RFC 6750 §3.1)
            return _bearer_error(401)
        try:
            header, claims = verifier.verify_complete(token, typ=ACCESS_TOKEN_TYPE)
        except TokenError as err:
            return _bearer_error(401, "invalid_token", err.reason)
        return jsonify(sub=claims["sub"], scope=claims.get("scope", ""), kid=header["kid"])

    return app
