"""Login sessions: one per browser login. The browser holds a random secret (the cookie);
the database holds its hash, the user, `auth_time`, and when it was last used.

A session ends on logout, after ``session_idle_ttl`` without use, or after
``session_absolute_ttl`` in any case. Ending a session revokes the token families issued
under it (OIDC RP-initiated logout; "end this session" on the account page). A user has
at most ``sessions_per_user`` live sessions: a new one ends the least recently used
beyond that, so sessions cannot pile up without bound (and every "end all" stays one
statement). ``authserver cleanup`` deletes ended and expired ones (``purge``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from authserver import audit
from authserver.accounts import auth_methods
from authserver.audit import AuditEvent
from authserver.clock import Clock, to_datetime, to_timestamp
from authserver.hashing import new_secret, secret_hash
from authserver.settings import Settings
from authserver.storage.db import UnitOfWork
from authserver.storage.models import LoginSession, User

# Writing last_seen_at on every page view would make each one a write; a minute is
# precise enough for an idle timeout counted in hours.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class ActiveSession:
    login_session: LoginSession
    user: User

    @property
    def id(self) -> str:
        return self.login_session.id

    @property
    def auth_time(self) -> int:
        return int(to_timestamp(self.login_session.auth_time))

    @property
    def amr(self) -> list[str]:
        """RFC 8176 methods performed in this session (the `amr` claim)."""
        return auth_methods.amr_of(self.login_session.auth_methods)

    def method_time(self, method: str) -> int | None:
        """When ``method`` was last performed in this session (epoch seconds), or None."""
        value = (self.login_session.auth_methods or {}).get(method)
        return int(value) if value is not None else None


def start(
    uow: UnitOfWork,
    clock: Clock,
    settings: Settings,
    user: User,
    *,
    methods: Sequence[str] = (auth_methods.PASSWORD,),
    ip: str | None = None,
    user_agent: str | None = None,
    identity_id: str | None = None,
    max_lifetime: int | None = None,
    authenticated_at: float | None = None,
) -> tuple[ActiveSession, str]:
    """Create a session for a user who has just authenticated with ``methods`` (RFC 8176
    names); returns it and the secret to put in the cookie (a new secret at every login:
    no session fixation). A federated login names the upstream identity it came through
    and may cap the session's lifetime (``max_lifetime`` seconds), and says when the
    upstream authenticated the person (``authenticated_at``, see ``login``)."""
    now_ts = clock.now()
    now = to_datetime(now_ts)
    done_ts = performed_at(now_ts, authenticated_at)
    secret = new_secret(32)
    lifetime = settings.session_absolute_ttl
    if max_lifetime is not None:
        lifetime = min(lifetime, max_lifetime)
    record = LoginSession(
        id=str(uuid.uuid4()),
        secret_hash=secret_hash(secret),
        user_id=user.id,
        auth_time=to_datetime(done_ts),
        auth_methods=auth_methods.merge({}, methods, int(done_ts)),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        ended_at=None,
        ip=ip,
        user_agent=(user_agent or "")[:512] or None,
        identity_id=identity_id,
    )
    uow.login_sessions.add(record)
    _end_beyond_limit(uow, clock, settings, user.id, ip=ip, user_agent=user_agent)
    return ActiveSession(record, user), secret


def _end_beyond_limit(
    uow: UnitOfWork,
    clock: Clock,
    settings: Settings,
    user_id: str,
    *,
    ip: str | None,
    user_agent: str | None,
) -> None:
    now = to_datetime(clock.now())
    idle_since = now - timedelta(seconds=settings.session_idle_ttl)
    beyond = uow.login_sessions.live_beyond(user_id, settings.sessions_per_user, now, idle_since)
    uow.tokens.revoke_families_of_sessions(beyond, "session_limit", now)
    ended = uow.login_sessions.end_where(beyond, now)
    if ended:
        audit.record(
            uow,
            clock,
            AuditEvent.SESSIONS_ENDED,
            user_id=user_id,
            ip=ip,
            user_agent=user_agent,
            scope="limit",
            sessions_ended=ended,
        )


def performed_at(now: float, authenticated_at: float | None) -> float:
    """When the login's methods were performed: now, or for a federated login the
    upstream's own authentication time (OIDC `auth_time`, SAML `AuthnInstant`), what an
    RP's `max_age` is about (OIDC Core §2: "Time when the End-User authentication
    occurred") -- an upstream single sign-on session may be hours old. Never later than
    now (a clock ahead of ours must not make a session look fresher)."""
    return now if authenticated_at is None else min(now, authenticated_at)


def login(
    uow: UnitOfWork,
    clock: Clock,
    settings: Settings,
    user: User,
    current: ActiveSession | None,
    *,
    methods: Sequence[str] = (auth_methods.PASSWORD,),
    ip: str | None = None,
    user_agent: str | None = None,
    identity_id: str | None = None,
    max_lifetime: int | None = None,
    authenticated_at: float | None = None,
) -> tuple[ActiveSession, str]:
    """A user has just authenticated in this browser with ``methods`` (RFC 8176 names:
    ``["pwd"]`` for the password, ``["fed"]`` for an upstream provider). The cookie secret
    is always new (no session fixation). Re-authenticating the same user keeps the
    session (its `sid`), moves `auth_time` and adds the methods to those already recorded
    (step-up keeps what the session did before); a different user ends the previous user's
    session. A federated login records its identity (and a re-login through it keeps the
    session's lifetime within ``max_lifetime`` from now)."""
    if current is not None and current.user.id == user.id:
        secret = new_secret(32)
        now_ts = clock.now()
        now = to_datetime(now_ts)
        record = current.login_session
        done_ts = performed_at(now_ts, authenticated_at)
        record.secret_hash = secret_hash(secret)
        record.auth_time = to_datetime(done_ts)
        record.last_seen_at = now
        record.auth_methods = auth_methods.merge(record.auth_methods, methods, int(done_ts))
        if identity_id is not None:
            record.identity_id = identity_id
        if max_lifetime is not None:
            record.expires_at = min(record.expires_at, now + timedelta(seconds=max_lifetime))
        return ActiveSession(record, user), secret
    if current is not None:
        end(uow, clock, current.id, reason="replaced")
    return start(
        uow,
        clock,
        settings,
        user,
        methods=methods,
        ip=ip,
        user_agent=user_agent,
        identity_id=identity_id,
        max_lifetime=max_lifetime,
        authenticated_at=authenticated_at,
    )


def add_methods(
    uow: UnitOfWork, clock: Clock, current: ActiveSession, methods: Sequence[str]
) -> ActiveSession:
    """Record a further factor performed in this session (a second factor, a step-up):
    same session and cookie, `auth_time` moves (OIDC Core §2: the time of the last
    authentication), the methods are added."""
    now_ts = clock.now()
    now = to_datetime(now_ts)
    record = current.login_session
    record.auth_methods = auth_methods.merge(record.auth_methods, methods, int(now_ts))
    record.auth_time = now
    record.last_seen_at = now
    return ActiveSession(record, current.user)


def resolve(
    uow: UnitOfWork, clock: Clock, settings: Settings, secret: str | None
) -> ActiveSession | None:
    """The live session a cookie secret names, or None (unknown, ended, expired, idle too
    long, or its user disabled)."""
    if not secret or len(secret) > 128:
        return None
    record = uow.login_sessions.find_by_secret_hash(secret_hash(secret))
    if record is None or record.ended_at is not None:
        return None
    now = to_datetime(clock.now())
    if now >= record.expires_at or now >= record.last_seen_at + timedelta(
        seconds=settings.session_idle_ttl
    ):
        return None
    user = uow.users.get(record.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        uow.login_sessions.touch(record.id, now)
    return ActiveSession(record, user)


def end(uow: UnitOfWork, clock: Clock, session_id: str, reason: str = "logout") -> bool:
    """End one session and revoke the token families issued under it."""
    now = to_datetime(clock.now())
    ended = uow.login_sessions.end(session_id, now)
    uow.tokens.revoke_login_session_families(session_id, reason, now)
    return ended


def end_all(uow: UnitOfWork, clock: Clock, user_id: str, reason: str = "logout_all") -> int:
    """Log a user out everywhere: every session ended, every token family revoked, and
    every access token issued before now invalid (`tokens_valid_after`). Set-based
    statements, whatever the number of sessions; returns how many ended."""
    now_ts = clock.now()
    now = to_datetime(now_ts)
    ended = uow.login_sessions.end_all(user_id, now)
    uow.tokens.revoke_user_families(user_id, reason, now)
    uow.users.invalidate_tokens_before(user_id, int(now_ts), now)
    return ended


def purge(uow: UnitOfWork, clock: Clock, settings: Settings) -> int:
    """Delete sessions ended or expired more than ``expired_retention_days`` ago."""
    before = to_datetime(clock.now()) - timedelta(days=settings.expired_retention_days)
    idle_before = before - timedelta(seconds=settings.session_idle_ttl)
    return uow.login_sessions.purge(before, idle_before)
