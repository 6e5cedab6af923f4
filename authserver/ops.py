"""Operations endpoints: /healthz (the process answers), /readyz (it can serve: the
database and, where configured, Redis answer; a signing key is active) and /metrics.

What the checks found and the metrics are for operators, not the internet: they are
served on the operations listener (``ops_port``), or to a bearer of ``ops_token``, or,
when neither is configured, on the public listener only for a loopback issuer (a server
tried out on one machine). Elsewhere /readyz says only ready or not (for load
balancers) and /metrics is not found. The operations listener serves nothing else."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from authserver.services import Services
from authserver.settings import Settings
from authserver.storage.redis_client import ping

OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def on_ops_listener(scope: Scope, settings: Settings) -> bool:
    server = scope.get("server")
    return settings.ops_port is not None and bool(server) and server[1] == settings.ops_port


def _detail_allowed(request: Request) -> bool | None:
    """True: show; False: refuse (a wrong or missing ops token); None: not here."""
    settings: Settings = request.state.services.settings
    if on_ops_listener(request.scope, settings):
        return True
    if settings.ops_token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), settings.ops_token.encode()
        )
        return ok or False
    if settings.ops_port is None and settings.issuer_is_loopback:
        return True
    return None


class OpsListenerOnly:
    """On the operations listener, only the operations paths exist."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] not in OPS_PATHS
            and on_ops_listener(scope, self.settings)
        ):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def _checks(services: Services) -> dict[str, bool]:
    checks = {"database": services.db.ping()}
    if services.redis is not None:
        checks["redis"] = ping(services.redis)
    try:
        checks["signing_key"] = services.keys.snapshot().signing_kid is not None
    except Exception:
        checks["signing_key"] = False
    return checks


async def metrics(request: Request) -> Response:
    services = request.state.services
    allowed = _detail_allowed(request)
    if not services.settings.metrics_enabled or allowed is None:
        return Response(status_code=404)
    if not allowed:
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    body = await run_in_threadpool(services.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> JSONResponse:
    checks = await run_in_threadpool(_checks, request.state.services)
    ready = all(checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "unavailable"}
    if _detail_allowed(request):
        body["checks"] = checks
    return JSONResponse(
        body,
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
