"""Passkeys end to end in real Chromium with a virtual authenticator (CDP's WebAuthn domain).

The site is http://localhost:PORT (a secure context; its RP ID is ``localhost``). A phishing page on
another origin cannot use the credential: on 127.0.0.1 the browser will not even ask for it, and on
another localhost port the assertion it relays names the wrong origin and the site refuses it.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import redis
import requests
from flask import Flask, request

from authkit.login.passkeys import PasskeyRelyingParty
from authkit.state.redis import connect
from authkit.web.passkey_app import PAGE, add_virtual_authenticator, create_passkey_app
from authkit.web.server import RunningServer, serve

USERS = {"alice": ("u-7f3a", "correct horse battery staple")}


def check_password(name: str, password: str) -> str | None:
    user = USERS.get(name)
    return user[0] if user and user[1] == password else None


@pytest.fixture
def site() -> Iterator[tuple[RunningServer, Flask, redis.Redis]]:
    client = connect(fresh=True)
    with serve(Flask("placeholder")) as probe:  # learn a free port first: the origin must be known up front
        port = probe.port
    rp = PasskeyRelyingParty(client, rp_id="localhost", rp_name="authkit", origins=[f"http://localhost:{port}"])
    app = create_passkey_app(rp, check_password)
    with serve(app, port=port) as server:
        yield server, app, client


def with_authenticator(page: Any) -> str:
    return add_virtual_authenticator(page.context, page)


def test_register_then_sign_in_with_the_passkey_alone(site, page) -> None:
    server, app, client = site
    with_authenticator(page)
    page.goto(f"http://localhost:{server.port}/")
    refused = page.evaluate("addPasskey('alice', 'wrong password')")
    assert refused["status"] == 401
    added = page.evaluate("addPasskey('alice', 'correct horse battery staple')")
    assert added == {"status": 200, "body": {"registered": True}}, added
    [passkey] = app.extensions["authkit.passkeys"].values()
    assert passkey.user_id == "u-7f3a" and passkey.public_key
    signed_in = page.evaluate("signIn()")
    assert signed_in == {"status": 200, "body": {"user_id": "u-7f3a"}}, signed_in
    assert client.keys("authkit:webauthn:*") == []  # every challenge was spent


def test_a_relayed_assertion_from_a_phishing_origin_is_refused(site, page) -> None:
    server, app, _ = site
    with_authenticator(page)
    page.goto(f"http://localhost:{server.port}/")
    assert page.evaluate("addPasskey('alice', 'correct horse battery staple')")["status"] == 200
    real = server.url.replace("127.0.0.1", "localhost")

    phish = Flask("phish")  # same page, another origin; it relays the ceremony to the real site

    @phish.get("/")
    def page_() -> Any:
        return PAGE

    @phish.post("/passkeys/login/options")
    def options() -> Any:
        return requests.post(f"{real}/passkeys/login/options", json={}, timeout=5).json()

    @phish.post("/passkeys/login")
    def relay() -> Any:
        answer = requests.post(f"{real}/passkeys/login", json=request.get_json(), timeout=5)
        return answer.json(), answer.status_code

    with serve(phish) as attacker:
        # on 127.0.0.1 the RP ID "localhost" is not this page's domain: the browser refuses to ask
        page.goto(f"http://127.0.0.1:{attacker.port}/")
        error = page.evaluate("signIn().then(() => 'signed in', e => e.name)")
        assert error == "SecurityError"
        # on localhost:another-port the browser signs, but over the page's real origin: the site refuses
        page.goto(f"http://localhost:{attacker.port}/")
        relayed = page.evaluate("signIn()")
    assert relayed["status"] == 401 and relayed["body"]["error"] == "bad_assertion", relayed


def test_garbage_responses_are_typed_refusals(site) -> None:
    server, _, client = site
    for body in [{}, {"credential": "x"}, {"credential": {}}, {"credential": {"rawId": "AA", "response": {}}},
                 {"credential": {"rawId": "AA", "response": {"clientDataJSON": "bm90IGpzb24"}}}]:
        for path in ["/passkeys/register", "/passkeys/login"]:
            answer = requests.post(server.url + path, json=body, timeout=5)
            assert answer.status_code == 400, (path, body, answer.text)
    nested = "[" * 100_000 + "]" * 100_000
    answer = requests.post(server.url + "/passkeys/login", data=nested,
                           headers={"Content-Type": "application/json"}, timeout=5)
    assert answer.status_code == 400
