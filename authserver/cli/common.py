"""Helpers shared by the command modules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from authserver.clock import SystemClock
from authserver.services import Services, build_services, close_services
from authserver.settings import Settings, load_settings
from authserver.storage import migrate


def settings() -> Settings:
    return load_settings()


@contextmanager
def services(ensure_schema: bool = True) -> Iterator[Services]:
    """Services for a one-off command; applies migrations first where the server would."""
    s = settings()
    if ensure_schema and s.should_auto_migrate:
        migrate.upgrade(s.database_url)
    built = build_services(s, SystemClock())
    try:
        yield built
    finally:
        close_services(built)


def iso(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))
