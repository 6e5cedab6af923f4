"""Jinja2 pages from the package's templates/ folder.

Autoescaping is on; templates get plain view data (never ORM objects) plus the CSRF token.
Pages are never cached and get a CSP that allows our stylesheet and nothing inline."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from authserver import resources
from authserver.web import csrf

TEMPLATES = resources.TEMPLATES
STATIC = resources.STATIC

# No form-action: a form posted to /authorize answers with a redirect to the client, and
# browsers apply form-action to such redirects.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}


def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page. A CSRF token for the browser's CSRF cookie is in ``csrf_token``
    (and the cookie is set on the response when the browser had none)."""
    env: Environment = request.state.templates
    token, new_cookie = csrf.token_for(request)
    html = env.get_template(template).render(
        {"csrf_token": token, "issuer": request.state.services.settings.issuer, **(context or {})}
    )
    response = HTMLResponse(
        html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})}
    )
    if new_cookie:
        csrf.set_cookie(request, response, new_cookie)
    return response
