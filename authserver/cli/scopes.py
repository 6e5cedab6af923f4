"""``authserver scopes list|describe|delete``: what the consent page says each scope
lets an app do, per language."""

from __future__ import annotations

import argparse

from authserver.audit import AuditEvent, record
from authserver.cli.common import SubParsers, action, emit, group, services
from authserver.oauth import scope_descriptions


def register(sub: SubParsers) -> None:
    ss = group(sub, "scopes", "describe scopes for the consent page")
    action(ss, "list", "the described scopes and their texts", run_list)
    d = action(
        ss, "describe", "set the title (and description) of a scope in one language", run_describe
    )
    d.add_argument("scope")
    d.add_argument("--locale", default="en", help="language tag, e.g. en, de, pt-BR")
    d.add_argument("--title", required=True, help='what the app may do, e.g. "See your photos"')
    d.add_argument("--description", help="a sentence more (optional)")
    rm = action(ss, "delete", "remove the texts of a scope (all languages)", run_delete)
    rm.add_argument("scope")


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = {row.scope: dict(row.texts) for row in uow.scope_descriptions.list()}

    def text() -> str:
        lines = []
        for scope, texts in rows.items():
            for tag, entry in sorted(texts.items()):
                extra = f" — {entry['description']}" if entry.get("description") else ""
                lines.append(f"{scope:<24} {tag:<6} {entry['title']}{extra}")
        return "\n".join(lines) or "no scope descriptions"

    return emit(args, rows, text)


def run_describe(args: argparse.Namespace) -> int:
    entry = {"title": args.title, "description": args.description}
    with services() as svc, svc.db.unit_of_work() as uow:
        scope_descriptions.describe_scope(
            uow, svc.clock, args.scope, {args.locale: entry}, replace=False
        )
        record(uow, svc.clock, AuditEvent.SCOPE_DESCRIBED, scope=args.scope, via="cli")
    return emit(
        args,
        {"scope": args.scope, "locale": args.locale, **entry},
        f"{args.scope} ({args.locale}): {args.title}",
    )


def run_delete(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        scope_descriptions.remove_scope_description(uow, args.scope)
        record(
            uow, svc.clock, AuditEvent.SCOPE_DESCRIBED, scope=args.scope, via="cli", removed=True
        )
    return emit(args, {"scope": args.scope, "deleted": True}, f"{args.scope}: descriptions removed")
