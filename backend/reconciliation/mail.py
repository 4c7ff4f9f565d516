"""Sending a statement by e-mail over SMTP (smtplib), settings from the environment.

With no ``SMTP_HOST`` the mailer is disabled: every send fails with a message that
says so (and the delivery log shows it), so a local ``make run`` never pretends to
have mailed anyone.
"""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path


class MailError(Exception):
    """A send that did not happen; the message goes into the delivery log."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    sender: str
    starttls: bool
    timeout: float

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(host=os.environ.get("SMTP_HOST", ""), port=int(os.environ.get("SMTP_PORT") or 25),
                   user=os.environ.get("SMTP_USER", ""), password=os.environ.get("SMTP_PASSWORD", ""),
                   sender=os.environ.get("SMTP_FROM", "statements@fission.local"),
                   starttls=os.environ.get("SMTP_STARTTLS", "").lower() in {"1", "true", "yes", "on"},
                   timeout=float(os.environ.get("SMTP_TIMEOUT") or 10))

    @property
    def enabled(self) -> bool:
        return bool(self.host)


def recipients(addresses: str) -> list[str]:
    return sorted({a.strip() for a in addresses.replace(";", ",").split(",") if a.strip()})


def send(settings: SmtpSettings, recipient: str, subject: str, body: str, attachment: Path,
         content_type: str) -> None:
    if not settings.enabled:
        raise MailError("SMTP is disabled (SMTP_HOST is not set): nothing was sent")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.sender, recipient, subject
    message.set_content(body)
    maintype, subtype = content_type.split("/", 1)
    message.add_attachment(attachment.read_bytes(), maintype=maintype, subtype=subtype, filename=attachment.name)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{exc.__class__.__name__}: {exc}"[:480]) from exc
