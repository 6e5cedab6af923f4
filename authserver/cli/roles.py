"""``authserver roles list|create|delete``: the role names users can hold."""

from __future__ import annotations

import argparse

from authserver.accounts import roles
from authserver.audit import AuditEvent, record
from authserver.cli.common import SubParsers, action, group, print_json, services
from authserver.storage.models import Role


def register(sub: SubParsers) -> None:
    rs = group(sub, "roles", "manage the role names users can hold")
    action(rs, "list", "list the defined roles", run_list)
    c = action(rs, "create", "define a role", run_create)
    c.add_argument("name")
    c.add_argument("--description", default="")
    action(rs, "delete", "delete a role nobody holds", run_delete).add_argument("name")


def _row(role: Role | roles.RoleInfo) -> dict[str, object]:
    return {
        "name": role.name,
        "description": role.description,
        "built_in": role.name in roles.BUILT_IN,
    }


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = [_row(r) for r in roles.list_roles(uow)]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']:<24} {r['description']}{'  (built in)' if r['built_in'] else ''}")
    return 0


def run_create(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        role = roles.define(uow, svc.clock, args.name, args.description)
        record(uow, svc.clock, AuditEvent.ROLE_CREATED, via="cli", role=role.name)
        out = _row(role)
    if args.json:
        print_json(out)
    else:
        print(f"role {out['name']} created")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        roles.remove(uow, args.name)
        record(uow, svc.clock, AuditEvent.ROLE_DELETED, via="cli", role=args.name)
    if args.json:
        print_json({"deleted": args.name})
    else:
        print(f"role {args.name} deleted")
    return 0
