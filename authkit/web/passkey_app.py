"""Passkeys on a page: add one after a fresh password check, then sign in with it alone (notebook 09).

The page uses the browser's own JSON helpers (``PublicKeyCredential.parseCreationOptionsFromJSON``,
``credential.toJSON()``); the server is ``authkit.login.passkeys``. Passkeys are kept in the app's
``passkeys`` mapping (a deployment keeps them in its user directory, beside the password hash).
Every refusal is a JSON error with a 4xx; a store that is down is a 503.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from flask import Flask, jsonify

from authkit.errors import FactorError, StoreUnavailable
from authkit.login.passkeys import Passkey, PasskeyRelyingParty
from authkit.web.body import json_object

#: Checks a login name and password; returns the user's ID, or None.
PasswordCheck = Callable[[str, str], "str | None"]

PAGE = """<!doctype html>
<meta charset="utf-8"><title>passkeys</title>
<script>
async function call(path, body) {
  const answer = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify(body)});
  return {status: answer.status, body: await answer.json()};
}
async function addPasskey(user, password) {
  const options = await call("/passkeys/register/options", {user, password});
  if (options.status !== 200) return options;
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.body);
  const credential = await navigator.credentials.create({publicKey});
  return call("/passkeys/register", {credential: credential.toJSON()});
}
async function signIn() {
  const options = await call("/passkeys/login/options", {});
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.body);
  const credential = await navigator.credentials.get({publicKey});
  return call("/passkeys/login", {credential: credential.toJSON()});
}
</script>
<h1>passkeys</h1>
"""


def create_passkey_app(rp: PasskeyRelyingParty, check_password: PasswordCheck) -> Flask:
    """The passkey endpoints for the relying party ``rp``; ``check_password`` is the fresh authentication."""
    app = Flask(__name__)
    passkeys: dict[bytes, Passkey] = {}
    lock = threading.Lock()
    app.extensions["authkit.passkeys"] = passkeys

    def refused(status: int, error: str, detail: str) -> Any:
        return jsonify(error=error, detail=detail), status

    @app.errorhandler(FactorError)
    def factor_refused(err: FactorError) -> Any:
        """A refused ceremony: 400 for what is malformed, 401 for what is not ours or not valid."""
        return refused(400 if err.reason == "malformed" else 401, err.reason, str(err))

    @app.errorhandler(StoreUnavailable)
    def store_down(err: StoreUnavailable) -> Any:
        """Fail closed: no challenge can be issued or checked."""
        return refused(503, "store_unavailable", "try again shortly")

    @app.get("/")
    def page() -> Any:
        """The page whose script runs both ceremonies."""
        return PAGE, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}

    @app.post("/passkeys/register/options")
    def register_options() -> Any:
        """Options to create a passkey, for a user who has just given their password."""
        body = json_object() or {}
        user, password = body.get("user"), body.get("password")
        if not isinstance(user, str) or not isinstance(password, str) or len(password) > 1024:
            return refused(400, "invalid_request", "send user and password")
        user_id = check_password(user, password)
        if user_id is None:
            return refused(401, "invalid_credentials", "wrong user name or password")
        with lock:
            existing = tuple(p for p in passkeys.values() if p.user_id == user_id)
        return app.response_class(rp.registration_options(user_id, user, existing), mimetype="application/json")

    @app.post("/passkeys/register")
    def register() -> Any:
        """Keep the new passkey if it answers this user's live challenge from one of our origins."""
        body = json_object() or {}
        if not isinstance(body.get("credential"), dict):
            return refused(400, "invalid_request", "send credential")
        passkey = rp.verify_registration(body["credential"])  # the user is the one the challenge was issued to
        with lock:
            passkeys[passkey.credential_id] = passkey
        return jsonify(registered=True)

    @app.post("/passkeys/login/options")
    def login_options() -> Any:
        """Options to sign in with any passkey of this site."""
        return app.response_class(rp.authentication_options(), mimetype="application/json")

    @app.post("/passkeys/login")
    def login() -> Any:
        """Sign in: the passkey's user, if the assertion is fresh, ours, and from one of our origins."""
        body = json_object() or {}
        if not isinstance(body.get("credential"), dict):
            return refused(400, "invalid_request", "send credential")
        with lock:
            passkey = rp.verify_authentication(body["credential"], passkeys.get)
            passkeys[passkey.credential_id] = passkey  # the new signature counter
        return jsonify(user_id=passkey.user_id)

    return app


def add_virtual_authenticator(context: Any, page: Any) -> str:
    """Give ``page`` a platform authenticator with a resident key and user verification (CDP's WebAuthn
    domain), as a phone or laptop would have; it answers without a prompt. Returns its ID."""
    cdp = context.new_cdp_session(getattr(page, "_target", page))  # a lab Profile's page is wrapped: unwrap it
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return added["authenticatorId"]
