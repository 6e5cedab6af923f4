"""From a Starlette request to Authlib and back.

The body is read and checked here, on the event loop (size, content type, UTF-8,
duplicated parameters, and each value's characters, length and syntax by
``oauth.syntax``: the one place request parameters are validated, for the protocol
endpoints and the pages alike; JSON bodies likewise by ``read_json``); the Authlib call
and everything it touches (database, Redis, password hashing, signing) then runs in one
thread-pool hop, inside one unit of work. When that hop needs a client's keys still
being fetched from its jwks_uri, the request waits for them here, on the event loop, and
runs once more (``keys.remote_cache``).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from authserver import jsonsafe
from authserver.i18n.message import N_, Text
from authserver.keys.remote_cache import JwksPending, mark_waited
from authserver.oauth.requests import OAuthRequest, OAuthResponse, RequestMeta
from authserver.oauth.server import AuthServer, ServerFactory
from authserver.oauth.syntax import MAX_CHARS, parameter_problem, shown_name
from authserver.params import parse_decimal
from authserver.services import Services
from authserver.storage.db import NeedsDatabase, UnitOfWork
from authserver.text import storable
from authserver.web import cors

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 64


class BadRequest(Exception):
    """A request rejected before it reaches Authlib; rendered as an RFC 6749 §5.2 error."""

    def __init__(self, description: Text, status: int = 400, error: str = "invalid_request"):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    declared = None if length is None else parse_decimal(length)
    if length is not None and (declared is None or declared > limit):
        raise BadRequest(N_("The request body is too large."), status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadRequest(N_("The request body is too large."), status=413)
    return bytes(body)


def parse_params(text: str) -> dict[str, list[str]]:
    """Query-string syntax to lists of values. RFC 6749 §3.1: a parameter sent without a
    value is treated as omitted -- when it is its one occurrence: sent twice, one of them
    empty, it is still repeated (``reject_repeated``), never read as the other one."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(N_("Parameters must be UTF-8.")) from None
    except ValueError:
        raise BadRequest(N_("Too many parameters.")) from None
    params: dict[str, list[str]] = {}
    empty: set[str] = set()
    for key, value in pairs:
        problem = parameter_problem(key, value)
        if problem is not None:
            raise BadRequest(problem)
        if key in empty or (value == "" and key in params):
            # §3.1: "MUST NOT be included more than once", an empty value included.
            raise BadRequest(N_("%(name)s is repeated.", name=shown_name(key)))
        if value == "":
            empty.add(key)
        else:
            params.setdefault(key, []).append(value)
    return params


def reject_repeated(params: dict[str, list[str]]) -> dict[str, str]:
    """RFC 6749 §3.1 / §3.2: parameters MUST NOT be included more than once."""
    repeated = sorted(k for k, v in params.items() if len(v) > 1)
    if repeated:
        raise BadRequest(N_("%(name)s is repeated.", name=shown_name(repeated[0])))
    return {k: v[0] for k, v in params.items()}


async def read_form(request: Request, limit: int) -> dict[str, list[str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise BadRequest(N_("The request body must be %(type)s.", type=FORM_TYPE))
    body = await read_body(request, limit)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(N_("The request body must be UTF-8.")) from None
    return parse_params(text)


async def read_json(request: Request, limit: int) -> Any:
    """An ``application/json`` body: UTF-8, not nested past ``jsonsafe.MAX_DEPTH``, and
    every string in it (keys too) storable and at most ``syntax.MAX_CHARS`` long.
    Raises ``BadRequest``; callers with an error format of their own catch it."""
    json_content_type(request)
    return json_of(await read_body(request, limit))


def json_content_type(request: Request) -> None:
    """``BadRequest`` (415) unless the body is declared ``application/json``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BadRequest(N_("The request body must be application/json."), status=415)


def json_of(body: bytes) -> Any:
    """``read_json``'s checks on a body already read (the admin API reads it before it
    authenticates the caller, and parses it only after)."""
    try:
        data = jsonsafe.loads(body)
    except jsonsafe.UnsafeJson as exc:
        deep = isinstance(exc, jsonsafe.TooDeep)
        message = N_("The body is nested too deeply.") if deep else N_("The body is not JSON.")
        raise BadRequest(message) from None
    for value in jsonsafe.strings(data):
        if not storable(value):
            raise BadRequest(N_("The body contains control characters."))
        if len(value) > MAX_CHARS:
            raise BadRequest(N_("The body contains a string that is too long."))
    return data


def request_meta(request: Request) -> RequestMeta:
    return RequestMeta(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
        request_id=request.headers.get("x-request-id"),
    )


def public_uri(request: Request) -> str:
    """The URL as clients reach us: our issuer, whatever a proxy in front rewrote."""
    issuer = request.state.services.settings.issuer
    query = request.url.query
    return issuer + request.url.path + (f"?{query}" if query else "")


async def form_request(request: Request) -> OAuthRequest:
    """A POST to the token, revocation or introspection endpoint: parameters from the
    form body only (never the query string), each at most once."""
    limit = request.state.services.settings.max_body_bytes
    params = await read_form(request, limit)
    form = reject_repeated(params)
    return OAuthRequest(
        request.method,
        public_uri(request),
        request.headers,
        form=form,
        params={k: [v] for k, v in form.items()},
        meta=request_meta(request),
    )


async def call_server(
    request: Request,
    oauth_request: OAuthRequest,
    call: Callable[[AuthServer, OAuthRequest], OAuthResponse],
    *,
    offline: bool = False,
    on_loop: bool = False,
) -> Response:
    """Run ``call`` on a server bound to a fresh unit of work, in the thread pool.

    ``offline``: first try it on the event loop with a unit of work that refuses the
    database (a client_credentials request of a cached client needs none: see
    ``endpoints.token``); at the first database use it runs again, from the request as it
    arrived, in the thread pool. A thread-pool hop costs a signing request a fifth of its
    throughput (PERFORMANCE.md). ``on_loop`` (PostgreSQL): first try it on the event loop
    with a unit of work whose token statements are awaited there (``storage.pg_loop``: a
    refresh rotation); any other database use runs it again in the thread pool."""
    services = request.state.services
    factory = request.state.oauth
    result: OAuthResponse | None = None
    if on_loop and services.loop_db is not None:

        def work(uow: UnitOfWork) -> OAuthResponse:
            with factory.bound(uow, oauth_request.meta) as server:
                return call(server, oauth_request)

        try:
            result = await services.loop_db.run(work)
        except (NeedsDatabase, JwksPending):
            oauth_request = oauth_request.fresh_copy()
    elif offline:
        try:
            with factory.bound(services.db.offline_unit_of_work(), oauth_request.meta) as server:
                result = call(server, oauth_request)
        except (NeedsDatabase, JwksPending):
            # JwksPending: an assertion naming a client whose keys are being fetched;
            # the thread path below waits for them.
            oauth_request = oauth_request.fresh_copy()
    if result is None:
        try:
            result = await _in_protocol_thread(services, factory, call, oauth_request)
        except JwksPending as pending:
            # A client's keys are being fetched (keys.remote_cache) and the unit of work
            # rolled back: wait here, holding no thread, then run once more with whatever
            # the fetch brought (never waiting twice).
            await pending.wait()
            oauth_request = oauth_request.fresh_copy()
            result = await _in_protocol_thread(services, factory, call, oauth_request, waited=True)
    response = to_response(result)
    if "origin" in request.headers:
        # The client that authenticated decides which browser origins may read this.
        client = getattr(oauth_request, "client", None)
        cors.allow(request, response, client.record.allowed_cors_origins if client else None)
    return response


async def _in_protocol_thread(
    services: Services,
    factory: ServerFactory,
    call: Callable[[AuthServer, OAuthRequest], OAuthResponse],
    current: OAuthRequest,
    waited: bool = False,
) -> OAuthResponse:
    def work() -> OAuthResponse:
        with services.db.unit_of_work() as uow, factory.bound(uow, current.meta) as server:
            return call(server, current)

    # The context goes along, so log lines written in the thread carry the request id.
    context = contextvars.copy_context()
    if waited:
        context.run(mark_waited)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(services.protocol_threads, context.run, work)


def to_response(result: OAuthResponse) -> Response:
    body = result.body
    if isinstance(body, dict):
        content = json.dumps(body, separators=(",", ":")).encode()
    elif isinstance(body, bytes):
        content = body
    else:
        content = (body or "").encode()
    response = Response(content, status_code=result.status)
    for name, value in result.headers:
        response.headers.append(name, value)
    return response
