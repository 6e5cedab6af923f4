"""``authserver users create|list|set-roles``."""

from __future__ import annotations

import argparse
import getpass
import sys

from authserver.accounts import management
from authserver.accounts.roles import primary_role
from authserver.accounts.users import create_user
from authserver.audit import AuditEvent, record
from authserver.cli.common import print_json, services
from authserver.errors import NotFound


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("users", help="manage users")
    us = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    c = us.add_parser("create", help="create a user")
    c.add_argument("--email", required=True)
    c.add_argument(
        "--role",
        action="append",
        default=[],
        help="a defined role (repeat for several; `user` is always held)",
    )
    c.add_argument("--name")
    c.add_argument("--password", help="prefer --password-stdin: arguments show up in ps")
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=run_create)
    ls = us.add_parser("list")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    sr = us.add_parser(
        "set-roles",
        help="give a user exactly these roles (ends their sessions and tokens if it changes)",
    )
    sr.add_argument("user", help="user id or e-mail")
    sr.add_argument("roles", nargs="*", metavar="ROLE")
    sr.add_argument("--json", action="store_true")
    sr.set_defaults(handler=run_set_roles)


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
            roles=args.role,
            name=args.name,
            email_verified=True,
        )
        record(
            uow, svc.clock, AuditEvent.USER_CREATED, user_id=user.id, via="cli", roles=user.roles
        )
        out = {"id": user.id, "email": user.email, "roles": list(user.roles)}
    if args.json:
        print_json(out)
    else:
        print(f"user {out['id']} <{out['email']}> ({' '.join(out['roles'])}) created")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = [
            {
                "id": u.id,
                "email": u.email,
                "role": primary_role(u.roles),
                "roles": list(u.roles),
                "disabled": u.disabled_at is not None,
            }
            for u in uow.users.list(limit=10_000)
        ]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(
                f"{r['id']}  {r['email']:<40} {' '.join(r['roles'])}"
                f"{'  (disabled)' if r['disabled'] else ''}"
            )
    return 0


def run_set_roles(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        found = uow.users.get(args.user) or uow.users.find_by_email(args.user)
        if found is None:
            raise NotFound(f"no user {args.user}")
        before = list(found.roles)
        user = management.set_roles(uow, svc.clock, found.id, args.roles)
        if list(user.roles) != before:
            record(
                uow,
                svc.clock,
                AuditEvent.USER_CHANGED,
                user_id=user.id,
                via="cli",
                changes={"roles": list(user.roles)},
            )
        out = {"id": user.id, "email": user.email, "roles": list(user.roles)}
    if args.json:
        print_json(out)
    else:
        print(f"user {out['id']} <{out['email']}> now holds: {' '.join(out['roles'])}")
    return 0
