"""The language of one request's page (``authserver.i18n.negotiation``) and the language
links every page offers.

``ui_locales`` is read from the page's own query, from a pending authorization request
the page continues (the ``next`` path of the login page), or from what the handler set
in ``request.state.ui_locales`` (a POSTed authorization request). A supported choice made
that way is remembered in the ``locale`` cookie, so the pages that follow (sign-up, a
re-shown form) keep speaking it; the cookie holds a supported tag or is ignored."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from authserver.i18n import negotiation
from authserver.web import cookies

COOKIE = "locale"
COOKIE_SECONDS = 365 * 86_400
PARAM = "ui_locales"


def _ui_locales_of_next(next_path: str | None) -> str | None:
    if not next_path or not next_path.startswith("/authorize?") or len(next_path) > 4000:
        return None
    try:
        pairs = parse_qsl(urlsplit(next_path).query, max_num_fields=50)
    except ValueError:
        return None
    return next((value for key, value in pairs if key == PARAM), None)


def _hint(request: Request) -> str | None:
    query = request.query_params
    return (
        query.get(PARAM)
        or _ui_locales_of_next(query.get("next"))
        or getattr(request.state, "ui_locales", None)
    )


def negotiate(request: Request) -> str:
    """The locale of this request's page (computed once per request)."""
    chosen = getattr(request.state, "locale", None)
    if chosen is not None:
        return str(chosen)
    settings = request.state.services.settings
    supported = settings.locale_list
    explicit = negotiation.lookup(negotiation.ui_locales_tags(_hint(request)), supported)
    chosen = negotiation.choose(
        supported=supported,
        default=settings.default_locale,
        ui_locales=explicit,
        stored=cookies.read(request, COOKIE),
        accept_language=request.headers.get("accept-language"),
    )
    request.state.locale = chosen
    request.state.locale_explicit = explicit
    return chosen


def remember(request: Request, response: Response) -> None:
    """Store an explicit (``ui_locales``) choice in the browser."""
    explicit = getattr(request.state, "locale_explicit", None)
    if explicit and explicit != cookies.read(request, COOKIE):
        cookies.write(request, response, COOKIE, explicit, max_age=COOKIE_SECONDS)


def language_links(request: Request, current: str) -> list[dict[str, object]]:
    """One link per other supported language: this page's URL with ``ui_locales`` set."""
    supported = request.state.services.settings.locale_list
    if len(supported) < 2 or request.method != "GET":
        return []
    params = [(k, v) for k, v in request.query_params.multi_items() if k != PARAM]
    links = []
    for tag in supported:
        name, _ = negotiation.describe(tag)
        href = request.url.path + "?" + urlencode([*params, (PARAM, tag)])
        links.append({"tag": tag, "name": name, "href": href, "current": tag == current})
    return links
