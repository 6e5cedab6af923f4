"""``authserver keys list|rotate|retire``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from authserver.audit import AuditEvent, record
from authserver.cli.common import SubParsers, action, emit, group, iso, services
from authserver.cli.common import settings as load
from authserver.clock import SystemClock
from authserver.keys import admin
from authserver.services import key_grace, key_store


def register(sub: SubParsers) -> None:
    ks = group(sub, "keys", "manage signing keys")
    action(ks, "list", "list keys with their states and dates", run_list)
    rp = action(
        ks, "rotate", "publish a new key; it signs after AUTHSERVER_KEY_PUBLISH_AHEAD", run_rotate
    )
    rp.add_argument(
        "--now",
        action="store_true",
        help="sign with it at once (a compromised key); verifiers refetch the JWKS",
    )
    tp = action(ks, "retire", "stop publishing a key now", run_retire)
    tp.add_argument("kid")
    tp.add_argument(
        "--force",
        action="store_true",
        help="even if it signs or tokens it signed may still be valid",
    )


def run_list(args: argparse.Namespace) -> int:
    s = load()
    infos = admin.list_keys(key_store(s), SystemClock().now(), key_grace(s))

    def text() -> str:
        lines = [f"{'kid':<45} {'state':<9} {'signs from':<21} {'stops signing':<21} unpublished"]
        lines += [
            f"{i.kid:<45} {i.state:<9} {iso(i.activates_at):<21} "
            f"{iso(i.deactivates_at):<21} {iso(i.unpublished_at)}"
            for i in infos
        ]
        return "\n".join(lines)

    return emit(args, [asdict(i) for i in infos], text)


def run_rotate(args: argparse.Namespace) -> int:
    s = load()
    new = admin.rotate(
        key_store(s), SystemClock().now(), s.key_publish_ahead, s.key_size, immediately=args.now
    )
    _audit(AuditEvent.KEY_ROTATED, kid=new.kid, immediately=bool(args.now))
    return emit(
        args,
        {"kid": new.kid, "activates_at": new.activates_at},
        f"new key {new.kid}: published now, signs from {iso(new.activates_at)}",
    )


def run_retire(args: argparse.Namespace) -> int:
    s = load()
    admin.retire(key_store(s), args.kid, SystemClock().now(), key_grace(s), force=args.force)
    _audit(AuditEvent.KEY_RETIRED, kid=args.kid, forced=bool(args.force))
    return emit(
        args, {"kid": args.kid, "retired": True}, f"key {args.kid} retired: no longer published"
    )


def _audit(event: AuditEvent, **details: Any) -> None:
    with services() as svc, svc.db.unit_of_work() as uow:
        record(uow, svc.clock, event, via="cli", **details)
