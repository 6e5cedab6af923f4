"""``authserver users create|list|show|set-roles|disable|enable|delete|reset-password|
end-sessions``.
A user is named by id or by e-mail address."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from authserver.accounts import login_sessions, management, reset
from authserver.accounts.users import create_user
from authserver.admin.users import out as user_out
from authserver.audit import AuditEvent, record
from authserver.cli.common import SubParsers, action, emit, find_user, group, services
from authserver.clock import Clock, to_datetime
from authserver.errors import InvalidInput
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User


def register(sub: SubParsers) -> None:
    us = group(sub, "users", "manage users")
    c = action(us, "create", "create a user (e-mail counts as verified)", run_create)
    c.add_argument("--email", required=True)
    c.add_argument(
        "--role",
        action="append",
        default=[],
        help="a defined role (repeat for several; `user` is always held)",
    )
    c.add_argument("--name")
    _password_options(c)
    action(us, "list", "list users", run_list)
    action(us, "show", "show one user", run_show).add_argument("user", help="id or e-mail")
    sr = action(
        us,
        "set-roles",
        "give a user exactly these roles (ends their sessions and tokens if it changes)",
        run_set_roles,
    )
    sr.add_argument("user", help="id or e-mail")
    sr.add_argument("roles", nargs="*", metavar="ROLE")
    for name, help_text in (
        ("disable", "disable a user: every session and token ends, login is refused"),
        ("enable", "enable a disabled user again"),
        ("delete", "delete a user with their sessions, tokens and consents"),
        ("end-sessions", "log a user out everywhere (sessions, refresh tokens)"),
    ):
        action(us, name, help_text, HANDLERS[name]).add_argument("user", help="id or e-mail")
    v = action(
        us,
        "verify-email",
        "mark the user's e-mail address verified (you vouch for it); --unverify: the user "
        "must follow a new link",
        run_verify_email,
    )
    v.add_argument("user", help="id or e-mail")
    v.add_argument("--unverify", action="store_true", help="withdraw the verification")
    r = action(
        us,
        "reset-password",
        "e-mail the user a password-reset link, or set a password with "
        "--password-stdin; either signs the user out everywhere once the password changes",
        run_reset_password,
    )
    r.add_argument("user", help="id or e-mail")
    _password_options(r, required=False)


def _password_options(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    p.add_argument("--password", help="the password (prefer --password-stdin: ps shows this)")
    if required:
        p.set_defaults(password_required=True)


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password is not None:
        return str(args.password)
    if not getattr(args, "password_required", False):
        return None
    if not sys.stdin.isatty():
        raise InvalidInput("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise InvalidInput("the passwords differ")
    return first


def describe(u: User) -> dict[str, Any]:
    return user_out(u).model_dump(mode="json")


def _line(u: dict[str, Any]) -> str:
    roles = " ".join(u["roles"])
    return f"{u['id']}  {u['email']:<40} {roles}{'  (disabled)' if u['disabled'] else ''}"


def run_create(args: argparse.Namespace) -> int:
    password = _read_password(args)
    assert password is not None
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
        out = describe(user)
    return emit(args, out, f"user {out['id']} <{out['email']}> ({' '.join(out['roles'])}) created")


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = [describe(u) for u in uow.users.list(limit=10_000)]
    return emit(args, rows, lambda: "\n".join(map(_line, rows)) or "no users")


def run_show(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        out = describe(find_user(uow, args.user))
        now = to_datetime(svc.clock.now())
        out["sessions"] = len(uow.login_sessions.list_active(out["id"], now))
    return emit(args, out, lambda: "\n".join(f"{k:<15} {v}" for k, v in out.items()))


def run_set_roles(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        found = find_user(uow, args.user)
        before = list(found.roles)
        user = management.set_roles(uow, svc.clock, found.id, args.roles)
        if list(user.roles) != before:
            _audit_change(uow, svc.clock, user.id, {"roles": list(user.roles)})
        out = describe(user)
    return emit(args, out, f"user {out['id']} <{out['email']}> now holds: {' '.join(out['roles'])}")


def _change(
    args: argparse.Namespace,
    field: str,
    value: bool,
    apply: Callable[[UnitOfWork, Clock, str, bool], User],
) -> dict[str, Any]:
    """Set one flag of the user ``args.user`` with ``apply(uow, clock, user_id, value)``
    (``accounts.management``), audited as ``user.changed``; the user as shown."""
    with services() as svc, svc.db.unit_of_work() as uow:
        user = apply(uow, svc.clock, find_user(uow, args.user).id, value)
        _audit_change(uow, svc.clock, user.id, {field: value})
        return describe(user)


def _audit_change(uow: UnitOfWork, clock: Clock, user_id: str, changes: dict[str, Any]) -> None:
    record(uow, clock, AuditEvent.USER_CHANGED, user_id=user_id, via="cli", changes=changes)


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    out = _change(args, "disabled", disabled, management.set_disabled)
    return emit(args, out, f"user {out['email']} {'disabled' if disabled else 'enabled'}")


def run_verify_email(args: argparse.Namespace) -> int:
    verified = not args.unverify
    out = _change(args, "email_verified", verified, management.set_email_verified)
    state = "verified" if verified else "not verified"
    return emit(args, out, f"e-mail address {out['email']} of user {out['id']} is {state}")


def run_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def run_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def run_delete(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        user = find_user(uow, args.user)
        management.delete_user(uow, user.id)
        record(uow, svc.clock, AuditEvent.USER_DELETED, user_id=user.id, via="cli")
        out = {"id": user.id, "email": user.email, "deleted": True}
    return emit(args, out, f"user {out['email']} ({out['id']}) deleted")


def run_end_sessions(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        user = find_user(uow, args.user)
        ended = login_sessions.end_all(uow, svc.clock, user.id, reason="admin")
        record(
            uow,
            svc.clock,
            AuditEvent.SESSIONS_ENDED,
            user_id=user.id,
            via="cli",
            count=ended,
            scope="all",
        )
    return emit(
        args,
        {"id": user.id, "ended_sessions": ended},
        f"{ended} sessions of {user.email} ended; their tokens no longer work",
    )


def run_reset_password(args: argparse.Namespace) -> int:
    password = _read_password(args)
    with services() as svc:
        with svc.db.unit_of_work() as uow:
            user = find_user(uow, args.user)
            if password is None:
                message = reset.send_link(uow, svc, user, actor="cli")
            else:
                message = management.set_password(uow, svc, user.id, password, actor="cli")
        svc.mailer.send(message)
    out = {"id": user.id, "email": user.email, "link_sent": password is None}
    text = (
        f"a reset link was sent to {user.email} (valid 60 minutes)"
        if password is None
        else f"password of {user.email} set; they were signed out everywhere"
    )
    return emit(args, out, text)


HANDLERS = {
    "disable": run_disable,
    "enable": run_enable,
    "delete": run_delete,
    "end-sessions": run_end_sessions,
}
