"""E-mail over SMTP to a real server (aiosmtpd): delivery, and no clear-text fallback."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime

import pytest

from authserver.mail import MailComposer, SmtpMailer, send_quietly
from authserver.settings import build_settings
from tests.accounts_helpers import browser, reset_link, submit
from tests.smtp_server import smtp_server


@pytest.fixture
def inbox():
    with smtp_server() as server:
        yield server


def _message():
    return MailComposer("Auth <no-reply@auth.example.com>").compose(
        "password_changed",
        "ann@example.com",
        {
            "email": "ann@example.com",
            "name": None,
            "when": datetime(2026, 1, 1, 10, 0, tzinfo=UTC),
            "issuer": "https://auth.example.com",
            "forgot_link": "https://auth.example.com/password/forgot",
        },
    )


def test_smtp_delivery(inbox):
    settings = build_settings(smtp_host=inbox.host, smtp_port=inbox.port, smtp_security="none")
    SmtpMailer(settings).send(_message())
    (received,) = inbox.wait_for(1)
    assert received["Subject"] == "Your password was changed"
    assert inbox.envelopes == [("no-reply@auth.example.com", ["ann@example.com"])]


def test_starttls_is_required_when_configured(inbox, caplog):
    settings = build_settings(smtp_host=inbox.host, smtp_port=inbox.port)
    assert settings.smtp_security == "starttls"
    with pytest.raises(smtplib.SMTPNotSupportedError):
        SmtpMailer(settings).send(_message())
    assert send_quietly(SmtpMailer(settings), _message()) is False
    assert "could not send e-mail" in caplog.text
    assert inbox.messages == []


def test_the_forgot_page_sends_through_smtp(make_settings, factory, inbox):
    settings = make_settings(smtp_host=inbox.host, smtp_port=inbox.port, smtp_security="none")
    user = factory.user(email="smtp@example.com")
    with browser(settings) as http:
        assert submit(http, "/password/forgot", email=user.email).status_code == 200
    (message,) = inbox.wait_for(1)
    assert message["To"] == user.email
    assert reset_link(message).startswith(settings.issuer + "/password/reset?token=")
