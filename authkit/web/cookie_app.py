"""The session-cookie demo: login sets ``__Host-sid``, each request validates it in Redis, CSRF-checked POSTs.

Every failure is a typed answer, never a 500: an unknown or tampered cookie is 401 (and the
cookie is cleared), a cross-site request (Fetch Metadata), a failed Origin or CSRF-token check is
403, an unreachable store is 503. A state-changing request is checked (``Sec-Fetch-Site``, then
Origin, then the CSRF token bound to the cookie) before the store is touched, so a forged one writes nothing, not even a slide. The trusted origins are
configuration (``trusted_origins``, kept in ``app.config["TRUSTED_ORIGINS"]``): until one is
listed, every state-changing request is refused.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import dump_cookie

from authkit.errors import CsrfRejected, LoginRefused, SessionError, StoreUnavailable
from authkit.login.authenticate import PasswordLogin
from authkit.login.hashing import DEFAULT_ARGON2, Argon2Cost, PasswordHasher
from authkit.login.passwords import ScryptCost
from authkit.login.users import MemoryDirectory, User, UserDirectory, demo_directory
from authkit.state.sessions import Session, SessionStore, session_csrf_token
from authkit.web.body import json_object
from authkit.web.fetch_metadata import add_fetch_metadata_policy

COOKIE_NAME = "__Host-sid"  # __Host-: the browser insists on Secure, Path=/ and no Domain
CSRF_HEADER = "X-CSRF-Token"
SAME_SITE_VALUES = ("Lax", "Strict")
DEMO_ACCOUNTS = {  # user: (password, roles); passwords are for the demo only
    "alice": ("correct horse battery staple", ("admin", "transfer")),
    "bob": ("bob's long demo passphrase", ("transfer",)),
}
_CSRF_MESSAGES = {
    "missing_origin": "refused: the request says neither Origin nor Referer",
    "bad_origin": "refused: the request comes from an origin this site does not trust",
    "missing_token": f"refused: state-changing requests need the session's CSRF token in {CSRF_HEADER}",
    "bad_token": "refused: the CSRF token does not belong to this session",
}
_NO_TRUSTED_ORIGIN = ("refused: this site trusts no origin yet, so it accepts no state-changing request; "
                      "configure trusted_origins (e.g. {'https://app.example'})")
_ROLE = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # used with fullmatch: "$" would let "admin\n" through
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


DemoUser = User  # the demo's users are directory users (seeded IDs)


@functools.cache
def _demo_users(cost: Argon2Cost | ScryptCost) -> tuple[User, ...]:
    return tuple(demo_directory(DEMO_ACCOUNTS, PasswordHasher(cost).hash).users())


def demo_users(cost: Argon2Cost | ScryptCost = DEFAULT_ARGON2) -> MemoryDirectory:
    """A fresh directory of the demo accounts, hashed at ``cost`` once per process and cost (hashing is slow on purpose)."""
    return MemoryDirectory(_demo_users(cost))


def password_login(users: UserDirectory | None, cost: Argon2Cost | ScryptCost, service: str) -> PasswordLogin:
    """The login a cookie service runs: ``users`` (the demo accounts if None) hashed at ``cost``."""
    return PasswordLogin(demo_users(cost) if users is None else users, PasswordHasher(cost), service=service)


def login_refused(err: LoginRefused) -> Response:
    """401 for bad credentials (one answer for every cause), 400 bad input, 429 throttled, 503 too busy to hash."""
    status = {"invalid_credentials": 401, "bad_request": 400, "throttled": 429, "busy": 503}[err.reason]
    message = "wrong username or password" if status == 401 else err.args[0]
    response = _error(status, err.reason, message)
    if err.retry_after:
        response.headers["Retry-After"] = str(err.retry_after)
    return response


def trusted_origins_config(origins: Collection[str]) -> frozenset[str]:
    """The allowed origins as ``scheme://host[:port]`` strings (what browsers send in ``Origin``); ValueError otherwise."""
    if isinstance(origins, str):
        raise ValueError(f"trusted_origins is a collection of origins, not the string {origins!r}")
    for origin in origins:
        if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
            raise ValueError(f"a trusted origin is scheme://host[:port] with no path or slash, not {origin!r}")
    return frozenset(origins)


def refuse_untrusted_origin(origin: str | None, allowed: Collection[str]) -> None:
    """Raise ``CsrfRejected`` unless ``origin`` is trusted (the whole check a login needs)."""
    reason = origin_reason(origin, allowed)
    if reason is not None:
        raise CsrfRejected(reason, _NO_TRUSTED_ORIGIN if not allowed else _CSRF_MESSAGES[reason])


def refuse_forgery(store: SessionStore, cookie: str, sent_token: str | None, origin: str | None,
                   allowed: Collection[str]) -> None:
    """Raise ``CsrfRejected`` unless a state-changing request has a trusted origin and the cookie's CSRF token.

    Needs only the request and the store's key: the token is an HMAC of the session ID, so a forgery is
    refused before Redis is touched.
    """
    reason = csrf_reason(store.csrf_token(cookie), sent_token, origin, allowed)
    if reason is not None:
        raise CsrfRejected(reason, _NO_TRUSTED_ORIGIN if not allowed else _CSRF_MESSAGES[reason])


def end_presented_session(store: SessionStore, cookie: str | None) -> None:
    """At login, destroy whatever session the browser brought: never upgrade a planted ID (fixation)."""
    if cookie:
        try:
            store.destroy(cookie)
        except SessionError:
            pass  # not a session ID at all: nothing to end


def session_cookie(value: str, same_site: str = "Lax") -> str:
    """The ``Set-Cookie`` value for a session: host-only, HTTPS-only, hidden from JavaScript, no expiry."""
    return dump_cookie(COOKIE_NAME, value, secure=True, httponly=True, path="/", samesite=same_site)


def clear_session_cookie(same_site: str = "Lax") -> str:
    """The ``Set-Cookie`` value that makes the browser drop the session cookie."""
    return dump_cookie(COOKIE_NAME, "", max_age=0, expires=0, secure=True, httponly=True, path="/", samesite=same_site)


def request_origin(origin: str | None, referer: str | None) -> str | None:
    """The origin a browser says the request comes from: ``Origin``, else the ``Referer``'s origin."""
    if origin:
        return origin
    try:
        parts = urlsplit(referer or "")
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def origin_reason(origin: str | None, allowed: Collection[str]) -> str | None:
    """``missing_origin`` or ``bad_origin`` unless the request comes from a trusted origin."""
    if origin is None:
        return "missing_origin"
    return None if origin in allowed else "bad_origin"


def csrf_reason(expected_token: str, sent_token: str | None, origin: str | None, allowed: Collection[str]) -> str | None:
    """Why a state-changing request must be refused (a ``CSRF_REASONS`` value), or None if it may pass."""
    reason = origin_reason(origin, allowed)
    if reason is not None:
        return reason
    if not sent_token:
        return "missing_token"
    if not hmac.compare_digest(sent_token.encode("utf-8"), expected_token.encode("utf-8")):
        return "bad_token"
    return None


def create_cookie_app(
    store: SessionStore,
    users: UserDirectory | None = None,
    *,
    same_site: str = "Lax",
    trusted_origins: Collection[str] = (),
    password_cost: Argon2Cost | ScryptCost = DEFAULT_ARGON2,
    login: PasswordLogin | None = None,
) -> Flask:
    """The demo app. ``trusted_origins``: the origins allowed to send state-changing requests (none: all refused).

    ``password_cost``: the cost (Argon2id, or scrypt) of the demo users' hashes (when ``users`` is None) and
    of the stand-in hash an unknown name is checked against; ``login`` replaces users and cost with a ready
    ``PasswordLogin`` (a throttle, a pepper). The directory is kept in ``app.config["USERS"]``.
    """
    if same_site not in SAME_SITE_VALUES:
        raise ValueError(f"same_site must be one of {SAME_SITE_VALUES}, not {same_site!r}")
    origins = trusted_origins_config(trusted_origins)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
    app.config["TRUSTED_ORIGINS"] = origins
    logins = login if login is not None else password_login(users, password_cost, "cookie")
    app.config["USERS"] = logins.directory

    def origin() -> str | None:
        return request_origin(request.headers.get("Origin"), request.headers.get("Referer"))

    def with_session(view: Callable[..., Any]) -> Callable[..., Any]:
        """Require a live session; on POST first a trusted Origin and the session's CSRF token."""

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            cookie = request.cookies.get(COOKIE_NAME)
            if not cookie:
                raise SessionError("missing", "no session cookie: log in first")
            if request.method == "POST":  # before the store: a forged request must not even slide the session
                refuse_forgery(store, cookie, request.headers.get(CSRF_HEADER), origin(), app.config["TRUSTED_ORIGINS"])
            g.session = store.validate(cookie)
            return view(*args, **kwargs)

        return wrapper

    def body(*fields: str) -> dict[str, Any]:
        data = json_object()
        if data is None or any(name not in data for name in fields):
            raise InvalidRequest(f"expected a JSON object with {', '.join(fields)}")
        return data

    @app.post("/login")
    def login() -> Response:
        """Check the password, drop any session the browser already had, issue a fresh ID."""
        # login CSRF: a forged login would sign the victim in as the attacker
        refuse_untrusted_origin(origin(), app.config["TRUSTED_ORIGINS"])
        data = body("username", "password")
        username, password = data["username"], data["password"]
        if not isinstance(username, str) or not isinstance(password, str):
            raise InvalidRequest("username and password must be strings")
        user = logins.check(username, password, request.remote_addr)
        end_presented_session(store, request.cookies.get(COOKIE_NAME))
        session = store.create(user.id, roles=user.roles, label=request.headers.get("User-Agent", "")[:64])
        response = jsonify(user=username, roles=list(session.roles), csrf_token=session.csrf_token)
        response.headers.add("Set-Cookie", session_cookie(session.id, same_site))
        return response

    @app.get("/me")
    @with_session
    def me() -> Response:
        """Who the cookie belongs to, the CSRF token for this session, and when it will expire."""
        s: Session = g.session
        return jsonify(user=s.user_id, roles=list(s.roles), csrf_token=s.csrf_token,
                       idle_deadline=s.idle_deadline.isoformat(), absolute_deadline=s.absolute_deadline.isoformat())

    @app.get("/sessions")
    @with_session
    def sessions() -> Response:
        """The user's devices: label, created, last seen; ``current`` marks this one."""
        s: Session = g.session
        return jsonify(sessions=[
            {"handle": x.handle, "label": x.label, "created": x.created.isoformat(),
             "last_seen": x.last_seen.isoformat(), "current": x.handle == s.handle}
            for x in store.sessions(s.user_id)
        ])

    @app.post("/sessions/<handle>/revoke")
    @with_session
    def revoke(handle: str) -> Response:
        """Forced logoff of one of the user's own devices."""
        if not store.revoke(g.session.user_id, handle):
            return _error(404, "not_found", "no such session for this user")
        return jsonify(revoked=True)

    @app.post("/logout")
    @with_session
    def logout() -> Response:
        """Delete this session in Redis and clear the cookie."""
        store.destroy(g.session.id)
        response = jsonify(logged_out=True)
        response.headers.add("Set-Cookie", clear_session_cookie(same_site))
        return response

    @app.post("/logout-all")
    @with_session
    def logout_all() -> Response:
        """End every session of this user; with ``{"keep_current": true}`` all but this one."""
        data = json_object()
        keep = data is not None and data.get("keep_current") is True
        ended = store.destroy_all(g.session.user_id, keep=g.session.id if keep else None)
        response = jsonify(ended=ended)
        if not keep:
            response.headers.add("Set-Cookie", clear_session_cookie(same_site))
        return response

    @app.post("/transfer")
    @with_session
    def transfer() -> Response:
        """A state-changing action: needs the ``transfer`` role, a trusted Origin and the CSRF token."""
        data = body("to", "amount")
        to, amount = data["to"], data["amount"]
        if not isinstance(to, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", to):
            raise InvalidRequest("to must be an account name")
        if type(amount) is not int or not 0 < amount <= 1_000_000:
            raise InvalidRequest("amount must be a whole number between 1 and 1000000")
        if "transfer" not in g.session.roles:
            return _error(403, "forbidden", "this account may not transfer")
        return jsonify(transferred=amount, to=to, by=g.session.user_id)

    @app.post("/admin/roles")
    @with_session
    def set_roles() -> Response:
        """Admins change a user's roles; the change applies on that user's next request."""
        if "admin" not in g.session.roles:
            return _error(403, "forbidden", "admins only")
        data = body("user", "roles")
        user, roles = data["user"], data["roles"]
        target = logins.directory.by_name(user) if isinstance(user, str) else None
        if target is None:
            return _error(404, "not_found", "no such user")
        if not isinstance(roles, list) or not all(isinstance(r, str) and _ROLE.fullmatch(r) for r in roles):
            raise InvalidRequest("roles must be a list of lowercase role names")
        store.set_roles(target.id, roles)
        return jsonify(user=user, roles=roles)

    @app.post("/admin/end-sessions")
    @with_session
    def end_sessions() -> Response:
        """Admins log a user out everywhere (``{"user": name}``): every session of that user ends now."""
        if "admin" not in g.session.roles:
            return _error(403, "forbidden", "admins only")
        user = body("user")["user"]
        target = logins.directory.by_name(user) if isinstance(user, str) else None
        if target is None:
            return _error(404, "not_found", "no such user")
        return jsonify(user=user, ended=store.destroy_all(target.id))

    app.register_error_handler(LoginRefused, login_refused)

    @app.errorhandler(SessionError)
    def session_refused(err: SessionError) -> Response:
        response = _error(401, err.reason, err.args[0])
        if request.cookies.get(COOKIE_NAME):  # a refused cookie is useless: tell the browser to drop it
            response.headers.add("Set-Cookie", clear_session_cookie(same_site))
        return response

    @app.errorhandler(CsrfRejected)
    def csrf_refused(err: CsrfRejected) -> Response:
        return _error(403, err.reason, err.args[0])

    @app.errorhandler(StoreUnavailable)
    def store_down(err: StoreUnavailable) -> Response:
        response = _error(503, err.reason, "the session store is unreachable; nobody is let in until it returns")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        return _error(err.code or 500, err.name.lower().replace(" ", "_"), err.description or err.name)

    add_fetch_metadata_policy(app)
    add_session_response_hooks(app, same_site)
    return app


def add_session_response_hooks(app: Flask, same_site: str = "Lax") -> None:
    """Every answer of a cookie-session app: never cached, and carrying a rotated session ID.

    When privileges changed, the request's session (``g.session``) got a new ID and the old one is
    retired, so every answer — a 403 or 400 too — delivers the new cookie.
    """

    @app.after_request
    def no_store_and_rotated_id(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"  # authenticated answers must not be cached
        session: Session | None = g.get("session")
        if session is not None and session.rotated and not any(
            h.startswith(f"{COOKIE_NAME}=") for h in response.headers.getlist("Set-Cookie")
        ):
            response.headers.add("Set-Cookie", session_cookie(session.id, same_site))
        return response


class InvalidRequest(HTTPException):
    """A request body the app cannot use (HTTP 400)."""

    code = 400
    name = "Invalid Request"


def _error(status: int, error: str, message: str) -> Response:
    response = jsonify(error=error, message=message)
    response.status_code = status
    return response
