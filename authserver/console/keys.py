"""/console/keys: the signing-key schedule (next / active / retiring / retired, with
dates), rotate now, retire. The rules are ``manage.keys``' (shared with the admin API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.clock import to_datetime
from authserver.console.base import View, run
from authserver.i18n.message import N_
from authserver.manage import keys
from authserver.manage.call import AdminCall

NOTICES = {
    "rotated": N_("A new key was published. It signs once the publish-ahead time has passed."),
    "rotated_now": N_("A new key was published and signs from now on."),
    "retired": N_("The key was retired: it is no longer published."),
}


def _when(value: float | None) -> object:
    return to_datetime(value) if value is not None else None


async def show(request: Request) -> Response:
    def work(call: AdminCall) -> View:
        rows = [
            {
                "kid": k.kid,
                "state": str(k.state),
                "created_at": _when(k.created_at),
                "activates_at": _when(k.activates_at),
                "deactivates_at": _when(k.deactivates_at),
                "unpublished_at": _when(k.unpublished_at),
            }
            for k in reversed(keys.schedule(call))
        ]
        return View(
            "console/keys.html",
            {
                "keys": rows,
                "publish_ahead": call.services.settings.key_publish_ahead,
                "notice": NOTICES.get(request.query_params.get("notice", "")),
            },
        )

    return await run(request, work)


async def rotate(request: Request) -> Response:
    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        now = fields.get("immediately") == "on"
        keys.rotate(call, immediately=now)
        notice = "rotated_now" if now else "rotated"
        return RedirectResponse(f"/console/keys?notice={notice}", status_code=303)

    return await run(request, work, form=True)


async def retire(request: Request) -> Response:
    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        keys.retire(call, fields.get("kid", ""), force=fields.get("force") == "on")
        return RedirectResponse("/console/keys?notice=retired", status_code=303)

    return await run(request, work, form=True)
