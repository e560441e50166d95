"""Two services over real HTTP on loopback: the auth service publishes a JWKS, the resource service trusts it."""

from __future__ import annotations

import time
from typing import Iterator

import flask
import pytest
import requests

from authkit.tokens import jws
from authkit.errors import ConfigError, InsecureKeyUrl, KeyRetirementError, TokenError, UnusableKeyWarning
from authkit.config import Environment
from authkit.tokens.remote_keys import RemoteKeySet
from authkit.tokens.jwk import b64url
from authkit.tokens.keys import KeySet, SigningKey
from authkit.tokens.issuer import TokenIssuer
from authkit.web.jwks import JWKS_PATH, create_auth_app, create_resource_app
from authkit.web.server import RunningServer, serve
from tests.jwt_forge import AUDIENCE, ISSUER, b64, claims, compact, hs256

LIFESPAN = 0.3  # seconds the resource service caches the key set in these tests


@pytest.fixture
def keys() -> KeySet:
    return KeySet(SigningKey.generate("EdDSA", kid="2026-01"))


@pytest.fixture
def auth(keys: KeySet) -> Iterator[RunningServer]:
    with serve(create_auth_app(keys, ISSUER, AUDIENCE)) as running:
        yield running


@pytest.fixture
def resource(auth: RunningServer) -> Iterator[RunningServer]:
    app = create_resource_app(auth.url + JWKS_PATH, ISSUER, AUDIENCE, jwks_lifespan=LIFESPAN, jwks_cooldown=0)
    with serve(app) as running:
        yield running


def get_token(auth: RunningServer, sub: str = "alice") -> str:
    response = requests.post(f"{auth.url}/token", json={"sub": sub, "scope": "read"}, timeout=5)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return response.json()["access_token"]


def call(resource: RunningServer, token: str) -> requests.Response:
    return requests.get(f"{resource.url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)


def refusal(response: requests.Response) -> str:
    """The RFC 6750 error description of a 401, after checking it is one."""
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="authkit", error="invalid_token"')
    return response.json()["error_description"]


def test_jwks_publishes_public_keys_with_a_cache_lifetime(auth: RunningServer, keys: KeySet) -> None:
    keys.add(SigningKey.generate("HS256", kid="internal"), make_current=False)
    response = requests.get(auth.url + JWKS_PATH, timeout=5)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "public, max-age=60"
    assert response.json() == {"keys": [keys.get("2026-01").public_jwk()]}
    assert "d" not in response.json()["keys"][0]


def test_token_from_the_auth_service_opens_the_resource(auth: RunningServer, resource: RunningServer) -> None:
    response = call(resource, get_token(auth))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "scope": "read", "kid": "2026-01"}


def test_rotation_end_to_end(auth: RunningServer, resource: RunningServer, keys: KeySet) -> None:
    old_token = get_token(auth)
    assert call(resource, old_token).status_code == 200  # the resource service has cached the set
    keys.add(SigningKey.generate("EdDSA", kid="2026-02"))
    new_token = get_token(auth)
    assert call(resource, new_token).json()["kid"] == "2026-02"  # unknown kid: one refetch finds it
    assert call(resource, old_token).json()["kid"] == "2026-01"  # old key still published
    with pytest.raises(KeyRetirementError) as caught:  # its access tokens live 15 minutes more
        keys.retire("2026-01")
    assert caught.value.reason == "tokens_live"
    keys.retire("2026-01", force=True)  # as for a compromised key: its tokens die now
    time.sleep(LIFESPAN + 0.2)  # let the cached set expire
    assert refusal(call(resource, old_token)) == "unknown_key"
    assert call(resource, new_token).status_code == 200


def test_a_kid_nobody_published_is_refused(resource: RunningServer) -> None:
    stranger = SigningKey.generate("EdDSA", kid="stranger")
    token = TokenIssuer(KeySet(stranger), issuer=ISSUER, audience=AUDIENCE).issue_access("alice")
    assert refusal(call(resource, token)) == "unknown_key"


def test_unreachable_jwks_fails_closed(keys: KeySet) -> None:
    with serve(create_auth_app(keys, ISSUER, AUDIENCE)) as auth:
        token = get_token(auth)
        jwks_url = auth.url + JWKS_PATH
    with serve(create_resource_app(jwks_url, ISSUER, AUDIENCE)) as resource:
        assert refusal(call(resource, token)) == "unknown_key"


def test_a_secret_key_in_a_jwks_is_never_trusted() -> None:
    """A misconfigured (or hostile) JWKS serving an HMAC key: the resource service refuses to use it."""
    secret = bytes(range(32))
    bad_auth = flask.Flask("bad-auth")
    bad_auth.get(JWKS_PATH)(lambda: {"keys": [{"kty": "oct", "k": b64(secret), "kid": "shared", "alg": "HS256"}]})
    token = compact({"alg": "HS256", "kid": "shared", "typ": "at+jwt"}, claims(), hs256(secret))
    with serve(bad_auth) as auth, serve(create_resource_app(auth.url + JWKS_PATH, ISSUER, AUDIENCE)) as resource:
        assert refusal(call(resource, token)) == "unknown_key"


@pytest.mark.parametrize(
    "value, status, error",
    [(None, 401, None), ("Basic YWxpY2U6cHc=", 401, None), ("Bearer", 400, "invalid_request"),
     ("Bearer not.a.token", 401, "invalid_token"), ("Bearer " + "A" * 20_000, 401, "invalid_token"),
     ("Bearer eyJhbGciOiJub25lIn0.e30.", 401, "invalid_token"), ("Bearer a.b.c d.e.f", 400, "invalid_request"),
     ('Bearer "a.b.c"', 400, "invalid_request"), ("", 400, "invalid_request")],
)
def test_bad_authorization_headers_never_500(resource: RunningServer, value: str | None, status: int,
                                            error: str | None) -> None:
    headers = {} if value is None else {"Authorization": value}
    response = requests.get(f"{resource.url}/me", headers=headers, timeout=5)
    assert response.status_code == status
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="authkit"')
    if error is None:  # RFC 6750 §3.1: no credentials (or another scheme) gets no error code at all
        assert challenge == 'Bearer realm="authkit"' and "error" not in response.json()
    else:
        assert f'error="{error}"' in challenge and response.json()["error"] == error


@pytest.mark.parametrize("body", [None, {}, {"sub": ""}, {"sub": 7}, {"sub": "x" * 65}, {"sub": "a", "scope": 1}])
def test_token_endpoint_refuses_bad_requests(auth: RunningServer, body: object) -> None:
    response = requests.post(f"{auth.url}/token", json=body, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def _serve_jwks(jwks: dict) -> RunningServer:
    """A JWKS endpoint publishing exactly ``jwks``, as a misconfigured or hostile auth service might."""
    app = flask.Flask("some-auth")
    app.get(JWKS_PATH)(lambda: jwks)
    return serve(app)


def test_the_resource_service_imports_a_fetched_jwks_by_each_keys_own_rules() -> None:
    """Every published key is read for its declared use, key_ops and alg; a token naming a refused one is refused."""
    ed, rsa = SigningKey.generate("EdDSA", kid="x"), SigningKey.generate("RS256", kid="x")
    published = {
        "fine": ed.public_jwk(),
        "ed25519": {**ed.public_jwk(), "alg": "Ed25519"},  # RFC 9864's name: PyJWKClient alone would drop it
        "for-encryption": {**ed.public_jwk(), "use": "enc"},
        "encrypt-only": {**ed.public_jwk(), "key_ops": ["encrypt"]},
        "ps256": {**rsa.public_jwk(), "alg": "PS256"},  # RSASSA-PSS, published and used under its own name
        "declared-rs384": {**rsa.public_jwk(), "alg": "RS384"},  # an algorithm authkit does not have
        "published-private": {**ed.public_jwk(), "d": b64url(ed.signing_material.private_bytes_raw())},
    }
    jwks = {"keys": [{**jwk, "kid": kid} for kid, jwk in published.items()]}
    with _serve_jwks(jwks) as auth, serve(create_resource_app(auth.url + JWKS_PATH, ISSUER, AUDIENCE)) as resource:
        for kid, jwk in published.items():
            signer = rsa if kid in ("ps256", "declared-rs384") else ed
            alg = {"ed25519": "Ed25519", "ps256": "PS256", "declared-rs384": "RS256"}.get(kid, "EdDSA")
            key = SigningKey(alg, kid, signer.signing_material, signer.verifying_material)
            response = call(resource, jws.sign_claims(claims(), key, typ="at+jwt"))
            if kid in ("fine", "ed25519", "ps256"):
                assert response.status_code == 200 and response.json()["kid"] == kid
            else:
                assert refusal(response) == "unknown_key", kid


def test_a_key_refused_at_import_says_why_to_the_verifier() -> None:
    ed = SigningKey.generate("EdDSA", kid="enc")
    with _serve_jwks({"keys": [{**ed.public_jwk(), "use": "enc"}]}) as auth:
        remote = jws.jwks_client(auth.url + JWKS_PATH)
        with pytest.raises(TokenError) as caught:
            remote.get("enc")
    assert caught.value.reason == "unknown_key" and "wrong_use" in str(caught.value)


def test_an_outage_of_the_jwks_keeps_fetched_keys_for_their_lifespan_then_fails_closed() -> None:
    """A failed refetch (for an unknown kid) keeps the keys already fetched; once they are stale, all is refused."""
    known = SigningKey.generate("EdDSA", kid="known")
    auth = _serve_jwks({"keys": [known.public_jwk()]})
    remote = jws.jwks_client(auth.url + JWKS_PATH, lifespan=LIFESPAN, cooldown=0)
    assert remote.get("known").public_jwk() == known.public_jwk()
    auth.stop()
    with pytest.raises(TokenError, match="unavailable") as unknown:
        remote.get("other")  # refetch for an unknown kid: the endpoint is down
    assert unknown.value.reason == "unknown_key"
    assert remote.get("known").kid == "known"  # still within its lifespan
    time.sleep(LIFESPAN + 0.1)
    with pytest.raises(TokenError, match="unavailable"):
        remote.get("known")


@pytest.mark.parametrize("broken", [{"kty": ["OKP"]}, {"crv": {"name": "Ed25519"}}, {"kty": {"x": 1}}, {"x": 7}])
def test_one_unusable_published_entry_is_skipped_with_a_warning_and_the_others_verify(broken: dict) -> None:
    """RFC 7517 §5: an entry whose kty or crv is a list or an object once made the whole JWK Set unavailable."""
    good, bad = SigningKey.generate("EdDSA", kid="good"), SigningKey.generate("EdDSA", kid="bad")
    with _serve_jwks({"keys": [{**bad.public_jwk(), **broken}, good.public_jwk()]}) as auth:
        remote = jws.jwks_client(auth.url + JWKS_PATH)
        with pytest.warns(UnusableKeyWarning, match="'bad'"):
            assert remote.get("good").public_jwk() == good.public_jwk()
        with pytest.raises(TokenError) as caught:
            remote.get("bad")
    assert caught.value.reason == "unknown_key" and "unusable" in str(caught.value)


@pytest.mark.parametrize("url", ["https://auth.example/jwks", "http://127.0.0.1:8001/jwks", "http://127.9.9.9/j",
                                 "http://localhost:8001/jwks", "http://LOCALHOST./j", "http://[::1]:8001/jwks"])
def test_a_jwks_url_is_https_or_loopback(url: str) -> None:
    assert RemoteKeySet(url).url == url
    assert Environment({"AUTHKIT_JWKS_URL": url}).jwks_url() == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://auth.example/jwks", "http://10.0.0.1/jwks", "http://[::2]/jwks",
                                 "http://127.0.0.1.evil.example/jwks", "http://localhost.evil.example/j",
                                 "ftp://127.0.0.1/jwks", "file:///etc/jwks", "//auth.example/jwks", "", 7])
def test_a_plain_http_jwks_url_off_loopback_is_refused_at_construction_and_in_config(url: object) -> None:
    """ASVS 9.1.3: keys fetched over plain HTTP can be swapped on the way; loopback traffic never leaves the host."""
    with pytest.raises(InsecureKeyUrl) as caught:
        RemoteKeySet(url)  # type: ignore[arg-type]
    assert caught.value.reason == "insecure_url"
    if isinstance(url, str):
        with pytest.raises(ConfigError) as refused:
            Environment({"AUTHKIT_JWKS_URL": url}).jwks_url()
        assert refused.value.variable == "AUTHKIT_JWKS_URL"
