"""``authserver migrate`` and ``authserver cleanup``."""

from __future__ import annotations

import argparse

from authserver.cli.common import services, settings
from authserver.clock import to_datetime
from authserver.storage import migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(handler=run_migrate)
    p = sub.add_parser("cleanup", help="delete expired tokens, families and deny-list rows")
    p.set_defaults(handler=run_cleanup)


def run_migrate(args: argparse.Namespace) -> int:
    s = settings()
    migrate.upgrade(s.database_url)
    print("database is at the newest revision")
    return 0


def run_cleanup(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        n = uow.tokens.purge_expired(to_datetime(svc.clock.now()))
    print(f"deleted {n} expired rows")
    return 0
