"""``authserver migrate`` and ``authserver cleanup``."""

from __future__ import annotations

import argparse

from authserver import preflight
from authserver.cli.common import SubParsers, action, emit, services, settings
from authserver.clock import to_datetime
from authserver.storage import migrate


def register(sub: SubParsers) -> None:
    action(sub, "migrate", "apply database migrations", run_migrate)
    action(sub, "cleanup", "delete expired tokens, families and deny-list rows", run_cleanup)


def run_migrate(args: argparse.Namespace) -> int:
    s = settings()
    preflight.require_no_problems(s)
    before = migrate.current_revision(s.database_url)
    migrate.upgrade(s.database_url)
    head = migrate.head_revision()
    return emit(
        args,
        {"database": migrate.display_url(s.database_url), "from": before, "revision": head},
        f"database {migrate.display_url(s.database_url)} is at the newest revision ({head})",
    )


def run_cleanup(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        n = uow.tokens.purge_expired(to_datetime(svc.clock.now()))
    return emit(args, {"deleted": n}, f"deleted {n} expired rows")
