"""authkit: JWT bearer tokens and Redis-backed server sessions, built to the standards."""

# tokens and keys
from authkit.errors import (
    KEY_REASONS,
    RETIRE_REASONS,
    TOKEN_REASONS,
    KeyImportError,
    KeyRetirementError,
    InsecureKeyUrl,
    TokenError,
    UnusableKeyWarning,
    WeakKeyError,
)
from authkit.tokens.keys import KeySet, SigningKey
from authkit.tokens.remote_keys import RemoteKeySet
from authkit.tokens.issuer import ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, TokenIssuer, TokenVerifier

# refresh and revocation
from authkit.errors import REVOCATION_REASONS
from authkit.state.refresh import GRACE as REFRESH_GRACE
from authkit.state.refresh import NaiveRotation, RefreshFamilies, TokenPair, TokenService
from authkit.state.revocation import (
    DENYLIST,
    DENYLIST_AND_VERSION,
    STATELESS,
    STRATEGIES,
    VERSION,
    AccessGuard,
    RevocationStore,
    Strategy,
)

# durability of revocation across Redis restarts
from authkit.state.durability import (
    PersistenceReport,
    PersistenceWarning,
    RecoveryInProgress,
    RollbackDetected,
    check_persistence,
)

# sessions and passwords
from authkit.errors import CSRF_REASONS, SESSION_REASONS, CsrfRejected, SessionError, StoreUnavailable
from authkit.login.passwords import ScryptCost, hash_password, verify_login, verify_password
from authkit.errors import AccountError, LoginRefused
from authkit.login.accounts import Accounts
from authkit.login.authenticate import PasswordLogin
from authkit.login.hashing import Argon2Cost, PasswordHasher, Pepper
from authkit.login.throttle import LoginThrottle
from authkit.login.users import MemoryDirectory, SqliteDirectory, User
from authkit.state.sessions import (
    DEFAULT_ABSOLUTE,
    DEFAULT_IDLE,
    DEFAULT_ROTATION_GRACE,
    Session,
    SessionStore,
    SessionSummary,
    session_csrf_token,
    session_handle,
)

# deployment
from authkit.errors import CONFIG_REASONS, ConfigError

# timeline and plots (authkit.study.plots needs matplotlib: import it as a module, `from authkit.study import plots`)
from authkit.study.approaches import Approach, GuardedJWT, RefreshRotation, ServerSession, StatelessJWT
from authkit.study.timeline import Event, RealClock, RequestRecord, Scenario, Timeline, VirtualClock, simulate

__all__ = [
    # tokens and keys
    "TOKEN_REASONS",
    "TokenError",
    "WeakKeyError",
    "KEY_REASONS",
    "KeyImportError",
    "UnusableKeyWarning",
    "InsecureKeyUrl",
    "RETIRE_REASONS",
    "KeyRetirementError",
    "SigningKey",
    "KeySet",
    "RemoteKeySet",
    "ACCESS_TOKEN_TYPE",
    "REFRESH_TOKEN_TYPE",
    "TokenIssuer",
    "TokenVerifier",
    # refresh and revocation
    "REVOCATION_REASONS",
    "RefreshFamilies",
    "REFRESH_GRACE",
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
    # durability of revocation across Redis restarts
    "check_persistence",
    "PersistenceReport",
    "PersistenceWarning",
    "RollbackDetected",
    "RecoveryInProgress",
    # sessions and passwords
    "SESSION_REASONS",
    "SessionError",
    "CSRF_REASONS",
    "CsrfRejected",
    "StoreUnavailable",
    "ScryptCost",
    "hash_password",
    "verify_password",
    "verify_login",
    "Argon2Cost", "PasswordHasher", "Pepper", "PasswordLogin", "LoginThrottle", "LoginRefused",
    "User", "MemoryDirectory", "SqliteDirectory", "Accounts", "AccountError",
    "SessionStore",
    "Session",
    "SessionSummary",
    "session_handle",
    "session_csrf_token",
    "DEFAULT_IDLE",
    "DEFAULT_ABSOLUTE",
    "DEFAULT_ROTATION_GRACE",
    # deployment
    "CONFIG_REASONS",
    "ConfigError",
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
