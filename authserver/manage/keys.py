"""Signing keys: the schedule, rotate, retire (``keys.admin`` holds the rules; this adds
the settings and the audit record)."""

from __future__ import annotations

from typing import Any

from authserver.audit import AuditEvent
from authserver.keys import admin as key_admin
from authserver.keys import lifecycle
from authserver.manage.call import AdminCall
from authserver.services import key_grace


def schedule(call: AdminCall) -> list[key_admin.KeyInfo]:
    """Every key with its state and dates, oldest activation first."""
    svc = call.services
    return key_admin.list_keys(svc.key_store, svc.clock.now(), key_grace(svc.settings))


def rotation(call: AdminCall) -> dict[str, Any]:
    """The scheduled rotation: its interval (None: off) and when the next one is due."""
    svc = call.services
    interval = svc.settings.rotation_interval
    return {
        "interval": interval,
        "next_at": lifecycle.next_rotation(svc.key_store.schedules(), interval),
    }


def rotate(call: AdminCall, immediately: bool) -> str:
    """Publish a new key (signing after the publish-ahead time, or at once); its kid."""
    svc = call.services
    s = svc.settings
    new = key_admin.rotate(
        svc.key_store, svc.clock.now(), s.key_publish_ahead, s.key_size, immediately=immediately
    )
    call.audit(AuditEvent.KEY_ROTATED, kid=new.kid, immediately=immediately)
    return new.kid


def retire(call: AdminCall, kid: str, force: bool = False) -> None:
    """Stop publishing ``kid``: refused while it signs or may verify live tokens, unless
    ``force`` (those tokens then fail verification)."""
    svc = call.services
    key_admin.retire(svc.key_store, kid, svc.clock.now(), key_grace(svc.settings), force=force)
    call.audit(AuditEvent.KEY_RETIRED, kid=kid, forced=force)
