"""The browser lab: a victim site, an attacker site and headless Chromium, all on loopback (notebook 06)."""

from authkit.web.lab.servers import Lab

__all__ = ["Lab"]
