"""Deployment settings: typed reads of environment variables, and signing keys kept in a private JWKS file.

Every read names its variable when it fails, so a service that is started with a missing or bad
setting stops at once with ``ConfigError`` instead of inventing a value (a key generated per worker
process would sign tokens the other workers cannot verify).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from base64 import urlsafe_b64decode
from collections.abc import Collection, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

from authkit.errors import AuthkitError, ConfigError, InsecureKeyUrl
from authkit.tokens.keys import KeySet, SigningKey
from authkit.tokens.remote_keys import check_jwks_url
from authkit.login.hashing import Argon2Cost, PasswordHasher, Pepper
from authkit.login.passwords import DEFAULT_COST, ScryptCost
from authkit.login.users import SqliteDirectory

REDIS_SCHEMES = ("redis", "rediss", "unix")
KEY_FILE_MODE = 0o600  # the file holds private keys: readable by its owner only
MAX_SECONDS = 100 * 365 * 24 * 3600  # a duration setting beyond a century is a typo, and timedelta's limit is near
MAX_DIGITS = 12  # read no longer number than this: int() refuses 4,300 digits, timedelta overflows far sooner


class Environment:
    """Reads settings from ``os.environ`` (or any mapping); each method refuses a bad value with ``ConfigError``."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values = os.environ if values is None else values

    def text(self, name: str, *, example: str, default: str | None = None) -> str:
        """The variable's value, stripped; a missing one is an error unless there is a default."""
        value = self.values.get(name, "").strip()
        if value:
            return value
        if default is None:
            raise ConfigError("missing", name, f"not set; for example {name}={example}")
        return default

    def choice(self, name: str, choices: Collection[str], default: str) -> str:
        """One of ``choices`` (as written), ``default`` if unset."""
        value = self.text(name, example=default, default=default)
        if value not in choices:
            raise ConfigError("invalid", name, f"{value!r} is not one of {sorted(choices)}")
        return value

    def flag(self, name: str) -> bool:
        """A switch: ``1`` on, ``0`` or unset off; anything else is refused rather than guessed."""
        value = self.text(name, example="1", default="0")
        if value not in ("0", "1"):
            raise ConfigError("invalid", name, f"{value!r} is neither 1 (on) nor 0 (off)")
        return value == "1"

    def seconds(self, name: str, default: timedelta, *, allow_zero: bool = False) -> timedelta:
        """A duration given as a whole number of seconds, ``default`` if unset."""
        value = self.text(name, example=str(int(default.total_seconds())), default="")
        if not value:
            return default
        least = "0" if allow_zero else "1"
        if not value.isascii() or not value.isdigit() or (int(value[:MAX_DIGITS]) == 0 and not allow_zero):
            raise ConfigError("invalid", name, f"{value[:40]!r} is not a whole number of seconds (at least {least})")
        if len(value.lstrip("0")) > MAX_DIGITS or int(value) > MAX_SECONDS:
            raise ConfigError("invalid", name, f"{value[:40]!r} seconds is more than {MAX_SECONDS} (about 100 years)")
        return timedelta(seconds=int(value))

    def count(self, name: str, default: int) -> int:
        """A whole number (0 or more), ``default`` if unset."""
        value = self.text(name, example=str(default), default="")
        if not value:
            return default
        if not value.isascii() or not value.isdigit() or len(value) > 9:
            raise ConfigError("invalid", name, f"{value!r} is not a whole number (0 to 999999999)")
        return int(value)

    def scrypt_cost(self, name: str = "AUTHKIT_SCRYPT_LOG2_N") -> ScryptCost:
        """scrypt's cost for password hashes, given as log2 of N; OWASP's minimum (17) if unset."""
        value = self.text(name, example=str(DEFAULT_COST.log2_n), default="")
        if not value:
            return DEFAULT_COST
        try:
            if not value.isascii() or not value.isdigit() or len(value) > MAX_DIGITS:
                raise ValueError(f"{value[:40]!r} is not a whole number of at most {MAX_DIGITS} digits")
            return ScryptCost(log2_n=int(value))
        except (ValueError, OverflowError) as err:  # ScryptCost keeps the bounds
            raise ConfigError("invalid", name, str(err)) from err

    def password_hasher(self) -> PasswordHasher:
        """Argon2id at OWASP's figures, unless ``AUTHKIT_SCRYPT_LOG2_N`` keeps scrypt; ``AUTHKIT_PEPPER_FILE`` adds a pepper.

        Stored hashes of either algorithm keep verifying; each is re-hashed to this one at its next login.
        """
        cost: Argon2Cost | ScryptCost = self.scrypt_cost() if self.values.get("AUTHKIT_SCRYPT_LOG2_N", "").strip() \
            else Argon2Cost()
        path = self.text("AUTHKIT_PEPPER_FILE", example="/etc/authkit/pepper.json", default="")
        return PasswordHasher(cost, pepper=load_pepper_file(path, "AUTHKIT_PEPPER_FILE") if path else None)

    def user_directory(self) -> SqliteDirectory | None:
        """The SQLite user directory at ``AUTHKIT_USER_DB``; None (the demo accounts) only if ``AUTHKIT_DEMO_USERS=1``.

        A deployment never serves the published demo passwords by accident (ASVS 5.0 6.3.2).
        """
        demo = self.flag("AUTHKIT_DEMO_USERS")
        path = self.text("AUTHKIT_USER_DB", example="/var/lib/authkit/users.sqlite3", default="")
        if demo and path:
            raise ConfigError("invalid", "AUTHKIT_DEMO_USERS", "set either AUTHKIT_USER_DB or AUTHKIT_DEMO_USERS=1")
        if demo:
            return None
        if not path:
            raise ConfigError("missing", "AUTHKIT_USER_DB", "not set; for example AUTHKIT_USER_DB=/var/lib/authkit/"
                                                            "users.sqlite3 (python -m authkit.login.accounts add), "
                                                            "or AUTHKIT_DEMO_USERS=1 for the published demo accounts")
        if not Path(path).is_file():
            raise ConfigError("invalid", "AUTHKIT_USER_DB", f"{path!r} is not a file: create it with "
                                                            "python -m authkit.login.accounts --db PATH add NAME")
        try:
            return SqliteDirectory(path)
        except Exception as err:  # sqlite3.Error and OSError: a file that is not a user database
            raise ConfigError("invalid", "AUTHKIT_USER_DB", f"cannot open {path!r}: {err}") from err

    def url(self, name: str, *, example: str, schemes: Collection[str] = ("http", "https")) -> str:
        """An absolute URL with one of ``schemes`` and a host (a socket path for ``unix``)."""
        value = self.text(name, example=example)
        if not _is_url(value, schemes):
            raise ConfigError("invalid", name, f"{value!r} is not a {'/'.join(sorted(schemes))} URL like {example}")
        return value.rstrip("/")

    def jwks_url(self, name: str = "AUTHKIT_JWKS_URL") -> str:
        """The URL another service publishes its keys at: ``https://``, or ``http://`` to a loopback host only."""
        value = self.url(name, example="https://auth.example/.well-known/jwks.json")
        try:
            return check_jwks_url(value)
        except InsecureKeyUrl as err:
            raise ConfigError("invalid", name, str(err)) from err

    def redis_url(self, name: str = "AUTHKIT_REDIS_URL") -> str:
        """The Redis every worker process shares; never the in-process default, which each worker would own."""
        return self.url(name, example="redis://127.0.0.1:6379/0", schemes=REDIS_SCHEMES)

    def origins(self, name: str) -> tuple[str, ...]:
        """Comma-separated HTTPS origins, each exactly as a browser sends it in ``Origin``."""
        value = self.text(name, example="https://app.example,https://admin.example")
        found = tuple(part.strip() for part in value.split(","))
        for origin in found:
            if origin != _https_origin(origin):
                raise ConfigError("invalid", name, f"{origin!r} is not an HTTPS origin as a browser sends it "
                                                   "(https://, lowercase host, a port only if not 443, no path)")
        return found

    def secret_key(self, name: str, *, least: int = 32) -> bytes:
        """A random server key given as base64url (``python -c 'import secrets; print(secrets.token_urlsafe(32))'``)."""
        value = self.text(name, example="<the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'>")
        try:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
                raise ValueError("not base64url")
            key = urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (ValueError, binascii.Error):
            raise ConfigError("invalid", name, "is not base64url (A-Z a-z 0-9 - _)") from None
        if len(key) < least:
            raise ConfigError("invalid", name, f"holds {len(key)} bytes; a key is at least {least} random bytes "
                                               f"({(least * 4 + 2) // 3} base64url characters)")
        return key

    def key_set(self, name: str) -> KeySet:
        """The signing keys in the private JWKS file the variable names (see ``load_key_file``)."""
        path = self.text(name, example="/etc/authkit/signing.jwks")
        try:
            return load_key_file(path)
        except (OSError, ValueError, KeyError, TypeError, AuthkitError) as err:
            raise ConfigError("invalid", name, f"cannot use key file {path!r}: {err}") from err


def _is_url(value: str, schemes: Collection[str]) -> bool:
    """True for an absolute URL with one of ``schemes``, a host (a socket path for ``unix``) and a usable port."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a port that is not a number up to 65535, a broken IPv6 literal
        return False
    located = parts.path if parts.scheme == "unix" else parts.hostname
    return parts.scheme in schemes and bool(located) and port != 0


def _https_origin(url: str) -> str | None:
    """The HTTPS origin of ``url`` in the ASCII serialization browsers send (RFC 6454 §6.2); None if it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, a broken IPv6 literal
        return None
    if parts.scheme != "https" or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"https://{host}" + (f":{port}" if port not in (None, 443) else "")


def load_pepper_file(path: str, variable: str) -> Pepper:
    """A pepper file: ``{"current": "<kid>", "keys": {"<kid>": "<base64 of at least 32 bytes>", ...}}``."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        keys = {kid: base64.b64decode(value, validate=True) for kid, value in document["keys"].items()}
        return Pepper(keys, document["current"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error) as err:
        raise ConfigError("invalid", variable, f"cannot use pepper file {path!r}: {err}") from err


def load_key_file(path: str | os.PathLike[str]) -> KeySet:
    """A key set from a private JWK Set file; the first key signs, the others (being added or retired) verify."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list) or not document["keys"]:
        raise ValueError('expected a JWK Set: {"keys": [ ... ]} with at least one key')
    keys = []
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
            raise ValueError("each key in a key file names its kid (a kid is never derived from a secret)")
        keys.append(SigningKey.from_jwk(jwk))
    key_set = KeySet(*keys)
    if not key_set.current.can_sign:
        raise ValueError(f"the first key ({key_set.current.kid!r}) signs new tokens: it needs its private part")
    return key_set


def private_jwk(key: SigningKey) -> dict[str, Any]:
    """The key with its private part as a JWK (PyJWT's encoders), with ``kid``, ``alg`` and ``use``."""
    material = key.signing_material
    if isinstance(material, bytes):
        jwk = HMACAlgorithm.to_jwk(material, as_dict=True)
    elif isinstance(material, ed25519.Ed25519PrivateKey):
        jwk = OKPAlgorithm.to_jwk(material, as_dict=True)
    elif isinstance(material, ec.EllipticCurvePrivateKey):
        jwk = ECAlgorithm.to_jwk(material, as_dict=True)
    elif isinstance(material, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(material, as_dict=True)
    else:
        raise TypeError(f"cannot export a {type(material).__name__}")
    jwk.pop("key_ops", None)  # "use" says it once for every key type
    return {**jwk, "kid": key.kid, "alg": key.alg, "use": "sig"}


def write_key_file(path: str | os.PathLike[str], *keys: SigningKey) -> None:
    """Write ``keys`` (the first signs) as a private JWK Set, mode 0600; refuses to overwrite a file."""
    document = {"keys": [private_jwk(key) for key in keys]}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")
