"""`authserver cleanup` as an operator runs it (cron): authorization codes, reset tokens and
login sessions that ended or expired more than AUTHSERVER_EXPIRED_RETENTION_DAYS ago, and
audit events older than AUTHSERVER_AUDIT_RETENTION_DAYS, are deleted; the rest stays."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from authserver.cli import main
from authserver.clock import SystemClock, to_datetime
from authserver.storage.models import (
    AuditEvent,
    AuthorizationCode,
    LoginSession,
    PasswordResetToken,
)


def _code(client_id: str, user_id: str, expires) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=uuid.uuid4().hex,
        client_id=client_id,
        user_id=user_id,
        scope="openid",
        auth_time=expires,
        created_at=expires,
        expires_at=expires,
    )


def _reset(user_id: str, expires, used=None) -> PasswordResetToken:
    return PasswordResetToken(
        token_hash=uuid.uuid4().hex,
        user_id=user_id,
        created_at=expires,
        expires_at=expires,
        used_at=used,
    )


def _session(user_id: str, last_seen, expires, ended=None) -> LoginSession:
    return LoginSession(
        id=str(uuid.uuid4()),
        secret_hash=uuid.uuid4().hex,
        user_id=user_id,
        auth_time=last_seen,
        auth_methods={"pwd": 0},
        created_at=last_seen,
        last_seen_at=last_seen,
        expires_at=expires,
        ended_at=ended,
    )


def _audit(at) -> AuditEvent:
    return AuditEvent(at=at, event="login.ok", details={})


def test_cleanup_deletes_what_is_past_retention(
    settings, services, factory, monkeypatch, tmp_path, capsys
):
    user = factory.user()
    client = factory.client()
    now = to_datetime(SystemClock().now())
    day = timedelta(days=1)
    old, recent, future = now - 4 * day, now - day, now + day
    gone = [
        _code(client.client_id, user.id, old),
        _reset(user.id, old),
        _reset(user.id, future, used=old),
        _session(user.id, old - day, future, ended=old),
        _session(user.id, old - day, old),  # expired
        _session(user.id, old - day, future),  # idle for days
        _audit(now - 40 * day),
    ]
    kept = [
        _code(client.client_id, user.id, recent),
        _reset(user.id, recent),
        _reset(user.id, future, used=recent),
        _session(user.id, now, future, ended=recent),
        _session(user.id, now, future),  # live
        _audit(now - 20 * day),
    ]
    with services.db.unit_of_work() as uow:
        uow.session.add_all(gone + kept)
    with services.db.unit_of_work() as uow:
        before = {type(r): len(uow.session.scalars(select(type(r))).all()) for r in gone}

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTHSERVER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTHSERVER_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("AUTHSERVER_EXPIRED_RETENTION_DAYS", "2")
    monkeypatch.setenv("AUTHSERVER_AUDIT_RETENTION_DAYS", "30")
    assert main(["cleanup"]) == 0
    out = capsys.readouterr().out
    assert "1 authorization codes, 2 reset tokens, 3 login sessions, 1 audit events" in out

    with services.db.unit_of_work() as uow:
        after = {kind: len(uow.session.scalars(select(kind)).all()) for kind in before}
    removed = {kind: sum(type(r) is kind for r in gone) for kind in before}
    assert {kind: before[kind] - after[kind] for kind in before} == removed
