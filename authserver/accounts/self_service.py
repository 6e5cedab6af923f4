"""What users do to their own account on the account page, besides passwords and sessions
(``accounts.account``): change their name, see the apps they let in and take that back,
and delete the account.

Removing an app's access forgets the consent (the app asks again next time) and revokes
the user's refresh-token families at that app, which also voids the access tokens issued
from them. Deleting the account needs a fresh sign-in, can be switched off by the
operator (``account_deletion_enabled``) and is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from authserver import audit
from authserver.accounts import management
from authserver.accounts.login_sessions import ActiveSession
from authserver.accounts.signup import clean_name
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.errors import InvalidInput
from authserver.i18n.message import N_
from authserver.oauth.scope_descriptions import ScopeView, scope_views
from authserver.services import Services
from authserver.storage.db import UnitOfWork

# A sign-in at most this old counts as fresh for deleting the account.
FRESH_SIGN_IN = timedelta(minutes=5)


class DeletionDisabled(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            N_("Deleting accounts here is switched off. Ask the people who run this service.")
        )


class NotFresh(InvalidInput):
    def __init__(self) -> None:
        super().__init__(N_("Sign in again to delete your account."))


@dataclass(frozen=True)
class ConnectedApp:
    client_id: str
    name: str
    scopes: list[ScopeView]


def rename(
    uow: UnitOfWork,
    services: Services,
    session: ActiveSession,
    name: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Set the display name (empty: none). Raises ``InvalidInput`` for a name that is too
    long or holds characters that cannot be shown."""
    user = session.user
    user.name = clean_name(name)
    user.updated_at = to_datetime(services.clock.now())
    audit.record(
        uow,
        services.clock,
        AuditEvent.PROFILE_CHANGED,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
        changed=["name"],
    )


def connected_apps(
    uow: UnitOfWork, services: Services, user_id: str, locale: str
) -> list[ConnectedApp]:
    """The apps the user consented to or that hold live tokens for them, with the scopes
    granted (described as on the consent page)."""
    granted: dict[str, tuple[str, set[str]]] = {}
    now = to_datetime(services.clock.now())
    rows = uow.consents.list_for_user(user_id) + uow.tokens.live_family_scopes(user_id, now)
    for client_id, name, scope in rows:
        _, scopes = granted.setdefault(client_id, (name, set()))
        scopes.update(scope.split())
    default = services.settings.default_locale
    return [
        ConnectedApp(client_id, name, scope_views(uow, sorted(scopes), locale, default))
        for client_id, (name, scopes) in sorted(granted.items(), key=lambda kv: kv[1][0])
    ]


def remove_access(
    uow: UnitOfWork,
    services: Services,
    user_id: str,
    client_id: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> bool:
    """Forget the consent and revoke the app's tokens for the user; False when the app
    had neither (nothing changed, nothing audited)."""
    if len(client_id) > 100:
        return False
    had_consent = bool(uow.consents.granted_scopes(user_id, client_id))
    uow.consents.revoke(user_id, client_id)
    now = to_datetime(services.clock.now())
    families = uow.tokens.revoke_client_families(user_id, client_id, "access_removed", now)
    if not had_consent and not families:
        return False
    audit.record(
        uow,
        services.clock,
        AuditEvent.CONSENT_REVOKED,
        user_id=user_id,
        client_id=client_id,
        ip=ip,
        user_agent=user_agent,
        families_revoked=families,
    )
    return True


def check_can_delete(services: Services, session: ActiveSession) -> None:
    """Raises ``DeletionDisabled`` or ``NotFresh`` (sign in again first)."""
    if not services.settings.account_deletion_enabled:
        raise DeletionDisabled()
    age = services.clock.now() - session.auth_time
    if age > FRESH_SIGN_IN.total_seconds():
        raise NotFresh()


def delete_account(
    uow: UnitOfWork,
    services: Services,
    session: ActiveSession,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Delete the signed-in user's account with everything it holds (sessions, tokens,
    consents, links); the audit record keeps its id."""
    check_can_delete(services, session)
    user = session.user
    audit.record(
        uow,
        services.clock,
        AuditEvent.ACCOUNT_DELETED,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
        via="self",
    )
    management.delete_user(uow, user.id)
