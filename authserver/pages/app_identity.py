"""The requesting app as the login and consent pages show it: its name, logo and links
(RFC 7591 ``client_uri``, ``logo_uri``, ``policy_uri``, ``tos_uri``).

The URLs were validated at registration (https only); they are checked again here, so a
row written before that rule, or by hand, cannot put a `javascript:` link on our pages.
The login page learns the app from the pending authorization request it continues (its
``next`` path): shown only for a registered client and one of its redirect URIs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from authserver import text
from authserver.oauth.client import OAuthClient
from authserver.oauth.client_registry import CLIENT_ID, display_uri_problem
from authserver.services import Services
from authserver.storage.client_cache import ClientRecord

AUTHORIZE_PREFIX = "/authorize?"


@dataclass(frozen=True)
class AppView:
    client_id: str
    name: str
    logo_uri: str | None = None
    client_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    # Self-registered: its name and links are its own claims, nobody checked them.
    unverified: bool = False


def _shown(record: ClientRecord, key: str) -> str | None:
    value = record.extra_metadata.get(key)
    return value if isinstance(value, str) and display_uri_problem(value) is None else None


def app_view(record: ClientRecord) -> AppView:
    return AppView(
        client_id=record.client_id,
        name=text.shown(record.name),
        unverified=record.self_registered and not record.first_party,
        logo_uri=_shown(record, "logo_uri"),
        client_uri=_shown(record, "client_uri"),
        policy_uri=_shown(record, "policy_uri"),
        tos_uri=_shown(record, "tos_uri"),
    )


def redirect_host(uri: str | None) -> str | None:
    """Where a redirect URI sends the browser, as a person can check it: the host (in
    its ASCII form, so a look-alike Unicode name shows as ``xn--…``) with a non-default
    port, or for a native app's private-use scheme the scheme."""
    if not uri:
        return None
    try:
        parts = urlsplit(uri)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return f"{parts.scheme}:" if parts.scheme else None
    if not host:
        return None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = host.encode("ascii", "backslashreplace").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def pending_request(next_path: str | None) -> dict[str, str] | None:
    """The parameters of the authorization request a ``next`` path continues, if it is
    one (a local ``/authorize?…`` path); else None."""
    if not next_path or not next_path.startswith(AUTHORIZE_PREFIX) or len(next_path) > 4000:
        return None
    try:
        pairs = parse_qsl(urlsplit(next_path).query, max_num_fields=50, strict_parsing=False)
    except ValueError:
        return None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            return None  # RFC 6749 §3.1: repeated parameters make the request invalid
        params[key] = value
    return params


def matches_request(record: ClientRecord | None, params: dict[str, str]) -> bool:
    """The client exists and the request's redirect URI is one of its own."""
    if record is None:
        return False
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        return len(record.redirect_uris) == 1
    return OAuthClient(record).check_redirect_uri(redirect_uri)


def app_of_next(services: Services, next_path: str | None) -> AppView | None:
    """The app of the pending authorization request ``next_path`` continues, if it names
    a registered client and one of its redirect URIs. Call it in the thread pool."""
    params = pending_request(next_path)
    client_id = params.get("client_id") if params else None
    # The same rule as every lookup by client id (AuthServer.query_client).
    if params is None or not client_id or not CLIENT_ID.fullmatch(client_id):
        return None
    with services.db.unit_of_work() as uow:
        record = services.clients.get(client_id, lambda: uow.clients.get(client_id))
    return app_view(record) if record is not None and matches_request(record, params) else None


def return_path(services: Services, next_path: str | None) -> str | None:
    """``next_path`` when it continues a pending authorization request of a registered
    client at one of its redirect URIs, else None: the only place a sign-up, reset or
    verification link may send the browser back to (no open redirect). Thread pool."""
    return next_path if app_of_next(services, next_path) is not None else None
