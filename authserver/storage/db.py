"""Engine, sessions and the unit of work. Sync SQLAlchemy: it runs in the thread pool."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from authserver.errors import ServiceUnavailable
from authserver.storage.audit_log import AuditLogRepository
from authserver.storage.clients import ClientRepository
from authserver.storage.codes import AuthorizationCodeRepository
from authserver.storage.consents import ConsentRepository
from authserver.storage.email_tokens import EmailTokenRepository
from authserver.storage.federation import (
    FederationFlowRepository,
    IdentityRepository,
    ProviderRepository,
)
from authserver.storage.login_sessions import LoginSessionRepository
from authserver.storage.mfa import MfaRepository
from authserver.storage.registration import InitialAccessTokenRepository
from authserver.storage.reset_tokens import ResetTokenRepository
from authserver.storage.roles import RoleRepository
from authserver.storage.scope_descriptions import ScopeDescriptionRepository
from authserver.storage.tokens import TokenRepository
from authserver.storage.users import UserRepository


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=10,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5},
    )


class NeedsDatabase(Exception):
    """An offline unit of work was asked for the database (nothing was read or written)."""


def refuse_session() -> Session:
    """The session factory of a unit of work that must not use the database."""
    raise NeedsDatabase()


class Database:
    """One engine and session factory per process (built in the app lifespan)."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """A transaction: committed when the block ends normally, rolled back otherwise.
        Lost connections surface as ``ServiceUnavailable``."""
        uow = UnitOfWork(self._sessions)
        try:
            yield uow
            uow.commit()
        except (OperationalError, DBAPIError) as exc:
            uow.rollback()
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise ServiceUnavailable("database unavailable") from exc
            raise
        except BaseException:
            uow.rollback()
            raise
        finally:
            uow.close()

    def offline_unit_of_work(self) -> UnitOfWork:
        """A unit of work for work run on the event loop, which must not block: its first
        use of the database raises ``NeedsDatabase``, before anything is read or written,
        so the caller can run the work again in a thread."""
        return UnitOfWork(refuse_session)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    """The repositories of one transaction. The session opens on first use."""

    def __init__(self, factory: Callable[[], Session]) -> None:
        self._factory = factory
        self._session: Session | None = None
        self._on_commit: list[Callable[[], object]] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._factory()
        return self._session

    def commit(self) -> None:
        if self._session is not None:
            self._session.commit()
        tasks, self._on_commit = self._on_commit, []
        for task in tasks:
            task()

    def on_commit(self, task: Callable[[], object]) -> None:
        """Run ``task`` once this transaction has committed (never if it rolls back)."""
        self._on_commit.append(task)

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    @cached_property
    def clients(self) -> ClientRepository:
        return ClientRepository(self.session)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.session)

    @cached_property
    def roles(self) -> RoleRepository:
        return RoleRepository(self.session)

    @cached_property
    def tokens(self) -> TokenRepository:
        return TokenRepository(self.session)

    @cached_property
    def codes(self) -> AuthorizationCodeRepository:
        return AuthorizationCodeRepository(self.session)

    @cached_property
    def login_sessions(self) -> LoginSessionRepository:
        return LoginSessionRepository(self.session)

    @cached_property
    def consents(self) -> ConsentRepository:
        return ConsentRepository(self.session)

    @cached_property
    def reset_tokens(self) -> ResetTokenRepository:
        return ResetTokenRepository(self.session)

    @cached_property
    def email_tokens(self) -> EmailTokenRepository:
        return EmailTokenRepository(self.session)

    @cached_property
    def audit(self) -> AuditLogRepository:
        return AuditLogRepository(self.session)

    @cached_property
    def initial_access_tokens(self) -> InitialAccessTokenRepository:
        return InitialAccessTokenRepository(self.session)

    @cached_property
    def scope_descriptions(self) -> ScopeDescriptionRepository:
        return ScopeDescriptionRepository(self.session)

    @cached_property
    def providers(self) -> ProviderRepository:
        return ProviderRepository(self.session)

    @cached_property
    def identities(self) -> IdentityRepository:
        return IdentityRepository(self.session)

    @cached_property
    def federation_flows(self) -> FederationFlowRepository:
        return FederationFlowRepository(self.session)

    @cached_property
    def mfa(self) -> MfaRepository:
        return MfaRepository(self.session)
