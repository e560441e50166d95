"""A password login as every service runs it: throttle, a capped hash, the directory, a rehash, events.

``PasswordLogin.check(name, password, client)`` returns the ``User`` or raises ``LoginRefused``:
``invalid_credentials`` for an unknown name, a wrong password and a disabled account alike (same
answer, same hashing work: no enumeration), ``throttled`` with ``retry_after`` (HTTP 429), ``busy``
(HTTP 503) when too many hashes already run in this process. Each hash holds 19 MiB (Argon2id at
OWASP's figures; 128 MiB for scrypt at N = 2**17), so a cap on how many run at once bounds a
process's memory: a flood is refused at once instead of piling up until the kernel kills the worker.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from authkit import events
from authkit.errors import AccountError, LoginRefused
from authkit.login.hashing import MAX_PASSWORD_CHARS, PasswordHasher
from authkit.login.throttle import LoginThrottle, retry_after
from authkit.login.users import User, UserDirectory

#: Hashes one process runs at once; with threads a few can overlap, beyond that memory is what grows.
MAX_CONCURRENT_HASHES = 4
#: How long a login waits for a hashing slot before being refused (seconds): a queue, not a pile-up.
HASH_WAIT = 0.5
BUSY_RETRY_AFTER = 1


class HashGate:
    """A semaphore around password hashing: at most ``limit`` at once, a wait of ``wait`` s, then ``busy``."""

    def __init__(self, limit: int = MAX_CONCURRENT_HASHES, wait: float = HASH_WAIT) -> None:
        if limit < 1:
            raise ValueError("the hash limit is at least 1")
        self.limit, self.wait = limit, wait
        self._slots = threading.BoundedSemaphore(limit)

    def __enter__(self) -> HashGate:
        if not self._slots.acquire(timeout=self.wait):
            events.emit("login_busy", logging.WARNING, retry_after=BUSY_RETRY_AFTER)
            raise LoginRefused("busy", "too many logins at once; try again shortly", retry_after=BUSY_RETRY_AFTER)
        return self

    def __exit__(self, *exc: object) -> None:
        self._slots.release()


class PasswordLogin:
    """Checks passwords against a ``UserDirectory``; one per service (and per process)."""

    def __init__(self, directory: UserDirectory, hasher: PasswordHasher | None = None, *,
                 throttle: LoginThrottle | None = None, gate: HashGate | None = None, service: str = "") -> None:
        self.directory, self.throttle, self.service = directory, throttle, service
        self.hasher = hasher if hasher is not None else PasswordHasher()
        self.gate = gate if gate is not None else HashGate()

    def check(self, name: str, password: str, client: str | None = None) -> User:
        """The account ``name`` if ``password`` is its password and it is enabled; ``LoginRefused`` otherwise."""
        if not isinstance(name, str) or not isinstance(password, str) or not name or len(name) > 256:
            raise LoginRefused("bad_request", "send a user name and a password as strings")
        if len(password) > MAX_PASSWORD_CHARS:  # refused before any work, whoever the account
            raise LoginRefused("bad_request", f"a password is at most {MAX_PASSWORD_CHARS} characters")
        if self.throttle is not None:
            wait = self.throttle.attempt(name, client)
            if wait:
                events.emit("login_throttled", logging.WARNING, client=client, retry_after=retry_after(wait),
                            service=self.service)
                raise LoginRefused("throttled", "too many attempts; wait before trying again",
                                   retry_after=retry_after(wait))
        user = self.directory.by_name(name)
        stored = user.password_hash if user is not None else self.hasher.decoy()
        with self.gate:
            matched = self.hasher.verify(password, stored)
        if not matched or user is None or user.disabled:
            events.emit("login_failed", logging.WARNING, user_id=user.id if user else None, client=client,
                        reason="disabled" if matched and user is not None else "invalid_credentials",
                        service=self.service)
            raise LoginRefused("invalid_credentials", "unknown user or wrong password")
        if self.throttle is not None:
            self.throttle.succeeded(name, client)
        if self.hasher.needs_rehash(user.password_hash):
            user = self._rehash(user, password)
        events.emit("login_succeeded", user_id=user.id, client=client, service=self.service)
        return user

    def _rehash(self, user: User, password: str) -> User:
        """Store the password at the current algorithm, cost and pepper: the old string is replaced now."""
        with self.gate:
            upgraded = replace(user, password_hash=self.hasher.hash(password))
        try:
            self.directory.update(upgraded)
        except AccountError:
            return user  # deleted or renamed meanwhile: the login still stands on what was checked
        events.emit("password_rehashed", user_id=user.id, scheme=upgraded.password_hash.split("$")[1])
        return upgraded
