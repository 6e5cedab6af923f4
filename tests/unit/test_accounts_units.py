"""Small account rules: mail settings, counter keys, the common-password list, e-mail
composition and the outbox."""

from __future__ import annotations

import stat

import pytest

from authserver.accounts.policy import common_passwords, password_problems
from authserver.accounts.throttle import account_key, client_key
from authserver.errors import UnsafeSettings
from authserver.mail import MailComposer, OutboxMailer
from authserver.settings import load_settings


def _problems(**env: str) -> str:
    with pytest.raises(UnsafeSettings) as info:
        load_settings({f"AUTHSERVER_{k.upper()}": v for k, v in env.items()}, env_file=None)
    return str(info.value)


def test_mail_settings_refuse_unsafe_or_partial_smtp():
    assert "AUTHSERVER_SMTP_USERNAME / AUTHSERVER_SMTP_PASSWORD" in _problems(
        smtp_host="mail.example.com", smtp_username="bot"
    )
    assert "AUTHSERVER_SMTP_HOST: needed" in _problems(smtp_username="u", smtp_password="p")
    assert "sent in clear" in _problems(
        smtp_host="mail.example.com", smtp_username="u", smtp_password="p", smtp_security="none"
    )
    assert "AUTHSERVER_MAIL_FROM" in _problems(mail_from="nobody")
    assert "AUTHSERVER_SMTP_SECURITY" in _problems(smtp_security="ssl3")
    ok = load_settings(
        {
            "AUTHSERVER_SMTP_HOST": "mail.example.com",
            "AUTHSERVER_SMTP_PORT": "465",
            "AUTHSERVER_SMTP_SECURITY": "tls",
            "AUTHSERVER_SMTP_USERNAME": "u",
            "AUTHSERVER_SMTP_PASSWORD": "p",
        },
        env_file=None,
    )
    assert ok.smtp_port == 465 and ok.registration_enabled is True


def test_client_keys_group_ipv6_by_64():
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_key("2001:db8:0:1::1") != client_key("2001:db8::1")
    assert client_key("::ffff:192.0.2.1") == client_key("192.0.2.1") == "192.0.2.1"
    assert client_key(None) == "unknown" and client_key("testclient") == "testclient"


def test_account_keys_are_case_blind_and_carry_no_address():
    assert account_key("Ann@Example.com") == account_key("ann@example.COM ")
    assert "ann" not in account_key("ann@example.com") and len(account_key("x" * 9000)) == 32


def test_the_common_password_list_is_real():
    common = common_passwords()
    assert len(common) > 10_000
    assert {"password", "12345678", "iloveyou", "baseball", "trustno1"} <= common
    assert not any(p.startswith("#") for p in common)
    assert [str(p) for p in password_problems("PassWord")] == [
        "That password is too common; choose another."
    ]
    assert password_problems("correct horse battery staple") == []


def test_email_html_is_escaped_and_text_is_not(tmp_path):
    composer = MailComposer("Auth <no-reply@auth.example.com>")
    message = composer.compose(
        "password_reset",
        "a@example.com",
        {
            "email": "a@example.com",
            "name": "<b>Eve</b> & co",
            "link": "https://auth.example.com/password/reset?token=abc",
            "minutes": 60,
            "issuer": "https://auth.example.com",
        },
    )
    assert message["Subject"] == "Reset your password" and message["Message-ID"]
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "<b>Eve</b> & co" in text
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in html and "<b>Eve" not in html
    path = OutboxMailer(tmp_path / "out").write(message)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"Reset your password" in path.read_bytes()
