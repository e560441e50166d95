"""The session-cookie demo: login sets ``__Host-sid``, each request validates it in Redis, CSRF-checked POSTs.

Every failure is a typed answer, never a 500: an unknown or tampered cookie is 401 (and the
cookie is cleared), a failed Origin or CSRF-token check is 403, an unreachable store is 503.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import dump_cookie

from authkit.errors import CsrfRejected, SessionError, StoreUnavailable
from authkit.passwords import hash_password, verify_login
from authkit.sessions import Session, SessionStore
from authkit.web.body import json_object

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
_ROLE = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # used with fullmatch: "$" would let "admin\n" through


@dataclass(frozen=True)
class DemoUser:
    """A user of the demo: a scrypt password hash and the roles a first login seeds."""

    password_hash: str
    roles: tuple[str, ...]


@functools.cache
def demo_users() -> dict[str, DemoUser]:
    """The demo accounts with their passwords hashed (once per process: scrypt is slow on purpose)."""
    return {name: DemoUser(hash_password(pw), roles) for name, (pw, roles) in DEMO_ACCOUNTS.items()}


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
    users: Mapping[str, DemoUser] | None = None,
    *,
    same_site: str = "Lax",
    trusted_origins: Collection[str] | None = None,
) -> Flask:
    """The demo app. ``trusted_origins`` defaults to the origin the request was addressed to; list them in production."""
    if same_site not in SAME_SITE_VALUES:
        raise ValueError(f"same_site must be one of {SAME_SITE_VALUES}, not {same_site!r}")
    directory = demo_users() if users is None else users
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024

    def allowed_origins() -> Collection[str]:
        return trusted_origins if trusted_origins is not None else {request.host_url.rstrip("/")}

    def origin() -> str | None:
        return request_origin(request.headers.get("Origin"), request.headers.get("Referer"))

    def with_session(view: Callable[..., Any]) -> Callable[..., Any]:
        """Require a live session; on POST also a trusted Origin and the session's CSRF token."""

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            cookie = request.cookies.get(COOKIE_NAME)
            if not cookie:
                raise SessionError("missing", "no session cookie: log in first")
            session = store.validate(cookie)
            g.session = session  # before the CSRF check: a refused request must still deliver a rotated ID
            if request.method == "POST":
                reason = csrf_reason(session.csrf_token, request.headers.get(CSRF_HEADER), origin(), allowed_origins())
                if reason is not None:
                    raise CsrfRejected(reason, _CSRF_MESSAGES[reason])
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
        reason = origin_reason(origin(), allowed_origins())
        if reason is not None:  # login CSRF: a forged login would sign the victim in as the attacker
            raise CsrfRejected(reason, _CSRF_MESSAGES[reason])
        data = body("username", "password")
        username, password = data["username"], data["password"]
        if not isinstance(username, str) or not isinstance(password, str):
            raise InvalidRequest("username and password must be strings")
        user = directory.get(username)
        if not verify_login(password, user.password_hash if user else None):
            return _error(401, "invalid_credentials", "wrong username or password")
        old = request.cookies.get(COOKIE_NAME)
        if old:
            try:
                store.destroy(old)  # never upgrade a session the browser brought: that is fixation
            except SessionError:
                pass
        session = store.create(username, roles=user.roles, label=request.headers.get("User-Agent", "")[:64])
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
        if not isinstance(user, str) or user not in directory:
            return _error(404, "not_found", "no such user")
        if not isinstance(roles, list) or not all(isinstance(r, str) and _ROLE.fullmatch(r) for r in roles):
            raise InvalidRequest("roles must be a list of lowercase role names")
        store.set_roles(user, roles)
        return jsonify(user=user, roles=roles)

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

    add_session_response_hooks(app, same_site)
    return app


def add_session_response_hooks(app: Flask, same_site: str = "Lax") -> None:
    """Every answer of a cookie-session app: never cached, and carrying a rotated session ID.

    When privileges changed, the request's session (``g.session``) got a new ID and the old one is dead,
    so every answer — a 403 or 400 too — must deliver the new cookie, or the user is logged out.
    """

    @app.after_request
    def no_store(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"  # authenticated answers must not be cached
        return response

    @app.after_request
    def deliver_rotated_id(response: Response) -> Response:
        session: Session | None = g.get("session")
        sets_cookie = any(h.startswith(f"{COOKIE_NAME}=") for h in response.headers.getlist("Set-Cookie"))
        if session is not None and session.rotated and not sets_cookie:
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
