"""``create_app(settings)``: the Starlette application. Everything long-lived is built in
the lifespan and handed to handlers through ``request.state``; nothing is global."""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from authserver.admin.base import ApiError, api_error
from authserver.clock import Clock
from authserver.endpoints.jwks import JwksEndpoint
from authserver.keys import admin as key_admin
from authserver.keys.maintenance import KeyMaintenance
from authserver.oauth.metadata import authorization_server_metadata, openid_configuration
from authserver.oauth.server import ServerFactory
from authserver.observability import ObservabilityMiddleware, configure_logging
from authserver.ops import OpsListenerOnly
from authserver.services import Services, build_services, close_services, key_grace
from authserver.settings import Settings, load_settings
from authserver.storage import migrate
from authserver.web import templating
from authserver.web.errors import EXCEPTION_HANDLERS
from authserver.web.routes import routes
from authserver.web.security_headers import SecurityHeadersMiddleware
from authserver.web.static import static_files
from authserver.web.token_path import TokenEndpoint
from authserver.web.url_guard import UrlGuardMiddleware


@dataclass(frozen=True)
class Discovery:
    openid: bytes
    oauth: bytes


def _prepare(services: Services) -> None:
    """Idempotent start-up work; safe when several processes start at once (Alembic
    under an advisory lock on PostgreSQL, key creation under the key store's lock)."""
    settings = services.settings
    if settings.should_auto_migrate:
        migrate.upgrade(settings.database_url)
    key_admin.ensure_signing_key(
        services.key_store, services.clock.now(), key_grace(settings), settings.key_size
    )
    # Fail now, not on the first request, if keys are broken (a database key that does
    # not decrypt names AUTHSERVER_ENCRYPTION_KEYS).
    services.keys.snapshot()


def create_app(
    settings: Settings, clock: Clock | None = None, *, freeze_gc: bool = False
) -> ASGIApp:
    """``freeze_gc``: for a server process (``authserver serve``), see ``freeze_heap``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        services = build_services(settings, clock)
        await run_in_threadpool(_prepare, services)
        maintenance = KeyMaintenance(services)
        maintenance.start()
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_pool_size
        discovery = Discovery(
            openid=json.dumps(openid_configuration(settings)).encode(),
            oauth=json.dumps(authorization_server_metadata(settings)).encode(),
        )
        state = {
            "services": services,
            "oauth": ServerFactory(services),
            "discovery": discovery,
            "templates": templating.environments(services),
            "static": static_files(settings),
        }
        if freeze_gc:
            freeze_heap()
        try:
            yield state
        finally:
            maintenance.stop()
            if services.loop_db is not None:
                await services.loop_db.close()  # on the loop that opened its connections
            close_services(services)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(UrlGuardMiddleware)],
        exception_handlers={**EXCEPTION_HANDLERS, ApiError: api_error},  # type: ignore[dict-item]
        lifespan=lifespan,
    )
    # Starlette would answer /token/ with a redirect to an absolute URL built from the
    # Host header (anyone's choice): every path is exact, a stray slash is a 404.
    app.router.redirect_slashes = False
    # Around the whole application, not in its middleware list: Starlette answers an
    # unhandled error (500) from its outermost layer, outside that list, so the 500 had
    # neither the security headers nor a request id (and its error log line no id).
    routed = ObservabilityMiddleware(
        SecurityHeadersMiddleware(app, hsts=settings.issuer_is_https),
        access_log_enabled=settings.access_log,
    )
    direct = TokenEndpoint(
        routed, hsts=settings.issuer_is_https, access_log_enabled=settings.access_log
    )
    served: ASGIApp = JwksEndpoint(
        direct, max_age=settings.jwks_max_age, hsts=settings.issuer_is_https
    )
    return OpsListenerOnly(served, settings) if settings.ops_port is not None else served


def freeze_heap() -> None:
    """Move everything alive after start-up (modules, SQLAlchemy's and Authlib's
    registries, the app) out of the garbage collector's sight. Otherwise each full
    collection walks those hundreds of thousands of objects again: measured, ~0.5 s
    pauses about once per 1,000 token requests, a third of the CPU time per request
    (bench/README.md). Not for tests, which build many apps in one process: what is
    frozen is never collected."""
    gc.collect()
    gc.freeze()


def app_from_environment() -> ASGIApp:
    """Factory for ``uvicorn --factory``: each worker process reads the environment, and
    logs as a single process does (uvicorn configures no logging in its workers)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, freeze_gc=True)
