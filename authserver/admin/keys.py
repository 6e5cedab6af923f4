"""/admin/keys: list signing keys (with the next scheduled rotation), rotate (the rules:
``manage.keys``, shared with the console)."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.base import AdminCall, run
from authserver.admin.schemas import KeyOut, KeyPage, KeyRotate, KeyRotationOut
from authserver.manage import keys


def _list(call: AdminCall) -> KeyPage:
    infos = keys.schedule(call)
    return KeyPage(
        items=[KeyOut(**{**asdict(i), "state": str(i.state)}) for i in infos],
        rotation=KeyRotationOut(**keys.rotation(call)),
    )


async def list_keys(request: Request) -> Response:
    return await run(request, _list)


async def rotate(request: Request) -> Response:
    def work(call: AdminCall, body: KeyRotate) -> KeyPage:
        keys.rotate(call, body.immediately)
        return _list(call)

    return await run(request, work, status=201, body=KeyRotate)
