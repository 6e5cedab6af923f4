"""The one step every way of signing in ends with: a user has proved who they are in this
browser with some methods (RFC 8176 names: ``pwd`` on the login page, ``fed`` after an
upstream identity provider), and the server decides what comes next.

A user with a second factor (an authenticator app) who has only passed the first is not
signed in yet: the browser gets a *pending sign-in* (``mfa.pending``) and is asked for the
second factor; only then does a login session exist. A first factor that already counts
as both (an upstream provider trusted to assert MFA: ``["fed", "mfa"]``) goes straight to
a session. The password page, the federation callback and passkey sign-in all go through
``after_first_factor`` and nowhere else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from authserver.accounts import auth_methods, login_sessions
from authserver.mfa import factors, pending, policy
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User


@dataclass(frozen=True)
class SessionStarted:
    """The browser now has a login session: put ``secret`` in its session cookie."""

    secret: str
    session: login_sessions.ActiveSession
    # The user must have a second factor and has none: lead them through setting one up
    # (``/account/mfa/setup``) before anything else.
    enrol: bool = False


@dataclass(frozen=True)
class SecondFactorNeeded:
    """The first factor passed; the browser must now pass a second one. ``secret`` goes
    in the pending sign-in cookie (``pages.sign_in``)."""

    secret: str


SignInStep = SessionStarted | SecondFactorNeeded


def with_second_factor(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """The methods of a sign-in that passed ``first`` then ``second``: both, and RFC 8176
    ``mfa`` (more than one factor)."""
    return list(dict.fromkeys([*first, *second, auth_methods.MULTI_FACTOR]))


def after_first_factor(
    uow: UnitOfWork,
    services: Services,
    user: User,
    current: login_sessions.ActiveSession | None,
    methods: Sequence[str],
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    identity_id: str | None = None,
    max_lifetime: int | None = None,
    authenticated_at: float | None = None,
) -> SignInStep:
    """``user`` authenticated with ``methods`` in a browser whose current session (if any)
    is ``current``: what the browser gets next. The caller has checked the credentials
    (and that the user is not disabled) and commits ``uow``. A federated sign-in names
    the upstream identity (``identity_id``: the session ends when it is unlinked or its
    provider disabled), the provider's cap on the session (``max_lifetime`` seconds) and
    when the upstream authenticated the person (``authenticated_at``: the session's
    `auth_time`, see ``login_sessions.login``). A pending sign-in keeps only the methods:
    its session's `auth_time` is when the second factor was passed, an active
    authentication in this browser then."""
    multi = auth_methods.MULTI_FACTOR in methods or bool(auth_methods.SECOND_FACTORS & set(methods))
    if not multi and factors.has_second_factor(uow, user.id):
        secret = pending.start(uow, services.clock, user, methods, ip=ip, user_agent=user_agent)
        return SecondFactorNeeded(secret)
    session, secret = login_sessions.login(
        uow,
        services.clock,
        services.settings,
        user,
        current,
        methods=methods,
        ip=ip,
        user_agent=user_agent,
        identity_id=identity_id,
        max_lifetime=max_lifetime,
        authenticated_at=authenticated_at,
    )
    enrol = policy.required_for(services.settings, user) and not multi
    return SessionStarted(secret, session, enrol=enrol)


def after_second_factor(
    uow: UnitOfWork,
    services: Services,
    waiting: pending.Pending,
    current: login_sessions.ActiveSession | None,
    methods: Sequence[str],
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> SessionStarted | None:
    """The pending sign-in ``waiting`` passed its second factor (``methods``): its login
    session. None when the pending sign-in was completed meanwhile (a second tab, a
    replay): nothing is started twice."""
    if not pending.complete(uow, services.clock, waiting):
        return None
    identity_id, max_lifetime = _federated_origin(uow, waiting)
    session, secret = login_sessions.login(
        uow,
        services.clock,
        services.settings,
        waiting.user,
        current,
        methods=with_second_factor(waiting.methods, methods),
        ip=ip,
        user_agent=user_agent,
        identity_id=identity_id,
        max_lifetime=max_lifetime,
    )
    return SessionStarted(secret, session)


def _federated_origin(uow: UnitOfWork, waiting: pending.Pending) -> tuple[str | None, int | None]:
    """For a pending sign-in whose first factor was an upstream provider (``fed``): the
    identity it came through -- the user's one used last, which the callback touched in
    the transaction that started the pending sign-in -- and its provider's session cap,
    so the session ends with the identity as a one-factor federated session does."""
    if auth_methods.FEDERATED not in waiting.methods:
        return None, None
    linked = uow.identities.of_user(waiting.user.id)
    if not linked:
        return None, None
    identity = max(linked, key=lambda i: i.last_login_at)
    provider = uow.providers.get(identity.provider_id)
    cap = (provider.policy or {}).get("max_session_seconds") if provider is not None else None
    return identity.id, cap if isinstance(cap, int) else None
