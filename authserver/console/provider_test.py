"""/console/providers/{id}/test: an identity provider's test login. POST (the "Test
login" button, CSRF-checked) sends the admin's browser to the provider's real sign-in;
the callback brings it back to the GET, which shows what the provider sent and what a
sign-in would do here, nothing created (``manage.provider_test``, ``federation.dry_run``).
Every value is shown as text (the templates escape it)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authserver.console.base import View, run
from authserver.federation import providers as registry
from authserver.federation.last_login import last_login
from authserver.i18n.message import N_, Msg
from authserver.manage import provider_test
from authserver.manage.call import AdminCall
from authserver.pages import federation as federation_pages

UNREACHABLE = (
    N_("The identity provider could not be reached"),
    N_("Its discovery document could not be had: nothing was started. Try again in a moment."),
)


def _outcome(result: dict[str, Any]) -> Msg:
    email = (result.get("user") or {}).get("email") or result["mapped"].get("email") or ""
    if result["outcome"] == "known":
        return N_("A known identity: it would sign in as %(email)s.", email=email)
    if result["outcome"] == "linked":
        return N_(
            "A new identity whose verified e-mail is of a trusted domain: it would be "
            "linked to the account %(email)s, which would be signed in.",
            email=email,
        )
    if result["outcome"] == "link_required":
        return N_(
            "The account %(email)s has this e-mail: the person would be asked to sign in "
            "to it with its password before the identity is linked.",
            email=email,
        )
    return N_("No account yet: one would be created for %(email)s.", email=email)


def _text(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def shown(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored result as the page shows it: texts only."""
    if result is None:
        return None
    out: dict[str, Any] = {"at": result.get("at", ""), "refused": result["outcome"] == "refused"}
    if out["refused"]:
        out["reason"] = result.get("reason") or ""
        out["detail"] = result.get("detail") or ""
        # What the person would be told on the sign-in page.
        refusals = federation_pages.REFUSALS
        out["told"] = refusals.get(out["reason"], refusals["invalid_answer"])[1]
    else:
        out["outcome"] = _outcome(result)
    if "mapped" in result:
        out["mapped"] = [(key, _text(value)) for key, value in result["mapped"].items()]
        out["roles_after"] = _text(result.get("roles_after"))
        out["received"] = _pretty(result.get("received"))
        if result.get("userinfo") is not None:
            out["userinfo"] = _pretty(result["userinfo"])
    return out


async def start(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall, fields: dict[str, str]) -> Response | View:
        started = provider_test.start(call, provider_id, federation_pages.browser_of(request))
        if started is None:
            return View(
                "console/error.html", {"title": UNREACHABLE[0], "message": UNREACHABLE[1]}, 502
            )
        return federation_pages.to_upstream(request, started)

    return await run(request, work, form=True)


async def show(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall) -> View:
        provider = registry.get(call.uow, provider_id)
        return View(
            "console/provider_test.html",
            {
                "id": provider.id,
                "name": provider.display_name,
                "enabled": provider.enabled,
                "result": shown(provider_test.result(call, provider.id)),
                # What `authserver providers test ID` shows: the last real sign-in.
                "last": last_login(call.uow, provider.id),
            },
        )

    return await run(request, work)
