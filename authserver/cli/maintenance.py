"""``authserver migrate`` and ``authserver cleanup``."""

from __future__ import annotations

import argparse

from authserver import housekeeping, preflight
from authserver.cli.common import SubParsers, action, emit, services, settings
from authserver.storage import migrate


def register(sub: SubParsers) -> None:
    action(sub, "migrate", "apply database migrations", run_migrate)
    action(
        sub,
        "cleanup",
        "delete expired tokens, and codes, reset tokens, sessions and audit events past "
        "their retention",
        run_cleanup,
    )


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
        deleted = housekeeping.purge(uow, svc.clock, svc.settings)
    text = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in deleted.items())
    return emit(args, {"deleted": sum(deleted.values()), "rows": deleted}, f"deleted {text}")
