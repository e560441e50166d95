"""The login itself: password hashing and checking (notebook 09)."""
