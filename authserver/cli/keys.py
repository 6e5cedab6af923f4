"""``authserver keys list|rotate|retire``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from authserver.audit import AuditEvent, record
from authserver.cli.common import iso, print_json, services
from authserver.cli.common import settings as load
from authserver.clock import SystemClock
from authserver.keys import admin
from authserver.services import key_grace, key_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="manage signing keys")
    ks = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    lp = ks.add_parser("list", help="list keys and their states")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=run_list)
    rp = ks.add_parser(
        "rotate", help="publish a new key; it signs after AUTHSERVER_KEY_PUBLISH_AHEAD"
    )
    rp.add_argument(
        "--now",
        action="store_true",
        help="sign with it at once (a compromised key); verifiers refetch the JWKS",
    )
    rp.set_defaults(handler=run_rotate)
    tp = ks.add_parser("retire", help="stop publishing a key now")
    tp.add_argument("kid")
    tp.add_argument(
        "--force",
        action="store_true",
        help="even if it signs or tokens it signed may still be valid",
    )
    tp.set_defaults(handler=run_retire)


def run_list(args: argparse.Namespace) -> int:
    s = load()
    infos = admin.list_keys(key_store(s), SystemClock().now(), key_grace(s))
    if args.json:
        print_json([asdict(i) for i in infos])
        return 0
    print(f"{'kid':<45} {'state':<9} {'signs from':<21} {'stops signing':<21} unpublished")
    for i in infos:
        print(
            f"{i.kid:<45} {i.state:<9} {iso(i.activates_at):<21} "
            f"{iso(i.deactivates_at):<21} {iso(i.unpublished_at)}"
        )
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    s = load()
    new = admin.rotate(
        key_store(s), SystemClock().now(), s.key_publish_ahead, s.key_size, immediately=args.now
    )
    _audit(AuditEvent.KEY_ROTATED, kid=new.kid, immediately=bool(args.now))
    print(f"new key {new.kid}: published now, signs from {iso(new.activates_at)}")
    return 0


def run_retire(args: argparse.Namespace) -> int:
    s = load()
    admin.retire(key_store(s), args.kid, SystemClock().now(), key_grace(s), force=args.force)
    _audit(AuditEvent.KEY_RETIRED, kid=args.kid, forced=bool(args.force))
    print(f"key {args.kid} retired: no longer published")
    return 0


def _audit(event: AuditEvent, **details: Any) -> None:
    with services() as svc, svc.db.unit_of_work() as uow:
        record(uow, svc.clock, event, via="cli", **details)
