"""Settings: read once from AUTHSERVER_*, refused with a message naming the variable."""

from __future__ import annotations

import pytest

from authserver.errors import UnsafeSettings
from authserver.settings import load_settings


def load(**env: str):
    return load_settings({f"AUTHSERVER_{k.upper()}": v for k, v in env.items()}, env_file=None)


def problems(**env: str) -> str:
    with pytest.raises(UnsafeSettings) as info:
        load(**env)
    return str(info.value)


def test_defaults_are_the_embedded_mode():
    s = load()
    assert s.issuer == "http://localhost:8000"
    assert s.database_url.startswith("sqlite:///")
    assert s.redis_url is None
    assert s.access_token_ttl == 3600 and s.refresh_token_ttl == 30 * 86400
    assert s.should_auto_migrate is True


def test_issuer_follows_the_port_unless_set():
    assert load(port="9000").issuer == "http://localhost:9000"
    assert load(issuer="https://auth.example.com").issuer == "https://auth.example.com"


def test_values_are_typed():
    s = load(access_token_ttl="600", workers="1", key_size="3072")
    assert s.access_token_ttl == 600 and s.key_size == 3072


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"issuer": "http://auth.example.com"}, "AUTHSERVER_ISSUER"),
        ({"issuer": "https://auth.example.com/?x=1"}, "AUTHSERVER_ISSUER"),
        ({"issuer": "https://auth.example.com/"}, "AUTHSERVER_ISSUER"),
        ({"issuer": "ftp://x"}, "AUTHSERVER_ISSUER"),
        ({"workers": "4"}, "AUTHSERVER_WORKERS"),
        ({"workers": "2", "database_url": "postgresql+psycopg://x/y"}, "AUTHSERVER_REDIS_URL"),
        ({"key_publish_ahead": "10", "jwks_max_age": "300"}, "AUTHSERVER_KEY_PUBLISH_AHEAD"),
        ({"auth_code_ttl": "600"}, "AUTHSERVER_AUTH_CODE_TTL"),
        ({"access_token_ttl": "7200", "refresh_token_ttl": "3600"}, "AUTHSERVER_ACCESS_TOKEN_TTL"),
        ({"access_token_ttl": "lots"}, "AUTHSERVER_ACCESS_TOKEN_TTL"),
        ({"key_size": "1024"}, "AUTHSERVER_KEY_SIZE"),
        ({"database_url": "mysql://x/y"}, "AUTHSERVER_DATABASE_URL"),
        ({"redis_url": "http://x"}, "AUTHSERVER_REDIS_URL"),
        (
            {"issuer": "https://auth.example.com", "argon2_memory_kib": "8192"},
            "AUTHSERVER_ARGON2_MEMORY_KIB",
        ),
        (
            {"session_idle_ttl": "90000", "session_absolute_ttl": "3600"},
            "AUTHSERVER_SESSION_IDLE_TTL",
        ),
        ({"secret_key": "short"}, "AUTHSERVER_SECRET_KEY"),
        ({"no_such_thing": "1"}, "AUTHSERVER_NO_SUCH_THING"),
    ],
)
def test_unsafe_or_contradictory_settings_are_refused_by_name(env, named):
    assert named in problems(**env)


def test_every_problem_is_reported_at_once():
    message = problems(issuer="http://auth.example.com", auth_code_ttl="600")
    assert "AUTHSERVER_ISSUER" in message and "AUTHSERVER_AUTH_CODE_TTL" in message


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("AUTHSERVER_PORT=9100\nAUTHSERVER_ACCESS_TOKEN_TTL=900\n")
    s = load_settings({"AUTHSERVER_PORT": "9200"}, env_file=str(env_file))
    assert s.port == 9200 and s.access_token_ttl == 900


def test_production_shape_is_accepted():
    s = load(
        issuer="https://auth.example.com",
        database_url="postgresql+psycopg://u@db/a",
        redis_url="redis://redis:6379/0",
        workers="4",
    )
    assert s.issuer_is_https and not s.should_auto_migrate
