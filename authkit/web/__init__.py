"""The demo HTTP services, served on loopback for notebooks and tests."""
