"""Managing accounts: add, set a password, set roles, disable, enable, delete, end sessions; and the command.

Disabling or deleting an account, or setting its password, ends every login it has at once: its
sessions (the per-user index: one script) and its refresh families and versioned access tokens (one
bump of the user's token version). The directory is changed first, so no new login can start once
the old ones are ended (ASVS 5.0 7.4.2, 7.4.5).

    python -m authkit.login.accounts --db users.sqlite3 add alice --role admin   # asks for the password
    python -m authkit.login.accounts --db users.sqlite3 disable alice            # needs AUTHKIT_REDIS_URL
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

import redis

from authkit import events
from authkit.errors import AccountError, AuthkitError
from authkit.login.hashing import PasswordHasher
from authkit.login.rules import check_new_password
from authkit.login.users import SqliteDirectory, User, UserDirectory, check_name, check_roles, new_user_id
from authkit.state.redis import connect
from authkit.state.revocation import RevocationStore
from authkit.state.sessions import SessionStore

#: Ends every login of one user ID; returns how many it ended (or a version number).
Ender = Callable[[str], int]


def redis_enders(client: redis.Redis, *, session_prefix: str = "authkit:sess",
                 token_prefix: str = "authkit") -> list[Ender]:
    """What ends a user's logins on a shared Redis: its cookie sessions, then its token families and versions."""
    sessions = SessionStore(client, prefix=session_prefix)
    tokens = RevocationStore(client, prefix=token_prefix)
    return [sessions.destroy_all, tokens.bump_version]


class Accounts:
    """The administrator's operations on a directory; each that removes access ends the user's logins."""

    def __init__(self, directory: UserDirectory, hasher: PasswordHasher | None = None, *,
                 enders: Sequence[Ender] = ()) -> None:
        self.directory, self.enders = directory, list(enders)
        self.hasher = hasher if hasher is not None else PasswordHasher()

    def find(self, name: str) -> User:
        """The account named ``name``; ``AccountError("unknown_user")`` if none."""
        user = self.directory.by_name(check_name(name))
        if user is None:
            raise AccountError("unknown_user", f"no user named {name!r}")
        return user

    def add(self, name: str, password: str, roles: Sequence[str] = (), *, mfa: bool = False) -> User:
        """A new account with a fresh random ID; the password must pass the rules (``check_new_password``)."""
        check_new_password(password, mfa=mfa, context=(name,))
        user = User(new_user_id(), check_name(name), self.hasher.hash(password), check_roles(roles))
        self.directory.add(user)
        events.emit("account_created", user_id=user.id, roles=list(user.roles))
        return user

    def set_password(self, name: str, password: str, *, mfa: bool = False) -> int:
        """A new password (checked by the rules); every login of the old one ends."""
        user = self.find(name)
        check_new_password(password, mfa=mfa, context=(name,))
        self.directory.update(replace(user, password_hash=self.hasher.hash(password)))
        events.emit("password_changed", user_id=user.id)
        return self.end_sessions(name)

    def set_roles(self, name: str, roles: Sequence[str]) -> User:
        """New roles for the next login (sessions and refreshes of the old ones are not touched here)."""
        user = self.directory.update(replace(self.find(name), roles=check_roles(roles)))
        events.emit("account_changed", user_id=user.id, roles=list(user.roles))
        return user

    def disable(self, name: str) -> int:
        """Refuse the account's logins and end every one it has; return how many sessions ended."""
        user = self.directory.update(replace(self.find(name), disabled=True))
        events.emit("account_disabled", logging.WARNING, user_id=user.id)
        return self.end_sessions(name)

    def enable(self, name: str) -> User:
        """Let a disabled account log in again (its old logins stay ended)."""
        user = self.directory.update(replace(self.find(name), disabled=False))
        events.emit("account_enabled", user_id=user.id)
        return user

    def delete(self, name: str) -> int:
        """Remove the account and end every login it has; its ID is never given to anyone again."""
        user = self.find(name)
        self.directory.delete(user.id)
        events.emit("account_deleted", logging.WARNING, user_id=user.id)
        return self._end(user.id)

    def end_sessions(self, name: str) -> int:
        """Log the user out everywhere: sessions, refresh families, versioned access tokens."""
        return self._end(self.find(name).id)

    def _end(self, user_id: str) -> int:
        ended = 0
        for index, end in enumerate(self.enders):
            result = end(user_id)
            ended += result if index == 0 else 0  # the first ender counts sessions; the others return versions
        events.emit("sessions_ended", user_id=user_id, count=ended)
        return ended


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise AccountError("weak_password", "the two passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    """The command line: ``add``, ``set-password``, ``set-roles``, ``disable``, ``enable``, ``delete``,
    ``end-sessions``, ``list``."""
    parser = argparse.ArgumentParser(prog="python -m authkit.login.accounts", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("AUTHKIT_USER_DB"), help="the SQLite file (AUTHKIT_USER_DB)")
    parser.add_argument("--redis-url", default=os.environ.get("AUTHKIT_REDIS_URL"),
                        help="the services' Redis, where logins are ended (AUTHKIT_REDIS_URL)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("add", "set-password"):
        command = commands.add_parser(name)
        command.add_argument("name")
        command.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
        command.add_argument("--mfa", action="store_true", help="the account has a second factor (8 characters suffice)")
        if name == "add":
            command.add_argument("--role", action="append", default=[], help="a role (repeat for several)")
    roles = commands.add_parser("set-roles")
    roles.add_argument("name")
    roles.add_argument("roles", nargs="*")
    for name in ("disable", "enable", "delete", "end-sessions"):
        commands.add_parser(name).add_argument("name")
    commands.add_parser("list")
    args = parser.parse_args(argv)
    if not args.db:
        parser.exit(2, "give the user database: --db PATH or AUTHKIT_USER_DB\n")
    removes_access = args.command in ("set-password", "disable", "delete", "end-sessions")
    if removes_access and not args.redis_url:
        parser.exit(2, f"{args.command} ends the user's logins: give --redis-url or AUTHKIT_REDIS_URL\n")
    enders = redis_enders(connect(args.redis_url)) if removes_access else []
    accounts = Accounts(SqliteDirectory(args.db), enders=enders)
    try:
        if args.command == "list":
            for user in accounts.directory.users():
                state = "disabled" if user.disabled else "enabled"
                print(f"{user.id}  {user.name}  {state}  {' '.join(user.roles)}")
        elif args.command == "add":
            user = accounts.add(args.name, _password(args), args.role, mfa=args.mfa)
            print(f"added {user.name}: {user.id}")
        elif args.command == "set-password":
            print(f"password set; {accounts.set_password(args.name, _password(args), mfa=args.mfa)} sessions ended")
        elif args.command == "set-roles":
            print(f"roles of {args.name}: {' '.join(accounts.set_roles(args.name, args.roles).roles)}")
        elif args.command == "enable":
            print(f"enabled {accounts.enable(args.name).name}")
        else:
            action = {"disable": accounts.disable, "delete": accounts.delete, "end-sessions": accounts.end_sessions}
            print(f"{args.command} {args.name}: {action[args.command](args.name)} sessions ended")
    except AuthkitError as err:
        parser.exit(1, f"refused: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
