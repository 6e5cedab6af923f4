"""Operator mistakes end with one line on stderr and exit code 2 (1 when the database
cannot be reached), never a traceback."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from authserver.errors import UnsafeSettings
from authserver.settings import load_settings
from tests.conftest import PG_ADMIN_URL


def one_line(r, code: int = 2) -> str:
    """The error line (beside it, only the note naming an empty database)."""
    assert r.code == code, (r.code, r.out, r.err)
    lines = [x for x in r.err.splitlines() if not x.startswith("authserver: note: ")]
    assert len(lines) == 1 and lines[0].startswith("authserver"), r.err
    return lines[0]


def test_no_terminal_for_the_password(cli):
    err = one_line(cli("users", "create", "--email", "a@example.com"))
    assert "--password-stdin" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("users", "show", "nobody@example.com"), "no user nobody@example.com"),
        (("users", "delete", "0000"), "no user 0000"),
        (("users", "reset-password", "x@example.com"), "no user x@example.com"),
        (("clients", "show", "nope"), "no client nope"),
        (("clients", "update", "nope", "--name", "x"), "no client nope"),
        (("clients", "rotate-secret", "nope"), "no client nope"),
        (("keys", "retire", "nope"), "no key nope"),
        (
            ("users", "create", "--email", "not-an-address", "--password", "long enough pw"),
            "not a valid e-mail",
        ),
        (
            (
                "audit",
                "export",
                "--since",
                "2026-01-02T00:00:00Z",
                "--until",
                "2026-01-01T00:00:00Z",
            ),
            "--since must be before --until",
        ),
    ],
)
def test_unknown_things_and_bad_values(cli, argv, says):
    assert says in one_line(cli(*argv))


def test_clients_update_needs_a_change_and_edits_lists(cli):
    cli(
        "clients",
        "create",
        "--name",
        "W",
        "--client-id",
        "w",
        "--grant",
        "authorization_code",
        "--redirect-uri",
        "https://w.example/cb",
        "--scope",
        "openid",
    )
    assert "nothing to change" in one_line(cli("clients", "update", "w"))
    r = cli(
        "clients",
        "update",
        "w",
        "--add-redirect-uri",
        "https://w.example/2",
        "--remove-redirect-uri",
        "https://w.example/cb",
        "--first-party",
        "--json",
    )
    assert r.json()["redirect_uris"] == ["https://w.example/2"] and r.json()["first_party"]
    r = cli("clients", "update", "w", "--logo-uri", "https://w.example/logo.png", "--json")
    assert r.json()["logo_uri"] == "https://w.example/logo.png"
    assert cli("clients", "update", "w", "--logo-uri", "", "--json").json()["logo_uri"] is None
    assert "has no https://nope" in one_line(
        cli("clients", "update", "w", "--remove-redirect-uri", "https://nope")
    )
    assert "must use https" in one_line(
        cli("clients", "update", "w", "--redirect-uri", "http://evil.example/cb")
    )


def test_contradictory_settings_have_the_start_up_messages(cli, monkeypatch):
    monkeypatch.setenv("AUTHSERVER_SESSION_IDLE_TTL", "90000")
    monkeypatch.setenv("AUTHSERVER_SESSION_ABSOLUTE_TTL", "3600")
    monkeypatch.setenv("AUTHSERVER_KEY_PUBLISH_AHEAD", "10")
    with pytest.raises(UnsafeSettings) as startup:
        load_settings(env_file=None)
    r = cli("config", "check")
    assert r.code == 2
    assert [line.removeprefix("problem: ") for line in r.out.splitlines()] == (
        startup.value.problems
    )
    r = cli("config", "check", "--json")
    assert r.code == 2 and json.loads(r.out)["problems"] == startup.value.problems
    assert cli("serve").code == 2 and "AUTHSERVER_SESSION_IDLE_TTL" in cli("serve").err


@pytest.fixture
def empty_pg_database():
    """A PostgreSQL database nobody migrated."""
    name = f"authserver_unmigrated_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        from tests.conftest import _service_missing

        _service_missing("PostgreSQL", exc)
    yield sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_a_database_that_was_never_migrated(cli, monkeypatch, empty_pg_database):
    monkeypatch.setenv("AUTHSERVER_DATABASE_URL", empty_pg_database)
    for argv in (
        ("users", "list"),
        ("clients", "create", "--name", "x", "--scope", "a"),
        ("audit", "tail"),
        ("serve",),
    ):
        err = one_line(cli(*argv))
        assert "was never migrated" in err and "run `authserver migrate`" in err
    r = cli("config", "check")
    assert r.code == 2 and "was never migrated" in r.out
    assert cli("migrate").code == 0
    r = cli("users", "list")
    assert r.code == 0 and "has no clients or users yet" in r.err


def test_an_unreachable_database(cli, monkeypatch):
    monkeypatch.setenv("AUTHSERVER_DATABASE_URL", "postgresql+psycopg://u:hunter2@127.0.0.1:9/x")
    err = one_line(cli("clients", "list"), code=1)
    assert "cannot reach the database" in err and "hunter2" not in err
    r = cli("config", "check")
    assert r.code == 1 and "cannot reach the database" in r.out and "hunter2" not in r.out
