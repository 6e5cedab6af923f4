"""``authserver scopes list|describe|delete``: what the consent page says each scope
lets an app do, per language."""

from __future__ import annotations

import argparse

from authserver.audit import AuditEvent, record
from authserver.cli.common import print_json, services
from authserver.oauth import scope_descriptions


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scopes", help="describe scopes for the consent page")
    ss = p.add_subparsers(dest="scopes_command", required=True, metavar="ACTION")
    ls = ss.add_parser("list", help="the described scopes and their texts")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    d = ss.add_parser("describe", help="set the title (and description) of a scope in one language")
    d.add_argument("scope")
    d.add_argument("--locale", default="en", help="language tag, e.g. en, de, pt-BR")
    d.add_argument("--title", required=True, help='what the app may do, e.g. "See your photos"')
    d.add_argument("--description", help="a sentence more (optional)")
    d.set_defaults(handler=run_describe)
    rm = ss.add_parser("delete", help="remove the texts of a scope (all languages)")
    rm.add_argument("scope")
    rm.set_defaults(handler=run_delete)


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = {row.scope: dict(row.texts) for row in uow.scope_descriptions.list()}
    if args.json:
        print_json(rows)
        return 0
    for scope, texts in rows.items():
        for tag, entry in sorted(texts.items()):
            extra = f" — {entry['description']}" if entry.get("description") else ""
            print(f"{scope:<24} {tag:<6} {entry['title']}{extra}")
    return 0


def run_describe(args: argparse.Namespace) -> int:
    entry = {"title": args.title, "description": args.description}
    with services() as svc, svc.db.unit_of_work() as uow:
        scope_descriptions.describe_scope(
            uow, svc.clock, args.scope, {args.locale: entry}, replace=False
        )
        record(uow, svc.clock, AuditEvent.SCOPE_DESCRIBED, scope=args.scope, via="cli")
    print(f"{args.scope} ({args.locale}): {args.title}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        scope_descriptions.remove_scope_description(uow, args.scope)
        record(
            uow, svc.clock, AuditEvent.SCOPE_DESCRIBED, scope=args.scope, via="cli", removed=True
        )
    return 0
