"""/static: the shipped static files, under the operator's ``static/`` folder (in
``AUTHSERVER_TEMPLATES_DIR``) whose files win name by name (a logo, a favicon, a
stylesheet replacing ours). Built per app in the lifespan (``static_files``) and reached
through the app state, so the route table stays one static list."""

from __future__ import annotations

from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from authserver import resources
from authserver.settings import Settings


def static_files(settings: Settings) -> StaticFiles:
    operator = settings.templates_dir / "static" if settings.templates_dir else None
    if operator is not None and operator.is_dir():
        return StaticFiles(directory=operator, packages=[("authserver", "static")])
    return StaticFiles(directory=resources.STATIC)


async def static(scope: Scope, receive: Receive, send: Send) -> None:
    await scope["state"]["static"](scope, receive, send)
