"""The audit trail: every security event with time, user, client, IP and user agent,
wherever it happens (pages, grants, CLI); and `authserver audit tail`."""

from __future__ import annotations

import json
import time

import pytest

from authserver.audit import AuditEvent
from authserver.cli import main
from tests.accounts_helpers import FakeClock, browser, login
from tests.helpers import password_grant, refresh_grant

UA = {"User-Agent": "audit-test/1.0"}


def _events(services, **filters):
    with services.db.unit_of_work() as uow:
        return list(reversed(uow.audit.query(**filters)))


def test_grant_logins_are_audited_with_client_ip_and_agent(client, factory, services):
    user = factory.user()
    app = factory.password_client()
    before = time.time()
    client.post(
        "/token",
        auth=app.basic_auth,
        headers=UA,
        data={"grant_type": "password", "username": user.email, "password": "nope nope"},
    )
    client.post(
        "/token",
        auth=app.basic_auth,
        headers=UA,
        data={"grant_type": "password", "username": "who@example.com", "password": "nope"},
    )
    client.post(
        "/token",
        auth=app.basic_auth,
        headers=UA,
        data={"grant_type": "password", "username": user.email, "password": user.password},
    )
    failed, unknown, ok = _events(services)
    assert [failed.event, unknown.event, ok.event] == [
        str(AuditEvent.LOGIN_FAILED),
        str(AuditEvent.LOGIN_FAILED),
        str(AuditEvent.LOGIN_OK),
    ]
    assert failed.user_id == ok.user_id == user.id and unknown.user_id is None
    for event in (failed, unknown, ok):
        assert event.client_id == app.client_id
        assert event.ip == "testclient" and event.user_agent == "audit-test/1.0"
        assert event.details["purpose"] == "password_grant"
        assert before - 1 <= event.at.timestamp() <= time.time() + 1
    assert failed.details["reason"] == "wrong_password_or_disabled"
    assert unknown.details["reason"] == "unknown_email"


def test_page_logins_and_throttling_are_audited(make_settings, factory, services):
    settings = make_settings(throttle_account_failures=1)
    user = factory.user()
    with browser(settings, FakeClock(), ip="192.0.2.77") as http:
        login(http, user.email, "wrong")
        login(http, user.email, user.password)
    failed, throttled = _events(services, user_id=user.id)
    assert failed.event == str(AuditEvent.LOGIN_FAILED)
    assert throttled.event == str(AuditEvent.LOGIN_THROTTLED)
    assert throttled.ip == "192.0.2.77" and throttled.client_id is None
    assert throttled.user_agent == "testclient"
    assert throttled.details["purpose"] == "login" and throttled.details["retry_after"] > 0


def test_refresh_token_reuse_is_audited(client, factory, services):
    user = factory.user()
    app = factory.password_client()
    first = password_grant(client, app, user).json()["refresh_token"]
    assert refresh_grant(client, app, first).status_code == 200
    assert refresh_grant(client, app, first).status_code == 400
    (event,) = _events(services, event=str(AuditEvent.REFRESH_REUSE))
    assert event.user_id == user.id and event.client_id == app.client_id


@pytest.fixture
def cli_env(settings, monkeypatch, tmp_path):
    """The CLI pointed at the test's database and keys, as an operator's shell would be."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTHSERVER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTHSERVER_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("AUTHSERVER_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("AUTHSERVER_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("AUTHSERVER_LOG_FORMAT", "text")


def _cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_cli_changes_are_audited_and_audit_tail_shows_them(
    cli_env, capsys, client, factory, services
):
    user = factory.user(email="tail@example.com")
    login(client, user.email, "wrong")
    login(client, user.email, user.password)
    _cli(capsys, "clients", "create", "--name", "Tail", "--client-id", "tail-app", "--scope", "a")
    _cli(capsys, "clients", "rotate-secret", "tail-app")
    _cli(capsys, "keys", "rotate")

    lines = _cli(capsys, "audit", "tail", "--json").splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == [
        "login.failed",
        "login.ok",
        "client.created",
        "client.changed",
        "key.rotated",
    ]
    assert events[-1]["details"]["kid"] and events[-1]["details"]["via"] == "cli"
    assert events[0]["ip"] == "testclient" and events[0]["user_id"] == user.id

    out = _cli(capsys, "audit", "tail", "-n", "2")
    assert out.count("\n") == 2 and "client.changed" in out and "key.rotated" in out
    by_email = _cli(capsys, "audit", "tail", "--user", "TAIL@example.com", "--json")
    assert [json.loads(x)["event"] for x in by_email.splitlines()] == ["login.failed", "login.ok"]
    by_client = _cli(capsys, "audit", "tail", "--client", "tail-app", "--json")
    assert len(by_client.splitlines()) == 2
    by_event = _cli(capsys, "audit", "tail", "--event", "key.rotated")
    assert by_event.count("key.rotated") == 1
    assert "no events" in _cli(capsys, "audit", "tail", "--user", "nobody@example.com")


def test_key_retirement_is_audited(cli_env, capsys, services):
    _cli(capsys, "keys", "rotate", "--now")
    listing = json.loads(_cli(capsys, "keys", "list", "--json"))["keys"]
    retiring = next(k["kid"] for k in listing if k["state"] != "active")
    _cli(capsys, "keys", "retire", "--force", retiring)
    (event,) = _events(services, event=str(AuditEvent.KEY_RETIRED))
    assert event.details == {"kid": retiring, "forced": True, "via": "cli"}
