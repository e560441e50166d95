"""authkit: JWT bearer tokens and Redis-backed server sessions, built to the standards."""

# tokens
from authkit.errors import TOKEN_REASONS, TokenError, WeakKeyError
from authkit.keys import KeySet, SigningKey
from authkit.tokens import ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, TokenIssuer, TokenVerifier

# refresh and revocation
from authkit.errors import REVOCATION_REASONS
from authkit.refresh import NaiveRotation, RefreshFamilies, TokenPair, TokenService
from authkit.revocation import (
    DENYLIST,
    DENYLIST_AND_VERSION,
    STATELESS,
    STRATEGIES,
    VERSION,
    AccessGuard,
    RevocationStore,
    Strategy,
)

# sessions
from authkit.errors import CSRF_REASONS, SESSION_REASONS, CsrfRejected, SessionError, StoreUnavailable
from authkit.passwords import hash_password, verify_login, verify_password
from authkit.sessions import DEFAULT_ABSOLUTE, DEFAULT_IDLE, Session, SessionStore, SessionSummary, session_handle

# timeline and plots (authkit.plots needs matplotlib: import it as a module, `from authkit import plots`)
from authkit.approaches import Approach, GuardedJWT, RefreshRotation, ServerSession, StatelessJWT
from authkit.timeline import Event, RealClock, RequestRecord, Scenario, Timeline, VirtualClock, simulate

__all__ = [
    # tokens
    "TOKEN_REASONS",
    "TokenError",
    "WeakKeyError",
    "SigningKey",
    "KeySet",
    "ACCESS_TOKEN_TYPE",
    "REFRESH_TOKEN_TYPE",
    "TokenIssuer",
    "TokenVerifier",
    # refresh and revocation
    "REVOCATION_REASONS",
    "RefreshFamilies",
    "NaiveRotation",
    "TokenPair",
    "TokenService",
    "AccessGuard",
    "RevocationStore",
    "Strategy",
    "STRATEGIES",
    "STATELESS",
    "DENYLIST",
    "VERSION",
    "DENYLIST_AND_VERSION",
    # sessions
    "SESSION_REASONS",
    "SessionError",
    "CSRF_REASONS",
    "CsrfRejected",
    "StoreUnavailable",
    "hash_password",
    "verify_password",
    "verify_login",
    "SessionStore",
    "Session",
    "SessionSummary",
    "session_handle",
    "DEFAULT_IDLE",
    "DEFAULT_ABSOLUTE",
    # timeline and plots
    "Approach",
    "StatelessJWT",
    "GuardedJWT",
    "RefreshRotation",
    "ServerSession",
    "Scenario",
    "Event",
    "RequestRecord",
    "Timeline",
    "simulate",
    "VirtualClock",
    "RealClock",
]
