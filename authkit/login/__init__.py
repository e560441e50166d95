"""The login itself: passwords, one-time codes, passkeys, reset links and the mail that carries them (notebook 09)."""
