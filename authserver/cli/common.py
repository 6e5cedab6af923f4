"""Helpers shared by the command modules: settings and services for one command, the
`--json` switch, and finding users by id or e-mail."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from authserver import preflight
from authserver.clock import SystemClock
from authserver.errors import NotFound
from authserver.services import Services, build_services, close_services
from authserver.settings import Settings, load_settings
from authserver.storage import migrate
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User

Handler = Callable[[argparse.Namespace], int]
SubParsers = argparse._SubParsersAction  # type: ignore[type-arg]


def action(
    sub: SubParsers, name: str, help: str, handler: Handler, description: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand, listed in its group's help, taking ``--json``."""
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description or help[:1].upper() + help[1:] + "."
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=handler)
    return p


def group(sub: SubParsers, name: str, help: str) -> SubParsers:
    """A command group; its help lists every action (with ``ACTION`` as the metavar
    argparse would otherwise list only the actions that have a help text)."""
    p = sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".")
    actions: SubParsers = p.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")
    return actions


def settings() -> Settings:
    return load_settings()


@contextmanager
def services(ensure_schema: bool = True) -> Iterator[Services]:
    """Services for a one-off command. Migrations are applied first where the server would
    apply them; otherwise a database at another revision stops the command with a message.
    A database without clients and users is named on stderr: it may not be the one meant."""
    s = settings()
    preflight.require_no_problems(s)
    if ensure_schema:
        if s.should_auto_migrate:
            migrate.upgrade(s.database_url)
        else:
            migrate.require_current(s.database_url)
    built = build_services(s, SystemClock())
    try:
        if ensure_schema:
            _note_if_empty(built)
        yield built
    finally:
        close_services(built)


def _note_if_empty(svc: Services) -> None:
    with svc.db.unit_of_work() as uow:
        empty = uow.users.count() == 0 and uow.clients.count() == 0
    if empty:
        print(
            f"authserver: note: the database {migrate.display_url(svc.settings.database_url)} "
            f"has no clients or users yet (data directory {svc.settings.data_dir})",
            file=sys.stderr,
        )


def find_user(uow: UnitOfWork, ref: str) -> User:
    """A user by id, or by e-mail address when ``ref`` holds an ``@``."""
    user = uow.users.find_by_email(ref) if "@" in ref else uow.users.get(ref)
    if user is None:
        raise NotFound(f"no user {ref}")
    return user


def iso(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def emit(args: argparse.Namespace, data: Any, text: Callable[[], str] | str) -> int:
    """Print ``data`` as JSON with ``--json``, else the text."""
    if args.json:
        print_json(data)
    else:
        print(text() if callable(text) else text)
    return 0
