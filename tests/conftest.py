"""Shared fixtures: settings and apps on SQLite and on the machine's PostgreSQL + Redis.

Under CI (``CI=true``) PostgreSQL and Redis must be reachable: the production-mode tests
fail rather than skip without them. Locally they are skipped with a reason.

Each test session gets its own PostgreSQL database and Redis key prefix, so several test
runs on one machine do not see each other's data.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.clock import SystemClock
from authserver.keys import admin as key_admin
from authserver.services import Services, build_services, close_services, folder_key_store
from authserver.settings import Settings, build_settings
from authserver.storage import migrate
from authserver.storage.models import Base
from tests.factories import Factory

PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Cheap argon2 parameters: tests hash many passwords (production defaults are validated
# separately in the settings tests).
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1}


@pytest.fixture(scope="session", autouse=True)
def _private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The default AUTHSERVER_DATA_DIR is under XDG_DATA_HOME: point it at a temporary
    folder, so no test (nor a server process it starts) touches the real one."""
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data-home"))
    yield
    if saved is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = saved


def _service_missing(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({exc})"
    if IN_CI:
        pytest.fail(f"{message}: CI must run the production-mode tests", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session; its URL."""
    name = f"authserver_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _service_missing("PostgreSQL", exc)
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _service_missing("Redis", exc)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def key_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key folder with one signing key, copied for each test (RSA keygen is slow)."""
    directory = tmp_path_factory.mktemp("keys-template")
    store = folder_key_store(build_settings(keys_dir=directory, **FAST_HASHING))
    key_admin.ensure_signing_key(store, SystemClock().now(), 3660, 2048)
    return directory


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@dataclass
class Backend:
    """One way to run the server: the embedded default or production (PG + Redis)."""

    name: str
    database_url: str
    redis_url: str | None
    redis_prefix: str


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Backend:
    if request.param == "sqlite":
        db = tmp_path / "authserver.db"
        shutil.copy(sqlite_template, db)
        return Backend("sqlite", f"sqlite:///{db}", None, "")
    url = request.getfixturevalue("pg_database")
    rurl = request.getfixturevalue("redis_url")
    _truncate_all(url)
    return Backend("postgres", url, rurl, f"authserver-test:{uuid.uuid4().hex[:12]}:")


@pytest.fixture
def production_backend(pg_database: str, redis_url: str) -> Backend:
    """For modules about the production setup only (the event loop's PostgreSQL
    statements): override ``backend`` with this one to run on PostgreSQL + Redis only."""
    _truncate_all(pg_database)
    return Backend("postgres", pg_database, redis_url, f"authserver-test:{uuid.uuid4().hex[:12]}:")


@pytest.fixture
def keys_dir(tmp_path: Path, key_template: Path) -> Path:
    directory = tmp_path / "keys"
    shutil.copytree(key_template, directory)
    return directory


@pytest.fixture
def make_settings(backend: Backend, keys_dir: Path, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "issuer": "http://localhost:8000",
            "database_url": backend.database_url,
            "keys_dir": keys_dir,
            # E-mails land here (the outbox mailer), never in the working directory.
            "mail_outbox_dir": tmp_path / "outbox",
            "auto_migrate": False,
            # The factory changes clients through its own services: no stale reads here.
            "client_cache_ttl": 0,
            **FAST_HASHING,
        }
        if backend.redis_url:
            fields["redis_url"] = backend.redis_url
            fields["redis_prefix"] = backend.redis_prefix
        fields.update(overrides)
        return build_settings(**fields)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Services for seeding and inspecting state beside the app under test."""
    built = build_services(settings)
    yield built
    close_services(built)


@pytest.fixture
def factory(services: Services) -> Factory:
    return Factory(services)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{message}: CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app under test, over HTTP (in process), at its issuer URL."""
    with TestClient(create_app(settings), base_url=settings.issuer) as test_client:
        yield test_client


@pytest.fixture
def embedded_backend(tmp_path: Path, sqlite_template: Path) -> Backend:
    """For modules whose behaviour does not depend on the storage (page rendering,
    language choice): override ``backend`` with this one to run on SQLite only."""
    db = tmp_path / "authserver.db"
    shutil.copy(sqlite_template, db)
    return Backend("sqlite", f"sqlite:///{db}", None, "")
