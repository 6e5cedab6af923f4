"""/admin/keys: list signing keys, rotate."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.base import AdminCall, run
from authserver.admin.schemas import KeyOut, KeyRotate, Page
from authserver.audit import AuditEvent
from authserver.keys import admin as key_admin
from authserver.services import key_grace, key_store


def _list(call: AdminCall) -> Page[KeyOut]:
    settings = call.services.settings
    infos = key_admin.list_keys(key_store(settings), call.services.clock.now(), key_grace(settings))
    return Page[KeyOut](items=[KeyOut(**{**asdict(i), "state": str(i.state)}) for i in infos])


async def list_keys(request: Request) -> Response:
    return await run(request, _list)


async def rotate(request: Request) -> Response:
    def work(call: AdminCall, body: KeyRotate) -> Page[KeyOut]:
        s = call.services.settings
        new = key_admin.rotate(
            key_store(s),
            call.services.clock.now(),
            s.key_publish_ahead,
            s.key_size,
            immediately=body.immediately,
        )
        call.audit(AuditEvent.KEY_ROTATED, kid=new.kid, immediately=body.immediately)
        return _list(call)

    return await run(request, work, status=201, body=KeyRotate)
