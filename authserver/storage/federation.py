"""Upstream identity providers, the identities users hold there, and the short-lived
records of a federated login in flight (round trips, pending links)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authserver.errors import Conflict
from authserver.storage.models import (
    ExternalIdentity,
    FederationLogin,
    FederationPendingLink,
    IdentityProvider,
    LoginSession,
)


class ProviderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, provider_id: str) -> IdentityProvider | None:
        return self.session.get(IdentityProvider, provider_id)

    def list(self, enabled_only: bool = False) -> Sequence[IdentityProvider]:
        stmt = select(IdentityProvider).order_by(IdentityProvider.display_name, IdentityProvider.id)
        if enabled_only:
            stmt = stmt.where(IdentityProvider.enabled.is_(True))
        return self.session.scalars(stmt).all()

    def add(self, provider: IdentityProvider) -> IdentityProvider:
        """Insert a provider; ``Conflict`` when the id is taken."""
        self.session.add(provider)
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict(f"A provider with the id {provider.id!r} already exists.") from None
        return provider

    def delete(self, provider_id: str) -> bool:
        """Delete a provider; the database cascades to its identities and flows."""
        result = self.session.execute(
            delete(IdentityProvider).where(IdentityProvider.id == provider_id)
        )
        return bool(getattr(result, "rowcount", 0))


class IdentityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, identity_id: str) -> ExternalIdentity | None:
        return self.session.get(ExternalIdentity, identity_id)

    def find(self, provider_id: str, subject: str) -> ExternalIdentity | None:
        stmt = select(ExternalIdentity).where(
            ExternalIdentity.provider_id == provider_id, ExternalIdentity.subject == subject
        )
        return self.session.scalars(stmt).first()

    def latest_of_provider(self, provider_id: str) -> ExternalIdentity | None:
        """The identity of a provider that signed in last."""
        stmt = (
            select(ExternalIdentity)
            .where(ExternalIdentity.provider_id == provider_id)
            .order_by(ExternalIdentity.last_login_at.desc(), ExternalIdentity.id)
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def of_user(self, user_id: str) -> Sequence[ExternalIdentity]:
        stmt = (
            select(ExternalIdentity)
            .where(ExternalIdentity.user_id == user_id)
            .order_by(ExternalIdentity.created_at, ExternalIdentity.id)
        )
        return self.session.scalars(stmt).all()

    def count_of_provider(self, provider_id: str) -> int:
        stmt = select(func.count()).where(ExternalIdentity.provider_id == provider_id)
        return self.session.scalar(stmt) or 0

    def add(self, identity: ExternalIdentity) -> ExternalIdentity:
        """Insert an identity; ``Conflict`` when (provider, subject) is already linked
        (also when a concurrent login linked it first: the unique constraint)."""
        self.session.add(identity)
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError:
            raise Conflict("This upstream identity is already linked.") from None
        return identity

    def delete(self, identity_id: str) -> bool:
        result = self.session.execute(
            delete(ExternalIdentity).where(ExternalIdentity.id == identity_id)
        )
        return bool(getattr(result, "rowcount", 0))

    def delete_of_provider(self, provider_id: str) -> list[ExternalIdentity]:
        """Remove every identity linked through a provider; returns them."""
        stmt = select(ExternalIdentity).where(ExternalIdentity.provider_id == provider_id)
        gone = list(self.session.scalars(stmt))
        self.session.execute(
            delete(ExternalIdentity).where(ExternalIdentity.provider_id == provider_id)
        )
        return gone

    def sessions_of_identity(self, identity_id: str) -> Select[tuple[str]]:
        """The ids of the live login sessions that came through an identity (a subquery)."""
        return select(LoginSession.id).where(
            LoginSession.identity_id == identity_id, LoginSession.ended_at.is_(None)
        )

    def sessions_of_provider(self, provider_id: str) -> Select[tuple[str]]:
        """The ids of the live login sessions that came through a provider (a subquery)."""
        identities = select(ExternalIdentity.id).where(ExternalIdentity.provider_id == provider_id)
        return select(LoginSession.id).where(
            LoginSession.identity_id.in_(identities), LoginSession.ended_at.is_(None)
        )


class FederationFlowRepository:
    """Round trips to an upstream (consumed once) and pending links (consumed once)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_login(self, login: FederationLogin) -> None:
        self.session.add(login)

    def consume_login(self, state_hash: str, now: datetime) -> FederationLogin | None:
        """The unexpired, unused round trip with this state, marked used in the same
        atomic statement that checks it is unused: a replayed callback finds nothing."""
        result = self.session.execute(
            update(FederationLogin)
            .where(
                FederationLogin.state_hash == state_hash,
                FederationLogin.used_at.is_(None),
                FederationLogin.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return self.session.get(FederationLogin, state_hash, populate_existing=True)

    def latest_test(
        self, provider_id: str, session_hash: str, now: datetime
    ) -> FederationLogin | None:
        """The newest finished test login of ``provider_id`` that the login session with
        ``session_hash`` started and whose result is still kept; never a real login."""
        return self.session.scalars(
            select(FederationLogin)
            .where(
                FederationLogin.provider_id == provider_id,
                FederationLogin.test_session_hash == session_hash,
                FederationLogin.test_result.is_not(None),
                FederationLogin.expires_at > now,
            )
            .order_by(FederationLogin.used_at.desc())
            .limit(1)
        ).first()

    def add_pending_link(self, link: FederationPendingLink) -> None:
        self.session.add(link)

    def get_pending_link(self, token_hash: str, now: datetime) -> FederationPendingLink | None:
        link = self.session.get(FederationPendingLink, token_hash)
        if link is None or link.used_at is not None or link.expires_at <= now:
            return None
        return link

    def consume_pending_link(self, token_hash: str, now: datetime) -> bool:
        result = self.session.execute(
            update(FederationPendingLink)
            .where(
                FederationPendingLink.token_hash == token_hash,
                FederationPendingLink.used_at.is_(None),
                FederationPendingLink.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def purge(self, before: datetime) -> int:
        """Delete round trips and pending links that expired before ``before``."""
        n = 0
        for model in (FederationLogin, FederationPendingLink):
            spent = model.used_at < before
            if model is FederationLogin:
                # A test login's result is kept until it expires (``federation.dry_run``).
                spent = and_(spent, FederationLogin.test_result.is_(None))
            result = self.session.execute(
                delete(model).where(or_(model.expires_at < before, spent))
            )
            n += int(getattr(result, "rowcount", 0))
        return n
