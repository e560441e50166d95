"""authkit: JWT bearer tokens and Redis-backed server sessions, built to the standards."""
