"""``authserver config show|check|reference``."""

from __future__ import annotations

import argparse
from typing import Any

from authserver import preflight, settings_doc
from authserver.cli.common import SubParsers, action, emit, group
from authserver.errors import AuthServerError, ServiceUnavailable, UnsafeSettings
from authserver.settings import Settings, load_settings_with_sources
from authserver.storage import migrate

EXIT_PROBLEMS = 2
EXIT_UNREACHABLE = 1


def register(sub: SubParsers) -> None:
    cs = group(sub, "config", "inspect the settings")
    action(
        cs,
        "show",
        "print the effective settings, where each value came from, secrets masked",
        run_show,
    )
    c = action(
        cs,
        "check",
        "validate the settings as the server does when it starts, then reach the database; "
        "exit 2 on a problem (each named), 1 if the database cannot be reached",
        run_check,
    )
    c.add_argument("--offline", action="store_true", help="do not connect to the database")
    action(
        cs, "reference", "print the configuration reference (docs/configuration.md)", run_reference
    )


def run_show(args: argparse.Namespace) -> int:
    settings, sources = load_settings_with_sources()
    rows = settings_doc.effective(settings, sources)

    def text() -> str:
        width = max(len(r["name"]) for r in rows)
        return "\n".join(
            f"{r['name']:<{width}}  {_text(r['value'])}  ({r['source']})" for r in rows
        )

    return emit(args, rows, text)


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def run_check(args: argparse.Namespace) -> int:
    problems: list[str] = []
    checks: list[str] = []
    code = 0
    settings: Settings | None = None
    try:
        settings = load_settings_with_sources()[0]
        checks.append("settings are valid")
    except UnsafeSettings as exc:
        problems += exc.problems
    if settings is not None:
        found = preflight.problems(settings)
        problems += found
        if not found:
            checks.append(f"data directory {settings.data_dir}")
        if not found and not args.offline:
            try:
                checks.append(_database(settings))
                problems += preflight.signing_key_problems(settings)
            except ServiceUnavailable as exc:
                problems.append(str(exc))
                code = EXIT_UNREACHABLE
            except AuthServerError as exc:
                problems.append(str(exc))
    if problems and code == 0:
        code = EXIT_PROBLEMS
    out = {"ok": not problems, "problems": problems, "checks": checks}
    lines = [f"ok: {c}" for c in checks] + [f"problem: {p}" for p in problems]
    emit(args, out, "\n".join(lines))
    return code


def _database(settings: Settings) -> str:
    url = migrate.display_url(settings.database_url)
    file = preflight.sqlite_file(settings)
    if file is not None and not file.exists():
        return f"database {url} will be created on first start"
    current = migrate.current_revision(settings.database_url)
    if settings.should_auto_migrate and current != migrate.head_revision():
        return f"database {url} reachable; migrations are applied on start"
    migrate.require_current(settings.database_url)
    return f"database {url} reachable, at revision {current}"


def run_reference(args: argparse.Namespace) -> int:
    text = settings_doc.reference()
    return emit(args, {"markdown": text}, text.rstrip("\n"))
