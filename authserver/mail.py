"""Outgoing e-mail: messages composed from ``templates/email/<name>.txt`` and ``.html``,
sent over SMTP, or -- when no SMTP server is configured (the embedded default) --
written as ``.eml`` files to an outbox folder whose path is logged, so a person trying
the server on a fresh machine can open the message and follow its link.

Sending is blocking I/O: callers run it in the thread pool, after the HTTP answer has
gone out, so neither its duration nor its failure shapes what a visitor sees.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol

from jinja2 import StrictUndefined, select_autoescape

from authserver import resources
from authserver.branding import Brand, brand_of
from authserver.i18n.catalogs import SOURCE_LOCALE, Catalogs
from authserver.i18n.environments import LocalizedEnvironments, template_loader
from authserver.settings import Settings

log = logging.getLogger("authserver.mail")


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Deliver one message or raise."""
        ...


class MailComposer:
    """Builds messages from the e-mail templates ``email/<name>.subject.txt``, ``.txt``
    and ``.html`` (the HTML alternative autoescaped: names and addresses are user input),
    in the recipient's language; an operator's folder overrides them one by one."""

    def __init__(
        self,
        sender: str,
        catalogs: Catalogs | None = None,
        *,
        operator_templates: Path | None = None,
        default_locale: str = SOURCE_LOCALE,
        brand: Brand | None = None,
    ) -> None:
        self.sender = sender
        self.default_locale = default_locale
        self._brand = brand if brand is not None else brand_of(Settings())
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        self._environments = LocalizedEnvironments(
            template_loader(resources.TEMPLATES, operator_templates),
            catalogs or Catalogs([resources.LOCALE]),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def compose(
        self, name: str, to: str, context: dict[str, Any], locale: str | None = None
    ) -> EmailMessage:
        env = self._environments.environment(locale or self.default_locale)
        context = {"brand": self._brand, **context}
        message = EmailMessage()
        subject = env.get_template(f"email/{name}.subject.txt").render(context)
        message["Subject"] = " ".join(subject.split())
        message["From"] = self.sender
        message["To"] = to
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain=self._domain)
        # RFC 3834: an automatic message; auto-responders should not answer it.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(env.get_template(f"email/{name}.txt").render(context))
        message.add_alternative(
            env.get_template(f"email/{name}.html").render(context), subtype="html"
        )
        # After the content: set_content() drops Content-* headers set before it.
        message["Content-Language"] = locale or self.default_locale
        return message


class SmtpMailer:
    """SMTP with STARTTLS (certificate verified), implicit TLS, or plain for a local relay."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.timeout = settings.smtp_timeout

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            try:
                # Raises when the server does not offer STARTTLS: never fall back to
                # clear text.
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        with self._connect() as smtp:
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


class OutboxMailer:
    """Writes each message to ``<folder>/<time>-<id>.eml`` (mode 0600: it may carry a
    reset link) and logs where."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.write(message)

    def write(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(message.as_bytes())
        # Warning level: visible with the default logging, where a person will look.
        log.warning(
            "no SMTP server configured (AUTHSERVER_SMTP_HOST): e-mail to %s written to %s",
            message["To"],
            path.resolve(),
        )
        return path


def build_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxMailer(settings.mail_outbox_dir)


def send_quietly(mailer: Mailer, message: EmailMessage) -> bool:
    """Send, logging (never raising) a failure: used after the answer has gone out."""
    try:
        mailer.send(message)
    except Exception:
        log.exception("could not send e-mail %r to %s", message["Subject"], message["To"])
        return False
    return True
