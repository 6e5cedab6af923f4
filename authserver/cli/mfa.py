"""``authserver mfa show|reset``: a user's second factors, and the administrator's reset
for a lost phone (every factor and recovery code removed, sessions and tokens ended,
audited). A user is named by id or by e-mail address."""

from __future__ import annotations

import argparse

from authserver.cli.common import SubParsers, action, emit, find_user, group, services
from authserver.mfa import factors


def register(sub: SubParsers) -> None:
    mg = group(sub, "mfa", "see and reset users' second factors")
    action(mg, "show", "a user's second factors and unused recovery codes", run_show).add_argument(
        "user", help="id or e-mail"
    )
    action(
        mg,
        "reset",
        "remove every second factor and recovery code of a user (a lost phone); ends their "
        "sessions and tokens",
        run_reset,
    ).add_argument("user", help="id or e-mail")


def run_show(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        user = find_user(uow, args.user)
        view = factors.overview(uow, user.id)
    data = {"id": user.id, "email": user.email, **view.to_json()}
    lines = [f"{f.kind:<6} added {f.created_at:%Y-%m-%d %H:%M}" for f in view.factors]
    lines.append(f"recovery codes left: {view.recovery_codes_left}")
    text = "\n".join(lines) if view.factors else f"{user.email}: no second factor"
    return emit(args, data, lambda: text)


def run_reset(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        user = find_user(uow, args.user)
        done = factors.reset(uow, svc, user.id, actor="cli", via="cli")
    data = {
        "id": user.id,
        "factors_removed": done.factors_removed,
        "ended_sessions": done.sessions_ended,
    }
    text = (
        f"{user.email}: {done.factors_removed} second factor(s) removed, "
        f"{done.sessions_ended} session(s) ended"
    )
    return emit(args, data, lambda: text)
