"""What lives in Redis: the connection, durability, revocation, refresh-token families, sessions (notebooks 04–05)."""
