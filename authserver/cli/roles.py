"""``authserver roles list|create|delete``: the role names users can hold."""

from __future__ import annotations

import argparse

from authserver.accounts import roles
from authserver.audit import AuditEvent, record
from authserver.cli.common import print_json, services
from authserver.storage.models import Role


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("roles", help="manage the role names users can hold")
    rs = p.add_subparsers(dest="roles_command", required=True, metavar="ACTION")
    ls = rs.add_parser("list", help="list the defined roles")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    c = rs.add_parser("create", help="define a role")
    c.add_argument("name")
    c.add_argument("--description", default="")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=run_create)
    d = rs.add_parser("delete", help="delete a role nobody holds")
    d.add_argument("name")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=run_delete)


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
