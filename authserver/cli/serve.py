"""``authserver serve``: run the server under uvicorn (``serving.listeners``)."""

from __future__ import annotations

import argparse

from authserver import preflight
from authserver.errors import UnsafeSettings
from authserver.observability import configure_logging
from authserver.serving import listeners
from authserver.settings import load_settings
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
    key_problems = preflight.signing_key_problems(settings)
    if key_problems:
        raise UnsafeSettings(key_problems)
    configure_logging(settings.log_level, settings.log_format)
    return listeners.run(settings, overrides)
