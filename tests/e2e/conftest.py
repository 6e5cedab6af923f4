"""Production-mode environment for the real-process tests: PostgreSQL + Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.conftest import FAST_HASHING, _truncate_all
from tests.factories import Factory


@pytest.fixture
def prod_env(pg_database: str, redis_url: str, keys_dir: Path, tmp_path: Path) -> dict[str, str]:
    import uuid

    _truncate_all(pg_database)
    return {
        "AUTHSERVER_DATABASE_URL": pg_database,
        "AUTHSERVER_REDIS_URL": redis_url,
        "AUTHSERVER_REDIS_PREFIX": f"authserver-e2e:{uuid.uuid4().hex[:10]}:",
        "AUTHSERVER_KEYS_DIR": str(keys_dir),
        "AUTHSERVER_CLIENT_CACHE_TTL": "0",
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }


@pytest.fixture
def prod_factory(prod_env: dict[str, str]):
    settings = build_settings(
        **{k.removeprefix("AUTHSERVER_").lower(): v for k, v in prod_env.items()}
    )
    services = build_services(settings)
    yield Factory(services)
    close_services(services)
