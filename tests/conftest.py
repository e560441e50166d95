"""Fixtures shared by every test: Redis on both backends, written once (cachelib-style)."""

from __future__ import annotations

import os
import shutil
from typing import Iterator

import pytest
import redis

from authkit.errors import TOKEN_REASONS, TokenError
from authkit.keys import KeySet, SigningKey
from authkit.redis import LocalRedisServer, connect
from authkit.tokens import TokenIssuer, TokenVerifier
from tests.jwt_forge import AUDIENCE, ISSUER

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedisServer]:
    """A real redis-server for the whole run (one per pytest-xdist worker); a visible skip locally, a failure under CI=true."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed"
        if IN_CI:
            pytest.fail(f"{reason}: CI must run the contract tests on a real redis-server", pytrace=False)
        pytest.skip(f"{reason} (apt-get install redis-server to run the real-server contract tests)")
    with LocalRedisServer() as server:
        yield server


@pytest.fixture
def real_redis(redis_server: LocalRedisServer) -> Iterator[redis.Redis]:
    """A client on the real server, flushed before and after the test."""
    client = connect(redis_server.url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


@pytest.fixture
def fake_redis() -> redis.Redis:
    """A client on a fresh in-process fakeredis server."""
    return connect(fresh=True)


@pytest.fixture(params=["fakeredis", "redis-server"])
def redis_client(request: pytest.FixtureRequest) -> redis.Redis:
    """The contract fixture: every test using it runs once per backend."""
    if request.param == "fakeredis":
        return request.getfixturevalue("fake_redis")
    return request.getfixturevalue("real_redis")


@pytest.fixture
def keys() -> KeySet:
    """One Ed25519 signing key, kid ``k1``."""
    return KeySet(SigningKey.generate("EdDSA", kid="k1"))


@pytest.fixture
def issuer(keys: KeySet) -> TokenIssuer:
    return TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def verifier(keys: KeySet) -> TokenVerifier:
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


def refused(call, *args) -> str:
    """The reason of the TokenError ``call(*args)`` raises (and fail if it accepts)."""
    with pytest.raises(TokenError) as caught:
        call(*args)
    assert caught.value.reason in TOKEN_REASONS
    return caught.value.reason
