"""``authserver audit tail``: the most recent security events, oldest first."""

from __future__ import annotations

import argparse
import json
from typing import Any

from authserver.audit import AuditEvent
from authserver.cli.common import services
from authserver.clock import to_timestamp
from authserver.storage.models import AuditEvent as AuditRow


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="read the audit log")
    acts = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    t = acts.add_parser("tail", help="show the most recent events (oldest first)")
    t.add_argument("-n", "--lines", type=int, default=20, help="how many events (default 20)")
    t.add_argument("--user", help="only this user (id or e-mail)")
    t.add_argument("--client", help="only this client id")
    t.add_argument(
        "--event", choices=[str(e) for e in AuditEvent], metavar="EVENT", help="only this event"
    )
    t.add_argument("--json", action="store_true", help="one JSON object per line")
    t.set_defaults(handler=run_tail)


def describe(row: AuditRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ts": to_timestamp(row.at),
        "event": row.event,
        "user_id": row.user_id,
        "client_id": row.client_id,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "details": row.details,
    }


def run_tail(args: argparse.Namespace) -> int:
    limit = max(1, min(args.lines, 10_000))
    with services() as svc, svc.db.unit_of_work() as uow:
        user_id = args.user
        if user_id and "@" in user_id:
            user = uow.users.find_by_email(user_id)
            user_id = user.id if user else "-"
        rows = uow.audit.query(
            user_id=user_id, client_id=args.client, event=args.event, limit=limit
        )
        events = [describe(r) for r in reversed(rows)]
    if args.json:
        for event in events:
            print(json.dumps(event, sort_keys=True, default=str))
        return 0
    if not events:
        print("no events")
        return 0
    for e in events:
        details = json.dumps(e["details"], sort_keys=True, separators=(",", ":"))
        print(
            f"{e['at']}  {e['event']:<30} user={e['user_id'] or '-'} "
            f"client={e['client_id'] or '-'} ip={e['ip'] or '-'} {details}"
        )
    return 0
