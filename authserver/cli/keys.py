"""``authserver keys list|rotate|retire|import-folder|rewrap``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from authserver.audit import AuditEvent, record
from authserver.cli.common import SubParsers, action, emit, group, iso, services
from authserver.errors import UnsafeSettings
from authserver.keys import admin, lifecycle, sealed_values
from authserver.keys.keystore import KeyStore
from authserver.services import Services, key_grace
from authserver.settings import PREFIX


def register(sub: SubParsers) -> None:
    ks = group(sub, "keys", "manage signing keys")
    action(ks, "list", "list keys with their states and dates, and the next rotation", run_list)
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
    ip = action(
        ks,
        "import-folder",
        "copy the keys of a key folder into the database key store",
        run_import,
        description="Copy every key of a key folder (private key and schedule) into the "
        "database key store (AUTHSERVER_KEY_STORE=database); keys already there are left "
        "alone, so it can be run again.",
    )
    ip.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="the folder (default: AUTHSERVER_KEYS_DIR; AUTHSERVER_KEYS_PASSPHRASE opens it)",
    )
    action(
        ks,
        "rewrap",
        "re-encrypt every sealed secret (database private keys, upstream client secrets, "
        "authenticator app keys) under the first AUTHSERVER_ENCRYPTION_KEYS key",
        run_rewrap,
    )


def rotation_of(svc: Services) -> dict[str, Any]:
    interval = svc.settings.rotation_interval
    due = lifecycle.next_rotation(svc.key_store.schedules(), interval)
    return {"interval": interval, "next_at": due}


def run_list(args: argparse.Namespace) -> int:
    with services() as svc:
        s = svc.settings
        infos = admin.list_keys(svc.key_store, svc.clock.now(), key_grace(s))
        rotation = rotation_of(svc)

    def text() -> str:
        lines = [f"{'kid':<45} {'state':<9} {'signs from':<21} {'stops signing':<21} unpublished"]
        lines += [
            f"{i.kid:<45} {i.state:<9} {iso(i.activates_at):<21} "
            f"{iso(i.deactivates_at):<21} {iso(i.unpublished_at)}"
            for i in infos
        ]
        if rotation["interval"] is None:
            lines.append(f"scheduled rotation: off ({PREFIX}KEY_ROTATION_INTERVAL)")
        else:
            lines.append(
                f"next scheduled rotation: {iso(rotation['next_at'])} "
                f"(every {rotation['interval']} s)"
            )
        return "\n".join(lines)

    data = {"keys": [asdict(i) for i in infos], "rotation": rotation}
    return emit(args, data, text)


def run_rotate(args: argparse.Namespace) -> int:
    with services() as svc:
        s = svc.settings
        new = admin.rotate(
            svc.key_store, svc.clock.now(), s.key_publish_ahead, s.key_size, immediately=args.now
        )
        _audit(svc, AuditEvent.KEY_ROTATED, kid=new.kid, immediately=bool(args.now))
    return emit(
        args,
        {"kid": new.kid, "activates_at": new.activates_at},
        f"new key {new.kid}: published now, signs from {iso(new.activates_at)}",
    )


def run_retire(args: argparse.Namespace) -> int:
    with services() as svc:
        admin.retire(
            svc.key_store, args.kid, svc.clock.now(), key_grace(svc.settings), force=args.force
        )
        _audit(svc, AuditEvent.KEY_RETIRED, kid=args.kid, forced=bool(args.force))
    return emit(
        args, {"kid": args.kid, "retired": True}, f"key {args.kid} retired: no longer published"
    )


def _require_database_store(svc: Services) -> None:
    if svc.settings.key_store != "database":
        raise UnsafeSettings(
            [f"{PREFIX}KEY_STORE: set it to database (with {PREFIX}ENCRYPTION_KEYS) first"]
        )


def run_import(args: argparse.Namespace) -> int:
    with services() as svc:
        _require_database_store(svc)
        s = svc.settings
        folder = (args.source or s.keys_dir).expanduser().resolve()
        if not folder.is_dir():
            raise UnsafeSettings([f"--from: {folder} is not a folder"])
        source = KeyStore(folder, s.keys_passphrase)
        imported = admin.import_folder(source, svc.key_store)
        total = len(source.schedules())
        _audit(svc, AuditEvent.KEY_IMPORTED, kids=imported, source=str(folder))
    return emit(
        args,
        {"imported": imported, "already_there": total - len(imported), "source": str(folder)},
        f"{len(imported)} key(s) imported from {folder}"
        + (f", {total - len(imported)} already there" if total > len(imported) else ""),
    )


def run_rewrap(args: argparse.Namespace) -> int:
    with services() as svc:
        # Signing keys are sealed only in the database store; the other secrets always.
        count = admin.rewrap(svc.key_store) if svc.settings.key_store == "database" else 0
        with svc.db.engine.begin() as conn:
            others = sealed_values.rewrap(conn, svc.envelope)
    return emit(
        args,
        {"rewrapped": count, "secrets": others},
        f"{count} private key(s) and {sum(others.values())} other secret(s) re-encrypted "
        f"under the first {PREFIX}ENCRYPTION_KEYS key",
    )


def _audit(svc: Services, event: AuditEvent, **details: Any) -> None:
    with svc.db.unit_of_work() as uow:
        record(uow, svc.clock, event, via="cli", **details)
