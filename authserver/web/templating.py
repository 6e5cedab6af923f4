"""Jinja2 pages from the package's templates/ folder (overridden file by file by the
operator's ``AUTHSERVER_TEMPLATES_DIR``), in the request's language.

Autoescaping is on; templates get plain view data (never ORM objects). Translatable text
from Python (``authserver.i18n.message.Msg``) anywhere in the view data is translated
here, so handlers never deal with the language. Every page also receives the context
documented in INTERFACES.md (``page_context``). Pages are never cached and get a CSP that
allows our stylesheets and nothing inline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from authserver import resources
from authserver.i18n.environments import LocalizedEnvironments, template_loader
from authserver.i18n.message import Msg, Sentences, Translations
from authserver.i18n.negotiation import describe
from authserver.services import Services
from authserver.web import csrf, locale

TEMPLATES = resources.TEMPLATES
STATIC = resources.STATIC

# Scripts: our own static files only (WebAuthn needs JavaScript), never inline ones.
# No form-action: a form posted to /authorize answers with a redirect to the client, and
# browsers apply form-action to such redirects. Images: client logos are https URLs.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' https: data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Vary": "Accept-Language, Cookie",
}


def environments(services: Services) -> LocalizedEnvironments:
    settings = services.settings
    return LocalizedEnvironments(
        template_loader(TEMPLATES, settings.templates_dir),
        services.catalogs,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def localize(value: Any, translations: Translations) -> Any:
    """``value`` with every ``Msg`` in it (in dicts, lists, tuples) translated."""
    if isinstance(value, Msg | Sentences):
        return value.translate(translations)
    if isinstance(value, Mapping):
        return {k: localize(v, translations) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(localize(v, translations) for v in value)
    return value


def page_context(request: Request, tag: str, csrf_token: str) -> dict[str, Any]:
    """What every page template receives besides its own view data."""
    services: Services = request.state.services
    _, direction = describe(tag)
    return {
        "csrf_token": csrf_token,
        "issuer": services.settings.issuer,
        "brand": services.brand,
        "lang": tag,
        "dir": direction,
        "languages": locale.language_links(request, tag),
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page in the request's language. A CSRF token for the browser's CSRF
    cookie is in ``csrf_token`` (and the cookie is set on the response when the browser
    had none)."""
    services: Services = request.state.services
    tag = locale.negotiate(request)
    env = request.state.templates.environment(tag)
    token, new_cookie = csrf.token_for(request)
    view = localize(context or {}, services.catalogs.translations(tag))
    html = env.get_template(template).render({**page_context(request, tag, token), **view})
    response = HTMLResponse(
        html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})}
    )
    response.headers["Content-Language"] = tag
    if new_cookie:
        csrf.set_cookie(request, response, new_cookie)
    locale.remember(request, response)
    return response
