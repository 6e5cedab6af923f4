"""What a signed-in user does on the account page: change the password, see their login
sessions and the apps each one signed in to, end one session, or log out everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from authserver import audit
from authserver.accounts import login, login_sessions
from authserver.accounts.login_sessions import ActiveSession
from authserver.accounts.policy import check_password
from authserver.accounts.reset import replace_password
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.errors import InvalidInput
from authserver.i18n.message import N_
from authserver.services import Services
from authserver.storage.db import UnitOfWork


@dataclass(frozen=True)
class SessionView:
    id: str
    created_at: datetime
    last_seen_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool
    clients: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PasswordChanged:
    # The browser's new session secret: its old session ended with all the others.
    cookie_secret: str
    message: EmailMessage


def change_password(
    uow: UnitOfWork,
    services: Services,
    session: ActiveSession,
    current_password: str,
    new_password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
) -> PasswordChanged:
    """Check the current password (throttled and audited like any login), apply the
    policy to the new one, then sign out every session and app -- a changed password is
    often a reaction to a suspected compromise -- except this browser, which gets a
    fresh session. Raises ``RateLimited`` or ``InvalidInput`` with nothing changed but the
    audit record of the check: commit the unit of work anyway."""
    user = session.user
    login.check_current_password(
        uow,
        services,
        user,
        current_password,
        purpose="change_password",
        ip=ip,
        user_agent=user_agent,
    )
    if new_password == current_password:
        raise InvalidInput(
            N_("Choose a new password that differs from the current one."), field="password"
        )
    check_password(new_password, email=user.email)
    message = replace_password(
        uow,
        services,
        user,
        new_password,
        AuditEvent.PASSWORD_CHANGED,
        ip=ip,
        user_agent=user_agent,
        locale=locale,
    )
    # The fresh session keeps what this one proved (a second factor included).
    _, secret = login_sessions.start(
        uow,
        services.clock,
        services.settings,
        user,
        methods=session.amr,
        ip=ip,
        user_agent=user_agent,
    )
    return PasswordChanged(secret, message)


@dataclass(frozen=True)
class Overview:
    sessions: list[SessionView]
    # Apps signed in without a browser session (the password grant).
    other_apps: list[str]


def overview(uow: UnitOfWork, services: Services, session: ActiveSession) -> Overview:
    """The user's live login sessions, most recently used first, each with the names of
    the apps holding live tokens from it; and the apps signed in without a session."""
    return sessions_of(uow, services, session.user.id, current_session_id=session.id)


def sessions_of(
    uow: UnitOfWork, services: Services, user_id: str, current_session_id: str | None = None
) -> Overview:
    """``overview`` of any user (the console's user page), ``current_session_id`` marked."""
    now = to_datetime(services.clock.now())
    idle = timedelta(seconds=services.settings.session_idle_ttl)
    clients: dict[str | None, list[str]] = {}
    for session_id, _client_id, name in uow.tokens.active_grants(user_id, now):
        names = clients.setdefault(session_id, [])
        if name not in names:
            names.append(name)
    views = [
        SessionView(
            id=s.id,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            ip=s.ip,
            user_agent=s.user_agent,
            current=s.id == current_session_id,
            clients=clients.get(s.id, []),
        )
        for s in uow.login_sessions.list_active(user_id, now)
        if s.last_seen_at + idle > now
    ]
    return Overview(views, clients.get(None, []))


def end_session(
    uow: UnitOfWork,
    services: Services,
    session: ActiveSession,
    session_id: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> bool:
    """End one of the user's own sessions (and the apps' tokens issued under it)."""
    target = uow.login_sessions.get(session_id) if len(session_id) <= 64 else None
    if target is None or target.user_id != session.user.id or target.ended_at is not None:
        return False
    login_sessions.end(uow, services.clock, session_id, reason="session_ended")
    audit.record(
        uow,
        services.clock,
        AuditEvent.SESSIONS_ENDED,
        user_id=session.user.id,
        ip=ip,
        user_agent=user_agent,
        scope="one",
        session_id=session_id,
    )
    return True


def log_out_everywhere(
    uow: UnitOfWork,
    services: Services,
    user_id: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    client_id: str | None = None,
    via: str = "account_page",
) -> int:
    """Every session and token family of the user ends; earlier access tokens become
    invalid. Returns how many sessions ended."""
    ended = login_sessions.end_all(uow, services.clock, user_id)
    audit.record(
        uow,
        services.clock,
        AuditEvent.SESSIONS_ENDED,
        user_id=user_id,
        client_id=client_id,
        ip=ip,
        user_agent=user_agent,
        scope="all",
        via=via,
        sessions_ended=ended,
    )
    return ended
