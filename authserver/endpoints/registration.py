"""POST /oauth/register (RFC 7591) and GET|PUT|DELETE /oauth/register/{client_id} (RFC 7592)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.audit import AuditEvent, record
from authserver.oauth import registration
from authserver.oauth.registration import RegistrationError
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.web.bearer import BearerError, bearer_token
from authserver.web.oauth_bridge import BadRequest, read_json, request_meta

HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(data: Any, status: int) -> Response:
    return Response(
        json.dumps(data), status_code=status, media_type="application/json", headers=HEADERS
    )


async def _metadata(request: Request) -> dict[str, Any]:
    try:
        data = await read_json(request, request.state.services.settings.max_body_bytes)
    except BadRequest as exc:
        if exc.status == 413:
            raise
        raise RegistrationError("invalid_client_metadata", str(exc.description)) from None
    if not isinstance(data, dict):
        raise RegistrationError("invalid_client_metadata", "The body must be a JSON object.")
    return data


async def _run(request: Request, work: Callable[[UnitOfWork, Services], Any]) -> Any:
    services: Services = request.state.services
    if not services.settings.dynamic_registration_enabled:
        return None

    def call() -> Any:
        with services.db.unit_of_work() as uow:
            return work(uow, services)

    return await run_in_threadpool(call)


class RefusedInitialToken(Exception):
    def __init__(self, use: registration.InitialTokenUse) -> None:
        self.use = use


def _record_refusal(
    uow: UnitOfWork,
    services: Services,
    use: registration.InitialTokenUse,
    ip: str | None,
    agent: str | None,
) -> None:
    record(
        uow,
        services.clock,
        AuditEvent.INITIAL_TOKEN_REFUSED,
        ip=ip,
        user_agent=agent,
        token=use.token_id,
        reason=use.refused,
        uses=use.uses,
        max_uses=use.max_uses,
    )


async def register(request: Request) -> Response:
    token = bearer_token(request)
    try:
        meta = await _metadata(request)
    except RegistrationError as exc:
        return _json({"error": exc.error, "error_description": exc.description}, 400)
    ip, agent = request_meta(request).ip, request_meta(request).user_agent

    def work(uow: UnitOfWork, services: Services) -> dict[str, Any]:
        use = registration.use_initial_token(uow, services.clock, token)
        if use.refused is not None:
            raise RefusedInitialToken(use)
        out = registration.register(uow, services.clock, services.settings, meta)
        audit = dict(client_id=out["client_id"], ip=ip, user_agent=agent)
        record(uow, services.clock, AuditEvent.CLIENT_CREATED, **audit, via="registration")
        record(
            uow,
            services.clock,
            AuditEvent.INITIAL_TOKEN_USED,
            **audit,
            token=use.token_id,
            uses=use.uses,
            max_uses=use.max_uses,
        )
        return out

    try:
        out = await _run(request, work)
    except RegistrationError as exc:
        return _json({"error": exc.error, "error_description": exc.description}, 400)
    except RefusedInitialToken as exc:
        use = exc.use
        if use.token_id is not None:  # one of ours, no longer usable: worth a record
            await _run(request, lambda uow, s: _record_refusal(uow, s, use, ip, agent))
        raise BearerError(401, "invalid_token", "The initial access token is not valid.") from None
    if out is None:
        return _json({"error": "access_denied"}, 403)
    return _json(out, 201)


async def manage(request: Request) -> Response:
    token = bearer_token(request)
    client_id = request.path_params["client_id"]
    meta = None
    if request.method == "PUT":
        try:
            meta = await _metadata(request)
        except RegistrationError as exc:
            return _json({"error": exc.error, "error_description": exc.description}, 400)
    ip, agent = request_meta(request).ip, request_meta(request).user_agent

    def work(uow: UnitOfWork, services: Services) -> tuple[int, Any]:
        client = registration.authorize_management(uow, client_id, token)
        if client is None:
            # RFC 7592 §2: the same answer whether the client or the token is wrong.
            raise BearerError(401, "invalid_token", "The registration access token is not valid.")
        audit = dict(client_id=client_id, ip=ip, user_agent=agent, via="registration")
        if request.method == "GET":
            return 200, registration.metadata_of(client, services.settings.issuer)
        if request.method == "DELETE":
            uow.clients.delete(client_id)
            services.clients.invalidate(client_id)
            uow.on_commit(lambda: services.clients.invalidate(client_id))  # manage.clients
            record(uow, services.clock, AuditEvent.CLIENT_DELETED, **audit)
            return 204, None
        assert meta is not None
        out = registration.replace(uow, services.clock, services.settings, client, meta)
        services.clients.invalidate(client_id)
        uow.on_commit(lambda: services.clients.invalidate(client_id))
        record(uow, services.clock, AuditEvent.CLIENT_CHANGED, **audit)
        return 200, out

    try:
        result = await _run(request, work)
    except RegistrationError as exc:
        return _json({"error": exc.error, "error_description": exc.description}, 400)
    if result is None:
        return _json({"error": "access_denied"}, 403)
    status, body = result
    return Response(status_code=204, headers=HEADERS) if status == 204 else _json(body, status)
