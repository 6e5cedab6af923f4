"""`config show` (values, sources, secrets masked) and the configuration reference."""

from __future__ import annotations

from pathlib import Path

from authserver.settings import Settings
from authserver.settings_doc import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_show_names_each_source_and_masks_secrets(cli, monkeypatch):
    Path(".env").write_text("AUTHSERVER_ACCESS_TOKEN_TTL=900\nAUTHSERVER_SMTP_HOST=mx\n")
    monkeypatch.setenv("AUTHSERVER_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("AUTHSERVER_SMTP_USERNAME", "mailer")
    monkeypatch.setenv("AUTHSERVER_SMTP_PASSWORD", "hunter2-smtp")
    monkeypatch.setenv("AUTHSERVER_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("AUTHSERVER_REDIS_URL", "redis://:hunter2-redis@redis:6379/0")
    monkeypatch.setenv("AUTHSERVER_DATABASE_URL", "postgresql+psycopg://app:hunter2-pg@db/a")
    r = cli("config", "show", "--json")
    rows = {row["name"]: row for row in r.json()}
    assert rows["AUTHSERVER_ACCESS_TOKEN_TTL"]["value"] == 900
    assert rows["AUTHSERVER_ACCESS_TOKEN_TTL"]["source"] == str(Path(".env").resolve())
    assert rows["AUTHSERVER_SMTP_HOST"] == {
        "name": "AUTHSERVER_SMTP_HOST",
        "value": "smtp.example.com",
        "source": "environment",
        "secret": False,
    }
    assert rows["AUTHSERVER_ID_TOKEN_TTL"]["source"] == "default"
    assert rows["AUTHSERVER_SMTP_PASSWORD"]["value"] == "********"
    assert rows["AUTHSERVER_SECRET_KEY"]["value"] == "********"
    assert rows["AUTHSERVER_KEYS_PASSPHRASE"]["value"] is None
    assert rows["AUTHSERVER_DATABASE_URL"]["value"] == "postgresql+psycopg://app:********@db/a"
    assert rows["AUTHSERVER_REDIS_URL"]["value"] == "redis://:********@redis:6379/0"
    assert "hunter2" not in r.out
    text = cli("config", "show").out
    assert "hunter2" not in text and "AUTHSERVER_ACCESS_TOKEN_TTL" in text


def test_the_committed_reference_is_current():
    """Regenerate it with `authserver config reference > docs/configuration.md`."""
    assert DOC.read_text() == reference()


def test_every_setting_is_described_in_the_reference():
    text = reference()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name}: add a docstring under the field in settings.py"
        assert f"`AUTHSERVER_{name.upper()}`" in text
