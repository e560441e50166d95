"""Every demo service as a WSGI app built from environment variables, for gunicorn with several workers.

    gunicorn -w 2 -b 127.0.0.1:8000 'authkit.web.wsgi:bearer_api()'

Each worker process calls the factory, so everything a worker needs to agree with the others comes
from configuration: the signing keys from a private JWKS file (``python -m authkit.web.wsgi keygen``),
the state from a shared Redis. The bearer API signs refresh tokens with keys of their own
(``AUTHKIT_REFRESH_KEYS``), so its access key can retire once the access tokens it signed expire.
A missing or bad setting stops the worker with ``ConfigError`` naming the variable. The notebooks
never come here: ``create_app()`` and friends keep their generated defaults.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Mapping

import redis
from flask import Flask

from authkit.state import durability
from authkit.config import Environment, write_key_file
from authkit.errors import ConfigError, StoreUnavailable
from authkit.login.authenticate import PasswordLogin
from authkit.login.throttle import LoginThrottle
from authkit.login.users import UserDirectory
from authkit.tokens.keys import ALGORITHMS, KeySet, SigningKey
from authkit.state.redis import connect
from authkit.state.refresh import CLIENT_KINDS, CONFIDENTIAL, FAMILY_ABSOLUTE, GRACE, PUBLIC
from authkit.state.revocation import STRATEGIES
from authkit.state.sessions import DEFAULT_ABSOLUTE, DEFAULT_IDLE, SLIDE_POLICIES, SessionStore
from authkit.tokens.issuer import ACCESS_TTL, REFRESH_TTL
from authkit.web import bearer_app, cookie_app as cookie_module
from authkit.web.bearer_app import MAX_LOGINS, create_app
from authkit.web.bff import INTERNAL_TOKEN_TTL, create_bff_app, create_key_publisher
from authkit.web.cookie_app import SAME_SITE_VALUES, create_cookie_app
from authkit.web.jwks import JWKS_PATH, create_auth_app, create_resource_app

ISSUER_EXAMPLE, AUDIENCE_EXAMPLE = "https://auth.example", "https://api.example"
log = logging.getLogger(__name__)


def _claims(env: Environment) -> tuple[str, str]:
    """``iss`` and ``aud``: both explicit, so every service of a deployment agrees on them."""
    return (env.text("AUTHKIT_ISSUER", example=ISSUER_EXAMPLE),
            env.text("AUTHKIT_AUDIENCE", example=AUDIENCE_EXAMPLE))


def _redis(env: Environment) -> redis.Redis:
    """The shared Redis, its persistence checked before any store uses it (a restart is handled now).

    The report is logged as one JSON object: INFO when revocation is durable, WARNING when a crash
    could lose revocations (authkit then logs everyone out after such a restart). An unreachable or
    recovering Redis does not stop the worker: its requests fail closed (503) until Redis is back.
    """
    client = connect(env.redis_url())
    try:
        report = durability.check_persistence(client)
    except StoreUnavailable as err:
        log.warning("%s", json.dumps({"durable": None, "error": str(err)}))
        return client
    log.log(logging.INFO if report.durable else logging.WARNING, "%s", json.dumps(report.as_dict()))
    return client


def _session_store(env: Environment) -> SessionStore:
    """The session store on the shared Redis; call it once every other setting has been read.

    ``AUTHKIT_SESSION_KEY`` seals the session IDs: every worker needs the same one to read the others'
    cookies (changing it logs everyone out).
    """
    idle = env.seconds("AUTHKIT_SESSION_IDLE", DEFAULT_IDLE)
    absolute = env.seconds("AUTHKIT_SESSION_ABSOLUTE", DEFAULT_ABSOLUTE)
    slide = env.choice("AUTHKIT_SESSION_SLIDE", SLIDE_POLICIES, "always")
    key = env.secret_key("AUTHKIT_SESSION_KEY")
    return SessionStore(_redis(env), idle=idle, absolute=absolute, slide=slide, cookie_key=key)


def _password_login(env: Environment, client: redis.Redis, service: str,
                    demo: Callable[..., UserDirectory]) -> PasswordLogin:
    """Users from ``AUTHKIT_USER_DB`` (or the demo accounts if ``AUTHKIT_DEMO_USERS=1``), the hash policy, a
    throttle on the shared Redis (``AUTHKIT_LOGIN_THROTTLE``, on unless 0)."""
    hasher = env.password_hasher()
    directory = env.user_directory()
    if directory is None:
        logging.getLogger(f"{__name__}.users").warning("%s", json.dumps({"demo_users": True, "service": service}))
    users = directory if directory is not None else demo(hasher.cost)
    throttled = env.flag("AUTHKIT_LOGIN_THROTTLE") if env.values.get("AUTHKIT_LOGIN_THROTTLE") else True
    return PasswordLogin(users, hasher, throttle=LoginThrottle(client) if throttled else None, service=service)


def bearer_api(environ: Mapping[str, str] | None = None) -> Flask:
    """The bearer API (``authkit.web.bearer_app``) on the shared Redis, signing with the key file's keys."""
    env = Environment(environ)
    issuer, audience = _claims(env)
    config = {
        "ISSUER": issuer,
        "AUDIENCE": audience,
        "ACCESS_TTL": env.seconds("AUTHKIT_ACCESS_TTL", ACCESS_TTL),
        "REFRESH_TTL": env.seconds("AUTHKIT_REFRESH_TTL", REFRESH_TTL),
        "REFRESH_ABSOLUTE": env.seconds("AUTHKIT_REFRESH_ABSOLUTE", FAMILY_ABSOLUTE),
        "REFRESH_CLIENT": env.choice("AUTHKIT_REFRESH_CLIENT", CLIENT_KINDS, PUBLIC),
        "MAX_LOGINS": env.count("AUTHKIT_MAX_LOGINS", MAX_LOGINS) or None,  # 0: no limit
        "REVOCATION": env.choice("AUTHKIT_REVOCATION", STRATEGIES, "denylist+version"),
        "GRACE": env.seconds("AUTHKIT_REFRESH_GRACE", GRACE, allow_zero=True),
    }
    if config["GRACE"] >= config["REFRESH_TTL"]:
        raise ConfigError("invalid", "AUTHKIT_REFRESH_GRACE", "the grace must be shorter than AUTHKIT_REFRESH_TTL")
    if config["REFRESH_CLIENT"] == CONFIDENTIAL and config["REFRESH_ABSOLUTE"] < config["REFRESH_TTL"]:
        raise ConfigError("invalid", "AUTHKIT_REFRESH_ABSOLUTE", "the absolute lifetime is at least AUTHKIT_REFRESH_TTL")
    keys = env.key_set("AUTHKIT_SIGNING_KEYS")
    refresh_keys = _refresh_keys(env, keys)
    client = _redis(env)
    login = _password_login(env, client, "bearer", bearer_app.demo_users)
    return create_app(config, redis_client=client, keys=keys, refresh_keys=refresh_keys, login=login)


def _refresh_keys(env: Environment, access_keys: KeySet) -> KeySet:
    """The refresh tokens' own keys (required): sharing the access keys would tie both to the 14-day clock.

    A file-configured key set cannot see, across workers and restarts, which tokens a key signed; with
    one set, removing the old access key from the file would refuse every refresh token it signed.
    """
    keys = env.key_set("AUTHKIT_REFRESH_KEYS")
    shared = sorted(set(keys.kids) & set(access_keys.kids))
    if shared:
        raise ConfigError("invalid", "AUTHKIT_REFRESH_KEYS", f"shares kid {shared[0]!r} with AUTHKIT_SIGNING_KEYS: "
                                                             "refresh tokens need keys of their own "
                                                             "(python -m authkit.web.wsgi keygen --alg HS256)")
    return keys


def cookie_app(environ: Mapping[str, str] | None = None) -> Flask:
    """The session-cookie app; serve it over HTTPS (``__Host-`` cookies are Secure)."""
    env = Environment(environ)
    same_site = env.choice("AUTHKIT_SAME_SITE", SAME_SITE_VALUES, "Lax")
    trusted_origins = env.origins("AUTHKIT_TRUSTED_ORIGINS")
    env.user_directory()  # every setting is read before Redis is touched
    store = _session_store(env)
    login = _password_login(env, store.client, "cookie", cookie_module.demo_users)
    return create_cookie_app(store, same_site=same_site, trusted_origins=trusted_origins, login=login)


def bff(environ: Mapping[str, str] | None = None) -> Flask:
    """The backend-for-frontend; serve it over HTTPS. Its internal service is ``AUTHKIT_INTERNAL_URL``."""
    env = Environment(environ)
    issuer, audience = _claims(env)
    keys = env.key_set("AUTHKIT_SIGNING_KEYS")
    if keys.current.public_jwk() is None:
        raise ConfigError("invalid", "AUTHKIT_SIGNING_KEYS", "the BFF signs with an asymmetric key (EdDSA, ES256, "
                                                             "RS256): its internal services must not hold a secret")
    internal_url = env.url("AUTHKIT_INTERNAL_URL", example="http://127.0.0.1:8002")
    token_ttl = env.seconds("AUTHKIT_INTERNAL_TOKEN_TTL", INTERNAL_TOKEN_TTL)
    trusted_origins = env.origins("AUTHKIT_TRUSTED_ORIGINS")
    env.user_directory()  # every setting is read before Redis is touched
    store = _session_store(env)
    login = _password_login(env, store.client, "bff", cookie_module.demo_users)
    return create_bff_app(store, keys, internal_url=internal_url, issuer=issuer, audience=audience,
                          token_ttl=token_ttl, trusted_origins=trusted_origins, login=login)


def bff_keys(environ: Mapping[str, str] | None = None) -> Flask:
    """The BFF's key publisher: the public half of ``AUTHKIT_SIGNING_KEYS`` at the JWKS path."""
    return create_key_publisher(Environment(environ).key_set("AUTHKIT_SIGNING_KEYS"))


def auth_service(environ: Mapping[str, str] | None = None) -> Flask:
    """The JWKS auth service. Its demo ``POST /token`` mints tokens for any subject: off unless
    ``AUTHKIT_DEMO_TOKEN_ENDPOINT=1``."""
    env = Environment(environ)
    issuer, audience = _claims(env)
    token_endpoint = env.flag("AUTHKIT_DEMO_TOKEN_ENDPOINT")
    return create_auth_app(env.key_set("AUTHKIT_SIGNING_KEYS"), issuer, audience, token_endpoint=token_endpoint)


def resource_service(environ: Mapping[str, str] | None = None) -> Flask:
    """The resource service: verifies access tokens with the keys published at ``AUTHKIT_JWKS_URL``."""
    env = Environment(environ)
    issuer, audience = _claims(env)
    jwks_url = env.jwks_url("AUTHKIT_JWKS_URL")
    return create_resource_app(jwks_url, issuer, audience)


def main(argv: list[str] | None = None) -> int:
    """``keygen``: write a new private JWKS file (mode 0600) for ``AUTHKIT_SIGNING_KEYS``, ``AUTHKIT_REFRESH_KEYS``."""
    parser = argparse.ArgumentParser(prog="python -m authkit.web.wsgi", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="write a new signing key to a private JWKS file")
    keygen.add_argument("--out", required=True, help="the file to create (an existing file is never overwritten)")
    keygen.add_argument("--alg", choices=ALGORITHMS, default="EdDSA", help="the key's one algorithm (EdDSA)")
    keygen.add_argument("--kid", help="the key ID (default: the public key's RFC 7638 thumbprint, random for HS256)")
    args = parser.parse_args(argv)
    key = SigningKey.generate(args.alg, kid=args.kid)
    try:
        write_key_file(args.out, key)
    except FileExistsError:
        parser.exit(1, f"{args.out} exists: keys are never overwritten (move it away to replace it)\n")
    print(f"wrote {args.out}: kid {key.kid!r}, {key.alg}, readable by its owner only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
