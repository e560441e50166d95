"""The user directory: accounts keyed by a stable random user ID, never by the login name.

Tokens' ``sub``, sessions and Redis keys name a user by ``User.id``: a login name can be renamed or,
once deleted, given to someone else, and that person must never inherit the old sessions (ASVS 5.0
10.3.3). ``SqliteDirectory`` (the standard library's ``sqlite3``) is for deployments, managed by
``python -m authkit.login.accounts``; ``MemoryDirectory`` holds the notebooks' demo users, with IDs
derived from a fixed seed so that every run shows the same ones.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from authkit.errors import AccountError

USER_ID_BYTES = 16  # 128 random bits: a user ID can be neither guessed nor reused
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")  # used with fullmatch
_ROLE = re.compile(r"[a-z][a-z0-9_:-]{0,31}")
_ID = re.compile(r"u_[A-Za-z0-9_-]{8,60}")
DEMO_SEED = "authkit demo directory"


def new_user_id() -> str:
    """A fresh user ID: ``u_`` and 128 random bits, fit for Redis keys and cookies (A-Z a-z 0-9 _ -)."""
    return "u_" + secrets.token_hex(USER_ID_BYTES)


def seeded_user_id(name: str, seed: str = DEMO_SEED) -> str:
    """A user ID that looks random but is the same on every run: for demo directories only."""
    return "u_" + hashlib.sha256(f"{seed}\x00{name}".encode()).hexdigest()[:2 * USER_ID_BYTES]


def check_name(name: object) -> str:
    """A login name: 1-128 characters of letters, digits and ``. _ @ + -``; ``AccountError`` otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AccountError("bad_name", "a login name is 1-128 letters, digits or . _ @ + - (starting alphanumeric)")
    return name


def check_roles(roles: Sequence[str]) -> tuple[str, ...]:
    """Role names as stored: lowercase words, no duplicates, order kept."""
    if isinstance(roles, str) or not all(isinstance(r, str) and _ROLE.fullmatch(r) for r in roles):
        raise AccountError("bad_roles", "roles are lowercase names (a-z 0-9 _ : -), at most 32 characters")
    return tuple(dict.fromkeys(roles))


@dataclass(frozen=True)
class User:
    """One account: its stable ID, its login name, a password hash, its roles, and whether it may log in."""

    id: str
    name: str
    password_hash: str
    roles: tuple[str, ...] = ()
    disabled: bool = False

    @property
    def scope(self) -> str:
        """The roles as an OAuth scope string (space-separated), for access tokens."""
        return " ".join(self.roles)


class UserDirectory(Protocol):
    """What the services need from a directory; both implementations below have it."""

    def by_name(self, name: str) -> User | None: ...

    def by_id(self, user_id: str) -> User | None: ...

    def add(self, user: User) -> User: ...

    def update(self, user: User) -> User: ...

    def delete(self, user_id: str) -> bool: ...

    def users(self) -> list[User]: ...


class MemoryDirectory:
    """Users in a dict, for notebooks and tests; thread-safe, gone with the process."""

    def __init__(self, users: Sequence[User] = ()) -> None:
        self._by_id: dict[str, User] = {}
        self._lock = threading.Lock()
        for user in users:
            self.add(user)

    def by_name(self, name: str) -> User | None:
        """The account with this login name, or None."""
        return next((u for u in self._by_id.values() if u.name == name), None)

    def by_id(self, user_id: str) -> User | None:
        """The account with this ID, or None."""
        return self._by_id.get(user_id)

    def get(self, name: object, default: User | None = None) -> User | None:
        """``by_name``, spelled like a mapping's ``get`` (callers that looked users up in a dict)."""
        return (self.by_name(name) if isinstance(name, str) else None) or default

    def __contains__(self, name: object) -> bool:
        return self.get(name) is not None

    def __getitem__(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise KeyError(name)
        return user

    def add(self, user: User) -> User:
        """Store a new account; ``AccountError("exists")`` if its ID or name is taken."""
        with self._lock:
            if user.id in self._by_id or any(u.name == user.name for u in self._by_id.values()):
                raise AccountError("exists", f"a user named {user.name!r} (or with its ID) exists")
            self._by_id[user.id] = _checked(user)
        return user

    def update(self, user: User) -> User:
        """Replace the account with ``user.id``; ``AccountError("unknown_user")`` if there is none."""
        with self._lock:
            if user.id not in self._by_id:
                raise AccountError("unknown_user", "no such user")
            if any(u.name == user.name and u.id != user.id for u in self._by_id.values()):
                raise AccountError("exists", f"another user is named {user.name!r}")
            self._by_id[user.id] = _checked(user)
        return user

    def delete(self, user_id: str) -> bool:
        """Remove the account; True if there was one."""
        with self._lock:
            return self._by_id.pop(user_id, None) is not None

    def users(self) -> list[User]:
        """Every account, by login name."""
        return sorted(self._by_id.values(), key=lambda u: u.name)

    def __iter__(self) -> Iterator[str]:
        return iter(u.name for u in self.users())


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0
)
"""


class SqliteDirectory:
    """Users in a SQLite file: one connection per thread, each statement its own transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        with self._db() as db:
            db.execute(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)  # autocommit; `with` wraps writes
            db.execute("PRAGMA journal_mode=WAL")  # gunicorn workers read while the command writes
            self._local.db = db
        return db

    def by_name(self, name: str) -> User | None:
        """The account with this login name, or None."""
        return self._one("SELECT id, name, password_hash, roles, disabled FROM users WHERE name = ?", name)

    def by_id(self, user_id: str) -> User | None:
        """The account with this ID, or None."""
        return self._one("SELECT id, name, password_hash, roles, disabled FROM users WHERE id = ?", user_id)

    def add(self, user: User) -> User:
        """Store a new account; ``AccountError("exists")`` if its ID or name is taken."""
        user = _checked(user)
        try:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)", _row(user))
        except sqlite3.IntegrityError as err:
            raise AccountError("exists", f"a user named {user.name!r} (or with its ID) exists") from err
        return user

    def update(self, user: User) -> User:
        """Replace the account with ``user.id``; ``AccountError("unknown_user")`` if there is none."""
        user = _checked(user)
        try:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")
                changed = db.execute("UPDATE users SET name = ?, password_hash = ?, roles = ?, disabled = ? "
                                     "WHERE id = ?", (*_row(user)[1:], user.id)).rowcount
        except sqlite3.IntegrityError as err:
            raise AccountError("exists", f"another user is named {user.name!r}") from err
        if not changed:
            raise AccountError("unknown_user", "no such user")
        return user

    def delete(self, user_id: str) -> bool:
        """Remove the account; True if there was one."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            return db.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount > 0

    def users(self) -> list[User]:
        """Every account, by login name."""
        rows = self._db().execute("SELECT id, name, password_hash, roles, disabled FROM users ORDER BY name")
        return [_user(row) for row in rows]

    def get(self, name: object, default: User | None = None) -> User | None:
        """``by_name``, spelled like a mapping's ``get``."""
        return (self.by_name(name) if isinstance(name, str) else None) or default

    def __contains__(self, name: object) -> bool:
        return self.get(name) is not None

    def _one(self, query: str, value: object) -> User | None:
        if not isinstance(value, str):
            return None
        row = self._db().execute(query, (value,)).fetchone()
        return _user(row) if row else None


def _checked(user: User) -> User:
    if not isinstance(user.id, str) or not _ID.fullmatch(user.id):
        raise AccountError("bad_id", "a user ID is u_ and 8-60 characters of A-Z a-z 0-9 _ -")
    check_name(user.name)
    return replace(user, roles=check_roles(user.roles), disabled=bool(user.disabled))


def _row(user: User) -> tuple[str, str, str, str, int]:
    return user.id, user.name, user.password_hash, " ".join(user.roles), int(user.disabled)


def _user(row: tuple[str, str, str, str, int]) -> User:
    return User(row[0], row[1], row[2], tuple(row[3].split()), bool(row[4]))


def demo_directory(accounts: Mapping[str, tuple[str, Sequence[str] | str]], hash_password: object) -> MemoryDirectory:
    """A ``MemoryDirectory`` of demo accounts (name -> (password, roles or scope)) with seeded IDs.

    ``hash_password`` turns each password into its stored form (a ``PasswordHasher.hash``).
    """
    users = []
    for name, (password, roles) in accounts.items():
        role_list = roles.split() if isinstance(roles, str) else list(roles)
        users.append(User(seeded_user_id(name), name, hash_password(password), tuple(role_list)))  # type: ignore[operator]
    return MemoryDirectory(users)
