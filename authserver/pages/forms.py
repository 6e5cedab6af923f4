"""Reading page forms: size-limited, UTF-8, each field once, CSRF checked first."""

from __future__ import annotations

from starlette.requests import Request

from authserver.i18n.message import N_
from authserver.web import csrf
from authserver.web.oauth_bridge import BadRequest, read_form, reject_repeated


class CsrfFailed(BadRequest):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "This form has expired or did not come from this site. Go back, reload the "
                "page and try again."
            ),
            status=403,
            error="access_denied",
        )


async def read_page_form(request: Request) -> dict[str, str]:
    """The submitted fields, after the CSRF check (every form carries ``csrf_token``)."""
    limit = request.state.services.settings.max_body_bytes
    fields = reject_repeated(await read_form(request, limit))
    if not csrf.is_valid(request, fields.get(csrf.FIELD)):
        raise CsrfFailed()
    return fields


def safe_next(value: str | None, default: str = "/account") -> str:
    """A local path to continue to after a form: never another site (no open redirect)."""
    if not value or len(value) > 4000:
        return default
    if not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return default
    if any(ord(ch) < 0x20 for ch in value):
        return default
    return value
