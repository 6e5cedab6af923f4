"""What every admin handler shares: the caller must present an access token with the
`admin` scope of a user who is an admin now (the role is re-read, not trusted from the
token); bodies are JSON validated by pydantic; answers are JSON; changes are audited.

The caller is authenticated before anything it sent is parsed: a request without a valid
admin token gets 401 (or 403), never a 400 or 415 that would tell a stranger about the
API's inputs. Handlers parse query parameters inside their ``work`` for the same reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts.roles import ADMIN_ROLE
from authserver.errors import Conflict, InvalidInput, NotFound
from authserver.manage.call import AdminCall
from authserver.params import parse_decimal
from authserver.services import Services
from authserver.web import bearer
from authserver.web.oauth_bridge import (
    BadRequest,
    json_content_type,
    json_of,
    read_body,
    request_meta,
)

ADMIN_SCOPE = "admin"
__all__ = ["ADMIN_SCOPE", "AdminCall", "ApiError", "int_param", "json_response", "run"]
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def json_response(data: Any, status: int = 200) -> Response:
    if isinstance(data, BaseModel):
        content = data.model_dump_json().encode()
    else:
        content = json.dumps(data, default=str).encode()
    return Response(
        content,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def parse_body(request: Request, raw: bytes, model: type[M]) -> M:
    """The JSON body as ``model``: 415 unless it is application/json, 400 when it is not
    safe JSON (``oauth_bridge.json_of``) or not valid."""
    try:
        json_content_type(request)
        data = json_of(raw)
    except BadRequest as exc:
        raise ApiError(exc.status, "invalid_request", exc.description) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise ApiError(400, "invalid_request", problems) from None


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = parse_decimal(raw)
    if value is None or not lo <= value <= hi:
        raise ApiError(400, "invalid_request", f"{name} must be an integer in {lo}..{hi}")
    return value


async def run(
    request: Request,
    work: Callable[..., Any],
    status: int = 200,
    body: type[BaseModel] | None = None,
) -> Response:
    """Authenticate the admin, then (with ``body``) parse the JSON body, then run
    ``work(call)`` -- or ``work(call, parsed_body)`` -- in the thread pool, in one
    transaction."""
    services: Services = request.state.services
    meta = request_meta(request)
    # Read (bounded), not parsed: that waits until the caller is known.
    raw = await read_body(request, services.settings.max_body_bytes) if body else b""

    def call() -> Any:
        with services.db.unit_of_work() as uow:
            token = bearer.authenticate(request, uow, scope=ADMIN_SCOPE)
            user = uow.users.get(str(token.claims.get("sub")))
            if user is None or ADMIN_ROLE not in (user.roles or []) or user.disabled_at is not None:
                raise bearer.BearerError(
                    403, "insufficient_scope", "An administrator's token is required.", ADMIN_SCOPE
                )
            admin = AdminCall(uow, services, user.id, meta.ip, meta.user_agent)
            result = work(admin, parse_body(request, raw, body)) if body else work(admin)
        for task in admin.after_commit:
            task()
        return result

    try:
        result = await run_in_threadpool(call)
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except InvalidInput as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    if status == 204:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return json_response(result, status)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response({"error": exc.error, "error_description": exc.description}, exc.status)
