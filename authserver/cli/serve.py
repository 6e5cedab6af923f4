"""``authserver serve``: run the server under uvicorn (uvloop + httptools)."""

from __future__ import annotations

import argparse
import os
import tempfile

import uvicorn

from authserver import preflight
from authserver.app import create_app
from authserver.observability import configure_logging
from authserver.settings import PREFIX, load_settings
from authserver.storage import migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the server",
        description="Run the server (logs are JSON lines; AUTHSERVER_LOG_FORMAT=text for a "
        "terminal). It refuses to start, naming the setting, on unsafe settings.",
    )
    p.add_argument("--host", help="listen address (AUTHSERVER_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (AUTHSERVER_PORT, default 8000)")
    p.add_argument("--workers", type=int, help="worker processes (AUTHSERVER_WORKERS, default 1)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides = {
        k: v
        for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers))
        if v is not None
    }
    settings = load_settings(overrides=overrides)
    # Refuse here, with one line, rather than in the app's start-up with a traceback.
    preflight.require_no_problems(settings)
    if not settings.should_auto_migrate:
        migrate.require_current(settings.database_url)
    options = dict(
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=settings.log_level,
        server_header=False,
    )
    configure_logging(settings.log_level, settings.log_format)
    options["log_config"] = None  # keep the handlers configure_logging installed
    if settings.workers == 1:
        uvicorn.run(create_app(settings, freeze_gc=True), **options)  # type: ignore[arg-type]
        return 0
    # Each worker process builds its own app from the environment, and writes its metric
    # samples to a shared folder so /metrics on any worker reports all of them.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="authserver-metrics-")
    for key, value in overrides.items():
        os.environ[f"{PREFIX}{key.upper()}"] = str(value)
    uvicorn.run(
        "authserver.app:app_from_environment", factory=True, workers=settings.workers, **options
    )  # type: ignore[arg-type]
    return 0
