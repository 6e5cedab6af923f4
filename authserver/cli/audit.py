"""``authserver audit tail|export``: the security events, oldest first."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from typing import Any

from authserver.audit import AuditEvent
from authserver.cli.common import SubParsers, action, group, services
from authserver.clock import to_timestamp
from authserver.errors import InvalidInput
from authserver.storage.db import UnitOfWork
from authserver.storage.models import AuditEvent as AuditRow

FIELDS = ["id", "at", "ts", "event", "user_id", "client_id", "ip", "user_agent", "details"]


def register(sub: SubParsers) -> None:
    acts = group(sub, "audit", "read the audit log")
    t = action(acts, "tail", "show the most recent events (oldest first)", run_tail)
    t.add_argument("-n", "--lines", type=int, default=20, help="how many events (default 20)")
    _filters(t)
    e = action(
        acts,
        "export",
        "write every matching event, oldest first, as JSON lines (or CSV) for an archive or a SIEM",
        run_export,
    )
    _filters(e)
    e.add_argument("--since", type=_time, help="ISO 8601 time with a zone, inclusive")
    e.add_argument("--until", type=_time, help="ISO 8601 time with a zone, exclusive")
    e.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    e.add_argument("-o", "--output", help="file to write (default: standard output)")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help="only this user (id or e-mail)")
    p.add_argument("--client", help="only this client id")
    p.add_argument(
        "--event", choices=[str(e) for e in AuditEvent], metavar="EVENT", help="only this event"
    )


def _time(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {raw!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{raw!r} needs a time zone (e.g. Z)")
    return value


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


def _user_id(uow: UnitOfWork, ref: str | None) -> str | None:
    if ref and "@" in ref:
        user = uow.users.find_by_email(ref)
        return user.id if user else "-"
    return ref


def run_tail(args: argparse.Namespace) -> int:
    limit = max(1, min(args.lines, 10_000))
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = uow.audit.query(
            user_id=_user_id(uow, args.user), client_id=args.client, event=args.event, limit=limit
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


def run_export(args: argparse.Namespace) -> int:
    if args.json and args.format == "csv":
        raise InvalidInput("--json and --format csv contradict each other")
    if args.since and args.until and args.since >= args.until:
        raise InvalidInput("--since must be before --until")
    out = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        writer = csv.DictWriter(out, FIELDS) if args.format == "csv" else None
        if writer:
            writer.writeheader()
        count = 0
        with services() as svc, svc.db.unit_of_work() as uow:
            rows = uow.audit.oldest_first(
                user_id=_user_id(uow, args.user),
                client_id=args.client,
                event=args.event,
                since=args.since,
                until=args.until,
            )
            for row in rows:
                event = describe(row)
                if writer:
                    writer.writerow({**event, "details": json.dumps(event["details"])})
                else:
                    out.write(json.dumps(event, sort_keys=True, default=str) + "\n")
                count += 1
    finally:
        if args.output:
            out.close()
    if args.output:
        print(f"{count} events written to {args.output}", file=sys.stderr)
    return 0
