"""Mail for the login flows: messages sent with ``smtplib``, and a real SMTP server on loopback to read them.

The notebooks and tests start ``Mailbox`` (aiosmtpd, on 127.0.0.1 and a free port) and read what arrived;
a deployment points ``send`` at its own relay. A reset link is the only secret a message carries.
"""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from typing import Any

from authkit.state.redis import free_port

SENDER = "no-reply@authkit.example"


@dataclass(frozen=True)
class Relay:
    """Where to send mail: an SMTP host and port."""

    host: str
    port: int


def send(relay: Relay, to: str, subject: str, body: str, *, sender: str = SENDER, timeout: float = 5.0) -> None:
    """Send one plain-text message through ``relay``."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    with smtplib.SMTP(relay.host, relay.port, timeout=timeout) as smtp:
        smtp.send_message(message)


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it receives, in order."""

    messages: list[EmailMessage] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _controller: Any = field(default=None, repr=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's handler hook
        message = BytesParser(policy=default).parsebytes(envelope.content)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def __enter__(self) -> Mailbox:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def relay(self) -> Relay:
        """Where to send to reach this mailbox."""
        return Relay(self._controller.hostname, self._controller.port)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """The first ``count`` messages, waiting up to ``timeout`` seconds for them to arrive."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"{len(self.messages)} of {count} messages arrived in {timeout} s")
            return self.messages[:count]
