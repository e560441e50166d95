"""A bearer-token API: login, /me, /admin, refresh, logins, logout, with RFC 6750 errors and Redis behind it.

``/login`` is OAuth's resource owner password credentials grant (RFC 6749 §4.3): the client sees the
password. RFC 9700 §2.4 says it MUST NOT be used and OAuth 2.1 omits it; it stands here as a first-party
teaching device, and notebook 10 replaces it with the authorization code grant and PKCE.
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import timedelta
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from authkit.state.durability import UNAVAILABLE_AT_STARTUP
from authkit import events
from authkit.errors import LoginRefused, StoreUnavailable, TokenError
from authkit.tokens.keys import KeySet, SigningKey
from authkit.login.authenticate import PasswordLogin
from authkit.login.hashing import DEFAULT_ARGON2, Argon2Cost, PasswordHasher
from authkit.login.passwords import ScryptCost
from authkit.login.throttle import LoginThrottle
from authkit.login.users import MemoryDirectory, User, UserDirectory, demo_directory
from authkit.state.redis import connect
from authkit.state.refresh import CLIENT_KINDS, FAMILY_ABSOLUTE, GRACE, GRACE_REPEATS, PUBLIC, RefreshFamilies, TokenService
from authkit.state.revocation import AccessGuard, RevocationStore
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from authkit.web.body import json_object

REALM = "authkit"
#: RFC 6750 §3.1: each error code and the status it travels with.
BEARER_STATUS = {"invalid_request": 400, "invalid_token": 401, "insufficient_scope": 403}
#: Demo accounts: name -> (password, scope). Only their hashes are kept in the app.
DEMO_ACCOUNTS = {"alice": ("wonderland-rabbit-hole", "read"), "root": ("correct horse battery staple", "read admin")}

#: A user's live logins (refresh families) at most; a new login ends the oldest beyond it.
MAX_LOGINS = 10
FORM = "application/x-www-form-urlencoded"
_LOGIN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a family id: secrets.token_urlsafe
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an auth-scheme is a token (RFC 9110 §5.6.2)
_QUOTABLE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # RFC 6750 §3: no quote, no backslash


class GrantError(Exception):
    """A refused login or refresh (RFC 6749 §5.2): always 400, ``invalid_request`` or ``invalid_grant``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


class BearerError(Exception):
    """A refused request: the RFC 6750 error code (None when no credentials came), its text, scope."""

    def __init__(self, error: str | None, description: str = "", scope: str | None = None) -> None:
        super().__init__(description or "bearer token required")
        self.error, self.description, self.scope = error, description, scope


def parse_bearer(authorization: str | None) -> str | None:
    """The token in an ``Authorization`` header; None if no bearer credentials; ValueError if malformed."""
    if authorization is None:
        return None
    scheme, _, rest = authorization.partition(" ")
    if not _TOKEN.fullmatch(scheme):
        raise ValueError("the Authorization header does not start with an auth-scheme")
    if scheme.lower() != "bearer":
        return None  # another scheme (Basic, ...): no bearer credentials at all
    token = rest.lstrip(" ")
    if not _B64TOKEN.fullmatch(token):
        raise ValueError("expected exactly one token after 'Bearer ' (RFC 6750 §2.1 b64token)")
    return token


def www_authenticate(realm: str, error: str | None = None, description: str | None = None,
                     scope: str | None = None) -> str:
    """The ``WWW-Authenticate`` challenge of RFC 6750 §3; no error code when no credentials came."""
    params = {"realm": realm, "error": error, "error_description": description, "scope": scope}
    parts = []
    for name, value in params.items():
        if value is None:
            continue
        if not _QUOTABLE.fullmatch(value):
            raise ValueError(f"{name} may hold printable ASCII without quotes or backslashes")
        parts.append(f'{name}="{value}"')
    return "Bearer " + ", ".join(parts)


@functools.cache
def _demo_users(cost: Argon2Cost | ScryptCost) -> tuple[User, ...]:
    return tuple(demo_directory(DEMO_ACCOUNTS, PasswordHasher(cost).hash).users())


def demo_users(cost: Argon2Cost | ScryptCost = DEFAULT_ARGON2) -> MemoryDirectory:
    """A fresh directory of the demo accounts (seeded IDs), hashed at ``cost`` once per process and cost."""
    return MemoryDirectory(_demo_users(cost))


bp = Blueprint("bearer", __name__)


def _service() -> TokenService:
    return current_app.extensions["authkit.bearer"]


def _login() -> PasswordLogin:
    return current_app.extensions["authkit.login"]


def _token_outside_the_header(environ: dict[str, Any]) -> bool:
    """A token in the query string (RFC 6750 §2.3) or a form body (§2.2), each parsed only if the request has one."""
    if environ.get("QUERY_STRING") and "access_token" in request.args:
        return True
    return bool(environ.get("CONTENT_TYPE")) and request.mimetype == FORM and "access_token" in request.form


def _authenticate(required_scope: str | None = None) -> dict[str, Any]:
    """The claims of the request's access token, or a ``BearerError`` (``StoreUnavailable`` → 503)."""
    environ = request.environ  # one context-local lookup; each request.<property> would cost another
    try:
        token = parse_bearer(environ.get("HTTP_AUTHORIZATION"))
    except ValueError as err:
        raise BearerError("invalid_request", "malformed Authorization header") from err
    if _token_outside_the_header(environ):
        detail = "more than one method" if token else "send the token in the Authorization header only"
        raise BearerError("invalid_request", detail)
    if token is None:
        raise BearerError(None)
    try:
        claims = _service().guard.check(token)
    except TokenError as err:
        raise BearerError("invalid_token", f"access token refused: {err.reason}") from err
    if required_scope and required_scope not in str(claims.get("scope", "")).split():
        raise BearerError("insufficient_scope", f"this needs scope {required_scope}", required_scope)
    return claims


def _json_fields(*names: str) -> list[str]:
    """The named string fields of a JSON object body, or ``invalid_request``."""
    body = json_object() or {}
    values = [body.get(name) for name in names]
    if not all(isinstance(value, str) and 0 < len(value) <= 4096 for value in values):
        fields = ", ".join(f'"{name}": "..."' for name in names)
        raise GrantError("invalid_request", f"send a JSON object {{{fields}}}")
    return values


def _token_response(body: dict[str, Any], status: int = 200) -> tuple[Response, int]:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1: tokens never sit in a cache
    return response, status


@bp.post("/login")
def login() -> tuple[Response, int]:
    """Check a user's password; answer with an access + refresh pair whose ``sub`` is the user's stable ID."""
    username, password = _json_fields("username", "password")
    user = _login().check(username, password, request.remote_addr)
    device = request.headers.get("User-Agent", "")
    return _token_response(_service().login(user.id, scope=user.scope, device=device).as_json())


@bp.post("/refresh")
def refresh() -> tuple[Response, int]:
    """Trade a refresh token for the next pair; the presented one is spent."""
    (token,) = _json_fields("refresh_token")
    subject = None
    try:
        subject = _service().verifier.verify_refresh(token)["sub"]
        pair = _service().refresh(token)  # the store's refusals (expired, revoked, reused, 503) come first
        user = _login().directory.by_id(subject) if isinstance(subject, str) else None
        if user is None or user.disabled:  # removed even if Redis missed the log-out-everywhere
            raise GrantError("invalid_grant", "refresh token refused: the account is disabled or deleted")
    except TokenError as err:
        if err.reason == "reused":  # a stolen copy, or a client bug: an operator should know at once
            events.emit("refresh_reuse", logging.WARNING, user_id=subject, client=request.remote_addr,
                        service="bearer")
        raise GrantError("invalid_grant", f"refresh token refused: {err.reason}") from err
    return _token_response(pair.as_json())


@bp.get("/health")
def health() -> Response:
    """Liveness for a load balancer: the process answers; no token, no Redis."""
    return jsonify(status="ok")


@bp.get("/me")
def me() -> Response:
    """Who the access token says the caller is."""
    claims = _authenticate()
    return jsonify(sub=claims["sub"], scope=claims.get("scope", ""))


@bp.get("/admin")
def admin() -> Response:
    """Only for tokens with scope ``admin``."""
    claims = _authenticate("admin")
    return jsonify(sub=claims["sub"], admin=True)


@bp.post("/logout")
def logout() -> tuple[str, int]:
    """End this login: its refresh family dies; its access token too if the strategy allows."""
    _service().logout(_authenticate())
    return "", 204


@bp.get("/logins")
def logins() -> Response:
    """This user's live logins (device, start, last use, end), oldest first; the caller's is marked."""
    claims = _authenticate()
    found = [{**login.as_json(), "current": login.id == claims.get("fam")} for login in _service().logins(claims["sub"])]
    response = jsonify(logins=found)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/logins/<login_id>")
def end_login(login_id: str) -> tuple[str, int] | tuple[Response, int]:
    """End one of this user's logins: its refresh token stops working, its access tokens are refused."""
    claims = _authenticate()
    if not _LOGIN_ID.fullmatch(login_id) or not _service().end_login(claims["sub"], login_id):
        return jsonify(error="not_found", error_description="no such live login of yours"), 404
    return "", 204


@bp.post("/logout-all")
def logout_all() -> tuple[str, int]:
    """End every login of this user (one version bump)."""
    _service().logout_all(_authenticate()["sub"])
    return "", 204


@bp.errorhandler(BearerError)
def bearer_error(err: BearerError) -> tuple[Response, int]:
    """RFC 6750 §3.1: status by error code, a challenge, and the same in JSON."""
    status = BEARER_STATUS.get(err.error or "", 401)
    body = {"error": err.error, "error_description": str(err)} if err.error else {"error_description": str(err)}
    response = jsonify(body)
    realm = current_app.config["REALM"]
    response.headers["WWW-Authenticate"] = www_authenticate(realm, err.error, err.description or None, err.scope)
    return response, status


@bp.errorhandler(GrantError)
def grant_error(err: GrantError) -> tuple[Response, int]:
    """RFC 6749 §5.2: a JSON error body, status 400, not cached."""
    return _token_response({"error": err.error, "error_description": str(err)}, 400)


@bp.post("/admin/logout-user")
def logout_user() -> tuple[Response | str, int]:
    """An administrator ends every login of the user named ``username`` (scope ``admin``)."""
    _authenticate("admin")
    (username,) = _json_fields("username")
    user = _login().directory.by_name(username)
    if user is None:
        return jsonify(error="not_found", error_description="no such user"), 404
    _service().logout_all(user.id)
    events.emit("revoked", logging.WARNING, user_id=user.id, reason="administrator", service="bearer")
    return "", 204


@bp.errorhandler(LoginRefused)
def login_refused(err: LoginRefused) -> tuple[Response, int]:
    """400 ``invalid_grant`` for bad credentials (RFC 6749 §5.2), 429 throttled, 503 too busy to hash."""
    if err.reason in ("throttled", "busy"):
        response, status = _token_response({"error": "temporarily_unavailable", "error_description": str(err)},
                                           429 if err.reason == "throttled" else 503)
        response.headers["Retry-After"] = str(err.retry_after)
        return response, status
    error = "invalid_request" if err.reason == "bad_request" else "invalid_grant"
    return _token_response({"error": error, "error_description": "unknown user or wrong password"
                            if error == "invalid_grant" else str(err)}, 400)


@bp.errorhandler(StoreUnavailable)
def store_unavailable(err: StoreUnavailable) -> tuple[Response, int]:
    """Redis is unreachable: refuse with 503 (fail closed), never accept without checking."""
    response = jsonify(error="temporarily_unavailable", error_description="the token store is unreachable")
    response.headers["Retry-After"] = "1"
    return response, 503


def create_app(test_config: dict[str, Any] | None = None, *, redis_client: redis.Redis | None = None,
               keys: KeySet | None = None, refresh_keys: KeySet | None = None,
               login: PasswordLogin | None = None) -> Flask:
    """The bearer API. Config: ISSUER, AUDIENCE, REALM, ACCESS_TTL, REFRESH_TTL, REFRESH_ABSOLUTE,
    REFRESH_CLIENT, MAX_LOGINS, REVOCATION, GRACE, GRACE_REPEATS, USERS, PASSWORD_COST,
    THROTTLE, KEY_PREFIX.

    ``REFRESH_TTL`` is a login's idle lifetime (14 days), ``REFRESH_ABSOLUTE`` its cap (30 days).
    ``REFRESH_CLIENT`` (``"public"``, the default: the API's clients are browser apps) ends a login
    when its first refresh token would have, so ``REFRESH_ABSOLUTE`` applies to ``"confidential"``
    only. ``MAX_LOGINS`` (10; None for no limit): a user's live logins, the oldest ended beyond it.
    ``KEY_PREFIX`` prefixes every Redis key it writes (a purge after lost writes covers it).
    A refresh takes the scope from ``USERS`` as it is now: a demoted user's next access token is.

    ``GRACE`` (``authkit.state.refresh.GRACE``, 10 s): how long a just-rotated refresh token, presented again
    by a second tab or a retry, gets the same successor instead of revoking the login. ``USERS`` (a user
    directory) defaults to the demo accounts hashed at ``PASSWORD_COST`` (``Argon2Cost()``, OWASP's minimum),
    the cost an unknown name's stand-in hash is checked at too; ``THROTTLE`` (False) throttles logins in
    Redis. ``login`` replaces all three with a ready ``PasswordLogin``.

    ``keys`` sign access tokens, ``refresh_keys`` refresh tokens, which only this service verifies; by
    default each is generated: an EdDSA key, and a separate HS256 key, so that retiring the access
    key (on its 15-minute clock) never refuses a refresh token.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        ISSUER="https://auth.example", AUDIENCE="api", REALM=REALM, REVOCATION="denylist+version",
        ACCESS_TTL=timedelta(minutes=15), REFRESH_TTL=timedelta(days=14), REFRESH_ABSOLUTE=FAMILY_ABSOLUTE,
        REFRESH_CLIENT=PUBLIC, MAX_LOGINS=MAX_LOGINS, GRACE=GRACE, GRACE_REPEATS=GRACE_REPEATS,
        MAX_CONTENT_LENGTH=16 * 1024, USERS=None, PASSWORD_COST=DEFAULT_ARGON2, THROTTLE=False, KEY_PREFIX="authkit",
    )
    if test_config and "OVERLAP" in test_config:  # an old setting must not be dropped without a word
        raise ValueError("OVERLAP was replaced by GRACE: a repeat within the grace gets the same successor")
    app.config.update(test_config or {})
    client = redis_client if redis_client is not None else connect()
    if login is None:
        users: UserDirectory = app.config["USERS"] if app.config["USERS"] is not None else demo_users(
            app.config["PASSWORD_COST"])
        throttle = LoginThrottle(client) if app.config["THROTTLE"] else None
        login = PasswordLogin(users, PasswordHasher(app.config["PASSWORD_COST"]), throttle=throttle,
                              service="bearer")
    app.config["USERS"] = login.directory
    app.extensions["authkit.login"] = login
    keys = keys if keys is not None else KeySet(SigningKey.generate("EdDSA"))
    refresh_keys = refresh_keys if refresh_keys is not None else KeySet(SigningKey.generate("HS256"))
    cfg = app.config
    issuer = TokenIssuer(keys, refresh_keys=refresh_keys, issuer=cfg["ISSUER"], audience=cfg["AUDIENCE"],
                         access_ttl=cfg["ACCESS_TTL"], refresh_ttl=cfg["REFRESH_TTL"])
    verifier = TokenVerifier(keys, refresh_keys=refresh_keys, issuer=cfg["ISSUER"], audience=cfg["AUDIENCE"])
    if cfg["REFRESH_CLIENT"] not in CLIENT_KINDS:
        raise ValueError(f"REFRESH_CLIENT is one of {CLIENT_KINDS}, not {cfg['REFRESH_CLIENT']!r}")
    families = RefreshFamilies(client, idle=cfg["REFRESH_TTL"], absolute=cfg["REFRESH_ABSOLUTE"], grace=cfg["GRACE"],
                               kind=cfg["REFRESH_CLIENT"], max_logins=cfg["MAX_LOGINS"], access_ttl=cfg["ACCESS_TTL"],
                               grace_repeats=cfg["GRACE_REPEATS"], prefix=cfg["KEY_PREFIX"])
    try:  # load now so a first login or refresh is one EVALSHA, not NOSCRIPT + SCRIPT LOAD + EVALSHA
        families.load_scripts()
    except StoreUnavailable as err:
        if not isinstance(err.__cause__, UNAVAILABLE_AT_STARTUP):
            raise
        # Redis is down or recovering from lost writes: every call fails closed until it is back,
        # and redis-py loads the scripts on NOSCRIPT
    guard = AccessGuard(verifier, cfg["REVOCATION"], RevocationStore(client, prefix=cfg["KEY_PREFIX"]))
    directory: UserDirectory = cfg["USERS"]

    def current_scope(user_id: str) -> str | None:
        """The user's scope as the directory has it now; None (the login ends) once removed or disabled."""
        user = directory.by_id(user_id)
        return user.scope if user is not None and not user.disabled else None

    app.extensions["authkit.bearer"] = TokenService(issuer, verifier, families, guard, scopes=current_scope)
    app.register_blueprint(bp)
    return app
