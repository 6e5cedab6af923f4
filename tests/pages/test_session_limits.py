"""Login sessions cannot pile up: a user has at most ``sessions_per_user`` live ones (a new
login ends the least recently used beyond that), and "log out everywhere" ends any number
of them in one statement (an id list would pass the database's bind-parameter limit:
65,535 on PostgreSQL, 32,766 on SQLite)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Insert, String, cast, func, insert, literal, select

from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.storage.models import LoginSession
from tests.accounts_helpers import FakeClock, OneServer, browser, csrf, login

MANY = 65_600  # past both limits


def _live(services, user_id: str) -> int:
    with services.db.unit_of_work() as uow:
        return uow.session.scalar(
            select(func.count())
            .select_from(LoginSession)
            .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        )


def _many_sessions(user_id: str, now: datetime) -> Insert:
    """INSERT ... SELECT of MANY live sessions, numbered by a recursive CTE (fast on
    both databases)."""
    n = select(literal(1).label("i")).cte("n", recursive=True)
    n = n.union_all(select(n.c.i + 1).where(n.c.i < MANY))
    label = literal("seed-") + cast(n.c.i, String)
    stamp = literal(now, LoginSession.auth_time.type)
    later = literal(now + timedelta(days=1), LoginSession.expires_at.type)
    methods = literal({"pwd": 0}, LoginSession.auth_methods.type)
    columns = ["id", "secret_hash", "user_id", "auth_time", "created_at", "last_seen_at"]
    return insert(LoginSession).from_select(
        [*columns, "expires_at", "auth_methods"],
        select(label, label, literal(user_id), stamp, stamp, stamp, later, methods),
    )


def _signed_in(http) -> bool:
    return http.get("/account", follow_redirects=False).status_code == 200


def test_log_out_everywhere_ends_any_number_of_sessions(settings, factory, services):
    user = factory.user()
    with browser(settings) as http:
        login(http, user.email, user.password)
        token = csrf(http.get("/account").text)
        # Sessions opened before a per-user limit existed (or by a bot, one login at a time).
        with services.db.unit_of_work() as uow:
            uow.session.execute(_many_sessions(user.id, to_datetime(services.clock.now())))
        r = http.post("/account/logout-all", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?notice=logged_out"
        assert not _signed_in(http)
    assert _live(services, user.id) == 0
    with services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(user_id=user.id, event=str(AuditEvent.SESSIONS_ENDED))
    assert event.details["sessions_ended"] == MANY + 1


def test_a_new_login_ends_the_least_recently_used_beyond_the_limit(make_settings, factory):
    settings = make_settings(sessions_per_user=2)
    clock = FakeClock()
    user = factory.user()
    with OneServer(settings, clock) as server:
        first, second, third = (server.browser(f"192.0.2.{i}") for i in (1, 2, 3))
        login(first, user.email, user.password)
        clock.advance(100)
        login(second, user.email, user.password)
        clock.advance(100)
        assert _signed_in(first)  # used now: the second is the least recently used
        clock.advance(100)
        login(third, user.email, user.password)
        assert [_signed_in(b) for b in (first, second, third)] == [True, False, True]
        assert _live(factory.services, user.id) == 2
    with factory.services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(user_id=user.id, event=str(AuditEvent.SESSIONS_ENDED))
    assert event.details == {"scope": "limit", "sessions_ended": 1}
