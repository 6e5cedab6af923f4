"""Operations endpoints: /healthz (the process answers) and /readyz (it can serve:
the database and, where configured, Redis answer; a signing key is active)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authserver.services import Services
from authserver.storage.redis_client import ping


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
    if not services.settings.metrics_enabled:
        return Response(status_code=404)
    body = await run_in_threadpool(services.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> JSONResponse:
    checks = await run_in_threadpool(_checks, request.state.services)
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
