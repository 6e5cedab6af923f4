"""POST /token (RFC 6749 §3.2)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidClientError
from starlette.requests import Request
from starlette.responses import Response

from authserver.oauth import client_auth
from authserver.oauth.requests import OAuthRequest
from authserver.settings import Settings
from authserver.web.oauth_bridge import call_server, form_request

# Client authentication methods that need nothing but the cached registration.
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


async def token(request: Request) -> Response:
    oauth_request = await form_request(request)
    response = await call_server(
        request,
        oauth_request,
        lambda s, r: s.create_token_response(r),
        offline=needs_no_database(request, oauth_request),
        on_loop=on_loop(oauth_request, request.state.services.settings),
    )
    if response.status_code == 200:
        request.state.services.metrics.token_issued(oauth_request.form.get("grant_type"))
    return response


def on_loop(oauth_request: OAuthRequest, settings: Settings) -> bool:
    """Whether a request may start on the event loop (a refresh rotation or a code
    exchange: ``storage.pg_loop``, ``storage.pg_loop_codes``) and move to a thread at its
    first other database use. Not with a client assertion: its `jti` is recorded once
    (RFC 7523 §3 item 7) by the deny list, in Redis outside the unit of work, so the
    thread's second run would refuse its own assertion as a replay (invalid_client; a
    refresh token's or a code's replay then revoked nothing, RFC 9700 §4.14.2, RFC 6749
    §4.1.2), and that call would block the loop. The other methods (a secret, or none
    for a public client) need nothing but the cached registration."""
    form = oauth_request.form
    if "client_assertion" in form:
        return False
    grant_type = form.get("grant_type")
    if grant_type == "refresh_token":
        return settings.refresh_on_event_loop
    return grant_type == "authorization_code" and settings.code_exchange_on_event_loop


def needs_no_database(request: Request, oauth_request: OAuthRequest) -> bool:
    """Whether the request can be answered on the event loop: a client_credentials grant
    (its token is a self-contained JWT, nothing is stored) by a client whose registration
    is cached, authenticating with its secret. Anything that turns out to need the
    database after all runs again in a thread (``call_server``); nothing else on that
    path may block (no Redis, no network)."""
    form = oauth_request.form
    if form.get("grant_type") != "client_credentials":
        return False
    try:
        basic = client_auth.basic_credentials(oauth_request)
    except InvalidClientError:
        return False  # answered in the thread, like any failure
    client_id = basic[0] if basic else form.get("client_id")
    if not client_id or (basic is None and "client_secret" not in form):
        return False
    record = request.state.services.clients.peek(client_id)
    return record is not None and record.token_endpoint_auth_method in SECRET_METHODS
