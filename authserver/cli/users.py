"""``authserver users create|list``."""

from __future__ import annotations

import argparse
import getpass
import sys

from authserver.accounts.users import ROLES, create_user
from authserver.audit import AuditEvent, record
from authserver.cli.common import print_json, services


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("users", help="manage users")
    us = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    c = us.add_parser("create", help="create a user")
    c.add_argument("--email", required=True)
    c.add_argument("--role", choices=ROLES, default="user")
    c.add_argument("--name")
    c.add_argument("--password", help="prefer --password-stdin: arguments show up in ps")
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=run_create)
    ls = us.add_parser("list")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)


def run_create(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif args.password is not None:
        password = args.password
    else:
        password = getpass.getpass("Password: ")
    with services() as svc, svc.db.unit_of_work() as uow:
        user = create_user(
            uow,
            svc.passwords,
            svc.clock,
            email=args.email,
            password=password,
            role=args.role,
            name=args.name,
            email_verified=True,
        )
        record(uow, svc.clock, AuditEvent.USER_CREATED, user_id=user.id, via="cli", role=user.role)
        out = {"id": user.id, "email": user.email, "role": user.role}
    if args.json:
        print_json(out)
    else:
        print(f"user {out['id']} <{out['email']}> ({out['role']}) created")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = [
            {"id": u.id, "email": u.email, "role": u.role, "disabled": u.disabled_at is not None}
            for u in uow.users.list(limit=10_000)
        ]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(
                f"{r['id']}  {r['email']:<40} {r['role']}{'  (disabled)' if r['disabled'] else ''}"
            )
    return 0
