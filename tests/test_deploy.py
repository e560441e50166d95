"""Deploying the demo services: settings from the environment, keys from a file, gunicorn with several workers."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
import time
from base64 import urlsafe_b64decode
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import time_machine

from authkit.login.users import seeded_user_id
from authkit.config import ConfigError, Environment, load_key_file, private_jwk, write_key_file
from authkit.tokens.keys import ALGORITHMS, KeySet, SigningKey
from authkit.state.redis import LocalRedisServer, free_port
from authkit.state.refresh import GRACE
from authkit.tokens import jws
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from authkit.web import wsgi
from authkit.web.bearer_app import DEMO_ACCOUNTS, create_app
from authkit.state.session_ids import SessionIds
from authkit.web.cookie_app import COOKIE_NAME
from authkit.web.cookie_app import DEMO_ACCOUNTS as COOKIE_ACCOUNTS
from authkit.web.jwks import JWKS_PATH
from authkit.web.server import GunicornServer, serve
from authkit.web.tls import LocalTLS

ISSUER, AUDIENCE = "https://auth.example", "https://api.example"
# The throwaway servers keep nothing on disk: the start-up check warns about each, as it must.
pytestmark = pytest.mark.filterwarnings("ignore::authkit.state.durability.PersistenceWarning")
ALICE = {"username": "alice", "password": DEMO_ACCOUNTS["alice"][0]}


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    path = str(tmp_path / "signing.jwks")
    assert wsgi.main(["keygen", "--out", path, "--kid", "2026-05"]) == 0
    return path


@pytest.fixture
def refresh_key_file(tmp_path: Path) -> str:
    path = str(tmp_path / "refresh.jwks")
    assert wsgi.main(["keygen", "--out", path, "--alg", "HS256", "--kid", "refresh-2026-05"]) == 0
    return path


@pytest.fixture
def bearer_env(redis_server: LocalRedisServer, key_file: str, refresh_key_file: str) -> dict[str, str]:
    return {"AUTHKIT_REDIS_URL": redis_server.url, "AUTHKIT_SIGNING_KEYS": key_file,
            "AUTHKIT_REFRESH_KEYS": refresh_key_file, "AUTHKIT_ISSUER": ISSUER, "AUTHKIT_AUDIENCE": AUDIENCE,
            "AUTHKIT_DEMO_USERS": "1"}


def config_error(build, env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        build(env)
    return caught.value


# --- the key file ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_keygen_writes_a_private_jwks_only_its_owner_can_read(tmp_path: Path, alg: str) -> None:
    path = tmp_path / "keys.jwks"
    assert wsgi.main(["keygen", "--out", str(path), "--alg", alg]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = load_key_file(path)
    assert (len(keys), keys.current.alg, keys.current.can_sign) == (1, alg, True)
    (jwk,) = json.loads(path.read_text())["keys"]
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == (keys.current.kid, alg, "sig")


def test_keygen_never_overwrites_a_key_file(key_file: str) -> None:
    before = Path(key_file).read_bytes()
    with pytest.raises(SystemExit) as caught:
        wsgi.main(["keygen", "--out", key_file])
    assert caught.value.code == 1 and Path(key_file).read_bytes() == before


def test_the_first_key_signs_and_the_others_only_verify(tmp_path: Path) -> None:
    new, old = SigningKey.generate("EdDSA", kid="new"), SigningKey.generate("ES256", kid="old")
    write_key_file(tmp_path / "keys.jwks", new, old)
    keys = load_key_file(tmp_path / "keys.jwks")
    assert (keys.current.kid, keys.kids) == ("new", ["new", "old"])
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    old_token = TokenIssuer(KeySet(old), issuer=ISSUER, audience=AUDIENCE).issue_access("alice")
    new_token = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE).issue_access("bob")
    assert verifier.verify_access(old_token)["sub"] == "alice"
    assert jws.read_header(new_token)["kid"] == "new"


BAD_KEY_FILES = [  # (content, part of the message; "" where the key import words it)
    ("not json", "Expecting value"),
    ("[]", "expected a JWK Set"),
    ('{"keys": []}', "expected a JWK Set"),
    ('{"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}]}', "each key in a key file names its kid"),
    ('{"keys": [{"kty": "oct", "kid": "short", "k": "c2hvcnQ"}]}', ""),
    ('{"keys": [{"kty": "RSA", "kid": "x"}]}', ""),
    ('{"keys": [{"kty": "OKP", "crv": "X25519", "kid": "x", "x": "AAAA"}]}', ""),
]


@pytest.mark.parametrize(("content", "message"), BAD_KEY_FILES)
def test_a_bad_key_file_is_a_config_error_naming_the_variable(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "keys.jwks"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        Environment({"AUTHKIT_SIGNING_KEYS": str(path)}).key_set("AUTHKIT_SIGNING_KEYS")
    assert (caught.value.reason, caught.value.variable) == ("invalid", "AUTHKIT_SIGNING_KEYS")
    assert f"cannot use key file '{path}': {message}" in str(caught.value)


def test_a_verify_only_first_key_cannot_sign(tmp_path: Path) -> None:
    public = SigningKey.generate("EdDSA", kid="pub").public_jwk()
    (tmp_path / "keys.jwks").write_text(json.dumps({"keys": [public]}))
    with pytest.raises(ValueError, match="needs its private part"):
        load_key_file(tmp_path / "keys.jwks")


def test_a_missing_key_file_names_the_variable_and_the_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.jwks")
    with pytest.raises(ConfigError, match=f"AUTHKIT_SIGNING_KEYS: cannot use key file '{re.escape(missing)}'"):
        Environment({"AUTHKIT_SIGNING_KEYS": missing}).key_set("AUTHKIT_SIGNING_KEYS")


def test_a_private_jwk_round_trips_through_from_jwk() -> None:
    for alg in ALGORITHMS:
        key = SigningKey.generate(alg)
        again = SigningKey.from_jwk(private_jwk(key))
        assert (again.kid, again.alg, again.public_jwk(), again.can_sign) == (key.kid, alg, key.public_jwk(), True)


# --- environment variables -------------------------------------------------------------------------

SETTING_CASES = [
    # (variable, value, expected reason) for the bearer API's settings
    ("AUTHKIT_REDIS_URL", None, "missing"),
    ("AUTHKIT_REDIS_URL", "127.0.0.1:6379", "invalid"),
    ("AUTHKIT_REDIS_URL", "http://127.0.0.1:6379/0", "invalid"),
    ("AUTHKIT_REDIS_URL", "redis://127.0.0.1:port/0", "invalid"),
    ("AUTHKIT_REDIS_URL", "redis://127.0.0.1:70000/0", "invalid"),
    ("AUTHKIT_REDIS_URL", "redis://[::1/0", "invalid"),
    ("AUTHKIT_REDIS_URL", "unix://", "invalid"),
    ("AUTHKIT_SIGNING_KEYS", None, "missing"),
    ("AUTHKIT_SIGNING_KEYS", "  ", "missing"),
    ("AUTHKIT_REFRESH_KEYS", None, "missing"),
    ("AUTHKIT_REFRESH_KEYS", "/nowhere/refresh.jwks", "invalid"),
    ("AUTHKIT_ISSUER", None, "missing"),
    ("AUTHKIT_AUDIENCE", None, "missing"),
    ("AUTHKIT_ACCESS_TTL", "15m", "invalid"),
    ("AUTHKIT_ACCESS_TTL", "0", "invalid"),
    ("AUTHKIT_ACCESS_TTL", "-5", "invalid"),
    ("AUTHKIT_ACCESS_TTL", "1.5", "invalid"),
    ("AUTHKIT_ACCESS_TTL", "٣", "invalid"),
    ("AUTHKIT_REFRESH_TTL", "a day", "invalid"),
    ("AUTHKIT_REVOCATION", "denylist+versions", "invalid"),
    ("AUTHKIT_REFRESH_GRACE", "-1", "invalid"),
    ("AUTHKIT_SCRYPT_LOG2_N", "0", "invalid"),
    ("AUTHKIT_SCRYPT_LOG2_N", "21", "invalid"),  # above ScryptCost's bound
    ("AUTHKIT_SCRYPT_LOG2_N", "ten", "invalid"),
    ("AUTHKIT_REFRESH_GRACE", "1209600", "invalid"),  # as long as the refresh lifetime
]


@pytest.mark.parametrize(("variable", "value", "reason"), SETTING_CASES)
def test_a_missing_or_bad_setting_stops_the_bearer_api(bearer_env: dict[str, str], variable: str,
                                                       value: str | None, reason: str) -> None:
    env = {name: v for name, v in bearer_env.items() if name != variable}
    if value is not None:
        env[variable] = value
    error = config_error(wsgi.bearer_api, env)
    assert (error.reason, error.variable) == (reason, variable)
    assert str(error).startswith(f"{reason}: {variable}: ")


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://:secret@redis.internal:6380/1",
                                 "unix:///run/redis/redis.sock?db=0", "redis://[::1]:6379"])
def test_redis_urls_the_client_understands(url: str) -> None:
    assert Environment({"AUTHKIT_REDIS_URL": f" {url} "}).redis_url() == url


def test_no_configuration_at_all_names_the_first_missing_variable() -> None:
    error = config_error(wsgi.bearer_api, {})
    assert (error.reason, error.variable) == ("missing", "AUTHKIT_ISSUER")
    assert "for example AUTHKIT_ISSUER=https://" in str(error)


@pytest.mark.parametrize("origins", [
    "app.example", "http://app.example", "https://App.example", "https://app.example/", "https://app.example:443",
    "https://app.example/path", "https://user@app.example", "https://app.example,", "https://app.example:x",
    "https://[::1", "*",
])
def test_trusted_origins_are_written_as_browsers_send_them(origins: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Environment({"AUTHKIT_TRUSTED_ORIGINS": origins}).origins("AUTHKIT_TRUSTED_ORIGINS")
    assert (caught.value.reason, caught.value.variable) == ("invalid", "AUTHKIT_TRUSTED_ORIGINS")


def test_trusted_origins_accept_a_list() -> None:
    value = "https://app.example, https://127.0.0.1:8443,https://[::1]:8443"
    assert Environment({"AUTHKIT_TRUSTED_ORIGINS": value}).origins("AUTHKIT_TRUSTED_ORIGINS") == (
        "https://app.example", "https://127.0.0.1:8443", "https://[::1]:8443")


def test_settings_reach_the_bearer_api(bearer_env: dict[str, str]) -> None:
    env = {**bearer_env, "AUTHKIT_ACCESS_TTL": "60", "AUTHKIT_REFRESH_TTL": "3600", "AUTHKIT_REVOCATION": "version",
           "AUTHKIT_REFRESH_GRACE": "0"}
    service = wsgi.bearer_api(env).extensions["authkit.bearer"]
    assert (service.issuer.issuer, service.issuer.audience) == (ISSUER, AUDIENCE)
    assert (service.issuer.access_ttl.total_seconds(), service.issuer.refresh_ttl.total_seconds()) == (60, 3600)
    assert service.families.grace == timedelta(0)
    assert wsgi.bearer_api(bearer_env).extensions["authkit.bearer"].families.grace == GRACE == timedelta(seconds=10)
    assert service.guard.strategy.name == "version"
    assert service.issuer.keys.current.kid == "2026-05"


def test_two_instances_from_one_configuration_accept_each_others_tokens(bearer_env: dict[str, str]) -> None:
    """What two worker processes do: each builds its own app from the same settings and key files."""
    first, second = wsgi.bearer_api(bearer_env).test_client(), wsgi.bearer_api(bearer_env).test_client()
    tokens = first.post("/login", json=ALICE).get_json()
    assert jws.read_header(tokens["access_token"])["kid"] == "2026-05"
    assert jws.read_header(tokens["refresh_token"])["kid"] == "refresh-2026-05", "signed with the refresh keys"
    me = second.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert (me.status_code, me.get_json()["sub"]) == (200, seeded_user_id("alice"))
    refreshed = second.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.get_json()
    again = first.post("/refresh", json={"refresh_token": refreshed.get_json()["refresh_token"]})
    assert again.status_code == 200, again.get_json()


def test_retiring_the_access_key_logs_nobody_out(bearer_env: dict[str, str], tmp_path: Path) -> None:
    """Rotate the access key, retire the old one once its tokens expired: refresh tokens live on."""
    old, new = SigningKey.generate("EdDSA", kid="access-1"), SigningKey.generate("EdDSA", kid="access-2")
    files = {name: str(tmp_path / f"{name}.jwks") for name in ("before", "rotated", "retired")}
    write_key_file(files["before"], old)
    write_key_file(files["rotated"], new, old)  # the new key signs, the old one still verifies
    write_key_file(files["retired"], new)
    with time_machine.travel(time.time(), tick=False) as clock:
        before = wsgi.bearer_api({**bearer_env, "AUTHKIT_SIGNING_KEYS": files["before"]}).test_client()
        tokens = before.post("/login", json=ALICE).get_json()
        rotated = wsgi.bearer_api({**bearer_env, "AUTHKIT_SIGNING_KEYS": files["rotated"]}).test_client()
        assert rotated.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 200
        clock.shift(timedelta(minutes=15, seconds=1))  # every token access-1 signed has expired
        retired = wsgi.bearer_api({**bearer_env, "AUTHKIT_SIGNING_KEYS": files["retired"]}).test_client()
        refreshed = retired.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.get_json()
        access = refreshed.get_json()["access_token"]
        me = retired.get("/me", headers={"Authorization": f"Bearer {access}"})
    assert jws.read_header(access)["kid"] == "access-2"
    assert (me.status_code, me.get_json()["sub"]) == (200, seeded_user_id("alice"))


def test_refresh_tokens_never_share_a_key_with_access_tokens(bearer_env: dict[str, str]) -> None:
    error = config_error(wsgi.bearer_api, {**bearer_env, "AUTHKIT_REFRESH_KEYS": bearer_env["AUTHKIT_SIGNING_KEYS"]})
    assert (error.reason, error.variable) == ("invalid", "AUTHKIT_REFRESH_KEYS")
    assert "shares kid '2026-05' with AUTHKIT_SIGNING_KEYS" in str(error)


def test_the_notebook_default_still_generates_its_own_keys() -> None:
    first, second = (create_app().extensions["authkit.bearer"] for _ in range(2))
    assert first.issuer.keys.current.kid != second.issuer.keys.current.kid
    assert first.issuer.refresh_keys.current.kid != second.issuer.refresh_keys.current.kid
    assert (first.issuer.keys.current.alg, first.issuer.refresh_keys.current.alg) == ("EdDSA", "HS256")
    assert first.verifier.refresh_keys is first.issuer.refresh_keys, "the service verifies its own refresh tokens"


# --- the persistence check at start-up ---------------------------------------------------------------

SESSION_KEY = "x3Rk1Yb0Vn6Q2pW8sTz4Lm9CdEf5Gh7JaKuOiPyRqSw"  # 43 base64url characters: 32 bytes
STORE_FACTORIES = {"bearer API": wsgi.bearer_api, "cookie app": wsgi.cookie_app, "BFF": wsgi.bff}


def store_env(bearer_env: dict[str, str], redis_url: str) -> dict[str, str]:
    """What every service with a store needs, on the Redis at ``redis_url``."""
    return {**bearer_env, "AUTHKIT_REDIS_URL": redis_url, "AUTHKIT_TRUSTED_ORIGINS": "https://app.example",
            "AUTHKIT_INTERNAL_URL": "http://127.0.0.1:1", "AUTHKIT_SESSION_KEY": SESSION_KEY}


def persistence_logs(caplog: pytest.LogCaptureFixture) -> list[tuple[str, dict]]:
    return [(r.levelname, json.loads(r.getMessage())) for r in caplog.records if r.name == "authkit.web.wsgi"]


@pytest.mark.parametrize("name", STORE_FACTORIES)
@pytest.mark.parametrize(("persistence", "level"), [({}, "WARNING"),
                                                    ({"appendonly": True, "appendfsync": "always"}, "INFO")])
def test_every_service_with_a_store_logs_its_persistence_at_start_up(
        bearer_env: dict[str, str], caplog: pytest.LogCaptureFixture, name: str, persistence: dict,
        level: str) -> None:
    caplog.set_level(logging.INFO, logger="authkit.web.wsgi")
    with LocalRedisServer(**persistence) as server:
        STORE_FACTORIES[name](store_env(bearer_env, server.url))
    ((logged_level, report),) = persistence_logs(caplog)
    assert (logged_level, report["durable"], report["backend"]) == (level, level == "INFO",
                                                                     f"redis-server at 127.0.0.1:{server.port}")
    assert report["required"] == {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}
    assert report["settings"]["appendonly"] == ("yes" if persistence else "no")


# A request of each service that needs its store; a session ID only has to be well formed to be looked up.
NEEDS_REDIS = {
    "bearer API": ("POST", "/login", {"json": ALICE}),
    "cookie app": ("GET", "/me", {}),
    "BFF": ("GET", "/api/me", {}),
}


@pytest.mark.parametrize("name", STORE_FACTORIES)
def test_a_service_starts_while_redis_is_down_and_answers_503(bearer_env: dict[str, str],
                                                              caplog: pytest.LogCaptureFixture, name: str) -> None:
    app = STORE_FACTORIES[name](store_env(bearer_env, f"redis://127.0.0.1:{free_port()}/0"))
    ((level, report),) = persistence_logs(caplog)
    assert (level, report["durable"]) == ("WARNING", None) and "cannot check" in report["error"]
    client = app.test_client()
    sealed = SessionIds(urlsafe_b64decode(SESSION_KEY + "=")).seal("alice", int(time.time() * 1000) + 60_000, "A" * 43)
    client.set_cookie(COOKIE_NAME, sealed, domain="localhost")
    method, path, options = NEEDS_REDIS[name]
    response = client.open(path, method=method, base_url="https://localhost", **options)
    assert response.status_code == 503, response.get_json()


def test_a_worker_started_after_a_restart_that_lost_writes_serves_and_everyone_logs_in_again(
        bearer_env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    with LocalRedisServer() as server:
        env = store_env(bearer_env, server.url)
        tokens = wsgi.bearer_api(env).test_client().post("/login", json=ALICE).get_json()
        server.kill()
        server.restart()  # nothing persisted: every login and revocation is gone
        caplog.clear()
        api = wsgi.bearer_api(env).test_client()  # its first command meets the restart: no crash
        me = api.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        refreshed = api.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
        again = api.post("/login", json=ALICE)
    assert persistence_logs(caplog)[0][1]["durable"] is False
    assert me.get_json()["error_description"] == "access token refused: revoked"
    assert refreshed.get_json()["error_description"] == "refresh token refused: expired"
    assert again.status_code == 200


# --- password hashing cost ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", STORE_FACTORIES)
@pytest.mark.parametrize(("setting", "stored"), [({"AUTHKIT_SCRYPT_LOG2_N": "10"}, "$scrypt$ln=10,r=8,p=1$"),
                                                 ({}, "$argon2id$v=19$m=19456,t=2,p=1$")])
def test_the_demo_users_are_hashed_at_the_configured_cost(bearer_env: dict[str, str], name: str,
                                                          setting: dict[str, str], stored: str) -> None:
    """Argon2id at OWASP's figures by default; scrypt when a deployment still asks for it."""
    app = STORE_FACTORIES[name]({**store_env(bearer_env, bearer_env["AUTHKIT_REDIS_URL"]), **setting})
    assert {user.password_hash[:len(stored)] for user in app.config["USERS"].users()} == {stored}
    account = ALICE if name == "bearer API" else {"username": "alice", "password": COOKIE_ACCOUNTS["alice"][0]}
    login = app.test_client().post("/login", json=account, headers={"Origin": "https://app.example"},
                                   base_url="https://localhost")
    assert login.status_code == 200, login.get_json()


# --- the other services ----------------------------------------------------------------------------


def test_the_cookie_app_trusts_only_the_configured_origins(redis_server: LocalRedisServer) -> None:
    with LocalTLS() as tls:
        with serve(wsgi.cookie_app({"AUTHKIT_REDIS_URL": redis_server.url,
                                    "AUTHKIT_TRUSTED_ORIGINS": "https://app.example", "AUTHKIT_DEMO_USERS": "1",
                                    "AUTHKIT_SESSION_KEY": SESSION_KEY,
                                    "AUTHKIT_SESSION_IDLE": "60", "AUTHKIT_SAME_SITE": "Strict"}),
                   ssl_context=tls.server_context) as site:
            alice = {"username": "alice", "password": COOKIE_ACCOUNTS["alice"][0]}
            own_host = tls.client({"Origin": site.url}).post(f"{site.url}/login", json=alice, timeout=10)
            configured = tls.client({"Origin": "https://app.example"})
            login = configured.post(f"{site.url}/login", json=alice, timeout=10)
            me = configured.get(f"{site.url}/me", timeout=5).json()
    assert (own_host.status_code, own_host.json()["error"]) == (403, "bad_origin"), "the Host header is not trusted"
    assert login.status_code == 200 and "SameSite=Strict" in login.headers["Set-Cookie"]
    assert me["user"] == seeded_user_id("alice") and me["idle_deadline"] < me["absolute_deadline"]


@pytest.mark.parametrize(("missing", "build"), [("AUTHKIT_TRUSTED_ORIGINS", wsgi.cookie_app),
                                                ("AUTHKIT_SESSION_KEY", wsgi.cookie_app),
                                                ("AUTHKIT_SESSION_KEY", wsgi.bff),
                                                ("AUTHKIT_TRUSTED_ORIGINS", wsgi.bff),
                                                ("AUTHKIT_INTERNAL_URL", wsgi.bff),
                                                ("AUTHKIT_JWKS_URL", wsgi.resource_service),
                                                ("AUTHKIT_SIGNING_KEYS", wsgi.bff_keys),
                                                ("AUTHKIT_SIGNING_KEYS", wsgi.auth_service)])
def test_every_service_names_what_it_misses(bearer_env: dict[str, str], missing: str, build) -> None:
    env = {**bearer_env, "AUTHKIT_TRUSTED_ORIGINS": "https://app.example", "AUTHKIT_SESSION_KEY": SESSION_KEY,
           "AUTHKIT_INTERNAL_URL": "http://127.0.0.1:1", "AUTHKIT_JWKS_URL": f"http://127.0.0.1:1{JWKS_PATH}"}
    del env[missing]
    error = config_error(build, env)
    assert (error.reason, error.variable) == ("missing", missing)


def test_the_bff_refuses_a_shared_secret_key_file(bearer_env: dict[str, str], tmp_path: Path) -> None:
    secret = str(tmp_path / "hs256.jwks")
    wsgi.main(["keygen", "--out", secret, "--alg", "HS256"])
    env = {**bearer_env, "AUTHKIT_SIGNING_KEYS": secret, "AUTHKIT_TRUSTED_ORIGINS": "https://app.example",
           "AUTHKIT_INTERNAL_URL": "http://127.0.0.1:1"}
    error = config_error(wsgi.bff, env)
    assert (error.reason, error.variable) == ("invalid", "AUTHKIT_SIGNING_KEYS")


def test_the_hybrid_from_configuration(bearer_env: dict[str, str]) -> None:
    """Key publisher, internal resource service and BFF, each built from its own environment."""
    shared = {**bearer_env, "AUTHKIT_ISSUER": "https://bff.example", "AUTHKIT_AUDIENCE": "https://internal.example"}
    port = free_port()
    edge_env = {**shared, "AUTHKIT_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}", "AUTHKIT_SESSION_KEY": SESSION_KEY}
    with LocalTLS() as tls, serve(wsgi.bff_keys(shared)) as publisher, \
            serve(wsgi.resource_service({**shared, "AUTHKIT_JWKS_URL": publisher.url + JWKS_PATH})) as internal, \
            serve(wsgi.bff({**edge_env, "AUTHKIT_INTERNAL_URL": internal.url}), ssl_context=tls.server_context,
                  port=port) as edge:
        browser = tls.client({"Origin": edge.url})
        alice = {"username": "alice", "password": COOKIE_ACCOUNTS["alice"][0]}
        assert browser.post(f"{edge.url}/login", json=alice, timeout=10).status_code == 200
        me = browser.get(f"{edge.url}/api/me", timeout=10)
    assert (me.status_code, me.json()["user"]) == (200, seeded_user_id("alice"))


def test_the_auth_and_resource_services_from_configuration(bearer_env: dict[str, str]) -> None:
    with serve(wsgi.auth_service({**bearer_env, "AUTHKIT_DEMO_TOKEN_ENDPOINT": "1"})) as auth, \
            serve(wsgi.resource_service({**bearer_env, "AUTHKIT_JWKS_URL": auth.url + JWKS_PATH})) as resource:
        token = requests.post(f"{auth.url}/token", json={"sub": "carol"}, timeout=5).json()["access_token"]
        me = requests.get(f"{resource.url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert (me.status_code, me.json()["sub"], me.json()["kid"]) == (200, "carol", "2026-05")


@pytest.mark.parametrize("setting", [{}, {"AUTHKIT_DEMO_TOKEN_ENDPOINT": "0"}])
def test_the_demo_token_endpoint_is_off_unless_enabled(bearer_env: dict[str, str], setting: dict[str, str]) -> None:
    """It mints a token for any subject, without a password: a deployment has it only when asked."""
    client = wsgi.auth_service({**bearer_env, **setting}).test_client()
    assert client.post("/token", json={"sub": "root", "scope": "admin"}).status_code == 404
    assert client.get(JWKS_PATH).get_json()["keys"][0]["kid"] == "2026-05", "the keys are still published"


@pytest.mark.parametrize("value", ["yes", "true", "2", "on"])
def test_the_demo_token_switch_is_1_or_0(bearer_env: dict[str, str], value: str) -> None:
    error = config_error(wsgi.auth_service, {**bearer_env, "AUTHKIT_DEMO_TOKEN_ENDPOINT": value})
    assert (error.reason, error.variable) == ("invalid", "AUTHKIT_DEMO_TOKEN_ENDPOINT")


# --- under gunicorn --------------------------------------------------------------------------------

LOG_FORMAT = "%({x-request-id}i)s %(p)s %(s)s"


def access_log(server: GunicornServer, *, lines: int) -> str:
    """The access log once it holds ``lines`` lines (a worker logs a request after answering it)."""
    deadline = time.monotonic() + 10
    while True:
        text = Path(server.access_log).read_text()
        if text.count("\n") >= lines or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_the_bearer_api_serves_tokens_across_two_worker_processes(bearer_env: dict[str, str]) -> None:
    """Log in, then /me and /refresh many times on fresh connections: every worker accepts every token."""
    answers: dict[str, tuple[str, int, dict]] = {}  # request ID -> (what, status, body)
    issued_by: dict[str, str] = {}  # request ID of a /me -> request ID of the answer that issued its token
    lock = threading.Lock()

    def call(request_id: str, what: str, method: str, path: str, **kwargs) -> dict:
        response = requests.request(method, server.url + path, headers={"X-Request-Id": request_id,
                                    "Connection": "close", **kwargs.pop("headers", {})}, timeout=30, **kwargs)
        with lock:
            answers[request_id] = (what, response.status_code, response.json())
        return response.json()

    def user(n: int) -> None:
        tokens, source = call(f"{n}-login", "login", "POST", "/login", json=ALICE), f"{n}-login"
        for i in range(12):
            me_id = f"{n}-me-{i}"
            issued_by[me_id] = source
            call(me_id, "me", "GET", "/me", headers={"Authorization": f"Bearer {tokens.get('access_token')}"})
            source = f"{n}-refresh-{i}"
            tokens = call(source, "refresh", "POST", "/refresh", json={"refresh_token": tokens.get("refresh_token")})

    with GunicornServer("authkit.web.wsgi:bearer_api()", env=bearer_env, workers=2,
                        access_log_format=LOG_FORMAT) as server:
        workers = server.worker_pids()
        users = [threading.Thread(target=user, args=(n,)) for n in range(4)]
        for thread in users:
            thread.start()
        for thread in users:
            thread.join(120)
        log = access_log(server, lines=len(answers))
    served_by = {request_id: int(pid.strip("<>")) for request_id, pid, _ in (line.split() for line in log.splitlines())}
    refused = {rid: body for rid, (_, status, body) in answers.items() if status != 200}
    assert refused == {}, "no token refused, least of all unknown_key"
    assert len(answers) == 4 * 25 and set(served_by) == set(answers)
    assert len(workers) == 2 and set(served_by.values()) == set(workers)
    by_kind = Counter((answers[rid][0], pid) for rid, pid in served_by.items())
    assert all(by_kind[(kind, pid)] > 0 for kind in ("me", "refresh") for pid in workers), by_kind
    crossed = sum(served_by[me_id] != served_by[source] for me_id, source in issued_by.items())
    assert crossed > 0, "some tokens were verified by the worker that did not issue them"


def test_gunicorn_refuses_to_start_without_the_key_file(bearer_env: dict[str, str]) -> None:
    env = {name: value for name, value in bearer_env.items() if name != "AUTHKIT_SIGNING_KEYS"}
    with pytest.raises(RuntimeError) as caught:
        GunicornServer("authkit.web.wsgi:bearer_api()", env=env, workers=2)
    assert "ConfigError" in str(caught.value) and "AUTHKIT_SIGNING_KEYS: not set" in str(caught.value)


def test_the_cookie_app_under_gunicorn_over_https(redis_server: LocalRedisServer) -> None:
    """gunicorn terminates TLS itself (--certfile/--keyfile): the __Host- cookie is set and sent back."""
    port = free_port()
    env = {"AUTHKIT_REDIS_URL": redis_server.url, "AUTHKIT_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
           "AUTHKIT_SESSION_KEY": SESSION_KEY, "AUTHKIT_DEMO_USERS": "1"}
    with LocalTLS() as tls, GunicornServer("authkit.web.wsgi:cookie_app()", env=env, workers=2, port=port,
                                           ssl_files=tls.server_files()) as site:
        browser = tls.client({"Origin": site.url})
        alice = {"username": "alice", "password": COOKIE_ACCOUNTS["alice"][0]}
        login = browser.post(f"{site.url}/login", json=alice, timeout=30)
        me = [browser.get(f"{site.url}/me", timeout=30) for _ in range(6)]
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{site.url}/me", timeout=5)  # the system trust store does not know this CA
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/me", timeout=5)  # no plain HTTP on that port
    assert login.status_code == 200 and login.headers["Set-Cookie"].startswith(f"{COOKIE_NAME}=")
    assert "; Secure; HttpOnly; Path=/" in login.headers["Set-Cookie"]
    assert [r.status_code for r in me] == [200] * 6 and me[0].json()["user"] == seeded_user_id("alice")


@pytest.mark.parametrize("value", ["short", "x3Rk1Yb0Vn6Q2pW8sTz4Lm9CdEf5Gh7JaKuOiPyRqS", "x3Rk1Yb0Vn6Q2pW8sTz4+m9CdEf5Gh7JaKuOiPyRqSw",
                                   "é" * 43])
def test_a_short_or_garbled_session_key_stops_the_cookie_app(bearer_env: dict[str, str], value: str) -> None:
    error = config_error(wsgi.cookie_app, {**store_env(bearer_env, bearer_env["AUTHKIT_REDIS_URL"]),
                                           "AUTHKIT_SESSION_KEY": value})
    assert (error.reason, error.variable) == ("invalid", "AUTHKIT_SESSION_KEY")


@pytest.mark.parametrize("name", ["cookie app", "BFF"])
def test_workers_of_one_configuration_read_each_others_session_cookies(bearer_env: dict[str, str], name: str) -> None:
    env = {**store_env(bearer_env, bearer_env["AUTHKIT_REDIS_URL"]), "AUTHKIT_SCRYPT_LOG2_N": "10"}
    first, second = STORE_FACTORIES[name](env), STORE_FACTORIES[name](env)
    other = STORE_FACTORIES[name]({**env, "AUTHKIT_SESSION_KEY": "y" + SESSION_KEY[1:]})
    account = {"username": "alice", "password": COOKIE_ACCOUNTS["alice"][0]}
    https = {"base_url": "https://localhost", "headers": {"Origin": "https://app.example"}}
    login = first.test_client().post("/login", json=account, **https)
    cookie = login.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    assert "alice" not in cookie
    path = "/me" if name == "cookie app" else "/logout"
    answers = []
    for app in (second, other):
        client = app.test_client()
        client.set_cookie(COOKIE_NAME, cookie, domain="localhost")
        answers.append(client.post(path, **{**https, "headers": {**https["headers"], "X-CSRF-Token":
                                                                   login.get_json()["csrf_token"]}})
                       if path == "/logout" else client.get(path, **https))
    assert answers[0].status_code == 200, answers[0].get_json()
    refused = (401, "malformed") if path == "/me" else (403, "bad_token")  # a POST meets the keyed CSRF token first
    assert (answers[1].status_code, answers[1].get_json()["error"]) == refused, "another key: refused"
