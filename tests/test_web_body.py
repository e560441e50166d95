"""Every JSON endpoint of the demo services answers junk bodies with a 4xx, never a 500."""

from __future__ import annotations

import flask
import pytest

from authkit.web.body import MAX_BODY_BYTES, json_object

JUNK = [
    pytest.param(b"[" * 16000, id="nested-too-deep"),
    pytest.param(b"\xff\xfe\x00", id="bad-utf8"),
    pytest.param(b'{"a": ', id="truncated"),
    pytest.param(b"[1, 2]", id="not-an-object"),
    pytest.param(b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}', id="oversized"),
]


@pytest.fixture
def echo() -> flask.testing.FlaskClient:
    app = flask.Flask("echo")

    @app.post("/")
    def read() -> flask.Response:
        return flask.jsonify(body=json_object())

    return app.test_client()


@pytest.mark.parametrize("data", JUNK)
def test_junk_is_none(echo, data: bytes) -> None:
    assert echo.post("/", data=data, content_type="application/json").json == {"body": None}


def test_an_object_is_returned_and_other_content_types_are_not_read(echo) -> None:
    assert echo.post("/", json={"sub": "u42"}).json == {"body": {"sub": "u42"}}
    assert echo.post("/", data='{"sub": "u42"}', content_type="text/plain").json == {"body": None}


def _auth_service():
    from authkit.tokens.keys import KeySet, SigningKey
    from authkit.web.jwks import create_auth_app

    return create_auth_app(KeySet(SigningKey.generate("EdDSA")), "https://auth.example", "api"), ["/token"]


def _bearer_api():
    from authkit.state.redis import connect
    from authkit.web.bearer_app import create_app

    return create_app(redis_client=connect(fresh=True)), ["/login", "/refresh", "/logout"]


def _cookie_app():
    from authkit.state.redis import connect
    from authkit.state.sessions import SessionStore
    from authkit.web.cookie_app import create_cookie_app

    return create_cookie_app(SessionStore(connect(fresh=True))), ["/login"]


@pytest.mark.parametrize("factory", [_auth_service, _bearer_api, _cookie_app], ids=["jwks", "bearer", "cookie"])
@pytest.mark.parametrize("data", JUNK)
def test_services_refuse_junk_with_a_4xx(factory, data: bytes) -> None:
    app, paths = factory()
    client = app.test_client()
    for path in paths:
        response = client.post(path, data=data, content_type="application/json",
                               base_url="https://localhost", headers={"Origin": "https://localhost"})
        assert 400 <= response.status_code < 500, (path, response.status_code)
