"""/admin/keys: list signing keys (with the next scheduled rotation), rotate."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.base import AdminCall, run
from authserver.admin.schemas import KeyOut, KeyPage, KeyRotate, KeyRotationOut
from authserver.audit import AuditEvent
from authserver.keys import admin as key_admin
from authserver.keys import lifecycle
from authserver.services import key_grace


def _list(call: AdminCall) -> KeyPage:
    svc = call.services
    settings = svc.settings
    infos = key_admin.list_keys(svc.key_store, svc.clock.now(), key_grace(settings))
    interval = settings.rotation_interval
    return KeyPage(
        items=[KeyOut(**{**asdict(i), "state": str(i.state)}) for i in infos],
        rotation=KeyRotationOut(
            interval=interval,
            next_at=lifecycle.next_rotation(svc.key_store.schedules(), interval),
        ),
    )


async def list_keys(request: Request) -> Response:
    return await run(request, _list)


async def rotate(request: Request) -> Response:
    def work(call: AdminCall, body: KeyRotate) -> KeyPage:
        s = call.services.settings
        new = key_admin.rotate(
            call.services.key_store,
            call.services.clock.now(),
            s.key_publish_ahead,
            s.key_size,
            immediately=body.immediately,
        )
        call.audit(AuditEvent.KEY_ROTATED, kid=new.kid, immediately=body.immediately)
        return _list(call)

    return await run(request, work, status=201, body=KeyRotate)
